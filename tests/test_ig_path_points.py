"""IG path points are b + a (x - b): near max-pooling ties they stay on the reference's side.

In float32, ``x - (1 - a)(x - b)`` rounds twice and can swap two nearly tied values of a
pooling window, so the gradient flows to the other element than in exact arithmetic.
``b + a (x - b)`` with b = 0 rounds once, monotonically: nearly tied values may become equal,
never swapped, and a tie sends the gradient to the first element, which is the larger one here.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

import xaikit


def _pooling_model(dtype: str) -> keras.Model:
    init = keras.initializers.GlorotUniform(seed=3)
    inputs = keras.Input((16, 1), dtype=dtype)
    pooled = keras.layers.MaxPooling1D(2, dtype=dtype)(inputs)
    hidden = keras.layers.Conv1D(4, 3, activation="relu", kernel_initializer=init, dtype=dtype)(
        pooled
    )
    flat = keras.layers.Flatten(dtype=dtype)(hidden)
    outputs = keras.layers.Dense(3, kernel_initializer=init, dtype=dtype)(flat)
    return keras.Model(inputs, outputs)


def _near_ties(n: int) -> np.ndarray:
    """Samples whose pooling windows hold (v + 1 ulp, v): the first element barely larger."""
    rng = np.random.default_rng(7)
    low = rng.uniform(0.5, 2.0, size=(n, 8, 1)).astype(np.float32)
    high = np.nextafter(low, np.float32(np.inf))
    return np.stack([high, low], axis=2).reshape(n, 16, 1)


def _reference_ig(model: keras.Model, x: np.ndarray, steps: int) -> np.ndarray:
    """Trapezoid IG from a zero baseline, one GradientTape per path point, in float64."""
    alphas = np.linspace(0.0, 1.0, steps + 1)
    weights = np.full(steps + 1, 1.0 / steps)
    weights[[0, -1]] /= 2
    x64 = tf.constant(x, tf.float64)
    total = tf.zeros_like(x64)
    for alpha, weight in zip(alphas, weights, strict=True):
        point = alpha * x64
        with tf.GradientTape() as tape:
            tape.watch(point)
            score = tf.reduce_sum(model(point)[:, 0])
        total += weight * tape.gradient(score, point)
    return (x64 * total).numpy()


def test_ig_matches_float64_near_max_pooling_ties():
    model32, model64 = _pooling_model("float32"), _pooling_model("float64")
    model64.set_weights([w.astype(np.float64) for w in model32.get_weights()])
    x = _near_ties(4)
    steps = 50
    got = xaikit.IntegratedGradients(model32, steps=steps).explain(x, 0).attributions
    expected = _reference_ig(model64, x.astype(np.float64), steps)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * scale)


def test_path_points_are_exact_at_both_ends():
    """alpha = 0 gives exactly the baseline and alpha = 1 exactly the inputs (scores too)."""
    model = _pooling_model("float32")
    x = _near_ties(3)
    baseline = np.full_like(x[0], 0.3)
    explanation = xaikit.IntegratedGradients(model, steps=7, baseline=baseline).explain(x, 1)
    exact_end = np.asarray(model(x))[:, 1]
    np.testing.assert_array_equal(explanation.scores, exact_end)
