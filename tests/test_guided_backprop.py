"""GuidedBackprop: the guided gradient on every model structure, and a model left unchanged.

The reference is a float64 copy of each model in which every ReLU-family activation is an
explicit custom-gradient function (``reference.guided_relu``): forward as Keras, backward
``relu(upstream) * f'(x)``. A hand-written numpy backward pass checks a tiny MLP without any
autodiff at all.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest
import reference
import tensorflow as tf
from conftest import init, relu, relu_layer
from reference import assert_close

import xaikit
from xaikit._activations import swap_activations
from xaikit.methods.guided_backprop import count_guidable

layers = keras.layers


def guided_reference(model64: keras.Model, x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per-sample float64 gradients of a model whose ReLUs are the reference's guided ones."""
    return reference.saliency(model64, x, weights, absolute=False, channel_max=False)


def copy64(build: Any, model: keras.Model, guided: bool = True) -> keras.Model:
    copy = build("float64", guided)
    copy.set_weights(model.get_weights())
    return copy


# --------------------------------------------------------------------------- the four models
def test_matches_reference_on_the_four_models_for_every_target_form(cases):
    for case in cases.values():
        explainer = xaikit.GuidedBackprop(case.model, operator=case.operator, batch_size=2)
        for form, targets in case.targets_forms().items():
            explanation = explainer.explain(case.x, targets)
            expected = guided_reference(case.copy64(guided=True), case.x, case.weights(targets))
            assert_close(explanation.attributions, expected, what=f"{case.name} {form}")
            assert explanation.convergence_delta is None
        plain = reference.saliency(case.copy64(), case.x, case.weights(), False, False)
        assert not np.allclose(explainer.explain(case.x).attributions, plain, atol=1e-6), (
            f"{case.name}: guided gradients equal plain ones; the test shows nothing"
        )


# --------------------------------------------------------------------------- numpy check
def tiny_mlp() -> keras.Model:
    inputs = keras.Input((4,))
    h = layers.Dense(5, activation="relu", **init(51))(inputs)
    h = layers.LeakyReLU(negative_slope=0.25)(layers.Dense(4, **init(52))(h))
    return keras.Model(inputs, layers.Dense(3, activation="softmax", **init(53))(h))


def test_tiny_mlp_against_a_hand_written_numpy_backward_pass():
    model = tiny_mlp()
    x = np.random.default_rng(8).normal(size=(6, 4)).astype("float32")
    targets = np.array([0, 1, 2, 0, 1, 2])
    weights = reference.one_hot(targets, 3)
    params = model.get_weights()
    guided = xaikit.GuidedBackprop(model).explain(x, targets).attributions
    plain = xaikit.Saliency(model, absolute=False).explain(x, targets).attributions
    expected_guided = reference.numpy_guided_mlp(params, x, weights, 0.25, guided=True)
    expected_plain = reference.numpy_guided_mlp(params, x, weights, 0.25, guided=False)
    assert_close(plain, expected_plain)  # the numpy pass itself is right
    assert_close(guided, expected_guided)
    assert not np.allclose(expected_guided, expected_plain, atol=1e-6)


# --------------------------------------------------------------------------- structures
def activation(kind: str, guided: bool, dtype: str) -> layers.Layer:
    """``Activation(kind)`` or, guided, the reference's formula for that activation."""
    if not guided:
        return layers.Activation(kind, dtype=dtype)
    config = {
        "relu": {},
        "relu6": {"max_value": 6.0},
        "leaky_relu": {"negative_slope": 0.2},  # keras.activations.leaky_relu's default
    }[kind]
    return layers.Activation(reference.guided_relu(**config), dtype=dtype)


