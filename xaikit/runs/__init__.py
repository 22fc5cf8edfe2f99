"""Whole datasets: streamed through an explainer into a resumable Zarr store.

::

    import xaikit
    run = xaikit.explain_dataset(explainer, dataset, "runs/ig")   # resumes if killed
    run.attributions[:10]          # zarr array, read lazily
    run.to_pandas()                # per-sample records (needs pandas)
    xaikit.open_run("runs/ig")     # the same store, later or elsewhere

Modules: :mod:`~xaikit.runs.sources` (data -> shards), :mod:`~xaikit.runs.images` (folders
of images), :mod:`~xaikit.runs.compute` (one shard through the explainer),
:mod:`~xaikit.runs.store` (the Zarr layout and commit markers),
:mod:`~xaikit.runs.fingerprint` (what identifies a run), :mod:`~xaikit.runs.run` (reading it
back) and :mod:`~xaikit.runs.runner` (the local loop). :mod:`xaikit.beam` drives the same
steps on Apache Beam.
"""

from .compute import OutOfMemoryWarning
from .fingerprint import RunMismatchError
from .images import ImageFolderSource
from .run import Run, open_run
from .runner import default_shard_size, explain_dataset
from .sources import ArraySource, DatasetSource, IterableSource, Shard, Source, as_source
from .store import KILL_ENV

__all__ = [
    "explain_dataset",
    "open_run",
    "Run",
    "RunMismatchError",
    "OutOfMemoryWarning",
    "Source",
    "Shard",
    "ArraySource",
    "DatasetSource",
    "IterableSource",
    "ImageFolderSource",
    "as_source",
    "default_shard_size",
    "KILL_ENV",
]
