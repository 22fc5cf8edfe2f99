"""The object the entry point names: one @xaikit.hookimpl per kind of thing provided."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import xaikit

from .method import InputXGradient


@xaikit.hookimpl
def xaikit_methods() -> Mapping[str, Callable[..., Any]]:
    """name -> Explainer subclass (or any factory called as ``factory(model, **params)``)."""
    return {InputXGradient.name: InputXGradient}


# Operators and reducers are provided the same way:
#
# @xaikit.hookimpl
# def xaikit_operators() -> Mapping[str, Callable[..., Any]]:
#     return {"my_operator": my_operator}      # (model, inputs, targets) -> scores (n,)
#
# @xaikit.hookimpl
# def xaikit_reducers() -> Mapping[str, Callable[..., Any]]:
#     return {"my_reducer": my_reducer}        # (N, ..., C) array -> (N, ...) array
