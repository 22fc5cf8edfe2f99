"""The plugin as users meet it: by name through xaikit's registry, found by its entry point."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import numpy as np
import pytest
from xaikit_noise import SmoothGrad, SquareGrad, VarGrad

import xaikit
from xaikit.errors import InputError
from xaikit.testing import conformance_models

NAMES = {"smoothgrad": SmoothGrad, "vargrad": VarGrad, "squaregrad": SquareGrad}


class BrokenEntryPoint:
    """An installed plugin whose import fails."""

    name = "broken_fake"
    value = "broken_fake.plugin"
    dist = None

    def load(self) -> Any:
        raise ImportError("No module named 'broken_fake'")


def own_entry_point() -> Any:
    entry_points = importlib.metadata.entry_points(group="xaikit")
    (entry,) = [e for e in entry_points if e.name == "xaikit_noise"]
    return entry


@pytest.fixture(scope="module")
def tabular() -> tuple[Any, np.ndarray]:
    return conformance_models()["tabular"]


def test_installed_package_registers_its_methods():
    assert set(NAMES) <= set(xaikit.list_methods())
    assert own_entry_point().value == "xaikit_noise.plugin"


@pytest.mark.parametrize("name", sorted(NAMES))
def test_get_explainer_builds_each_wrapper_from_the_model(name, tabular):
    model, x = tabular
    explainer = xaikit.get_explainer(name, model, n_samples=2, seed=0)
    assert type(explainer) is NAMES[name]
    assert isinstance(explainer.method, xaikit.Saliency) and explainer.model is model
    explanation = explainer.explain(x)
    assert explanation.method == name and explanation.attributions.shape == x.shape


def test_get_explainer_routes_parameters_to_the_wrapper_and_the_wrapped_method(tabular):
    model, _ = tabular
    explainer = xaikit.get_explainer(
        "smoothgrad",
        model,
        method="integrated_gradients",
        steps=7,
        n_samples=4,
        noise=0.3,
        batch_size=16,
        operator="logits",
    )
    assert isinstance(explainer.method, xaikit.IntegratedGradients)
    assert (explainer.method.steps, explainer.method.batch_size, explainer.method.operator) == (
        7,
        16,
        "logits",
    )
    assert (explainer.n_samples, explainer.noise, explainer.batch_size) == (4, 0.3, 16)
    inner = xaikit.IntegratedGradients(model, steps=3)
    assert xaikit.get_explainer("vargrad", model, method=inner).method is inner


def test_get_explainer_errors_name_the_argument(tabular):
    model, _ = tabular
    with pytest.raises(InputError, match="'stepz'.*'smoothgrad' itself takes method"):
        xaikit.get_explainer("smoothgrad", model, method="integrated_gradients", stepz=3)
    with pytest.raises(InputError, match="already an explainer"):
        xaikit.get_explainer("smoothgrad", model, method=xaikit.Saliency(model), steps=3)
    other = conformance_models()["sequence"][0]
    with pytest.raises(InputError, match="same model"):
        xaikit.get_explainer("smoothgrad", model, method=xaikit.Saliency(other))
    with pytest.raises(xaikit.UnknownNameError, match="unknown method 'nope'"):
        xaikit.get_explainer("smoothgrad", model, method="nope")


def test_without_the_entry_point_the_methods_are_gone():
    """What uninstalling does: discovery no longer sees the distribution's entry point."""
    installed = importlib.metadata.entry_points(group="xaikit")
    others = [e for e in installed if e.name != "xaikit_noise"]
    registry = xaikit.Registry(entry_points=lambda: others)
    assert not set(NAMES) & set(registry.names("methods"))
    assert "saliency" in registry.names("methods")


def test_a_broken_plugin_is_skipped_with_a_warning_and_this_one_still_works(tabular):
    registry = xaikit.Registry(entry_points=lambda: [BrokenEntryPoint(), own_entry_point()])
    with pytest.warns(xaikit.PluginWarning, match="broken_fake.*failed to load"):
        names = registry.names("methods")
    assert set(NAMES) <= set(names)
    factory = registry.get("methods", "squaregrad")
    model, x = tabular
    assert factory(model, n_samples=2, seed=0).explain(x).attributions.shape == x.shape
