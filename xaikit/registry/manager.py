"""The :class:`Registry`: a pluggy plugin manager that tables methods, operators, reducers."""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import os
import types
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import pluggy

from ..errors import NameClashError, PluginError, PluginWarning, UnknownNameError
from . import hookspecs
from .hookspecs import PROJECT, hookimpl

__all__ = ["Entry", "Registry", "KINDS", "AUTOLOAD_ENV"]

#: Environment variable that turns entry-point discovery off when set to 1 / true / yes.
AUTOLOAD_ENV = "XAIKIT_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_PLUGIN = "xaikit"
#: Modules holding xaikit's own hook implementations, imported when a Registry is built.
BUILTIN_MODULES = ("xaikit.registry.builtins",)

#: kind -> (hook name, singular noun, whether None is an allowed value)
KINDS: dict[str, tuple[str, str, bool]] = {
    "methods": ("xaikit_methods", "method", False),
    "operators": ("xaikit_operators", "operator", False),
    "reducers": ("xaikit_reducers", "reducer", True),
    "metrics": ("xaikit_metrics", "metric", False),
}


@attrs.frozen
class Entry:
    """One registered object: its name, the object and the plugin that provides it."""

    name: str
    obj: Any
    plugin: str


def _autoload_default() -> bool:
    return os.environ.get(AUTOLOAD_ENV, "").strip().lower() not in {"1", "true", "yes"}


def _entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=PROJECT)


