"""LIME against closed forms, an explicit loop with scikit-learn's Ridge, and its options."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from xaikit_perturb import Lime
from xaikit_perturb.lime import lime_kernel

import xaikit
from xaikit.errors import InputError
from xaikit.testing import check_explainer, conformance_models


@pytest.fixture(scope="module")
def models():
    return conformance_models()


def linear_model(features: int) -> tuple[keras.Model, np.ndarray]:
    inputs = keras.Input((features,))
    layer = keras.layers.Dense(1, kernel_initializer=keras.initializers.RandomNormal(seed=1))
    model = keras.Model(inputs, layer(inputs))
    return model, np.asarray(layer.kernel, dtype=np.float64)[:, 0]


# --------------------------------------------------------------------------- conformance
def test_check_explainer_by_name():
    check_explainer("lime")


def test_check_explainer_with_grid_segments_and_l2_distance():
    check_explainer(
        lambda model: Lime(
            model, segmentation="grid", distance="l2", num_samples=200, seed=3, reducer="mean"
        )
    )


# --------------------------------------------------------------------------- references
def test_linear_model_without_ridge_recovers_weights_times_distance_to_the_baseline():
    model, weights = linear_model(5)
    x = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    baseline = np.array([0.5, -1.0, 0.0, 2.0, 1.0], dtype="float32")
    got = Lime(
        model, ridge=0.0, baseline=baseline, num_samples=200, seed=0, operator="regression"
    ).explain(x)
    np.testing.assert_allclose(got.attributions, weights * (x - baseline), rtol=1e-4, atol=1e-5)


def test_matches_an_explicit_loop_and_scikit_learn_ridge(models):
    linear_model_ = pytest.importorskip("sklearn.linear_model")
    model, x = models["sequence"]
    x = x[:3]
    explainer = Lime(model, num_samples=300, num_segments=4, ridge=0.5, seed=11, batch_size=64)
    got = explainer.explain(x)
    prepared = explainer.prepare(x, np.eye(3, dtype="float32")[got.targets])
    for i in range(len(x)):
        labels = prepared["labels"][i]
        masks, _ = explainer.masks(np.random.default_rng(int(prepared["seeds"][i])), 4)
        scores = []
        for mask in masks:  # one masked copy at a time
            copy = np.where(mask[labels], x[i], 0.0)[None]
            scores.append(float(np.asarray(model(copy))[0, got.targets[i]]))
        proximity = lime_kernel(masks[None], np.ones((1, 4), bool), "cosine", 0.25)[0]
        ridge = linear_model_.Ridge(alpha=0.5).fit(masks.astype(float), scores, proximity)
        np.testing.assert_allclose(got.attributions[i], ridge.coef_[labels], rtol=1e-3, atol=1e-6)


def test_evidence_keeps_the_positive_or_the_negative_weights(models):
    model, x = models["image"]
    both = Lime(model, num_samples=300, seed=2).explain(x[:3]).attributions
    pro = Lime(model, num_samples=300, seed=2, evidence="pro").explain(x[:3]).attributions
    con = Lime(model, num_samples=300, seed=2, evidence="con").explain(x[:3]).attributions
    np.testing.assert_allclose(pro, np.maximum(both, 0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(con, np.minimum(both, 0), rtol=1e-5, atol=1e-7)
    assert (both > 0).any() and (both < 0).any()


def test_finds_the_one_region_a_model_looks_at():
    inputs = keras.Input((16, 16, 1))
    corner = keras.layers.Lambda(lambda t: tf.reduce_mean(t[:, :4, :4, 0], axis=(1, 2)))(inputs)
    model = keras.Model(inputs, keras.layers.Reshape((1,))(corner))
    x = np.ones((2, 16, 16, 1), "float32")
    got = Lime(model, segmentation="grid", num_segments=16, seed=0, operator="regression").explain(
        x
    )
    assert np.all(got.attributions[:, :4, :4] > 0.5)
    np.testing.assert_allclose(got.attributions[:, 4:], 0.0, atol=0.02)
    np.testing.assert_allclose(got.attributions[:, :, 4:], 0.0, atol=0.02)


# --------------------------------------------------------------------------- segments
def test_each_superpixel_gets_one_weight(models):
    model, x = models["image"]
    explainer = Lime(model, num_samples=200, seed=0, num_segments=10)
    got = explainer.explain(x[:2]).attributions
    labels = explainer.prepare(x[:2], np.zeros((2, 3), "float32"))["labels"]
    for i in range(2):
        for label in np.unique(labels[i]):
            values = got[i][labels[i] == label]
            np.testing.assert_array_equal(values, values[0])


def test_a_callable_segmentation_is_used_per_sample(models):
    model, x = models["image"]
    halves = Lime(
        model,
        seed=0,
        num_samples=100,
        segmentation=lambda sample: (np.arange(8)[:, None] >= 4) * np.ones((8, 8), int),
    ).explain(x[:2])
    values = halves.attributions
    assert len(np.unique(values[0])) <= 2
    np.testing.assert_array_equal(values[0, :4], values[0, 0, 0, 0])
    np.testing.assert_array_equal(values[0, 4:], values[0, 4, 0, 0])


# --------------------------------------------------------------------------- behaviour
def test_seeded_results_repeat_and_do_not_depend_on_batch_size(models):
    model, x = models["image"]
    first = Lime(model, num_samples=100, seed=4, batch_size=64).explain(x).attributions
    again = Lime(model, num_samples=100, seed=4, batch_size=5).explain(x).attributions
    other = Lime(model, num_samples=100, seed=5).explain(x).attributions
    np.testing.assert_allclose(again, first, rtol=1e-4, atol=1e-6)
    assert not np.allclose(other, first)


def test_registered_by_name_with_its_parameters(models):
    model, x = models["tabular"]
    explainer = xaikit.get_explainer("lime", model, evidence="con", seed=0)
    assert isinstance(explainer, Lime)
    assert explainer.explain(x).method == "lime"


@pytest.mark.parametrize(
    ("params", "argument"),
    [
        ({"evidence": "both"}, "evidence"),
        ({"num_samples": 0}, "num_samples"),
        ({"kernel_width": 0}, "kernel_width"),
        ({"ridge": -1.0}, "ridge"),
        ({"distance": "manhattan"}, "distance"),
        ({"baseline": "mean"}, "baseline"),
        ({"baseline": np.zeros(4)}, "baseline"),
        ({"num_segments": 0}, "num_segments"),
        ({"compactness": 0}, "compactness"),
        ({"seed": 1.5}, "seed"),
        ({"segmentation": "slic"}, "segmentation"),
        ({"segmentation": lambda sample: np.zeros(3, int)}, "segmentation"),
    ],
)
def test_bad_parameters_name_the_argument(models, params, argument):
    model, x = models["tabular"]
    with pytest.raises(InputError, match=f"^{argument}"):
        Lime(model, **params).explain(x)
