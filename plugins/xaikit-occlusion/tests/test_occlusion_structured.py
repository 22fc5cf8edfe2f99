"""Occlusion of models of several inputs, of id inputs and of one output among several,
against explicit loops over patch positions."""

from __future__ import annotations

import itertools
from typing import Any

import keras
import numpy as np
import pytest
from xaikit_occlusion import Occlusion

import xaikit
from xaikit.errors import InputError

layers = keras.layers


def _seeded(seed: int) -> dict[str, Any]:
    return {"kernel_initializer": keras.initializers.GlorotUniform(seed=seed)}


def _two_input(dict_inputs: bool) -> keras.Model:
    """A table 'a' (4,) and an image 'b' (4, 6, 2) -> 3 classes."""
    a = keras.Input((4,), name="a")
    b = keras.Input((4, 6, 2), name="b")
    hb = layers.Flatten()(layers.Conv2D(2, 2, activation="tanh", **_seeded(1))(b))
    h = layers.Dense(5, activation="tanh", **_seeded(2))(layers.Concatenate()([a, hb]))
    out = layers.Dense(3, activation="softmax", **_seeded(3))(h)
    return keras.Model({"a": a, "b": b} if dict_inputs else [a, b], out)


def _data() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [
        rng.normal(size=(3, 4)).astype("float32"),
        rng.normal(size=(3, 4, 6, 2)).astype("float32"),
    ]


def _call(model: Any, parts: list[np.ndarray], dict_inputs: bool) -> Any:
    return model({"a": parts[0], "b": parts[1]} if dict_inputs else parts)


def reference(
    model: Any,
    x: list[np.ndarray],
    targets: np.ndarray,
    plans: list[tuple[list[list[int]], tuple[int, ...], Any]],
    dict_inputs: bool,
) -> list[np.ndarray]:
    """Explicit loop: for every sample, every input and every patch position of that input,
    hide the patch (the other inputs unchanged) and run the model on the copy.

    ``plans[i]`` is (starts along each window axis, patch sizes, value put in the patch).
    """
    out = [np.zeros(p.shape, dtype=np.float64) for p in x]
    for s in range(len(x[0])):
        sample = [p[s : s + 1] for p in x]
        clean = float(np.asarray(_call(model, sample, dict_inputs))[0, targets[s]])
        for i, (per_axis, sizes, value) in enumerate(plans):
            total = np.zeros(x[i].shape[1:])
            count = np.zeros(x[i].shape[1:])
            for start in itertools.product(*per_axis):
                where = tuple(slice(a, a + p) for a, p in zip(start, sizes, strict=True))
                copy = [p.copy() for p in sample]
                copy[i][0][where] = value
                drop = clean - float(np.asarray(_call(model, copy, dict_inputs))[0, targets[s]])
                total[where] += drop
                count[where] += 1
            assert count.min() >= 1
            out[i][s] = total / count
    return out


@pytest.mark.parametrize("dict_inputs", [False, True])
def test_two_inputs_match_an_explicit_loop_over_each_inputs_patches(dict_inputs):
    model, x = _two_input(dict_inputs), _data()
    given = {"a": x[0], "b": x[1]} if dict_inputs else x
    occlusion = Occlusion(
        model,
        patch={"a": 2, "b": (2, 3)},
        stride={"a": 1, "b": (2, 2)},
        baseline={"b": 0.5},
        batch_size=5,  # chunks straddle samples and the boundary between the inputs
    )
    got = occlusion.explain(given)
    parts = [got.attributions["a"], got.attributions["b"]] if dict_inputs else got.attributions
    assert isinstance(got.attributions, dict if dict_inputs else list)
    plans = [([[0, 1, 2]], (2,), 0.0), ([[0, 2], [0, 2, 3]], (2, 3), 0.5)]
    expected = reference(model, x, got.targets, plans, dict_inputs)
    for g, e in zip(parts, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-6)
        assert np.abs(e).max() > 1e-4
    expected_scores = np.asarray(_call(model, x, dict_inputs))[np.arange(3), got.targets]
    np.testing.assert_allclose(got.scores, expected_scores, rtol=1e-5)
    # the batch size changes nothing; the registry builds it too
    again = xaikit.get_explainer(
        "occlusion", model, patch=occlusion.patch, stride=occlusion.stride, baseline={"b": 0.5}
    ).explain(given)
    for g, e in zip(as_list(again.attributions), parts, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-7)


