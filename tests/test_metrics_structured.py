"""Metrics on models of several inputs and outputs.

A model of two inputs ``a`` (4,) and ``b`` (5, 2) computes the same function as a model of
one input, their concatenation ``[a, b.reshape(10)]`` (14,): same layers, same weights. Every
metric ranks, draws and perturbs the features of all inputs in one global order, input after
input, so on the two-input model (inputs as a list or as a dict) it must give what it gives
on the concatenated model.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

import xaikit
from xaikit.errors import InputError
from xaikit.metrics import (
    Deletion,
    Infidelity,
    Insertion,
    MaxSensitivity,
    ModelRandomization,
    MuFidelity,
    PixelFlipping,
    evaluate,
)

layers = keras.layers
N = 5


def _head(h: Any) -> Any:
    h = layers.Dense(6, activation="tanh", name="hidden")(h)
    return layers.Dense(3, activation="softmax", name="probs")(h)


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    keras.utils.set_random_seed(0)
    built = {}
    for kind in ("list", "dict"):
        a, b = keras.Input((4,), name="a"), keras.Input((5, 2), name="b")
        joined = layers.Concatenate()([a, layers.Flatten()(b)])
        built[kind] = keras.Model({"a": a, "b": b} if kind == "dict" else [a, b], _head(joined))
    two, as_dict = built["list"], built["dict"]
    as_dict.set_weights(two.get_weights())
    x = keras.Input((14,), name="x")
    single = keras.Model(x, _head(x))
    single.set_weights(two.get_weights())
    rng = np.random.default_rng(3)
    inputs = [rng.normal(size=(N, 4)).astype("float32"), rng.normal(size=(N, 5, 2))]
    inputs[1] = inputs[1].astype("float32")
    attributions = [rng.normal(size=(N, 4)), rng.normal(size=(N, 5, 2))]
    return {
        "list": two,
        "dict": as_dict,
        "single": single,
        "inputs": inputs,
        "attributions": attributions,
        "targets": np.array([0, 1, 2, 1, 0]),
    }


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([p.reshape(len(p), -1) for p in parts], axis=1)


def _structured(kind: str, parts: list[np.ndarray]) -> Any:
    return {"a": parts[0], "b": parts[1]} if kind == "dict" else list(parts)


METRICS = {
    "deletion": lambda model, **kw: Deletion(model, steps=7, **kw),
    "insertion": lambda model, **kw: Insertion(model, steps=5, baseline=0.5, **kw),
    "pixel_flipping": lambda model, **kw: PixelFlipping(
        model, fraction=0.5, step=0.1, noise_std=0.2, seed=4, **kw
    ),
    "mufidelity": lambda model, **kw: MuFidelity(model, n_subsets=16, grid_size=None, **kw),
    "infidelity": lambda model, **kw: Infidelity(model, n_perturbations=6, seed=2, **kw),
}


@pytest.mark.parametrize("kind", ["list", "dict"])
@pytest.mark.parametrize("name", sorted(METRICS))
def test_a_two_input_model_scores_as_its_concatenation(models, name, kind):
    build = METRICS[name]
    x, attributions, targets = models["inputs"], models["attributions"], models["targets"]
    expected = build(models["single"], batch_size=7)(_joined(x), targets, _joined(attributions))
    metric = build(models[kind], batch_size=4)
    got = metric(_structured(kind, x), targets, _structured(kind, attributions))
    np.testing.assert_allclose(got.scores, expected.scores, rtol=1e-5, atol=1e-6)
    if expected.curves is not None:
        np.testing.assert_allclose(got.curves, expected.curves, rtol=1e-5, atol=1e-6)
    assert np.ptp(expected.scores) > 0  # the samples differ: the comparison says something
    if name == "pixel_flipping":  # the flipping order, split back per input
        ranks = got.details["ranks"]
        ranks = [ranks["a"], ranks["b"]] if kind == "dict" else ranks
        np.testing.assert_array_equal(_joined(ranks), expected.details["ranks"])


@pytest.mark.parametrize("kind", ["list", "dict"])
def test_explainer_metrics_and_evaluate_on_a_two_input_model(models, kind):
    x, targets = models["inputs"], models["targets"]
    mine = xaikit.Saliency(models[kind], reducer=None)
    theirs = xaikit.Saliency(models["single"], reducer=None)
    for cls, params in [
        (MaxSensitivity, {"n_perturbations": 3, "radius": 0.1}),
        (ModelRandomization, {}),
    ]:
        expected = cls(models["single"], explainer=theirs, **params)(_joined(x), targets)
        got = cls(models[kind], explainer=mine, batch_size=4, **params)(
            _structured(kind, x), targets
        )
        np.testing.assert_allclose(got.scores, expected.scores, rtol=1e-4, atol=1e-6)
    chosen = ["deletion", "mufidelity", "randomization"]
    params = {"deletion": {"steps": 4}, "mufidelity": {"n_subsets": 8, "grid_size": None}}
    parts = _structured(kind, x)
    parts = parts if kind == "dict" else tuple(parts)
    dataset = tf.data.Dataset.from_tensor_slices((parts, targets)).batch(2)
    got = evaluate(mine, dataset, metrics=chosen, **params)
    expected = evaluate(theirs, _joined(x), targets, metrics=chosen, **params)
    for name in chosen:
        np.testing.assert_allclose(got[name].scores, expected[name].scores, rtol=1e-4, atol=1e-6)


def test_an_explanation_of_a_structured_explain_is_scored(models):
    model, x = models["dict"], models["inputs"]
    explanation = xaikit.IntegratedGradients(model, steps=8).explain({"a": x[0], "b": x[1]})
    got = Deletion(model, steps=4)({"a": x[0], "b": x[1]}, attributions=explanation)
    parts = [explanation.attributions["a"], explanation.attributions["b"]]
    expected = Deletion(models["single"], steps=4)(_joined(x), explanation.targets, _joined(parts))
    np.testing.assert_allclose(got.scores, expected.scores, rtol=1e-5)
    # channels reduced for the sequence: a time step is one feature (both channels)
    reduced = {"a": parts[0], "b": parts[1].sum(axis=-1)}
    result = Deletion(model, steps=9)({"a": x[0], "b": x[1]}, explanation.targets, reduced)
    assert result.details["counts"].tolist() == list(range(10))  # 4 + 5 features
    saliency = xaikit.Saliency(model)  # reduces the channels of 'b' by default (max)
    for name in sorted(xaikit.metrics.BUILTIN_METRICS):  # default parameters, grids and all
        cls = xaikit.metrics.BUILTIN_METRICS[name]
        extra = {"explainer": saliency} if cls.requires_explainer else {}
        scored = cls(model, **extra)({"a": x[0], "b": x[1]}, explanation.targets, reduced)
        assert scored.scores.shape == (N,) and np.all(np.isfinite(scored.scores)), name


def _mixed() -> keras.Model:
    keras.utils.set_random_seed(1)
    num = keras.Input((3,), name="num")
    cat = keras.Input((2,), name="cat", dtype="int32")
    emb = layers.Flatten()(layers.Embedding(6, 2)(cat))
    h = layers.Dense(4, activation="tanh")(layers.Concatenate()([num, emb]))
    return keras.Model({"num": num, "cat": cat}, layers.Dense(2)(h))


def test_integer_ids_are_removed_to_a_baseline_id_and_refused_noise():
    model = _mixed()
    rng = np.random.default_rng(5)
    x = {"num": rng.normal(size=(3, 3)).astype("float32"), "cat": rng.integers(1, 6, (3, 2))}
    attributions = {"num": rng.normal(size=(3, 3)), "cat": rng.normal(size=(3, 2))}
    got = Deletion(model, steps=5, operator="classification", baseline={"num": 0.0, "cat": 0})(
        x, 1, attributions
    )
    # plain loop: remove the k most relevant of the 5 features, ids to id 0
    joined = np.concatenate([attributions["num"], attributions["cat"]], axis=1)
    for i in range(3):
        order = np.argsort(-joined[i], kind="stable")
        for k in range(6):
            num, cat = x["num"][i].copy(), x["cat"][i].copy()
            for feature in order[:k]:
                if feature < 3:
                    num[feature] = 0.0
                else:
                    cat[feature - 3] = 0
            out = model({"num": num[None], "cat": cat[None]})
            assert got.curves[i, k] == pytest.approx(float(np.asarray(out)[0, 1]), abs=1e-5)
    for metric, what in [
        (Infidelity(model, operator="classification"), "adds Gaussian noise"),
        (PixelFlipping(model, operator="classification", noise_std=0.1, step=0.2), "adds noise"),
        (
            MaxSensitivity(model, operator="classification", explainer=xaikit.Saliency(model)),
            "adds uniform noise",
        ),
    ]:
        with pytest.raises(InputError, match=rf"inputs\['cat'\]: the .* metric {what}"):
            metric(x, 1, attributions)
    with pytest.raises(InputError, match=r"baseline\['cat'\]: the input holds integer ids"):
        Deletion(model, operator="classification", baseline=0.5)(x, 1, attributions)


def test_attributions_that_do_not_match_the_inputs_name_the_input(models):
    model, x, targets = models["dict"], models["inputs"], models["targets"]
    inputs = {"a": x[0], "b": x[1]}
    a, b = models["attributions"]
    metric = Deletion(model, steps=2)
    cases = [
        (a, r"attributions: the model takes 2 inputs \('a', 'b'\)"),
        ({"a": a}, r"attributions: expected a dict keyed by .* missing 'b'"),
        ({"a": a, "b": b, "c": b}, r"attributions: .* unknown 'c'"),
        ([a, b, b], r"attributions: the model takes 2 inputs .* got a list of 3"),
        ({"a": a, "b": b[:, :4]}, r"attributions\['b'\]: expected shape \(5, 5, 2\)"),
        ({"a": a[:, :3], "b": b}, r"attributions\['a'\]: expected shape \(5, 4\)"),
        ({"a": np.full_like(a, np.nan), "b": b}, r"attributions\['a'\]: expected finite"),
        ({"a": a, "b": np.full(b.shape, "x")}, r"attributions\['b'\]: expected numbers"),
    ]
    for attributions, message in cases:
        with pytest.raises(InputError, match=message):
            metric(inputs, targets, attributions)
    with pytest.raises(InputError, match=r"inputs\['b'\]: the model expects shape"):
        metric({"a": x[0], "b": x[1][:, :3]}, targets, {"a": a, "b": b})
    with pytest.raises(InputError, match=r"baseline: expected one baseline per input name"):
        Deletion(model, baseline={"a": 0.0})(inputs, targets, {"a": a, "b": b})


def test_output_selects_one_output_of_a_model_with_several():
    keras.utils.set_random_seed(2)
    x = keras.Input((5,))
    h = layers.Dense(6, activation="tanh")(x)
    heads = {"label": layers.Dense(3)(h), "age": layers.Dense(1)(h)}
    model = keras.Model(x, heads)
    label = keras.Model(x, heads["label"])
    data = np.random.default_rng(6).normal(size=(4, 5)).astype("float32")
    attributions = np.random.default_rng(7).normal(size=(4, 5))
    got = Deletion(model, output="label", steps=5, operator="classification")(data, 2, attributions)
    expected = Deletion(label, steps=5, operator="classification")(data, 2, attributions)
    np.testing.assert_allclose(got.scores, expected.scores, rtol=1e-6)
    with pytest.raises(InputError, match="output: the model has 2 outputs; pass output="):
        Deletion(model)
    with pytest.raises(InputError, match="output: the model has no output named 'lable'"):
        Deletion(model, output="lable")
    explainer = xaikit.Saliency(model, output="age")
    with pytest.raises(InputError, match="explainer: the explainer explains output='age'"):
        MaxSensitivity(model, output="label", explainer=explainer)
    results = evaluate(explainer, data, metrics=["deletion"], operator="regression")
    direct = Deletion(model, output="age", operator="regression")(
        data, None, explainer.explain(data)
    )
    np.testing.assert_allclose(results["deletion"].scores, direct.scores, rtol=1e-6)
