"""Occlusion against an explicit loop over patch positions, on tables, sequences and images."""

from __future__ import annotations

import importlib.metadata
import itertools
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf
from xaikit_occlusion import Occlusion, windows

import xaikit
from xaikit.errors import InputError
from xaikit.testing import check_explainer, conformance_models


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    return conformance_models()


def reference(
    model: Any,
    x: np.ndarray,
    targets: np.ndarray,
    per_axis: list[list[int]],
    sizes: tuple[int, ...],
    baseline: Any = 0.0,
) -> np.ndarray:
    """Explicit loop: for every sample and every patch position, hide it and run the model.

    ``per_axis`` lists the patch starts along each window axis, written out by the test.
    """
    out = np.zeros(x.shape, dtype=np.float64)
    for i in range(len(x)):
        clean = float(np.asarray(model(x[i : i + 1]))[0, targets[i]])
        total = np.zeros(x.shape[1:])
        count = np.zeros(x.shape[1:])
        for start in itertools.product(*per_axis):
            where = tuple(slice(s, s + p) for s, p in zip(start, sizes, strict=True))
            copy = x[i].copy()
            copy[where] = np.broadcast_to(baseline, x.shape[1:])[where]
            drop = clean - float(np.asarray(model(copy[None]))[0, targets[i]])
            total[where] += drop
            count[where] += 1
        assert count.min() >= 1
        out[i] = total / count
    return out


# --------------------------------------------------------------------------- conformance
def test_check_explainer_with_default_patches():
    check_explainer(Occlusion)


def test_check_explainer_with_overlapping_patches():
    check_explainer(lambda model: Occlusion(model, patch=3, stride=2, reducer="mean"))


# --------------------------------------------------------------------------- references
CASES = {
    # kind: (patch, stride, starts along each window axis, sizes)
    "tabular": (2, 1, [[0, 1, 2, 3, 4]], (2,)),
    "sequence": (3, 3, [[0, 3, 6, 9]], (3,)),
    "image": ((3, 4), (2, 3), [[0, 2, 4, 5], [0, 3, 4]], (3, 4)),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_matches_an_explicit_loop_over_patch_positions(models, kind):
    model, x = models[kind]
    x = x[:3]
    patch, stride, per_axis, sizes = CASES[kind]
    got = Occlusion(model, patch=patch, stride=stride, batch_size=5).explain(x)
    expected = reference(model, x, got.targets, per_axis, sizes)
    np.testing.assert_allclose(got.attributions, expected, rtol=1e-4, atol=1e-6)
    assert np.abs(expected).max() > 1e-3


def test_per_channel_patches_and_an_array_baseline_match_the_loop(models):
    model, x = models["image"]
    x = x[:2]
    baseline = np.linspace(-1, 1, 3, dtype="float32")  # one value per channel
    got = Occlusion(model, patch=(4, 4, 1), baseline=baseline, batch_size=7).explain(x)
    expected = reference(model, x, got.targets, [[0, 4], [0, 4], [0, 1, 2]], (4, 4, 1), baseline)
    np.testing.assert_allclose(got.attributions, expected, rtol=1e-4, atol=1e-6)
    assert not np.allclose(expected[..., 0], expected[..., 1])


def test_patches_hiding_all_channels_give_equal_channels(models):
    model, x = models["image"]
    got = Occlusion(model, patch=2).explain(x[:2]).attributions
    np.testing.assert_array_equal(got[..., 0], got[..., 2])


def test_no_gradients_needed(models):
    """A model whose gradients are all zero still gets occlusion attributions."""
    model, x = models["tabular"]
    frozen = keras.Sequential([keras.Input((6,)), keras.layers.Lambda(tf.stop_gradient), model])
    assert np.abs(xaikit.Saliency(frozen).explain(x).attributions).max() == 0.0
    np.testing.assert_allclose(
        Occlusion(frozen).explain(x).attributions,
        Occlusion(model).explain(x).attributions,
        rtol=1e-6,
    )


# --------------------------------------------------------------------------- windows
def test_windows_cover_every_element_and_count_the_cover():
    found = windows((8, 8, 3), patch=3, stride=2)
    assert found.sizes.tolist() == [3, 3]
    assert len(found.starts) == 16  # starts 0, 2, 4, 5 along each axis
    assert found.counts.shape == (8, 8, 1)
    along = np.array([1, 1, 2, 1, 2, 2, 2, 1])
    np.testing.assert_array_equal(found.counts[..., 0], np.outer(along, along))
    assert windows((6,)).sizes.tolist() == [1] and windows((16, 2)).sizes.tolist() == [2]


def test_bad_patches_are_refused_with_the_argument_named(models):
    model, x = models["image"]
    with pytest.raises(InputError, match="patch: expected None, an integer >= 1"):
        Occlusion(model, patch=0)
    with pytest.raises(InputError, match="stride"):
        Occlusion(model, stride=(2, -1))
    with pytest.raises(InputError, match="stride: .* larger than the patch"):
        Occlusion(model, patch=2, stride=3).explain(x)
    with pytest.raises(InputError, match="does not fit"):
        Occlusion(model, patch=9).explain(x)
    with pytest.raises(InputError, match="patch: expected an int or 2 sizes"):
        Occlusion(model, patch=(2, 2, 2, 2)).explain(x)
    with pytest.raises(InputError, match="baseline: expected a number or an array broadcast"):
        Occlusion(model, baseline=np.zeros(4)).explain(x)
    with pytest.raises(InputError, match="baseline: expected finite"):
        Occlusion(model, baseline=np.nan)


# --------------------------------------------------------------------------- registry
def test_registered_by_its_entry_point(models):
    model, x = models["sequence"]
    explainer = xaikit.get_explainer("occlusion", model, patch=4)
    assert isinstance(explainer, Occlusion) and explainer.patch == 4
    assert explainer.explain(x).method == "occlusion"
    installed = importlib.metadata.entry_points(group="xaikit")
    without = [e for e in installed if e.name != "xaikit_occlusion"]
    assert len(without) == len(installed) - 1
    assert "occlusion" not in xaikit.Registry(entry_points=lambda: without).names("methods")
