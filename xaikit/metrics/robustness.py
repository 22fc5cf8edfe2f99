"""Robustness: how much do attributions move when the inputs barely do?

:class:`MaxSensitivity` (Yeh et al., 2019) re-explains slightly perturbed copies of each
sample with the same explainer and keeps the largest change of the attributions.
"""

from __future__ import annotations

import attrs
import numpy as np

from ..errors import InputError
from ..structure import input_specs
from ..validators import boolean, positive_int, seed
from ._structure import flatten_like, part_name, refuse_integer_inputs
from .base import ExplainerMetric, MetricInputs, MetricResult, positive_number

__all__ = ["MaxSensitivity", "check_like_explainer"]


def check_like_explainer(moved: list[np.ndarray], data: MetricInputs) -> None:
    """Raise an InputError when the given attributions have another shape than the ones the
    explainer returns (``moved``, one array per input; only the sample axes are compared)."""
    for index, (new, given) in enumerate(zip(moved, data.flat_attributions, strict=True)):
        if new.shape[1:] != given.shape[1:]:
            raise InputError(
                f"{part_name('attributions', data.names, index)}: expected the shape the "
                f"explainer returns, (N, {', '.join(map(str, new.shape[1:]))}), got shape "
                f"{given.shape}"
            )


@attrs.frozen(kw_only=True)
class MaxSensitivity(ExplainerMetric):
    """Max-sensitivity: ``max_j ||a(x + e_j) - a(x)|| (/ ||a(x)||)`` over small noises ``e_j``.

    ``n_perturbations`` noises are drawn uniformly from the cube ``[-radius, radius]^d`` (d
    the number of input elements) and shared by all samples; each perturbed copy is explained
    by ``explainer`` with the sample's own targets. Lower is better: a robust explanation
    barely moves.

    Args:
        explainer: the :class:`~xaikit.Explainer` whose robustness is measured (same model);
            it also computes ``a(x)`` when the call gets no attributions. Required.
        n_perturbations: number of noisy copies per sample (>= 1). Default 10.
        radius: half-width of the noise cube, in input units. Default 0.02.
        relative: divide by ``||a(x)||`` (Frobenius norms), so methods whose attributions
            have different scales compare; a sample with ``a(x) = 0`` then scores 0 if its
            attributions stay 0, else inf. Default True.
        seed: seed of the noise (``numpy.random.default_rng``). Default 0.

    Given attributions must have the shape the explainer returns (its reducer applied).
    """

    name = "max_sensitivity"
    higher_is_better = False

    n_perturbations: int = attrs.field(default=10, validator=positive_int)
    radius: float = attrs.field(default=0.02, validator=positive_number)
    relative: bool = attrs.field(default=True, validator=boolean)
    seed: int | None = attrs.field(default=0, validator=seed)

    def compute(self, data: MetricInputs) -> MetricResult:
        refuse_integer_inputs(data.flat, data.names, self.name, "adds uniform noise to inputs")
        rng = np.random.default_rng(self.seed)
        count = self.n_perturbations
        sizes = [int(np.prod(x.shape[1:], dtype=np.int64)) for x in data.flat]
        drawn = rng.uniform(-self.radius, self.radius, (count, sum(sizes))).astype(data.dtype)
        bounds = np.cumsum([0, *sizes])
        noise = [
            drawn[:, start:stop].reshape(count, *x.shape[1:])
            for x, start, stop in zip(data.flat, bounds[:-1], bounds[1:], strict=True)
        ]
        n = len(data)
        original = data.feature_values()
        largest = np.zeros(n, dtype=np.float64)
        total = n * count
        explainer = self.explainer
        assert explainer is not None  # the field's validator refuses None
        specs = input_specs(self.model)
        for start in range(0, total, self.batch_size):
            rows = np.arange(start, min(start + self.batch_size, total))
            samples, index = rows // count, rows % count
            moved_inputs = [x + e[index] for x, e in zip(data.rows(samples), noise, strict=True)]
            explanation = explainer.explain(data.pack(moved_inputs), data.weights[samples])
            moved = flatten_like(explanation.attributions, specs, data.names)
            check_like_explainer(moved, data)
            change = np.linalg.norm(data.features.join(moved) - original[samples], axis=1)
            np.maximum.at(largest, samples, change)
        if self.relative:
            norms = np.linalg.norm(original, axis=1)
            ratio = np.divide(largest, norms, out=np.zeros_like(largest), where=norms > 0)
            largest = np.where((norms == 0) & (largest > 0), np.inf, ratio)
        return self.result(largest, details={"radius": self.radius})
