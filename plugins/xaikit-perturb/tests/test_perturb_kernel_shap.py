"""Kernel SHAP against closed forms (linear models) and brute-force Shapley values."""

from __future__ import annotations

import itertools
import math

import keras
import numpy as np
import pytest
from xaikit_perturb import KernelShap

import xaikit
from xaikit.errors import InputError
from xaikit.testing import check_explainer, conformance_models


def dense_model(features: int, hidden: int | None, seed: int = 0) -> keras.Model:
    """A regression model (N, features) -> (N, 1): linear, or one tanh hidden layer."""
    inputs = keras.Input((features,))
    init = keras.initializers.RandomNormal(stddev=0.8, seed=seed)
    out = inputs
    if hidden:
        out = keras.layers.Dense(hidden, activation="tanh", kernel_initializer=init)(out)
        out = keras.layers.Dense(hidden, activation="relu", kernel_initializer=init)(out)
    out = keras.layers.Dense(1, kernel_initializer=init, bias_initializer="ones")(out)
    return keras.Model(inputs, out)


def brute_force_shapley(model: keras.Model, x: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Exact Shapley values in float64 by the formula, looping over every subset.

    ``v(S) = mean_b f(x on S, b elsewhere)``;
    ``phi_j = sum_{S without j} |S|! (M - |S| - 1)! / M! (v(S + j) - v(S))``.
    """
    m = x.shape[-1]

    def value(subset: tuple[int, ...]) -> float:
        copies = background.copy()
        copies[:, list(subset)] = x[list(subset)]
        return float(np.asarray(model(copies), dtype=np.float64)[:, 0].mean())

    cache: dict[tuple[int, ...], float] = {}
    for size in range(m + 1):
        for subset in itertools.combinations(range(m), size):
            cache[subset] = value(subset)
    phi = np.zeros(m)
    for j in range(m):
        others = [i for i in range(m) if i != j]
        for size in range(m):
            weight = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
            for subset in itertools.combinations(others, size):
                with_j = tuple(sorted((*subset, j)))
                phi[j] += weight * (cache[with_j] - cache[subset])
    return phi


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.normal(size=(4, 6)).astype("float32"), rng.normal(size=(5, 6)).astype("float32")


# --------------------------------------------------------------------------- conformance
def test_check_explainer_by_name():
    check_explainer("kernel_shap")


def test_check_explainer_with_a_background_and_sampled_coalitions():
    rng = np.random.default_rng(0)
    backgrounds = {
        (6,): rng.normal(size=(3, 6)),
        (12, 2): rng.normal(size=(3, 12, 2)),
        (8, 8, 3): rng.normal(size=(3, 8, 8, 3)),
    }

    def factory(model: keras.Model) -> KernelShap:
        background = backgrounds[tuple(model.inputs[0].shape[1:])].astype("float32")
        return KernelShap(model, background=background, num_samples=40, seed=1)

    check_explainer(factory)


def test_get_explainer_works_without_a_background():
    model, x = conformance_models()["tabular"]
    explanation = xaikit.get_explainer("kernel_shap", model).explain(x)
    assert explanation.attributions.shape == x.shape
    np.testing.assert_allclose(explanation.convergence_delta, 0.0, atol=1e-5)


# --------------------------------------------------------------------------- references
def test_linear_model_gives_weights_times_distance_to_the_background_mean(data):
    x, background = data
    model = dense_model(6, None)
    weights = np.asarray(model.layers[-1].kernel, dtype=np.float64)[:, 0]
    got = KernelShap(model, background=background, operator="regression").explain(x)
    expected = weights * (x - background.astype(np.float64).mean(axis=0))
    np.testing.assert_allclose(got.attributions, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got.convergence_delta, 0.0, atol=1e-5)


def test_exhaustive_enumeration_is_exact_on_a_nonlinear_model(data):
    x, background = data
    model = dense_model(6, 8)
    got = KernelShap(model, background=background, operator="regression").explain(x)
    for i in range(len(x)):
        expected = brute_force_shapley(model, x[i].astype(np.float64), background)
        assert np.abs(expected).max() > 0.05
        np.testing.assert_allclose(got.attributions[i], expected, rtol=1e-4, atol=2e-5)


def test_sampled_coalitions_approach_the_exact_values():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 8)).astype("float32")
    background = rng.normal(size=(4, 8)).astype("float32")
    model = dense_model(8, 16, seed=2)
    exact = np.stack([brute_force_shapley(model, row.astype(np.float64), background) for row in x])
    scale = np.abs(exact).max()
    errors = {}
    for count in (60, 240):  # both below 2**8 - 2 = 254: sampled, not enumerated
        got = KernelShap(
            model, background=background, num_samples=count, seed=0, operator="regression"
        ).explain(x)
        np.testing.assert_allclose(got.convergence_delta, 0.0, atol=1e-5)  # exact always
        errors[count] = np.sqrt(np.mean((got.attributions - exact) ** 2))
    assert errors[240] < 0.02 * scale, errors
    assert errors[60] < 0.06 * scale, errors
    assert errors[240] < errors[60], errors


def test_grouped_columns_are_shapley_values_of_the_groups(data):
    x, background = data
    model = dense_model(6, 8, seed=4)
    groups = np.array([0, 0, 1, 1, 2, 2])
    got = KernelShap(
        model, background=background, segmentation=groups, operator="regression"
    ).explain(x[:2])
    for i in range(2):
        # Shapley values of the 3-player game on groups, by the same formula.
        players = [np.flatnonzero(groups == g) for g in range(3)]

        def value(subset, i=i, players=players):
            copies = background.astype(np.float64)
            for p in subset:
                copies[:, players[p]] = x[i, players[p]]
            return float(np.asarray(model(copies), dtype=np.float64)[:, 0].mean())

        phi = np.zeros(3)
        for j in range(3):
            others = [p for p in range(3) if p != j]
            for size in range(3):
                w = math.factorial(size) * math.factorial(2 - size) / 6
                for subset in itertools.combinations(others, size):
                    phi[j] += w * (value((*subset, j)) - value(subset))
        per_group = [got.attributions[i, players[g]] for g in range(3)]
        for g in range(3):  # each group's value divided evenly over its two columns
            np.testing.assert_allclose(per_group[g], phi[g] / 2, rtol=1e-4, atol=2e-5)


def test_image_attributions_sum_to_the_score_difference():
    model, x = conformance_models()["image"]
    background = np.random.default_rng(2).normal(size=(2, 8, 8, 3)).astype("float32")
    got = KernelShap(model, background=background, num_samples=100, seed=0).explain(x[:3])
    np.testing.assert_allclose(got.convergence_delta, 0.0, atol=1e-5)
    assert np.abs(got.attributions).max() > 0


# --------------------------------------------------------------------------- behaviour
def test_seeded_results_repeat_and_do_not_depend_on_batch_size():
    model, x = conformance_models()["image"]
    first = KernelShap(model, num_samples=50, seed=5, batch_size=64).explain(x).attributions
    again = KernelShap(model, num_samples=50, seed=5, batch_size=7).explain(x).attributions
    other = KernelShap(model, num_samples=50, seed=6).explain(x).attributions
    np.testing.assert_allclose(again, first, rtol=1e-4, atol=1e-6)
    assert not np.allclose(other, first)


@pytest.mark.parametrize(
    ("params", "argument"),
    [
        ({"background": np.zeros((3, 5))}, "background"),
        ({"background": np.zeros(6)}, "background"),
        ({"background": "zeros"}, "background"),
        ({"background": np.full((2, 6), np.nan)}, "background"),
        ({"num_samples": 0}, "num_samples"),
        ({"seed": -1}, "seed"),
        ({"segmentation": "slic"}, "segmentation"),
        ({"segmentation": "watershed"}, "segmentation"),
        ({"segmentation": np.zeros(4, dtype=int)}, "segmentation"),
    ],
)
def test_bad_parameters_name_the_argument(params, argument):
    model, x = conformance_models()["tabular"]
    with pytest.raises(InputError, match=f"^{argument}"):
        KernelShap(model, **params).explain(x)


def test_background_is_checked_against_the_inputs_of_a_model_without_a_known_shape():
    class Subclassed(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    model = Subclassed()
    model(np.zeros((1, 4), "float32"))
    explainer = KernelShap(model, background=np.zeros((2, 3), "float32"))
    with pytest.raises(InputError, match=r"^background: .*\(B, 4\)"):
        explainer.explain(np.ones((2, 4), "float32"))
