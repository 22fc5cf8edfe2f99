"""Guided Grad-CAM against a hand-written float64 forward pass with hand-guided ReLUs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf
from xaikit_cam import GradCAM, GuidedGradCAM

import xaikit
from xaikit.errors import InputError, NoGuidableActivationError
from xaikit.testing import check_explainer

layers = keras.layers
SHAPE = (10, 10, 2)


def init(seed: int) -> dict[str, Any]:
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": keras.initializers.RandomUniform(-0.1, 0.1, seed=seed + 100),
    }


def flat_model() -> keras.Model:
    """conv_a 3x3 relu (same) -> avgpool 2 -> conv_b 2x2 relu -> GAP -> 3 softmax."""
    return keras.Sequential(
        [
            keras.Input(SHAPE),
            layers.Conv2D(4, 3, activation="relu", padding="same", name="conv_a", **init(1)),
            layers.AveragePooling2D(2),
            layers.Conv2D(5, 2, activation="relu", name="conv_b", **init(2)),
            layers.GlobalAveragePooling2D(),
            layers.Dense(3, activation="softmax", name="head", **init(3)),
        ],
        name="flat",
    )


def nested_model() -> keras.Model:
    """A Sequential backbone (conv_c linear -> ReLU layer -> conv_d relu) inside a functional
    model with a ReLU after the explained layer: flatten -> 6 relu -> 3 softmax."""
    backbone = keras.Sequential(
        [
            keras.Input(SHAPE),
            layers.Conv2D(3, 3, name="conv_c", **init(11)),
            layers.ReLU(name="relu_c"),
            layers.Conv2D(4, 2, activation="relu", name="conv_d", **init(12)),
        ],
        name="backbone",
    )
    inputs = keras.Input(SHAPE)
    h = layers.Flatten()(backbone(inputs))
    h = layers.Dense(6, activation="relu", name="hidden", **init(13))(h)
    outputs = layers.Dense(3, activation="softmax", name="head", **init(14))(h)
    return keras.Model(inputs, outputs, name="nested")


# --------------------------------------------------------------------------- the reference
def hand_guided_relu(x: tf.Tensor) -> tf.Tensor:
    """ReLU whose backward pass lets only positive upstream gradients through, where x > 0."""

    @tf.custom_gradient
    def forward(v: tf.Tensor) -> Any:
        def backward(upstream: tf.Tensor) -> tf.Tensor:
            return tf.where((upstream > 0) & (v > 0), upstream, tf.zeros_like(upstream))

        return tf.maximum(v, 0.0), backward

    return forward(x)


def plain_relu(x: tf.Tensor) -> tf.Tensor:
    return tf.maximum(x, 0.0)


def params64(model: keras.Model, *names: str) -> list[np.ndarray]:
    """Kernel and bias of each named layer (nested models searched), float64."""
    found = {}
    stack = list(model.layers)
    while stack:
        layer = stack.pop()
        stack.extend(getattr(layer, "layers", []) if isinstance(layer, keras.Model) else [])
        found[layer.name] = layer
    return [np.asarray(w, np.float64) for name in names for w in found[name].get_weights()]


Forward = Callable[[tf.Tensor, Callable], tuple[tf.Tensor, tf.Tensor]]


def flat_forward(model: keras.Model) -> Forward:
    """(x (1, 10, 10, 2), relu) -> (conv_b activations, softmax (1, 3)), written with tf.nn."""
    w1, b1, w2, b2, w3, b3 = params64(model, "conv_a", "conv_b", "head")

    def forward(x: tf.Tensor, relu: Callable) -> tuple[tf.Tensor, tf.Tensor]:
        h = relu(tf.nn.conv2d(x, w1, 1, "SAME") + b1)
        h = tf.nn.avg_pool2d(h, 2, 2, "VALID")
        acts = relu(tf.nn.conv2d(h, w2, 1, "VALID") + b2)
        logits = tf.reduce_mean(acts, axis=[1, 2]) @ w3 + b3
        return acts, tf.nn.softmax(logits)

    return forward


def nested_forward(model: keras.Model) -> Forward:
    """The nested model's forward pass, with conv_d's activations."""
    w1, b1, w2, b2, w3, b3, w4, b4 = params64(model, "conv_c", "conv_d", "hidden", "head")

    def forward(x: tf.Tensor, relu: Callable) -> tuple[tf.Tensor, tf.Tensor]:
        h = relu(tf.nn.conv2d(x, w1, 1, "VALID") + b1)
        acts = relu(tf.nn.conv2d(h, w2, 1, "VALID") + b2)
        h = relu(tf.reshape(acts, [1, -1]) @ w3 + b3)
        return acts, tf.nn.softmax(h @ w4 + b4)

    return forward


def reference(forward: Forward, x: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Guided Grad-CAM per sample in float64: hand-guided input gradient times the Grad-CAM
    map (spatial-mean channel weights, ReLU, bilinear resize), (N, H, W, C)."""
    out = []
    for sample, target in zip(np.asarray(x, np.float64), targets, strict=True):
        point = tf.constant(sample[None])
        with tf.GradientTape() as tape:
            tape.watch(point)
            _, probs = forward(point, hand_guided_relu)
            score = probs[0, target]
        guided = tape.gradient(score, point).numpy()[0]
        with tf.GradientTape() as tape:
            tape.watch(point)
            acts, probs = forward(point, plain_relu)
            score = probs[0, target]
        grads = tape.gradient(score, acts).numpy()[0]
        acts = acts.numpy()[0]
        low = np.maximum((acts * grads.mean(axis=(0, 1))).sum(axis=-1), 0.0)
        high = tf.image.resize(low[None, :, :, None], sample.shape[:2], method="bilinear")
        out.append(guided * high.numpy()[0])
    return np.stack(out)


