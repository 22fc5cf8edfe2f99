"""The local runner: stream a dataset through an explainer into a Zarr store, shard by shard.

The loop is engine-agnostic: an iterator of shards (:mod:`xaikit.runs.sources`) ->
:func:`~xaikit.runs.compute.explain_rows` -> :meth:`Store.write_shard
<xaikit.runs.store.Store.write_shard>`. The Beam pipeline (:mod:`xaikit.beam`) drives the
same steps on a cluster.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import InputError
from .compute import Predictor, attribution_layout, explain_rows
from .fingerprint import fingerprint, method_name, stable
from .run import Run, open_run
from .sources import Shard, Source, as_source
from .store import Store, open_existing

__all__ = ["explain_dataset", "default_shard_size", "shard_targets", "check_targets"]

#: Rows per shard aimed at when ``shard_size`` is not given (rounded up to whole batches).
SHARD_ROWS = 256


def default_shard_size(batch_size: int, rows: int = SHARD_ROWS) -> int:
    """The smallest multiple of ``batch_size`` that is at least ``rows``."""
    return int(batch_size) * max(1, math.ceil(rows / int(batch_size)))


def check_targets(targets: Any, source: Source, description: Mapping[str, Any]) -> Any:
    """``targets`` checked against the data; arrays are kept as they are (memory maps too).

    Raises:
        InputError: targets given while the data yields ``(x, y)``, or an array whose length
            is not the number of samples.
    """
    if targets is None:
        return None
    if description.get("has_y"):
        raise InputError(
            "targets: the data already yields (x, y) targets; pass data of x alone or leave "
            "targets=None"
        )
    if isinstance(targets, (bool, np.bool_)) or isinstance(targets, (str, bytes)):
        raise InputError(f"targets: expected None, an int or an array, got {targets!r}")
    if isinstance(targets, (int, np.integer)):
        return int(targets)
    array = targets if isinstance(targets, np.ndarray) else np.asarray(targets)
    if array.ndim == 0:
        return array.item()
    if source.num_samples is not None and len(array) != source.num_samples:
        raise InputError(
            f"targets: expected one row per sample ({source.num_samples}), got shape {array.shape}"
        )
    return array


def shard_targets(targets: Any, shard: Shard) -> Any:
    """The targets of ``shard``'s rows: the data's ``y``, the argument's rows, or as given."""
    if shard.y is not None:
        return shard.y
    if targets is None or isinstance(targets, int):
        return targets
    rows = np.asarray(targets[shard.start : shard.stop])
    if len(rows) != shard.size:
        raise InputError(
            f"targets: expected one row per sample, got {len(targets)} rows for data with at "
            f"least {shard.stop} samples"
        )
    return rows


class _Writer:
    """Writes and commits shards in a background thread, one shard behind the computation.

    At most ``depth`` computed shards wait in its queue, so memory stays bounded; shards are
    committed in the order they were handed over. An error in the thread is raised by the
    next :meth:`put` or by :meth:`close`.
    """

    def __init__(self, store: Store, depth: int = 1) -> None:
        self.store = store
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name="xaikit-writer", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is None:
                try:
                    self.store.write_shard(*item)
                except BaseException as error:  # noqa: BLE001 - handed to the caller
                    self.error = error

    def put(self, index: int, start: int, arrays: Mapping[str, np.ndarray]) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((index, start, arrays))

    def close(self) -> None:
        """Write what is queued, stop the thread; raise the thread's error if any."""
        self.queue.put(None)
        self.thread.join()
        self.store.close()
        if self.error is not None:
            raise self.error


def _run_attributes(explainer: Any, record: Mapping[str, Any], source: Source) -> dict[str, Any]:
    structure = getattr(source, "structure", None)
    layout: dict[str, Any] = {}  # one input: the store's default layout, as it always was
    if structure is not None:
        form, arrays = attribution_layout(explainer, structure)
        layout = {
            "inputs": list(structure.names),
            "attribution_form": form,
            "attribution_arrays": arrays,
        }
    return {
        **layout,
        "method": record["method"],
        "params": stable(explainer.params),
        "model": {
            "name": str(getattr(explainer.model, "name", type(explainer.model).__name__)),
            "sha256": record["model_sha256"],
        },
        "data": record["data"],
        "targets": record["targets"],
    }


def _progress_bar(total: int | None, done: int, label: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=done,
        desc=label,
        unit=" samples",
        unit_scale=False,
        disable=not enabled,
        dynamic_ncols=True,
    )


