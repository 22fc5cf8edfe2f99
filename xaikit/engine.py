"""Compiled gradient kernels shared by all gradient-based methods.

Every kernel is a ``tf.function`` with an input signature whose batch dimension is dynamic,
traced once per (model, operator, sample shape) and reused for every call and every chunk
size: no retracing on small calls, no padding on the last chunk.

Inputs are one tensor, or a tuple of tensors for a model of several inputs (then the sample
shapes and dtypes come as tuples too). The kernels over attribution points (layers, path
integrals) are in :mod:`xaikit.point_kernels`.
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
    "run_on_replicas",
    "auto_batch_size",
]

# (points (n, ...), targets (n, K)) -> (gradients (n, ...), scores (n,))
GradientFn = Callable[[tf.Tensor, tf.Tensor], "tuple[tf.Tensor, tf.Tensor]"]


def _input_spec(sample_shape: Sequence[Any], dtype: Any) -> Any:
    """The inputs' TensorSpec, or a tuple of them when ``dtype`` is a tuple (several inputs)."""
    if isinstance(dtype, tuple):
        return tuple(
            tf.TensorSpec((None, *shape), d, name=f"input_{i}")
            for i, (shape, d) in enumerate(zip(sample_shape, dtype, strict=True))
        )
    return tf.TensorSpec((None, *sample_shape), dtype, name="inputs")


def _float(dtype: Any) -> tf.DType:
    """The float dtype of (possibly several) input dtypes: the targets' and scores' dtype."""
    if not isinstance(dtype, tuple):
        return dtype if tf.as_dtype(dtype).is_floating else tf.float32
    floats = [tf.as_dtype(d) for d in dtype if tf.as_dtype(d).is_floating]
    return floats[0] if floats else tf.float32


def _specs(sample_shape: Sequence[Any], num_outputs: int, dtype: Any) -> list:
    return [
        _input_spec(sample_shape, dtype),
        tf.TensorSpec((None, num_outputs), _float(dtype), name="targets"),
    ]


def _raw_gradients(model: Any, operator: Callable) -> GradientFn:
    def gradients(points: Any, targets: tf.Tensor) -> tuple[Any, tf.Tensor]:
        with tf.GradientTape() as tape:
            tape.watch(points)
            # a mixed-precision or float64 model may score in another dtype than its inputs
            scores = tf.cast(operator(model, points, targets), targets.dtype)
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
    model: Any,
    sample_shape: Sequence[Any],
    dtype: Any,
    pack: Callable[[list], Any] | None = None,
) -> Callable[[Any], tf.Tensor]:
    """Compiled ``inputs -> model outputs``, for choosing default targets.

    With several inputs (``dtype`` a tuple), the function takes their tuple and ``pack``
    turns it into the structure the model is called with.
    """

    def predict(points: Any) -> tf.Tensor:
        if isinstance(points, tuple):
            points = pack(list(points)) if pack is not None else list(points)
        return model_outputs(model, points)

    spec = _input_spec(sample_shape, dtype)
    return tf.function(predict, input_signature=[spec]).get_concrete_function()


def predict_in_chunks(
    kernels: KernelCache,
    model: Any,
    inputs: Any,
    batch_size: int,
    pack: Callable[[list], Any] | None = None,
    key: Any = None,
) -> np.ndarray:
    """Model outputs (N, K) for ``inputs`` (N, ...), ``batch_size`` samples at a time.

    ``inputs`` is one array, or a list of arrays (one per model input, in order) that
    ``pack`` turns into the model's call structure. The compiled predict function is cached
    in ``kernels`` (an explainer's or metric's own cache) under its input signature.
    """
    flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if len(flat) == 1 and pack is None:
        shape, dtype = tuple(flat[0].shape[1:]), tf.as_dtype(flat[0].dtype)
    else:
        shape = tuple(tuple(x.shape[1:]) for x in flat)
        dtype = tuple(tf.as_dtype(x.dtype) for x in flat)
        if len(flat) == 1:  # one input: the plain tensor, packed like the model takes it
            shape, dtype = shape[0], dtype[0]
    predict = kernels.get(
        ("predict", shape, dtype, key), lambda: predict_fn(model, shape, dtype, pack)
    )

    def rows(start: int) -> Any:
        parts = [tf.constant(x[start : start + batch_size]) for x in flat]
        return parts[0] if len(parts) == 1 else tuple(parts)

    return np.concatenate(
        [predict(rows(start)).numpy() for start in range(0, len(flat[0]), batch_size)]
    )


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
    if not sample_shape:
        return fallback
    dims = [int(d) for d in sample_shape if d is not None]
    if len(dims) != len(sample_shape):
        return fallback
    elements = 1
    for dim in dims:
        elements *= dim
    low, high = AUTO_BATCH_LIMITS
    rows = max(1, AUTO_CHUNK_ELEMENTS // max(elements, 1))
    return int(min(high, max(low, 1 << (rows.bit_length() - 1))))
