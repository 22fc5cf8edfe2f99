"""Grad-CAM and Grad-CAM++ against the formulas written as loops, on flat and nested models."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf
from xaikit_cam import GradCAM, GradCAMPlusPlus, find_layer

import xaikit
from xaikit.errors import InputError
from xaikit.testing import check_explainer

layers = keras.layers
METHODS = (GradCAM, GradCAMPlusPlus)


def init(seed: int) -> dict[str, Any]:
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": keras.initializers.RandomUniform(-0.1, 0.1, seed=seed + 100),
    }


def backbone_layers() -> list[layers.Layer]:
    return [
        layers.Conv2D(4, 3, activation="relu", padding="same", name="conv_a", **init(1)),
        layers.AveragePooling2D(2, name="pool"),
        layers.Conv2D(5, 2, activation="relu", name="conv_b", **init(2)),
    ]


def head_layers() -> list[layers.Layer]:
    return [layers.GlobalAveragePooling2D(), layers.Dense(3, activation="softmax", **init(3))]


def flat_model() -> keras.Model:
    """(10, 10, 2) -> conv_a 10x10x4 -> pool 5x5 -> conv_b 4x4x5 -> 3 softmax."""
    return keras.Sequential([keras.Input((10, 10, 2)), *backbone_layers(), *head_layers()])


def nested_model() -> keras.Model:
    """The same architecture with the convolutions inside a nested Sequential backbone."""
    inputs = keras.Input((10, 10, 2))
    backbone = keras.Sequential([keras.Input((10, 10, 2)), *backbone_layers()], name="backbone")
    h = backbone(inputs)
    for layer in head_layers():
        h = layer(h)
    return keras.Model(inputs, h, name="nested")


class Subclassed(keras.Model):
    """A subclassed model: no graph to inspect, the layer is named explicitly."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = backbone_layers()
        self.head = head_layers()

    def call(self, x: Any) -> Any:
        for layer in [*self.convs, *self.head]:
            x = layer(x)
        return x


@pytest.fixture(scope="module")
def flat() -> tuple[keras.Model, np.ndarray]:
    x = np.random.default_rng(0).normal(size=(3, 10, 10, 2)).astype("float32")
    return flat_model(), x


def reference_maps(model: keras.Model, x: np.ndarray, layer: str, plus: bool) -> np.ndarray:
    """Grad-CAM(++) written as loops over channels and positions, float64 (N, H, W)."""
    probe = keras.Model(model.inputs, [model.get_layer(layer).output, model.outputs[0]])
    out = []
    for sample in x:
        inputs = tf.constant(sample[None])
        with tf.GradientTape() as tape:
            acts, probs = probe(inputs)
            score = probs[0, int(np.argmax(probs[0]))]
        grads = tape.gradient(score, acts)[0].numpy().astype(np.float64)
        acts = acts[0].numpy().astype(np.float64)
        h, w, k = acts.shape
        low = np.zeros((h, w))
        for c in range(k):
            if plus:
                total = acts[:, :, c].sum()
                weight = 0.0
                for i in range(h):
                    for j in range(w):
                        g = grads[i, j, c]
                        denominator = 2 * g**2 + total * g**3
                        alpha = g**2 / denominator if denominator != 0 else 0.0
                        weight += alpha * max(g, 0.0)
            else:
                weight = sum(grads[i, j, c] for i in range(h) for j in range(w)) / (h * w)
            for i in range(h):
                for j in range(w):
                    low[i, j] += weight * acts[i, j, c]
        low = np.maximum(low, 0.0)
        high = tf.image.resize(low[None, :, :, None], x.shape[1:3], method="bilinear")
        out.append(high.numpy()[0, :, :, 0])
    return np.stack(out)


# --------------------------------------------------------------------------- conformance
@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)
def test_check_explainer_by_class_runs_on_images_and_checks_the_refusals(cls):
    check_explainer(cls)  # images fully; tables and sequences must be refused


