"""The Zarr v3 layout of a run, and the per-shard commit markers that make it resumable.

A run is one Zarr v3 group::

    RUN/
      zarr.json             group attributes: format, method, params, model, data, targets,
                            shard_size, fingerprint, num_samples, complete, timestamps
      attributions/         (N, ...) float, one chunk per shard (reduced shape with a reducer)
      sample_index/         (N,) int64, each row's position in the data
      target/               (N,) int64 class indices, or (N, K) float weights
      score/                (N,) the explained scalar at each input
      prediction/           (N,) int64 top class (K > 1 outputs) or float output (K = 1)
      convergence_delta/    (N,) for path methods only
      sample_id/, label/    (N,) strings, when the data names its samples (image folders)
      shard_committed/      (num_shards,) bool, one chunk per shard: the commit markers

Every array is chunked along samples with ``shard_size`` rows per chunk, so shard ``k`` is
chunk ``k`` of each array and two writers of different shards never touch the same file.
A shard's marker (its own chunk of ``shard_committed``) is written only after all of its
data; Zarr writes each chunk atomically (to a temporary name, then renamed), so a process
killed at any moment leaves every shard either committed with all of its data or not
committed, and a rerun recomputes exactly the uncommitted ones.

The attributions' array names are recorded per model input in the ``attribution_arrays``
attribute (``{"inputs": "attributions"}`` for one input). A model of several inputs has one
array per input instead of ``attributions``, ``attributions_<input name>`` (N, ...) each,
chunked like the others; ``attribution_arrays`` maps each input name to its array, in the
model's input order, and ``attribution_form`` tells the form the data came in ('list',
'tuple' or 'dict'; 'array' for one array), so :class:`~xaikit.runs.Run` gives them back alike.
All of a shard's attribution arrays are written before its other arrays and its marker.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import math
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import zarr

import xaikit

from ..errors import InputError
from .fingerprint import RunMismatchError, differences

__all__ = ["Store", "FORMAT", "FORMAT_VERSION", "MARKERS", "KILL_ENV", "kill_point"]

FORMAT = "xaikit.run"
FORMAT_VERSION = 1
MARKERS = "shard_committed"
ATTRIBUTIONS = "attributions"

#: Test hook (used by the crash tests, not meant for users): when this environment variable
#: names a point of the run, the process kills itself with SIGKILL there. Points:
#: ``created`` (store created or reopened, nothing computed yet), ``K:attributions``
#: (shard K's attributions written, its other arrays not yet), ``K:data`` (all of shard K's
#: data written, no marker yet) and ``K:committed`` (shard K's marker written).
KILL_ENV = "XAIKIT_TEST_KILL_AT"


def kill_point(point: str) -> None:
    """SIGKILL this process if :data:`KILL_ENV` names ``point`` (a test hook)."""
    if os.environ.get(KILL_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _is_local(path: str) -> bool:
    return "://" not in path


#: The modes :func:`zarr.open_group` takes.
OpenMode = Literal["r", "r+", "a", "w", "w-"]


def int_attribute(value: object, name: str) -> int:
    """A run's integer attribute ``name`` (Zarr types attributes as any JSON value).

    Raises:
        TypeError: the value is not a number (a store not written by xaikit).
    """
    if isinstance(value, (int, float, str)):
        return int(value)
    raise TypeError(f"the run's attribute {name!r} is not a number: {value!r}")


def mapping_attribute(value: object, name: str) -> Mapping[str, Any]:
    """A run's attribute ``name`` that xaikit writes as a JSON object.

    Raises:
        TypeError: the value is not an object (a store not written by xaikit).
    """
    if isinstance(value, Mapping):
        return value
    raise TypeError(f"the run's attribute {name!r} is not a mapping: {value!r}")


def array_at(group: zarr.Group, name: str) -> zarr.Array:
    """The array ``name`` of a run's group (a run's members are all arrays).

    Raises:
        TypeError: ``name`` is a sub-group (a store not written by xaikit).
    """
    node = group[name]
    if not isinstance(node, zarr.Array):
        raise TypeError(f"the run's member {name!r} is a Zarr group, not an array")
    return node


def _fill(dtype: np.dtype) -> Any:
    if dtype.kind in "US":
        return ""
    if dtype.kind == "b":
        return False
    return 0


def _put(array: zarr.Array, start: int, values: np.ndarray) -> None:
    array[start : start + len(values)] = values


def open_existing(path: str, mode: OpenMode = "r", argument: str = "out") -> zarr.Group | None:
    """The Zarr group at ``path``, or None when there is none.

    Raises:
        InputError: ``path`` holds a Zarr array, not a group.
    """
    try:
        return zarr.open_group(path, mode=mode, zarr_format=3)
    except zarr.errors.ContainsArrayError:
        raise InputError(f"{argument}: {path} holds a Zarr array, not a xaikit run") from None
    except FileNotFoundError:
        return None


class Store:
    """A run's Zarr group opened for writing shards.

    Use :meth:`open` to create or reopen one; :meth:`write_shard` then commits shards in
    any order, and :meth:`finalize` marks the run complete.
    """

    def __init__(self, group: zarr.Group, path: str) -> None:
        self.group, self.path = group, path
        self._arrays: dict[str, zarr.Array] = {}  # opened once: metadata reads are slow
        self._listed = False
        self._pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="xaikit-zarr")
        value = group.attrs.get("num_samples")
        self._num_samples = None if value is None else int_attribute(value, "num_samples")
        self._shard_size = int_attribute(group.attrs["shard_size"], "shard_size")
        layout = group.attrs.get("attribution_arrays", {"inputs": ATTRIBUTIONS})
        self._attributions = {
            str(name) for name in mapping_attribute(layout, "attribution_arrays").values()
        }

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        out: str | os.PathLike,
        fingerprint: Mapping[str, Any],
        attributes: Mapping[str, Any],
        *,
        num_samples: int | None,
        resume: bool = True,
        overwrite: bool = False,
    ) -> Store:
        """Create the run's group at ``out``, or reopen it to resume.

        Args:
            out: a folder (created), or an fsspec URL such as ``gs://bucket/run``.
            fingerprint: what identifies the run (see :mod:`xaikit.runs.fingerprint`).
            attributes: other group attributes to write when the group is created.
            num_samples: the number of samples when known; arrays then have their final
                length from the start.
            resume: continue a run found at ``out`` (its fingerprint must match).
            overwrite: replace a run found at ``out``.

        Raises:
            RunMismatchError: the run at ``out`` has another fingerprint (and not overwrite).
            InputError: ``out`` holds something that is not a run, or a run while neither
                resume nor overwrite is set.
        """
        path = os.fspath(out)
        group = open_existing(path, "r+")
        if group is not None and group.attrs.get("xaikit_format") != FORMAT:
            raise InputError(f"out: {path} holds a Zarr group that is not a xaikit run")
        if group is None and _is_local(path):
            local = Path(path)
            if local.exists() and (not local.is_dir() or any(local.iterdir())):
                raise InputError(
                    f"out: {path} exists and is not a xaikit run (expected a new or empty "
                    "folder, or a run to resume)"
                )
        if group is not None and not overwrite:
            if not resume:
                raise InputError(
                    f"out: {path} already holds a run; pass resume=True to continue it or "
                    "overwrite=True to replace it"
                )
            stored = mapping_attribute(group.attrs.get("fingerprint", {}), "fingerprint")
            changed = differences(stored, fingerprint)
            if changed:
                raise RunMismatchError(
                    f"out: the run in {path} was made with other settings: "
                    + " | ".join(changed)
                    + " (pass overwrite=True, or --overwrite, to replace it, or choose "
                    "another out)"
                )
            store = cls(group, path)
            store._clean_partial_writes()
        else:
            record = {
                "xaikit_format": FORMAT,
                "xaikit_format_version": FORMAT_VERSION,
                "xaikit_version": xaikit.__version__,
                **attributes,
                "fingerprint": dict(fingerprint),
                "shard_size": int(fingerprint["shard_size"]),
                "num_samples": num_samples,
                "complete": False,
                "attribution_arrays": dict(
                    attributes.get("attribution_arrays", {"inputs": ATTRIBUTIONS})
                ),
                "created_at": _now(),
                "finished_at": None,
            }
            group = zarr.open_group(path, mode="w", zarr_format=3, attributes=record)
            store = cls(group, path)
        if num_samples is not None:
            store._require_markers(math.ceil(num_samples / store.shard_size))
        kill_point("created")
        return store

    def _clean_partial_writes(self) -> None:
        """Remove temporary files left by a write that a crash interrupted (local stores)."""
        if _is_local(self.path):
            for leftover in Path(self.path).rglob("*.partial"):
                leftover.unlink(missing_ok=True)

    # ------------------------------------------------------------------ facts
    @property
    def shard_size(self) -> int:
        return self._shard_size

    @property
    def num_samples(self) -> int | None:
        """The number of samples when known from the start (None for streams of unknown
        length until :meth:`finalize`)."""
        return self._num_samples

    def committed(self) -> np.ndarray:
        """(num_shards,) bool: which shards are committed (empty before the first one)."""
        markers = self._open(MARKERS)
        if markers is None:
            return np.zeros(0, dtype=bool)
        return np.asarray(markers[:], dtype=bool)

    # ------------------------------------------------------------------ writing
    def _open(self, name: str) -> zarr.Array | None:
        """The array ``name``, opened once and kept (None while it does not exist)."""
        array = self._arrays.get(name)
        if array is None and name in self.group:
            array = self._arrays[name] = array_at(self.group, name)
        return array

    def _create(self, name: str, **spec: Any) -> zarr.Array:
        try:
            array = self.group.create_array(name, **spec)
        except zarr.errors.ContainsArrayError:  # another worker created it meanwhile
            array = array_at(self.group, name)
        self._arrays[name] = array
        return array

    def _require_markers(self, num_shards: int) -> zarr.Array:
        markers = self._open(MARKERS)
        if markers is None:
            return self._create(
                MARKERS,
                shape=(num_shards,),
                chunks=(1,),
                dtype=bool,
                fill_value=False,
                dimension_names=["shard"],
            )
        if markers.shape[0] < num_shards:
            markers.resize((num_shards,))
        return markers

    def _require(self, name: str, values: np.ndarray, rows: int) -> zarr.Array:
        """The per-sample array ``name`` (created on first use with ``rows`` rows)."""
        dtype = np.dtype(str) if values.dtype.kind in "US" else values.dtype
        array = self._open(name)
        if array is None:
            trailing = tuple(int(d) for d in values.shape[1:])
            return self._create(
                name,
                shape=(rows, *trailing),
                chunks=(self.shard_size, *trailing),
                dtype=str if dtype.kind == "U" else dtype,
                fill_value=_fill(dtype),
                dimension_names=["sample", *(f"{name}_{i}" for i in range(1, values.ndim))],
            )
        if tuple(array.shape[1:]) != tuple(values.shape[1:]) or (
            dtype.kind != "U" and np.dtype(array.dtype) != dtype
        ):
            raise InputError(
                f"data: {name} of every shard must have one shape and dtype; the run "
                f"stores {tuple(array.shape[1:])} {array.dtype}, this shard gives "
                f"{tuple(values.shape[1:])} {values.dtype}"
            )
        return array

    def _grow(self, rows: int) -> None:
        """Resize every per-sample array to ``rows`` rows (runs of unknown length)."""
        for name in list(self.group.array_keys()) if not self._listed else list(self._arrays):
            array = self._open(name)
            if name != MARKERS and array is not None and array.shape[0] < rows:
                array.resize((rows, *array.shape[1:]))
        self._listed = True

    def write_shard(self, index: int, start: int, arrays: Mapping[str, np.ndarray]) -> None:
        """Write shard ``index``'s per-sample ``arrays`` (rows ``start..``), then commit it.

        ``arrays`` maps array names to (n, ...) values; the attributions (``attributions``,
        or every input's ``attributions_<name>``) are written first.
        """
        size = len(next(iter(arrays.values())))
        stop = start + size
        known = self.num_samples
        if known is None:
            self._grow(stop)
        rows = known if known is not None else stop
        if start != index * self.shard_size or size > self.shard_size:
            raise ValueError(f"shard {index}: rows {start}..{stop} are not its rows")
        first = {name: arrays[name] for name in arrays if name in self._attributions}
        for name, values in first.items():
            self._require(name, values, rows)[start:stop] = values
        if first:
            kill_point(f"{index}:attributions")
        rest = [
            (self._require(name, values, rows), values)
            for name, values in arrays.items()
            if name not in self._attributions
        ]
        # the small per-sample arrays are written at once: each write waits on Zarr's I/O loop
        for future in [self._pool.submit(_put, array, start, values) for array, values in rest]:
            future.result()
        kill_point(f"{index}:data")
        markers = self._require_markers(index + 1)
        markers[index] = True
        kill_point(f"{index}:committed")

    def close(self) -> None:
        """Stop the store's writer threads (the store stays readable)."""
        self._pool.shutdown(wait=True)

    def finalize(self, num_samples: int) -> None:
        """Check that every shard of ``num_samples`` rows is committed; mark complete.

        Raises:
            RuntimeError: a shard is missing (the run was not finished).
        """
        num_shards = math.ceil(num_samples / self.shard_size)
        committed = self.committed()
        missing = [k for k in range(num_shards) if k >= len(committed) or not committed[k]]
        if missing:
            raise RuntimeError(
                f"run {self.path}: shards {missing[:10]} of {num_shards} are not committed"
            )
        self.group.attrs.update(
            {"num_samples": int(num_samples), "complete": True, "finished_at": _now()}
        )
