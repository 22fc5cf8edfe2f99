"""MC dropout: passes differ, the mean is their mean, seeds repeat, the model is left as it was."""

from __future__ import annotations

from typing import Any

import attrs
import keras
import numpy as np
import pytest
import tensorflow as tf
from xaikit_uncertainty import MCDropout, active_dropout, dropout_layers

import xaikit
from xaikit.errors import InputError
from xaikit.testing import check_explainer

layers = keras.layers


def init(seed: int) -> dict[str, Any]:
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": keras.initializers.RandomUniform(-0.1, 0.1, seed=seed + 100),
    }


def set_moving_stats(model: keras.Model, seed: int = 0) -> None:
    """Give every BatchNorm moving statistics far from any batch's own (so training mode
    would show)."""
    rng = np.random.default_rng(seed)
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, layers.BatchNormalization):
            mean, var = layer.moving_mean, layer.moving_variance
            mean.assign(rng.normal(size=mean.shape).astype("float32"))
            var.assign(rng.uniform(0.5, 2.0, size=var.shape).astype("float32"))


@pytest.fixture(scope="module")
def image_model() -> keras.Model:
    """Conv -> BatchNorm -> SpatialDropout2D -> nested (Dense, Dropout) -> GaussianDropout."""
    inp = keras.Input((8, 8, 3))
    x = layers.Conv2D(6, 3, padding="same", activation="relu", **init(1))(inp)
    x = layers.BatchNormalization()(x)
    x = layers.SpatialDropout2D(0.3)(x)
    x = layers.GlobalAveragePooling2D()(x)
    head = keras.Sequential(
        [keras.Input((6,)), layers.Dense(12, activation="relu", **init(2)), layers.Dropout(0.5)],
        name="head",
    )
    x = layers.GaussianDropout(0.2)(head(x))
    out = layers.Softmax()(layers.Dense(3, **init(3))(x))
    model = keras.Model(inp, out, name="dropout_cnn")
    set_moving_stats(model)
    return model


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(5, 8, 8, 3)).astype("float32")


def linear_model(rate: float = 0.5, alpha: bool = False) -> keras.Model:
    """x (6,) -> Dense 4 -> BatchNorm -> dropout -> Dense 3: gradients are linear in the mask."""
    inp = keras.Input((6,))
    x = layers.BatchNormalization()(layers.Dense(4, **init(5))(inp))
    x = (layers.AlphaDropout if alpha else layers.Dropout)(rate)(x)
    model = keras.Model(inp, layers.Dense(3, **init(6))(x), name="linear_dropout")
    set_moving_stats(model, 1)
    return model


def state(model: keras.Model) -> tuple[list[np.ndarray], list[Any]]:
    """Every variable (weights, BatchNorm statistics, dropout seed generators) and every
    layer's instance-level call."""
    values = [keras.ops.convert_to_numpy(v) for v in model.variables]
    calls = [
        (layer.name, type(layer).call, layer.__dict__.get("call"))
        for layer in model._flatten_layers(include_self=True, recursive=True)
    ]
    return values, calls


