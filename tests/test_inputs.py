"""Every accepted form of inputs gives the plain reference gradients, for every kind of data."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from _models_api import (
    SHAPES,
    assert_unchanged,
    classifier,
    data,
    model_state,
    one_hot,
    reference_gradients,
)

import xaikit


def _signed(kind: str, **params) -> xaikit.Saliency:
    return xaikit.Saliency(classifier(kind), absolute=False, reducer=None, **params)


@pytest.mark.parametrize("kind", list(SHAPES))
def test_each_kind_matches_reference_gradients(kind):
    model, x = classifier(kind), data(kind, n=5)
    before = model_state(model)
    explanation = _signed(kind, batch_size=2).explain(x, targets=[0, 1, 2, 0, 1])
    assert explanation.attributions.shape == x.shape
    expected = reference_gradients(model, x, one_hot([0, 1, 2, 0, 1]))
    np.testing.assert_allclose(explanation.attributions, expected, rtol=1e-5, atol=1e-7)
    assert_unchanged(model, before)


def _forms(x: np.ndarray, y: np.ndarray) -> dict[str, tuple]:
    """name -> (inputs, targets) that all mean the same 5 samples and targets y."""
    ds_x = tf.data.Dataset.from_tensor_slices(x)
    ds_xy = tf.data.Dataset.from_tensor_slices((x, y))
    return {
        "numpy": (x, y),
        "list": (x.tolist(), y.tolist()),
        "tensor": (tf.constant(x), tf.constant(y)),
        "float64": (x.astype("float64"), y),
        "dataset x unbatched": (ds_x, y),
        "dataset x batched": (ds_x.batch(2), y),
        "dataset (x, y) unbatched": (ds_xy, None),
        "dataset (x, y) batched": (ds_xy.batch(2), None),
        "dataset (x, one-hot y) batched": (
            tf.data.Dataset.from_tensor_slices((x, one_hot(y))).batch(3),
            None,
        ),
        "dataset (x, y, sample_weight)": (
            tf.data.Dataset.from_tensor_slices((x, y, np.ones(len(y)))).batch(4),
            None,
        ),
    }


@pytest.mark.parametrize("kind", ["tabular", "image"])
def test_every_input_form_gives_the_same_attributions(kind):
    x, y = data(kind, n=5, seed=1), np.array([2, 0, 1, 1, 0])
    explainer = _signed(kind, batch_size=3)
    expected = reference_gradients(classifier(kind), x, one_hot(y))
    for name, (inputs, targets) in _forms(x, y).items():
        explanation = explainer.explain(inputs, targets)
        np.testing.assert_allclose(
            explanation.attributions, expected, rtol=1e-5, atol=1e-7, err_msg=name
        )
        recorded = np.asarray(explanation.targets)
        if recorded.ndim == 2:  # one-hot targets are recorded as given
            recorded = recorded.argmax(axis=1)
        np.testing.assert_array_equal(recorded, y, err_msg=name)


def test_integer_inputs_are_explained_as_floats():
    x = np.arange(10).reshape(2, 5) % 3
    explanation = _signed("tabular").explain(x, 1)
    assert explanation.attributions.dtype == np.float32
    expected = reference_gradients(classifier("tabular"), x.astype("float32"), one_hot([1, 1]))
    np.testing.assert_allclose(explanation.attributions, expected, rtol=1e-5, atol=1e-7)


def test_one_sample_dataset_and_uneven_batches():
    x = data("sequence", n=5, seed=2)
    explainer = _signed("sequence", batch_size=2)
    whole = explainer.explain(x, 0).attributions
    one = explainer.explain(tf.data.Dataset.from_tensor_slices(x[:1]), 0).attributions
    np.testing.assert_allclose(one, whole[:1], rtol=1e-5, atol=1e-7)
    uneven = explainer.explain(tf.data.Dataset.from_tensor_slices(x).batch(4), 0)
    np.testing.assert_allclose(uneven.attributions, whole, rtol=1e-5, atol=1e-7)


def test_targets_given_twice_with_a_dataset_of_x_y_is_refused():
    x, y = data("tabular", n=4), np.array([0, 1, 2, 0])
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(2)
    with pytest.raises(xaikit.InputError, match=r"^targets: the dataset already yields \(x, y\)"):
        _signed("tabular").explain(dataset, targets=y)


def test_infinite_dataset_is_refused():
    dataset = tf.data.Dataset.from_tensor_slices(data("tabular", n=2)).repeat()
    with pytest.raises(xaikit.InputError, match=r"^inputs: expected a finite dataset, got an inf"):
        _signed("tabular").explain(dataset)


def test_dataset_of_the_wrong_rank_names_the_element_shape():
    dataset = tf.data.Dataset.from_tensor_slices(data((5, 1), n=4)).batch(2)
    with pytest.raises(xaikit.InputError) as info:
        _signed("tabular").explain(dataset)
    message = str(info.value)
    assert message.startswith("inputs: the model expects samples of rank 1")
    assert "got element shape (None, 5, 1)" in message


def test_dataset_of_dicts_with_unknown_names_is_refused():
    dataset = tf.data.Dataset.from_tensor_slices({"x": data("tabular", n=2)})
    with pytest.raises(xaikit.InputError, match=r"^inputs: expected a dict keyed by .*unknown 'x'"):
        _signed("tabular").explain(dataset)
