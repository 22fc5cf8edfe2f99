"""The xaikit plugin: registers lime and kernel_shap (entry point ``xaikit_perturb``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import xaikit

from .kernel_shap import KernelShap
from .lime import Lime


@xaikit.hookimpl
def xaikit_methods() -> Mapping[str, Callable[..., Any]]:
    """'lime' and 'kernel_shap': Explainer classes built from the model."""
    return {Lime.name: Lime, KernelShap.name: KernelShap}
