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
import itertools
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
from ..structure import Form, InputSpec, describe_names, input_specs
from ._model import model_input_shape

__all__ = [
    "Inputs",
    "Structure",
    "Shard",
    "Source",
    "ArraySource",
    "DatasetSource",
    "IterableSource",
    "as_source",
    "prefetched",
    "HEAD_ROWS",
]

#: A shard's inputs: one array (N, ...), or one array per model input (in the model's input
#: order) for a model of several inputs.
Inputs = np.ndarray | tuple[np.ndarray, ...]


@attrs.frozen
class Structure:
    """How structured data gives a model of several inputs its inputs.

    Attributes:
        form: the form the data came in (list, tuple or dict), to give results back alike.
        names: each input's name, in the model's input order (a shard's ``x`` order).
    """

    form: Form
    names: tuple[str, ...]

    def pack(self, flat: Iterable[Any]) -> Any:
        """Values in the model's input order as a list, tuple or dict (the data's form)."""
        return self.form.pack(list(flat))

    def flat(self, value: Any, where: str) -> tuple[Any, ...]:
        """``value`` (a list, tuple or dict of this structure) in the model's input order.

        Raises:
            InputError: ``value`` has another structure (other names, count or form).
        """
        if self.form.kind == "dict":
            if not isinstance(value, Mapping) or set(map(str, value)) != set(self.names):
                raise InputError(
                    f"{where}: every element must be a dict of the inputs "
                    f"{', '.join(map(repr, self.names))}, got {_shown(value)}"
                )
            return tuple(value[name] for name in self.names)
        if not isinstance(value, (list, tuple)) or len(value) != len(self.names):
            raise InputError(
                f"{where}: every element must be a {self.form.kind} of {len(self.names)} inputs "
                f"({', '.join(map(repr, self.names))}), got {_shown(value)}"
            )
        return tuple(value)

    def describe(self) -> dict[str, Any]:
        return {"form": self.form.kind, "inputs": list(self.names)}


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a dict of " + (", ".join(map(repr, map(str, value))) or "nothing")
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    return type(value).__name__


def structure_of(
    value: Mapping | list | tuple, specs: tuple[InputSpec, ...] | None, where: str = "data"
) -> Structure:
    """The structure of one element of structured data (a dict by input name, or a list or
    tuple in the model's input order), checked against the inputs the model declares.

    Raises:
        InputError: names missing or unknown, or a count of inputs the model does not take.
    """
    if isinstance(value, Mapping):
        keys = [str(key) for key in value]
        if specs is None:
            names = tuple(sorted(keys))
        else:
            names = tuple(spec.name for spec in specs)
            missing = [n for n in names if n not in keys]
            unknown = [k for k in keys if k not in names]
            if missing or unknown:
                said = ([f"missing {', '.join(map(repr, missing))}"] if missing else []) + (
                    [f"unknown {', '.join(map(repr, unknown))}"] if unknown else []
                )
                raise InputError(
                    f"{where}: expected a dict keyed by the model's input names "
                    f"{describe_names(specs)}, got {'; '.join(said)}"
                )
        return Structure(Form("dict", names), names)
    kind = "list" if isinstance(value, list) else "tuple"
    if specs is not None and len(value) != len(specs):
        raise InputError(
            f"{where}: the model takes {len(specs)} inputs ({describe_names(specs)}), as a "
            f"list in that order or a dict keyed by name; got a {kind} of {len(value)}"
        )
    if specs is not None:
        names = tuple(spec.name for spec in specs)
    else:
        names = tuple(f"input_{i}" for i in range(len(value)))
    return Structure(Form(kind), names)


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
    """An element of the data as ``(x, y)``; y is None when the element is x alone.

    Keras's rule: a tuple is ``(x,)`` or ``(x, y)``; a list or dict is the ``x`` of a model of
    several inputs.
    """
    if isinstance(element, tuple):
        if len(element) == 1:
            return element[0], None
        if len(element) == 2:
            return element
        raise InputError(f"{name}: expected batches of x or (x, y), got tuples of {len(element)}")
    return element, None


