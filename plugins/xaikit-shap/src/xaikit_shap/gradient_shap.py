"""Gradient SHAP (expected gradients): integrated gradients averaged over random paths.

For an input ``x``, a background set ``D`` (B samples) and the explained score ``f``, each of
the ``num_samples`` paths of a sample draws

* a baseline ``b`` uniformly from the rows of ``D``,
* a point ``alpha ~ U(0, 1)`` on the straight line from ``b`` to the input,
* optionally Gaussian noise ``eps ~ N(0, noise^2)`` added to the input (one draw per path),

and contributes ``(x - b) * grad f(b + alpha (x + eps - b))``. The attributions are the mean
of those contributions over the paths. With ``noise = 0`` this is a Monte-Carlo estimate of
``E_b[IG(x; b)]``, so the attributions of a sample sum, in expectation, to
``f(x) - E_b[f(b)]``; on a model that is linear in its inputs the sum is exactly
``f(x) - mean_paths f(b)`` for every draw, noise or not (the factor is ``x - b``, the clean
input, not the noisy one). ``Explanation.convergence_delta`` reports
``sum(attributions) - (f(x) - mean_paths f(b))`` per sample: the sampling error along the
paths for the baselines actually drawn.

Every random value is drawn in :meth:`GradientShap.prepare`, once per ``explain`` call, from
``numpy.random.default_rng(seed)``: the baseline indices, the alphas and one seed pair per
path for the noise, which is generated on the device with ``tf.random.stateless_normal``.
Results therefore do not depend on ``batch_size``, and a test can rebuild every path.
The (sample, path) rows are evaluated ``batch_size`` at a time inside one compiled loop with
a running sum, so memory is bounded by ``batch_size``, not by samples x paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import tensorflow as tf

from xaikit import BatchResult, Capabilities, Explainer
from xaikit.errors import InputError
from xaikit.validators import non_negative, positive_int, seed

__all__ = ["GradientShap", "SEED_LIMIT", "path_noise"]

#: Noise seeds are drawn in [0, SEED_LIMIT).
SEED_LIMIT = 2**31 - 1


def path_noise(seeds: tf.Tensor, sample_shape: tuple[int, ...]) -> tf.Tensor:
    """Standard normal noise (rows, *sample_shape) float32, row r from ``seeds[r]`` (rows, 2).

    Each row is ``tf.random.stateless_normal(sample_shape, seeds[r], dtype=tf.float32)``, so
    it depends on its own seed pair only, never on the other rows of its chunk.
    """

    def one(row_seed: tf.Tensor) -> tf.Tensor:
        return tf.random.stateless_normal(sample_shape, row_seed, dtype=tf.float32)

    return tf.map_fn(one, seeds, fn_output_signature=tf.float32)


def _as_array(value: Any) -> np.ndarray:
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def _check_background(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is None:
        return
    array = _as_array(value)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise InputError(
            f"background: expected None or a numeric array (B, ...), got {type(value).__name__}"
        )
    if array.ndim < 2 or array.shape[0] < 1:
        raise InputError(
            "background: expected an array (B, ...) of B >= 1 samples shaped like the inputs, "
            f"got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise InputError("background: expected finite values, got NaN or inf")
    shape = _model_sample_shape(getattr(instance, "model", None))
    if shape is not None and tuple(array.shape[1:]) != shape:
        raise InputError(
            f"background: expected samples of the model's input shape {shape}, i.e. an array "
            f"(B, {', '.join(map(str, shape))}), got shape {array.shape}"
        )


def _model_sample_shape(model: Any) -> tuple[int, ...] | None:
    """The model's declared sample shape when fully known (functional models), else None."""
    try:
        shape = tuple(model.inputs[0].shape[1:])
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    return shape if all(isinstance(d, int) for d in shape) else None


