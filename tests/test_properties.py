"""Property-based fuzzing of ``explain()`` over every registered method (plugins included).

For random sample shapes, input dtypes and containers, target forms, batch sizes, NaN / inf /
float32-overflowing values and empty inputs, each call either

* returns an Explanation of the right shape with finite attributions and scores, not all
  zero when the explained score depends on the inputs, the same on a second call and with
  another ``batch_size``, or
* raises an :class:`xaikit.InputError` whose message starts with the argument at fault,

and never anything else. ``HYPOTHESIS_PROFILE=fuzz`` (``make fuzz``) runs many more cases.
"""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from strategies import (
    PROFILE,
    ZERO_ALLOWED,
    Case,
    cached_explainer,
    cached_model,
    cases,
    method_entry,
)

import xaikit

METHODS = xaikit.list_methods()


def _explained_scores(model, x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    outputs = np.asarray(model(x.astype("float32"), training=False), dtype=np.float64)
    return (outputs.reshape(len(x), -1) * weights).sum(axis=1)


def _depends_on_inputs(case: Case, explanation: xaikit.Explanation) -> bool:
    """Whether the explained score moves both when the inputs move a little (a saturated model
    has zero gradients) and when they are replaced by 0 (the default baseline of occlusion
    and of perturbation methods, which see nothing when the inputs are the baseline)."""
    model = cached_model(case.sample_shape, case.outputs)
    targets = np.asarray(explanation.targets)
    weights = np.eye(case.outputs)[targets] if targets.ndim == 1 else targets.astype(np.float64)
    x = case.x.astype(np.float64)
    here = _explained_scores(model, x, weights)
    shifted = np.random.default_rng(0).normal(0.0, 0.5, size=x.shape)
    moved = (x + shifted, np.zeros_like(x))
    return all(np.max(np.abs(here - _explained_scores(model, y, weights))) > 1e-3 for y in moved)


def _check_result(name: str, case: Case, explainer, explanation: xaikit.Explanation) -> None:
    x, n = case.x, len(case.x)
    values = explanation.attributions
    reduced = x.shape[:-1] if x.ndim >= 3 else x.shape
    assert values.shape in (x.shape, reduced), f"{name}: attributions of shape {values.shape}"
    assert np.issubdtype(values.dtype, np.floating), f"{name}: attributions of {values.dtype}"
    assert np.all(np.isfinite(values)), f"{name}: non-finite attributions {values}"
    scores = np.asarray(explanation.scores)
    assert scores.shape == (n,) and np.all(np.isfinite(scores)), f"{name}: scores {scores}"
    delta = explanation.convergence_delta
    if delta is not None:  # all-zero path attributions show as delta = -(f(x) - f(baseline))
        assert np.all(np.isfinite(delta)), f"{name}: convergence delta not finite: {delta}"
    elif name not in ZERO_ALLOWED and _depends_on_inputs(case, explanation):
        assert np.any(values != 0), f"{name}: all-zero attributions of a score that moves"
    again = explainer.explain(case.x, case.targets).attributions
    np.testing.assert_array_equal(again, values, err_msg=f"{name}: a second call differs")
    other = cached_explainer(name, case.sample_shape, case.outputs, n + 4)
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    np.testing.assert_allclose(
        other.explain(case.x, case.targets).attributions,
        values,
        rtol=1e-4,
        atol=1e-5 * (1.0 + scale),
        err_msg=f"{name}: batch_size {case.batch_size} and {n + 4} differ",
    )


@pytest.mark.parametrize("name", METHODS)
@settings(PROFILE)
@given(data=__import__("hypothesis").strategies.data())
def test_explain_gives_a_result_or_names_the_argument(name: str, data) -> None:
    kinds = xaikit.capabilities_of(method_entry(name).obj).data
    case = data.draw(cases(kinds), label="case")
    explainer = cached_explainer(name, case.sample_shape, case.outputs, case.batch_size)
    try:
        explanation = explainer.explain(case.inputs, case.targets)
    except xaikit.InputError as error:
        message = str(error)
        assert case.fault is not None, f"{name}: a valid call was refused: {message}"
        assert message.startswith(f"{case.fault}:"), (
            f"{name}: expected an InputError naming {case.fault!r}, got {message!r}"
        )
        return
    assert case.fault is None, f"{name}: expected an InputError naming {case.fault!r}, got a result"
    _check_result(name, case, explainer, explanation)


def test_regression_float64_inputs_beyond_float32_are_refused() -> None:
    """Found by the fuzzer: float64 inputs that overflow the model's float32 dtype became inf
    and then NaN attributions; now an InputError names the inputs and the samples."""
    model = cached_model((3,), 3)
    x = np.zeros((3, 3))
    x[1, 2] = 1e39
    with pytest.raises(xaikit.InputError, match=r"^inputs: .*float32.*sample\(s\) \[1\]"):
        xaikit.Saliency(model).explain(x)


def test_every_method_is_covered() -> None:
    """The properties run on every registered method, with the declared seed field."""
    assert {"saliency", "integrated_gradients", "guided_backprop"} <= set(METHODS)
    for name in METHODS:
        kind = xaikit.capabilities_of(method_entry(name).obj).data[0]
        shape = {"tabular": (4,), "sequence": (4, 2), "image": (4, 4, 1)}[kind]
        explainer = cached_explainer(name, shape, 3, 2)
        seed_field = xaikit.capabilities_of(method_entry(name).obj).seed
        if seed_field is not None:
            assert attrs.asdict(explainer, recurse=False).get(seed_field) == 0, name
