"""Hook specifications: what a xaikit plugin may provide.

A plugin is any object (a module, a class, an instance) with one or more functions named
after these hooks and marked with :data:`xaikit.hookimpl`. Each hook takes no argument and
returns a mapping of names to objects. xaikit's own methods, operators and reducers are
registered through these same hooks (``xaikit.registry.builtins``).

Installed packages are discovered through the entry-point group ``xaikit``::

    [project.entry-points.xaikit]
    my_plugin = "my_package.plugin"
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pluggy

__all__ = ["hookspec", "hookimpl", "PROJECT"]

PROJECT = "xaikit"
hookspec = pluggy.HookspecMarker(PROJECT)
#: Marker for a plugin's hook implementations: ``@xaikit.hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def xaikit_methods() -> Mapping[str, Callable[..., Any]]:
    """Attribution methods, by name.

    Returns:
        name -> an :class:`~xaikit.Explainer` subclass, or any factory called as
        ``factory(model, **params)`` that returns an Explainer. ``get_explainer(name, model,
        **params)`` calls it.
    """


@hookspec
def xaikit_operators() -> Mapping[str, Callable[..., Any]]:
    """Operators, by name: callables ``(model, inputs (n, ...), targets (n, K)) -> (n,)``.

    Returns:
        name -> operator. See :mod:`xaikit.operators` for the optional ``validate`` and
        ``top_class_default`` attributes.
    """


@hookspec
def xaikit_reducers() -> Mapping[str, Callable[..., Any] | None]:
    """Reducers, by name: callables ``(N, ..., C) array -> (N, ...) array``.

    Returns:
        name -> reducer (None means "no reduction").
    """


@hookspec
def xaikit_metrics() -> Mapping[str, Callable[..., Any]]:
    """Explanation-quality metrics, by name.

    Returns:
        name -> a :class:`~xaikit.metrics.Metric` subclass or any factory called as
        ``factory(model, **params)``. ``get_metric(name, model, **params)`` calls it.
    """