def _takes_structures(specs: tuple[InputSpec, ...] | None, value: Any, name: str) -> None:
    """Refuse a list or dict of inputs for a model of one input."""
    if specs is not None and len(specs) == 1:
        raise InputError(
            f"{name}: the model takes one input, so batches of one array or (x, y); structured "
            f"(list or dict) inputs are for models of several inputs, got {_shown(value)}"
        )


def _as_array(value: Any, name: str) -> np.ndarray:
    if isinstance(value, np.ndarray) and value.dtype != object:
        return value  # kept as it is: a memory map stays one
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


# ---------------------------------------------------------------------------- rebatching
def rebatch(
    batches: Iterable[tuple[Inputs, np.ndarray | None, Mapping[str, np.ndarray]]],
    shard_size: int,
    skip: Container[int] = (),
    structure: Structure | None = None,
) -> Generator[Shard, None, None]:
    """Batches ``(x, y, columns)`` of any sizes cut into shards of ``shard_size`` rows.

    ``x`` is one array, or a tuple of arrays (one per model input, as ``structure`` names
    them). Holds at most one shard plus one incoming batch. Shards in ``skip`` are counted,
    not assembled.
    """
    Part = tuple[Inputs, np.ndarray | None, Mapping[str, np.ndarray]]
    parts: list[Part] = []
    held = index = start = 0

    def cut(part: Part, rows: slice) -> Part:
        x, y, cols = part
        return _take(x, rows), None if y is None else y[rows], {k: v[rows] for k, v in cols.items()}

    def emit(size: int) -> Shard:
        nonlocal parts, held, index, start
        taken: list[Part] = []
        rest: list[Part] = []
        need = size
        for part in parts:
            rows = num_rows(part[0])
            if need >= rows:
                taken.append(part)
                need -= rows
            elif need > 0:
                taken.append(cut(part, slice(None, need)))
                rest.append(cut(part, slice(need, None)))
                need = 0
            else:
                rest.append(part)
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
                _concatenate([x for x, _, _ in taken]),
                np.concatenate(ys) if ys else None,
                {k: np.concatenate([c[k] for _, _, c in taken]) for k in taken[0][2]},
                structure,
            )
        index, start = index + 1, start + size
        return shard

    for x, y, cols in batches:
        if parts and (
            _sample_shapes(x) != _sample_shapes(parts[0][0]) or (y is None) != (parts[0][1] is None)
        ):
            first, now = _sample_shapes(parts[0][0]), _sample_shapes(x)
            shown = (first[0], now[0]) if structure is None else (first, now)
            raise InputError(
                f"data: every batch must hold samples of one shape, got {shown[0]} and "
                f"then {shown[1]} (or x alone after (x, y))"
            )
        if num_rows(x):
            parts.append((x, y, cols))
            held += num_rows(x)
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

    For a model of several inputs, ``x`` is a dict of tensors by input name or a tuple in
    the model's input order (then the elements are ``((a, b),)`` or ``((a, b), y)``: a tuple
    element is Keras's ``(x, y)``).

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
        x_spec = parts[0] if parts else None
        leaves = tf.nest.flatten(x_spec) if x_spec is not None else []
        if (
            not 1 <= len(parts) <= 3
            or not leaves
            or not all(isinstance(leaf, tf.TensorSpec) for leaf in leaves)
            or (not isinstance(x_spec, (tf.TensorSpec, Mapping, tuple)))
        ):
            raise InputError(
                "data: expected a tf.data.Dataset of x or (x, y) tensors (x: a tensor, or a "
                f"dict or tuple of them for a model of several inputs), got elements {spec}"
            )
        cardinality = int(dataset.cardinality())
        if cardinality == tf.data.INFINITE_CARDINALITY:
            raise InputError(
                "data: expected a finite dataset, got an infinite one (remove .repeat() or "
                "add .take(n))"
            )
        specs = input_specs(model)
        self.structure: Structure | None = None
        if isinstance(x_spec, (Mapping, tuple)):
            _takes_structures(specs, x_spec, "data")
            self.structure = structure_of(x_spec, specs)
            first = self.structure.flat(x_spec, "data")[0]
        else:
            first = x_spec
        rank = first.shape.rank
        sample_rank = _sample_rank(model) if specs is None else len(specs[0].shape)
        if (
            sample_rank is not None
            and rank is not None
            and rank not in (sample_rank, sample_rank + 1)
        ):
            raise InputError(
                f"data: the model takes samples of rank {sample_rank}, so dataset elements "
                f"of rank {sample_rank + 1} (batched) or {sample_rank}, got element shape "
                f"{tuple(first.shape)}"
            )
        if sample_rank is not None and rank is not None:
            self.batched = rank == sample_rank + 1
        else:
            self.batched = rank is not None and rank >= 2 and first.shape[0] is None
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
            parts: tuple = element if isinstance(self.spec, tuple) else (element,)
            x = parts[0]
            if self.structure is not None:
                x = self.structure.flat(x, "data")
            y = parts[1] if self.has_y else None
            columns = {k: _decoded(v) for k, v in parts[2].items()} if self.has_columns else {}
            yield x, y, columns

    def describe(self) -> dict[str, Any]:
        head = next(self._elements(self._shards(HEAD_ROWS).take(1)), None)
        x_spec = self.spec[0] if isinstance(self.spec, tuple) else self.spec
        if self.structure is not None:
            flat = self.structure.flat(x_spec, "data")
            return {
                "kind": "tf.data",
                "source": self.label,
                "num_samples": self.num_samples,
                **self.structure.describe(),
                "element_shapes": [[None if d is None else int(d) for d in s.shape] for s in flat],
                "dtypes": [s.dtype.name for s in flat],
                "batched": self.batched,
                "has_y": self.has_y,
                "head_sha256": None if head is None else _sha256(*head[0], head[1]),
            }
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
            start, size = index * shard_size, num_rows(x)
            count += size
            if index in skip:
                yield Shard(index, start, size)
            else:
                yield Shard(index, start, size, x, y, columns, self.structure)
        if count == 0:
            raise InputError("data: expected at least one sample, got an empty dataset")


