"""``check_explainer``: the conformance suite every attribution method should pass.

Plugin authors run it on their methods, as scikit-learn's ``check_estimator``::

    from xaikit.testing import check_explainer
    check_explainer(MyMethod)                              # a class taking the model
    check_explainer(lambda model: MyMethod(model, k=3))    # or any factory

It builds small deterministic Keras models (tabular, time series, image), runs the method
and raises ``AssertionError`` with a precise message on the first failed check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs
import keras
import numpy as np
import tensorflow as tf

from ._activations import iter_layers
from .errors import InputError
from .explainer import Explainer
from .explanation import Explanation

__all__ = ["check_explainer", "conformance_models", "KINDS"]

#: Kinds of model and data the suite runs on.
KINDS = ("tabular", "sequence", "image")


def _init(seed: int) -> dict[str, Any]:
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": keras.initializers.RandomUniform(-0.1, 0.1, seed=seed + 1),
    }


def conformance_models() -> dict[str, tuple[keras.Model, np.ndarray]]:
    """Small seeded classifiers (3 classes, softmax) and 7 inputs for each kind."""
    rng = np.random.default_rng(0)
    layers = keras.layers
    tab_in = keras.Input((6,))
    tab = layers.Dense(3, **_init(3))(layers.Dense(8, activation="relu", **_init(1))(tab_in))
    seq_in = keras.Input((12, 2))
    seq = layers.Conv1D(4, 3, activation="relu", **_init(5))(seq_in)
    seq = layers.Dense(3, **_init(7))(layers.GlobalAveragePooling1D()(seq))
    img_in = keras.Input((8, 8, 3))
    img = layers.Conv2D(4, 3, activation="relu", padding="same", **_init(9))(img_in)
    img = layers.Conv2D(4, 3, activation="relu", **_init(11))(img)
    img = layers.Dense(3, **_init(13))(layers.GlobalAveragePooling2D()(img))
    built = {"tabular": (tab_in, tab), "sequence": (seq_in, seq), "image": (img_in, img)}
    out = {}
    for kind, (inp, hidden) in built.items():
        model = keras.Model(inp, layers.Softmax()(hidden), name=f"conformance_{kind}")
        x = rng.normal(size=(7, *inp.shape[1:])).astype("float32")
        out[kind] = (model, x)
    return out


def _state(model: keras.Model) -> tuple[list[np.ndarray], list[Any]]:
    weights = [np.array(w) for w in model.get_weights()]
    applied = [
        (layer.name, getattr(layer, "activation", None), layer.__dict__.get("call"))
        for layer in iter_layers(model)
    ]
    return weights, applied


def _close(a: np.ndarray, b: np.ndarray, what: str, rtol: float = 1e-4) -> None:
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-6 + rtol * scale, err_msg=what)


def _evolve(explainer: Explainer, **changes: Any) -> Explainer | None:
    try:
        return attrs.evolve(explainer, **changes)
    except (TypeError, ValueError, attrs.exceptions.NotAnAttrsClassError):
        return None


def check_explainer(
    factory: Callable[[keras.Model], Explainer], *, kinds: Iterable[str] = KINDS
) -> None:
    """Run the conformance checks on the explainer that ``factory(model)`` builds.

    Checks, on each kind of model: the result is an ``Explanation`` of finite float
    attributions of the inputs' shape (channel axis removed only by a reducer); scores are the
    explained outputs; results are deterministic and independent of ``batch_size``; every form
    of targets (None, int, int array, one-hot, tf.data) gives the same answer; NaN inputs are
    refused; and the model's weights and activations are unchanged afterwards.

    Args:
        factory: an Explainer subclass, or a callable building one from a model.
        kinds: which of 'tabular', 'sequence', 'image' to run on (e.g. an image-only method
            passes ``kinds=("image",)``).

    Raises:
        AssertionError: the first check that fails, saying which and on what.
    """
    models = conformance_models()
    for kind in kinds:
        if kind not in models:
            raise ValueError(f"kinds: expected some of {KINDS}, got {kind!r}")
        model, x = models[kind]
        _check_one(factory, model, x, kind)


def _check_one(factory: Callable, model: keras.Model, x: np.ndarray, kind: str) -> None:
    where = f"[{kind}]"
    before = _state(model)
    explainer = factory(model)
    assert isinstance(explainer, Explainer), f"{where} factory must return an Explainer"
    result = explainer.explain(x)
    assert isinstance(result, Explanation), f"{where} explain() must return an Explanation"
    values = result.attributions
    assert isinstance(values, np.ndarray), f"{where} attributions must be a numpy array"
    assert np.issubdtype(values.dtype, np.floating), f"{where} attributions must be floats"
    assert np.all(np.isfinite(values)), f"{where} attributions must be finite"
    reduced_shape = x.shape[:-1] if x.ndim >= 3 else x.shape
    assert values.shape in (x.shape, reduced_shape), (
        f"{where} attributions have shape {values.shape}; expected {x.shape} "
        f"(or {reduced_shape} with a reducer)"
    )
    plain = _evolve(explainer, reducer=None)
    if plain is not None:
        unreduced = plain.explain(x).attributions
        assert unreduced.shape == x.shape, (
            f"{where} with reducer=None attributions must have the inputs' shape {x.shape}, "
            f"got {unreduced.shape}"
        )
    top = np.asarray(model(x)).argmax(axis=-1)
    np.testing.assert_array_equal(result.targets, top, err_msg=f"{where} targets=None is top class")
    expected_scores = np.asarray(model(x))[np.arange(len(x)), top]
    _close(result.scores, expected_scores, f"{where} scores must be the explained outputs")
    _close(explainer.explain(x).attributions, values, f"{where} explain() must be deterministic")
    for size in (1, 3):
        other = _evolve(explainer, batch_size=size)
        if other is not None:
            _close(other.explain(x).attributions, values, f"{where} batch_size={size} changed it")
    _close(explainer.explain(x, top).attributions, values, f"{where} int targets != None")
    one_hot = np.eye(model.outputs[0].shape[-1], dtype="float32")[top]
    _close(explainer.explain(x, one_hot).attributions, values, f"{where} one-hot targets")
    _close(
        explainer.explain(tf.data.Dataset.from_tensor_slices((x, top)).batch(4)).attributions,
        values,
        f"{where} a tf.data.Dataset of (x, y) must give the same result",
    )
    other = (top + 1) % model.outputs[0].shape[-1]
    assert not np.allclose(explainer.explain(x, other).attributions, values), (
        f"{where} attributions must depend on the targets (explaining another class gave the "
        "same result)"
    )
    single = explainer.explain(x[:2], 1).attributions
    _close(single, explainer.explain(x[:2], np.array([1, 1])).attributions, f"{where} int target")
    bad = x.copy()
    bad[0].flat[0] = np.nan
    try:
        explainer.explain(bad)
    except InputError:
        pass
    else:
        raise AssertionError(f"{where} NaN inputs must raise InputError")
    after = _state(model)
    assert len(before[0]) == len(after[0]) and all(
        np.array_equal(a, b) for a, b in zip(before[0], after[0], strict=True)
    ), f"{where} the model's weights changed"
    assert before[1] == after[1], f"{where} the model's layers or activations changed"
