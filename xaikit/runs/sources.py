"""Turning what users pass to :func:`~xaikit.explain_dataset` into shards of samples.

A *source* yields the data as consecutive **shards**: shard ``k`` holds rows
``[k * shard_size, (k + 1) * shard_size)`` of the stream (the last one may be shorter),
whatever batch sizes the data came in. The same data therefore always gives the same shard
boundaries, which is what lets a run resume. A shard the runner already has (committed in
the store) is passed over without being loaded where the source can seek (arrays), and read
and dropped where it cannot (datasets, iterables).

Sources:

- :class:`ArraySource`: a numpy array or a memory-mapped ``.npy`` (``np.load(path,
  mmap_mode="r")``); rows are copied shard by shard, in a background thread.
- :class:`DatasetSource`: a finite ``tf.data.Dataset`` of ``x`` or ``(x, y)``, batched or
  not, re-batched to shards with ``rebatch`` and prefetched by tf.data.
- :class:`IterableSource`: any iterable of batches (arrays or ``(x, y)`` tuples), re-batched
  in a background thread with a bounded queue.

:class:`~xaikit.runs.images.ImageFolderSource` (a folder of image files) is a dataset source.
"""

from __future__ import annotations

import hashlib
import math
import os
import queue
import threading
from collections.abc import Callable, Container, Generator, Iterable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
import tensorflow as tf

from ..errors import InputError
from ._model import model_input_shape