def _decoded(values: np.ndarray) -> np.ndarray:
    if values.dtype == object:  # tf.string -> bytes
        return np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values])
    return values


# ---------------------------------------------------------------------------- iterables
class IterableSource:
    """Any iterable of batches: arrays (n, ...) or ``(x, y)`` tuples, of any sizes.

    For a model of several inputs, ``x`` is a dict of arrays by input name or a list in the
    model's input order (a tuple is ``(x, y)``, as in Keras), the same structure in every
    batch.

    The batches are cut into shards in a background thread that stays at most ``prefetch``
    shards ahead. A run can resume only on an iterable that yields the same batches again
    (a list, an object whose ``__iter__`` starts over, a generator made anew by the caller).

    Args:
        batches: the batches.
        label: how the data is named in the description.
        prefetch: shards cut ahead in a background thread.
        model: the model (its declared inputs name and order structured batches).
    """

    def __init__(
        self,
        batches: Iterable[Any],
        *,
        label: str | None = None,
        prefetch: int = 2,
        model: Any = None,
    ) -> None:
        self.batches, self.label, self.prefetch = batches, label, prefetch
        self._kind = type(batches).__name__
        self.num_samples: int | None = None
        self.reiterable = iter(batches) is not batches
        self.specs = None if model is None else input_specs(model)
        self._structure: Structure | None = None
        self._peeked = False

    @property
    def structure(self) -> Structure | None:
        """The batches' structure (None for arrays), read off the first batch."""
        if not self._peeked:
            if self.reiterable:
                first = next(iter(self.batches), None)
            else:  # an iterator: its first batch is put back in front
                iterator = iter(self.batches)
                first = next(iterator, None)
                if first is not None:
                    self.batches = itertools.chain([first], iterator)
            self._peeked = True
            x = None if first is None else _split(first, "data")[0]
            if isinstance(x, (Mapping, list, tuple)):
                _takes_structures(self.specs, x, "data")
                self._structure = structure_of(x, self.specs)
        return self._structure

    def _arrays(self, batches: Iterable[Any]) -> Iterator[tuple]:
        structure = self.structure
        for number, element in enumerate(batches):
            where = f"data (batch {number})"
            x, y = _split(element, "data")
            if structure is not None:
                x = tuple(
                    _as_array(part, f"{where}[{name!r}]")
                    for part, name in zip(structure.flat(x, where), structure.names, strict=True)
                )
                counts = {len(part) for part in x}
                if any(part.ndim == 0 for part in x) or len(counts) > 1:
                    raise InputError(
                        f"{where}: expected one array (n, ...) per input, all of n rows, got "
                        f"shapes {[part.shape for part in x]}"
                    )
            elif isinstance(x, (Mapping, list, tuple)):
                _takes_structures(self.specs, x, where)
                raise InputError(f"{where}: the first batch was one array, this one is a structure")
            else:
                x = _as_array(x, where)
                if x.ndim == 0:
                    raise InputError(f"data: batch {number} is a scalar, expected a batch (n, ...)")
            y = None if y is None else _as_array(y, f"data (targets of batch {number})")
            if y is not None and len(y) != num_rows(x):
                raise InputError(
                    f"data: batch {number} has {num_rows(x)} inputs but {len(y)} targets"
                )
            yield x, y, {}

    def describe(self) -> dict[str, Any]:
        head: tuple[Inputs, np.ndarray | None] | None = None
        if self.reiterable:
            shards = rebatch(self._arrays(self.batches), HEAD_ROWS, structure=self.structure)
            first = next(shards, None)
            shards.close()
            if first is not None:
                assert first.x is not None  # no shard skipped: each holds its rows
                head = (first.x, first.y)
        x = None if head is None else head[0]
        flat = () if x is None else x if isinstance(x, tuple) else (x,)
        return {
            "kind": "iterable",
            "source": self.label or self._kind,
            "num_samples": None,
            **_x_description(x, self.structure),
            "has_y": None if head is None else head[1] is not None,
            "head_sha256": None if head is None else _sha256(*flat, head[1]),
        }

    def shards(self, shard_size: int, skip: Container[int] = ()) -> Iterator[Shard]:
        structure = self.structure

        def produce() -> Iterator[Shard]:
            count = 0
            for shard in rebatch(self._arrays(self.batches), shard_size, skip, structure):
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
            a ``tf.Tensor``; an iterable of batches (arrays or ``(x, y)`` tuples); for a model
            of several inputs, a dict of arrays by input name or a list / tuple of arrays in
            its input order (each an array or memory map of N rows), or batches of those.
        model: the explained model.

    Raises:
        InputError: ``data`` is none of these (strings included).
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
    specs = input_specs(model)
    if isinstance(data, Mapping):
        _takes_structures(specs, data, "data")
        return ArraySource(data, specs=specs)
    if (
        specs is not None
        and len(specs) > 1
        and isinstance(data, (list, tuple))
        and len(data) == len(specs)
        and all(isinstance(part, np.ndarray) or tf.is_tensor(part) for part in data)
    ):
        return ArraySource(data, specs=specs)  # one array per input, not a list of batches
    if isinstance(data, (str, bytes)):
        raise InputError(
            "data: expected a tf.data.Dataset, a numpy array (or memory-mapped .npy) or an "
            f"iterable of batches, got {type(data).__name__} (load a file with "
            "np.load(path, mmap_mode='r'))"
        )
    if isinstance(data, Iterable):
        return IterableSource(data, model=model)
    raise InputError(
        "data: expected a tf.data.Dataset, a numpy array (or memory-mapped .npy) or an "
        f"iterable of batches, got {type(data).__name__}"
    )
