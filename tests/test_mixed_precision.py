"""Mixed precision: models built under ``mixed_float16`` / ``mixed_bfloat16`` are explained
with float32 inputs, path sums and deltas, and their attributions are finite and close to
those of the same weights in a float32 model.

Tolerance (see docs/guarantees.md): ``|a_mixed - a_float32| <= TOL * max|a_float32|``
elementwise, with TOL = 2e-2 for float16 (11-bit mantissa) and 1e-1 for bfloat16 (8-bit: its
rounding flips ReLUs near their kink along IG paths); the IG convergence delta stays within
2 TOL of the score difference it explains.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from strategies import build_model, method_kwargs

import xaikit

TOLERANCE = {"mixed_float16": 2e-2, "mixed_bfloat16": 1e-1}
SHAPES = {"tabular": (6,), "image": (5, 5, 2)}
METHODS = ("saliency", "integrated_gradients", "guided_backprop", "smoothgrad", "gradcam")


@pytest.fixture(params=sorted(TOLERANCE))
def policy(request: pytest.FixtureRequest):
    """Set the global dtype policy for the test and restore the previous one afterwards."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(request.param)
    try:
        yield request.param
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _twins(policy: str, shape: tuple[int, ...]) -> tuple[keras.Model, keras.Model]:
    """A model built under ``policy`` and its float32 twin with the very same weights."""
    mixed = build_model(shape, 3)
    keras.mixed_precision.set_global_policy("float32")
    try:
        plain = build_model(shape, 3)
    finally:
        keras.mixed_precision.set_global_policy(policy)
    plain.set_weights(mixed.get_weights())
    assert mixed.layers[1].compute_dtype != "float32" and plain.layers[1].compute_dtype == "float32"
    return mixed, plain


def _inputs(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(7).uniform(-1.0, 1.0, size=(4, *shape)).astype("float32")


@pytest.mark.parametrize("name", METHODS)
def test_mixed_precision_attributions_match_float32(policy: str, name: str) -> None:
    kind = "image" if name == "gradcam" else "tabular"
    if name not in xaikit.list_methods():
        pytest.skip(f"{name} is not installed")
    mixed, plain = _twins(policy, SHAPES[kind])
    x = _inputs(SHAPES[kind])
    params = method_kwargs(name, **({"steps": 32} if name == "integrated_gradients" else {}))
    got = xaikit.get_explainer(name, mixed, **params).explain(x, 1)
    expected = xaikit.get_explainer(name, plain, **params).explain(x, 1)
    assert got.attributions.dtype == np.float32, "explained in float32, not the compute dtype"
    assert np.all(np.isfinite(got.attributions))
    scale = float(np.max(np.abs(expected.attributions)))
    assert scale > 0
    np.testing.assert_allclose(
        got.attributions,
        expected.attributions,
        rtol=0,
        atol=TOLERANCE[policy] * scale,
        err_msg=f"{name} under {policy}",
    )
    np.testing.assert_allclose(got.scores, expected.scores, rtol=0, atol=TOLERANCE[policy])


def test_mixed_precision_ig_reports_completeness(policy: str) -> None:
    mixed, plain = _twins(policy, SHAPES["tabular"])
    x = _inputs(SHAPES["tabular"])
    got = xaikit.IntegratedGradients(mixed, steps=64).explain(x, 0)
    expected = xaikit.IntegratedGradients(plain, steps=64).explain(x, 0)
    assert got.convergence_delta is not None and got.convergence_delta.dtype == np.float32
    assert np.all(np.isfinite(got.convergence_delta))
    explained = np.abs(expected.attributions.sum(axis=1))  # f(x) - f(0) in float32
    assert np.all(np.abs(got.convergence_delta) <= 2 * TOLERANCE[policy] * (1.0 + explained))
    assert np.all(np.abs(expected.convergence_delta) < 1e-3)
