"""Seeded dropout switched on inside a Keras model, and always switched off again.

MC dropout needs the model's dropout layers to drop while everything else (BatchNorm above
all) stays in inference mode, so calling the model with ``training=True`` is not an option.
Instead, :func:`active_dropout` shadows the ``call`` of every dropout-family layer (in nested
models and inside other layers too) with a function that always applies the layer's noise,
drawn with *stateless* random ops from a seed held in a ``tf.Variable``. A kernel traced
inside the context reads that variable at run time, so one compiled kernel serves every pass:
assigning a new seed draws new masks, and the same seed draws the same masks again.

Masks are drawn with a batch axis of 1: one mask per layer per pass, shared by every row of
the batch. A pass is thus one thinned network evaluated on all samples, which makes results
independent of how samples are chunked (``batch_size``) and keeps path methods consistent
(all points of an integrated-gradients path see the same network).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

import keras
import tensorflow as tf

__all__ = ["DROPOUT_LAYERS", "dropout_layers", "active_dropout", "DropoutRecord"]

#: The dropout family: SpatialDropout1D/2D/3D are Dropout subclasses.
DROPOUT_LAYERS: tuple[type, ...] = (
    keras.layers.Dropout,
    keras.layers.GaussianDropout,
    keras.layers.AlphaDropout,
)

# SELU's constants, which AlphaDropout keeps the mean and variance of.
_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _walk(layer: Any) -> Iterator[Any]:
    """``layer`` and every layer inside it: nested models and layers held by layers."""
    flatten = getattr(layer, "_flatten_layers", None)  # Keras' own recursive walk
    if flatten is not None:
        yield from flatten(include_self=True, recursive=True)
        return
    seen: set[int] = set()
    stack = [layer]
    while stack:
        current = stack.pop()
        if id(current) not in seen:
            seen.add(id(current))
            yield current
            stack.extend(getattr(current, "layers", []))


def dropout_layers(model: Any) -> list[Any]:
    """The dropout-family layers of ``model`` that drop something (``rate > 0``), in a fixed
    order (Keras' layer walk), each once."""
    found, seen = [], set()
    for layer in _walk(model):
        rate = float(getattr(layer, "rate", 0.0) or 0.0)
        if isinstance(layer, DROPOUT_LAYERS) and rate > 0 and id(layer) not in seen:
            seen.add(id(layer))
            found.append(layer)
    return found


class DropoutRecord:
    """How often the patched layers were called (traced or run eagerly) inside a context."""

    def __init__(self, layers: list[Any]) -> None:
        self.layers = layers
        self.calls = 0


def _noise_shape(layer: Any, inputs: tf.Tensor) -> tf.Tensor:
    """The shape of the layer's noise for ``inputs``, with a batch axis of 1: (rank,) int32."""
    dynamic = tf.shape(inputs)
    spatial = getattr(layer, "_get_noise_shape", None)  # SpatialDropout*: one value per map
    if spatial is not None:
        dims = list(spatial(inputs))
    elif getattr(layer, "noise_shape", None) is not None:
        dims = [dynamic[i] if d is None else d for i, d in enumerate(layer.noise_shape)]
    else:
        dims = [dynamic[i] for i in range(inputs.shape.rank)]
    dims[0] = 1
    return tf.stack([tf.cast(d, tf.int32) for d in dims])


def _apply_noise(layer: Any, inputs: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """What ``layer`` does in training mode, with noise drawn from ``seed`` (2,)."""
    rate = float(layer.rate)
    shape = _noise_shape(layer, inputs)
    dtype = inputs.dtype
    if isinstance(layer, keras.layers.GaussianDropout):
        stddev = math.sqrt(rate / (1.0 - rate))
        noise = tf.random.stateless_normal(shape, seed, mean=1.0, stddev=stddev)
        return inputs * tf.cast(noise, dtype)
    keep = tf.cast(tf.random.stateless_uniform(shape, seed) >= rate, dtype)
    if isinstance(layer, keras.layers.AlphaDropout):
        dropped = -_SELU_ALPHA * _SELU_SCALE  # the value SELU saturates at
        a = ((1.0 - rate) * (1.0 + rate * dropped**2)) ** -0.5
        b = -a * dropped * rate
        return tf.cast(a, dtype) * (inputs * keep + tf.cast(dropped, dtype) * (1 - keep)) + b
    return inputs * keep * tf.cast(1.0 / (1.0 - rate), dtype)


def _patched_call(
    layer: Any, index: int, seed: tf.Variable, record: DropoutRecord
) -> Callable[..., tf.Tensor]:
    def call(inputs: Any, *args: Any, training: Any = None, **kwargs: Any) -> tf.Tensor:
        record.calls += 1
        x = tf.convert_to_tensor(inputs)
        layer_seed = tf.random.experimental.stateless_fold_in(seed.read_value(), index)
        return _apply_noise(layer, x, layer_seed)

    return call


@contextlib.contextmanager
def active_dropout(model: Any, seed: tf.Variable) -> Iterator[DropoutRecord]:
    """Inside the context, every dropout layer of ``model`` drops, seeded by ``seed``.

    Args:
        model: the Keras model (nested models and layers inside layers are walked).
        seed: an int64 ``tf.Variable`` of shape (2,). Layer ``i`` (in :func:`dropout_layers`
            order) draws its noise from ``stateless_fold_in(seed, i)`` when it runs, so a
            kernel traced in the context follows later assignments to ``seed``.

    Yields:
        A :class:`DropoutRecord` of the patched layers and how often they were called.

    Each layer's ``call`` is shadowed on the instance and the shadow removed in a ``finally``
    block: the model is unchanged afterwards, even when the body raises. Nothing else changes;
    BatchNorm and every other layer keep running in inference mode.
    """
    layers = dropout_layers(model)
    record = DropoutRecord(layers)
    undo: list[tuple[Any, Any, bool]] = []
    try:
        for index, layer in enumerate(layers):
            shadowed = "call" in vars(layer)
            undo.append((layer, vars(layer).get("call"), shadowed))
            layer.call = _patched_call(layer, index, seed, record)
        yield record
    finally:
        for layer, old, shadowed in reversed(undo):
            if shadowed:
                layer.call = old
            else:
                del layer.__dict__["call"]
