"""The structured conformance models: every built-in gradient method explains them."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit
from xaikit.testing_models import TOKEN_LAYER, structured_conformance_models

MODELS = structured_conformance_models()


@pytest.mark.parametrize(
    "method", ["saliency", "guided_backprop", "integrated_gradients", "random_baseline_ig"]
)
def test_builtin_gradient_methods_explain_both_structured_models(method):
    assert xaikit.capabilities_of(xaikit.get_registry().get("methods", method)).multi_input
    params = {"seed": 0} if method == "random_baseline_ig" else {}
    model, inputs = MODELS["two_inputs"]
    result = xaikit.get_explainer(method, model, reducer=None, **params).explain(inputs)
    assert set(result.attributions) == {"image", "table"}
    for key, value in inputs.items():
        assert result.attributions[key].shape == value.shape
    model, ids = MODELS["tokens"]
    params = {**params, "layer": TOKEN_LAYER, "reducer": "sum"}
    result = xaikit.get_explainer(method, model, **params).explain(ids)
    assert result.attributions.shape == ids.shape
    if result.convergence_delta is not None:
        assert np.max(np.abs(result.convergence_delta)) < 5e-3
