"""kernel_shap side by side with the shap package's KernelExplainer (test extra: shap)."""

from __future__ import annotations

import itertools
from math import factorial

import keras
import numpy as np
import pytest
from xaikit_perturb import KernelShap

shap = pytest.importorskip("shap")


def tabular_model(features: int) -> keras.Model:
    init = keras.initializers.RandomNormal(stddev=0.7, seed=5)
    inputs = keras.Input((features,))
    hidden = keras.layers.Dense(12, activation="tanh", kernel_initializer=init)(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, kernel_initializer=init)(hidden))


def exact_shapley(model: keras.Model, x: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Exact Shapley values of one sample, every coalition scored in one batched call."""
    m = len(x)
    subsets = np.array(list(itertools.product([False, True], repeat=m)))
    copies = np.where(subsets[:, None, :], x, background[None]).reshape(-1, m)
    scores = np.asarray(model.predict(copies, batch_size=8192, verbose=0), np.float64)
    means = scores.reshape(len(subsets), -1).mean(axis=1)
    value = {tuple(s): v for s, v in zip(subsets, means, strict=True)}
    phi = np.zeros(m)
    for z, v in value.items():
        k = sum(z)
        for j in range(m):
            if not z[j]:
                continue
            without = list(z)
            without[j] = False
            weight = factorial(k - 1) * factorial(m - k) / factorial(m)
            phi[j] += weight * (v - value[tuple(without)])
    return phi


def shap_values(model: keras.Model, x: np.ndarray, background: np.ndarray, n: int) -> np.ndarray:
    explainer = shap.KernelExplainer(
        lambda rows: np.asarray(model(rows.astype("float32")))[:, 0], background
    )
    return np.asarray(explainer.shap_values(x, nsamples=n, l1_reg=False, silent=True))


def test_agrees_with_shap_when_both_enumerate_every_coalition():
    rng = np.random.default_rng(0)
    model = tabular_model(6)
    x = rng.normal(size=(4, 6)).astype("float32")
    background = rng.normal(size=(8, 6)).astype("float32")
    ours = KernelShap(model, background=background, operator="regression").explain(x)
    theirs = shap_values(model, x, background, 2048)
    np.testing.assert_allclose(ours.attributions, theirs, rtol=1e-4, atol=1e-5)


def test_agrees_with_shap_within_sampling_error_on_sampled_coalitions():
    rng = np.random.default_rng(1)
    m = 11
    model = tabular_model(m)
    x = rng.normal(size=(3, m)).astype("float32")
    background = rng.normal(size=(4, m)).astype("float32")
    exact = np.stack([exact_shapley(model, row, background) for row in x])
    ours = KernelShap(
        model, background=background, num_samples=600, seed=0, operator="regression"
    ).explain(x)
    np.random.seed(0)  # noqa: NPY002 (the reference draws from numpy's global generator)
    theirs = shap_values(model, x, background, 600)
    error_ours = np.sqrt(np.mean((ours.attributions - exact) ** 2))
    error_theirs = np.sqrt(np.mean((theirs - exact) ** 2))
    scale = np.abs(exact).max()
    assert error_ours < 0.02 * scale, (error_ours, error_theirs, scale)
    # Same order of error as the reference estimator.
    assert error_ours < 3 * error_theirs + 0.01 * scale, (error_ours, error_theirs, scale)
    np.testing.assert_allclose(ours.attributions, theirs, atol=0.06 * scale)
