"""xaikit's own methods, operators and reducers, registered through the public hooks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..methods import GuidedBackprop, IntegratedGradients, RandomBaselineIG, Saliency
from ..operators import BUILTIN_OPERATORS
from ..reducers import BUILTIN_REDUCERS
from .hookspecs import hookimpl


@hookimpl
def xaikit_methods() -> Mapping[str, Callable[..., Any]]:
    return {
        cls.name: cls for cls in (Saliency, GuidedBackprop, IntegratedGradients, RandomBaselineIG)
    }


@hookimpl
def xaikit_operators() -> Mapping[str, Callable[..., Any]]:
    return dict(BUILTIN_OPERATORS)


@hookimpl
def xaikit_reducers() -> Mapping[str, Callable[..., Any] | None]:
    return {**BUILTIN_REDUCERS, "none": None}


@hookimpl
def xaikit_metrics() -> Mapping[str, Callable[..., Any]]:
    from ..metrics import BUILTIN_METRICS

    return dict(BUILTIN_METRICS)
