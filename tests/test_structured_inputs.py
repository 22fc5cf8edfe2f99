"""Structured inputs, several outputs and layers against float64 references.

Each case compares xaikit's compiled float32 attributions with a plain float64 loop over
``tf.GradientTape`` (tests/_structured_models.py) and checks completeness over the whole
structure: the sum of all attributions of all inputs = f(x) - f(baseline) per sample.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from _structured_models import (
    LENGTH,
    VOCAB,
    grads,
    mixed,
    path_ig,
    token_head,
    token_model,
    twin,
    two_heads,
    two_input,
)

import xaikit

STEPS = 24
RTOL = 2e-4


def _close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    scale = float(np.max(np.abs(want))) or 1.0
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * scale, err_msg=what)


@pytest.fixture(scope="module")
def pair() -> tuple:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4)).astype("float32")
    b = rng.normal(size=(3, 5, 2)).astype("float32")
    return a, b


@pytest.mark.parametrize("as_dict", [False, True], ids=["list", "dict"])
def test_two_input_ig_and_saliency_match_float64(pair, as_dict):
    model = two_input(dict_inputs=as_dict)
    model64 = twin(two_input, model, dict_inputs=as_dict)
    a, b = pair
    inputs = {"a": a, "b": b} if as_dict else [a, b]
    targets = np.array([0, 2, 1])
    weights = np.eye(3)[targets]

    def fn(parts):
        return model64({"a": parts[0], "b": parts[1]} if as_dict else parts)

    ig = xaikit.IntegratedGradients(model, steps=STEPS).explain(inputs, targets)
    want, gap = path_ig(fn, [a, b], [np.zeros_like(a), np.zeros_like(b)], weights, STEPS)
    got = [ig.attributions["a"], ig.attributions["b"]] if as_dict else ig.attributions
    assert isinstance(ig.attributions, dict if as_dict else list)
    for g, w, name in zip(got, want, "ab", strict=True):
        _close(g, w, f"IG input {name}")
    total = sum(g.reshape(3, -1).sum(axis=1) for g in got)
    np.testing.assert_allclose(total, gap, atol=5e-3)
    assert ig.convergence_delta.shape == (3,)
    np.testing.assert_allclose(ig.convergence_delta, total - gap, atol=1e-4)

    sal = xaikit.Saliency(model, absolute=False, reducer=None).explain(inputs, targets)
    got = [sal.attributions["a"], sal.attributions["b"]] if as_dict else sal.attributions
    for i in range(3):
        g, _ = grads(fn, [a[i], b[i]], weights[i])
        _close(got[0][i], g[0], "saliency a")
        _close(got[1][i], g[1], "saliency b")


def test_per_input_baselines_and_a_dataset_of_dicts(pair):
    model = two_input(dict_inputs=True)
    a, b = pair
    base = {"a": np.full(4, 0.5, "float32"), "b": np.zeros((5, 2), "float32")}
    ig = xaikit.IntegratedGradients(model, steps=8, baseline=base)
    direct = ig.explain({"a": a, "b": b}, 1)
    data = tf.data.Dataset.from_tensor_slices(({"a": a, "b": b}, np.ones(3, "int64"))).batch(2)
    streamed = ig.explain(data)
    for key in "ab":
        np.testing.assert_allclose(streamed.attributions[key], direct.attributions[key], atol=1e-6)
    model64 = twin(two_input, model, dict_inputs=True)
    fx = model64({"a": a.astype("float64"), "b": b.astype("float64")}).numpy()[:, 1]
    fb = model64({"a": np.full((3, 4), 0.5), "b": np.zeros((3, 5, 2))}).numpy()[:, 1]
    total = sum(direct.attributions[k].reshape(3, -1).sum(axis=1) for k in "ab")
    np.testing.assert_allclose(total, fx - fb, atol=2e-3)


def test_layer_ig_at_an_embedding_matches_float64_and_completes():
    model = token_model()
    head64 = token_head()
    head64.set_weights(model.get_weights()[1:])
    table = model.get_layer("embedding").get_weights()[0].astype("float64")
    ids = np.random.default_rng(1).integers(1, VOCAB, size=(3, LENGTH)).astype("int32")
    targets = np.array([0, 1, 2])
    weights = np.eye(3)[targets]
    explanation = xaikit.IntegratedGradients(model, steps=STEPS, layer="embedding").explain(
        ids, targets
    )
    assert explanation.attributions.shape == (3, LENGTH, 4)
    emb, base = table[ids], table[np.zeros_like(ids)]
    want, gap = path_ig(lambda p: head64(p[0]), [emb], [base], weights, STEPS)
    _close(explanation.attributions, want[0], "layer IG at the embedding")
    np.testing.assert_allclose(explanation.attributions.sum(axis=(1, 2)), gap, atol=2e-3)
    # 'sum' folds the embedding axis: one score per token, same total
    per_token = xaikit.IntegratedGradients(
        model, steps=STEPS, layer="embedding", reducer="sum"
    ).explain(ids, targets)
    assert per_token.attributions.shape == (3, LENGTH)
    np.testing.assert_allclose(per_token.attributions.sum(axis=1), gap, atol=2e-3)


def test_mixed_float_and_categorical_inputs_with_the_mapping_form():
    model = mixed()
    model64 = twin(mixed, model)
    table = model.get_layer("cat_emb").get_weights()[0].astype("float64")
    rng = np.random.default_rng(2)
    num = rng.normal(size=(3, 3)).astype("float32")
    cat = rng.integers(1, 5, size=(3, 1)).astype("int32")
    ig = xaikit.IntegratedGradients(model, steps=STEPS, layer={"cat": "cat_emb"})
    explanation = ig.explain([num, cat], 1)
    got_num, got_cat = explanation.attributions
    assert got_num.shape == (3, 3) and got_cat.shape == (3, 1, 2)
    # the reference: the model after the embedding, fed (num, embedded cat)
    import keras

    n_in, e_in = keras.Input((3,), dtype="float64"), keras.Input((1, 2), dtype="float64")
    rest = [layer for layer in model64.layers if layer.name not in ("num", "cat", "cat_emb")]
    flat = rest[0](e_in)  # Flatten
    h = rest[1]([n_in, flat])
    head = keras.Model([n_in, e_in], rest[3](rest[2](h)))
    weights = np.tile([0.0, 1.0], (3, 1))
    want, gap = path_ig(
        lambda p: head(p),
        [num, table[cat]],
        [np.zeros_like(num), table[np.zeros_like(cat)]],
        weights,
        STEPS,
    )
    _close(got_num, want[0], "num at the input")
    _close(got_cat, want[1], "cat at its embedding")
    total = got_num.sum(axis=1) + got_cat.sum(axis=(1, 2))
    np.testing.assert_allclose(total, gap, atol=2e-3)


def test_a_multi_output_model_by_name_and_index():
    model = two_heads()
    model64 = twin(two_heads, model)
    x = np.random.default_rng(3).normal(size=(3, 5)).astype("float32")
    by_name = xaikit.Saliency(model, output="label", absolute=False).explain(x, 2)
    by_index = xaikit.Saliency(model, output=1, absolute=False).explain(x, 2)  # sorted keys
    np.testing.assert_allclose(by_name.attributions, by_index.attributions)
    for i in range(3):
        g, _ = grads(lambda p: model64(p[0])["label"], [x[i]], np.eye(3)[2])
        _close(by_name.attributions[i], g[0], "saliency of the 'label' head")
    ig = xaikit.IntegratedGradients(model, output="age", steps=STEPS).explain(x)
    fx = model64(x.astype("float64"))["age"].numpy()[:, 0]
    f0 = model64(np.zeros((3, 5)))["age"].numpy()[:, 0]
    np.testing.assert_allclose(ig.attributions.sum(axis=1), fx - f0, atol=2e-3)


def test_single_input_models_keep_their_form(pair):
    a, _ = pair
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    plain = xaikit.Saliency(model).explain(a, 0)
    listed = xaikit.Saliency(model).explain([a], 0)
    assert isinstance(plain.attributions, np.ndarray)
    assert isinstance(listed.attributions, list) and len(listed.attributions) == 1
    np.testing.assert_allclose(listed.attributions[0], plain.attributions)


def test_noise_wrappers_explain_several_inputs_and_layers(pair):
    pytest.importorskip("xaikit_noise")
    from xaikit_noise import SmoothGrad

    a, b = pair
    model = two_input()
    ig = xaikit.IntegratedGradients(model, steps=8)
    plain = ig.explain([a, b], 1)
    smooth = SmoothGrad(ig, n_samples=2, noise=0.0, seed=0).explain([a, b], 1)
    for got, want in zip(smooth.attributions, plain.attributions, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    noisy = SmoothGrad(xaikit.Saliency(model), n_samples=4, seed=0).explain([a, b], 1)
    assert [x.shape for x in noisy.attributions] == [(3, 4), (3, 5)]
    # Noise goes on float inputs; a model of ids alone would get n identical copies (VarGrad
    # all zeros for every class), so it is refused rather than answered silently.
    ids = np.ones((2, LENGTH), "int32")
    tokens = SmoothGrad(xaikit.Saliency(token_model(), layer="embedding"), n_samples=2, seed=0)
    with pytest.raises(xaikit.InputError, match="every input of this model is integer"):
        tokens.explain(ids, 0)
