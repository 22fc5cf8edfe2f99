"""Metrics over structured inputs: one global feature order across all of a model's inputs.

A model of several inputs is scored as if its inputs were one: every input's features (its
elements, or its pixels / time steps when the channel axis of its attributions is reduced)
are laid end to end, in the model's input order and each input's C order, into one vector of
F features per sample. Deletion ranks that vector, MuFidelity draws subsets of it,
Infidelity draws noise over it; a mask or a noise over the F features is then split back into
one array per input and applied there. A one-input model is the structure of one input: its
features are exactly the ones the metrics always used, in the same order, with the same draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from ..baselines import structured_baselines
from ..errors import InputError
from ..inputs import to_array
from ..structure import InputSpec, flatten_structure
from ._features import FeatureLayout, feature_layout

__all__ = [
    "Features",
    "structured_attributions",
    "structured_replacements",
    "refuse_integer_inputs",
    "flatten_like",
    "part_name",
]


def part_name(argument: str, names: Sequence[str], index: int) -> str:
    """How one input's part of ``argument`` is named in messages: ``argument`` alone for a
    one-input model, else ``argument['name']``."""
    return argument if len(names) == 1 else f"{argument}[{names[index]!r}]"


@attrs.frozen
class Features:
    """The features of every input together, in one global order.

    Attributes:
        parts: one :class:`FeatureLayout` per model input, in the model's input order.
        names: each input's name (for messages).
    """

    parts: tuple[FeatureLayout, ...]
    names: tuple[str, ...]

    @property
    def sizes(self) -> list[int]:
        """Features of each input."""
        return [part.num_features for part in self.parts]

    @property
    def num_features(self) -> int:
        """F: the features of all inputs together."""
        return int(sum(self.sizes))

    def split(self, values: np.ndarray) -> list[np.ndarray]:
        """Values over all features (r, F) as one (r, *feature_shape) array per input."""
        bounds = np.cumsum([0, *self.sizes])
        return [
            values[:, start:stop].reshape(len(values), *part.feature_shape)
            for part, start, stop in zip(self.parts, bounds[:-1], bounds[1:], strict=True)
        ]

    def join(self, per_input: Sequence[np.ndarray]) -> np.ndarray:
        """One (r, *feature_shape) array per input as values over all features (r, F)."""
        rows = len(per_input[0])
        flat = [np.reshape(values, (rows, -1)) for values in per_input]
        return flat[0] if len(flat) == 1 else np.concatenate(flat, axis=1)

    def expanded(self, values: np.ndarray) -> list[np.ndarray]:
        """Values over all features (r, F) split per input, each broadcastable to
        (r, *input_shape) (a feature's value covers all channels of its pixel / step)."""
        return [part.expand(v) for part, v in zip(self.parts, self.split(values), strict=True)]

    def replace(
        self,
        mask: np.ndarray,
        replacement: Sequence[np.ndarray],
        inputs: Sequence[np.ndarray],
    ) -> list[np.ndarray]:
        """Each input (r, ...) with the features ``mask`` (r, F) marks set to ``replacement``
        (one (r, ...) array per input)."""
        return [
            np.where(m, new, old)
            for m, new, old in zip(self.expanded(mask), replacement, inputs, strict=True)
        ]


def _finite_numbers(values: np.ndarray, name: str) -> np.ndarray:
    if values.dtype == object or not (
        np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.bool_)
    ):
        raise InputError(f"{name}: expected numbers, got an array of dtype {values.dtype}")
    return values


def structured_attributions(
    attributions: Any,
    flat: Sequence[np.ndarray],
    specs: tuple[InputSpec, ...] | None,
    names: tuple[str, ...],
) -> tuple[list[np.ndarray], Features]:
    """Attributions with the inputs' structure as float64 arrays (model input order), and
    the features they define.

    Args:
        attributions: one array for a one-input model; for several inputs a list / tuple in
            the model's input order or a dict keyed by input name. Each part has its input's
            shape (N, ...) or, for inputs of rank 3 or more, that shape without the channel
            axis.
        flat: the inputs, one (N, ...) array per model input.
        specs: the model's declared inputs (None when it declares none).
        names: each input's name.

    Raises:
        InputError: a structure that does not match the inputs (names, count), or a part of
            the wrong shape, dtype or with NaN / inf (the message names the input).
    """
    try:
        parts, _ = flatten_structure(attributions, specs)
    except InputError as error:
        raise InputError("attributions" + str(error)[len("inputs") :]) from None
    if len(parts) != len(flat):
        raise InputError(
            f"attributions: expected one array per input ({', '.join(map(repr, names))}), "
            f"got {len(parts)}"
        )
    values, layouts = [], []
    for index, (part, x) in enumerate(zip(parts, flat, strict=True)):
        name = part_name("attributions", names, index)
        array = _finite_numbers(to_array(part, name), name)
        layouts.append(feature_layout(x.shape, array.shape, name))
        array = array.astype(np.float64)
        if not np.all(np.isfinite(array)):
            raise InputError(f"{name}: expected finite values, got NaN or inf")
        values.append(array)
    return values, Features(tuple(layouts), names)


def flatten_like(
    attributions: Any, specs: tuple[InputSpec, ...] | None, names: tuple[str, ...]
) -> list[np.ndarray]:
    """An explainer's attributions (mirroring the inputs) as float64 arrays in input order."""
    parts, _ = flatten_structure(attributions, specs)
    return [np.asarray(part, dtype=np.float64) for part in parts]


def structured_replacements(
    baseline: Any, flat: Sequence[np.ndarray], names: Sequence[str]
) -> list[np.ndarray]:
    """The values removed features take: one (N, ...) array per input, in its dtype.

    ``baseline`` is what :func:`xaikit.baselines.structured_baselines` takes (a number for
    all inputs, a list / dict with one per input, or anything for a one-input model). For an
    input of integer ids the baseline is an id, so it must be a whole number.

    Raises:
        InputError: a baseline that does not fit, or a fractional baseline for ids.
    """
    shapes = [
        x if not np.issubdtype(x.dtype, np.integer) else np.broadcast_to(np.float64(0), x.shape)
        for x in flat
    ]
    out = []
    for index, (values, x) in enumerate(
        zip(structured_baselines(baseline, shapes, list(names)), flat, strict=True)
    ):
        values = values[:, 0]
        if np.issubdtype(x.dtype, np.integer):
            if np.any(values != np.round(values)):
                name = part_name("baseline", names, index)
                raise InputError(
                    f"{name}: the input holds integer ids ({x.dtype}), so removed ids become "
                    "a baseline id; expected a whole number (e.g. 0, the padding id), got "
                    "fractional values"
                )
            values = values.astype(x.dtype)
        out.append(values)
    return out


def refuse_integer_inputs(
    flat: Sequence[np.ndarray], names: Sequence[str], metric: str, why: str
) -> None:
    """Raise an InputError naming the first input of integer ids, for metrics that add
    noise to the inputs (``why`` says what the metric does)."""
    for index, x in enumerate(flat):
        if np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.bool_):
            name = part_name("inputs", names, index)
            raise InputError(
                f"{name}: the {metric!r} metric {why}, which input {names[index]!r} of "
                f"integer ids ({x.dtype}) cannot take; use a metric that removes features "
                "(deletion, insertion, mufidelity), or score a model that takes the ids' "
                "embeddings as inputs"
            )
