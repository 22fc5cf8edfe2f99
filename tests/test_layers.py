"""Layers by name and path (nested, loaded .keras models), and attributions at a layer."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import xaikit
from xaikit.errors import InputError
from xaikit.layers import named_layers, resolve_layer

layers = keras.layers


def _nested() -> keras.Model:
    """An image model whose convolutions sit in a nested functional backbone with a skip."""
    inner_in = keras.Input((8, 8, 3))
    c1 = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1")(inner_in)
    c2 = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv5_out")(c1)
    backbone = keras.Model(inner_in, layers.Add(name="skip")([c1, c2]), name="backbone")
    x = keras.Input((8, 8, 3))
    h = layers.GlobalAveragePooling2D()(backbone(x))
    return keras.Model(x, layers.Dense(3, name="head")(h), name="outer")


@pytest.fixture(scope="module")
def nested() -> keras.Model:
    return _nested()


@pytest.fixture(scope="module")
def loaded(nested, tmp_path_factory) -> keras.Model:
    path = tmp_path_factory.mktemp("saved") / "nested.keras"
    nested.save(path)
    return keras.models.load_model(path)


def test_paths_resolve_on_nested_and_loaded_models(nested, loaded):
    assert "backbone/conv5_out" in dict(named_layers(nested))
    for model in (nested, loaded):
        assert resolve_layer(model, "backbone/conv5_out").name == "conv5_out"
        assert resolve_layer(model, "conv5_out").name == "conv5_out"
    with pytest.raises(InputError, match=r"no layer named 'backbone/conv6_out'.*conv5_out"):
        resolve_layer(loaded, "backbone/conv6_out")


def test_layer_ig_through_a_nested_skip_connection_completes(loaded):
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    layer = "backbone/skip"  # the backbone's output: everything passes through it
    explanation = xaikit.IntegratedGradients(loaded, layer=layer, steps=64).explain(x, 1)
    assert explanation.attributions.shape == (2, 8, 8, 4)
    f = loaded(x).numpy()[:, 1]
    f0 = loaded(np.zeros_like(x)).numpy()[:, 1]
    np.testing.assert_allclose(explanation.attributions.sum(axis=(1, 2, 3)), f - f0, atol=2e-3)
    assert np.max(np.abs(explanation.convergence_delta)) < 2e-3


def test_saliency_at_a_nested_layer_is_the_gradient_there(nested):
    x = np.random.default_rng(1).normal(size=(2, 8, 8, 3)).astype("float32")
    got = xaikit.Saliency(nested, layer="backbone/skip", absolute=False, reducer=None).explain(x, 0)
    pooled_head = keras.Sequential([layers.GlobalAveragePooling2D(), nested.get_layer("head")])
    h = tf.constant(nested.get_layer("backbone")(x))
    with tf.GradientTape() as tape:
        tape.watch(h)
        score = tf.reduce_sum(pooled_head(h)[:, 0])
    np.testing.assert_allclose(got.attributions, tape.gradient(score, h).numpy(), atol=1e-6)


def test_gradcam_uses_the_resolver_for_nested_paths(loaded):
    pytest.importorskip("xaikit_cam")
    from xaikit_cam import GradCAM

    x = np.random.default_rng(2).normal(size=(2, 8, 8, 3)).astype("float32")
    maps = GradCAM(loaded, layer="backbone/conv5_out").explain(x, 0)
    assert maps.attributions.shape == (2, 8, 8)
    with pytest.raises(InputError, match=r"close names: .*conv5_out"):
        GradCAM(loaded, layer="conv5_ot")


def test_the_model_is_unchanged_after_layer_attribution(nested):
    x = np.random.default_rng(3).normal(size=(1, 8, 8, 3)).astype("float32")
    before = nested(x).numpy()
    xaikit.IntegratedGradients(nested, layer="backbone/conv1", steps=4).explain(x, 0)
    for _, layer in named_layers(nested):
        assert "call" not in vars(layer)
    np.testing.assert_allclose(nested(x).numpy(), before)