CASES = {
    "flat": (flat_model, flat_forward, None),
    "nested": (nested_model, nested_forward, "conv_d"),
}


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(4, *SHAPE)).astype("float32")


# --------------------------------------------------------------------------- conformance
def test_check_explainer_by_name():
    check_explainer("guided_gradcam")  # images fully; tables and sequences refused


# --------------------------------------------------------------------------- reference
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_hand_guided_gradients_times_a_hand_computed_map(x, name):
    build, forward, layer = CASES[name]
    model = build()
    explainer = GuidedGradCAM(model, batch_size=3)
    assert explainer.conv_layer().name == ("conv_b" if layer is None else layer)
    hand = forward(model)
    for targets in (None, np.array([0, 1, 2, 1])):
        explanation = explainer.explain(x, targets)
        expected = reference(hand, x, explanation.targets)
        assert explanation.attributions.shape == x.shape
        assert np.abs(expected).max() > 0
        scale = float(np.abs(expected).max())
        np.testing.assert_allclose(
            explanation.attributions, expected, rtol=1e-4, atol=1e-5 * scale, err_msg=name
        )


def test_the_map_comes_from_plain_gradients_not_guided_ones(x):
    """The nested model has a ReLU after conv_d: guiding it would change the map."""
    model = nested_model()
    explanation = GuidedGradCAM(model).explain(x)
    cam = GradCAM(model, reducer=None).explain(x).attributions
    guided = xaikit.GuidedBackprop(model).explain(x).attributions
    np.testing.assert_allclose(explanation.attributions, guided * cam, rtol=1e-6, atol=1e-9)


def test_an_earlier_layer_and_a_reducer(x):
    model = flat_model()
    full = GuidedGradCAM(model, layer="conv_a").explain(x).attributions
    folded = GuidedGradCAM(model, layer="conv_a", reducer="sum").explain(x).attributions
    np.testing.assert_allclose(folded, full.sum(axis=-1), rtol=1e-5, atol=1e-9)
    other = GuidedGradCAM(model).explain(x).attributions
    assert not np.allclose(full, other)


# --------------------------------------------------------------------------- errors
def test_refusals_name_the_problem():
    with pytest.raises(InputError, match="no layer named 'conv_z'"):
        GuidedGradCAM(flat_model(), layer="conv_z")
    with pytest.raises(InputError, match="layer: expected a layer name"):
        GuidedGradCAM(flat_model(), layer=2)
    dense = keras.Sequential([keras.Input((4,)), layers.Dense(2, activation="relu")])
    with pytest.raises(InputError, match="model: guided_gradcam explains images only"):
        GuidedGradCAM(dense)
    linear = keras.Sequential(
        [keras.Input(SHAPE), layers.Conv2D(2, 3), layers.GlobalAveragePooling2D()]
    )
    with pytest.raises(NoGuidableActivationError, match="no ReLU-family activation"):
        GuidedGradCAM(linear)


def test_registered_with_the_other_cam_methods(x):
    model = flat_model()
    assert "guided_gradcam" in xaikit.list_methods()
    explainer = xaikit.get_explainer("guided_gradcam", model, layer="conv_a")
    assert isinstance(explainer, GuidedGradCAM)
    assert xaikit.capabilities_of(GuidedGradCAM).data == ("image",)
    explanation = explainer.explain(x[:2])
    assert explanation.method == "guided_gradcam"
    assert explanation.params["layer"] == "conv_a"
