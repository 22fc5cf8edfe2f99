"""The xaikit plugin: registers MC dropout (entry point ``xaikit_uncertainty``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import xaikit

from .mc_dropout import mc_dropout


@xaikit.hookimpl
def xaikit_methods() -> Mapping[str, Callable[..., Any]]:
    """'mc_dropout': a factory ``(model, method='saliency', passes=20, seed=None, ...)``."""
    return {"mc_dropout": mc_dropout}