def assert_same_state(before: Any, after: Any) -> None:
    assert len(before[0]) == len(after[0])
    for a, b in zip(before[0], after[0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert before[1] == after[1]


# ----------------------------------------------------------------------- the basics
def test_finds_every_dropout_layer_in_nested_models(image_model):
    kinds = sorted(type(layer).__name__ for layer in dropout_layers(image_model))
    assert kinds == ["Dropout", "GaussianDropout", "SpatialDropout2D"]


def test_passes_differ_and_the_mean_is_their_average(image_model, images):
    explainer = MCDropout(xaikit.Saliency(image_model, reducer=None), passes=6, seed=0)
    result = explainer.explain_passes(images)
    assert result.passes.shape == (6, *images.shape)
    assert result.passes.dtype == np.float32
    for p in range(1, 6):
        assert not np.allclose(result.passes[0], result.passes[p])
    np.testing.assert_allclose(
        result.explanation.attributions, result.passes.mean(axis=0), rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(
        explainer.explain(images).attributions, result.explanation.attributions, rtol=1e-6
    )
    assert result.explanation.method == "mc_dropout"
    # scores are those of the model without dropout (BatchNorm in inference too)
    expected = np.asarray(image_model(images, training=False))
    top = expected.argmax(-1)
    np.testing.assert_allclose(result.explanation.scores, expected[np.arange(5), top], rtol=1e-5)


def test_reducer_applies_to_each_pass_and_to_the_mean(image_model, images):
    explainer = MCDropout(xaikit.Saliency(image_model, reducer="mean"), passes=3, seed=0)
    result = explainer.explain_passes(images)
    assert result.passes.shape == (3, *images.shape[:-1])
    np.testing.assert_allclose(
        result.passes.mean(axis=0), result.explanation.attributions, rtol=1e-5, atol=1e-7
    )
    assert result.quantile_maps([0.0, 1.0]).shape == (2, *images.shape[:-1])


def test_seeded_runs_repeat_and_do_not_depend_on_batch_size(image_model, images):
    make = lambda **kw: MCDropout(xaikit.Saliency(image_model), passes=4, **kw)  # noqa: E731
    first = make(seed=3).explain_passes(images).passes
    np.testing.assert_array_equal(make(seed=3).explain_passes(images).passes, first)
    chunked = make(seed=3, batch_size=2).explain_passes(images).passes
    np.testing.assert_allclose(chunked, first, rtol=1e-5, atol=1e-7)
    assert not np.allclose(make(seed=4).explain_passes(images).passes, first)
    unseeded = make()
    assert not np.allclose(
        unseeded.explain(images).attributions, unseeded.explain(images).attributions
    )


def test_model_is_unchanged_afterwards(image_model, images):
    before = state(image_model)
    MCDropout(xaikit.IntegratedGradients(image_model, steps=4), passes=2, seed=0).explain(images)
    MCDropout(xaikit.GuidedBackprop(image_model), passes=2, seed=0).explain(images)
    assert_same_state(before, state(image_model))


def test_model_is_restored_when_the_wrapped_method_raises(image_model, images):
    seen: list[bool] = []

    @attrs.frozen(kw_only=True)
    class Failing(xaikit.Explainer):
        def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
            self.model(inputs)
            seen.append(all("call" in vars(layer) for layer in dropout_layers(self.model)))
            raise RuntimeError("boom")

    before = state(image_model)
    with pytest.raises(RuntimeError, match="boom"):
        MCDropout(Failing(image_model), passes=2, seed=0).explain(images)
    assert seen == [True]  # patched while it ran ...
    assert_same_state(before, state(image_model))  # ... and restored after the error


# ----------------------------------------------------------------------- what a pass is
@pytest.mark.parametrize("rate", [0.25, 0.5])
def test_each_pass_is_one_bernoulli_mask_scaled_and_shared_by_all_samples(rate):
    """With x -> W1 -> BatchNorm -> Dropout -> w2, a pass's signed gradient is
    ``W1 diag(s) diag(m) w2`` with BatchNorm's inference scale s: solving for m from the
    attributions must give the same mask in {0, 1/(1-rate)} for every sample."""
    model = linear_model(rate)
    x = np.random.default_rng(2).normal(size=(4, 6)).astype("float32")
    dense1, norm, _, dense2 = (model.get_layer(index=i) for i in (1, 2, 3, 4))
    numpy = keras.ops.convert_to_numpy
    scale = numpy(norm.gamma) / np.sqrt(numpy(norm.moving_variance) + norm.epsilon)
    w1 = numpy(dense1.kernel) * scale  # (6, 4)
    w2 = numpy(dense2.kernel)[:, 0]  # (4,) the explained class's column
    passes = 200
    explainer = MCDropout(
        xaikit.Saliency(model, absolute=False, operator="regression"), passes=passes, seed=1
    )
    grads = explainer.explain_passes(x, np.zeros(4, int)).passes  # (P, 4, 6)
    masks = np.linalg.lstsq(w1, grads.reshape(-1, 6).T, rcond=None)[0].T / w2  # (P*4, 4)
    masks = masks.reshape(passes, 4, 4)
    np.testing.assert_allclose(masks, masks[:, :1].repeat(4, axis=1), atol=1e-3)
    kept = 1.0 / (1.0 - rate)
    assert np.all(np.isclose(masks, 0.0, atol=1e-3) | np.isclose(masks, kept, atol=1e-3))
    dropped = np.isclose(masks[:, 0], 0.0, atol=1e-3).mean()
    assert abs(dropped - rate) < 0.06  # 800 Bernoulli draws: 4.4 standard deviations
    # the mean gradient approaches the deterministic model's
    plain = xaikit.Saliency(model, absolute=False, operator="regression").explain(x, 0)
    np.testing.assert_allclose(
        grads.mean(axis=0), plain.attributions, atol=0.25 * np.abs(plain.attributions).max()
    )


def test_alpha_dropout_keeps_selu_statistics_in_each_pass():
    model = linear_model(0.3, alpha=True)
    seed = tf.Variable([5, 7], dtype=tf.int64)
    (layer,) = dropout_layers(model)
    inputs = tf.random.stateless_normal((1, 20000), seed=[1, 2])
    with active_dropout(model, seed):
        out = layer(inputs, training=False).numpy()
    assert abs(out.mean()) < 0.03 and abs(out.std() - 1.0) < 0.03
    assert "call" not in vars(layer)


# ----------------------------------------------------------------------- conformance, errors
def with_dropout(model: keras.Model) -> keras.Model:
    """``model`` nested behind input dropout: the same outputs in inference mode."""
    inp = keras.Input(model.inputs[0].shape[1:])
    return keras.Model(inp, model(layers.Dropout(0.2)(inp)))


def test_mc_dropout_passes_check_explainer():
    check_explainer(lambda model: MCDropout(xaikit.Saliency(with_dropout(model)), passes=3, seed=0))


def test_a_method_compiled_before_wrapping_still_gets_dropout(image_model, images):
    saliency = xaikit.Saliency(image_model)
    plain = saliency.explain(images).attributions  # its kernel is compiled without dropout
    passes = MCDropout(saliency, passes=2, seed=0).explain_passes(images).passes
    assert not np.allclose(passes[0], passes[1]) and not np.allclose(passes[0], plain)
    np.testing.assert_array_equal(saliency.explain(images).attributions, plain)


def test_a_model_without_dropout_is_refused():
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    with pytest.raises(InputError, match="model: mc_dropout found no dropout layer"):
        MCDropout(xaikit.Saliency(model))


def test_a_method_that_never_runs_the_model_is_refused(image_model, images):
    @attrs.frozen(kw_only=True)
    class Constant(xaikit.Explainer):
        def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
            return tf.ones_like(inputs)

    with pytest.raises(InputError, match="did not run the model's dropout layers"):
        MCDropout(Constant(image_model), passes=2).explain(images)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"passes": 0}, "passes: expected an integer >= 1"),
        ({"seed": -1}, "seed: expected None or an integer >= 0"),
        ({"strategy": tf.distribute.get_strategy()}, "strategy: mc_dropout"),
    ],
)
def test_bad_parameters_are_refused_by_name(image_model, kwargs, match):
    with pytest.raises(InputError, match=match):
        MCDropout(xaikit.Saliency(image_model), **kwargs)


def test_unknown_reducer_is_refused_at_construction(image_model):
    with pytest.raises(xaikit.UnknownNameError, match="reducer: unknown reducer 'nope'"):
        MCDropout(xaikit.Saliency(image_model), reducer="nope")


def test_method_must_be_an_explainer(image_model):
    with pytest.raises(InputError, match="method: expected an xaikit Explainer"):
        MCDropout(image_model)
