"""Targets: every accepted form selects (or weights) the right outputs."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from _models_api import CLASSES, classifier, data, one_hot, reference_gradients, regressor
from hypothesis import given, settings
from hypothesis import strategies as st

import xaikit
from xaikit.inputs import coerce_targets


def _signed(model, **params) -> xaikit.Saliency:
    return xaikit.Saliency(model, absolute=False, reducer=None, **params)


def test_none_explains_the_top_class_and_records_it():
    model, x = classifier("tabular"), data("tabular", n=8, seed=3)
    top = np.asarray(model(x)).argmax(axis=1)
    assert len(set(top.tolist())) > 1, "the test needs several top classes"
    explanation = _signed(model).explain(x)
    np.testing.assert_array_equal(explanation.targets, top)
    assert explanation.targets.dtype == np.int64
    np.testing.assert_allclose(
        explanation.attributions, reference_gradients(model, x, one_hot(top)), rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(explanation.scores, np.asarray(model(x)).max(axis=1), rtol=1e-6)


@pytest.mark.parametrize(
    "targets",
    [2, np.int32(2), tf.constant(2), 2.0, [2] * 4, np.full(4, 2), np.full((4, 1), 2)],
    ids=["int", "np.int32", "tensor", "whole float", "list", "array", "column"],
)
def test_forms_of_one_class_index(targets):
    model, x = classifier("tabular"), data("tabular", n=4)
    explanation = _signed(model).explain(x, targets)
    np.testing.assert_array_equal(explanation.targets, [2, 2, 2, 2])
    expected = reference_gradients(model, x, one_hot([2] * 4))
    np.testing.assert_allclose(explanation.attributions, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(explanation.scores, np.asarray(model(x))[:, 2], rtol=1e-6)


def test_weight_matrix_weights_the_outputs():
    model, x = classifier("image"), data("image", n=3)
    weights = np.array([[1.0, -1.0, 0.0], [0.25, 0.25, 0.5], [0.0, 0.0, 2.0]], "float32")
    explanation = _signed(model, batch_size=2).explain(x, weights)
    np.testing.assert_array_equal(explanation.targets, weights)
    np.testing.assert_allclose(
        explanation.attributions, reference_gradients(model, x, weights), rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(
        explanation.scores, (np.asarray(model(x)) * weights).sum(axis=1), rtol=1e-5
    )


def test_one_hot_equals_indices():
    model, x = classifier("sequence"), data("sequence", n=4)
    indices = np.array([0, 2, 1, 2])
    by_index = _signed(model).explain(x, indices)
    by_one_hot = _signed(model).explain(x, one_hot(indices))
    np.testing.assert_allclose(by_one_hot.attributions, by_index.attributions, rtol=1e-6)
    np.testing.assert_array_equal(by_one_hot.targets, one_hot(indices))


def test_boolean_one_hot_mask_is_a_weight_matrix():
    model, x = classifier("tabular"), data("tabular", n=3)
    mask = np.array([0, 2, 1])[:, None] == np.arange(3)
    explanation = _signed(model).explain(x, mask)
    np.testing.assert_array_equal(explanation.targets, mask.astype("float32"))
    np.testing.assert_allclose(
        explanation.attributions, reference_gradients(model, x, one_hot([0, 2, 1])), rtol=1e-5
    )
    with pytest.raises(xaikit.InputError, match=r"^targets: expected numbers \(or a \(3, 3\)"):
        _signed(model).explain(x, np.array([True, False, True]))


def test_single_output_model_needs_no_targets():
    model, x = regressor(1), data("tabular", n=3)
    explanation = _signed(model, operator="regression").explain(x)
    np.testing.assert_array_equal(explanation.targets, [0, 0, 0])
    np.testing.assert_allclose(explanation.scores, np.asarray(model(x))[:, 0], rtol=1e-6)


# --------------------------------------------------------------- property tests of coercion
@st.composite
def target_cases(draw):
    """(targets in some accepted form, n, k, top, expected weights (n, k), expected record)."""
    n = draw(st.integers(1, 12))
    k = draw(st.integers(1, 6))
    indices = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    form = draw(
        st.sampled_from(["none", "int", "array", "list", "column", "float", "tensor", "weights"])
    )
    expected = np.eye(k, dtype="float32")[indices]
    record = indices
    if form == "none":
        targets = None
    elif form == "int":
        indices[:] = indices[0]
        expected = np.eye(k, dtype="float32")[indices]
        targets = int(indices[0])
    elif form == "array":
        targets = indices.astype(draw(st.sampled_from(["int8", "int32", "int64", "uint8"])))
    elif form == "list":
        targets = indices.tolist()
    elif form == "column":
        if k == 1:  # with one output an (N, 1) array is a weight column
            targets = np.ones((n, 1), "float32")
            record = targets
        else:
            targets = indices[:, None]
    elif form == "float":
        targets = indices.astype("float64")
    elif form == "tensor":
        targets = tf.constant(indices, tf.int32)
    else:
        values = st.floats(-3, 3, allow_nan=False, width=32)
        expected = np.array(
            draw(st.lists(st.lists(values, min_size=k, max_size=k), min_size=n, max_size=n)),
            "float32",
        )
        targets = expected.copy()
        record = expected
    return targets, n, k, indices, expected, record


@settings(max_examples=150, deadline=None)
@given(target_cases())
def test_coerced_weights_rows(case):
    targets, n, k, top, expected, record = case
    weights, recorded = coerce_targets(targets, n, k, top)
    assert weights.shape == (n, k)
    assert weights.dtype == np.float32
    np.testing.assert_array_equal(weights, expected)
    np.testing.assert_array_equal(recorded, record)
    if recorded.ndim == 1:
        assert recorded.dtype == np.int64
        np.testing.assert_array_equal(weights.argmax(axis=1), recorded)
        np.testing.assert_array_equal(weights.sum(axis=1), np.ones(n))


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(1, 10),
    k=st.integers(1, 6),
    bad=st.sampled_from(["too high", "negative", "length", "width", "fraction", "rank"]),
)
def test_bad_targets_always_raise_input_error_naming_targets(n, k, bad):
    targets = {
        "too high": np.full(n, k),
        "negative": -1,
        "length": np.zeros(n + 1, int),
        "width": np.zeros((n, k + 1)),
        "fraction": np.full(n, 0.5),
        "rank": np.zeros((n, k, 1)),
    }[bad]
    with pytest.raises(xaikit.InputError, match=r"^targets: "):
        coerce_targets(targets, n, k, np.zeros(n, int))


def test_targets_record_is_independent_of_the_callers_array():
    targets = one_hot([0, 1])
    weights, recorded = coerce_targets(targets, 2, CLASSES, None)
    targets[:] = 7.0
    assert not np.any(weights == 7.0) and not np.any(recorded == 7.0)