def build_sequential(dtype: str = "float32", guided: bool = False) -> keras.Model:
    """Sequential with Dense(relu), ReLU(max_value=6), Activation('relu') and LeakyReLU."""
    return keras.Sequential(
        [
            keras.Input((6,), dtype=dtype),
            layers.Dense(12, activation=relu(guided), dtype=dtype, **init(61)),
            layers.Dense(10, dtype=dtype, **init(62)),
            relu_layer(guided, dtype, max_value=6.0),
            layers.Dense(8, dtype=dtype, **init(63)),
            activation("relu", guided, dtype),
            layers.Dense(6, dtype=dtype, **init(64)),
            layers.Activation(reference.guided_relu(negative_slope=0.3), dtype=dtype)
            if guided
            else layers.LeakyReLU(negative_slope=0.3, dtype=dtype),
            layers.Dense(3, activation="softmax", dtype=dtype, **init(65)),
        ],
        name="sequential_zoo",
    )


def build_functional(dtype: str = "float32", guided: bool = False) -> keras.Model:
    """Functional CNN with Conv2D(relu), ReLU(negative_slope), relu6, tf.nn.relu, a skip."""
    inputs = keras.Input((8, 8, 3), dtype=dtype)
    a = layers.Conv2D(6, 3, padding="same", activation=relu(guided), dtype=dtype, **init(71))(
        inputs
    )
    b = layers.Conv2D(6, 3, padding="same", dtype=dtype, **init(72))(inputs)
    b = relu_layer(guided, dtype, negative_slope=0.1)(b)
    h = layers.Add(dtype=dtype)([a, b])
    h = layers.MaxPooling2D(2, dtype=dtype)(h)
    h = layers.Conv2D(6, 3, dtype=dtype, **init(73))(h)
    h = activation("relu6", guided, dtype)(h)
    h = layers.GlobalAveragePooling2D(dtype=dtype)(h)
    h = layers.Dense(
        8, activation=reference.guided_relu() if guided else tf.nn.relu, dtype=dtype, **init(74)
    )(h)
    outputs = layers.Dense(3, activation="softmax", dtype=dtype, **init(75))(h)
    return keras.Model(inputs, outputs, name="functional_zoo")


def build_nested(dtype: str = "float32", guided: bool = False) -> keras.Model:
    """Functional model holding a Sequential that holds a functional sub-model."""
    inner_in = keras.Input((10, 4), dtype=dtype)
    inner = layers.Dense(5, activation=relu(guided), dtype=dtype, **init(81))(inner_in)
    inner = relu_layer(guided, dtype, max_value=6.0, negative_slope=0.05)(
        layers.Dense(5, dtype=dtype, **init(82))(inner)
    )
    inner_model = keras.Model(inner_in, inner, name="inner")
    block = keras.Sequential(
        [
            keras.Input((12, 2), dtype=dtype),
            layers.Conv1D(4, 3, activation=relu(guided), dtype=dtype, **init(83)),
            inner_model,
            activation("leaky_relu", guided, dtype),
        ],
        name="block",
    )
    inputs = keras.Input((12, 2), dtype=dtype)
    h = layers.Flatten(dtype=dtype)(block(inputs))
    outputs = layers.Dense(3, activation="softmax", dtype=dtype, **init(84))(h)
    return keras.Model(inputs, outputs, name="nested_zoo")


# builder, inputs scale (large enough that ReLU6 clips), number of guidable layers
STRUCTURES = {
    "sequential": (build_sequential, (6,), 10.0, 4),
    "functional": (build_functional, (8, 8, 3), 3.0, 4),
    "nested": (build_nested, (12, 2), 8.0, 4),
}


@pytest.fixture(scope="module")
def zoo() -> dict[str, tuple[Any, keras.Model, np.ndarray]]:
    rng = np.random.default_rng(99)
    out = {}
    for name, (build, shape, scale, _) in STRUCTURES.items():
        x = (scale * rng.normal(size=(3, *shape))).astype("float32")
        out[name] = (build, build(), x)
    return out


