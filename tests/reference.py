"""Plain, obviously correct references for the built-in methods.

Everything here is written the slow, naive way on purpose: one ``tf.GradientTape`` per sample
and per path point, eager, in float64 on a float64 copy of the model. Nothing is imported from
xaikit (no quadrature, no baselines, no engine), so a bug there cannot hide in a reference.

Shapes: ``x`` is (N, ...) inputs, ``weights`` is (N, K) target weights (one-hot rows for class
indices); every reference returns (N, ...) float64 attributions unless said otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

__all__ = [
    "assert_close",
    "one_hot",
    "score",
    "gradient",
    "saliency",
    "nodes",
    "integrated_gradients",
    "random_batch_baselines",
    "random_baseline_ig",
    "guided_relu",
    "guided_clone",
    "numpy_guided_mlp",
]


# --------------------------------------------------------------------------- targets, scores
def one_hot(indices: np.ndarray, num_outputs: int) -> np.ndarray:
    """(N,) class indices -> (N, K) float64 one-hot rows."""
    out = np.zeros((len(indices), num_outputs))
    for row, index in enumerate(indices):
        out[row, int(index)] = 1.0
    return out


def score(model64: keras.Model, sample: np.ndarray, weights: np.ndarray) -> float:
    """The explained scalar of one sample: ``sum_k weights_k * model(sample)_k``."""
    outputs = model64(tf.constant(sample[None], tf.float64))[0]
    return float(tf.reduce_sum(outputs * tf.constant(weights, tf.float64)))


def gradient(model64: keras.Model, sample: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """d score / d sample for one sample (...), by one eager GradientTape in float64."""
    point = tf.constant(np.asarray(sample, np.float64)[None])
    with tf.GradientTape() as tape:
        tape.watch(point)
        outputs = model64(point)
        value = tf.reduce_sum(outputs[0] * tf.constant(weights, tf.float64))
    return tape.gradient(value, point).numpy()[0]


# --------------------------------------------------------------------------- saliency
def saliency(
    model64: keras.Model,
    x: np.ndarray,
    weights: np.ndarray,
    absolute: bool = True,
    channel_max: bool = True,
) -> np.ndarray:
    """Per-sample gradients; optionally ``abs`` then the max over the last (channel) axis.

    Tabular inputs (N, F) have no channel axis and are never reduced.
    """
    out = []
    for sample, w in zip(x, weights, strict=True):
        g = gradient(model64, sample, w)
        if absolute:
            g = np.abs(g)
        if channel_max and g.ndim >= 2:
            g = g.max(axis=-1)
        out.append(g)
    return np.stack(out)


# --------------------------------------------------------------------------- quadrature
def _gauss_legendre_on_unit(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Golub-Welsch: Gauss-Legendre nodes/weights from the Jacobi matrix, mapped to [0, 1].

    Deliberately not ``numpy.polynomial.legendre.leggauss`` (which xaikit uses).
    """
    if n == 1:
        return np.array([0.5]), np.array([1.0])
    k = np.arange(1, n, dtype=np.float64)
    off = k / np.sqrt(4.0 * k * k - 1.0)
    jacobi = np.diag(off, 1) + np.diag(off, -1)
    roots, vectors = np.linalg.eigh(jacobi)
    weights = 2.0 * vectors[0] ** 2  # on [-1, 1] the weights sum to 2
    return (roots + 1.0) / 2.0, weights / 2.0


