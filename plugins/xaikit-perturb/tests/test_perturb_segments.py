"""Segmentations, mask samplers and the batched solvers, on their own."""

from __future__ import annotations

import math

import numpy as np
import pytest
from xaikit_perturb.masking import all_coalitions, kernel_coalitions
from xaikit_perturb.segments import segment, segment_counts, spread
from xaikit_perturb.surrogate import constrained_least_squares

from xaikit.errors import InputError


def test_tables_get_one_segment_per_column_or_blocks_of_columns():
    x = np.zeros((2, 6))
    np.testing.assert_array_equal(segment(x)[0], np.arange(6))
    np.testing.assert_array_equal(segment(x, num_segments=3)[1], [0, 0, 1, 1, 2, 2])


def test_sequences_get_time_windows_over_every_channel():
    labels = segment(np.zeros((1, 10, 3)), num_segments=4)[0]
    assert np.all(labels == labels[:, :1])
    np.testing.assert_array_equal(labels[:, 0], [0, 0, 0, 1, 1, 2, 2, 2, 3, 3])
    assert segment(np.zeros((1, 40, 2)))[0].max() + 1 == 16


def test_image_grid_and_slic_label_every_channel_alike():
    rng = np.random.default_rng(0)
    x = rng.random((2, 16, 16, 3))
    grid = segment(x, "grid", num_segments=16)
    assert grid[0].max() + 1 == 16 and np.all(grid == grid[..., :1])
    slic = segment(x, num_segments=10)
    assert np.all(slic == slic[..., :1])
    for labels in slic:  # renumbered 0 .. M - 1, every label used
        np.testing.assert_array_equal(np.unique(labels), np.arange(labels.max() + 1))


def test_fixed_labels_are_renumbered_and_checked():
    labels = segment(np.zeros((2, 4, 2)), np.array([7, 7, 3, 9]))
    np.testing.assert_array_equal(labels[1, :, 0], [1, 1, 0, 2])
    with pytest.raises(InputError, match="^segmentation"):
        segment(np.zeros((2, 4, 2)), np.array([0, 1, 2]))


def test_counts_and_spread():
    labels = np.array([[0, 0, 1], [0, 1, 2]])
    np.testing.assert_array_equal(segment_counts(labels, 3), [[2, 1, 0], [1, 1, 1]])
    values = np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 5.0]])
    np.testing.assert_array_equal(spread(values, labels), [[1, 1, 2], [3, 4, 5]])


def test_all_coalitions_carry_the_shapley_kernel():
    masks, weights = all_coalitions(4)
    assert masks.shape == (14, 4) and len({tuple(m) for m in masks}) == 14
    k = masks.sum(axis=1)
    np.testing.assert_allclose(weights, 3 / (np.array([math.comb(4, i) for i in k]) * k * (4 - k)))


def test_kernel_coalitions_enumerate_the_heaviest_sizes_and_keep_the_total_weight():
    masks, weights = kernel_coalitions(np.random.default_rng(0), 10, 200)
    sizes = masks.sum(axis=1)
    assert 190 <= len(masks) <= 202 and sizes.min() >= 1 and sizes.max() <= 9
    assert np.sum(sizes == 1) == 10 and np.sum(sizes == 9) == 10  # enumerated outright
    np.testing.assert_allclose(weights.sum(), sum(9 / (k * (10 - k)) for k in range(1, 10)))


def test_constrained_fit_meets_its_constraint_even_when_underdetermined():
    rng = np.random.default_rng(0)
    z = rng.random((2, 3, 5)) < 0.5  # 3 rows, 5 unknowns
    valid = np.array([[True] * 5, [True, True, True, False, False]])
    phi = constrained_least_squares(z, rng.normal(size=(2, 3)), np.ones((2, 3)), valid, np.ones(2))
    np.testing.assert_allclose(phi.sum(axis=1), 1.0)
    np.testing.assert_array_equal(phi[1, 3:], 0.0)
