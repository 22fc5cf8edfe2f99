"""The xaikit plugin: registers Gradient SHAP (entry point ``xaikit_shap``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import xaikit

from .gradient_shap import GradientShap


@xaikit.hookimpl
def xaikit_methods() -> Mapping[str, Callable[..., Any]]:
    """'gradient_shap': an Explainer class taking the model."""
    return {GradientShap.name: GradientShap}
