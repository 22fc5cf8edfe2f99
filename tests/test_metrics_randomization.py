"""The model-randomization sanity check (Adebayo et al., 2018)."""

from __future__ import annotations

import attrs
import keras
import numpy as np
import pytest
import tensorflow as tf

import xaikit
from xaikit.metrics import ModelRandomization
from xaikit.testing import conformance_models


@attrs.frozen(kw_only=True)
class EdgeDetector(xaikit.Explainer):
    """Ignores the model: the gradient magnitude of the image itself (a Sobel-like filter)."""

    def explain_batch(self, inputs, targets):
        dy, dx = tf.image.image_gradients(inputs)
        return tf.sqrt(dy * dy + dx * dx)


@attrs.frozen(kw_only=True)
class SpyGradientTimesInput(xaikit.Explainer):
    """Gradient x input that records the model weights it was run with."""

    seen: list = attrs.field(factory=list, eq=False, repr=False)

    def explain_batch(self, inputs, targets):
        self.seen.append([np.array(w) for w in self.model.get_weights()])
        grads, _ = self.gradients(inputs, targets)
        return grads * inputs


def _init(seed):
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": "zeros",
    }


@pytest.fixture(scope="module")
def trained():
    """A tiny CNN trained (seconds) to tell a blob in the left half from one in the right."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n = 256
    x = rng.normal(0.0, 0.3, size=(n, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 2, n)
    rows = rng.integers(0, 6, n)
    cols = rng.integers(0, 2, n) + np.where(y == 1, 0, 4)
    for i in range(n):
        x[i, rows[i] : rows[i] + 3, cols[i] : cols[i] + 3, 0] += 1.5
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(8, 3, activation="relu", padding="same", **_init(1))(inputs)
    h = keras.layers.Conv2D(8, 3, activation="relu", padding="same", **_init(2))(h)
    h = keras.layers.Dense(16, activation="relu", **_init(3))(keras.layers.Flatten()(h))
    outputs = keras.layers.Dense(2, activation="softmax", **_init(4))(h)
    model = keras.Model(inputs, outputs)
    model.compile(
        keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    history = model.fit(x, y, epochs=5, batch_size=32, verbose=0, shuffle=False)
    assert history.history["accuracy"][-1] > 0.9
    return model, x[:8], y[:8]


def _weights(model):
    return [np.array(w) for w in model.get_weights()]


def test_similarity_drops_as_layers_are_randomized(trained):
    model, x, y = trained
    before = _weights(model)
    result = ModelRandomization(model, explainer=xaikit.Saliency(model))(x, y)
    weighted = [layer.name for layer in model.layers if layer.weights]
    assert result.details["layers"] == weighted[::-1]  # from the output down
    per_stage = result.curves.mean(axis=0)
    assert per_stage[0] < 0.5  # the top layer alone already changes saliency a lot
    assert per_stage[-1] < per_stage[0]  # and it keeps dropping down the cascade
    assert result.mean < 0.5 and not result.higher_is_better
    # the user's model is untouched
    assert all(np.array_equal(a, b) for a, b in zip(before, _weights(model), strict=True))


def test_a_method_that_ignores_the_model_stays_at_one(trained):
    model, x, y = trained
    result = ModelRandomization(model, explainer=EdgeDetector(model))(x, y)
    np.testing.assert_allclose(result.curves, 1.0, atol=1e-12)
    assert result.mean == pytest.approx(1.0)
    pearson = ModelRandomization(model, explainer=EdgeDetector(model), similarity="pearson")
    np.testing.assert_allclose(pearson(x, y).scores, 1.0, atol=1e-12)


def _ranks(values):
    """Average ranks with ties, by a plain loop."""
    order = sorted(range(len(values)), key=lambda k: values[k])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        stop = start
        while stop + 1 < len(order) and values[order[stop + 1]] == values[order[start]]:
            stop += 1
        for k in range(start, stop + 1):
            ranks[order[k]] = (start + stop) / 2
        start = stop + 1
    return np.array(ranks)


def _grad_times_input(model, x, target):
    sample = tf.constant(x[None])
    with tf.GradientTape() as tape:
        tape.watch(sample)
        score = model(sample)[0, target]
    return (tape.gradient(score, sample)[0] * sample[0]).numpy()


@pytest.mark.parametrize("cascading", [True, False])
def test_randomization_matches_a_loop(cascading):
    model, x = conformance_models()["image"]  # conv, conv, dense (+ softmax)
    x, targets = x[:3], np.array([0, 1, 2])
    spy = SpyGradientTimesInput(model, batch_size=64)
    original = spy.explain(x, targets)
    metric = ModelRandomization(model, explainer=spy, cascading=cascading, seed=7)
    result = metric(x, attributions=original)
    trained_weights, stages = spy.seen[0], spy.seen[1:]
    assert len(stages) == 3 and result.curves.shape == (3, 3)
    assert all(np.array_equal(a, b) for a, b in zip(trained_weights, _weights(model), strict=True))
    twin = keras.models.clone_model(model)
    for stage, weights in enumerate(stages):
        pairs = enumerate(zip(trained_weights, weights, strict=True))
        changed = {k for k, (a, b) in pairs if not np.array_equal(a, b)}
        first = 4 - 2 * stage  # weights: conv (0, 1), conv (2, 3), dense (4, 5)
        top = set(range(first, 6)) if cascading else set(range(first, first + 2))
        assert changed == top, (stage, changed)
        twin.set_weights(weights)
        for i in range(len(x)):
            randomized = _grad_times_input(twin, x[i], targets[i])
            a = _ranks(np.abs(original.attributions[i]).ravel())
            b = _ranks(np.abs(randomized).ravel())
            expected = np.corrcoef(a, b)[0, 1]
            assert result.curves[i, stage] == pytest.approx(expected, abs=1e-4)
    np.testing.assert_allclose(result.scores, result.curves.mean(axis=1))
    assert result.details["cascading"] is cascading


def test_only_chosen_layers_are_randomized():
    model, x = conformance_models()["tabular"]
    names = [layer.name for layer in model.layers if layer.weights]
    spy = SpyGradientTimesInput(model)
    result = ModelRandomization(model, explainer=spy, layers=[names[0]])(x, 0)
    assert result.details["layers"] == [names[0]] and result.curves.shape == (len(x), 1)


@attrs.frozen(kw_only=True)
class _Doubled(xaikit.Explainer):
    """A wrapper that takes its model from the explainer it wraps (as SmoothGrad does)."""

    method: xaikit.Explainer = attrs.field(kw_only=False)
    model: object = attrs.field(init=False, repr=False)

    batch_size: int = 8  # redefined after model: the base's default reads self.model

    @model.default
    def _model(self):
        return self.method.model

    def explain_batch(self, inputs, targets):
        return 2.0 * self.method.explain_batch(inputs, targets).attributions


def test_randomization_rebinds_a_wrapped_explainer_to_the_randomized_copies():
    model, x = conformance_models()["image"]
    wrapped = ModelRandomization(model, explainer=_Doubled(xaikit.Saliency(model)))(x[:3])
    plain = ModelRandomization(model, explainer=xaikit.Saliency(model, reducer=None))(x[:3])
    # doubling changes no rank: the wrapper must see exactly the same randomized models
    np.testing.assert_allclose(wrapped.scores, plain.scores, atol=1e-6)
    assert np.all(wrapped.scores < 1.0)


def test_layers_of_a_nested_model_are_ordered_from_input_to_output():
    from xaikit.metrics.randomization import weighted_layers

    layers = keras.layers
    backbone = keras.Sequential([layers.Dense(5, name="first"), layers.Dense(5, name="second")])
    model = keras.Sequential([keras.Input((6,)), backbone, layers.Dense(3, name="out")])
    names = [layer.name for layer in weighted_layers(model)]
    assert names == ["first", "second", "out"]  # a breadth-first walk gave second, first, out
