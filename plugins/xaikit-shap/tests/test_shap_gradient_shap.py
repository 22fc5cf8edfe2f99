"""Gradient SHAP against a float64 loop over the same drawn paths, completeness, errors."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf
from xaikit_shap import GradientShap

import xaikit
from xaikit.errors import InputError
from xaikit.testing import check_explainer

layers = keras.layers


def init(seed: int) -> dict[str, Any]:
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": keras.initializers.RandomUniform(-0.2, 0.2, seed=seed + 100),
    }


def build_mlp(dtype: str = "float32") -> keras.Model:
    """(6,) -> 10 relu -> 8 tanh -> 3 softmax."""
    inputs = keras.Input((6,), dtype=dtype)
    h = layers.Dense(10, activation="relu", dtype=dtype, **init(1))(inputs)
    h = layers.Dense(8, activation="tanh", dtype=dtype, **init(2))(h)
    outputs = layers.Dense(3, activation="softmax", dtype=dtype, **init(3))(h)
    return keras.Model(inputs, outputs)


def build_cnn(dtype: str = "float32") -> keras.Model:
    """(8, 8, 2) -> Conv2D relu -> avgpool -> Conv2D relu -> flatten -> 3 softmax."""
    inputs = keras.Input((8, 8, 2), dtype=dtype)
    h = layers.Conv2D(4, 3, activation="relu", padding="same", dtype=dtype, **init(11))(inputs)
    h = layers.AveragePooling2D(2, dtype=dtype)(h)
    h = layers.Conv2D(3, 2, activation="relu", dtype=dtype, **init(12))(h)
    h = layers.Flatten(dtype=dtype)(h)
    outputs = layers.Dense(3, activation="softmax", dtype=dtype, **init(13))(h)
    return keras.Model(inputs, outputs)


def build_linear(dtype: str = "float32") -> keras.Model:
    """(6,) -> 2 linear outputs (regression)."""
    inputs = keras.Input((6,), dtype=dtype)
    return keras.Model(inputs, layers.Dense(2, dtype=dtype, **init(21))(inputs))


BUILDERS = {"mlp": build_mlp, "cnn": build_cnn}


def data(builder: Any, n: int, b: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    shape = tuple(builder().inputs[0].shape[1:])
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)).astype("float32")
    background = rng.normal(0.3, 0.8, size=(b, *shape)).astype("float32")
    return x, background


def float64_copy(builder: Any, model: keras.Model) -> keras.Model:
    copy = builder("float64")
    copy.set_weights(model.get_weights())
    return copy


def reference(
    model64: keras.Model,
    x: np.ndarray,
    weights: np.ndarray,
    background: np.ndarray,
    drawn: dict[str, np.ndarray],
    noise: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient SHAP as a loop of eager float64 tapes, one per (sample, path).

    Returns the attributions (N, ...) and the mean score of each sample's baselines (N,).
    """
    index, alphas, seeds = drawn["baseline_index"], drawn["alphas"], drawn["noise_seeds"]
    attributions, base_scores = [], []
    for i, sample in enumerate(np.asarray(x, np.float64)):
        target = tf.constant(weights[i][None], tf.float64)
        total = np.zeros_like(sample)
        base_total = 0.0
        for s in range(index.shape[1]):
            base = np.asarray(background[index[i, s]], np.float64)
            eps = tf.random.stateless_normal(sample.shape, seeds[i, s], dtype=tf.float32)
            end = sample + noise * eps.numpy().astype(np.float64)
            alpha = float(np.float32(alphas[i, s]))  # the kernel gets the alphas in float32
            point = tf.constant((base + alpha * (end - base))[None])
            with tf.GradientTape() as tape:
                tape.watch(point)
                score = tf.reduce_sum(model64(point) * target)
            total += (sample - base) * tape.gradient(score, point).numpy()[0]
            base_total += float(tf.reduce_sum(model64(tf.constant(base[None])) * target))
        attributions.append(total / index.shape[1])
        base_scores.append(base_total / index.shape[1])
    return np.stack(attributions), np.array(base_scores)


def assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-4) -> None:
    scale = float(np.max(np.abs(expected)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def scores64(model64: keras.Model, x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return (np.asarray(model64(np.asarray(x, np.float64))) * weights).sum(axis=-1)


# --------------------------------------------------------------------------- conformance
def test_check_explainer_by_name():
    check_explainer("gradient_shap")  # seeded through its declared seed field


def test_check_explainer_with_noise_and_a_background():
    def factory(model: keras.Model) -> GradientShap:
        shape = tuple(model.inputs[0].shape[1:])
        background = np.random.default_rng(3).normal(size=(5, *shape)).astype("float32")
        return GradientShap(model, background=background, num_samples=4, noise=0.1, seed=0)

    check_explainer(factory)


# --------------------------------------------------------------------------- reference
@pytest.mark.parametrize("noise", [0.0, 0.3])
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_matches_a_float64_loop_over_the_same_draws(name, noise):
    builder = BUILDERS[name]
    model = builder()
    x, background = data(builder, n=3, b=5)
    explainer = GradientShap(
        model, background=background, num_samples=7, noise=noise, seed=4, batch_size=5
    )
    weights = np.eye(3)[[0, 2, 1]]  # explicit targets, not the top class
    explanation = explainer.explain(x, weights)
    drawn = explainer.prepare(x, weights)
    model64 = float64_copy(builder, model)
    expected, base_scores = reference(model64, x, weights, background, drawn, noise)
    assert explanation.attributions.shape == x.shape
    assert_close(explanation.attributions, expected)
    delta = expected.reshape(3, -1).sum(axis=1) - (scores64(model64, x, weights) - base_scores)
    np.testing.assert_allclose(explanation.convergence_delta, delta, rtol=0, atol=2e-6)


def test_prepare_draws_indices_alphas_and_seeds_as_documented():
    x, background = data(build_mlp, n=4, b=3)
    explainer = GradientShap(build_mlp(), background=background, num_samples=9, seed=1)
    drawn = explainer.prepare(x, np.eye(3)[[0, 1, 2, 0]])
    assert drawn["baseline_index"].shape == (4, 9) and drawn["baseline_index"].dtype == np.int64
    assert set(np.unique(drawn["baseline_index"])) <= {0, 1, 2}
    assert drawn["alphas"].shape == (4, 9)
    assert np.all((drawn["alphas"] >= 0) & (drawn["alphas"] < 1))
    assert drawn["noise_seeds"].shape == (4, 9, 2)
    again = explainer.prepare(x, None)
    for key, value in drawn.items():
        np.testing.assert_array_equal(again[key], value)
    noisy = GradientShap(build_mlp(), background=background, num_samples=9, seed=1, noise=0.5)
    np.testing.assert_array_equal(noisy.prepare(x, None)["alphas"], drawn["alphas"])
    fresh = GradientShap(build_mlp(), background=background, num_samples=9)
    assert not np.array_equal(fresh.prepare(x, None)["alphas"], fresh.prepare(x, None)["alphas"])


# --------------------------------------------------------------------------- completeness
@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_exact_completeness_on_a_linear_model_for_every_draw(noise):
    model = build_linear()
    x, background = data(build_linear, n=5, b=4, seed=2)
    for seed in range(3):
        explainer = GradientShap(
            model,
            background=background,
            num_samples=3,
            noise=noise,
            seed=seed,
            operator="regression",
        )
        explanation = explainer.explain(x, 1)
        np.testing.assert_allclose(explanation.convergence_delta, 0.0, atol=2e-6)
        # and the delta's baseline term is the mean score of the drawn baselines
        index = explainer.prepare(x, None)["baseline_index"]
        f_background = np.asarray(model(background))[:, 1]
        expected = explanation.scores - f_background[index].mean(axis=1)
        totals = explanation.attributions.sum(axis=1)
        np.testing.assert_allclose(totals, expected, rtol=1e-5, atol=1e-5)


def test_completeness_in_expectation_on_a_nonlinear_model():
    """sum(attributions) -> f(x) - E_background f(b) as the number of paths grows."""
    model = build_mlp()
    x, background = data(build_mlp, n=3, b=6, seed=5)
    explainer = GradientShap(model, background=background, num_samples=4000, seed=0)
    explanation = explainer.explain(x)
    weights = np.eye(3)[explanation.targets]
    expected = explanation.scores - (np.asarray(model(background)) @ weights.T).mean(axis=0)
    totals = explanation.attributions.sum(axis=1)
    np.testing.assert_allclose(totals, expected, atol=0.01)
    assert np.all(np.abs(explanation.convergence_delta) < 0.01)
    # a few paths per sample are noisy, but their mean over independent draws converges
    # too: 300 copies of each sample in one call, each copy with its own 5 paths
    few = GradientShap(model, background=background, num_samples=5, seed=1)
    copies = few.explain(np.repeat(x, 300, axis=0), np.repeat(explanation.targets, 300))
    mean_totals = copies.attributions.sum(axis=1).reshape(3, 300).mean(axis=1)
    np.testing.assert_allclose(mean_totals, expected, atol=0.02)


def test_default_background_is_integrated_gradients_from_zero():
    model = build_cnn()
    x, _ = data(build_cnn, n=2, b=1)
    explainer = GradientShap(model, num_samples=3000, seed=0)
    assert explainer.background is None
    got = explainer.explain(x)
    ig = xaikit.IntegratedGradients(model, baseline=0.0, steps=128).explain(x)
    scale = float(np.abs(ig.attributions).max())
    np.testing.assert_allclose(got.attributions, ig.attributions, atol=0.1 * scale)
    np.testing.assert_allclose(
        got.attributions.reshape(2, -1).sum(axis=1),
        ig.attributions.reshape(2, -1).sum(axis=1),
        atol=0.01,
    )
    # every path starts at zero: the baseline term is f(0)
    f_zero = np.asarray(model(np.zeros((1, *x.shape[1:]), "float32")))[0, got.targets]
    totals = got.attributions.reshape(2, -1).sum(axis=1)
    np.testing.assert_allclose(totals - got.convergence_delta, got.scores - f_zero, atol=1e-5)


def test_chunks_never_exceed_batch_size():
    def bounded(model: Any, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        rows = tf.shape(inputs)[0]
        check = tf.debugging.assert_less_equal(rows, 4, message="chunk larger than batch_size")
        with tf.control_dependencies([check]):
            return tf.reduce_sum(model(inputs) * targets, axis=-1)

    x, background = data(build_mlp, n=5, b=3)
    explainer = GradientShap(
        build_mlp(),
        background=background,
        num_samples=11,
        seed=0,
        batch_size=4,
        operator=bounded,
    )
    explanation = explainer.explain(x)  # 55 rows, 4 at a time, or the assertion fails
    assert explanation.attributions.shape == x.shape


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"num_samples": 0}, "num_samples: expected an integer >= 1"),
        ({"noise": -0.1}, "noise: expected a finite number >= 0"),
        ({"seed": -1}, "seed: expected None or an integer >= 0"),
        ({"background": "zeros"}, "background: expected None or a numeric array"),
        ({"background": np.zeros(6)}, r"background: expected an array \(B, ...\)"),
        ({"background": np.full((2, 6), np.nan)}, "background: expected finite values"),
        ({"background": np.zeros((2, 5))}, r"background: expected samples of the model's input"),
    ],
)
def test_bad_parameters_raise_input_errors_naming_them(params, message):
    with pytest.raises(InputError, match=message):
        GradientShap(build_mlp(), **params)


