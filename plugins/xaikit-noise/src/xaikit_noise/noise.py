"""Reproducible Gaussian noise, drawn per (sample, draw) from per-sample seeds.

Each sample of an ``explain`` call gets a seed pair when the call starts (from
``numpy.random.default_rng(seed)``). The noise of draw ``k`` of that sample is
``stateless_normal(fold_in(sample_seed, k))``: it depends on the sample's seed and ``k`` only,
never on which rows happen to share a chunk. So results do not depend on ``batch_size`` and
any subset of the noisy copies can be built alone, which is what keeps memory bounded.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

__all__ = ["SEED_LIMIT", "draw_seeds", "standard_normal", "noise_scale"]

#: Seed pairs are drawn below 2**31: they reach the compiled noise as int32 (``prepare``
#: hands integer arrays to ``explain_batch`` exactly, in their own dtype).
SEED_LIMIT = 2**31 - 1


def draw_seeds(n: int, seed: int | None) -> np.ndarray:
    """(n, 2) int64 seed pairs in [0, SEED_LIMIT), one per sample, from ``default_rng(seed)``."""
    return np.random.default_rng(seed).integers(0, SEED_LIMIT, size=(n, 2), dtype=np.int64)


@tf.function(
    input_signature=[
        tf.TensorSpec((None, 2), tf.int32, name="seeds"),
        tf.TensorSpec((None,), tf.int32, name="draws"),
        tf.TensorSpec((None,), tf.int32, name="sample_shape"),
    ]
)
def _standard_normal(seeds: tf.Tensor, draws: tf.Tensor, sample_shape: tf.Tensor) -> tf.Tensor:
    def one(args: tuple[tf.Tensor, tf.Tensor]) -> tf.Tensor:
        seed, draw = args
        row_seed = tf.random.experimental.stateless_fold_in(seed, draw)
        return tf.random.stateless_normal(sample_shape, row_seed, dtype=tf.float32)

    # One row at a time inside the graph: each row has its own seed (pfor has no converter
    # for the stateless random ops, so vectorized_map would fall back to this loop anyway).
    return tf.map_fn(one, (seeds, draws), fn_output_signature=tf.float32)


def standard_normal(
    seeds: tf.Tensor | np.ndarray, draws: tf.Tensor | np.ndarray, sample_shape: tuple[int, ...]
) -> tf.Tensor:
    """Standard normal noise (rows, *sample_shape), float32.

    Args:
        seeds: (rows, 2) integer seed pair of each row's sample (see :func:`draw_seeds`).
        draws: (rows,) integer index of each row's draw (0 .. n_samples - 1).
        sample_shape: shape of one sample.

    Row ``r`` depends only on ``(seeds[r], draws[r])``.
    """
    seeds = tf.cast(seeds, tf.int32)
    draws = tf.cast(draws, tf.int32)
    return _standard_normal(seeds, draws, tf.constant(sample_shape, tf.int32))


def noise_scale(inputs: tf.Tensor, noise: float) -> tf.Tensor:
    """(n,) standard deviation of each sample's noise: ``noise * (max(x_i) - min(x_i))``."""
    axes = list(range(1, inputs.shape.rank))
    spread = tf.reduce_max(inputs, axis=axes) - tf.reduce_min(inputs, axis=axes)
    return tf.cast(noise, inputs.dtype) * spread
