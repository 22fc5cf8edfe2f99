"""Guided Grad-CAM: guided backpropagation weighted by the Grad-CAM map.

Selvaraju et al. (2017) combine a fine-grained but class-agnostic map with a coarse but
class-discriminative one: the guided-backpropagation gradient ``G`` (n, H, W, C) of the
explained score with respect to the input, multiplied element-wise by the Grad-CAM map ``M``
(n, H, W) upsampled to the input's height and width (repeated over the C channels):

    attributions = G * M[..., None]

The method composes two explainers of the same model, each with its own compiled kernel:
:class:`xaikit.GuidedBackprop` (ReLU gradients guided) and :class:`~xaikit_cam.GradCAM`
(plain gradients at the chosen convolutional layer, as in the paper). Both are called per
chunk through ``run_batch``.
"""

from __future__ import annotations

from typing import Any

import attrs
import tensorflow as tf

from xaikit import BatchResult, Capabilities, Explainer, GuidedBackprop

from .gradcam import GradCAM

__all__ = ["GuidedGradCAM"]


def _check_images(self: GuidedGradCAM) -> None:
    """Refuse a model of another data kind under this method's own name (the parts' defaults
    are built before the ``model`` validator runs)."""
    try:
        shape = tuple(self.model.inputs[0].shape[1:])
    except (AttributeError, IndexError, TypeError, ValueError):  # subclassed: known later
        return
    self.check_data(shape, "model")


def _gradcam(self: GuidedGradCAM) -> GradCAM:
    _check_images(self)
    return GradCAM(
        self.model,
        layer=self.layer,
        batch_size=self.batch_size,
        operator=self.operator,
        reducer=None,
    )


def _guided(self: GuidedGradCAM) -> GuidedBackprop:
    return GuidedBackprop(
        self.model, batch_size=self.batch_size, operator=self.operator, reducer=None
    )


@attrs.frozen(kw_only=True)
class GuidedGradCAM(Explainer):
    """Guided Grad-CAM (Selvaraju et al., 2017) for convolutional image models.

    Args:
        model: a Keras image model, inputs (N, H, W, C), with ReLU-family activations for
            guided backpropagation to guide.
        layer: name of the convolutional layer of the Grad-CAM map (searched in nested
            models too); None (default) picks the last layer with a 4-D output.
        reducer: default None: signed attributions (N, H, W, C), like guided backprop.
        batch_size, operator, strategy: see :class:`xaikit.Explainer`.

    Attributions: ``guided_backprop(x) * gradcam_map(x)``, (N, H, W, C), the map repeated
    over the channels; scores are the operator's at the inputs.

    Raises:
        InputError: at construction, a model without image inputs or without the layer.
        NoGuidableActivationError: at construction, a model with no activation to guide.
    """

    name = "guided_gradcam"
    capabilities = Capabilities(data=("image",))

    layer: str | None = attrs.field(default=None)
    #: The Grad-CAM explainer of the same model, layer and operator (channels kept).
    gradcam: GradCAM = attrs.field(
        init=False, default=attrs.Factory(_gradcam, takes_self=True), repr=False, eq=False
    )
    #: The guided-backpropagation explainer of the same model and operator.
    guided: GuidedBackprop = attrs.field(
        init=False, default=attrs.Factory(_guided, takes_self=True), repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        self.resolved_reducer()  # refuse an unknown reducer name now, not at explain time

    def conv_layer(self) -> Any:
        """The Keras layer whose activations weight the Grad-CAM map."""
        return self.gradcam.conv_layer()

    def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> BatchResult:
        """Guided gradients (n, H, W, C) times the Grad-CAM map (n, H, W, C repeated)."""
        cam = self.gradcam.run_batch(inputs, targets)
        guided = self.guided.run_batch(inputs, targets, need_scores=False)
        return BatchResult(guided.attributions * cam.attributions, scores=cam.scores)