@attrs.frozen(kw_only=True)
class GradientShap(Explainer):
    """Gradient SHAP / expected gradients (Lundberg & Lee, 2017; Erion et al., 2021).

    Args:
        model: a Keras model, inputs (N, ...).
        background: the samples baselines are drawn from, an array (B, ...) shaped like the
            inputs (numpy or ``tf.Tensor``), e.g. a few hundred training samples. Default
            None: one all-zero baseline, which makes the method a Monte-Carlo estimate of
            integrated gradients from 0.
        num_samples: paths per input (default 50), each with its own baseline, alpha and
            noise; the attributions are their mean.
        noise: standard deviation of the Gaussian noise added to the input at each path's
            point, in input units (default 0: no noise).
        seed: seed of ``numpy.random.default_rng`` for all draws; None (default) draws afresh
            on every call. Sample i of a call gets the same paths for a given seed whatever
            ``batch_size`` is.
        batch_size: (sample, path) rows evaluated at once; bounds memory.
        operator, reducer, strategy: see :class:`xaikit.Explainer`.

    Attributions have the inputs' shape (N, ...) (or reduced by ``reducer``); the
    Explanation's ``convergence_delta`` (N,) is ``sum(attributions) - (f(x) - mean f(b))``
    over the baselines drawn.
    """

    name = "gradient_shap"
    capabilities = Capabilities(seed="seed")

    background: Any = attrs.field(default=None, validator=_check_background, eq=False)
    num_samples: int = attrs.field(default=50, validator=positive_int)
    noise: float = attrs.field(default=0.0, validator=non_negative)
    seed: int | None = attrs.field(default=None, validator=seed)

    # ------------------------------------------------------------------ the draws
    def background_array(self, sample_shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """The background (B, *sample_shape) in ``dtype``; zeros (1, *sample_shape) for None.

        Raises:
            InputError: the background's samples are not shaped like the inputs.
        """
        if self.background is None:
            return np.zeros((1, *sample_shape), dtype)
        array = _as_array(self.background)
        if tuple(array.shape[1:]) != tuple(sample_shape):
            raise InputError(
                f"background: expected samples shaped like the inputs, an array "
                f"(B, {', '.join(map(str, sample_shape))}), got shape {array.shape}"
            )
        return array.astype(dtype, copy=False)

    def prepare(self, inputs: np.ndarray, targets: np.ndarray) -> Mapping[str, np.ndarray]:
        """Draw every path of every sample from ``default_rng(seed)``.

        Args:
            inputs: (N, ...) all inputs of the call; targets: (N, K).

        Returns:
            ``baseline_index`` (N, S) int64 rows of the background, ``alphas`` (N, S) floats
            in [0, 1), ``noise_seeds`` (N, S, 2) int64 seed pairs of :func:`path_noise`
            (drawn even when ``noise`` is 0, so the other draws do not depend on it), with
            S = ``num_samples``.
        """
        background = self.background_array(inputs.shape[1:], inputs.dtype)
        rng = np.random.default_rng(self.seed)
        shape = (len(inputs), self.num_samples)
        return {
            "baseline_index": rng.integers(0, len(background), size=shape, dtype=np.int64),
            "alphas": rng.random(shape),
            "noise_seeds": rng.integers(0, SEED_LIMIT, size=(*shape, 2), dtype=np.int64),
        }

    # ------------------------------------------------------------------ the batch hook
    def explain_batch(
        self,
        inputs: tf.Tensor,
        targets: tf.Tensor,
        baseline_index: tf.Tensor,
        alphas: tf.Tensor,
        noise_seeds: tf.Tensor,
    ) -> BatchResult:
        """Attributions (n, ...) and mean baseline scores (n,) of n samples' paths."""
        noisy = self.noise > 0
        kind = "gradient_shap_noisy" if noisy else "gradient_shap"
        kernel = self.compiled(
            kind, self.build_kernel if noisy else self.build_plain_kernel, inputs, targets
        )
        dtype = inputs.dtype
        background = tf.constant(
            self.background_array(tuple(inputs.shape[1:]), dtype.as_numpy_dtype)
        )
        attributions, base_scores = kernel(
            inputs,
            targets,
            background,
            tf.cast(baseline_index, tf.int64),
            tf.cast(alphas, dtype),
            tf.cast(noise_seeds, tf.int64),
            tf.constant(self.noise, dtype),
            tf.constant(self.batch_size, tf.int32),
        )
        return BatchResult(attributions, baseline_scores=base_scores)

    def build_plain_kernel(
        self, model: Any, operator: Any, sample_shape: tuple, num_outputs: int, dtype: tf.DType
    ) -> Any:
        """:meth:`build_kernel` without the noise (no per-row random generation)."""
        return self.build_kernel(model, operator, sample_shape, num_outputs, dtype, noisy=False)

    def build_kernel(
        self,
        model: Any,
        operator: Any,
        sample_shape: tuple,
        num_outputs: int,
        dtype: tf.DType,
        noisy: bool = True,
    ) -> Any:
        """Compiled loop over the (sample, path) rows, ``chunk`` rows at a time.

        The returned function takes ``inputs`` (n, ...), ``targets`` (n, K), ``background``
        (B, ...), ``index`` (n, S) int64, ``alphas`` (n, S), ``seeds`` (n, S, 2) int64,
        ``noise`` (scalar std) and ``chunk`` (int32), and returns the attributions (n, ...)
        and the mean score of each sample's drawn baselines (n,).
        """
        rank = len(sample_shape)
        expand = [-1] + [1] * rank

        def integrate(inputs, targets, background, index, alphas, seeds, noise, chunk):
            n = tf.shape(inputs)[0]
            paths = tf.shape(index)[1]
            total = n * paths

            def body(start, acc, base_sum):
                rows = tf.range(start, tf.minimum(start + chunk, total))
                sample = rows // paths
                pair = tf.stack([sample, rows % paths], axis=1)
                x = tf.gather(inputs, sample)
                base = tf.gather(background, tf.gather_nd(index, pair))
                alpha = tf.reshape(tf.gather_nd(alphas, pair), expand)
                end = x
                if noisy:
                    eps = path_noise(tf.gather_nd(seeds, pair), sample_shape)
                    end = x + noise * tf.cast(eps, dtype)
                points = base + alpha * (end - base)
                t = tf.gather(targets, sample)
                with tf.GradientTape() as tape:
                    tape.watch(points)
                    scores = tf.cast(operator(model, points, t), dtype)
                grads = tape.gradient(
                    scores, points, unconnected_gradients=tf.UnconnectedGradients.ZERO
                )
                base_scores = tf.cast(operator(model, base, t), dtype)
                acc += tf.math.unsorted_segment_sum((x - base) * grads, sample, n)
                base_sum += tf.math.unsorted_segment_sum(base_scores, sample, n)
                return start + chunk, acc, base_sum

            _, acc, base_sum = tf.while_loop(
                lambda start, *_: start < total,
                body,
                (tf.constant(0), tf.zeros_like(inputs), tf.zeros([n], dtype)),
                parallel_iterations=1,
            )
            per_path = 1.0 / tf.cast(paths, dtype)
            return acc * per_path, base_sum * per_path

        specs = [
            tf.TensorSpec((None, *sample_shape), dtype, name="inputs"),
            tf.TensorSpec((None, num_outputs), dtype, name="targets"),
            tf.TensorSpec((None, *sample_shape), dtype, name="background"),
            tf.TensorSpec((None, None), tf.int64, name="index"),
            tf.TensorSpec((None, None), dtype, name="alphas"),
            tf.TensorSpec((None, None, 2), tf.int64, name="seeds"),
            tf.TensorSpec((), dtype, name="noise"),
            tf.TensorSpec((), tf.int32, name="chunk"),
        ]
        return tf.function(integrate, input_signature=specs).get_concrete_function()
