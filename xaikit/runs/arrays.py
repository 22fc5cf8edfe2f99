"""Numpy arrays and memory-mapped ``.npy`` files (one, or one per model input) as a source
of shards, read shard by shard in a background thread.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Container, Iterator, Mapping
from typing import Any

import numpy as np

from ..errors import InputError
from ..structure import InputSpec
from .prefetch import prefetched
from .shards import HEAD_ROWS, Inputs, Shard, _as_array, _sha256, _x_description
from .structured import Structure, structure_of

__all__ = ["ArraySource"]


def _file_reader(x: np.ndarray) -> Callable[[slice], np.ndarray] | None:
    """Rows of a memory-mapped ``.npy`` read with plain file reads, or None.

    Copying rows out of a memory map leaves its pages resident, so the process's memory
    would grow with the file; reading them instead keeps it bounded by the shards in flight.
    Only a whole C-ordered array mapped from its file qualifies (``np.load(path,
    mmap_mode="r")``); other arrays are sliced as they are.
    """
    filename = getattr(x, "filename", None)
    if not isinstance(x, np.memmap) or filename is None or not x.flags.c_contiguous:
        return None
    try:
        whole = os.path.getsize(filename) == x.offset + x.nbytes
    except (OSError, TypeError):
        return None
    if not whole:
        return None
    row_bytes = x.dtype.itemsize * math.prod(x.shape[1:])

    def read(rows: slice) -> np.ndarray:
        out = np.empty((rows.stop - rows.start, *x.shape[1:]), dtype=x.dtype)
        with open(filename, "rb") as file:
            file.seek(x.offset + rows.start * row_bytes)
            if file.readinto(out.data.cast("B")) != out.nbytes:
                raise OSError(f"{filename}: the file ended before row {rows.stop}")
        return out

    return read


class ArraySource:
    """A numpy array (N, ...) or memory map, read shard by shard; or, for a model of several
    inputs, a dict of them by input name or a list / tuple in the model's input order.

    Args:
        x: (N, ...) inputs; a ``np.memmap`` / ``np.load(path, mmap_mode="r")`` is read
            lazily, one shard at a time. For several inputs, a dict by input name or a list
            / tuple (model input order) of such arrays, all of N rows.
        y: optional (N,) or (N, K) targets that go with the rows.
        columns: optional per-sample values (N,) to store, by name.
        label: how the data is named in the description (a file path, for instance).
        prefetch: shards loaded ahead in a background thread.
        specs: the model's declared inputs (:func:`xaikit.structure.input_specs`): name a
            list's inputs and order a dict's; None: a dict's keys sorted, a list's
            ``input_0, input_1, ...``.
    """

    def __init__(
        self,
        x: Any,
        y: np.ndarray | None = None,
        *,
        columns: Mapping[str, np.ndarray] | None = None,
        label: str | None = None,
        prefetch: int = 2,
        specs: tuple[InputSpec, ...] | None = None,
    ) -> None:
        self.structure: Structure | None = None
        if isinstance(x, (Mapping, list, tuple)):
            self.structure = structure_of(x, specs)
            parts = tuple(
                _as_array(part, f"data[{name!r}]")
                for part, name in zip(self.structure.flat(x, "data"), self.structure.names,
                                      strict=True)
            )  # fmt: skip
        else:
            parts = (x,)
        for part in parts:
            if part.ndim == 0:
                raise InputError("data: expected an array of shape (N, ...), got a scalar")
        counts = {len(part) for part in parts}
        if len(counts) > 1:
            assert self.structure is not None  # several parts come from a structure
            shown = ", ".join(
                f"{name!r}: {len(part)}"
                for name, part in zip(self.structure.names, parts, strict=True)
            )
            raise InputError(f"data: every input must have the same number of rows, got {shown}")
        self.parts = parts
        self.x: Inputs = parts if self.structure is not None else parts[0]
        self.y, self.label, self.prefetch = y, label, prefetch
        self._readers = [_file_reader(part) for part in parts]
        self._read = self._readers[0]  # the first (the only one for one array)
        self.columns = dict(columns or {})
        n = len(parts[0])
        self.num_samples: int | None = int(n)
        for name, values in [("y", y), *self.columns.items()]:
            if values is not None and len(values) != n:
                raise InputError(
                    f"data: {name} must have one row per sample ({n}), got {len(values)}"
                )

    def describe(self) -> dict[str, Any]:
        head = slice(0, min(HEAD_ROWS, self.num_samples or 0))
        y_head = None if self.y is None else np.asarray(self.y[head])
        heads = [np.asarray(part[head]) for part in self.parts]
        if self.structure is None:
            return {
                "kind": "array",
                "source": self.label,
                "num_samples": self.num_samples,
                "sample_shape": list(self.parts[0].shape[1:]),
                "dtype": str(self.parts[0].dtype),
                "has_y": self.y is not None,
                "head_sha256": _sha256(heads[0], y_head),
            }
        files = [getattr(part, "filename", None) for part in self.parts]
        return {
            "kind": "array",
            "source": self.label,
            "num_samples": self.num_samples,
            **_x_description(self.x, self.structure),
            "files": [None if f is None else str(f) for f in files],
            "has_y": self.y is not None,
            "head_sha256": _sha256(*heads, y_head),
        }

    def _rows(self, rows: slice) -> Inputs:
        parts = tuple(
            read(rows) if read is not None else np.array(part[rows])
            for part, read in zip(self.parts, self._readers, strict=True)
        )
        return parts if self.structure is not None else parts[0]

    def read_shard(self, index: int, shard_size: int) -> Shard:
        """Shard ``index`` alone, loaded (rows are copied out of a memory map)."""
        n = len(self.parts[0])
        rows = slice(index * shard_size, min((index + 1) * shard_size, n))
        if not 0 <= rows.start < n:
            raise IndexError(f"shard {index} of {shard_size} rows is past the {n} samples")
        return Shard(
            index,
            rows.start,
            rows.stop - rows.start,
            self._rows(rows),
            None if self.y is None else np.array(self.y[rows]),
            {name: np.array(values[rows]) for name, values in self.columns.items()},
            self.structure,
        )

    def _load(self, shard_size: int, skip: Container[int]) -> Iterator[Shard]:
        n = len(self.parts[0])
        for index, start in enumerate(range(0, n, shard_size)):
            if index in skip:
                yield Shard(index, start, min(shard_size, n - start))
            else:
                yield self.read_shard(index, shard_size)

    def shards(self, shard_size: int, skip: Container[int] = ()) -> Iterator[Shard]:
        if self.num_samples == 0:
            raise InputError("data: expected at least one sample, got an empty array")
        return prefetched(self._load(shard_size, skip), self.prefetch)
