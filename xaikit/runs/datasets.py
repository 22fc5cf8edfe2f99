"""A finite ``tf.data.Dataset`` of ``x`` or ``(x, y)`` (batched or not) as a source of
shards, re-batched to shards and prefetched by tf.data.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from ..errors import InputError
from ..structure import input_specs
from ._model import model_input_shape
from .shards import HEAD_ROWS, Shard, _sha256, num_rows
from .structured import Structure, _takes_structures, structure_of

__all__ = ["DatasetSource"]


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
