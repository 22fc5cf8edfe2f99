"""Curve metrics: remove (or add) features in order of relevance and follow the score.

* :class:`Deletion`: features are replaced by a baseline, most relevant first; a faithful
  explanation makes the score fall fast (small area under the curve: lower is better).
* :class:`Insertion`: start from the baseline and put the inputs' features back, most
  relevant first; the score should rise fast (large area: higher is better).
* :class:`PixelFlipping`: deletion as it is done by hand in the literature: a chosen share
  of the features is flipped, ``step`` of them at a time, to a chosen value, optionally with
  Gaussian noise; the curve is kept for plotting.

Every (sample, step) pair is one row; rows are built vectorised and evaluated
``batch_size`` at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from ..baselines import check_baseline
from ..errors import InputError
from ..validators import boolean, positive_int, seed
from ._features import relevance_ranks
from ._structure import refuse_integer_inputs, structured_replacements
from .base import Metric, MetricInputs, MetricResult

__all__ = ["Deletion", "Insertion", "PixelFlipping", "area_under_curve"]


def area_under_curve(curves: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Trapezoid area of curves (N, P) over ``fractions`` (P,), divided by the x range.

    The result is the curve's mean height: on the scale of the scores whatever the range.
    """
    widths = np.diff(fractions)
    heights = (curves[:, 1:] + curves[:, :-1]) / 2.0
    return (heights * widths).sum(axis=1) / (fractions[-1] - fractions[0])


