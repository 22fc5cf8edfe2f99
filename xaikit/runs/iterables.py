"""Any iterable of batches, of any sizes, as a source of shards: :func:`rebatch` cuts the
batches into shards, in a background thread for :class:`IterableSource`.
"""

from __future__ import annotations

import itertools
from collections.abc import Container, Generator, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from ..errors import InputError
from ..structure import input_specs
from .prefetch import prefetched
from .shards import (
    HEAD_ROWS,
    Inputs,
    Shard,
    _as_array,
    _concatenate,
    _sample_shapes,
    _sha256,
    _take,
    _x_description,
    num_rows,
)
from .structured import Structure, _split, _takes_structures, structure_of

__all__ = ["IterableSource", "rebatch"]


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
