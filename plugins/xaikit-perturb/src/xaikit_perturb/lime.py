"""LIME (Ribeiro, Singh & Guestrin, 2016): a weighted linear surrogate fitted around each sample.

For each sample, ``num_samples`` masks switch random segments off (to ``baseline``); the model
scores every masked copy; a ridge regression of the scores on the masks, weighted by how
close each mask is to the unmasked sample, gives one weight per segment. Each element of the
attributions carries its segment's weight.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import tensorflow as tf

from xaikit.errors import InputError
from xaikit.validators import non_negative, one_of, positive_int, positive_number

from .base import Fit, SegmentExplainer
from .masking import Plan, uniform_masks
from .surrogate import weighted_ridge

__all__ = ["Lime", "check_baseline", "lime_kernel"]


def check_baseline(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: a finite number or a numeric array (broadcast to one sample later)."""
    array = np.asarray(value)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise InputError(
            f"{attribute.name}: expected a number or a numeric array, got {type(value).__name__}"
        )
    if not np.all(np.isfinite(array)):
        raise InputError(f"{attribute.name}: expected finite values, got NaN or inf")


def lime_kernel(masks: np.ndarray, valid: np.ndarray, distance: str, width: float) -> np.ndarray:
    """Proximity of each mask to the unmasked sample: ``exp(-d^2 / (2 width^2))``.

    ``d`` is, with k of the sample's m segments kept, the cosine distance of the mask to the
    all-ones mask, ``1 - sqrt(k / m)`` (1 for the empty mask), or the L2 distance scaled by
    the mask's length, ``sqrt((m - k) / m)``. Both lie in [0, 1].

    Args:
        masks: (n, S, M) bool; valid: (n, M) bool, the real segments of each sample.
        distance: ``"cosine"`` or ``"l2"``; width: the kernel width > 0.

    Returns:
        (n, S) float64 weights in (0, 1].
    """
    m = valid.sum(axis=1)[:, None].astype(np.float64)
    kept = (masks & valid[:, None, :]).sum(axis=2) / m
    d = 1.0 - np.sqrt(kept) if distance == "cosine" else np.sqrt(1.0 - kept)
    return np.exp(-(d**2) / (2.0 * width**2))


@attrs.frozen(kw_only=True)
class Lime(SegmentExplainer):
    """LIME: one ridge-regression weight per segment, fitted on randomly masked copies.

    For sample x with M segments, ``num_samples`` masks z in {0, 1}^M are drawn (the first is
    all ones, the others uniform random bits); the masked copy keeps x where z = 1 and takes
    ``baseline`` where z = 0. With the explained score y(z) of each copy and the proximity
    ``pi(z) = exp(-d(z)^2 / (2 kernel_width^2))``, the weights w minimise
    ``sum_z pi(z) (y(z) - c - z . w)^2 + ridge * |w|^2``. Every element gets its segment's w.

    Args:
        num_samples: masks per sample, the unmasked one included (default 1000).
        kernel_width: width of the proximity kernel, on distances in [0, 1] (default 0.25).
        distance: ``"cosine"`` (default) or ``"l2"`` distance of a mask to the all-ones mask
            (see :func:`lime_kernel`).
        ridge: L2 penalty on the segment weights (default 1.0); the proximity weights are at
            most 1 each, so it matters less as ``num_samples`` grows. 0 gives plain weighted
            least squares.
        baseline: what switched-off segments become: a number (default 0.0) or an array
            broadcastable to one sample's shape (e.g. per-feature means of training data).
        evidence: ``"all"`` (default) keeps every weight; ``"pro"`` keeps only positive
            weights (segments that raise the score) and ``"con"`` only negative ones
            (segments that lower it, kept negative), zeroing the rest, as the pro / con maps
            of AUCMEDI.
        segmentation, num_segments, compactness, seed: see
            :class:`~xaikit_perturb.base.SegmentExplainer`.
        batch_size, operator, reducer, strategy: see :class:`xaikit.Explainer`.

    Attributions have the inputs' shape. Cost: ``num_samples + 1`` model evaluations per
    sample, ``batch_size`` rows at a time.
    """

    name = "lime"

    num_samples: int = attrs.field(default=1000, validator=positive_int)
    kernel_width: float = attrs.field(default=0.25, validator=positive_number)
    distance: str = attrs.field(default="cosine", validator=one_of("cosine", "l2"))
    ridge: float = attrs.field(default=1.0, validator=non_negative)
    baseline: Any = attrs.field(default=0.0, validator=check_baseline, eq=False)
    evidence: str = attrs.field(default="all", validator=one_of("all", "pro", "con"))

    def masks(self, rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
        """``num_samples`` masks (all ones first); weights are set in :meth:`fit`."""
        return uniform_masks(rng, m, self.num_samples), np.ones(self.num_samples)

    def background_samples(self, sample_shape: tuple[int, ...], dtype: tf.DType) -> tf.Tensor:
        """The baseline as one background sample (1, *sample_shape)."""
        array = np.asarray(self.baseline)
        try:
            full = np.broadcast_to(array, sample_shape)
        except ValueError:
            raise InputError(
                f"baseline: expected a number or an array broadcastable to one sample's shape "
                f"{sample_shape}, got shape {array.shape}"
            ) from None
        return tf.constant(full[None], dtype)

    def fit(self, plan: Plan, values: np.ndarray, scores: np.ndarray, valid: np.ndarray) -> Fit:
        """Ridge weights (n, M), filtered by ``evidence``."""
        proximity = lime_kernel(plan.masks, valid, self.distance, self.kernel_width)
        weights = proximity * plan.weights * plan.active
        beta, _ = weighted_ridge(plan.masks, values, weights, valid, self.ridge)
        if self.evidence == "pro":
            beta = np.maximum(beta, 0.0)
        elif self.evidence == "con":
            beta = np.minimum(beta, 0.0)
        return Fit(beta)
