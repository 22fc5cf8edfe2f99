"""What LIME and Kernel SHAP share: segments, per-sample seeds, masks and their evaluation.

:class:`SegmentExplainer` implements the Explainer hooks once:

1. ``prepare`` segments all N samples (:func:`~xaikit_perturb.segments.segment`) and draws one
   seed per sample, so a sample's masks depend on the seed and its index only, never on
   ``batch_size``;
2. ``explain_batch`` asks the method for each sample's masks (:meth:`SegmentExplainer.masks`),
   scores every active mask over the method's background in one compiled call
   (:func:`~xaikit_perturb.masking.masked_scores_fn`), lets the method fit one value per
   segment (:meth:`SegmentExplainer.fit`) and spreads the values back onto the elements.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np
import tensorflow as tf

from xaikit import BatchResult, Capabilities, Explainer
from xaikit.validators import optional, positive_int, positive_number, seed

from .masking import Plan, masked_scores_fn, stack_plans
from .segments import check_segmentation, segment, segment_counts, spread

__all__ = ["SegmentExplainer", "Fit", "SEED_LIMIT"]

#: Per-sample seeds are drawn below this bound (they travel as int64).
SEED_LIMIT = 2**62


@attrs.frozen
class Fit:
    """A method's per-segment result for a chunk.

    Attributes:
        values: (n, M) one value per segment (0 past a sample's own segments).
        per_element: True to divide each segment's value among its elements (the
            attributions then sum to the values' sum); False to give every element its
            segment's value.
        baseline_scores: (n,) reference scores, when the values should sum to
            ``scores - baseline_scores`` (recorded as the Explanation's convergence delta).
    """

    values: np.ndarray
    per_element: bool = False
    baseline_scores: np.ndarray | None = None


@attrs.frozen(kw_only=True)
class SegmentExplainer(Explainer):
    """Base of perturbation surrogates over segments (abstract).

    Args:
        segmentation: how elements are grouped: ``"auto"`` (default: one segment per column
            of a table, time windows of a sequence, SLIC superpixels of an image), ``"slic"``
            (images), ``"grid"`` (blocks of columns, windows, or a grid of image cells), an
            integer label array of one sample's shape (or without the channel axis), or a
            callable ``sample -> labels``. See :mod:`xaikit_perturb.segments`.
        num_segments: how many segments to aim for; None (default): every column of a table,
            ``min(T, 16)`` windows of a sequence, 50 superpixels or 64 grid cells of an image.
        compactness: SLIC's trade-off of colour against space on images scaled to [0, 1]
            (default 0.3; higher gives squarer superpixels).
        seed: seed of the per-sample random draws; None (default) draws afresh on each call.
            For a given seed, sample i of a call gets the same masks whatever ``batch_size``.
        batch_size: how many masked copies are scored at once (bounds memory); also how many
            samples share one compiled call.
        operator, reducer, strategy: see :class:`xaikit.Explainer`.
    """

    capabilities: ClassVar[Capabilities] = Capabilities(
        data=("tabular", "sequence", "image"), seed="seed"
    )

    segmentation: Any = attrs.field(default="auto", validator=check_segmentation, eq=False)
    num_segments: int | None = attrs.field(default=None, validator=optional(positive_int))
    compactness: float = attrs.field(default=0.3, validator=positive_number)
    seed: int | None = attrs.field(default=None, validator=seed)

    # ------------------------------------------------------------------ what a method provides
    @abc.abstractmethod
    def masks(self, rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray]:
        """One sample's masks over its m segments: ``(masks (S, m) bool, weights (S,))``."""

    @abc.abstractmethod
    def background_samples(self, sample_shape: tuple[int, ...], dtype: tf.DType) -> tf.Tensor:
        """(B, *sample_shape) what switched-off segments are replaced by."""

    @abc.abstractmethod
    def fit(self, plan: Plan, values: np.ndarray, scores: np.ndarray, valid: np.ndarray) -> Fit:
        """Per-segment values from the scores of the masked copies.

        Args:
            plan: the chunk's masks, weights and active rows (n, S, M).
            values: (n, S) float64 mean score of each masked copy (0 on inactive rows).
            scores: (n,) float64 scores of the inputs.
            valid: (n, M) bool, each sample's real segments.
        """

    # ------------------------------------------------------------------ the Explainer hooks
    def prepare(self, inputs: np.ndarray, targets: np.ndarray) -> Mapping[str, np.ndarray]:
        """Segment labels (N, ...) int32 and one int64 seed per sample (N,)."""
        labels = segment(inputs, self.segmentation, self.num_segments, self.compactness)
        seeds = np.random.default_rng(self.seed).integers(0, SEED_LIMIT, size=len(inputs))
        return {"labels": labels, "seeds": seeds}

    def explain_batch(
        self, inputs: tf.Tensor, targets: tf.Tensor, labels: tf.Tensor, seeds: tf.Tensor
    ) -> BatchResult:
        """Attributions (n, ...) of n samples from their masked copies."""
        shape = tuple(int(d) for d in inputs.shape[1:])
        labels_np = labels.numpy()
        n = len(labels_np)
        counts_m = labels_np.reshape(n, -1).max(axis=1) + 1
        width = int(counts_m.max())
        plan = stack_plans(
            [
                self.masks(np.random.default_rng(int(s)), int(m))
                for s, m in zip(seeds.numpy(), counts_m, strict=True)
            ],
            width,
        )
        owner, row = np.nonzero(plan.active)
        kernel = self.compiled("perturb/masked", masked_scores_fn, inputs, targets)
        flat_values, scores = kernel(
            inputs,
            targets,
            tf.cast(labels, tf.int32),
            tf.constant(plan.masks[owner, row]),
            tf.constant(owner.astype(np.int32)),
            self.background_samples(shape, inputs.dtype),
            tf.constant(self.batch_size, tf.int32),
        )
        values = np.zeros(plan.active.shape)
        values[owner, row] = flat_values.numpy()
        valid = np.arange(width)[None, :] < counts_m[:, None]
        fit = self.fit(plan, values, scores.numpy().astype(np.float64), valid)
        per_segment = fit.values
        if fit.per_element:
            per_segment = per_segment / np.maximum(segment_counts(labels_np, width), 1)
        attributions = spread(per_segment, labels_np)
        base = fit.baseline_scores
        return BatchResult(
            tf.constant(attributions, inputs.dtype),
            scores=scores,
            baseline_scores=None if base is None else tf.constant(base, inputs.dtype),
        )
