"""mc_dropout as users meet it: by name through xaikit's registry, found by its entry point."""

from __future__ import annotations

import importlib.metadata

import keras
import numpy as np
import pytest
from xaikit_uncertainty import MCDropout

import xaikit
from xaikit.errors import InputError

layers = keras.layers


@pytest.fixture(scope="module")
def model() -> keras.Model:
    inp = keras.Input((5,))
    x = layers.Dropout(0.3)(layers.Dense(8, activation="relu")(inp))
    return keras.Model(inp, layers.Dense(2, activation="softmax")(x))


def test_installed_package_registers_mc_dropout():
    assert "mc_dropout" in xaikit.list_methods()
    (entry,) = [
        e for e in importlib.metadata.entry_points(group="xaikit") if e.name == "xaikit_uncertainty"
    ]
    assert entry.value == "xaikit_uncertainty.plugin"
    without = [e for e in importlib.metadata.entry_points(group="xaikit") if e.name != entry.name]
    assert "mc_dropout" not in xaikit.Registry(entry_points=lambda: without).names("methods")


def test_declares_its_seed(model):
    assert xaikit.capabilities_of(MCDropout).seed == "seed"
    registered = xaikit.get_registry().entries("methods")["mc_dropout"].obj
    assert xaikit.capabilities_of(registered).seed == "seed"


def test_get_explainer_builds_and_routes_parameters(model):
    x = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    explainer = xaikit.get_explainer(
        "mc_dropout",
        model,
        method="integrated_gradients",
        steps=5,
        passes=3,
        seed=0,
        batch_size=2,
    )
    assert type(explainer) is MCDropout and explainer.model is model
    assert isinstance(explainer.method, xaikit.IntegratedGradients)
    assert (explainer.method.steps, explainer.method.batch_size) == (5, 2)
    assert (explainer.passes, explainer.seed, explainer.batch_size) == (3, 0, 2)
    explanation = explainer.explain(x)
    assert explanation.method == "mc_dropout" and explanation.attributions.shape == x.shape
    default = xaikit.get_explainer("mc_dropout", model, passes=2, seed=0)
    assert isinstance(default.method, xaikit.Saliency)
    inner = xaikit.Saliency(model)
    assert xaikit.get_explainer("mc_dropout", model, method=inner).method is inner


def test_get_explainer_errors_name_the_argument(model):
    with pytest.raises(InputError, match="'mc_dropout' itself takes method, passes"):
        xaikit.get_explainer("mc_dropout", model, method="saliency", bogus=1)
    with pytest.raises(InputError, match="params: 'steps' would configure"):
        xaikit.get_explainer("mc_dropout", model, method=xaikit.Saliency(model), steps=3)
    with pytest.raises(InputError, match="method: expected a registered method name"):
        xaikit.get_explainer("mc_dropout", model, method=3)