def prepare_store(
    explainer: Any,
    source: Source,
    out: str,
    *,
    targets: Any,
    resume: bool,
    overwrite: bool,
    shard_size: int | None,
) -> tuple[Store, Any]:
    """Open (or create) the run's store for ``explainer`` on ``source``; checked targets.

    Shared by the local runner and the Beam pipeline, so both make the same store.
    """
    if shard_size is None and resume and not overwrite:
        existing = open_existing(out)
        stored = existing.attrs.get("shard_size") if existing is not None else None
        shard_size = int(stored) if isinstance(stored, int) else None
    if shard_size is None:
        shard_size = default_shard_size(explainer.batch_size)
    if (
        isinstance(shard_size, bool)
        or not isinstance(shard_size, (int, np.integer))
        or (shard_size < 1)
    ):
        raise InputError(f"shard_size: expected an integer >= 1, got {shard_size!r}")
    description = source.describe()
    targets = check_targets(targets, source, description)
    record = fingerprint(explainer, description, targets, int(shard_size))
    store = Store.open(
        out,
        record,
        _run_attributes(explainer, record, source),
        num_samples=source.num_samples,
        resume=resume,
        overwrite=overwrite,
    )
    return store, targets


def explain_dataset(
    explainer: Any,
    data: Any,
    out: str | os.PathLike,
    *,
    targets: Any = None,
    resume: bool = True,
    overwrite: bool = False,
    progress: bool = True,
    shard_size: int | None = None,
) -> Run:
    """Explain a whole dataset, streamed shard by shard into a Zarr store at ``out``.

    Memory stays bounded by a few shards whatever the number of samples: shards are loaded
    in the background while the current one is explained, written, and dropped. Each shard
    is committed once its data are written, so a run that is killed can be started again
    with the same call and goes on from the shards not yet committed; the finished store is
    the same as that of an uninterrupted run.

    Args:
        explainer: any :class:`~xaikit.Explainer`.
        data: a finite ``tf.data.Dataset`` of ``x`` or ``(x, y)`` (batched or not); a numpy
            array (N, ...) or memory-mapped ``.npy`` (``np.load(path, mmap_mode="r")``); any
            iterable of batches (arrays or ``(x, y)`` tuples); or a source from
            :mod:`xaikit.runs` (for example :class:`~xaikit.runs.ImageFolderSource`). For a
            model of several inputs: a dict of arrays by input name or a list / tuple in its
            input order, a dataset of dicts or of ``(x, y)`` with a dict or tuple ``x``, or
            batches of those; the store then holds one ``attributions_<name>`` per input.
        out: the store: a folder (created), or an fsspec URL where the filesystem is
            installed.
        targets: None (the top class, or the data's ``y``), one int for all samples, ints
            (N,) or weights (N, K) (an array or memory map, sliced per shard).
        resume: continue the run found at ``out`` (its model, method, parameters, data and
            targets must be the same, else :class:`~xaikit.runs.RunMismatchError`).
        overwrite: replace the run found at ``out``.
        progress: a progress bar (tqdm) with rate and time left, on stderr.
        shard_size: rows per shard and per chunk of the store. Default: the size stored in
            the run being resumed, else the smallest multiple of the explainer's
            ``batch_size`` that is at least 256.

    Returns:
        The finished :class:`~xaikit.runs.Run` (arrays read lazily from ``out``).

    Raises:
        InputError: data, targets or ``out`` are unusable (the message says which and why);
            :class:`~xaikit.runs.RunMismatchError` when ``out`` holds another run.

    When a shard runs out of memory (``tf.errors.ResourceExhaustedError``), the explainer's
    ``batch_size`` is halved for the rest of the run, with one
    :class:`~xaikit.runs.OutOfMemoryWarning`, and the shard is computed again.
    """
    for needed in ("explain", "batch_size", "params", "model"):
        if not hasattr(explainer, needed):
            raise InputError(
                f"explainer: expected a xaikit Explainer, got {type(explainer).__name__}"
            )
    path = os.fspath(out)
    source = as_source(data, explainer.model)
    store, targets = prepare_store(
        explainer,
        source,
        path,
        targets=targets,
        resume=resume,
        overwrite=overwrite,
        shard_size=shard_size,
    )
    run = open_run(path)
    if run.complete:
        return run
    committed = set(np.flatnonzero(store.committed()).tolist())
    bar = _progress_bar(source.num_samples, run.num_samples, method_name(explainer), progress)
    predictor = Predictor(explainer.model)
    total = 0
    shards = source.shards(store.shard_size, skip=committed)
    writer = _Writer(store)
    try:
        for shard in shards:
            total = shard.stop
            if shard.x is None:
                continue
            arrays, explainer = explain_rows(
                explainer, shard.x, shard_targets(targets, shard), predictor, shard.structure
            )
            arrays["sample_index"] = np.arange(shard.start, shard.stop, dtype=np.int64)
            arrays.update(shard.columns)
            writer.put(shard.index, shard.start, arrays)
            bar.update(shard.size)
    except BaseException:
        with contextlib.suppress(BaseException):
            writer.close()  # shards computed before the error are still committed
        raise
    finally:
        close = getattr(shards, "close", None)
        if close is not None:
            close()
        bar.close()
    writer.close()
    store.finalize(total)
    return open_run(path)