def nodes(rule: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Path points and weights of ``rule`` with ``steps`` intervals, written out by hand."""
    n = steps
    if rule == "trapezoid":
        alphas = [k / n for k in range(n + 1)]
        weights = [(0.5 if k in (0, n) else 1.0) / n for k in range(n + 1)]
    elif rule == "riemann_left":
        alphas, weights = [k / n for k in range(n)], [1.0 / n] * n
    elif rule == "riemann_right":
        alphas, weights = [(k + 1) / n for k in range(n)], [1.0 / n] * n
    elif rule == "riemann_middle":
        alphas, weights = [(k + 0.5) / n for k in range(n)], [1.0 / n] * n
    elif rule == "gauss_legendre":
        return _gauss_legendre_on_unit(n)
    else:
        raise ValueError(rule)
    return np.array(alphas), np.array(weights)


# --------------------------------------------------------------------------- IG
def integrated_gradients(
    model64: keras.Model,
    x: np.ndarray,
    baselines: np.ndarray,
    weights: np.ndarray,
    rule: str = "trapezoid",
    steps: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """IG of each sample from its own baseline (both (N, ...)).

    Returns:
        ``(attributions (N, ...), delta (N,))`` with
        ``delta = sum(attributions) - (f(x) - f(baseline))``.
    """
    alphas, rule_weights = nodes(rule, steps)
    attributions, deltas = [], []
    for sample, base, w in zip(x, baselines, weights, strict=True):
        sample, base = np.asarray(sample, np.float64), np.asarray(base, np.float64)
        integral = np.zeros_like(sample)
        for alpha, rule_weight in zip(alphas, rule_weights, strict=True):
            integral += rule_weight * gradient(model64, base + alpha * (sample - base), w)
        attribution = (sample - base) * integral
        attributions.append(attribution)
        deltas.append(attribution.sum() - (score(model64, sample, w) - score(model64, base, w)))
    return np.stack(attributions), np.array(deltas)


def random_batch_baselines(x: np.ndarray, num_runs: int, seed: int) -> np.ndarray:
    """The documented construction of RandomBaselineIG's baselines, by loops.

    Baseline r, slice i (along the first axis after the batch axis) is ``x[j, i]`` with ``j``
    drawn uniformly from the N samples by ``numpy.random.default_rng(seed)``: for each run,
    one draw of ``integers(0, N, size=length)``.

    Returns:
        (num_runs, ...) baselines (shared by every sample).
    """
    rng = np.random.default_rng(seed)
    n, length = x.shape[0], x.shape[1]
    out = np.empty((num_runs, *x.shape[1:]), dtype=x.dtype)
    for run in range(num_runs):
        sources = rng.integers(0, n, size=length)
        for position in range(length):
            out[run, position] = x[sources[position], position]
    return out


def random_baseline_ig(
    model64: keras.Model,
    x: np.ndarray,
    weights: np.ndarray,
    num_runs: int,
    seed: int,
    rule: str = "trapezoid",
    steps: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """IG averaged over ``num_runs`` baselines drawn from the batch.

    Returns:
        ``(attributions (N, ...), delta (N,))``, the delta against ``mean_r f(b_r)``.
    """
    drawn = random_batch_baselines(x, num_runs, seed)
    runs, deltas = [], []
    for base in drawn:
        attributions, delta = integrated_gradients(
            model64, x, np.repeat(base[None], len(x), axis=0), weights, rule, steps
        )
        runs.append(attributions)
        deltas.append(delta)
    # mean of the per-run deltas is exactly sum(mean attr) - (f(x) - mean f(b_r))
    return np.mean(runs, axis=0), np.mean(deltas, axis=0)


# --------------------------------------------------------------------------- guided backprop
def guided_relu(
    max_value: float | None = None, negative_slope: float = 0.0
) -> Callable[[tf.Tensor], tf.Tensor]:
    """A ReLU-family activation whose gradient is written out: ``relu(g) * f'(x)``.

    ``f(x) = negative_slope * x`` for x <= 0, ``x`` up to ``max_value``, then ``max_value``;
    ``f'(x)`` is ``negative_slope``, 1 and 0 on those pieces.
    """

    @tf.custom_gradient
    def activation(x: tf.Tensor):  # type: ignore[no-untyped-def]
        positive = x > 0
        y = tf.where(positive, x, negative_slope * x)
        slope = tf.where(positive, tf.ones_like(x), negative_slope * tf.ones_like(x))
        if max_value is not None:
            y = tf.minimum(y, tf.cast(max_value, x.dtype))
            slope = tf.where(x < max_value, slope, tf.zeros_like(x))

        def backward(upstream: tf.Tensor) -> tf.Tensor:
            return tf.maximum(upstream, tf.zeros_like(upstream)) * slope

        return y, backward

    return activation


def _relu_config(layer: keras.layers.Layer) -> dict | None:
    """max_value / negative_slope of a ReLU-family layer, or None for any other layer."""
    if isinstance(layer, keras.layers.ReLU):
        assert float(layer.threshold) == 0.0, "the reference handles threshold=0 only"
        max_value = None if layer.max_value is None else float(layer.max_value)
        return {"max_value": max_value, "negative_slope": float(layer.negative_slope)}
    if isinstance(layer, keras.layers.LeakyReLU):
        return {"max_value": None, "negative_slope": float(layer.negative_slope)}
    return None


def guided_clone(model: keras.Model, dtype: str = "float64") -> keras.Model:
    """A copy of a functional model in ``dtype`` with every ReLU / LeakyReLU *layer*
    replaced by an ``Activation`` applying :func:`guided_relu`, weights copied.

    Used for models we do not build ourselves (MobileNetV2); our own models are rebuilt by
    their builders with ``guided=True`` instead.
    """

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = _relu_config(layer)
        if config is not None:
            return keras.layers.Activation(guided_relu(**config), dtype=dtype, name=layer.name)
        if getattr(layer, "activation", None) in (keras.activations.relu,):
            raise AssertionError(f"{layer.name}: guided_clone handles ReLU layers only")
        settings = layer.get_config()
        settings["dtype"] = dtype
        return type(layer).from_config(settings)

    copy = keras.models.clone_model(
        model,
        input_tensors=keras.Input(model.inputs[0].shape[1:], dtype=dtype),
        clone_function=clone,
    )
    copy.set_weights(model.get_weights())
    return copy


def numpy_guided_mlp(
    params: list[np.ndarray], x: np.ndarray, weights: np.ndarray, slope: float, guided: bool
) -> np.ndarray:
    """Hand-written backward pass of ``Dense(relu) -> Dense -> LeakyReLU(slope) ->
    Dense(softmax)`` in numpy (no autodiff at all).

    Args:
        params: [W1, b1, W2, b2, W3, b3] as Keras stores them (W of shape (in, out)).
        x: (N, F) inputs; weights: (N, K) target weights.
        guided: apply guided backpropagation's rule at both ReLU-family activations.

    Returns:
        (N, F) gradients of ``sum_k weights_k softmax(...)_k``.
    """
    w1, b1, w2, b2, w3, b3 = (np.asarray(p, np.float64) for p in params)
    gate = (lambda g: np.maximum(g, 0.0)) if guided else (lambda g: g)
    out = []
    for sample, t in zip(np.asarray(x, np.float64), weights, strict=True):
        h1 = sample @ w1 + b1
        a1 = np.maximum(h1, 0.0)
        h2 = a1 @ w2 + b2
        a2 = np.where(h2 > 0, h2, slope * h2)
        z = a2 @ w3 + b3
        p = np.exp(z - z.max())
        p /= p.sum()
        g_z = p * (t - np.dot(p, t))  # softmax Jacobian applied to the target weights
        g_a2 = w3 @ g_z
        g_h2 = gate(g_a2) * np.where(h2 > 0, 1.0, slope)
        g_a1 = w2 @ g_h2
        g_h1 = gate(g_a1) * (h1 > 0)
        out.append(w1 @ g_h1)
    return np.stack(out)


# --------------------------------------------------------------------------- comparison
def assert_close(
    actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-4, what: str = ""
) -> None:
    """float32 result vs float64 reference, to float32 noise.

    float32 carries ~7 significant digits (eps 1.2e-7). The gradients here go through a few
    layers of sums of tens of terms and, for path methods, a weighted sum over up to ~50 path
    points: the rounding error stays well below 1e-5 of the largest attribution. ``rtol=1e-4``
    (about 1000 float32 ulps) leaves room for that, while a wrong node, weight or baseline
    changes results by ~1/steps (1e-2 or more) and a wrong target by O(1). The absolute part
    is scaled by the largest reference value, so near-zero entries do not fail on noise.
    """
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale + 1e-12, err_msg=what)
