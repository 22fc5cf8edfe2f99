"""The xaikit plugin: registers occlusion (entry point ``xaikit_occlusion``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import xaikit

from .occlusion import Occlusion


@xaikit.hookimpl
def xaikit_methods() -> Mapping[str, Callable[..., Any]]:
    """'occlusion': the :class:`~xaikit_occlusion.Occlusion` class, built from the model."""
    return {Occlusion.name: Occlusion}
