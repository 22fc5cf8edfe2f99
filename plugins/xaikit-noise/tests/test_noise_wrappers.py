"""SmoothGrad / VarGrad / SquareGrad against plain references and the conformance suite."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np
import pytest
import tensorflow as tf
from xaikit_noise import (
    SmoothGrad,
    SquareGrad,
    VarGrad,
    draw_seeds,
    noise_scale,
    standard_normal,
)

import xaikit
from xaikit.errors import InputError
from xaikit.testing import check_explainer, conformance_models

WRAPPERS = (SmoothGrad, VarGrad, SquareGrad)


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    return conformance_models()


def one_hot(indices: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k, dtype="float32")[indices]


def reference(wrapper: Any, inner: xaikit.Explainer, x: np.ndarray, top: np.ndarray) -> Any:
    """The wrapper's statistic by an explicit loop over samples, with the same noise."""
    k = int(np.asarray(inner.model(x[:1])).shape[-1])
    seeds = wrapper.prepare(x, one_hot(top, k))["noise_seeds"]
    plain = attrs.evolve(inner, reducer=None)
    out = []
    for i in range(len(x)):
        draws = np.arange(wrapper.n_samples)
        noise = standard_normal(np.repeat(seeds[i : i + 1], len(draws), 0), draws, x.shape[1:])
        sigma = wrapper.noise * (x[i].max() - x[i].min())
        noisy = x[i][None] + sigma * noise.numpy()
        maps = plain.explain(noisy, np.full(len(draws), top[i])).attributions.astype(np.float64)
        if isinstance(wrapper, SmoothGrad):
            out.append(maps.mean(axis=0))
        elif isinstance(wrapper, VarGrad):
            out.append(maps.var(axis=0))
        else:
            out.append(np.square(maps).mean(axis=0))
    return np.stack(out)


# ----------------------------------------------------------------------- conformance suite
@pytest.mark.parametrize("cls", WRAPPERS, ids=lambda c: c.__name__)
def test_wrappers_around_saliency_pass_check_explainer(cls):
    check_explainer(lambda model: cls(xaikit.Saliency(model), n_samples=3, seed=0))


@pytest.mark.parametrize("cls", WRAPPERS)
def test_wrapper_classes_pass_check_explainer_by_class(cls):
    check_explainer(cls)  # built on the model itself (saliency inside), seeded by the suite


def test_smoothgrad_around_integrated_gradients_passes_check_explainer():
    check_explainer(
        lambda model: SmoothGrad(xaikit.IntegratedGradients(model, steps=4), n_samples=3, seed=1),
        kinds=("tabular", "image"),
    )


# ----------------------------------------------------------------------- zero noise
@pytest.mark.parametrize(
    "make",
    [
        lambda model: xaikit.Saliency(model, absolute=False, reducer=None),
        lambda model: xaikit.GuidedBackprop(model),  # its tracing_context must still apply
    ],
    ids=["saliency", "guided_backprop"],
)
def test_zero_noise_smoothgrad_is_the_wrapped_method(models, make):
    model, x = models["image"]
    inner = make(model)
    smooth = SmoothGrad(inner, n_samples=4, noise=0.0, seed=0).explain(x)
    plain = inner.explain(x)
    np.testing.assert_allclose(smooth.attributions, plain.attributions, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(smooth.targets, plain.targets)
    np.testing.assert_allclose(smooth.scores, plain.scores, rtol=1e-6)
    assert smooth.method == "smoothgrad"
    gradients = xaikit.Saliency(model, absolute=False, reducer=None).explain(x).attributions
    if isinstance(inner, xaikit.GuidedBackprop):  # the guided ReLUs were in place
        assert not np.allclose(smooth.attributions, gradients, atol=1e-4)


def test_zero_noise_honours_the_wrapped_methods_prepare(models):
    """IG's per-sample baselines come from its prepare(); each noisy copy must get its own."""
    model, x = models["tabular"]
    baselines = np.random.default_rng(5).normal(size=x.shape).astype("float32")
    inner = xaikit.IntegratedGradients(model, steps=8, baseline=baselines)
    expected = inner.explain(x).attributions
    for batch_size in (2, 5, 64):
        got = SmoothGrad(inner, n_samples=3, noise=0.0, seed=0, batch_size=batch_size)
        np.testing.assert_allclose(got.explain(x).attributions, expected, rtol=1e-5, atol=1e-7)
    square = SquareGrad(inner, n_samples=2, noise=0.0, seed=0).explain(x).attributions
    np.testing.assert_allclose(square, expected**2, rtol=1e-5, atol=1e-9)
    variance = VarGrad(inner, n_samples=2, noise=0.0, seed=0).explain(x).attributions
    np.testing.assert_allclose(variance, 0.0, atol=1e-12)


# ----------------------------------------------------------------------- with noise
@pytest.mark.parametrize("cls", WRAPPERS, ids=lambda c: c.__name__)
def test_noisy_statistic_matches_an_explicit_loop_with_the_same_noise(models, cls):
    model, x = models["tabular"]
    x = x[:3]
    inner = xaikit.Saliency(model, absolute=False)
    wrapper = cls(inner, n_samples=6, noise=0.2, seed=3, batch_size=4)
    got = wrapper.explain(x)
    expected = reference(wrapper, inner, x, got.targets)
    np.testing.assert_allclose(got.attributions, expected, rtol=1e-4, atol=1e-7)
    if cls is SmoothGrad:
        assert not np.allclose(got.attributions, inner.explain(x).attributions, atol=1e-4)


def test_noisy_smoothgrad_ig_on_images_matches_the_loop(models):
    model, x = models["image"]
    x = x[:2]
    inner = xaikit.IntegratedGradients(model, steps=4, baseline=0.5)
    wrapper = SmoothGrad(inner, n_samples=3, noise=0.1, seed=7, batch_size=4)
    got = wrapper.explain(x)
    np.testing.assert_allclose(
        got.attributions, reference(wrapper, inner, x, got.targets), rtol=1e-4, atol=1e-7
    )


def test_noise_depends_only_on_the_sample_seed_and_the_draw():
    seeds = draw_seeds(3, seed=0)
    rows = np.repeat(seeds, 4, axis=0)
    draws = np.tile(np.arange(4), 3)
    full = standard_normal(rows, draws, (5, 2)).numpy()
    for r in (0, 5, 11):
        alone = tf.random.stateless_normal(
            (5, 2), tf.random.experimental.stateless_fold_in(rows[r].astype("int32"), int(draws[r]))
        )
        np.testing.assert_array_equal(full[r], alone.numpy())
        alone = standard_normal(rows[r : r + 1], draws[r : r + 1], (5, 2))
        np.testing.assert_array_equal(alone[0], full[r])
    assert len({full[r].tobytes() for r in range(12)}) == 12
    assert seeds.max() < 2**31  # the int32 range the compiled noise takes them in


def test_noise_scale_is_a_fraction_of_each_samples_range():
    x = tf.constant([[0.0, 2.0, 1.0], [-1.0, -1.0, 3.0]])
    np.testing.assert_allclose(noise_scale(x, 0.25).numpy(), [0.5, 1.0])


def test_noisy_copies_have_the_requested_spread(models):
    """With a linear 'method' (the inputs themselves) VarGrad is the noise variance."""

    @attrs.frozen(kw_only=True)
    class Identity(xaikit.Explainer):
        def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
            return inputs

    model, x = models["image"]
    x = x[:2]
    got = VarGrad(Identity(model), n_samples=400, noise=0.1, seed=0).explain(x).attributions
    sigma = 0.1 * (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3)))
    np.testing.assert_allclose(got.mean(axis=(1, 2, 3)), sigma**2, rtol=0.03)


