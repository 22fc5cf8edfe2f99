"""Compiled gradient kernels shared by all gradient-based methods.

Every kernel is a ``tf.function`` with an input signature whose batch dimension is dynamic,
traced once per (model, operator, sample shape) and reused for every call and every chunk
size: no retracing on small calls, no padding on the last chunk.

The path kernel evaluates integrated-gradients-style integrals for n samples, R baselines per
sample and S path points. The n x R x S (sample, baseline, point) triples are flattened into
rows and processed in chunks of ``chunk`` rows inside one ``tf.while_loop``; each chunk's
weighted gradients are added to a running sum of shape (n, ...). Peak memory is therefore
O(chunk x sample size) + O(n x sample size), whatever S and R are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from .kernels import KernelCache
from .model import model_outputs

__all__ = [
    "GradientFn",
    "gradient_fn",
    "forward_fn",
    "predict_fn",
    "predict_in_chunks",
    "path_fn",
    "run_on_replicas",
    "auto_batch_size",
]

# (points (n, ...), targets (n, K)) -> (gradients (n, ...), scores (n,))
GradientFn = Callable[[tf.Tensor, tf.Tensor], "tuple[tf.Tensor, tf.Tensor]"]


def _specs(sample_shape: Sequence[int], num_outputs: int, dtype: tf.DType) -> list:
    return [
        tf.TensorSpec((None, *sample_shape), dtype, name="inputs"),
        tf.TensorSpec((None, num_outputs), dtype, name="targets"),
    ]


def _raw_gradients(model: Any, operator: Callable) -> GradientFn:
    def gradients(points: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            tape.watch(points)
            # a mixed-precision or float64 model may score in another dtype than its inputs
            scores = tf.cast(operator(model, points, targets), points.dtype)
        grads = tape.gradient(scores, points, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return grads, scores

    return gradients


def gradient_fn(
    model: Any, operator: Callable, sample_shape: Sequence[int], num_outputs: int, dtype: tf.DType
) -> GradientFn:
    """Compiled ``(inputs, targets) -> (d score / d inputs, score)`` for a batch of any size.

    The function is traced now, so code that changes the model for tracing (guided
    backpropagation) only has to hold its change while this function runs.
    """
    fn = tf.function(
        _raw_gradients(model, operator), input_signature=_specs(sample_shape, num_outputs, dtype)
    )
    return fn.get_concrete_function()


def forward_fn(
    model: Any, operator: Callable, sample_shape: Sequence[int], num_outputs: int, dtype: tf.DType
) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """Compiled ``(inputs, targets) -> scores (n,)``, forward pass only."""

    def scores(points: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        return operator(model, points, targets)

    fn = tf.function(scores, input_signature=_specs(sample_shape, num_outputs, dtype))
    return fn.get_concrete_function()


def predict_fn(
    model: Any, sample_shape: Sequence[int], dtype: tf.DType
) -> Callable[[tf.Tensor], tf.Tensor]:
    """Compiled ``inputs -> model outputs``, for choosing default targets."""

    def predict(points: tf.Tensor) -> tf.Tensor:
        return model_outputs(model, points)

    spec = tf.TensorSpec((None, *sample_shape), dtype, name="inputs")
    return tf.function(predict, input_signature=[spec]).get_concrete_function()


def predict_in_chunks(
    kernels: KernelCache, model: Any, inputs: np.ndarray, batch_size: int
) -> np.ndarray:
    """Model outputs (N, K) for ``inputs`` (N, ...), ``batch_size`` samples at a time.

    The compiled predict function is cached in ``kernels`` (an explainer's or metric's own
    cache) under its input signature.
    """
    predict = kernels.get(
        ("predict", inputs.shape[1:], inputs.dtype),
        lambda: predict_fn(model, inputs.shape[1:], tf.as_dtype(inputs.dtype)),
    )
    return np.concatenate(
        [
            predict(tf.constant(inputs[start : start + batch_size])).numpy()
            for start in range(0, len(inputs), batch_size)
        ]
    )


def path_fn(
    model: Any, operator: Callable, sample_shape: Sequence[int], num_outputs: int, dtype: tf.DType
) -> Callable[..., tuple[tf.Tensor, tf.Tensor, tf.Tensor]]:
    """Compiled path integral over straight lines from baselines to inputs.

    The returned function takes

    * ``inputs`` (n, ...), ``baselines`` (n, R, ...), ``targets`` (n, K),
    * ``alphas`` and ``weights`` (S,): the quadrature rule (weights summing to 1),
    * ``chunk``: an int32 scalar, the number of rows evaluated at once,

    and returns ``(attributions, start_scores, end_scores)``:

    * attributions (n, ...) = mean over r of (x - b_r) * sum_k w_k grad f(b_r + a_k (x - b_r)),
    * start_scores (n,): mean over r of f(b_r), summed over rows where alpha == 0 (zero if the
      rule has no such node), and end_scores (n,): f(x) likewise from rows where alpha == 1.
    """
    gradients = _raw_gradients(model, operator)
    rank = len(sample_shape)

    def integrate(inputs, baselines, targets, alphas, weights, chunk):
        n = tf.shape(inputs)[0]
        runs = tf.shape(baselines)[1]
        steps = tf.size(alphas)
        per_sample = runs * steps
        total = n * per_sample
        inv_runs = 1.0 / tf.cast(runs, dtype)
        expand = [-1] + [1] * rank

        def body(start, acc, start_sum, end_sum):
            rows = tf.range(start, tf.minimum(start + chunk, total))
            sample = rows // per_sample
            run = (rows // steps) % runs
            point = rows % steps
            x = tf.gather(inputs, sample)
            base = tf.gather_nd(baselines, tf.stack([sample, run], axis=1))
            delta = x - base
            alpha = tf.gather(alphas, point)
            # b + a (x - b): exactly b at a = 0; at a = 1 the inputs themselves, exactly
            at_end = tf.reshape(tf.equal(alpha, 1.0), expand)
            points = tf.where(at_end, x, base + tf.reshape(alpha, expand) * delta)
            grads, scores = gradients(points, tf.gather(targets, sample))
            weight = tf.reshape(tf.gather(weights, point) * inv_runs, expand)
            acc += tf.math.unsorted_segment_sum(weight * delta * grads, sample, n)
            scores = scores * inv_runs
            zero = tf.cast(tf.equal(alpha, 0.0), dtype)
            one = tf.cast(tf.equal(alpha, 1.0), dtype)
            start_sum += tf.math.unsorted_segment_sum(scores * zero, sample, n)
            end_sum += tf.math.unsorted_segment_sum(scores * one, sample, n)
            return start + chunk, acc, start_sum, end_sum

        zeros_n = tf.zeros([n], dtype)
        _, acc, start_sum, end_sum = tf.while_loop(
            lambda start, *_: start < total,
            body,
            (tf.constant(0), tf.zeros_like(inputs), zeros_n, zeros_n),
            parallel_iterations=1,
        )
        return acc, start_sum, end_sum

    specs = [
        tf.TensorSpec((None, *sample_shape), dtype, name="inputs"),
        tf.TensorSpec((None, None, *sample_shape), dtype, name="baselines"),
        tf.TensorSpec((None, num_outputs), dtype, name="targets"),
        tf.TensorSpec((None,), dtype, name="alphas"),
        tf.TensorSpec((None,), dtype, name="weights"),
        tf.TensorSpec((), tf.int32, name="chunk"),
    ]
    return tf.function(integrate, input_signature=specs).get_concrete_function()


def run_on_replicas(
    strategy: tf.distribute.Strategy, fn: Callable[..., tuple], *tensors: tf.Tensor
) -> tuple[tf.Tensor, ...]:
    """Split ``tensors`` by rows over the strategy's replicas, run ``fn`` on each part.

    ``fn(*parts)`` returns a tuple of tensors whose leading axis follows the rows; the
    replicas' outputs are concatenated back in row order. With fewer rows than replicas the
    call runs on the current device only.
    """
    replicas = strategy.num_replicas_in_sync
    rows = int(tensors[0].shape[0])
    if replicas == 1 or rows < replicas:
        return fn(*tensors)
    sizes = [rows // replicas + (1 if i < rows % replicas else 0) for i in range(replicas)]
    parts = [tf.split(tensor, sizes) for tensor in tensors]
    values = strategy.experimental_distribute_values_from_function(
        lambda context: tuple(part[context.replica_id_in_sync_group] for part in parts)
    )
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # eager strategy.run warns on every call; the cost is known
    try:
        outputs = strategy.run(lambda args: fn(*args), args=(values,))
    finally:
        logger.setLevel(level)
    return tuple(
        tf.concat(strategy.experimental_local_results(output), axis=0) for output in outputs
    )


#: Input elements per chunk that the automatic ``batch_size`` aims at (4 MiB of float32).
AUTO_CHUNK_ELEMENTS = 2**20
AUTO_BATCH_LIMITS = (16, 1024)


def auto_batch_size(sample_shape: Sequence[int | None] | None, fallback: int = 64) -> int:
    """The default chunk size for samples of ``sample_shape`` (without the batch axis).

    The largest power of two whose chunk holds at most ``AUTO_CHUNK_ELEMENTS`` input
    elements, clamped to ``AUTO_BATCH_LIMITS``: 1024 rows for tables, 64 for 64x64x3
    images, 16 for 224x224x3 images. Small models gain from large chunks (less per-chunk
    overhead), large inputs need small ones (activation memory grows with rows x sample
    size); see benchmarks/RESULTS.md for the measurements behind it. ``fallback`` is used
    when the shape is unknown.
    """
    if not sample_shape or any(d is None for d in sample_shape):
        return fallback
    elements = 1
    for dim in sample_shape:
        elements *= int(dim)
    low, high = AUTO_BATCH_LIMITS
    rows = max(1, AUTO_CHUNK_ELEMENTS // max(elements, 1))
    return int(min(high, max(low, 1 << (rows.bit_length() - 1))))