__all__ = [
    "Shard",
    "Source",
    "ArraySource",
    "DatasetSource",
    "IterableSource",
    "as_source",
    "prefetched",
    "HEAD_ROWS",
]

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
        x: (size, ...) inputs, or None for a shard that was passed over (not loaded).
        y: (size, ...) targets that came with the data (a dataset's ``y``), or None.
        columns: other per-sample values to store beside the results, by name (for example
            ``sample_id``: (size,) strings).
    """

    index: int
    start: int
    size: int
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    columns: Mapping[str, np.ndarray] = attrs.field(factory=dict)

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


def prefetched(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """``items`` produced by a background thread, at most ``depth`` ahead of the consumer.

    Loading the next shards (a memory map's pages, a generator's work) then overlaps the
    computation on the current one. An exception in the producer is raised in the consumer;
    closing the returned generator stops the producer.
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(("end", done))
        except BaseException as error:  # noqa: BLE001 - handed over to the consumer
            buffer.put(("error", error))

    thread = threading.Thread(target=produce, name="xaikit-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = buffer.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                buffer.get(timeout=0.05)
            except queue.Empty:
                pass
        thread.join()


def _split(element: Any, name: str) -> tuple[Any, Any]:
    """An element of the data as ``(x, y)``; y is None when the element is x alone."""
    if isinstance(element, tuple):
        if len(element) == 1:
            return element[0], None
        if len(element) == 2:
            return element
        raise InputError(f"{name}: expected batches of x or (x, y), got tuples of {len(element)}")
    if isinstance(element, (list, dict)):
        raise InputError(
            f"{name}: structured (list or dict) inputs are not supported by explain_dataset "
            f"yet; expected batches of one array or (x, y), got a {type(element).__name__}"
        )
    return element, None


def _as_array(value: Any, name: str) -> np.ndarray:
    if tf.is_tensor(value):
        value = value.numpy()
    array = np.asarray(value)
    if array.dtype == object:
        raise InputError(f"{name}: expected numeric arrays, got an array of dtype object")
    return array


# ---------------------------------------------------------------------------- arrays
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
    """A numpy array (N, ...) or memory map, read shard by shard.

    Args:
        x: (N, ...) inputs; a ``np.memmap`` / ``np.load(path, mmap_mode="r")`` is read
            lazily, one shard at a time.
        y: optional (N,) or (N, K) targets that go with the rows.
        columns: optional per-sample values (N,) to store, by name.
        label: how the data is named in the description (a file path, for instance).
        prefetch: shards loaded ahead in a background thread.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray | None = None,
        *,
        columns: Mapping[str, np.ndarray] | None = None,
        label: str | None = None,
        prefetch: int = 2,
    ) -> None:
        if x.ndim == 0:
            raise InputError("data: expected an array of shape (N, ...), got a scalar")
        self.x, self.y, self.label, self.prefetch = x, y, label, prefetch
        self._read = _file_reader(x)
        self.columns = dict(columns or {})
        self.num_samples: int | None = int(x.shape[0])
        for name, values in [("y", y), *self.columns.items()]:
            if values is not None and len(values) != len(x):
                raise InputError(
                    f"data: {name} must have one row per sample ({len(x)}), got {len(values)}"
                )

    def describe(self) -> dict[str, Any]:
        head = slice(0, min(HEAD_ROWS, len(self.x)))
        y_head = None if self.y is None else np.asarray(self.y[head])
        return {
            "kind": "array",
            "source": self.label,
            "num_samples": self.num_samples,
            "sample_shape": list(self.x.shape[1:]),
            "dtype": str(self.x.dtype),
            "has_y": self.y is not None,
            "head_sha256": _sha256(np.asarray(self.x[head]), y_head),
        }

    def read_shard(self, index: int, shard_size: int) -> Shard:
        """Shard ``index`` alone, loaded (rows are copied out of a memory map)."""
        n = len(self.x)
        rows = slice(index * shard_size, min((index + 1) * shard_size, n))
        if not 0 <= rows.start < n:
            raise IndexError(f"shard {index} of {shard_size} rows is past the {n} samples")
        return Shard(
            index,
            rows.start,
            rows.stop - rows.start,
            self._read(rows) if self._read is not None else np.array(self.x[rows]),
            None if self.y is None else np.array(self.y[rows]),
            {name: np.array(values[rows]) for name, values in self.columns.items()},
        )

    def _load(self, shard_size: int, skip: Container[int]) -> Iterator[Shard]:
        n = len(self.x)
        for index, start in enumerate(range(0, n, shard_size)):
            if index in skip:
                yield Shard(index, start, min(shard_size, n - start))
            else:
                yield self.read_shard(index, shard_size)

    def shards(self, shard_size: int, skip: Container[int] = ()) -> Iterator[Shard]:
        if self.num_samples == 0:
            raise InputError("data: expected at least one sample, got an empty array")
        return prefetched(self._load(shard_size, skip), self.prefetch)


# ---------------------------------------------------------------------------- rebatching
def rebatch(
    batches: Iterable[tuple[np.ndarray, np.ndarray | None, Mapping[str, np.ndarray]]],
    shard_size: int,
    skip: Container[int] = (),
) -> Generator[Shard, None, None]:
    """Batches ``(x, y, columns)`` of any sizes cut into shards of ``shard_size`` rows.

    Holds at most one shard plus one incoming batch. Shards in ``skip`` are counted, not
    assembled.
    """
    parts: list[tuple[np.ndarray, np.ndarray | None, Mapping[str, np.ndarray]]] = []
    held = index = start = 0

    def emit(size: int) -> Shard:
        nonlocal parts, held, index, start
        taken: list[tuple[np.ndarray, np.ndarray | None, Mapping[str, np.ndarray]]] = []
        rest: list[tuple[np.ndarray, np.ndarray | None, Mapping[str, np.ndarray]]] = []
        need = size
        for x, y, cols in parts:
            if need >= len(x):
                taken.append((x, y, cols))
                need -= len(x)
            elif need > 0:
                taken.append((x[:need], None if y is None else y[:need],
                              {k: v[:need] for k, v in cols.items()}))  # fmt: skip
                rest.append((x[need:], None if y is None else y[need:],
                             {k: v[need:] for k, v in cols.items()}))  # fmt: skip
                need = 0
            else:
                rest.append((x, y, cols))
        parts, held = rest, held - size
        if index in skip:
            shard = Shard(index, start, size)
        else:
            # every part has targets or none has (checked as batches come in)
            ys = [y for _, y, _ in taken if y is not None]
            shard = Shard(
                index,
                start,
                size,
                np.concatenate([x for x, _, _ in taken]),
                np.concatenate(ys) if ys else None,
                {k: np.concatenate([c[k] for _, _, c in taken]) for k in taken[0][2]},
            )
        index, start = index + 1, start + size
        return shard

    for x, y, cols in batches:
        if parts and (x.shape[1:] != parts[0][0].shape[1:] or (y is None) != (parts[0][1] is None)):
            first = parts[0][0]
            raise InputError(
                f"data: every batch must hold samples of one shape, got {first.shape[1:]} and "
                f"then {x.shape[1:]} (or x alone after (x, y))"
            )
        if len(x):
            parts.append((x, y, cols))
            held += len(x)
        while held >= shard_size:
            yield emit(shard_size)
    if held:
        yield emit(held)


# ---------------------------------------------------------------------------- tf.data
def _sample_rank(model: Any) -> int | None:
    shape = model_input_shape(model)
    return None if shape is None else len(shape)


class DatasetSource:
    """A finite ``tf.data.Dataset`` of ``x`` or ``(x, y)``, batched or not.

    Args:
        dataset: the dataset. A third element part is ignored (Keras' sample weights)
            unless it is a dict of per-sample values to store beside the results
            (``(x, y, {"sample_id": names})``).
        model: the model (its input rank tells batched from unbatched elements).
        label: how the data is named in the description.
    """

    def __init__(self, dataset: tf.data.Dataset, model: Any, *, label: str | None = None) -> None:
        spec = dataset.element_spec
        parts = spec if isinstance(spec, tuple) else (spec,)
        if not 1 <= len(parts) <= 3 or not isinstance(parts[0], tf.TensorSpec):
            raise InputError(
                "data: expected a tf.data.Dataset of x or (x, y) tensors (structured inputs "
                f"come later), got elements {spec}"
            )
        cardinality = int(dataset.cardinality())
        if cardinality == tf.data.INFINITE_CARDINALITY:
            raise InputError(
                "data: expected a finite dataset, got an infinite one (remove .repeat() or "
                "add .take(n))"
            )
        x_spec = parts[0]
        rank, sample_rank = x_spec.shape.rank, _sample_rank(model)
        if (
            sample_rank is not None
            and rank is not None
            and rank not in (sample_rank, sample_rank + 1)
        ):
            raise InputError(
                f"data: the model takes samples of rank {sample_rank}, so dataset elements "
                f"of rank {sample_rank + 1} (batched) or {sample_rank}, got element shape "
                f"{tuple(x_spec.shape)}"
            )
        if sample_rank is not None and rank is not None:
            self.batched = rank == sample_rank + 1
        else:
            self.batched = rank is not None and rank >= 2 and x_spec.shape[0] is None
        self.has_y = len(parts) >= 2
        self.has_columns = len(parts) == 3 and isinstance(parts[2], dict)
        self.dataset, self.label, self.spec = dataset, label, spec
        self.num_samples: int | None = None
        if not self.batched and cardinality >= 0:
            self.num_samples = cardinality

    def _shards(self, rows: int) -> tf.data.Dataset:
        if self.batched:
            return self.dataset.rebatch(rows, drop_remainder=False)
        return self.dataset.batch(rows)

    def _elements(self, dataset: tf.data.Dataset) -> Iterator[tuple]:
        for element in dataset.as_numpy_iterator():
            parts = element if isinstance(element, tuple) else (element,)
            x = parts[0]
            y = parts[1] if self.has_y else None
            columns = {k: _decoded(v) for k, v in parts[2].items()} if self.has_columns else {}
            yield x, y, columns

    def describe(self) -> dict[str, Any]:
        head = next(self._elements(self._shards(HEAD_ROWS).take(1)), None)
        x_spec = self.spec[0] if isinstance(self.spec, tuple) else self.spec
        return {
            "kind": "tf.data",
            "source": self.label,
            "num_samples": self.num_samples,
            "element_shape": [None if d is None else int(d) for d in x_spec.shape],
            "dtype": x_spec.dtype.name,
            "batched": self.batched,
            "has_y": self.has_y,
            "head_sha256": None if head is None else _sha256(head[0], head[1]),
        }

    def shards(self, shard_size: int, skip: Container[int] = ()) -> Iterator[Shard]:
        batches = self._shards(shard_size).prefetch(2)
        count = 0
        for index, (x, y, columns) in enumerate(self._elements(batches)):
            start, size = index * shard_size, len(x)
            count += size
            if index in skip:
                yield Shard(index, start, size)
            else:
                yield Shard(index, start, size, x, y, columns)
        if count == 0:
            raise InputError("data: expected at least one sample, got an empty dataset")


def _decoded(values: np.ndarray) -> np.ndarray:
    if values.dtype == object:  # tf.string -> bytes
        return np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values])
    return values


# ---------------------------------------------------------------------------- iterables
class IterableSource:
    """Any iterable of batches: arrays (n, ...) or ``(x, y)`` tuples, of any sizes.

    The batches are cut into shards in a background thread that stays at most ``prefetch``
    shards ahead. A run can resume only on an iterable that yields the same batches again
    (a list, an object whose ``__iter__`` starts over, a generator made anew by the caller).
    """

    def __init__(
        self, batches: Iterable[Any], *, label: str | None = None, prefetch: int = 2
    ) -> None:
        self.batches, self.label, self.prefetch = batches, label, prefetch
        self.num_samples: int | None = None
        self.reiterable = iter(batches) is not batches

    def _arrays(self, batches: Iterable[Any]) -> Iterator[tuple]:
        for number, element in enumerate(batches):
            x, y = _split(element, "data")
            x = _as_array(x, f"data (batch {number})")
            if x.ndim == 0:
                raise InputError(f"data: batch {number} is a scalar, expected a batch (n, ...)")
            y = None if y is None else _as_array(y, f"data (targets of batch {number})")
            if y is not None and len(y) != len(x):
                raise InputError(f"data: batch {number} has {len(x)} inputs but {len(y)} targets")
            yield x, y, {}

    def describe(self) -> dict[str, Any]:
        head: tuple[np.ndarray, np.ndarray | None] | None = None
        if self.reiterable:
            shards = rebatch(self._arrays(self.batches), HEAD_ROWS)
            first = next(shards, None)
            shards.close()
            if first is not None:
                assert first.x is not None  # no shard skipped: each holds its rows
                head = (first.x, first.y)
        return {
            "kind": "iterable",
            "source": self.label or type(self.batches).__name__,
            "num_samples": None,
            "sample_shape": None if head is None else list(head[0].shape[1:]),
            "dtype": None if head is None else str(head[0].dtype),
            "has_y": None if head is None else head[1] is not None,
            "head_sha256": None if head is None else _sha256(*head),
        }

    def shards(self, shard_size: int, skip: Container[int] = ()) -> Iterator[Shard]:
        def produce() -> Iterator[Shard]:
            count = 0
            for shard in rebatch(self._arrays(self.batches), shard_size, skip):
                count += shard.size
                yield shard
            if count == 0:
                raise InputError("data: expected at least one sample, got no batches")

        return prefetched(produce(), self.prefetch)


# ---------------------------------------------------------------------------- dispatch
def as_source(data: Any, model: Any) -> Source:
    """``data`` as a :class:`Source`.

    Args:
        data: a :class:`Source`; a ``tf.data.Dataset``; a numpy array or memory map (N, ...);
            a ``tf.Tensor``; or an iterable of batches (arrays or ``(x, y)`` tuples).
        model: the explained model.

    Raises:
        InputError: ``data`` is none of these (strings and structured inputs included).
    """
    if isinstance(data, Source) and not isinstance(data, (np.ndarray, tf.data.Dataset)):
        return data
    if isinstance(data, tf.data.Dataset):
        return DatasetSource(data, model)
    if isinstance(data, np.ndarray):
        if data.dtype == object:
            raise InputError("data: expected a numeric array, got an array of dtype object")
        filename = getattr(data, "filename", None)  # a memory map's file
        return ArraySource(data, label=None if filename is None else str(filename))
    if tf.is_tensor(data):
        return ArraySource(np.asarray(data))
    if isinstance(data, (str, bytes)) or isinstance(data, (dict, Mapping)):
        raise InputError(
            "data: expected a tf.data.Dataset, a numpy array (or memory-mapped .npy) or an "
            f"iterable of batches, got {type(data).__name__} (load a file with "
            "np.load(path, mmap_mode='r'))"
        )
    if isinstance(data, Iterable):
        return IterableSource(data)
    raise InputError(
        "data: expected a tf.data.Dataset, a numpy array (or memory-mapped .npy) or an "
        f"iterable of batches, got {type(data).__name__}"
    )
