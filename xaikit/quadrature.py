"""Quadrature rules on [0, 1]: the path points (alphas) and weights of each IG rule.

Integrated gradients approximates ``int_0^1 g(alpha) d alpha`` by ``sum_k w_k g(alpha_k)``.
``steps`` is the number of intervals the unit segment is cut into; every rule's weights sum
to 1, so a constant gradient is integrated exactly (tests check it).

=================  ===================  ==========================================
rule               model evaluations    nodes
=================  ===================  ==========================================
trapezoid          steps + 1            0, 1/n, ..., 1 (end points weigh 1/(2n))
riemann_left       steps                0, 1/n, ..., (n-1)/n
riemann_right      steps                1/n, ..., 1
riemann_middle     steps                (k + 1/2)/n
gauss_legendre     steps                Gauss-Legendre nodes mapped to [0, 1]
=================  ===================  ==========================================
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .errors import InputError

__all__ = ["RULES", "quadrature", "num_evaluations"]


def _trapezoid(n: int) -> tuple[np.ndarray, np.ndarray]:
    alphas = np.arange(n + 1, dtype=np.float64) / n
    weights = np.full(n + 1, 1.0 / n)
    weights[[0, -1]] = 0.5 / n
    return alphas, weights


def _riemann(offset: float) -> Callable[[int], tuple[np.ndarray, np.ndarray]]:
    def rule(n: int) -> tuple[np.ndarray, np.ndarray]:
        return (np.arange(n, dtype=np.float64) + offset) / n, np.full(n, 1.0 / n)

    return rule


def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return (nodes + 1.0) / 2.0, weights / 2.0


RULES: dict[str, Callable[[int], tuple[np.ndarray, np.ndarray]]] = {
    "trapezoid": _trapezoid,
    "riemann_left": _riemann(0.0),
    "riemann_right": _riemann(1.0),
    "riemann_middle": _riemann(0.5),
    "gauss_legendre": _gauss_legendre,
}


def check_rule(rule: str) -> None:
    """Raise :class:`InputError` unless ``rule`` names a known rule."""
    if rule not in RULES:
        raise InputError(f"rule: expected one of {sorted(RULES)}, got {rule!r}")


def check_steps(steps: object) -> None:
    """Raise :class:`InputError` unless ``steps`` is an integer >= 1."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError(f"steps: expected an integer >= 1, got {steps!r}")


def quadrature(rule: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ``rule`` with ``steps`` intervals on [0, 1].

    Returns:
        ``(alphas, weights)``, two float64 arrays of shape ``(num_evaluations(rule, steps),)``;
        the weights are positive and sum to exactly 1 (``math.fsum``).
    """
    check_rule(rule)
    check_steps(steps)
    alphas, weights = RULES[rule](int(steps))
    return alphas, _normalized(weights)


def _normalized(weights: np.ndarray) -> np.ndarray:
    """``weights`` scaled to sum to exactly 1 (``math.fsum(weights) == 1.0``).

    Dividing by the sum leaves a rounding error of a few ulps; it is moved onto the largest
    weight, where it changes that weight by about one ulp.
    """
    weights = weights / math.fsum(weights)
    largest = int(np.argmax(weights))
    for _ in range(4):  # one correction is enough in practice; the bound is for safety
        residual = 1.0 - math.fsum(weights)
        if residual == 0.0:
            break
        weights[largest] += residual
    return weights


def num_evaluations(rule: str, steps: int) -> int:
    """How many path points (gradient evaluations per sample and baseline) ``rule`` uses."""
    return int(steps) + 1 if rule == "trapezoid" else int(steps)
