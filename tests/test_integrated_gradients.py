"""IntegratedGradients against the naive float64 path integral, its delta and its baselines."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import reference
import tensorflow as tf
from conftest import init
from reference import assert_close

import xaikit
from xaikit.axioms import completeness

RULES = ("trapezoid", "riemann_left", "riemann_right", "riemann_middle", "gauss_legendre")


def gaps(case, baselines, weights):
    """f(x) - f(baseline) per sample, in float64."""
    model = case.copy64()
    return np.array(
        [
            reference.score(model, s, w) - reference.score(model, b, w)
            for s, b, w in zip(case.x, baselines, weights, strict=True)
        ]
    )


def check_delta(explanation, expected_delta):
    """The reported delta is the float64 reference's, to float32 noise of the scores (<= 1)."""
    np.testing.assert_allclose(explanation.convergence_delta, expected_delta, rtol=0, atol=5e-6)


def test_default_matches_reference_and_delta_is_near_zero(case):
    explainer = xaikit.IntegratedGradients(case.model, operator=case.operator, batch_size=7)
    assert (explainer.steps, explainer.rule) == (50, "trapezoid")
    explanation = explainer.explain(case.x)
    zeros = np.zeros_like(case.x)
    expected, delta = reference.integrated_gradients(
        case.copy64(), case.x, zeros, case.weights(), "trapezoid", 50
    )
    assert_close(explanation.attributions, expected)
    check_delta(explanation, delta)
    # near zero: within 2% of the explained change f(x) - f(0) (or of 1, whichever is larger)
    gap = gaps(case, zeros, case.weights())
    assert np.all(np.abs(explanation.convergence_delta) <= 0.02 * np.maximum(1.0, np.abs(gap)))


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_matches_its_hand_written_reference(cases, rule):
    """steps=7 and batch_size=5: chunks cut across path points and samples."""
    for case in cases.values():
        explainer = xaikit.IntegratedGradients(
            case.model, operator=case.operator, steps=7, rule=rule, batch_size=5
        )
        explanation = explainer.explain(case.x)
        expected, delta = reference.integrated_gradients(
            case.copy64(), case.x, np.zeros_like(case.x), case.weights(), rule, 7
        )
        assert_close(explanation.attributions, expected)
        check_delta(explanation, delta)


def test_every_target_form(cases):
    for case in cases.values():
        explainer = xaikit.IntegratedGradients(case.model, operator=case.operator, steps=6)
        for form, targets in case.targets_forms().items():
            explanation = explainer.explain(case.x, targets)
            expected, delta = reference.integrated_gradients(
                case.copy64(), case.x, np.zeros_like(case.x), case.weights(targets), steps=6
            )
            assert_close(explanation.attributions, expected, what=f"{case.name} {form}")
            check_delta(explanation, delta)


def test_reducer_applies_after_the_delta(cases):
    case = cases["cnn2d"]
    explanation = xaikit.IntegratedGradients(case.model, steps=6, reducer="sum").explain(case.x)
    expected, delta = reference.integrated_gradients(
        case.copy64(), case.x, np.zeros_like(case.x), case.weights(), steps=6
    )
    assert_close(explanation.attributions, expected.sum(axis=-1))
    check_delta(explanation, delta)


# --------------------------------------------------------------------------- baselines
def _baseline_forms(x):
    rng = np.random.default_rng(7)
    one = rng.normal(size=x.shape[1:]).astype("float32")
    per_sample = rng.normal(size=x.shape).astype("float32")
    return {
        "number": (0.5, np.full_like(x, 0.5)),
        "one_sample": (one, np.broadcast_to(one, x.shape)),
        "one_sample_tensor": (tf.constant(one), np.broadcast_to(one, x.shape)),
        "per_sample": (per_sample, per_sample),
        "leading_one": (one[None], np.broadcast_to(one, x.shape)),
    }


@pytest.mark.parametrize(
    "form", ["number", "one_sample", "one_sample_tensor", "per_sample", "leading_one"]
)
@pytest.mark.parametrize("name", ["mlp", "cnn2d"])
def test_baseline_forms(cases, name, form):
    case = cases[name]
    baseline, full = _baseline_forms(case.x)[form]
    explainer = xaikit.IntegratedGradients(case.model, baseline=baseline, steps=5, batch_size=4)
    explanation = explainer.explain(case.x)
    expected, delta = reference.integrated_gradients(
        case.copy64(), case.x, full, case.weights(), steps=5
    )
    assert_close(explanation.attributions, expected)
    check_delta(explanation, delta)


@pytest.mark.parametrize("shape", [(7,), (2, 6), (4, 6)])
def test_non_broadcastable_baseline_is_refused_at_explain(cases, shape):
    case = cases["mlp"]  # inputs (3, 6)
    explainer = xaikit.IntegratedGradients(case.model, baseline=np.zeros(shape, "float32"))
    with pytest.raises(xaikit.InputError, match=r"baseline: expected .*got shape"):
        explainer.explain(case.x)


