"""The 'margin' operator: how far the target class leads the best other class.

An operator is a callable ``(model, inputs (n, ...), targets (n, K)) -> scores (n,)`` that
runs inside xaikit's compiled kernels, so it is written with TensorFlow ops.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from xaikit import model_outputs
from xaikit.errors import InputError

__all__ = ["margin"]


def _validate(model: Any) -> None:
    outputs: list[Any] = list(getattr(model, "outputs", None) or [])
    width = outputs[0].shape[-1] if len(outputs) == 1 else None
    if width is not None and (len(outputs[0].shape) != 2 or width < 2):
        raise InputError(
            "operator: 'margin' compares the target class with the other classes, so it needs a "
            f"model with at least 2 outputs (N, K >= 2), got outputs of shape "
            f"{tuple(outputs[0].shape)}"
        )


def margin(model: Any, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """Target score minus the best score among the other classes, (n,).

    ``margin = sum_k t_k y_k - max_{j : t_j = 0} y_j`` for model outputs ``y`` (n, K) and
    target weights ``t`` (one-hot rows for class indices). Positive when the target class is
    the top one. A row whose weights are all non-zero has no "other" class: its margin is the
    weighted score alone. The model's outputs are used as they are (probabilities for a
    softmax model).
    """
    outputs = model_outputs(model, inputs)
    weights = tf.cast(targets, outputs.dtype)
    target = tf.reduce_sum(outputs * weights, axis=-1)
    other = tf.equal(weights, 0.0)
    lowest = tf.constant(outputs.dtype.min, outputs.dtype)
    best_other = tf.reduce_max(tf.where(other, outputs, lowest), axis=-1)
    has_other = tf.reduce_any(other, axis=-1)
    return target - tf.where(has_other, best_other, tf.zeros_like(best_other))


margin.validate = _validate  # type: ignore[attr-defined]
