"""Checks of attribution axioms, computed independently of the method under test.

These take an explainer (any :class:`~xaikit.Explainer`), run it, and measure how far its
attributions are from an axiom. Tests use them; so can users choosing a method.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .explainer import Explainer

__all__ = ["completeness", "sensitivity"]


def _scores(explainer: Explainer, inputs: np.ndarray, targets: Any) -> np.ndarray:
    """Operator scores at ``inputs``, by an uncompiled forward pass (eager)."""
    import tensorflow as tf

    operator = explainer.resolved_operator()
    return operator(explainer.model, tf.constant(inputs), tf.constant(targets)).numpy()


def completeness(
    explainer: Explainer, inputs: Any, targets: Any = None, baseline: Any = 0.0
) -> np.ndarray:
    """Completeness residual: ``sum(attributions) - (f(x) - f(baseline))`` per sample.

    Integrated gradients satisfies completeness up to its quadrature error, which shrinks as
    ``steps`` grows. ``f`` is evaluated here with an eager forward pass, independently of the
    explainer's own bookkeeping (``Explanation.convergence_delta``).

    Args:
        explainer: an explainer with no reducer (or a sum reducer).
        inputs: (N, ...) array.
        targets: as for ``explain``.
        baseline: the baseline the explainer integrates from (number or array that
            broadcasts to the inputs).

    Returns:
        (N,) float64 residuals.
    """
    explanation = explainer.explain(inputs, targets)
    x = np.asarray(inputs, dtype=explanation.attributions.dtype)
    base = np.broadcast_to(np.asarray(baseline, dtype=x.dtype), x.shape)
    weights = _targets_as_weights(explanation.targets, explainer, x)
    gap = _scores(explainer, x, weights) - _scores(explainer, np.array(base), weights)
    total = explanation.attributions.reshape(len(x), -1).sum(axis=1, dtype=np.float64)
    return total - gap.astype(np.float64)


def _targets_as_weights(targets: np.ndarray, explainer: Explainer, x: np.ndarray) -> np.ndarray:
    if targets.ndim == 2:
        return targets.astype(x.dtype)
    num_outputs = explainer.num_outputs(x)
    weights = np.zeros((len(x), num_outputs), dtype=x.dtype)
    weights[np.arange(len(x)), targets] = 1
    return weights


def sensitivity(
    explainer: Explainer, inputs: Any, targets: Any = None, baseline: Any = 0.0
) -> np.ndarray:
    """Sensitivity (a): a feature that alone changes the score must get non-zero attribution.

    For each sample and each feature i, the input that equals the baseline everywhere but at
    i is built; if the model's score there differs from the score at the baseline, the
    attribution of feature i (for that single-feature input) must be non-zero.

    Intended for small inputs (it explains N x F inputs). Returns an (N, F) boolean array
    that is True where the axiom is violated (features flattened in C order).
    """
    x = np.asarray(inputs, dtype=np.float32)
    n, features = len(x), int(np.prod(x.shape[1:]))
    base = np.broadcast_to(np.asarray(baseline, dtype=x.dtype), x.shape).reshape(n, -1)
    probes = np.repeat(base[:, None, :], features, axis=1)
    flat = x.reshape(n, -1)
    probes[:, np.arange(features), np.arange(features)] = flat
    probes = probes.reshape(n * features, *x.shape[1:])
    explanation = explainer.explain(x, targets)
    repeated = np.repeat(explanation.targets, features, axis=0)
    probe_expl = explainer.explain(probes, repeated)
    weights = _targets_as_weights(probe_expl.targets, explainer, probes)
    baseline_inputs = np.repeat(base.reshape(x.shape), features, axis=0)
    moved = ~np.isclose(
        _scores(explainer, probes, weights), _scores(explainer, baseline_inputs, weights)
    )
    own = probe_expl.attributions.reshape(n, features, features)[
        :, np.arange(features), np.arange(features)
    ]
    return (moved.reshape(n, features)) & (own == 0)
