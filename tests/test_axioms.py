"""xaikit.axioms: completeness and sensitivity find what they should, and only that."""

from __future__ import annotations

import attrs
import keras
import numpy as np
import pytest
import tensorflow as tf

import xaikit
from xaikit.axioms import completeness, sensitivity


def saturating_model() -> keras.Model:
    """f(x) = sum_i (1 - relu(1 - x_i)) on 2 features: flat (zero gradient) for x_i > 1.

    The classic example where gradients miss a feature that changed the output: from the
    baseline 0 to x_i = 2 the output grows by 1, yet d f / d x_i = 0 at x_i = 2.
    """
    inputs = keras.Input((2,))
    hidden = keras.layers.Dense(2, activation="relu")
    out = keras.layers.Dense(1)
    model = keras.Model(inputs, out(hidden(inputs)))
    hidden.set_weights([-np.eye(2, dtype="float32"), np.ones(2, "float32")])
    out.set_weights([-np.ones((2, 1), "float32"), np.array([2.0], "float32")])
    return model


X = np.array([[2.0, 2.0], [0.5, 2.0], [3.0, 0.25]], dtype="float32")


def test_sensitivity_finds_no_violation_for_integrated_gradients():
    explainer = xaikit.IntegratedGradients(saturating_model(), operator="regression", steps=16)
    violated = sensitivity(explainer, X)
    assert violated.shape == (3, 2) and violated.dtype == bool
    assert not violated.any()


def test_sensitivity_finds_the_saturated_features_of_plain_gradients():
    explainer = xaikit.Saliency(saturating_model(), operator="regression", absolute=False)
    violated = sensitivity(explainer, X)
    # exactly the features above 1, where the gradient is zero but the output moved
    np.testing.assert_array_equal(violated, X > 1.0)


def test_sensitivity_on_a_classifier(cases):
    case = cases["mlp"]
    assert not sensitivity(xaikit.IntegratedGradients(case.model, steps=8), case.x).any()


@attrs.frozen(kw_only=True)
class Zeros(xaikit.Explainer):
    """Deliberately bad: attributes nothing to anything."""

    def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        return tf.zeros_like(inputs)


def test_sensitivity_flags_every_moving_feature_of_a_null_explainer(cases):
    case = cases["regression"]
    violated = sensitivity(Zeros(case.model, operator="regression"), case.x)
    assert violated.shape == case.x.shape and violated.all()


def test_completeness_is_exact_for_ig_on_a_linear_model():
    """On f(x) = w.x + b the gradient is constant, so any rule and steps=1 is exact."""
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(1)
    model = keras.Model(inputs, dense(inputs))
    dense.set_weights(
        [np.array([[1.5], [-2.0], [0.5], [3.0]], "float32"), np.array([0.7], "float32")]
    )
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    for rule in ("trapezoid", "riemann_left", "gauss_legendre"):
        explainer = xaikit.IntegratedGradients(model, operator="regression", steps=1, rule=rule)
        np.testing.assert_allclose(completeness(explainer, x), 0.0, atol=1e-5)
    # a baseline other than zero must be passed to both
    base = np.full(4, 0.3, "float32")
    explainer = xaikit.IntegratedGradients(model, operator="regression", baseline=base, steps=1)
    np.testing.assert_allclose(completeness(explainer, x, baseline=base), 0.0, atol=1e-5)
    assert np.abs(completeness(explainer, x)).max() > 0.1  # wrong baseline: visible residual


def test_completeness_flags_a_method_that_does_not_sum_up():
    explainer = xaikit.Saliency(saturating_model(), operator="regression")
    residual = completeness(explainer, X)
    # f(x) - f(0) per sample is 2, 1.5, 1.25; |gradient| sums to 0, 1, 1
    np.testing.assert_allclose(residual, [-2.0, -0.5, -0.25], atol=1e-6)


@pytest.mark.parametrize("name", ["mlp", "cnn2d"])
def test_completeness_matches_the_reported_delta(cases, name):
    case = cases[name]
    explainer = xaikit.IntegratedGradients(case.model, steps=10)
    np.testing.assert_allclose(
        completeness(explainer, case.x), explainer.explain(case.x).convergence_delta, atol=2e-6
    )