def as_list(value: Any) -> list[np.ndarray]:
    return [value["a"], value["b"]] if isinstance(value, dict) else list(value)


def _mixed() -> keras.Model:
    num = keras.Input((3,), name="num")
    ids = keras.Input((5,), name="tokens", dtype="int32")
    emb = layers.GlobalAveragePooling1D()(
        layers.Embedding(7, 3, embeddings_initializer=keras.initializers.RandomNormal(seed=4))(ids)
    )
    h = layers.Dense(4, activation="tanh", **_seeded(5))(layers.Concatenate()([num, emb]))
    return keras.Model({"num": num, "tokens": ids}, layers.Dense(2, **_seeded(6))(h))


def test_ids_are_hidden_one_position_at_a_time_by_the_baseline_id():
    model = _mixed()
    rng = np.random.default_rng(1)
    x = [rng.normal(size=(4, 3)).astype("float32"), rng.integers(1, 7, (4, 5)).astype("int32")]
    got = Occlusion(model, patch=2, stride=1, baseline_id=6, batch_size=3).explain(
        {"num": x[0], "tokens": x[1]}, targets=1
    )
    assert got.attributions["tokens"].shape == (4, 5)
    assert np.issubdtype(got.attributions["tokens"].dtype, np.floating)
    targets = np.ones(4, dtype=int)
    plans = [([[0, 1]], (2,), 0.0), ([[0, 1, 2, 3, 4]], (1,), 6)]
    expected = reference(_named(model), x, targets, plans, dict_inputs=False)
    np.testing.assert_allclose(got.attributions["num"], expected[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got.attributions["tokens"], expected[1], rtol=1e-4, atol=1e-6)
    # a token model alone: ids one at a time, or n-grams with a patch
    ids = keras.Input((5,), dtype="int32")
    pooled = layers.GlobalAveragePooling1D()(layers.Embedding(7, 3)(ids))
    alone = keras.Model(ids, layers.Dense(2)(pooled))
    result = Occlusion(alone, patch=2, stride=1).explain(x[1], targets=0)
    plans = [([[0, 1, 2, 3]], (2,), 0)]
    expected = reference(lambda parts: alone(parts[0]), [x[1]], np.zeros(4, int), plans, False)
    np.testing.assert_allclose(result.attributions, expected[0], rtol=1e-4, atol=1e-6)


def _named(model: keras.Model) -> Any:
    """The mixed model called with a list [num, tokens]."""
    return lambda parts: model({"num": parts[0], "tokens": parts[1]})


def test_output_selects_one_output_of_several():
    x = keras.Input((5,))
    h = layers.Dense(6, activation="tanh", **_seeded(7))(x)
    heads = {"label": layers.Dense(3, **_seeded(8))(h), "age": layers.Dense(1, **_seeded(9))(h)}
    model, label = keras.Model(x, heads), keras.Model(x, heads["label"])
    data = np.random.default_rng(2).normal(size=(4, 5)).astype("float32")
    got = Occlusion(model, output="label").explain(data, targets=2)
    expected = Occlusion(label).explain(data, targets=2)
    np.testing.assert_allclose(got.attributions, expected.attributions, rtol=1e-6)
    with pytest.raises(InputError, match="output: the model has 2 outputs"):
        Occlusion(model)


def test_bad_per_input_options_name_the_input():
    model, x = _two_input(True), _data()
    given = {"a": x[0], "b": x[1]}
    with pytest.raises(InputError, match=r"patch: expected input names among 'a', 'b', got "):
        Occlusion(model, patch={"c": 2}).explain(given)
    with pytest.raises(InputError, match=r"patch\['b'\]: expected None, an integer >= 1"):
        Occlusion(model, patch={"b": 0})
    with pytest.raises(InputError, match=r"does not fit .* \(input 'a'\)"):
        Occlusion(model, patch=5).explain(given)
    with pytest.raises(InputError, match=r"baseline\['b'\]: expected a number or an array"):
        Occlusion(model, baseline={"b": np.zeros(5)}).explain(given)
    with pytest.raises(InputError, match="baseline_id: expected an integer id >= 0"):
        Occlusion(model, baseline_id=-1)
    assert xaikit.capabilities_of(Occlusion).multi_input
