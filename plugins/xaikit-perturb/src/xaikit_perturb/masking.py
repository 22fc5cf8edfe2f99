"""Masks over segments, and the one compiled function that scores masked copies of samples.

A *mask* is a row of booleans over a sample's M segments: True keeps the segment from the
sample, False replaces it by a background sample. LIME draws uniform random masks; Kernel
SHAP enumerates and samples coalitions under the Shapley kernel. Both then need
``v(z) = mean over background b of f(x where z, b elsewhere)`` for many masks z of many
samples: :func:`masked_scores_fn` computes that for every (mask, background) pair in chunks of
``batch_size`` rows inside one compiled ``tf.while_loop``, so the model only ever sees full
batches and memory is bounded by ``batch_size`` whatever the number of masks.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import tensorflow as tf

__all__ = [
    "Plan",
    "stack_plans",
    "uniform_masks",
    "all_coalitions",
    "kernel_coalitions",
    "masked_scores_fn",
]


@attrs.frozen
class Plan:
    """The masks of a chunk of n samples, padded to S rows and M segments.

    Attributes:
        masks: (n, S, M) bool, True where a row keeps the segment from the sample. Segments
            past a sample's own count are False and never matter.
        weights: (n, S) float64 weight of each row in the regression (0 for padding rows and
            for rows only used for a reference value).
        active: (n, S) bool, the rows to evaluate (False for padding).
    """

    masks: np.ndarray
    weights: np.ndarray
    active: np.ndarray


def stack_plans(rows: Sequence[tuple[np.ndarray, np.ndarray]], width: int) -> Plan:
    """Pad the per-sample ``(masks (S_i, M_i), weights (S_i,))`` into one :class:`Plan`.

    Args:
        rows: one pair per sample.
        width: M, at least the largest M_i.
    """
    depth = max(len(masks) for masks, _ in rows)
    n = len(rows)
    masks = np.zeros((n, depth, width), dtype=bool)
    weights = np.zeros((n, depth))
    active = np.zeros((n, depth), dtype=bool)
    for i, (sample_masks, sample_weights) in enumerate(rows):
        s, m = sample_masks.shape
        masks[i, :s, :m] = sample_masks
        weights[i, :s] = sample_weights
        active[i, :s] = True
    return Plan(masks, weights, active)


def uniform_masks(rng: np.random.Generator, m: int, rows: int) -> np.ndarray:
    """(rows, m) bool: the all-True mask (the sample itself) first, then uniform random bits."""
    masks = rng.random((rows, m)) < 0.5
    masks[0] = True
    return masks


@functools.lru_cache(maxsize=32)
def all_coalitions(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Every coalition of m segments but the empty and the full one, with its Shapley kernel
    weight ``(m - 1) / (C(m, k) k (m - k))`` for a coalition of k members.

    Returns:
        ``(masks (2**m - 2, m) bool, weights (2**m - 2,) float64)``, read-only.
    """
    codes = np.arange(1, 2**m - 1, dtype=np.int64)
    masks = ((codes[:, None] >> np.arange(m)) & 1).astype(bool)
    sizes = masks.sum(axis=1)
    binom = np.array([math.comb(m, k) for k in range(m + 1)], dtype=np.float64)
    weights = (m - 1) / (binom[sizes] * sizes * (m - sizes))
    masks.setflags(write=False)
    weights.setflags(write=False)
    return masks, weights


@functools.lru_cache(maxsize=256)
def _subsets(m: int, size: int) -> np.ndarray:
    """(C(m, size), m) bool: every coalition of ``size`` members (read-only, cached)."""
    members = np.array(list(itertools.combinations(range(m), size)), dtype=np.intp)
    masks = np.zeros((math.comb(m, size), m), dtype=bool)
    np.put_along_axis(masks, members.reshape(len(masks), size), True, axis=1)
    masks.setflags(write=False)
    return masks


