"""Apache Beam: explain a whole dataset on a cluster, into the same Zarr store as locally.

Needs the ``beam`` extra (``pip install 'xaikit[beam]'``). The pipeline drives the steps of
:func:`xaikit.explain_dataset` with Beam::

    shard numbers still to do -> Reshuffle -> ReadShards -> RunInference(explain)
        -> WriteShards -> (all written) -> finalise (mark the run complete)

Each element is one shard (rows ``[k * shard_size, (k + 1) * shard_size)``), keyed by its
number ``k``. A worker writes shard ``k`` into chunk ``k`` of every array and then its commit
marker, so parallel workers never touch the same file, and a retried bundle rewrites the
same shard with the same values. Because a shard is explained whole, exactly as the local
runner does, the store equals the one :func:`xaikit.explain_dataset` writes. A pipeline that
fails or is cancelled resumes: run it again and only uncommitted shards are computed.

From the shell (the data must be readable by every worker: a shared or mounted folder for
``.npy`` / ``.npz`` / images; ``out`` may be a ``gs://`` or ``s3://`` URL when the fsspec
filesystem is installed)::

    python -m xaikit.beam --model m.keras --data x.npy --method integrated_gradients \\
        --param steps=32 --out runs/ig [Beam pipeline options]

Without ``--runner`` it runs on the in-process ``FnApiRunner`` (``--direct_num_workers 2
--direct_running_mode multi_threading`` for two workers); ``--runner DataflowRunner
--project ... --region ... --temp_location gs://...`` (or ``FlinkRunner``, ``SparkRunner``)
runs the same pipeline on a cluster.
"""

from __future__ import annotations

try:
    import apache_beam  # noqa: F401 - checked first, so a missing extra is named
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "xaikit.beam needs Apache Beam, which is not installed: pip install 'xaikit[beam]'"
    ) from error

from .pipeline import main, run_pipeline
from .transforms import DataSpec, ExplainerModelHandler, ExplainToZarr, ReadShards, WriteShards

__all__ = [
    "ExplainerModelHandler",
    "DataSpec",
    "ReadShards",
    "WriteShards",
    "ExplainToZarr",
    "run_pipeline",
    "main",
]
