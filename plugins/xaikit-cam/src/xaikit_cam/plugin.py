"""The xaikit plugin: registers Grad-CAM, Grad-CAM++ and Guided Grad-CAM (entry point
``xaikit_cam``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import xaikit

from .gradcam import GradCAM, GradCAMPlusPlus
from .guided import GuidedGradCAM


@xaikit.hookimpl
def xaikit_methods() -> Mapping[str, Callable[..., Any]]:
    """'gradcam', 'gradcam_plus_plus', 'guided_gradcam': Explainer classes taking the model."""
    return {
        GradCAM.name: GradCAM,
        GradCAMPlusPlus.name: GradCAMPlusPlus,
        GuidedGradCAM.name: GuidedGradCAM,
    }
