"""The pluggy registry: built-ins, run-time plugins, entry-point discovery, clashes, isolation.

Every test works on a fresh :class:`xaikit.registry.Registry` installed with
:func:`xaikit.registry.use_registry`, so nothing leaks into the process-wide registry.
"""

from __future__ import annotations

import inspect
import types
import warnings
from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np
import pytest
import tensorflow as tf
from _models_api import classifier, data, one_hot, reference_gradients

import xaikit
from xaikit.registry import AUTOLOAD_ENV, Registry, get_registry, hookspecs, use_registry

BUILTIN_METHODS = ["guided_backprop", "integrated_gradients", "random_baseline_ig", "saliency"]


@attrs.frozen(kw_only=True)
class GradientTimesInput(xaikit.Explainer):
    """A third-party method: gradient x input."""

    scale: float = 1.0

    def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        grads, _ = self.gradients(inputs, targets)
        return grads * inputs * self.scale


def _halved(model: Any, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    return 0.5 * tf.reduce_sum(model(inputs) * targets, axis=-1)


def _first_channel(attributions: np.ndarray) -> np.ndarray:
    return attributions[..., 0]


class ThirdPartyPlugin:
    """A plugin object: a class instance whose methods are marked with xaikit.hookimpl."""

    def __init__(self, prefix: str = "tp") -> None:
        self.prefix = prefix

    @xaikit.hookimpl
    def xaikit_methods(self) -> dict[str, Any]:
        return {f"{self.prefix}_gxi": GradientTimesInput}

    @xaikit.hookimpl
    def xaikit_operators(self) -> dict[str, Any]:
        return {f"{self.prefix}_halved": _halved}

    @xaikit.hookimpl
    def xaikit_reducers(self) -> dict[str, Any]:
        return {f"{self.prefix}_first": _first_channel}


def _module_plugin(name: str, methods: dict[str, Any]) -> types.ModuleType:
    """A plugin module, as an entry point would load it."""
    module = types.ModuleType(name)

    @xaikit.hookimpl
    def xaikit_methods() -> dict[str, Any]:
        return methods

    module.xaikit_methods = xaikit_methods
    return module


@attrs.define
class FakeEntryPoint:
    """Quacks like importlib.metadata.EntryPoint: name, value, load()."""

    name: str
    value: str
    target: Any = None
    error: Exception | None = None
    loads: int = 0

    def load(self) -> Any:
        self.loads += 1
        if self.error is not None:
            raise self.error
        return self.target


def _fresh(*entry_points: FakeEntryPoint, autoload: bool | None = True) -> Registry:
    return Registry(autoload=autoload, entry_points=lambda: list(entry_points))


@pytest.fixture
def isolated() -> Iterator[Registry]:
    global_before = get_registry()
    with use_registry(Registry(autoload=False)) as registry:
        yield registry
    assert get_registry() is global_before
    assert not any(name.startswith(("tp_", "ep_")) for name in xaikit.list_methods())


def _check_gxi(explainer: Any, **expected_params: Any) -> None:
    model, x = explainer.model, data("tabular", n=3)
    assert isinstance(explainer, GradientTimesInput)
    for key, value in expected_params.items():
        assert getattr(explainer, key) == value
    explanation = explainer.explain(x, [0, 1, 2])
    expected = reference_gradients(model, x, one_hot([0, 1, 2])) * x * explainer.scale
    np.testing.assert_allclose(explanation.attributions, expected, rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------------------------ built-ins
def test_builtins_register_through_the_public_hooks(isolated):
    assert xaikit.list_methods() == BUILTIN_METHODS
    assert xaikit.list_operators() == ["classification", "logits", "regression"]
    assert xaikit.list_reducers() == ["absmax", "l2", "max", "mean", "min", "none", "sum"]
    for kind in ("methods", "operators", "reducers", "metrics"):
        assert {entry.plugin for entry in isolated.entries(kind).values()} <= {"xaikit"}
    assert isolated.plugin_names() == ["xaikit"]
    bare = Registry(autoload=False, builtins=False)
    assert bare.names("methods") == bare.names("operators") == bare.names("reducers") == []
    bare.register(__import__("xaikit.registry.builtins", fromlist=["_"]), name="again")
    assert bare.names("methods") == BUILTIN_METHODS


def test_hookspecs_are_documented_and_bodiless():
    names = ["xaikit_methods", "xaikit_operators", "xaikit_reducers", "xaikit_metrics"]
    for name in names:
        spec = getattr(hookspecs, name)
        assert inspect.getdoc(spec), name
        assert spec() is None  # a specification only
        assert inspect.signature(spec).parameters == {}
    assert xaikit.hookimpl is hookspecs.hookimpl


# ------------------------------------------------------------------------------ run time
def test_plugin_registered_at_run_time_is_usable_and_listed(isolated):
    plugin = ThirdPartyPlugin()
    assert xaikit.register_plugin(plugin, name="third-party") == "third-party"
    assert "tp_gxi" in xaikit.list_methods()
    assert "tp_halved" in xaikit.list_operators() and "tp_first" in xaikit.list_reducers()
    assert isolated.entries("methods")["tp_gxi"].plugin == "third-party"
    _check_gxi(xaikit.get_explainer("tp_gxi", classifier("tabular"), scale=2.0), scale=2.0)

    # its operator and reducer work with any method
    model, x = classifier("image"), data("image", n=2)
    halved = xaikit.Saliency(model, operator="tp_halved", absolute=False, reducer="tp_first")
    full = xaikit.Saliency(model, absolute=False, reducer=None).explain(x, 1)
    np.testing.assert_allclose(
        halved.explain(x, 1).attributions, 0.5 * full.attributions[..., 0], rtol=1e-5, atol=1e-8
    )

    xaikit.unregister_plugin(plugin)
    assert xaikit.list_methods() == BUILTIN_METHODS
    with pytest.raises(xaikit.UnknownNameError, match="unknown method 'tp_gxi'"):
        xaikit.get_explainer("tp_gxi", model)


def test_unregister_by_name_and_unknown_plugins(isolated):
    xaikit.register_plugin(ThirdPartyPlugin("ab"), name="ab-plugin")
    assert "ab_gxi" in xaikit.list_methods()
    xaikit.unregister_plugin("ab-plugin")
    assert "ab_gxi" not in xaikit.list_methods()
    with pytest.raises(xaikit.PluginError, match="plugin 'ab-plugin' is not registered"):
        xaikit.unregister_plugin("ab-plugin")
    with pytest.raises(xaikit.PluginError, match="is not a registered plugin"):
        xaikit.unregister_plugin(ThirdPartyPlugin())


def test_decorators_register_and_unregister_single_objects(isolated):
    @xaikit.register_method("tp_decorated")
    @attrs.frozen(kw_only=True)
    class Decorated(GradientTimesInput):
        pass

    @xaikit.register_method
    def tp_factory(model: Any, **params: Any) -> GradientTimesInput:
        return GradientTimesInput(model, scale=3.0, **params)

    assert {"tp_decorated", "tp_factory"} <= set(xaikit.list_methods())
    explanation = xaikit.get_explainer("tp_decorated", classifier("tabular")).explain(
        data("tabular", n=2)
    )
    assert explanation.method == "tp_decorated"  # the registered name is recorded
    _check_gxi(xaikit.get_explainer("tp_factory", classifier("tabular")), scale=3.0)
    xaikit.unregister_plugin(Decorated)
    xaikit.unregister_plugin(tp_factory)
    assert xaikit.list_methods() == BUILTIN_METHODS


def test_a_name_clash_names_both_plugins_and_keeps_nothing(isolated):
    xaikit.register_plugin(ThirdPartyPlugin(), name="first")
    with pytest.raises(xaikit.NameClashError) as info:
        xaikit.register_plugin(ThirdPartyPlugin(), name="second")
    message = str(info.value)
    assert "'tp_gxi' is claimed by both plugin 'first' and plugin 'second'" in message
    assert "second" not in isolated.plugin_names()
    assert isolated.entries("methods")["tp_gxi"].plugin == "first"

    with pytest.raises(xaikit.NameClashError, match="plugin 'xaikit' and plugin 'shadow'"):
        xaikit.register_plugin(
            _module_plugin("shadow", {"saliency": GradientTimesInput}), name="shadow"
        )
    assert xaikit.get_registry().get("methods", "saliency") is xaikit.Saliency


@pytest.mark.parametrize(
    "hook_result, complaint",
    [
        (["a"], "hook xaikit_methods() must return a mapping of name -> method, got list"),
        ({"tp_bad": 3}, "method 'tp_bad' must be callable, got int"),
        ({"": GradientTimesInput}, "method names must be non-empty strings, got ''"),
    ],
)
def test_malformed_plugins_are_refused_with_their_name(isolated, hook_result, complaint):
    plugin = types.SimpleNamespace(xaikit_methods=xaikit.hookimpl(lambda: hook_result))
    with pytest.raises(xaikit.PluginError) as info:
        xaikit.register_plugin(plugin, name="malformed")
    assert str(info.value) == f"plugin 'malformed': {complaint}"
    assert "malformed" not in isolated.plugin_names()
    assert xaikit.list_methods() == BUILTIN_METHODS


def test_get_explainer_refuses_unknown_parameters(isolated):
    with pytest.raises(xaikit.InputError, match=r"^params: method 'saliency' takes .*'stpes'"):
        xaikit.get_explainer("saliency", classifier("tabular"), stpes=3)


def test_metrics_hook_registers_metric_factories(isolated):
    def tp_metric(model: Any, **params: Any) -> tuple:
        return ("metric", model, params)

    xaikit.register_plugin(
        types.SimpleNamespace(xaikit_metrics=xaikit.hookimpl(lambda: {"tp_metric": tp_metric}))
    )
    assert "tp_metric" in xaikit.list_metrics()
    assert xaikit.get_metric("tp_metric", "m", k=1) == ("metric", "m", {"k": 1})
    with pytest.raises(xaikit.UnknownNameError, match="^name: unknown metric 'nope'"):
        xaikit.get_metric("nope", "m")


# ------------------------------------------------------------------------------ discovery
def test_entry_point_plugin_is_discovered_lazily_usable_and_listed():
    found = FakeEntryPoint(
        "ep-plugin",
        "ep_package.plugin",
        _module_plugin("ep_package.plugin", {"ep_gxi": GradientTimesInput}),
    )
    registry = _fresh(found)
    assert found.loads == 0  # nothing is imported until the registry is asked
    with use_registry(registry):
        assert "ep_gxi" in xaikit.list_methods()
        _check_gxi(xaikit.get_explainer("ep_gxi", classifier("tabular")))
        # a plugin registered at run time and one found through an entry point, side by side
        xaikit.register_plugin(ThirdPartyPlugin())
        assert {"ep_gxi", "tp_gxi", *BUILTIN_METHODS} == set(xaikit.list_methods())
        _check_gxi(xaikit.get_explainer("tp_gxi", classifier("tabular"), scale=0.5))
        assert registry.entries("methods")["ep_gxi"].plugin == "ep-plugin"
    assert found.loads == 1  # loaded once, not on every lookup


def test_broken_entry_point_is_skipped_with_a_warning_naming_it():
    broken = FakeEntryPoint("broken", "broken_pkg.plugin", error=ImportError("no module named x"))
    good = FakeEntryPoint(
        "good", "good_pkg", _module_plugin("good_pkg", {"ep_good": GradientTimesInput})
    )
    registry = _fresh(broken, good)
    with pytest.warns(xaikit.PluginWarning) as record:
        names = registry.names("methods")
    assert len(record) == 1
    message = str(record[0].message)
    assert "skipping plugin 'broken' (broken_pkg.plugin)" in message
    assert "ImportError: no module named x" in message
    assert "ep_good" in names and "saliency" in names
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the warning is given once, not on every lookup
        assert registry.names("methods") == names


def test_entry_point_with_a_malformed_hook_is_skipped_with_a_warning():
    bad = FakeEntryPoint(
        "bad-hook", "bad_pkg", types.SimpleNamespace(xaikit_methods=xaikit.hookimpl(lambda: 42))
    )
    registry = _fresh(bad)
    with pytest.warns(xaikit.PluginWarning, match="skipping plugin 'bad-hook'.*got int"):
        assert registry.names("methods") == BUILTIN_METHODS


def test_two_entry_points_claiming_one_name_are_an_error_naming_both():
    one = FakeEntryPoint(
        "one", "one_pkg", _module_plugin("one_pkg", {"ep_same": GradientTimesInput})
    )
    two = FakeEntryPoint(
        "two", "two_pkg", _module_plugin("two_pkg", {"ep_same": GradientTimesInput})
    )
    registry = _fresh(one, two)
    for _ in range(2):  # the error stays: no silent choice between the two on a later call
        with pytest.raises(xaikit.NameClashError) as info:
            registry.names("methods")
        assert "method name 'ep_same' is claimed by both plugin 'one' and plugin 'two'" in str(
            info.value
        )


def test_entry_point_already_registered_at_run_time_is_not_loaded_twice():
    module = _module_plugin("shared_pkg", {"ep_shared": GradientTimesInput})
    registry = _fresh(FakeEntryPoint("shared", "shared_pkg", module))
    registry.register(module, name="by-hand")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "ep_shared" in registry.names("methods")
    assert registry.entries("methods")["ep_shared"].plugin == "by-hand"


@pytest.mark.parametrize("value, loads", [("1", 0), ("true", 0), ("yes", 0), ("0", 1), ("", 1)])
def test_environment_variable_turns_discovery_off(monkeypatch, value, loads):
    found = FakeEntryPoint(
        "ep-env", "env_pkg", _module_plugin("env_pkg", {"ep_env": GradientTimesInput})
    )
    monkeypatch.setenv(AUTOLOAD_ENV, value)
    registry = _fresh(found, autoload=None)
    names = registry.names("methods")
    assert found.loads == loads
    assert ("ep_env" in names) == bool(loads)
    assert "saliency" in names  # built-ins do not depend on discovery
    assert AUTOLOAD_ENV == "XAIKIT_DISABLE_PLUGIN_AUTOLOAD"


def test_use_registry_restores_the_previous_registry_even_on_error():
    before = get_registry()
    with pytest.raises(RuntimeError), use_registry(Registry(autoload=False)):
        xaikit.register_plugin(ThirdPartyPlugin("leak"))
        assert "leak_gxi" in xaikit.list_methods()
        raise RuntimeError
    assert get_registry() is before
    assert "leak_gxi" not in xaikit.list_methods()


def test_real_entry_point_group_is_xaikit(monkeypatch):
    seen: list[str] = []

    def entry_points(group: str) -> list:
        seen.append(group)
        return []

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    assert Registry(autoload=True).names("methods") == BUILTIN_METHODS
    assert seen == ["xaikit"]
