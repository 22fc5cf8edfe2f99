"""xaikit-cam: Grad-CAM, Grad-CAM++ and Guided Grad-CAM for convolutional Keras image models.

::

    import xaikit
    from xaikit_cam import GradCAM

    maps = GradCAM(model, layer="block5_conv3").explain(images, labels).attributions  # (N, H, W)
    maps = xaikit.get_explainer("gradcam_plus_plus", model).explain(images).attributions
"""

from .gradcam import GradCAM, GradCAMPlusPlus, gradcam_plus_plus_weights, gradcam_weights
from .guided import GuidedGradCAM
from .layers import find_layer, leaf_layers, record_outputs

__all__ = [
    "GradCAM",
    "GradCAMPlusPlus",
    "GuidedGradCAM",
    "gradcam_weights",
    "gradcam_plus_plus_weights",
    "find_layer",
    "leaf_layers",
    "record_outputs",
]