@pytest.mark.parametrize("baseline", ["zero", None, np.nan, [np.inf, 0.0]])
def test_non_numeric_or_non_finite_baseline_is_refused_at_construction(cases, baseline):
    with pytest.raises(xaikit.InputError, match="baseline: expected"):
        xaikit.IntegratedGradients(cases["mlp"].model, baseline=baseline)


# --------------------------------------------------------------------------- convergence
@pytest.fixture(scope="module")
def smooth():
    """A smooth (tanh) classifier and inputs spread enough for the path to curve.

    ReLU networks are piecewise linear, so their quadrature error is dominated by kinks and
    does not decrease at each rule's textbook rate; a smooth model shows the rates.
    """
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="tanh", **init(41))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", **init(42))(hidden))
    x = 2 * np.random.default_rng(5).normal(size=(3, 4)).astype("float32")
    return model, x


# order of the rule's error term: delta(4) / delta(16) is about 4 ** order
ORDER = {
    "riemann_left": 1,
    "riemann_right": 1,
    "trapezoid": 2,
    "riemann_middle": 2,
    "gauss_legendre": 4,  # exponential really; 4 is a floor
}
FLOAT32_FLOOR = 2e-6  # |delta| that float32 sums of the scores cannot resolve further


@pytest.mark.parametrize("rule", RULES)
def test_delta_shrinks_as_steps_grow(smooth, rule):
    model, x = smooth
    deltas = []
    for steps in (4, 16, 64):
        explanation = xaikit.IntegratedGradients(model, steps=steps, rule=rule).explain(x)
        deltas.append(float(np.max(np.abs(explanation.convergence_delta))))
    d4, d16, d64 = deltas
    rate = 0.75 * 4.0 ** ORDER[rule]  # a quarter of slack on the asymptotic ratio
    assert d4 > 10 * FLOAT32_FLOOR, f"{rule}: the test needs a visible error at 4 steps"
    assert d16 <= d4 / rate or d16 < FLOAT32_FLOOR, (rule, deltas)
    assert d64 <= d16 / rate or d64 < FLOAT32_FLOOR, (rule, deltas)


@pytest.mark.parametrize("name", ["mlp", "cnn1d", "cnn2d", "regression"])
def test_delta_on_relu_models_is_smaller_with_more_steps(cases, name):
    case = cases[name]
    deltas = [
        np.abs(
            xaikit.IntegratedGradients(case.model, operator=case.operator, steps=steps)
            .explain(case.x)
            .convergence_delta
        ).max()
        for steps in (4, 64)
    ]
    assert deltas[1] < deltas[0]


def test_completeness_axiom_agrees_with_the_reported_delta(cases, smooth):
    """axioms.completeness evaluates f eagerly on its own; it must find the same residual."""
    model, x = smooth
    explainer = xaikit.IntegratedGradients(model, steps=64)
    residual = completeness(explainer, x)
    np.testing.assert_allclose(residual, explainer.explain(x).convergence_delta, atol=1e-6)
    assert np.all(np.abs(residual) < 1e-4)
    case = cases["cnn1d"]
    one = np.random.default_rng(3).normal(size=case.x.shape[1:]).astype("float32")
    explainer = xaikit.IntegratedGradients(case.model, baseline=one, steps=32)
    residual = completeness(explainer, case.x, baseline=one)
    _, delta = reference.integrated_gradients(
        case.copy64(), case.x, np.broadcast_to(one, case.x.shape), case.weights(), steps=32
    )
    np.testing.assert_allclose(residual, delta, atol=5e-6)


# --------------------------------------------------------------------------- other dtypes
# Regression tests: the engine casts the operator's scores to the inputs' dtype (mixed
# precision models score in float16), and a float64 model is explained in float64.
def test_mixed_precision_model():
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(8, activation="relu", dtype="mixed_float16", **init(95))(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", dtype="mixed_float16", **init(96))
    model = keras.Model(inputs, outputs(hidden))
    x = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    explanation = xaikit.IntegratedGradients(model, steps=8).explain(x, 0)
    assert np.all(np.abs(explanation.convergence_delta) < 0.05)  # float16 noise


def test_float64_model_is_explained_in_float64(cases):
    case = cases["cnn1d"]
    model = case.copy64()
    explanation = xaikit.IntegratedGradients(model, steps=8).explain(case.x.astype("float64"))
    expected, delta = reference.integrated_gradients(
        model, case.x, np.zeros_like(case.x), case.weights(), steps=8
    )
    assert explanation.attributions.dtype == np.float64
    assert_close(explanation.attributions, expected, rtol=1e-10)
    np.testing.assert_allclose(explanation.convergence_delta, delta, atol=1e-12)