def _fraction(low_open: bool) -> Any:
    def check(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(
            value, bool
        )
        ok = ok and (0.0 < value <= 1.0 if low_open else 0.0 <= value <= 1.0)
        if not ok:
            interval = "(0, 1]" if low_open else "[0, 1]"
            raise InputError(f"{attribute.name}: expected a fraction in {interval}, got {value!r}")

    return check


def _check_noise_std(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    array = np.asarray(value)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise InputError(f"noise_std: expected a number or an array, got {type(value).__name__}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise InputError(f"noise_std: expected finite values >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class _Removal(Metric):
    """Shared machinery: scores along an ordered removal of features (abstract)."""

    baseline: Any = attrs.field(default=0.0, validator=check_baseline, eq=False)
    absolute: bool = attrs.field(default=False, validator=boolean)

    def stepped_result(self, data: MetricInputs, steps: int, insert: bool) -> MetricResult:
        """Curves over ``steps`` equal steps towards the baseline (or from it, ``insert``),
        scored by their area over the fraction of features moved."""
        counts = self._counts_of_steps(data, steps)
        fractions = counts / data.features.num_features
        replacement = structured_replacements(self.baseline, data.flat, data.names)
        curves = self.removal_curves(data, counts, replacement, insert=insert)
        return self.result(
            area_under_curve(curves, fractions), curves, {"fractions": fractions, "counts": counts}
        )

    def removal_curves(
        self,
        data: MetricInputs,
        counts: np.ndarray,
        replacement: Sequence[np.ndarray],
        insert: bool = False,
    ) -> np.ndarray:
        """Scores (N, P) when the ``counts[p]`` most relevant features are replaced.

        Features are ranked over all inputs together (one global order, see
        :class:`~xaikit.metrics._structure.Features`).

        Args:
            data: the prepared call.
            counts: (P,) numbers of features replaced (deletion) or restored (insertion).
            replacement: one (N, ...) array per input: the values removed features take.
            insert: start from ``replacement`` and restore the most relevant features of
                the inputs instead.
        """
        ranks = relevance_ranks(data.feature_values(), self.absolute)  # (N, F)
        points = len(counts)
        counts = np.asarray(counts)

        def build(rows: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
            samples, point = rows // points, rows % points
            removed = ranks[samples] < counts[point][:, None]
            if insert:
                removed = ~removed
            new = [values[samples] for values in replacement]
            return samples, data.features.replace(removed, new, data.rows(samples))

        return self.row_scores(data, len(data) * points, build).reshape(len(data), points)

    @staticmethod
    def _counts_of_steps(data: MetricInputs, steps: int) -> np.ndarray:
        """Features removed at each of ``steps + 1`` points (one per feature at most)."""
        features = data.features.num_features
        return np.unique(np.round(np.linspace(0, features, steps + 1)).astype(np.int64))


@attrs.frozen(kw_only=True)
class Deletion(_Removal):
    """Deletion (Petsiuk et al., 2018): the score as the most relevant features are removed.

    Features are ranked by attribution (largest first) and replaced by ``baseline`` in
    ``steps`` equal steps, from none to all of them. The score of each sample is the area
    under its curve of operator scores over the removed fraction in [0, 1], i.e. the curve's
    mean height. Lower is better: a faithful explanation names the features whose removal
    destroys the prediction first.

    Args:
        steps: number of removal steps (the curve has ``steps + 1`` points); the step size is
            ``1 / steps`` of the features, and at least one feature (with fewer features
            than steps, one feature per step). Default 20.
        baseline: the value removed features take: a number (default 0.0), an array of one
            sample's shape, or one per sample (N, ...).
        absolute: rank features by ``|attribution|`` instead of signed value (default False).

    The result's ``curves`` are (N, steps + 1); ``details["fractions"]`` is their x axis.
    """

    name = "deletion"
    higher_is_better = False

    steps: int = attrs.field(default=20, validator=positive_int)

    def compute(self, data: MetricInputs) -> MetricResult:
        return self.stepped_result(data, self.steps, insert=False)


@attrs.frozen(kw_only=True)
class Insertion(_Removal):
    """Insertion (Petsiuk et al., 2018): the score as the most relevant features are added.

    Starting from ``baseline`` everywhere, the inputs' features are put back in order of
    attribution (largest first) in ``steps`` equal steps. The score of each sample is the area
    under its curve over the inserted fraction in [0, 1] (the curve's mean height). Higher is
    better: a faithful explanation names the features that restore the prediction first.

    Args:
        steps: number of insertion steps (the curve has ``steps + 1`` points; at most one
            per feature). Default 20.
        baseline: what the features are before insertion: a number (default 0.0), an array
            of one sample's shape, or one per sample (N, ...).
        absolute: rank features by ``|attribution|`` instead of signed value (default False).
    """

    name = "insertion"
    higher_is_better = True

    steps: int = attrs.field(default=20, validator=positive_int)

    def compute(self, data: MetricInputs) -> MetricResult:
        return self.stepped_result(data, self.steps, insert=True)


@attrs.frozen(kw_only=True)
class PixelFlipping(_Removal):
    """Pixel flipping (Samek et al., 2017): flip the most relevant features, watch the score.

    The most relevant ``fraction`` of the features (pixels, when the attributions have the
    channels reduced) is flipped in order of attribution, ``step`` of them at a time, to
    ``baseline`` plus Gaussian noise of standard deviation ``noise_std`` (drawn once per
    sample and feature, so a flipped feature keeps its value). The score of each sample is
    the mean height of its curve; lower is better.

    Args:
        fraction: share of the features flipped in total, in (0, 1]. Default 0.25.
        step: share of the features flipped per step, in (0, fraction]; a step smaller than
            one feature flips one feature. Default 0.01.
        baseline: the value flipped features take (e.g. the data set's per-pixel mean): a
            number (default 0.0), an array of one sample's shape, or one per sample.
        noise_std: standard deviation of the Gaussian noise added to ``baseline`` (a number
            or an array of one sample's shape, e.g. per-pixel standard deviations). Default 0.
        seed: seed of the noise (``numpy.random.default_rng``). Default 0.
        absolute: rank features by ``|attribution|`` instead of signed value (default False).

    ``curves`` (N, P) hold the scores after 0, 1, ..., P - 1 steps, ``details["fractions"]``
    the flipped share at each point (to plot ``curves[i]`` against), and
    ``details["ranks"]`` each feature's flipping order (0 first).
    """

    name = "pixel_flipping"
    higher_is_better = False

    fraction: float = attrs.field(default=0.25, validator=_fraction(low_open=True))
    step: float = attrs.field(default=0.01, validator=_fraction(low_open=True))
    noise_std: Any = attrs.field(default=0.0, validator=_check_noise_std, eq=False)
    seed: int | None = attrs.field(default=0, validator=seed)

    def __attrs_post_init__(self) -> None:
        if self.step > self.fraction:
            raise InputError(
                f"step: expected a step no larger than fraction={self.fraction}, got {self.step}"
            )

    def compute(self, data: MetricInputs) -> MetricResult:
        features = data.features.num_features
        num_steps = int(np.floor(self.fraction / self.step + 1e-9))
        counts = np.round(np.arange(num_steps + 1) * self.step * features).astype(np.int64)
        counts = np.unique(counts)  # a step of less than one feature: one feature per step
        if len(counts) < 2:
            raise InputError(
                f"fraction: expected a share that flips at least one of the {features} "
                f"features per sample (>= {0.5 / features:.3g}), got {self.fraction}"
            )
        fractions = counts / features
        replacement = structured_replacements(self.baseline, data.flat, data.names)
        if np.any(np.asarray(self.noise_std) > 0):
            replacement = self._noisy(data, replacement)
        curves = self.removal_curves(data, counts, replacement)
        ranks = relevance_ranks(data.feature_values(), self.absolute)
        split = data.features.split(ranks)
        return self.result(
            area_under_curve(curves, fractions),
            curves,
            {"fractions": fractions, "counts": counts, "ranks": data.pack(split)},
        )

    def _noisy(self, data: MetricInputs, replacement: list[np.ndarray]) -> list[np.ndarray]:
        """``replacement`` plus Gaussian noise of ``noise_std``, drawn once per element (one
        draw over the elements of all inputs, end to end in input order)."""
        refuse_integer_inputs(data.flat, data.names, self.name, "adds noise to flipped features")
        rng = np.random.default_rng(self.seed)
        sizes = [int(np.prod(x.shape[1:], dtype=np.int64)) for x in data.flat]
        draws = rng.standard_normal((len(data), sum(sizes)))
        bounds = np.cumsum([0, *sizes])
        out = []
        for index, (values, x) in enumerate(zip(replacement, data.flat, strict=True)):
            noise = np.asarray(self.noise_std, dtype=x.dtype)
            try:
                noise = np.broadcast_to(noise, x.shape)
            except ValueError:
                raise InputError(
                    "noise_std: expected a number or an array of one sample's shape "
                    f"{x.shape[1:]}, got shape {noise.shape}"
                    + ("" if len(data.flat) == 1 else f" (input {data.names[index]!r})")
                ) from None
            part = draws[:, bounds[index] : bounds[index + 1]].reshape(x.shape).astype(x.dtype)
            out.append(values + noise * part)
        return out
