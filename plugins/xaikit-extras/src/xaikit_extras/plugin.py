"""The xaikit plugin: registers the operator and reducers (entry point ``xaikit_extras``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import xaikit

from .operators import margin
from .reducers import abs_sum, signed_absmax


@xaikit.hookimpl
def xaikit_operators() -> Mapping[str, Callable[..., Any]]:
    """'margin': target score minus the best other class."""
    return {"margin": margin}


@xaikit.hookimpl
def xaikit_reducers() -> Mapping[str, Callable[..., Any]]:
    """'signed_absmax' and 'abs_sum'."""
    return {"signed_absmax": signed_absmax, "abs_sum": abs_sum}
