"""The plugin registry: one table of methods, operators and reducers, filled through hooks.

Most users need only the functions re-exported by :mod:`xaikit`: :func:`get_explainer`,
:func:`list_methods`, :func:`list_operators`, :func:`list_reducers`,
:func:`register_plugin`, :func:`unregister_plugin` and the ``register_*`` decorators.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, overload

import attrs

from ..errors import InputError
from ..operators import checked
from .hookspecs import hookimpl, hookspec
from .manager import AUTOLOAD_ENV, KINDS, Entry, Registry

__all__ = [
    "AUTOLOAD_ENV",
    "KINDS",
    "Entry",
    "Registry",
    "hookimpl",
    "hookspec",
    "get_registry",
    "use_registry",
    "get_explainer",
    "list_methods",
    "list_operators",
    "list_reducers",
    "list_metrics",
    "get_metric",
    "register_metric",
    "register_plugin",
    "unregister_plugin",
    "register_method",
    "register_operator",
    "register_reducer",
    "name_of",
    "resolve_operator",
    "resolve_reducer",
]

T = TypeVar("T")
_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry (created on first use)."""
    global _registry
    if _registry is None:
        _registry = Registry()
    return _registry


@contextlib.contextmanager
def use_registry(registry: Registry) -> Iterator[Registry]:
    """Make ``registry`` the process-wide one inside the context (for tests and sandboxes)."""
    global _registry
    previous, _registry = _registry, registry
    try:
        yield registry
    finally:
        _registry = previous


def _check_params(kind: str, name: str, factory: Any, params: dict[str, Any]) -> None:
    """Refuse parameters an attrs class does not take, listing those it does."""
    if not (isinstance(factory, type) and attrs.has(factory)):
        return
    accepted = [f.alias for f in attrs.fields(factory) if f.init and f.name != "model"]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        close = difflib.get_close_matches(unknown[0], accepted, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InputError(
            f"params: {kind} {name!r} takes {', '.join(accepted) or 'no parameters'}; "
            f"got unknown parameter(s) {', '.join(map(repr, unknown))}{hint}"
        )


def get_explainer(name: str, model: Any, **params: Any) -> Any:
    """Build the explainer registered as ``name``: ``factory(model, **params)``.

    Raises:
        UnknownNameError: no method of that name (the message lists the known ones).
        InputError: a parameter the method does not take, or a bad parameter value.
    """
    factory = get_registry().get("methods", name, argument="name")
    _check_params("method", name, factory, params)
    return factory(model, **params)


def list_methods() -> list[str]:
    """Names of the registered attribution methods, sorted."""
    return get_registry().names("methods")


def list_operators() -> list[str]:
    """Names of the registered operators, sorted."""
    return get_registry().names("operators")


def list_reducers() -> list[str]:
    """Names of the registered reducers, sorted."""
    return get_registry().names("reducers")


def list_metrics() -> list[str]:
    """Names of the registered explanation-quality metrics, sorted."""
    return get_registry().names("metrics")


def get_metric(name: str, model: Any, **params: Any) -> Any:
    """Build the metric registered as ``name``: ``factory(model, **params)``.

    Raises:
        UnknownNameError: no metric of that name (the message lists the known ones).
    """
    factory = get_registry().get("metrics", name, argument="name")
    _check_params("metric", name, factory, params)
    return factory(model, **params)


def register_plugin(plugin: Any, name: str | None = None) -> str:
    """Register a plugin object (module, class or instance with ``@hookimpl`` functions).

    Returns:
        The plugin's name, usable with :func:`unregister_plugin`.

    Raises:
        PluginError: a malformed hook result, or a name another plugin already provides.
    """
    return get_registry().register(plugin, name=name)


def unregister_plugin(plugin: Any) -> None:
    """Remove a plugin: the object, its name, or a class / function added by a decorator."""
    get_registry().unregister(plugin)


def _decorator(kind: str, name: str | Callable | None) -> Any:
    def register(obj: T) -> T:
        own = vars(obj).get("name") if isinstance(obj, type) else getattr(obj, "name", None)
        key = name if isinstance(name, str) else own or obj.__name__  # type: ignore[attr-defined]
        return get_registry().add(kind, key, obj)  # the object itself is left as it is

    if callable(name):  # used bare: @register_method
        return register(name)
    return register


@overload
def register_method(name: str | None = None) -> Callable[[T], T]: ...
@overload
def register_method(name: T) -> T: ...
def register_method(name: Any = None) -> Any:
    """Decorator registering an Explainer subclass or factory as a method.

    ``@register_method("name")``, or bare ``@register_method`` to use the class's ``name``
    attribute (else its ``__name__``).
    """
    return _decorator("methods", name)


def register_operator(name: Any = None) -> Any:
    """Decorator registering an operator ``(model, inputs, targets) -> scores (n,)``."""
    return _decorator("operators", name)


def register_reducer(name: Any = None) -> Any:
    """Decorator registering a reducer ``(N, ..., C) -> (N, ...)``."""
    return _decorator("reducers", name)


def register_metric(name: Any = None) -> Any:
    """Decorator registering a metric class or factory ``(model, **params) -> Metric``."""
    return _decorator("metrics", name)


def name_of(obj: Any, kind: str = "methods") -> str | None:
    """The name ``obj`` (a method class or factory, an operator, ...) is registered under."""
    return get_registry().name_of(kind, obj)


def resolve_operator(operator: Any) -> Callable:
    """An operator callable from a registered name or a callable.

    The callable is wrapped to check, when traced, that it returns scores of shape (n,).
    """
    if callable(operator):
        return checked(operator)
    if isinstance(operator, str):
        return checked(get_registry().get("operators", operator, argument="operator"))
    raise InputError(
        f"operator: expected a registered name or a callable, got {type(operator).__name__}"
    )


def resolve_reducer(reducer: Any) -> Callable | None:
    """A reducer callable (or None) from a registered name, a callable or None."""
    if reducer is None or callable(reducer):
        return reducer
    if isinstance(reducer, str):
        return get_registry().get("reducers", reducer, argument="reducer")
    raise InputError(
        f"reducer: expected a registered name, a callable or None, got {type(reducer).__name__}"
    )
