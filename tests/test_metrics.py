"""xaikit.metrics: faithfulness metrics against known answers and against plain loops."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import xaikit
from xaikit.metrics import (
    BUILTIN_METRICS,
    Deletion,
    Infidelity,
    Insertion,
    MaxSensitivity,
    Metric,
    MetricResult,
    MuFidelity,
    PixelFlipping,
)
from xaikit.testing import conformance_models

FEATURES = 12


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def linear():
    """f(x) = w . x + c, its inputs, and the exact attributions w * (x - 0)."""
    inputs = keras.Input((FEATURES,))
    dense = keras.layers.Dense(
        1,
        kernel_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=3),
        bias_initializer=keras.initializers.Constant(0.3),
    )
    model = keras.Model(inputs, dense(inputs))
    x = np.random.default_rng(1).normal(size=(8, FEATURES)).astype("float32")
    weights = model.get_weights()[0][:, 0]
    return model, x, weights * x


@pytest.fixture(scope="module")
def models():
    return conformance_models()


def _score(model, sample, target):
    """The explained output for one sample, by a plain eager call."""
    return float(np.asarray(model(sample[None]))[0, target])


def _area(curve, fractions):
    return np.trapezoid(curve, fractions) / (fractions[-1] - fractions[0])


# ---------------------------------------------------------------------------- known answers
def test_exact_attributions_beat_random_and_reversed_on_a_linear_model(linear):
    model, x, exact = linear
    others = {
        "random": np.random.default_rng(2).normal(size=exact.shape),
        "reversed": -exact,
    }
    metrics = [
        Deletion(model, operator="regression", steps=FEATURES),
        Insertion(model, operator="regression", steps=FEATURES),
        MuFidelity(model, operator="regression", n_subsets=64),
        Infidelity(model, operator="regression", n_perturbations=16),
    ]
    for metric in metrics:
        best = metric(x, 0, exact)
        assert isinstance(best, MetricResult) and best.scores.shape == (len(x),)
        for label, other in others.items():
            worse = metric(x, 0, other)
            # per sample: exact ordering is optimal for deletion / insertion on a linear model
            if metric.higher_is_better:
                assert np.all(best.scores >= worse.scores - 1e-6), (metric.name, label)
                assert best.mean > worse.mean, (metric.name, label)
            else:
                assert np.all(best.scores <= worse.scores + 1e-6), (metric.name, label)
                assert best.mean < worse.mean, (metric.name, label)
    # and the exact values the definitions give on a linear model
    np.testing.assert_allclose(metrics[2](x, 0, exact).scores, 1.0, atol=1e-6)
    np.testing.assert_allclose(metrics[3](x, 0, exact).scores, 0.0, atol=1e-9)
    np.testing.assert_allclose(metrics[2](x, 0, -exact).scores, -1.0, atol=1e-6)


def test_deletion_and_insertion_curves_of_a_linear_model(linear):
    model, x, exact = linear
    deletion = Deletion(model, operator="regression", steps=FEATURES)(x, 0, exact)
    insertion = Insertion(model, operator="regression", steps=FEATURES)(x, 0, exact)
    bias = 0.3
    full = exact.sum(axis=1) + bias
    np.testing.assert_allclose(deletion.curves[:, 0], full, rtol=1e-5)
    np.testing.assert_allclose(deletion.curves[:, -1], bias, atol=1e-5)
    np.testing.assert_allclose(insertion.curves[:, 0], bias, atol=1e-5)
    np.testing.assert_allclose(insertion.curves[:, -1], full, rtol=1e-5)
    ordered = -np.sort(-exact, axis=1)  # largest contribution removed first
    expected = full[:, None] - np.concatenate([np.zeros((len(x), 1)), ordered.cumsum(1)], 1)
    np.testing.assert_allclose(deletion.curves, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(deletion.details["fractions"], np.arange(13) / 12)


# ---------------------------------------------------------------------------- plain loops
def _loop_curve(model, sample, target, attributions, counts, replacement, insert=False):
    order = np.argsort(-attributions.ravel(), kind="stable")
    curve = []
    for count in counts:
        z = replacement.copy() if insert else sample.copy()
        for feature in order[:count]:
            where = np.unravel_index(feature, attributions.shape)  # a pixel: all channels
            z[where] = sample[where] if insert else replacement[where]
        curve.append(_score(model, z, target))
    return np.array(curve)


@pytest.mark.parametrize("insert", [False, True])
def test_deletion_insertion_match_a_loop_on_pixels(models, insert):
    model, x = models["image"]
    x = x[:3]
    target = np.array([0, 2, 1])
    attributions = np.random.default_rng(5).normal(size=x.shape[:-1])  # (N, H, W): pixels
    cls = Insertion if insert else Deletion
    result = cls(model, steps=4, baseline=0.5, batch_size=5)(x, target, attributions)
    counts = [0, 16, 32, 48, 64]
    fractions = np.array(counts) / 64
    for i in range(len(x)):
        curve = _loop_curve(
            model, x[i], target[i], attributions[i], counts, np.full_like(x[i], 0.5), insert
        )
        np.testing.assert_allclose(result.curves[i], curve, rtol=1e-5, atol=1e-6)
        assert result.scores[i] == pytest.approx(_area(curve, fractions), rel=1e-5)
    assert result.mean == pytest.approx(result.scores.mean())


def test_pixel_flipping_matches_a_loop_with_noise(models):
    model, x = models["image"]
    x = x[:2]
    attributions = np.random.default_rng(6).normal(size=x.shape)  # per channel
    metric = PixelFlipping(model, fraction=0.5, step=0.125, baseline=0.1, noise_std=0.3, seed=4)
    result = metric(x, 1, attributions)
    replacement = 0.1 + 0.3 * np.random.default_rng(4).standard_normal(x.shape)
    replacement = replacement.astype("float32")
    features = x[0].size
    counts = [round(k * 0.125 * features) for k in range(5)]
    for i in range(len(x)):
        curve = _loop_curve(model, x[i], 1, attributions[i], counts, replacement[i])
        np.testing.assert_allclose(result.curves[i], curve, rtol=1e-5, atol=1e-6)
        assert result.scores[i] == pytest.approx(_area(curve, np.array(counts) / features))
    assert result.details["ranks"].shape == x.shape
    assert result.details["ranks"][0].ravel()[np.argmax(attributions[0])] == 0


def test_mufidelity_matches_a_loop_on_time_steps(models):
    model, x = models["sequence"]  # (N, 12, 2), attributions per time step (N, 12)
    attributions = np.random.default_rng(7).normal(size=x.shape[:-1])
    metric = MuFidelity(
        model, n_subsets=6, subset_fraction=0.4, grid_size=4, baseline=-0.2, seed=3, batch_size=4
    )
    result = metric(x, 2, attributions)
    coarse = np.random.default_rng(3).random((6, 4)) < 0.4
    masks = np.zeros((6, 12), dtype=bool)
    for s in range(6):
        for t in range(12):
            masks[s, t] = coarse[s, t * 4 // 12]  # 3 time steps per grid cell
    for i in range(len(x)):
        drops, sums = [], []
        for s in range(6):
            z = x[i].copy()
            z[masks[s]] = -0.2
            drops.append(_score(model, x[i], 2) - _score(model, z, 2))
            sums.append(attributions[i][masks[s]].sum())
        expected = np.corrcoef(sums, drops)[0, 1]
        assert result.scores[i] == pytest.approx(expected, abs=1e-4)


def test_mufidelity_draws_tabular_features_one_by_one(models):
    model, x = models["tabular"]
    attributions = np.random.default_rng(8).normal(size=x.shape)
    result = MuFidelity(model, n_subsets=5, subset_fraction=0.5, seed=1)(x[:2], 0, attributions[:2])
    masks = np.random.default_rng(1).random((5, 6)) < 0.5
    sums = attributions[:2] @ masks.T
    np.testing.assert_allclose(result.details["subset_sums"], sums)


def test_infidelity_matches_a_loop(models):
    model, x = models["image"]
    x = x[:2]
    attributions = np.random.default_rng(9).normal(size=x.shape[:-1])  # pixels
    metric = Infidelity(model, n_perturbations=3, noise_scale=0.2, baseline=0.2, seed=5)
    result = metric(x, 0, attributions)
    u = 0.2 * np.random.default_rng(5).standard_normal((3, 8, 8))
    for i in range(len(x)):
        errors = []
        for j in range(3):
            shift = (u[j][..., None] * (x[i] - 0.2)).astype("float32")
            drop = _score(model, x[i], 0) - _score(model, x[i] - shift, 0)
            errors.append((np.sum(attributions[i] * u[j]) - drop) ** 2)
        assert result.scores[i] == pytest.approx(np.mean(errors), rel=1e-4, abs=1e-9)


def test_infidelity_without_inputs_and_normalized_matches_a_loop(models):
    model, x = models["tabular"]
    x = x[:3]
    attributions = np.random.default_rng(10).normal(size=x.shape)
    metric = Infidelity(
        model, n_perturbations=4, noise_scale=0.05, multiply_by_inputs=False, normalize=True
    )
    result = metric(x, 1, attributions)
    u = 0.05 * np.random.default_rng(0).standard_normal((4, 6))
    for i in range(len(x)):
        drops = np.array(
            [
                _score(model, x[i], 1) - _score(model, (x[i] - u[j]).astype("float32"), 1)
                for j in range(4)
            ]
        )
        predicted = np.array([np.sum(attributions[i] * u[j]) for j in range(4)])
        beta = np.sum(predicted * drops) / np.sum(predicted**2)
        expected = np.mean((beta * predicted - drops) ** 2)
        assert result.scores[i] == pytest.approx(expected, rel=1e-3, abs=1e-12)
        assert result.details["beta"][i] == pytest.approx(beta, rel=1e-3)


def test_max_sensitivity_matches_a_loop(models):
    model, x = models["tabular"]
    x = x[:3]
    explainer = xaikit.Saliency(model, absolute=False)
    metric = MaxSensitivity(model, explainer=explainer, n_perturbations=4, radius=0.1, seed=2)
    result = metric(x, [0, 1, 2])  # attributions computed by the explainer
    noise = np.random.default_rng(2).uniform(-0.1, 0.1, (4, 6)).astype("float32")
    for i in range(len(x)):
        own = explainer.explain(x[i : i + 1], i).attributions[0]
        changes = [
            np.linalg.norm(explainer.explain(x[i : i + 1] + noise[j], i).attributions[0] - own)
            for j in range(4)
        ]
        assert result.scores[i] == pytest.approx(max(changes) / np.linalg.norm(own), rel=1e-4)
    absolute = MaxSensitivity(
        model, explainer=explainer, n_perturbations=4, radius=0.1, seed=2, relative=False
    )(x, [0, 1, 2])
    assert np.all(absolute.scores > 0) and not np.allclose(absolute.scores, result.scores)


# ---------------------------------------------------------------------------- call semantics
def test_results_do_not_depend_on_batch_size_and_accept_every_input_form(models):
    model, x = models["image"]
    attributions = np.random.default_rng(11).normal(size=x.shape)
    explanation = xaikit.Saliency(model).explain(x)  # (N, H, W): max over channels
    top = np.asarray(model(x)).argmax(axis=1)
    for cls, params in [(Deletion, {"steps": 4}), (MuFidelity, {"n_subsets": 8})]:
        small, large = cls(model, batch_size=3, **params), cls(model, batch_size=64, **params)
        reference = small(x, top, attributions)
        np.testing.assert_allclose(large(x, top, attributions).scores, reference.scores, rtol=1e-5)
        np.testing.assert_allclose(small(x, None, attributions).scores, reference.scores)
        dataset = tf.data.Dataset.from_tensor_slices((x, top)).batch(3)
        np.testing.assert_allclose(small(dataset, None, attributions).scores, reference.scores)
        np.testing.assert_allclose(
            small(tf.constant(x), np.eye(3)[top], tf.constant(attributions)).scores,
            reference.scores,
        )
        from_explanation = small(x, attributions=explanation)
        direct = small(x, explanation.targets, explanation.attributions)
        np.testing.assert_allclose(from_explanation.scores, direct.scores)


def test_metrics_are_registered_like_methods(models):
    model, _ = models["tabular"]
    expected = {
        "deletion": False,
        "insertion": True,
        "pixel_flipping": False,
        "mufidelity": True,
        "infidelity": False,
        "max_sensitivity": False,
        "randomization": False,
    }
    assert set(expected) <= set(xaikit.list_metrics())
    for name, higher in expected.items():
        cls = BUILTIN_METRICS[name]
        assert issubclass(cls, Metric) and cls.name == name and cls.higher_is_better is higher
        assert cls.requires_explainer is (name in {"max_sensitivity", "randomization"})
    metric = xaikit.get_metric("deletion", model, steps=3)
    assert isinstance(metric, Deletion) and metric.steps == 3
    assert xaikit.metrics is not None and "metrics" in xaikit.__all__


def test_default_steps_work_with_fewer_features_than_steps(models):
    model, x = models["tabular"]  # 6 features; default steps=20, step=0.01
    attributions = np.random.default_rng(12).normal(size=x.shape)
    deletion = Deletion(model)(x, 0, attributions)
    np.testing.assert_array_equal(deletion.details["counts"], np.arange(7))  # one per step
    assert deletion.curves.shape == (len(x), 7)
    flipping = PixelFlipping(model)(x, 0, attributions)  # 25% of 6 features: 2 of them
    np.testing.assert_array_equal(flipping.details["counts"], [0, 1, 2])
    np.testing.assert_allclose(flipping.curves, deletion.curves[:, :3], rtol=1e-6)
