"""Guided backpropagation, implemented by swapping ReLU-family activations in Keras 3."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import keras
import tensorflow as tf

from .._activations import iter_layers, swap_activations
from ..errors import NoGuidableActivationError
from ..explainer import BatchResult, as_flat
from .gradient import GradientMethod

__all__ = ["GuidedBackprop", "guided", "count_guidable"]

_RELU_FAMILY = {
    id(fn)
    for fn in (
        keras.activations.relu,
        keras.activations.relu6,
        keras.activations.leaky_relu,
        keras.ops.relu,
        keras.ops.relu6,
        keras.ops.leaky_relu,
        tf.nn.relu,
        tf.nn.relu6,
        tf.nn.leaky_relu,
    )
}
_RELU_LAYERS = (keras.layers.ReLU, keras.layers.LeakyReLU)


def guided(activation: Callable[[tf.Tensor], tf.Tensor]) -> Callable[[tf.Tensor], tf.Tensor]:
    """``activation`` with a guided gradient: ``relu(upstream) * activation'(x)``.

    The forward value is unchanged. Backwards, only the positive part of the incoming
    gradient passes, times the activation's own derivative (0/1 for ReLU, the clipping of
    ReLU6, the slope of a leaky ReLU).
    """

    @tf.custom_gradient
    def guided_activation(x: tf.Tensor) -> Any:
        y = activation(x)

        def gradient(upstream: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                tape.watch(x)
                local = activation(x)
            return tf.nn.relu(upstream) * tape.gradient(local, x)

        return y, gradient

    return guided_activation


def _select(layer: keras.layers.Layer, fn: Callable) -> Callable | None:
    if isinstance(layer, _RELU_LAYERS) or id(fn) in _RELU_FAMILY:
        return guided(fn)
    return None


def count_guidable(model: Any) -> int:
    """How many layers of ``model`` apply a ReLU-family activation that can be guided."""
    return sum(
        isinstance(layer, _RELU_LAYERS)
        or (
            not isinstance(layer, keras.Model)
            and id(getattr(layer, "activation", None)) in _RELU_FAMILY
        )
        for layer in iter_layers(model)
    )


def _check_guidable(instance: Any, attribute: attrs.Attribute, model: Any) -> None:
    if count_guidable(model) == 0:
        raise NoGuidableActivationError(
            "model: guided backpropagation found no ReLU-family activation to guide (no "
            "ReLU/LeakyReLU layer, no layer with activation relu, relu6 or leaky_relu). A model "
            "that calls tf.nn.relu inside its own call() cannot be guided; plain gradients "
            "would be returned instead, so xaikit refuses. Use Saliency for plain gradients."
        )


@attrs.frozen(kw_only=True)
class GuidedBackprop(GradientMethod):
    """Guided backpropagation (Springenberg et al., 2015).

    The gradient of the explained score where, at every ReLU-family activation (ReLU, ReLU6,
    leaky ReLU, as layers or as a layer's ``activation``, in nested models too), only the
    positive part of the incoming gradient flows back. The model is changed only while the
    gradient kernel is compiled and is restored afterwards, even on error. Attributions are
    signed, of the inputs' shape (no reducer by default).

    Raises:
        NoGuidableActivationError: at construction, if the model has no activation to guide.
    """

    name = "guided_backprop"

    def __attrs_post_init__(self) -> None:
        _check_guidable(self, attrs.fields(type(self)).model, self.model)
        super().__attrs_post_init__()

    @contextlib.contextmanager
    def tracing_context(self) -> Iterator[None]:
        with swap_activations(self.model, _select) as swapped:
            if swapped == 0:  # the model changed since construction
                _check_guidable(self, attrs.fields(type(self)).model, self.model)
            yield

    def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> BatchResult:
        grads, scores = self.point_gradients(inputs, targets)
        return BatchResult(self.pack_slots(grads, len(as_flat(inputs))), scores=scores)
