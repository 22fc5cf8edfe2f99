"""RandomBaselineIG: IG averaged over baselines assembled from the batch, reproducible."""

from __future__ import annotations

import numpy as np
import pytest
import reference
from reference import assert_close

import xaikit
from xaikit.baselines import random_from_batch


@pytest.mark.parametrize("shape", [(5, 6), (4, 12, 2), (6, 10, 10, 3)])
def test_baselines_are_built_as_documented(shape):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    got = random_from_batch(x, 4, seed=3)
    expected = reference.random_batch_baselines(x, 4, seed=3)
    assert got.shape == (shape[0], 4, *shape[1:])
    for sample in range(shape[0]):  # the same R baselines for every sample
        np.testing.assert_array_equal(got[sample], expected)
    # every slice along axis 1 is a copy of that slice of some input sample
    for run in range(4):
        for position in range(shape[1]):
            assert any(
                np.array_equal(got[0, run, position], x[j, position]) for j in range(shape[0])
            )


def test_baselines_mix_samples():
    """With enough positions, a baseline takes slices from more than one sample."""
    x = np.arange(4)[:, None].repeat(50, axis=1).astype("float32")  # sample j is all j
    drawn = random_from_batch(x, 3, seed=0)[0]
    assert all(len(np.unique(baseline)) > 1 for baseline in drawn)


def test_matches_reference_on_every_model(cases):
    for case in cases.values():
        explainer = xaikit.RandomBaselineIG(
            case.model, operator=case.operator, num_runs=3, seed=11, steps=6, batch_size=5
        )
        explanation = explainer.explain(case.x)
        expected, delta = reference.random_baseline_ig(
            case.copy64(), case.x, case.weights(), num_runs=3, seed=11, steps=6
        )
        assert_close(explanation.attributions, expected)
        np.testing.assert_allclose(explanation.convergence_delta, delta, rtol=0, atol=5e-6)


@pytest.mark.parametrize("rule", ["riemann_middle", "gauss_legendre"])
def test_matches_reference_with_other_rules_and_targets(cases, rule):
    case = cases["cnn1d"]
    explainer = xaikit.RandomBaselineIG(case.model, num_runs=2, seed=5, steps=4, rule=rule)
    for targets in (2, np.eye(3, dtype="float32")[[0, 1, 2]]):
        explanation = explainer.explain(case.x, targets)
        expected, delta = reference.random_baseline_ig(
            case.copy64(), case.x, case.weights(targets), 2, 5, rule, 4
        )
        assert_close(explanation.attributions, expected)
        np.testing.assert_allclose(explanation.convergence_delta, delta, rtol=0, atol=5e-6)


def test_default_delta_is_near_zero(cases):
    case = cases["mlp"]
    explainer = xaikit.RandomBaselineIG(case.model, seed=0)
    assert (explainer.num_runs, explainer.steps, explainer.rule) == (5, 50, "trapezoid")
    explanation = explainer.explain(case.x)
    expected, delta = reference.random_baseline_ig(case.copy64(), case.x, case.weights(), 5, 0)
    assert_close(explanation.attributions, expected)
    np.testing.assert_allclose(explanation.convergence_delta, delta, rtol=0, atol=5e-6)
    assert np.all(np.abs(explanation.convergence_delta) < 0.02)  # scores are probabilities


def test_one_run_is_integrated_gradients_from_that_baseline(cases):
    case = cases["cnn2d"]
    base = reference.random_batch_baselines(case.x, 1, seed=9)[0]
    rb = xaikit.RandomBaselineIG(case.model, num_runs=1, seed=9, steps=8).explain(case.x)
    ig = xaikit.IntegratedGradients(case.model, baseline=base, steps=8).explain(case.x)
    assert_close(rb.attributions, ig.attributions, rtol=1e-6)
    np.testing.assert_allclose(rb.convergence_delta, ig.convergence_delta, atol=1e-7)


def test_seed_makes_it_reproducible_and_different_seeds_differ(cases):
    case = cases["cnn1d"]

    def run(seed):
        explainer = xaikit.RandomBaselineIG(case.model, num_runs=2, seed=seed, steps=4)
        return explainer.explain(case.x).attributions

    first = run(1)
    np.testing.assert_array_equal(run(1), first)  # a fresh explainer, same seed: identical
    assert not np.allclose(run(2), first, rtol=1e-3)


def test_seed_none_draws_fresh_baselines(cases):
    case = cases["mlp"]
    explainer = xaikit.RandomBaselineIG(case.model, num_runs=1, steps=4)
    draws = [explainer.explain(case.x).attributions for _ in range(3)]
    assert not all(np.array_equal(draws[0], other) for other in draws[1:])


def test_batch_size_does_not_change_the_result(cases):
    case = cases["cnn2d"]
    results = [
        xaikit.RandomBaselineIG(case.model, num_runs=3, seed=4, steps=5, batch_size=size).explain(
            case.x
        )
        for size in (1, 4, 1000)
    ]
    for other in results[1:]:
        assert_close(other.attributions, results[0].attributions, rtol=1e-5)
        np.testing.assert_allclose(other.convergence_delta, results[0].convergence_delta, atol=1e-6)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"num_runs": 0}, "num_runs: expected an integer >= 1"),
        ({"seed": 1.5}, "seed: expected None or an integer >= 0"),
        ({"seed": -1}, "seed: expected None or an integer >= 0"),
        ({"seed": True}, "seed: expected None or an integer >= 0"),
        ({"seed": "3"}, "seed: expected None or an integer >= 0"),
        ({"steps": 0}, "steps: expected an integer >= 1"),
        ({"rule": "simpson"}, "rule: expected one of"),
    ],
)
def test_bad_parameters_are_refused(cases, params, match):
    with pytest.raises(xaikit.InputError, match=match):
        xaikit.RandomBaselineIG(cases["mlp"].model, **params)


def test_numpy_integer_seed_is_accepted(cases):
    case = cases["mlp"]
    got = xaikit.RandomBaselineIG(case.model, num_runs=1, steps=2, seed=np.int64(3))
    same = xaikit.RandomBaselineIG(case.model, num_runs=1, steps=2, seed=3)
    np.testing.assert_array_equal(
        got.explain(case.x).attributions, same.explain(case.x).attributions
    )
