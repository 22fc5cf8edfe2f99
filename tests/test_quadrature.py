"""Quadrature rules: nodes in [0, 1], weights summing exactly to 1, the right points."""

from __future__ import annotations

import math

import numpy as np
import pytest
import reference

import xaikit
from xaikit.quadrature import RULES, num_evaluations, quadrature

ALL_RULES = ("trapezoid", "riemann_left", "riemann_right", "riemann_middle", "gauss_legendre")
STEPS = (*range(1, 41), 50, 64, 100, 127, 128, 255, 256, 500, 1000)


def test_the_documented_rules_exist():
    assert set(RULES) == set(ALL_RULES)


@pytest.mark.parametrize("rule", ALL_RULES)
def test_weights_sum_exactly_to_one(rule):
    """Not 1 +- an ulp: math.fsum (exactly rounded) of the weights is 1.0 for every steps."""
    wrong = [steps for steps in STEPS if math.fsum(quadrature(rule, steps)[1]) != 1.0]
    assert wrong == [], f"{rule}: weights do not sum to exactly 1 for steps={wrong}"


@pytest.mark.parametrize("rule", ALL_RULES)
def test_nodes_in_unit_interval_increasing_and_weights_positive(rule):
    for steps in STEPS:
        alphas, weights = quadrature(rule, steps)
        assert alphas.dtype == weights.dtype == np.float64
        assert alphas.shape == weights.shape == (num_evaluations(rule, steps),)
        assert np.all((alphas >= 0.0) & (alphas <= 1.0)), (rule, steps)
        assert np.all(np.diff(alphas) > 0), (rule, steps)
        assert np.all(weights > 0), (rule, steps)


@pytest.mark.parametrize("rule", ALL_RULES)
@pytest.mark.parametrize("steps", [1, 2, 3, 7, 16, 50])
def test_matches_hand_written_nodes(rule, steps):
    """Against the reference's own nodes (Golub-Welsch eigenvalues for Gauss-Legendre)."""
    alphas, weights = quadrature(rule, steps)
    ref_alphas, ref_weights = reference.nodes(rule, steps)
    np.testing.assert_allclose(alphas, ref_alphas, rtol=0, atol=1e-13)
    np.testing.assert_allclose(weights, ref_weights, rtol=0, atol=1e-13)


def test_end_points_of_each_rule():
    n = 8
    assert quadrature("trapezoid", n)[0][[0, -1]].tolist() == [0.0, 1.0]
    assert quadrature("riemann_left", n)[0][[0, -1]].tolist() == [0.0, 7 / 8]
    assert quadrature("riemann_right", n)[0][[0, -1]].tolist() == [1 / 8, 1.0]
    assert quadrature("riemann_middle", n)[0][[0, -1]].tolist() == [1 / 16, 15 / 16]
    gl = quadrature("gauss_legendre", n)[0]
    assert 0.0 < gl[0] and gl[-1] < 1.0


@pytest.mark.parametrize(
    ("rule", "degree"),
    [
        ("trapezoid", 1),
        ("riemann_middle", 1),
        ("riemann_left", 0),
        ("riemann_right", 0),
        ("gauss_legendre", 2 * 6 - 1),
    ],
)
def test_polynomials_integrated_exactly_up_to_the_rule_degree(rule, degree):
    alphas, weights = quadrature(rule, 6)
    for power in range(degree + 1):
        assert math.isclose(float(np.dot(weights, alphas**power)), 1 / (power + 1), rel_tol=1e-13)
    # and not beyond it: the next power is integrated with an error
    power = degree + 1
    assert abs(float(np.dot(weights, alphas**power)) - 1 / (power + 1)) > 1e-8


@pytest.mark.parametrize("rule", ["simpson", "Trapezoid", ""])
def test_unknown_rule_is_refused_by_name(rule):
    with pytest.raises(xaikit.InputError, match="rule: expected one of"):
        quadrature(rule, 4)


@pytest.mark.parametrize("steps", [0, -3, 2.0, True, "8"])
def test_bad_steps_are_refused(steps):
    with pytest.raises(xaikit.InputError, match="steps: expected an integer >= 1"):
        quadrature("trapezoid", steps)
