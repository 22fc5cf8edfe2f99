"""The xaikit plugin: registers Grad-CAM and Grad-CAM++ (entry point ``xaikit_cam``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import xaikit

from .gradcam import GradCAM, GradCAMPlusPlus


@xaikit.hookimpl
def xaikit_methods() -> Mapping[str, Callable[..., Any]]:
    """'gradcam' and 'gradcam_plus_plus': Explainer classes taking the model."""
    return {GradCAM.name: GradCAM, GradCAMPlusPlus.name: GradCAMPlusPlus}