# ----------------------------------------------------------------------- seeds and batches
def test_seed_makes_results_reproducible_and_none_draws_fresh_noise(models):
    model, x = models["tabular"]
    inner = xaikit.Saliency(model)
    a = SmoothGrad(inner, n_samples=3, seed=1).explain(x).attributions
    np.testing.assert_array_equal(SmoothGrad(inner, n_samples=3, seed=1).explain(x).attributions, a)
    assert not np.allclose(SmoothGrad(inner, n_samples=3, seed=2).explain(x).attributions, a)
    fresh = SmoothGrad(inner, n_samples=3, seed=None)
    assert not np.allclose(fresh.explain(x).attributions, fresh.explain(x).attributions)


class _Recording:
    rows: ClassVar[list[int]] = []


@attrs.frozen(kw_only=True)
class RecordingSaliency(xaikit.Saliency):
    """Saliency that records how many rows each call receives."""

    def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> Any:
        _Recording.rows.append(int(inputs.shape[0]))
        return super().explain_batch(inputs, targets)


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_noisy_copies_are_chunked_by_batch_size(models, batch_size):
    model, x = models["tabular"]
    _Recording.rows.clear()
    SmoothGrad(RecordingSaliency(model), n_samples=5, seed=0, batch_size=batch_size).explain(x)
    assert max(_Recording.rows) <= batch_size
    assert sum(_Recording.rows) == len(x) * 5


# ----------------------------------------------------------------------- construction
def test_operator_and_reducer_default_to_the_wrapped_methods_and_can_be_changed(models):
    model, x = models["tabular"]
    inner = xaikit.Saliency(model, operator="logits", reducer="mean")
    wrapper = SmoothGrad(inner, n_samples=2, seed=0)
    assert (wrapper.operator, wrapper.reducer, wrapper.batch_size) == ("logits", "mean", 1024)
    retargeted = SmoothGrad(xaikit.Saliency(model), operator="logits", n_samples=2, seed=0)
    np.testing.assert_allclose(
        retargeted.explain(x).attributions, wrapper.explain(x).attributions, rtol=1e-6
    )
    with pytest.raises(xaikit.UnknownNameError, match="reducer"):
        SmoothGrad(inner, reducer="nope")


def test_bad_parameters_name_the_argument(models):
    model, _ = models["tabular"]
    with pytest.raises(InputError, match="method: expected an xaikit Explainer"):
        SmoothGrad("saliency")
    assert isinstance(SmoothGrad(model).method, xaikit.Saliency)  # a model: saliency wrapped
    with pytest.raises(InputError, match="n_samples"):
        SmoothGrad(xaikit.Saliency(model), n_samples=0)
    with pytest.raises(InputError, match="noise"):
        SmoothGrad(xaikit.Saliency(model), noise=-0.1)
    with pytest.raises(InputError, match="seed"):
        SmoothGrad(xaikit.Saliency(model), seed=1.5)
