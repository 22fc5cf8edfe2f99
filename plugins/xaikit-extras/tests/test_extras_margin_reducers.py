"""The 'margin' operator and the two reducers, against explicit references."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from xaikit_extras import abs_sum, margin, signed_absmax

import xaikit
from xaikit.errors import InputError
from xaikit.testing import conformance_models


@pytest.fixture(scope="module")
def tabular() -> tuple[keras.Model, np.ndarray]:
    return conformance_models()["tabular"]


def reference_margin_gradients(model: keras.Model, x: np.ndarray, targets: np.ndarray) -> tuple:
    """Per sample: p_t - max_{j != t} p_j and its gradient, class by class."""
    grads, scores = [], []
    for sample, t in zip(x, targets, strict=True):
        inputs = tf.constant(sample[None])
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            probs = model(inputs)[0]
            best = None
            for j in range(probs.shape[0]):
                if j != t and (best is None or probs[j] > probs[best]):
                    best = j
            score = probs[t] - probs[best]
        grads.append(tape.gradient(score, inputs)[0].numpy())
        scores.append(float(score))
    return np.stack(grads), np.array(scores)


@pytest.mark.parametrize("targets", [None, [2, 0, 1, 1, 0, 2, 2]])
def test_margin_saliency_matches_the_explicit_gradient(tabular, targets):
    model, x = tabular
    explanation = xaikit.Saliency(model, operator="margin", absolute=False).explain(x, targets)
    grads, scores = reference_margin_gradients(model, x, explanation.targets)
    np.testing.assert_allclose(explanation.attributions, grads, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(explanation.scores, scores, rtol=1e-5, atol=1e-7)
    if targets is None:
        assert np.all(explanation.scores > 0)  # the top class leads the others


def test_margin_with_soft_weights_uses_the_zero_weight_classes_as_others():
    outputs = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]], "float32")

    def model(inputs, training=False):
        return tf.constant(outputs)

    weights = tf.constant([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    got = margin(model, tf.zeros((2, 1)), weights).numpy()
    np.testing.assert_allclose(got, [0.35 - 0.3, 0.02 + 0.03 + 0.4], rtol=1e-6)


def test_margin_refuses_a_single_output_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(InputError, match="'margin'.*at least 2 outputs"):
        xaikit.Saliency(model, operator="margin").explain(np.ones((2, 3), "float32"))


def test_reducers_match_loops_and_work_by_name(tabular):
    values = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
    expected_signed = np.zeros((2, 3, 4))
    expected_l1 = np.zeros((2, 3, 4))
    for index in np.ndindex(2, 3, 4):
        channel = int(np.argmax(np.abs(values[index])))
        expected_signed[index] = values[index][channel]
        expected_l1[index] = sum(abs(v) for v in values[index])
    np.testing.assert_array_equal(signed_absmax(values), expected_signed)
    np.testing.assert_allclose(abs_sum(values), expected_l1)
    assert (signed_absmax(values) < 0).any()

    model, x = conformance_models()["image"]
    plain = xaikit.Saliency(model, absolute=False, reducer=None).explain(x).attributions
    for name, reducer in (("signed_absmax", signed_absmax), ("abs_sum", abs_sum)):
        got = xaikit.Saliency(model, absolute=False, reducer=name).explain(x).attributions
        np.testing.assert_array_equal(got, reducer(plain))


def test_registered_through_the_entry_point():
    assert "margin" in xaikit.list_operators()
    assert {"signed_absmax", "abs_sum"} <= set(xaikit.list_reducers())
