"""Integrated gradients and its random-baseline variant, sharing one path integral."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import tensorflow as tf

from .. import point_kernels
from ..baselines import check_baseline, structured_baselines, structured_random
from ..capabilities import Capabilities
from ..explainer import BatchResult, as_flat
from ..quadrature import check_rule, quadrature
from ..structure import input_specs
from ..validators import positive_int, seed
from .gradient import GradientMethod

__all__ = ["PathIntegral", "IntegratedGradients", "RandomBaselineIG"]


def _rule(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    check_rule(value)


@attrs.frozen(kw_only=True)
class PathIntegral(GradientMethod):
    """Straight-line path integral of gradients from baselines to the inputs (abstract).

    Subclasses say where the paths start by implementing :meth:`make_baselines`; this class
    integrates ``(x - b) * int_0^1 grad f(b + a (x - b)) da`` with the chosen quadrature
    rule and averages over the baselines of each sample. The (sample, baseline, point)
    triples are evaluated ``batch_size`` rows at a time.

    With several inputs, every input moves together along one path from its baseline, so
    the attributions of all inputs together sum to ``f(x) - f(b)``. With ``layer=``, the
    path runs in the layer's space, from the layer's output at the baselines to its output
    at the inputs (the layer's output is replaced by the interpolated tensor while the model
    runs); the attributions then sum to ``f(x) - f(b)`` when everything the inputs do to the
    output passes through the layer.

    Args:
        steps: number of intervals the path is cut into (>= 1); the trapezoid rule evaluates
            ``steps + 1`` points per path, the other rules ``steps``.
        rule: 'trapezoid' (default), 'riemann_left', 'riemann_right', 'riemann_middle' or
            'gauss_legendre'.
    """

    steps: int = attrs.field(default=50, validator=positive_int)
    rule: str = attrs.field(default="trapezoid", validator=_rule)

    @abc.abstractmethod
    def make_baselines(self, inputs: Any) -> Any:
        """Baselines (N, R, ...) for inputs (N, ...): R paths per sample, averaged; for
        several inputs, a tuple with one such array per input."""

    def prepare(self, inputs: Any, targets: np.ndarray) -> Mapping[str, Any]:
        super().prepare(inputs, targets)
        return {"baselines": self.make_baselines(inputs)}

    def _names(self, count: int) -> list[str]:
        specs = input_specs(self.model)
        if specs is not None and len(specs) == count:
            return [spec.name for spec in specs]
        return [f"input_{i}" for i in range(count)]

    def explain_batch(self, inputs: Any, targets: tf.Tensor, baselines: Any) -> BatchResult:
        flat, bases = as_flat(inputs), as_flat(baselines)
        dtype = targets.dtype
        points = self.points(len(flat))
        starts, ends = self._ends(flat, bases, points, dtype)
        alphas, weights = quadrature(self.rule, self.steps)
        specs = point_kernels.flat_specs([x.shape[1:] for x in flat], [x.dtype for x in flat])
        slot_shapes = [tuple(e.shape[1:]) for e in ends]

        def build() -> Any:
            return point_kernels.path_fn(
                self.scored_model,
                self._operator(),
                self.pack_for_model,
                specs,
                slot_shapes,
                int(targets.shape[-1]),
                dtype,
                points,
                self._on_missing(points, len(flat)),
            )

        key = (*self._key("path", flat, targets, points), tuple(slot_shapes))
        integrate = self.kernels.get(key, build, self.tracing_context)
        attributions, start, end = integrate(
            tuple(flat),
            tuple(starts),
            tuple(ends),
            targets,
            tf.constant(alphas, dtype),
            tf.constant(weights, dtype),
            tf.constant(self.batch_size, tf.int32),
        )
        if alphas[0] != 0.0:  # the rule never evaluates the baselines themselves
            runs = tf.shape(bases[0])[1]
            rows = [tf.reshape(b, [-1, *b.shape[2:]]) for b in bases]
            repeated = tf.repeat(targets, runs, axis=0)
            scores = self.scores(rows[0] if len(rows) == 1 else tuple(rows), repeated)
            start = tf.reduce_mean(tf.reshape(scores, tf.shape(bases[0])[:2]), axis=1)
        attributions = self.pack_slots(list(attributions), len(flat))
        return BatchResult(attributions, end if alphas[-1] == 1.0 else None, start)

    def _ends(
        self, flat: list[tf.Tensor], bases: list[tf.Tensor], points: Any, dtype: tf.DType
    ) -> tuple[list[tf.Tensor], list[tf.Tensor]]:
        """Each slot's path starts (n, R, ...) and ends (n, ...): an input and its baselines,
        or a layer's outputs at the inputs and at the baselines."""
        at_x = at_base = []
        if points.layers:
            at_x = self.record_layers(flat, points)
            n, runs = int(flat[0].shape[0]), int(bases[0].shape[1])
            rows = [tf.reshape(b, [-1, *b.shape[2:]]) for b in bases]
            at_base = [
                tf.reshape(h, [n, runs, *h.shape[1:]]) for h in self.record_layers(rows, points)
            ]
        starts, ends = [], []
        for kind, index in points.slots:
            if kind == "input":
                starts.append(tf.cast(bases[index], dtype))
                ends.append(tf.cast(flat[index], dtype))
            else:
                starts.append(tf.cast(at_base[index], dtype))
                ends.append(tf.cast(at_x[index], dtype))
        return starts, ends


@attrs.frozen(kw_only=True)
class IntegratedGradients(PathIntegral):
    """Integrated gradients (Sundararajan et al., 2017).

    ``attribution_i = (x_i - b_i) * int_0^1 d f(b + a (x - b)) / d x_i da``. The attributions
    of a sample sum to ``f(x) - f(b)`` up to the quadrature error, reported per sample as
    ``Explanation.convergence_delta``.

    Args:
        baseline: where the path starts: a number (default 0.0), an array of one sample's
            shape, or an array of one baseline per sample (N, ...); for a model of several
            inputs, one such value per input with the inputs' structure (a list in input
            order or a dict by name), or one number for all. For token ids attributed at
            their embedding (``layer=``) it is an id (0, usually padding).
        steps: number of intervals (default 50).
        rule: quadrature rule (default 'trapezoid').
    """

    name = "integrated_gradients"

    baseline: Any = attrs.field(default=0.0, validator=check_baseline, eq=False)

    def make_baselines(self, inputs: Any) -> Any:
        flat = as_flat(inputs)
        made = structured_baselines(self.baseline, flat, self._names(len(flat)))
        return made[0] if len(made) == 1 else tuple(made)


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
    capabilities = Capabilities(seed="seed", multi_input=True, layers=True)

    num_runs: int = attrs.field(default=5, validator=positive_int)
    seed: int | None = attrs.field(default=None, validator=seed)

    def make_baselines(self, inputs: Any) -> Any:
        made = structured_random(as_flat(inputs), self.num_runs, self.seed)
        return made[0] if len(made) == 1 else tuple(made)
