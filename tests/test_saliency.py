"""Saliency against the per-sample float64 GradientTape reference, on the four model kinds."""

from __future__ import annotations

import numpy as np
import pytest
import reference
from reference import assert_close

import xaikit


def test_default_is_abs_then_max_over_channels(case):
    explanation = xaikit.Saliency(case.model, operator=case.operator).explain(case.x)
    expected = reference.saliency(case.copy64(), case.x, case.weights())
    # (N, F) tabular inputs keep their shape; (N, T, C) and (N, H, W, C) lose the channel axis
    assert explanation.attributions.shape == (
        case.x.shape if case.x.ndim == 2 else case.x.shape[:-1]
    )
    assert np.all(explanation.attributions >= 0)
    assert_close(explanation.attributions, expected)
    assert explanation.convergence_delta is None
    assert explanation.method == "saliency"


@pytest.mark.parametrize("form", ["none", "int", "ints", "one_hot", "weights"])
def test_signed_unreduced_gradients_for_every_target_form(cases, form):
    """absolute=False, reducer=None gives the raw gradient of the explained output."""
    for case in cases.values():
        forms = case.targets_forms()
        if form not in forms:
            continue
        targets = forms[form]
        explainer = xaikit.Saliency(
            case.model, operator=case.operator, absolute=False, reducer=None, batch_size=2
        )
        explanation = explainer.explain(case.x, targets)
        weights = case.weights(targets)
        expected = reference.saliency(
            case.copy64(), case.x, weights, absolute=False, channel_max=False
        )
        assert explanation.attributions.shape == case.x.shape
        assert_close(explanation.attributions, expected)
        scores = [
            reference.score(case.copy64(), s, w) for s, w in zip(case.x, weights, strict=True)
        ]
        assert_close(explanation.scores, scores)


@pytest.mark.parametrize(
    ("absolute", "reducer"), [(True, None), (False, "max"), (False, None), (True, "max")]
)
def test_abs_and_reducer_switch_independently(cases, absolute, reducer):
    case = cases["cnn2d"]
    explanation = xaikit.Saliency(case.model, absolute=absolute, reducer=reducer).explain(case.x, 2)
    expected = reference.saliency(
        case.copy64(), case.x, case.weights(2), absolute=absolute, channel_max=reducer == "max"
    )
    assert_close(explanation.attributions, expected)
    if not absolute:
        assert np.any(explanation.attributions < 0), "signed gradients must keep their sign"


def test_wrong_target_is_detected_by_the_reference(cases):
    """The comparison is not vacuous: another class gives visibly different gradients."""
    case = cases["mlp"]
    explainer = xaikit.Saliency(case.model, absolute=False, reducer=None)
    got = explainer.explain(case.x, 0).attributions
    other = reference.saliency(case.copy64(), case.x, case.weights(1), False, False)
    with pytest.raises(AssertionError):
        assert_close(got, other)