def kernel_coalitions(
    rng: np.random.Generator, m: int, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """About ``count`` coalitions of m >= 2 segments under the Shapley kernel, with weights.

    The kernel puts total weight ``(m - 1) / (k (m - k))`` on the coalitions of size k, most
    of it on the smallest and largest sizes. Sizes are taken in pairs (k, m - k) from the
    outside in: while the budget left, shared out in proportion to the kernel weight, would
    draw at least as many coalitions of a pair as it has, the pair is enumerated outright and
    each of its coalitions carries its own kernel weight. The sizes that remain are sampled:
    a size with probability proportional to its kernel weight, members uniformly, and every
    draw followed by its complement; these rows share the remaining kernel weight equally.

    Returns:
        ``(masks (S, m) bool, weights (S,) float64)`` with S about ``count``.
    """
    mass = {k: (m - 1) / (k * (m - k)) for k in range(1, m)}
    budget, left = float(count), sum(mass.values())
    masks, weights = [], []
    groups = [sorted({k, m - k}) for k in range(1, m // 2 + 1)]
    while groups:
        group = groups[0]
        size = sum(math.comb(m, k) for k in group)
        share = sum(mass[k] for k in group)
        if size > budget * share / left:
            break
        for k in group:
            masks.append(_subsets(m, k))
            weights.append(np.full(math.comb(m, k), mass[k] / math.comb(m, k)))
        budget, left = budget - size, left - share
        groups.pop(0)
    pairs = -(-int(budget) // 2) if groups else 0
    if pairs:
        sizes = np.array([k for group in groups for k in group])
        p = np.array([mass[k] for k in sizes])
        drawn_sizes = rng.choice(sizes, size=pairs, p=p / p.sum())
        ranks = np.argsort(np.argsort(rng.random((pairs, m)), axis=1), axis=1)
        drawn = ranks < drawn_sizes[:, None]
        masks += [drawn, ~drawn]
        weights.append(np.full(2 * pairs, left / (2 * pairs)))
    return np.concatenate(masks), np.concatenate(weights)


def masked_scores_fn(
    model: Any, operator: Any, sample_shape: Sequence[int], outputs: int, dtype: tf.DType
) -> Any:
    """Compiled mean score of masked copies, for :meth:`xaikit.Explainer.compiled`.

    The returned function takes ``inputs`` (n, ...), ``targets`` (n, K), ``labels`` (n, ...)
    int32 segment labels, ``masks`` (R, M) bool, ``owner`` (R,) int32 (the sample of each
    mask), ``background`` (B, ...) and ``chunk`` (rows evaluated at once), and returns
    ``(values (R,), scores (n,))``: ``values[r]`` is the mean over the B background samples
    of the operator's score of sample ``owner[r]`` with its segments switched off by
    ``masks[r]`` replaced by that background sample, and ``scores`` are the scores of the
    inputs themselves. The R x B copies are built and scored ``chunk`` at a time.
    """

    def run(inputs, targets, labels, masks, owner, background, chunk):
        scores = tf.cast(operator(model, inputs, targets), dtype)
        rows = tf.shape(masks)[0]
        per_row = tf.shape(background)[0]
        total = rows * per_row
        steps = (total + chunk - 1) // chunk

        def body(step, out):
            flat = tf.range(step * chunk, tf.minimum(step * chunk + chunk, total))
            row = flat // per_row
            who = tf.gather(owner, row)
            keep = tf.gather(tf.gather(masks, row), tf.gather(labels, who), batch_dims=1)
            copies = tf.where(keep, tf.gather(inputs, who), tf.gather(background, flat % per_row))
            score = tf.cast(operator(model, copies, tf.gather(targets, who)), dtype)
            return step + 1, out.write(step, score)

        _, out = tf.while_loop(
            lambda step, _: step < steps,
            body,
            (
                tf.constant(0),
                tf.TensorArray(dtype, size=steps, element_shape=[None], infer_shape=False),
            ),
            parallel_iterations=1,
        )
        values = tf.reduce_mean(tf.reshape(out.concat(), [rows, per_row]), axis=1)
        return values, scores

    specs = [
        tf.TensorSpec((None, *sample_shape), dtype, name="inputs"),
        tf.TensorSpec((None, outputs), dtype, name="targets"),
        tf.TensorSpec((None, *sample_shape), tf.int32, name="labels"),
        tf.TensorSpec((None, None), tf.bool, name="masks"),
        tf.TensorSpec((None,), tf.int32, name="owner"),
        tf.TensorSpec((None, *sample_shape), dtype, name="background"),
        tf.TensorSpec((), tf.int32, name="chunk"),
    ]
    return tf.function(run, input_signature=specs).get_concrete_function()
