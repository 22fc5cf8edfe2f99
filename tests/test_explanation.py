"""The Explanation record: frozen, array-like, and carrying what is needed to trust it."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from _models_api import classifier, data

import xaikit


@pytest.fixture(scope="module")
def explained() -> tuple[xaikit.IntegratedGradients, np.ndarray, xaikit.Explanation]:
    explainer = xaikit.IntegratedGradients(classifier("image"), steps=8, batch_size=16)
    x = data("image", n=3, seed=8)
    return explainer, x, explainer.explain(x, [0, 2, 1])


def test_fields(explained):
    explainer, x, explanation = explained
    assert isinstance(explanation, xaikit.Explanation)
    assert explanation.attributions.shape == x.shape
    assert explanation.attributions.dtype == np.float32
    np.testing.assert_array_equal(explanation.targets, [0, 2, 1])
    probabilities = np.asarray(classifier("image")(x))
    np.testing.assert_allclose(
        explanation.scores, probabilities[np.arange(3), [0, 2, 1]], rtol=1e-5
    )
    assert explanation.method == "integrated_gradients"
    assert explanation.params == explainer.params
    assert explanation.params["steps"] == 8 and explanation.params["batch_size"] == 16
    assert "model" not in explanation.params
    assert explanation.convergence_delta.shape == (3,)
    assert len(explanation) == 3


def test_frozen(explained):
    _, _, explanation = explained
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        explanation.attributions = np.zeros(1)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        explanation.method = "other"


def test_asarray_gives_the_attributions(explained):
    _, _, explanation = explained
    assert np.asarray(explanation) is explanation.attributions
    np.testing.assert_array_equal(np.array(explanation), explanation.attributions)
    assert np.array(explanation) is not explanation.attributions  # np.array copies
    as64 = np.asarray(explanation, dtype=np.float64)
    assert as64.dtype == np.float64
    np.testing.assert_array_equal(as64, explanation.attributions)
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":
        with pytest.raises(ValueError, match="without a copy"):
            np.asarray(explanation, dtype=np.float64, copy=False)
    np.testing.assert_allclose(
        np.sum(explanation, axis=(1, 2, 3)), explanation.attributions.sum(axis=(1, 2, 3))
    )


def test_repr_is_short_and_informative(explained):
    _, _, explanation = explained
    text = repr(explanation)
    assert text.startswith("Explanation(method='integrated_gradients', attributions shape=")
    assert "(3, 4, 4, 3)" in text and "max |convergence_delta|=" in text
    assert len(text) < 200


def test_saliency_has_no_convergence_delta_and_records_its_name():
    explanation = xaikit.get_explainer("saliency", classifier("tabular")).explain(
        data("tabular", n=2)
    )
    assert explanation.convergence_delta is None
    assert explanation.method == "saliency"
    assert explanation.params["reducer"] == "max" and explanation.params["absolute"] is True
    assert "convergence_delta" not in repr(explanation)


def test_method_records_the_class_that_ran_not_an_inherited_name():
    @attrs.frozen(kw_only=True)
    class FewerSteps(xaikit.IntegratedGradients):
        steps: int = 4

    explanation = FewerSteps(classifier("tabular")).explain(data("tabular", n=2))
    assert explanation.method == "FewerSteps"
    assert explanation.params["steps"] == 4
