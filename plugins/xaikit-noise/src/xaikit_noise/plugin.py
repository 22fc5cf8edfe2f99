"""The xaikit plugin: registers the noise wrappers (entry point ``xaikit_noise``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import xaikit

from .factories import smoothgrad, squaregrad, vargrad


@xaikit.hookimpl
def xaikit_methods() -> Mapping[str, Callable[..., Any]]:
    """'smoothgrad', 'vargrad', 'squaregrad': factories ``(model, method='saliency', ...)``."""
    return {"smoothgrad": smoothgrad, "vargrad": vargrad, "squaregrad": squaregrad}
