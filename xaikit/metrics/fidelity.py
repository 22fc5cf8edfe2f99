"""Fidelity metrics: do attributions predict how the score changes under perturbations?

* :class:`MuFidelity` (Bhatt et al., 2020): remove random subsets of features; correlate the
  subsets' attribution sums with the score drops. Higher is better.
* :class:`Infidelity` (Yeh et al., 2019): perturb the inputs with Gaussian noise; the
  expected squared error between the attribution-predicted change and the real score change.
  Lower is better.

Both draw their perturbations once per call from ``numpy.random.default_rng(seed)`` and
share them across samples, so results depend neither on ``batch_size`` nor on the order of
the samples. Every (sample, perturbation) pair is one row, evaluated ``batch_size`` at a time.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from ..baselines import check_baseline
from ..errors import InputError
from ..validators import boolean, optional, positive_int, seed
from ._features import grid_masks, row_correlation
from ._structure import refuse_integer_inputs, structured_replacements
from .base import Metric, MetricInputs, MetricResult, positive_number

__all__ = ["MuFidelity", "Infidelity"]


def _open_unit(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise InputError(f"{attribute.name}: expected a fraction in (0, 1), got {value!r}")


def _at_least_two(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 2:
        raise InputError(
            f"{attribute.name}: expected an integer >= 2 (a correlation needs two points), "
            f"got {value!r}"
        )


@attrs.frozen(kw_only=True)
class MuFidelity(Metric):
    """MuFidelity (Bhatt et al., 2020): attribution sums of subsets vs. the score they carry.

    ``n_subsets`` random subsets of features are drawn, each feature in with probability
    ``subset_fraction``; for each subset S and sample x the features of S are set to
    ``baseline`` and the score drop ``f(x) - f(x with S removed)`` is measured. The score of a
    sample is the Pearson correlation, over the subsets, between ``sum_{i in S} a_i`` and the
    drop. Higher is better (1: the attributions predict every drop up to scale). A sample
    whose subset sums or drops do not vary gets 0.

    Args:
        n_subsets: number of random subsets (>= 2). Default 128.
        subset_fraction: probability that a feature (or grid cell) is in a subset, in (0, 1).
            Default 0.2.
        grid_size: for series and images, subsets are drawn on a grid of at most
            ``grid_size`` cells per spatial axis (whole patches of pixels / segments of time
            steps, all channels together); None draws each feature alone. Tabular features
            are always drawn alone. Default 9.
        baseline: the value removed features take: a number (default 0.0), an array of one
            sample's shape, or one per sample (N, ...).
        seed: seed of the subsets (``numpy.random.default_rng``). Default 0.

    ``details["drops"]`` and ``details["subset_sums"]`` hold the (N, n_subsets) pairs.
    """

    name = "mufidelity"
    higher_is_better = True

    n_subsets: int = attrs.field(default=128, validator=_at_least_two)
    subset_fraction: float = attrs.field(default=0.2, validator=_open_unit)
    grid_size: int | None = attrs.field(default=9, validator=optional(positive_int))
    baseline: Any = attrs.field(default=0.0, validator=check_baseline, eq=False)
    seed: int | None = attrs.field(default=0, validator=seed)

    def compute(self, data: MetricInputs) -> MetricResult:
        rng = np.random.default_rng(self.seed)
        features = data.features
        masks = grid_masks(
            rng, self.n_subsets, self.subset_fraction, features.parts, self.grid_size
        )  # (S, F)
        replacement = structured_replacements(self.baseline, data.flat, data.names)
        subsets = self.n_subsets

        def build(rows: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
            samples, subset = rows // subsets, rows % subsets
            new = [values[samples] for values in replacement]
            return samples, features.replace(masks[subset], new, data.rows(samples))

        removed = self.row_scores(data, len(data) * subsets, build).reshape(len(data), subsets)
        drops = self.scores(data)[:, None] - removed
        sums = data.feature_values() @ masks.T.astype(np.float64)
        scores = row_correlation(sums, drops, constant=0.0)
        return self.result(scores, details={"drops": drops, "subset_sums": sums})


@attrs.frozen(kw_only=True)
class Infidelity(Metric):
    """Infidelity (Yeh et al., 2019): ``E_I[(I . a - (f(x) - f(x - I)))^2]``.

    ``n_perturbations`` perturbations are drawn: per feature, ``u ~ N(0, noise_scale^2)``
    (one value for all channels of a pixel / time step when the attributions have the
    channels reduced). With ``multiply_by_inputs`` (attributions of the "times input" kind:
    integrated gradients, gradient x input), a feature moves towards ``baseline`` by the share
    ``u`` of its distance, ``I = u * (x - baseline)``, and the predicted change is
    ``sum_i u_i a_i``; otherwise (plain gradients) ``I = u`` and the prediction is
    ``sum_i u_i a_i`` too. The score of a sample is the mean over perturbations of the squared
    difference between the prediction and the real drop ``f(x) - f(x - I)``. Lower is
    better; 0 means the attributions predict the model exactly (a linear model explained by
    ``w * (x - baseline)`` scores 0).

    Args:
        n_perturbations: number of perturbations (>= 1). Default 32.
        noise_scale: standard deviation of ``u`` (a share of ``x - baseline``, or input
            units without ``multiply_by_inputs``). Default 0.1.
        multiply_by_inputs: whether the attributions are "times (input - baseline)" ones.
            Default True.
        baseline: the reference of ``multiply_by_inputs`` (a number, one sample's shape or
            one per sample). Default 0.0.
        normalize: rescale each sample's attributions by the least-squares factor first
            (``beta = E[p d] / E[p^2]``), so only their shape, not their scale, is judged.
            Default False.
        seed: seed of the perturbations (``numpy.random.default_rng``). Default 0.
    """

    name = "infidelity"
    higher_is_better = False

    n_perturbations: int = attrs.field(default=32, validator=positive_int)
    noise_scale: float = attrs.field(default=0.1, validator=positive_number)
    multiply_by_inputs: bool = attrs.field(default=True, validator=boolean)
    baseline: Any = attrs.field(default=0.0, validator=check_baseline, eq=False)
    normalize: bool = attrs.field(default=False, validator=boolean)
    seed: int | None = attrs.field(default=0, validator=seed)

    def compute(self, data: MetricInputs) -> MetricResult:
        refuse_integer_inputs(data.flat, data.names, self.name, "adds Gaussian noise to inputs")
        rng = np.random.default_rng(self.seed)
        count = self.n_perturbations
        features = data.features
        noise = self.noise_scale * rng.standard_normal((count, features.num_features))
        noise = noise.astype(data.dtype)  # (S, F)
        shifts = features.expanded(noise)  # per input (S, *feature_shape[, 1])
        bases = structured_replacements(self.baseline, data.flat, data.names)
        distance = [x - base for x, base in zip(data.flat, bases, strict=True)]

        def build(rows: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
            samples, index = rows // count, rows % count
            out = []
            for x, shift, far in zip(data.rows(samples), shifts, distance, strict=True):
                move = shift[index] * far[samples] if self.multiply_by_inputs else shift[index]
                out.append(x - np.broadcast_to(move, x.shape))
            return samples, out

        perturbed = self.row_scores(data, len(data) * count, build).reshape(len(data), count)
        drops = self.scores(data)[:, None] - perturbed
        predicted = data.feature_values() @ noise.T.astype(np.float64)
        beta = np.ones(len(data))
        if self.normalize:
            power = (predicted * predicted).mean(axis=1)
            cross = (predicted * drops).mean(axis=1)
            beta = np.divide(cross, power, out=np.zeros_like(cross), where=power > 0)
            predicted = predicted * beta[:, None]
        scores = ((predicted - drops) ** 2).mean(axis=1)
        return self.result(scores, details={"beta": beta} if self.normalize else {})
