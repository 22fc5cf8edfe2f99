"""Kernel SHAP (Lundberg & Lee, 2017): Shapley values of segments by constrained weighted least
squares under the Shapley kernel.

The value of a coalition z of segments is ``v(z) = mean_b f(x where z, b elsewhere)`` over a
background set. Regressing v on the coalitions with the Shapley kernel weights, under the
constraint that the values sum to ``f(x) - v(empty)``, gives the Shapley values of v exactly
when every coalition is enumerated, and an estimate from sampled coalitions otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import tensorflow as tf

from xaikit.errors import InputError
from xaikit.validators import positive_int

from .base import Fit, SegmentExplainer
from .masking import Plan, all_coalitions, kernel_coalitions
from .surrogate import constrained_least_squares

__all__ = ["KernelShap", "check_background"]


def _as_background(value: Any) -> Any:
    if value is None or isinstance(value, np.ndarray):
        return value
    if isinstance(value, tf.Tensor):
        return value.numpy()
    return np.asarray(value) if isinstance(value, (list, tuple)) else value


def check_background(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: None, or a finite numeric array (B, ...) with B >= 1."""
    if value is None:
        return
    if not isinstance(value, np.ndarray):
        raise InputError(
            f"{attribute.name}: expected None or an array (B, ...) of background samples, "
            f"got {type(value).__name__}"
        )
    if value.dtype == object or not np.issubdtype(value.dtype, np.number):
        raise InputError(f"{attribute.name}: expected a numeric array, got dtype {value.dtype}")
    if value.ndim < 2 or len(value) == 0:
        raise InputError(
            f"{attribute.name}: expected an array (B, ...) of B >= 1 samples with a leading "
            f"sample axis, got shape {value.shape}"
        )
    if not np.all(np.isfinite(value)):
        raise InputError(f"{attribute.name}: expected finite values, got NaN or inf")


def _model_sample_shape(model: Any) -> tuple[int, ...] | None:
    """One sample's shape as the model declares it, None when unknown."""
    try:
        shape = tuple(model.inputs[0].shape[1:])
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    return shape if all(isinstance(d, int) for d in shape) else None


@attrs.frozen(kw_only=True)
class KernelShap(SegmentExplainer):
    """Kernel SHAP: Shapley values of segments, with the background set as the missing value.

    For sample x with M segments, a coalition z in {0, 1}^M keeps x where z = 1 and takes a
    background sample b where z = 0; its value ``v(z)`` is the mean explained score over the
    B background samples. The Shapley values phi (M,) minimise
    ``sum_z pi(z) (v(z) - v(0) - z . phi)^2`` subject to ``sum phi = f(x) - v(0)``, with the
    Shapley kernel ``pi(z) = (M - 1) / (C(M, |z|) |z| (M - |z|))``.

    When ``2**M - 2 <= num_samples`` every coalition is enumerated and the result is the
    exact Shapley value of v. Otherwise about ``num_samples`` coalitions are taken under the
    kernel: the sizes that carry most of its weight (1 and M - 1, then 2 and M - 2, ...) are
    enumerated while the budget allows, and the other sizes are sampled in complementary
    pairs (z and 1 - z); see :func:`~xaikit_perturb.masking.kernel_coalitions`.

    Args:
        background: (B, ...) background samples of the inputs' sample shape; None (default)
            means a single all-zero sample. v(0) is then the mean score over the background,
            ``E[f(background)]``. Cost grows linearly with B: summarise a large set (a
            random subset, k-means centres) before passing it.
        num_samples: coalitions per sample (default 2048); enumeration when all fit.
        segmentation, num_segments, compactness, seed: see
            :class:`~xaikit_perturb.base.SegmentExplainer`.
        batch_size, operator, reducer, strategy: see :class:`xaikit.Explainer`.

    Attributions have the inputs' shape. Each segment's Shapley value is divided evenly among
    its elements (with one segment per column of a table, each column holds its own value),
    so the attributions of a sample sum to ``f(x) - E[f(background)]`` up to rounding; the
    Explanation's ``convergence_delta`` records the difference. Cost: ``(S + 1) * B + 1``
    model evaluations per sample for S coalitions, ``batch_size`` rows at a time.
    """

    name = "kernel_shap"

    background: np.ndarray | None = attrs.field(
        default=None, converter=_as_background, validator=check_background, eq=False, repr=False
    )
    num_samples: int = attrs.field(default=2048, validator=positive_int)

    def __attrs_post_init__(self) -> None:
        expected = _model_sample_shape(self.model)
        if expected is not None and self.background is not None:
            self._check_background_shape(self.background, expected)

    @staticmethod
    def _check_background_shape(background: np.ndarray, sample_shape: tuple[int, ...]) -> None:
        got = background.shape
        if tuple(got[1:]) != tuple(sample_shape):
            raise InputError(
                f"background: expected an array (B, {', '.join(map(str, sample_shape))}) of "
                f"samples shaped like the inputs, got shape {got}"
            )

    def prepare(self, inputs: np.ndarray, targets: np.ndarray) -> Mapping[str, np.ndarray]:
        """Checks the background against the inputs, then segments them (see the base)."""
        if self.background is not None:
            self._check_background_shape(self.background, tuple(inputs.shape[1:]))
        return super().prepare(inputs, targets)

    def masks(self, rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
        """The empty coalition (weight 0: it gives v(0)), then the enumerated or sampled ones."""
        if 2**m - 2 <= self.num_samples:
            coalitions, weights = all_coalitions(m)
        else:
            coalitions, weights = kernel_coalitions(rng, m, self.num_samples)
        empty = np.zeros((1, m), dtype=bool)
        return np.concatenate([empty, coalitions]), np.concatenate([[0.0], weights])

    def background_samples(self, sample_shape: tuple[int, ...], dtype: tf.DType) -> tf.Tensor:
        """The background samples (B, *sample_shape); one zero sample by default."""
        if self.background is None:
            return tf.zeros((1, *sample_shape), dtype)
        return tf.constant(self.background, dtype)

    def fit(self, plan: Plan, values: np.ndarray, scores: np.ndarray, valid: np.ndarray) -> Fit:
        """Shapley values (n, M) summing to ``f(x) - v(0)``, divided among the elements."""
        base = values[:, 0]  # row 0 is the empty coalition
        phi = constrained_least_squares(
            plan.masks,
            values - base[:, None],
            plan.weights * plan.active,
            valid,
            scores - base,
        )
        return Fit(phi, per_element=True, baseline_scores=base)
