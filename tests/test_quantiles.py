"""xaikit.quantile_maps: exact per-element quantiles, checked against a plain loop."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import xaikit
from xaikit.errors import InputError


def loop_reference(maps: np.ndarray, quantiles: list[float]) -> np.ndarray:
    """Element by element: sort the M values, interpolate linearly between neighbours."""
    m = maps.shape[0]
    out = np.empty((len(quantiles), *maps.shape[1:]))
    for idx in itertools.product(*(range(d) for d in maps.shape[1:])):
        column = sorted(float(maps[(slice(None), *idx)][k]) for k in range(m))
        for j, q in enumerate(quantiles):
            position = q * (m - 1)
            low = int(np.floor(position))
            high = min(low + 1, m - 1)
            out[(j, *idx)] = column[low] + (position - low) * (column[high] - column[low])
    return out


@pytest.mark.parametrize("shape", [(7, 3, 4), (20, 2, 5, 3), (1, 6), (2, 4)])
def test_quantile_maps_match_a_loop(shape):
    maps = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    quantiles = [0.0, 0.1, 0.25, 0.5, 0.9, 1.0]
    got = xaikit.quantile_maps(maps, quantiles)
    assert got.shape == (len(quantiles), *shape[1:]) and got.dtype == np.float32
    np.testing.assert_allclose(got, loop_reference(maps, quantiles), rtol=1e-6, atol=1e-6)


def test_extreme_quantiles_are_min_and_max_and_median_of_odd_count():
    maps = np.random.default_rng(1).uniform(size=(9, 5, 5))
    low, mid, high = xaikit.quantile_maps(maps, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(low, maps.min(axis=0))
    np.testing.assert_array_equal(high, maps.max(axis=0))
    np.testing.assert_array_equal(mid, np.sort(maps, axis=0)[4])


def test_exact_not_binned():
    # Two clusters far apart: a 50-bin histogram would put the median in a bin midpoint.
    maps = np.array([[0.0], [0.001], [0.002], [100.0], [100.5]])
    np.testing.assert_allclose(xaikit.quantile_maps(maps, 0.5), [[0.002]])


def test_lists_of_maps_and_one_quantile_and_integers():
    maps = [np.full((2, 2), v) for v in (1, 2, 3, 4)]
    got = xaikit.quantile_maps(maps, 0.5)
    assert got.shape == (1, 2, 2) and got.dtype == np.float64
    np.testing.assert_allclose(got, 2.5)


@pytest.mark.parametrize(
    ("quantiles", "match"),
    [
        ([0.5, 1.5], r"quantiles: every quantile must be in \[0, 1\], got \[1.5\]"),
        (-0.1, r"quantiles: every quantile must be in \[0, 1\]"),
        ([float("nan")], r"quantiles: every quantile must be in \[0, 1\]"),
        ([], "quantiles: expected at least one quantile"),
        ([[0.1, 0.2]], "quantiles: expected a number or a 1-D sequence"),
        ("median", "quantiles: expected a number"),
    ],
)
def test_bad_quantiles_are_refused_by_name(quantiles, match):
    with pytest.raises(InputError, match=match):
        xaikit.quantile_maps(np.zeros((3, 2)), quantiles)


@pytest.mark.parametrize(
    ("attributions", "match"),
    [
        ([], "attributions: expected at least one map"),
        (np.zeros((0, 4, 4)), "attributions: expected at least one map"),
        (np.float32(1.0), "attributions: expected a stack of maps"),
        (np.array([[1.0, np.nan]]), r"attributions: expected finite values, got 1 NaN"),
        (np.array([[np.inf, 1.0]]), "attributions: expected finite values"),
        (np.array([["a", "b"]]), "attributions: expected numbers"),
        ([np.zeros(2), np.zeros(3)], "attributions: expected maps of one shape"),
    ],
)
def test_bad_attributions_are_refused_by_name(attributions, match):
    with pytest.raises(InputError, match=match):
        xaikit.quantile_maps(attributions, [0.5])