class Registry:
    """Methods, operators and reducers, collected from plugins through pluggy hooks.

    Args:
        autoload: discover installed plugins (entry-point group ``xaikit``) the first time a
            table is read. Default: on, unless ``XAIKIT_DISABLE_PLUGIN_AUTOLOAD=1``.
        entry_points: where discovery looks (a callable returning entry points); tests pass
            fakes here.
        builtins: register xaikit's own methods, operators and reducers (default True).
    """

    def __init__(
        self,
        *,
        autoload: bool | None = None,
        entry_points: Callable[[], Iterable[Any]] | None = None,
        builtins: bool = True,
    ) -> None:
        self._pm = pluggy.PluginManager(PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._autoload = _autoload_default() if autoload is None else autoload
        self._entry_points = entry_points or _entry_points
        self._discovered = False
        self._discovery_error: PluginError | None = None
        self._tables: dict[str, dict[str, Entry]] = {}
        self._wrappers: dict[int, str] = {}
        if builtins:
            for module in BUILTIN_MODULES:  # by name, as pytest loads its default plugins
                self.register(importlib.import_module(module), name=BUILTIN_PLUGIN)

    def add_hookspecs(self, module: Any) -> None:
        """Add hook specifications (a module or class of ``@hookspec`` functions)."""
        self._pm.add_hookspecs(module)

    # -------------------------------------------------------------- plugins
    def register(self, plugin: Any, name: str | None = None) -> str:
        """Register ``plugin`` and return its name.

        The plugin's hooks are called at once, so a malformed plugin or a name already taken
        by another plugin raises :class:`PluginError` here, and the plugin is not kept.
        """
        try:
            registered = self._pm.register(plugin, name=name)
        except ValueError as error:
            raise PluginError(f"plugin {name or plugin!r} cannot be registered: {error}") from None
        if registered is None:
            raise PluginError(f"plugin {name or plugin!r} is blocked and was not registered")
        try:
            self._tables.clear()
            self._build_all()
        except BaseException:
            self._pm.unregister(plugin)
            self._tables.clear()
            raise
        return registered

    def unregister(self, plugin: Any) -> None:
        """Remove a plugin, given the object, its name, or an object added by a decorator."""
        name = self._wrappers.pop(id(plugin), None)
        if name is not None:
            self._pm.unregister(name=name)
        elif isinstance(plugin, str):
            if self._pm.get_plugin(plugin) is None:
                raise PluginError(
                    f"plugin {plugin!r} is not registered; registered plugins: "
                    f"{', '.join(self.plugin_names())}"
                )
            self._pm.unregister(name=plugin)
        elif self._pm.is_registered(plugin):
            self._pm.unregister(plugin)
        else:
            raise PluginError(f"{plugin!r} is not a registered plugin")
        self._tables.clear()

    def add(self, kind: str, name: str, obj: Any) -> Any:
        """Register one object under ``name`` (what the ``register_*`` decorators use)."""
        hook_name = self._kind(kind)[0]
        plugin = types.SimpleNamespace(**{hook_name: hookimpl(lambda: {name: obj})})
        plugin_name = f"{PROJECT}.user.{kind}.{name}"
        self.register(plugin, name=plugin_name)
        self._wrappers[id(obj)] = plugin_name
        return obj

    def plugin_names(self) -> list[str]:
        """Names of all registered plugins (discovering installed ones first)."""
        self._discover()
        return sorted(name for name, _ in self._pm.list_name_plugin())

    def _discover(self) -> None:
        if self._discovery_error is not None:
            raise self._discovery_error
        if self._discovered or not self._autoload:
            return
        self._discovered = True
        for entry_point in self._entry_points():
            label = entry_point.name
            dist = getattr(getattr(entry_point, "dist", None), "name", None)
            where = f"{label!r} ({entry_point.value}" + (f", from {dist})" if dist else ")")
            if self._pm.get_plugin(label) is not None:
                continue
            try:
                plugin = entry_point.load()
            except Exception as error:  # noqa: BLE001 - any import failure skips the plugin
                warnings.warn(
                    f"xaikit: skipping plugin {where}: it failed to load: "
                    f"{type(error).__name__}: {error}",
                    PluginWarning,
                    stacklevel=3,
                )
                continue
            if self._pm.is_registered(plugin):  # already registered at run time
                continue
            try:
                self.register(plugin, name=label)
            except NameClashError as error:
                self._discovery_error = error
                raise
            except PluginError as error:
                warnings.warn(
                    f"xaikit: skipping plugin {where}: {error}", PluginWarning, stacklevel=3
                )

    # -------------------------------------------------------------- tables
    def _kind(self, kind: str) -> tuple[str, str, bool]:
        if kind not in KINDS:
            raise UnknownNameError(f"kind: expected one of {sorted(KINDS)}, got {kind!r}")
        return KINDS[kind]

    def _build_all(self) -> None:
        for kind in KINDS:
            self._table(kind)

    def _table(self, kind: str) -> dict[str, Entry]:
        if kind in self._tables:
            return self._tables[kind]
        hook_name, noun, none_ok = self._kind(kind)
        table: dict[str, Entry] = {}
        for impl in getattr(self._pm.hook, hook_name).get_hookimpls():  # registration order
            try:
                provided = impl.function()
            except Exception as error:
                raise PluginError(
                    f"plugin {impl.plugin_name!r}: hook {hook_name}() raised "
                    f"{type(error).__name__}: {error}"
                ) from error
            if not isinstance(provided, Mapping):
                raise PluginError(
                    f"plugin {impl.plugin_name!r}: hook {hook_name}() must return a mapping of "
                    f"name -> {noun}, got {type(provided).__name__}"
                )
            for name, obj in provided.items():
                if not isinstance(name, str) or not name:
                    raise PluginError(
                        f"plugin {impl.plugin_name!r}: {noun} names must be non-empty strings, "
                        f"got {name!r}"
                    )
                if not (callable(obj) or (obj is None and none_ok)):
                    raise PluginError(
                        f"plugin {impl.plugin_name!r}: {noun} {name!r} must be callable, "
                        f"got {type(obj).__name__}"
                    )
                if name in table:
                    raise NameClashError(
                        f"{noun} name {name!r} is claimed by both plugin "
                        f"{table[name].plugin!r} and plugin {impl.plugin_name!r}; "
                        "uninstall or unregister one of them"
                    )
                table[name] = Entry(name, obj, impl.plugin_name)
        self._tables[kind] = table
        return table

    def entries(self, kind: str) -> dict[str, Entry]:
        """Name -> :class:`Entry` for ``kind`` ('methods', 'operators', 'reducers', ...)."""
        self._discover()
        return dict(sorted(self._table(kind).items()))

    def name_of(self, kind: str, obj: Any) -> str | None:
        """The name ``obj`` is registered under in ``kind``, or None (the first, sorted)."""
        for name, entry in self.entries(kind).items():
            if entry.obj is obj:
                return name
        return None

    def names(self, kind: str) -> list[str]:
        """Sorted registered names of ``kind``."""
        return list(self.entries(kind))

    def get(self, kind: str, name: str, argument: str | None = None) -> Any:
        """The object registered as ``name``; an unknown name lists the known ones."""
        entries = self.entries(kind)
        if name in entries:
            return entries[name].obj
        noun = self._kind(kind)[1]
        close = difflib.get_close_matches(str(name), list(entries), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownNameError(
            f"{argument or noun}: unknown {noun} {name!r}{hint}; "
            f"known {kind}: {', '.join(entries) or '(none)'}"
        )
