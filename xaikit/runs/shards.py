"""Shards and what every source shares: the :class:`Shard` (rows ``[start, stop)`` of the
data), the :class:`Source` protocol the runner reads shards from, and the row helpers
sources use (counting, slicing and joining inputs, describing and hashing them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Container, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
import tensorflow as tf

from ..errors import InputError
from .structured import Structure

__all__ = ["Inputs", "Shard", "Source", "HEAD_ROWS", "num_rows"]

#: A shard's inputs: one array (N, ...), or one array per model input (in the model's input
#: order) for a model of several inputs.
Inputs = np.ndarray | tuple[np.ndarray, ...]


def num_rows(x: Inputs) -> int:
    """The number of samples in ``x``."""
    return len(x[0]) if isinstance(x, tuple) else len(x)


def _take(x: Inputs, rows: slice) -> Inputs:
    return tuple(part[rows] for part in x) if isinstance(x, tuple) else x[rows]


def _concatenate(xs: list[Inputs]) -> Inputs:
    first = xs[0]
    if isinstance(first, tuple):
        columns = zip(*(x for x in xs if isinstance(x, tuple)), strict=True)
        return tuple(np.concatenate(column) for column in columns)
    return np.concatenate([x for x in xs if isinstance(x, np.ndarray)])


def _sample_shapes(x: Inputs) -> tuple[tuple[int, ...], ...]:
    parts = x if isinstance(x, tuple) else (x,)
    return tuple(tuple(part.shape[1:]) for part in parts)


def _x_description(x: Inputs | None, structure: Structure | None) -> dict[str, Any]:
    """The part of a description that tells the inputs' shapes and dtypes."""
    if structure is None:
        single = x if isinstance(x, np.ndarray) else None
        return {
            "sample_shape": None if single is None else list(single.shape[1:]),
            "dtype": None if single is None else str(single.dtype),
        }
    parts = x if isinstance(x, tuple) else None
    return {
        **structure.describe(),
        "sample_shapes": None if parts is None else [list(p.shape[1:]) for p in parts],
        "dtypes": None if parts is None else [str(p.dtype) for p in parts],
    }


#: Rows hashed into a source's description (``head_sha256``), so a rerun on other data of
#: the same shape is caught.
HEAD_ROWS = 128


@attrs.frozen(eq=False)
class Shard:
    """Rows ``[start, start + size)`` of the data: shard number ``index``.

    Attributes:
        index: the shard's number k (``start == k * shard_size``).
        start: the first row's position in the stream.
        size: the number of rows.
        x: (size, ...) inputs (a tuple of them, one per model input, for structured data),
            or None for a shard that was passed over (not loaded).
        y: (size, ...) targets that came with the data (a dataset's ``y``), or None.
        columns: other per-sample values to store beside the results, by name (for example
            ``sample_id``: (size,) strings).
        structure: how ``x``'s arrays are given to the model (None for one array).
    """

    index: int
    start: int
    size: int
    x: Inputs | None = None
    y: np.ndarray | None = None
    columns: Mapping[str, np.ndarray] = attrs.field(factory=dict)
    structure: Structure | None = None

    @property
    def stop(self) -> int:
        return self.start + self.size


@runtime_checkable
class Source(Protocol):
    """What the runner needs from data: a description, a length if known, and shards."""

    #: The number of samples, or None when it is only known at the end of the stream.
    num_samples: int | None

    def describe(self) -> dict[str, Any]:
        """A JSON-able description of the data (kind, sample shape, dtype, size, head hash).

        A run started again on data with another description is refused.
        """

    def shards(self, shard_size: int, skip: Container[int] = ()) -> Iterator[Shard]:
        """Every shard in order; those whose index is in ``skip`` come without data."""


def _sha256(*arrays: np.ndarray | None) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            digest.update(b"none")
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes() if array.dtype != object else repr(array.tolist()).encode())
    return digest.hexdigest()


def _as_array(value: Any, name: str) -> np.ndarray:
    if isinstance(value, np.ndarray) and value.dtype != object:
        return value  # kept as it is: a memory map stays one
    if tf.is_tensor(value):
        value = value.numpy()
    array = np.asarray(value)
    if array.dtype == object:
        raise InputError(f"{name}: expected numeric arrays, got an array of dtype object")
    return array