def snapshot(model: keras.Model, x: np.ndarray) -> dict[str, Any]:
    """What must not change: each layer's applied callables (by identity), weights, outputs."""
    layers_seen, stack = [], [model]
    while stack:
        layer = stack.pop()
        layers_seen.append(layer)
        stack.extend(getattr(layer, "layers", []))
    return {
        "applied": [
            (layer, getattr(layer, "activation", None), vars(layer).get("call"))
            for layer in layers_seen
        ],
        "weights": [np.array(w) for w in model.get_weights()],
        "outputs": np.asarray(model(x)),
    }


def assert_unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert len(before["applied"]) == len(after["applied"])
    for (layer, act_a, call_a), (same, act_b, call_b) in zip(
        before["applied"], after["applied"], strict=True
    ):
        assert layer is same
        assert act_a is act_b, f"{layer.name}: activation not restored"
        assert call_a is call_b, f"{layer.name}: call not restored"
    for a, b in zip(before["weights"], after["weights"], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(before["outputs"], after["outputs"])


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_structures_match_reference_and_stay_unchanged(zoo, name):
    build, model, x = zoo[name]
    assert count_guidable(model) == STRUCTURES[name][3]
    before = snapshot(model, x)
    explainer = xaikit.GuidedBackprop(model, batch_size=2)
    explanation = explainer.explain(x, 1)
    weights = reference.one_hot(np.ones(len(x), int), 3)
    assert_close(explanation.attributions, guided_reference(copy64(build, model), x, weights))
    plain = reference.saliency(copy64(build, model, guided=False), x, weights, False, False)
    assert not np.allclose(explanation.attributions, plain, atol=1e-6)
    assert_unchanged(before, snapshot(model, x))
    # unchanged in behaviour too: plain gradients are still plain after guiding
    after = xaikit.Saliency(model, absolute=False, reducer=None).explain(x, 1).attributions
    assert_close(after, plain)


def test_relu6_really_clips_in_the_structures(zoo):
    """Otherwise max_value=6 would be untested: some ReLU6 input must exceed 6."""
    _, model, x = zoo["sequential"]
    pre = keras.Model(model.inputs[0], model.layers[1].output)(x)  # the input of ReLU(6)
    assert np.any(np.asarray(pre) > 6.0)
    _, model, x = zoo["nested"]
    block = model.get_layer("block")
    inner = block.get_layer("inner")
    block_in = keras.Model(block.inputs[0], block.layers[0].output)(x)  # the Conv1D's output
    clipped = keras.Model(inner.inputs[0], inner.layers[-2].output)(block_in)
    assert np.any(np.asarray(clipped) > 6.0)


# --------------------------------------------------------------------------- restoring
def test_model_restored_when_the_traced_code_raises(zoo):
    _, model, x = zoo["functional"]
    before = snapshot(model, x)

    def broken_operator(model: Any, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        model(inputs)
        raise RuntimeError("operator failed while the model was swapped")

    explainer = xaikit.GuidedBackprop(model, operator=broken_operator)
    with pytest.raises(RuntimeError, match="operator failed"):
        explainer.explain(x, 0)
    assert_unchanged(before, snapshot(model, x))


def test_model_restored_when_the_context_body_raises(zoo):
    _, model, x = zoo["nested"]
    before = snapshot(model, x)
    guidable = count_guidable(model)
    explainer = xaikit.GuidedBackprop(model)
    with pytest.raises(KeyError), explainer.tracing_context():
        inside = snapshot(model, x)
        swapped = [
            a for a, b in zip(before["applied"], inside["applied"], strict=True) if a[1:] != b[1:]
        ]
        assert len(swapped) == guidable  # the snapshot does see a swap
        raise KeyError("boom")
    assert_unchanged(before, snapshot(model, x))


def test_model_restored_when_the_swap_itself_fails_half_way(zoo):
    _, model, x = zoo["sequential"]
    before = snapshot(model, x)
    seen = []

    def select(layer: keras.layers.Layer, fn: Any) -> Any:
        seen.append(layer)
        if len(seen) == 4:
            raise ValueError("cannot guide this layer")
        return lambda inputs, *args, **kwargs: inputs

    with pytest.raises(ValueError, match="cannot guide"), swap_activations(model, select):
        pass
    assert len(seen) == 4
    assert_unchanged(before, snapshot(model, x))


# --------------------------------------------------------------------------- refusing
class RawRelu(keras.Model):
    """Calls tf.nn.relu inside call(): nothing a layer swap can reach."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = layers.Dense(4, **init(91))
        self.out = layers.Dense(3, activation="softmax", **init(92))

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return self.out(tf.nn.relu(self.hidden(inputs)))


def no_relu() -> keras.Model:
    inputs = keras.Input((5,))
    hidden = layers.Dense(4, activation="tanh")(inputs)
    return keras.Model(inputs, layers.Dense(3, activation="softmax")(hidden))


@pytest.mark.parametrize("make", [RawRelu, no_relu], ids=["subclassed_tf_nn_relu", "tanh_only"])
def test_refuses_a_model_it_cannot_guide(make):
    model = make()
    model(np.zeros((1, 5), "float32"))
    with pytest.raises(xaikit.NoGuidableActivationError, match="model: guided backprop.*no ReLU"):
        xaikit.GuidedBackprop(model)


# --------------------------------------------------------------------------- MobileNetV2
@pytest.fixture(scope="module")
def mobilenet() -> tuple[keras.Model, np.ndarray]:
    """MobileNetV2(weights=None, alpha=0.35) on 32x32x3, seeded and usable.

    Its default initialisation is unseeded, and with untrained BatchNorm statistics the
    signal dies out (all outputs equal, gradients ~1e-12). So the kernels are redrawn from a
    seeded rng, and each BatchNorm's moving statistics are set to one calibration batch's
    (momentum 0 for one training-mode call).
    """
    model = keras.applications.MobileNetV2(
        weights=None, input_shape=(32, 32, 3), alpha=0.35, classes=4
    )
    rng = np.random.default_rng(2024)
    model.set_weights(
        [
            rng.normal(size=w.shape).astype("float32") / np.sqrt(np.prod(w.shape[:-1]))
            if w.ndim >= 2
            else np.asarray(w)
            for w in model.get_weights()
        ]
    )
    norms = [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0
    model(rng.normal(size=(8, 32, 32, 3)).astype("float32"), training=True)
    for layer, momentum in zip(norms, momenta, strict=True):
        layer.momentum = momentum
    return model, rng.normal(size=(2, 32, 32, 3)).astype("float32")


def test_mobilenet_v2_matches_reference_and_is_unchanged(mobilenet):
    model, x = mobilenet
    relus = [layer for layer in model.layers if isinstance(layer, layers.ReLU)]
    assert len(relus) == count_guidable(model) == 35
    assert all(float(layer.max_value) == 6.0 for layer in relus)
    before = snapshot(model, x)
    explanation = xaikit.GuidedBackprop(model).explain(x)
    assert np.all(np.isfinite(explanation.attributions))
    assert np.all(before["outputs"].max(axis=-1) > 0.5), "a dead network would test nothing"
    weights = reference.one_hot(explanation.targets, 4)
    expected = guided_reference(reference.guided_clone(model), x, weights)
    # 50+ layers deep with BatchNorm, float32 rounding grows with depth: measured 2e-5 of
    # the largest attribution, so 3e-4 here (far below the gap to plain gradients, below)
    assert_close(explanation.attributions, expected, rtol=3e-4)
    plain = xaikit.Saliency(model, absolute=False, reducer=None).explain(x, explanation.targets)
    assert not np.allclose(
        plain.attributions, expected, rtol=0.1, atol=0.1 * np.abs(expected).max()
    )
    assert_unchanged(before, snapshot(model, x))