# --------------------------------------------------------------------------- references
@pytest.mark.parametrize("layer", ["conv_b", "conv_a"])
@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)
def test_maps_match_the_formula_written_as_a_loop(flat, cls, layer):
    model, x = flat
    got = cls(model, layer=layer).explain(x)
    expected = reference_maps(model, x, layer, plus=cls is GradCAMPlusPlus)
    assert got.attributions.shape == (3, 10, 10)
    assert expected.max() > 0
    np.testing.assert_allclose(got.attributions, expected, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)
def test_nested_and_subclassed_models_give_the_flat_models_maps(flat, cls):
    model, x = flat
    expected = cls(model).explain(x).attributions
    nested = nested_model()
    nested.set_weights(model.get_weights())
    explainer = cls(nested)
    assert explainer.conv_layer().name == "conv_b"  # found inside the nested backbone
    np.testing.assert_allclose(explainer.explain(x).attributions, expected, rtol=1e-5, atol=1e-8)
    assert "call" not in vars(explainer.conv_layer())  # the recording was undone
    subclassed = Subclassed()
    subclassed(x[:1])
    subclassed.set_weights(model.get_weights())
    got = cls(subclassed, layer="conv_b").explain(x).attributions
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-8)


def test_the_map_is_repeated_over_channels_and_the_reducer_folds_it(flat):
    model, x = flat
    full = GradCAM(model, reducer=None).explain(x).attributions
    assert full.shape == x.shape
    np.testing.assert_array_equal(full[..., 0], full[..., 1])
    np.testing.assert_allclose(GradCAM(model).explain(x).attributions, full[..., 0], rtol=1e-6)


def test_explicit_targets_select_the_class(flat):
    model, x = flat
    maps = GradCAM(model, reducer=None)
    by_class = [maps.explain(x, c).attributions for c in range(3)]
    mixed = maps.explain(x, np.array([0, 1, 2])).attributions
    for i in range(3):
        np.testing.assert_allclose(mixed[i], by_class[i][i], rtol=1e-6)
    assert not np.allclose(by_class[0], by_class[1])


# --------------------------------------------------------------------------- layer choice
def test_find_layer_picks_the_last_4d_output_and_looks_inside_nested_models(flat):
    model, _ = flat
    assert find_layer(model).name == "conv_b"
    assert find_layer(nested_model()).name == "conv_b"
    assert find_layer(nested_model(), "pool").name == "pool"


def test_layer_errors_name_the_argument_and_list_candidates(flat):
    model, _ = flat
    with pytest.raises(
        InputError, match="no layer named 'conv_z'; close names: 'conv_b', 'conv_a'"
    ):
        GradCAM(model, layer="conv_z")
    with pytest.raises(InputError, match="layer: expected a layer name"):
        GradCAM(model, layer=3)
    dense = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    with pytest.raises(InputError, match=r"model: gradcam explains images only"):
        GradCAM(dense)
    with pytest.raises(InputError, match="4-D output"):
        GradCAM(model, layer=model.layers[-1].name).explain(np.zeros((1, 10, 10, 2), "float32"))


def test_a_shared_layer_is_refused():
    inputs = keras.Input((6, 6, 2))
    conv = layers.Conv2D(2, 1, name="shared", **init(5))
    h = conv(conv(inputs))
    outputs = layers.Dense(2)(layers.GlobalAveragePooling2D()(h))
    model = keras.Model(inputs, outputs)
    with pytest.raises(InputError, match="'shared' ran 2 times"):
        GradCAM(model, layer="shared").explain(np.ones((1, 6, 6, 2), "float32"))


# --------------------------------------------------------------------------- the registry
def test_registered_by_its_entry_point(flat):
    model, x = flat
    assert {"gradcam", "gradcam_plus_plus"} <= set(xaikit.list_methods())
    explainer = xaikit.get_explainer("gradcam_plus_plus", model, layer="conv_a")
    assert isinstance(explainer, GradCAMPlusPlus)
    assert explainer.explain(x).method == "gradcam_plus_plus"
    installed = importlib.metadata.entry_points(group="xaikit")
    without = [e for e in installed if e.name != "xaikit_cam"]
    assert len(without) == len(installed) - 1
    assert "gradcam" not in xaikit.Registry(entry_points=lambda: without).names("methods")
