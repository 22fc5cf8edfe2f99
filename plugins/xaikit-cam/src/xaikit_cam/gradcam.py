"""Grad-CAM and Grad-CAM++: class activation maps from a convolutional layer's gradients.

For activations ``A`` (n, h, w, K) of a convolutional layer and the explained score ``S``,

* Grad-CAM (Selvaraju et al., 2017) weights channel k by the spatial mean of its gradient,
  ``w_k = mean_ij dS/dA_ijk``;
* Grad-CAM++ (Chattopadhay et al., 2018) weights it by ``w_k = sum_ij a_ijk relu(g_ijk)`` with
  ``g = dS/dA`` and ``a_ijk = g_ijk^2 / (2 g_ijk^2 + sum_ab A_abk g_ijk^3)`` (0 where the
  denominator is 0), the closed form of the paper for an exponential output;

and the map is ``relu(sum_k w_k A_..k)`` (n, h, w), resized bilinearly to the inputs' height
and width.

The Explainer contract is that ``explain_batch`` returns attributions of the inputs' shape, so
the (n, H, W) map is repeated over the C input channels: (n, H, W, C). The default reducer,
'mean', folds it back to (N, H, W) exactly; ``reducer=None`` keeps the repeated channels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import tensorflow as tf

from xaikit import BatchResult, Capabilities, Explainer
from xaikit.errors import InputError

from .layers import find_layer, record_outputs

__all__ = ["GradCAM", "GradCAMPlusPlus", "gradcam_weights", "gradcam_plus_plus_weights"]


def gradcam_weights(activations: tf.Tensor, gradients: tf.Tensor) -> tf.Tensor:
    """Grad-CAM channel weights (n, K): the spatial mean of the gradients (n, h, w, K)."""
    return tf.reduce_mean(gradients, axis=[1, 2])


def gradcam_plus_plus_weights(activations: tf.Tensor, gradients: tf.Tensor) -> tf.Tensor:
    """Grad-CAM++ channel weights (n, K) from activations and gradients (n, h, w, K)."""
    squared = tf.square(gradients)
    total = tf.reduce_sum(activations, axis=[1, 2], keepdims=True)
    denominator = 2.0 * squared + total * squared * gradients
    safe = tf.where(denominator != 0.0, denominator, tf.ones_like(denominator))
    alpha = tf.where(denominator != 0.0, squared / safe, tf.zeros_like(squared))
    return tf.reduce_sum(alpha * tf.nn.relu(gradients), axis=[1, 2])


def _check_layer_name(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise InputError(f"layer: expected a layer name or None, got {type(value).__name__}")


@attrs.frozen(kw_only=True)
class GradCAM(Explainer):
    """Grad-CAM (Selvaraju et al., 2017) for convolutional image models.

    Args:
        model: a Keras image model, inputs (N, H, W, C).
        layer: name of the convolutional layer whose activations are weighted (searched in
            nested models too); None (default) picks the last layer with a 4-D output.
        reducer: default 'mean': attributions (N, H, W). The map is the same for every input
            channel, so ``reducer=None`` gives (N, H, W, C) with C equal copies.
        batch_size, operator, strategy: see :class:`xaikit.Explainer`.

    The map is ``relu(sum_k w_k A_k)`` upsampled bilinearly to (H, W); it is not normalized.

    Raises:
        InputError: at construction, a model without image inputs or without the layer.
    """

    name = "gradcam"
    capabilities = Capabilities(data=("image",))

    #: Channel weights (n, K) from (activations, gradients), both (n, h, w, K).
    weights: ClassVar[Callable[..., tf.Tensor]] = staticmethod(gradcam_weights)

    reducer: Any = attrs.field(default="mean")
    layer: str | None = attrs.field(default=None, validator=_check_layer_name)

    def __attrs_post_init__(self) -> None:
        self.resolved_reducer()  # refuse an unknown reducer name now
        self.conv_layer()  # refuse a missing layer now, not at explain time

    def conv_layer(self) -> Any:
        """The Keras layer whose activations are explained."""
        return find_layer(self.model, self.layer)

    def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> BatchResult:
        """The class activation maps of n images (n, H, W, C), channels repeated."""
        cam, scores = self.compiled("cam", self.build_cam, inputs, targets)(inputs, targets)
        return BatchResult(cam, scores=scores)

    def build_cam(
        self, model: Any, operator: Any, sample_shape: tuple, num_outputs: int, dtype: tf.DType
    ) -> Any:
        """Compiled ``(inputs, targets) -> (maps (n, H, W, C), scores (n,))``."""
        layer = self.conv_layer()
        height, width, channels = sample_shape
        weigh = type(self).weights

        def cam(inputs: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            with record_outputs(layer) as recorded, tf.GradientTape() as tape:
                tape.watch(inputs)
                scores = operator(model, inputs, targets)
            if len(recorded) != 1:
                raise InputError(
                    f"layer: {layer.name!r} ran {len(recorded)} times in one forward pass; "
                    "Grad-CAM needs a layer that runs exactly once (not a shared layer)"
                )
            activations = recorded[0]
            if activations.shape.rank != 4:
                raise InputError(
                    f"layer: {layer.name!r} outputs shape {tuple(activations.shape)}; Grad-CAM "
                    "needs a 4-D output (N, h, w, channels)"
                )
            gradients = tape.gradient(
                scores, activations, unconnected_gradients=tf.UnconnectedGradients.ZERO
            )
            channel_weights = weigh(activations, gradients)[:, None, None, :]
            low = tf.nn.relu(tf.reduce_sum(channel_weights * activations, axis=-1))
            high = tf.image.resize(low[..., None], (height, width), method="bilinear")
            maps = tf.repeat(tf.cast(high, dtype), channels, axis=-1)
            return maps, scores

        specs = [
            tf.TensorSpec((None, *sample_shape), dtype, name="inputs"),
            tf.TensorSpec((None, num_outputs), dtype, name="targets"),
        ]
        return tf.function(cam, input_signature=specs).get_concrete_function()


@attrs.frozen(kw_only=True)
class GradCAMPlusPlus(GradCAM):
    """Grad-CAM++ (Chattopadhay et al., 2018): Grad-CAM with pixel-weighted channel weights.

    Same parameters as :class:`GradCAM`; only the channel weights differ
    (:func:`gradcam_plus_plus_weights`).
    """

    name = "gradcam_plus_plus"

    weights = staticmethod(gradcam_plus_plus_weights)
