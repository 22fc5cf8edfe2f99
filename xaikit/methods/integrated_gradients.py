"""Integrated gradients and its random-baseline variant, sharing one path integral."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import tensorflow as tf

from .. import engine
from ..baselines import check_baseline, constant_baselines, random_from_batch
from ..capabilities import Capabilities
from ..explainer import BatchResult, Explainer
from ..quadrature import check_rule, quadrature
from ..validators import positive_int, seed

__all__ = ["PathIntegral", "IntegratedGradients", "RandomBaselineIG"]


def _rule(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    check_rule(value)


@attrs.frozen(kw_only=True)
class PathIntegral(Explainer):
    """Straight-line path integral of gradients from baselines to the inputs (abstract).

    Subclasses say where the paths start by implementing :meth:`make_baselines`; this class
    integrates ``(x - b) * int_0^1 grad f(b + a (x - b)) da`` with the chosen quadrature
    rule and averages over the baselines of each sample. The (sample, baseline, point)
    triples are evaluated ``batch_size`` rows at a time.

    Args:
        steps: number of intervals the path is cut into (>= 1); the trapezoid rule evaluates
            ``steps + 1`` points per path, the other rules ``steps``.
        rule: 'trapezoid' (default), 'riemann_left', 'riemann_right', 'riemann_middle' or
            'gauss_legendre'.
    """

    steps: int = attrs.field(default=50, validator=positive_int)
    rule: str = attrs.field(default="trapezoid", validator=_rule)

    @abc.abstractmethod
    def make_baselines(self, inputs: np.ndarray) -> np.ndarray:
        """Baselines (N, R, ...) for inputs (N, ...): R paths per sample, averaged."""

    def prepare(self, inputs: np.ndarray, targets: np.ndarray) -> Mapping[str, np.ndarray]:
        return {"baselines": self.make_baselines(inputs)}

    def explain_batch(
        self, inputs: tf.Tensor, targets: tf.Tensor, baselines: tf.Tensor
    ) -> BatchResult:
        alphas, weights = quadrature(self.rule, self.steps)
        integrate = self.compiled("path", engine.path_fn, inputs, targets)
        dtype = inputs.dtype
        attributions, start, end = integrate(
            inputs,
            baselines,
            targets,
            tf.constant(alphas, dtype),
            tf.constant(weights, dtype),
            tf.constant(self.batch_size, tf.int32),
        )
        if alphas[0] != 0.0:  # the rule never evaluates the baselines themselves
            flat = tf.reshape(baselines, [-1, *inputs.shape[1:]])
            repeated = tf.repeat(targets, tf.shape(baselines)[1], axis=0)
            start = tf.reduce_mean(
                tf.reshape(self.scores(flat, repeated), tf.shape(baselines)[:2]), axis=1
            )
        return BatchResult(attributions, end if alphas[-1] == 1.0 else None, start)


@attrs.frozen(kw_only=True)
class IntegratedGradients(PathIntegral):
    """Integrated gradients (Sundararajan et al., 2017).

    ``attribution_i = (x_i - b_i) * int_0^1 d f(b + a (x - b)) / d x_i da``. The attributions
    of a sample sum to ``f(x) - f(b)`` up to the quadrature error, reported per sample as
    ``Explanation.convergence_delta``.

    Args:
        baseline: where the path starts: a number (default 0.0), an array of one sample's
            shape, or an array of one baseline per sample (N, ...).
        steps: number of intervals (default 50).
        rule: quadrature rule (default 'trapezoid').
    """

    name = "integrated_gradients"

    baseline: Any = attrs.field(default=0.0, validator=check_baseline, eq=False)

    def make_baselines(self, inputs: np.ndarray) -> np.ndarray:
        return constant_baselines(self.baseline, inputs)


@attrs.frozen(kw_only=True)
class RandomBaselineIG(PathIntegral):
    """Integrated gradients averaged over random baselines drawn from the batch.

    For each of ``num_runs`` runs one baseline is assembled from the inputs passed to
    ``explain``: along the first axis after the batch axis (features, time steps or image
    rows), each slice is copied from a sample drawn uniformly at random. IG is computed from
    that baseline for every sample, and the attributions are averaged over the runs, so
    they sum to ``f(x) - mean_r f(b_r)``. The baselines depend only on the whole input batch
    and ``seed``, not on ``batch_size``.

    Args:
        num_runs: number of random baselines (default 5).
        seed: seed of ``numpy.random.default_rng``; None draws fresh baselines on each call.
        steps: number of intervals per path (default 50).
        rule: quadrature rule (default 'trapezoid').
    """

    name = "random_baseline_ig"
    capabilities = Capabilities(seed="seed")

    num_runs: int = attrs.field(default=5, validator=positive_int)
    seed: int | None = attrs.field(default=None, validator=seed)

    def make_baselines(self, inputs: np.ndarray) -> np.ndarray:
        return random_from_batch(inputs, self.num_runs, self.seed)
