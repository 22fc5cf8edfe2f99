"""Every bad input raises an error whose message names the argument, what was expected and
what came, and nothing is half-written: the model, the explainer and the registry are as
before, and the explainer gives the same answer afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf
from _models_api import assert_unchanged, classifier, data, model_state, subclassed

import xaikit

MODEL = classifier("tabular")  # 5 features, 3 classes
X = data("tabular", n=4, seed=9)


def _with_value(x: np.ndarray, value: float) -> np.ndarray:
    bad = x.copy()
    bad[2, 3] = value
    return bad


def _two_input_model() -> keras.Model:
    a, b = keras.Input((2,)), keras.Input((3,))
    return keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))


def _two_output_model() -> keras.Model:
    inputs = keras.Input((5,))
    return keras.Model(inputs, [keras.layers.Dense(2)(inputs), keras.layers.Dense(3)(inputs)])


def _explain(inputs: Any, targets: Any = None, method: str = "integrated_gradients", **params):
    return lambda: xaikit.get_explainer(method, MODEL, **{"steps": 4, **params}).explain(
        inputs, targets
    )


def _build(method: str = "integrated_gradients", model: Any = MODEL, **params: Any) -> Callable:
    return lambda: xaikit.get_explainer(method, model, **params)


#: id -> (what to call, the argument, what was expected, what came), all in the message.
CASES: dict[str, tuple[Callable[[], Any], str, str, str]] = {
    "inputs of the wrong rank": (
        _explain(X[..., None]),
        "inputs",
        "the model expects shape (N, 5)",
        "got shape (4, 5, 1)",
    ),
    "inputs of the wrong width": (
        _explain(X[:, :3]),
        "inputs",
        "the model expects shape (N, 5)",
        "got shape (4, 3)",
    ),
    "one sample without a batch axis": (
        _explain(X[0]),
        "inputs",
        "expects shape (N, 5)",
        "got shape (5,); for a single sample",
    ),
    "empty inputs": (_explain(X[:0]), "inputs", "expected at least one sample", "got shape (0, 5)"),
    "empty dataset": (
        _explain(tf.data.Dataset.from_tensor_slices(X[:0]).batch(2)),
        "inputs",
        "expected at least one sample",
        "got an empty dataset",
    ),
    "NaN in inputs": (
        _explain(_with_value(X, np.nan)),
        "inputs",
        "expected finite values",
        "NaN or inf in sample(s) [2]",
    ),
    "inf in inputs": (
        _explain(_with_value(X, -np.inf)),
        "inputs",
        "expected finite values",
        "NaN or inf in sample(s) [2]",
    ),
    "NaN in a dataset": (
        _explain(tf.data.Dataset.from_tensor_slices(_with_value(X, np.nan)).batch(3)),
        "inputs",
        "expected finite values",
        "in sample(s) [2]",
    ),
    "strings as inputs": (
        _explain(np.full((2, 5), "a")),
        "inputs",
        "expected numbers",
        "got an array of dtype <U1",
    ),
    "ragged inputs": (_explain([[1.0] * 5, [1.0] * 4]), "inputs", "expected an array", "got list"),
    "fewer targets than inputs": (
        _explain(X, [0, 1, 2]),
        "targets",
        "expected 4 class indices (one per input sample)",
        "got shape (3,)",
    ),
    "more one-hot rows than inputs": (
        _explain(X, np.eye(3)[[0, 1, 2, 0, 1]]),
        "targets",
        "expected 4 rows (one per input sample)",
        "got shape (5, 3)",
    ),
    "target index too high": (
        _explain(X, [0, 3, 1, 5]),
        "targets",
        "class indices must be in [0, 2] for a model with 3 outputs",
        "got [3, 5]",
    ),
    "negative target index": (
        _explain(X, -1),
        "targets",
        "must be in [0, 2]",
        "got [-1, -1, -1, -1]",
    ),
    "one-hot too wide": (
        _explain(X, np.eye(4)[[0, 1, 2, 3]]),
        "targets",
        "must have 3 columns (the model's outputs)",
        "got shape (4, 4)",
    ),
    "fractional class index": (
        _explain(X, 0.5),
        "targets",
        "class indices must be whole numbers",
        "for weights pass an array of shape (4, 3)",
    ),
    "NaN target weights": (
        _explain(X, np.full((4, 3), np.nan)),
        "targets",
        "expected finite weights",
        "got NaN or inf",
    ),
    "targets of rank 3": (
        _explain(X, np.zeros((4, 3, 1))),
        "targets",
        "expected an int, shape (4,) or shape (4, 3)",
        "got shape (4, 3, 1)",
    ),
    "targets as text": (
        _explain(X, "cat"),
        "targets",
        "expected numbers",
        "got an array of dtype <U3",
    ),
    "steps = 0": (_build(steps=0), "steps", "expected an integer >= 1", "got 0"),
    "steps < 0": (_build(steps=-3), "steps", "expected an integer >= 1", "got -3"),
    "steps not an int": (_build(steps=2.5), "steps", "expected an integer >= 1", "got 2.5"),
    "batch_size = 0": (_build(batch_size=0), "batch_size", "expected an integer >= 1", "got 0"),
    "batch_size = True": (
        _build("saliency", batch_size=True),
        "batch_size",
        "expected an integer >= 1",
        "got True",
    ),
    "num_runs = 0": (
        _build("random_baseline_ig", num_runs=0),
        "num_runs",
        "expected an integer >= 1",
        "got 0",
    ),
    "unknown method": (
        _build("integrated_gradient"),
        "name",
        "unknown method 'integrated_gradient' (did you mean 'integrated_gradients'?)",
        # every registered name, installed plugins' too (the built-ins among them)
        "known methods: " + ", ".join(xaikit.list_methods()),
    ),
    "unknown operator": (
        _build("saliency", operator="softmax"),
        "operator",
        "unknown operator 'softmax'",
        "known operators: " + ", ".join(xaikit.list_operators()),
    ),
    "operator of the wrong type": (
        _build("saliency", operator=3),
        "operator",
        "expected a registered name or a callable",
        "got int",
    ),
    "unknown reducer": (
        _build("saliency", reducer="average"),
        "reducer",
        "unknown reducer 'average'",
        "known reducers: " + ", ".join(xaikit.list_reducers()),
    ),
    "unknown parameter": (
        _build(step=3),
        "params",
        "method 'integrated_gradients' takes batch_size, operator,",
        "got unknown parameter(s) 'step' (did you mean 'steps'?)",
    ),
    "baseline that cannot broadcast": (
        _explain(X, baseline=np.zeros(3)),
        "baseline",
        "expected a number, an array of one sample's shape (5,) or one per sample (4, 5)",
        "got shape (3,)",
    ),
    "one baseline per sample, wrong count": (
        _explain(X, baseline=np.zeros((3, 5))),
        "baseline",
        "one per sample (4, 5)",
        "got shape (3, 5)",
    ),
    "NaN baseline": (
        _build(baseline=np.nan),
        "baseline",
        "expected finite values",
        "got NaN or inf",
    ),
    "text baseline": (
        _build(baseline="black"),
        "baseline",
        "expected a number or an array",
        "got str",
    ),
    "inputs a subclassed model refuses": (
        lambda: xaikit.Saliency(subclassed()).explain(X[:, :4]),
        "inputs",
        "expected inputs the model accepts",
        "got shape (N, 4), which it refused: Input 0 with name",
    ),
    "model that is not a model": (
        _build(model="model.keras"),
        "model",
        "expected a Keras model",
        "got str",
    ),
    "one array for a model with two inputs": (
        lambda: xaikit.Saliency(_two_input_model()).explain(X),
        "inputs",
        "the model takes 2 inputs",
        "got one array of shape (4, 5)",
    ),
    "model with two outputs and no output=": (
        lambda: xaikit.Saliency(_two_output_model()).explain(X),
        "output",
        "pass output= one of",
        "the model has 2 outputs",
    ),
}


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return xaikit.IntegratedGradients(MODEL, steps=4).explain(X, [0, 1, 2, 0]).attributions


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_message(case, reference):
    action, argument, expected, got = CASES[case]
    before = model_state(MODEL)
    with pytest.raises((xaikit.InputError, xaikit.UnknownNameError)) as info:
        action()
    message = str(info.value)
    assert message.startswith(f"{argument}: "), message
    assert expected in message, message
    assert got in message, message
    assert_unchanged(MODEL, before)


def test_nothing_is_half_written_by_a_failed_call(reference):
    explainer = xaikit.IntegratedGradients(MODEL, steps=4, batch_size=3)
    before = model_state(MODEL)
    for bad_inputs, bad_targets in [
        (_with_value(X, np.nan), [0, 1, 2, 0]),
        (X, [0, 1, 2]),
        (X, [0, 1, 2, 3]),
        (X[:, :4], None),
    ]:
        with pytest.raises(xaikit.InputError):
            explainer.explain(bad_inputs, bad_targets)
        again = explainer.explain(X, [0, 1, 2, 0])
        np.testing.assert_allclose(again.attributions, reference, rtol=1e-5, atol=1e-7)
    assert_unchanged(MODEL, before)


def test_error_types_keep_builtin_bases():
    assert issubclass(xaikit.InputError, ValueError)
    assert issubclass(xaikit.UnknownNameError, LookupError)
    assert issubclass(xaikit.BackendError, ImportError)
    assert issubclass(xaikit.NameClashError, xaikit.PluginError)
    assert issubclass(xaikit.PluginWarning, UserWarning)
    for error in (xaikit.InputError, xaikit.UnknownNameError, xaikit.PluginError):
        assert issubclass(error, xaikit.XaikitError)
    assert str(xaikit.UnknownNameError("name: unknown")) == "name: unknown"  # not quoted


def test_errors_raised_while_tracing_keep_their_type_and_message():
    """AutoGraph would turn an error raised inside a traced function into a StagingError."""

    def strict(model, inputs, targets):
        raise xaikit.InputError("operator: strict refuses to be traced")

    with pytest.raises(xaikit.InputError) as info:
        xaikit.Saliency(MODEL, operator=strict).explain(X)
    assert str(info.value) == "operator: strict refuses to be traced"


def test_unknown_name_messages_list_the_built_ins():
    for names, builtins in [
        (xaikit.list_methods(), {"guided_backprop", "integrated_gradients", "saliency"}),
        (xaikit.list_operators(), {"classification", "logits", "regression"}),
        (xaikit.list_reducers(), {"absmax", "l2", "max", "mean", "min", "none", "sum"}),
    ]:
        assert builtins <= set(names)
