"""The records metrics pass around: :class:`MetricInputs` (a call's arguments once checked)
and :class:`MetricResult` (what a metric says)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from ..errors import InputError
from ..structure import Form
from ._features import FeatureLayout
from ._structure import Features

__all__ = ["MetricInputs", "MetricResult"]


@attrs.frozen(eq=False)
class MetricResult:
    """What a metric says about a batch of attributions.

    Attributes:
        name: the metric's registered name.
        scores: (N,) float64, one score per sample.
        mean: the mean of ``scores``.
        higher_is_better: the metric's direction.
        curves: (N, n_points) for curve metrics (deletion, insertion, pixel flipping: the
            explained score after each step; randomization: the similarity after each layer),
            else None. ``details`` holds the x axis.
        details: metric-specific extras (the curves' x axis as ``details["fractions"]``, the
            randomized layers' names, ...).
    """

    name: str
    scores: np.ndarray
    mean: float
    higher_is_better: bool
    curves: np.ndarray | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict)

    def __repr__(self) -> str:
        direction = "higher" if self.higher_is_better else "lower"
        curves = "" if self.curves is None else f", curves shape={self.curves.shape}"
        return (
            f"MetricResult(name={self.name!r}, mean={self.mean:.4g} ({direction} is better), "
            f"n={len(self.scores)}{curves})"
        )


@attrs.frozen(eq=False)
class MetricInputs:
    """A metric's arguments once coerced and validated (what :meth:`Metric.compute` gets).

    Attributes:
        flat: the inputs, one (N, ...) array per model input in the model's input order:
            floats in the model's dtype, integer ids in their integer dtype.
        weights: (N, K) float target weights (one-hot rows for class indices).
        targets: the targets as recorded in an Explanation: indices (N,) or weights (N, K).
        flat_attributions: one float64 array per input: its shape, or without its channel
            axis.
        features: how the attributions' features map onto the inputs' elements, and their
            one global order over all inputs.
        form: how the inputs were given (array, list, tuple, dict), to pack them alike.
    """

    flat: list[np.ndarray]
    weights: np.ndarray
    targets: np.ndarray
    flat_attributions: list[np.ndarray]
    features: Features
    form: Form = attrs.field(factory=Form)

    def __len__(self) -> int:
        return int(self.flat[0].shape[0])

    @property
    def names(self) -> tuple[str, ...]:
        """Each input's name ('inputs' for a one-input model)."""
        return self.features.names

    @property
    def inputs(self) -> Any:
        """(N, ...) inputs of a one-input model; a tuple of them (input order) for several."""
        return self.flat[0] if len(self.flat) == 1 else tuple(self.flat)

    @property
    def attributions(self) -> Any:
        """(N, ...) float64 attributions of a one-input model; a tuple for several."""
        parts = self.flat_attributions
        return parts[0] if len(parts) == 1 else tuple(parts)

    @property
    def layout(self) -> FeatureLayout:
        """The feature layout of a one-input model (several inputs: see ``features``)."""
        if len(self.features.parts) != 1:
            raise InputError(
                f"inputs: this metric scores models of one input, got {len(self.flat)} inputs "
                f"({', '.join(map(repr, self.names))})"
            )
        return self.features.parts[0]

    @property
    def dtype(self) -> np.dtype:
        """The float dtype the model computes in (of the first float input)."""
        floats = [x.dtype for x in self.flat if np.issubdtype(x.dtype, np.floating)]
        return floats[0] if floats else np.dtype("float32")

    def feature_values(self) -> np.ndarray:
        """(N, F) float64: every input's attributions flattened, end to end in input order."""
        return self.features.join(self.flat_attributions)

    def pack(self, flat: Sequence[Any]) -> Any:
        """One array per input in the form the inputs were given in (for an explainer)."""
        return self.form.pack(list(flat))

    def rows(self, samples: np.ndarray) -> list[np.ndarray]:
        """The inputs of the given samples, one (r, ...) array per input."""
        return [x[samples] for x in self.flat]