def test_a_background_of_another_shape_is_refused_at_explain_time_for_subclassed_models():
    class Tiny(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.dense = layers.Dense(2, activation="softmax")

        def call(self, inputs: Any) -> Any:
            return self.dense(inputs)

    model = Tiny()
    model(np.zeros((1, 6), "float32"))
    explainer = GradientShap(model, background=np.zeros((3, 4), "float32"), seed=0)
    with pytest.raises(InputError, match=r"background: .*\(B, 6\), got shape \(3, 4\)"):
        explainer.explain(np.ones((2, 6), "float32"))


# --------------------------------------------------------------------------- the registry
def test_registered_by_its_entry_point():
    model = build_mlp()
    assert "gradient_shap" in xaikit.list_methods()
    explainer = xaikit.get_explainer("gradient_shap", model, num_samples=3, seed=0)
    assert isinstance(explainer, GradientShap)
    assert xaikit.capabilities_of(GradientShap).seed == "seed"
    assert explainer.explain(np.ones((2, 6), "float32")).method == "gradient_shap"
    installed = importlib.metadata.entry_points(group="xaikit")
    without = [e for e in installed if e.name != "xaikit_shap"]
    assert len(without) == len(installed) - 1
    assert "gradient_shap" not in xaikit.Registry(entry_points=lambda: without).names("methods")
