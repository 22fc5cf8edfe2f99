"""Operators: classification, regression, logits (against explicit logits models), callables."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import pytest
import tensorflow as tf
from _models_api import (
    assert_unchanged,
    classifier,
    data,
    init,
    model_state,
    one_hot,
    reference_gradients,
    regressor,
    subclassed,
)

import xaikit
from xaikit.registry import Registry, use_registry

layers = keras.layers


def _trunk(inputs: keras.KerasTensor) -> keras.KerasTensor:
    return layers.Dense(6, activation="relu", **init(21))(inputs)


def _dense_softmax(logits_only: bool) -> keras.Model:
    inputs = keras.Input((5,))
    out = layers.Dense(3, activation=None if logits_only else "softmax", **init(22))(_trunk(inputs))
    return keras.Model(inputs, out)


def _tf_softmax(logits_only: bool) -> keras.Model:
    inputs = keras.Input((5,))
    out = layers.Dense(3, activation=None if logits_only else tf.nn.softmax, **init(22))(
        _trunk(inputs)
    )
    return keras.Model(inputs, out)


def _activation_layer(logits_only: bool) -> keras.Model:
    inputs = keras.Input((5,))
    out = layers.Dense(3, **init(22))(_trunk(inputs))
    return keras.Model(inputs, out if logits_only else layers.Activation("softmax")(out))


def _softmax_layer(logits_only: bool) -> keras.Model:
    inputs = keras.Input((5,))
    out = layers.Dense(3, **init(22))(_trunk(inputs))
    return keras.Model(inputs, out if logits_only else layers.Softmax()(out))


def _sigmoid(logits_only: bool) -> keras.Model:
    inputs = keras.Input((5,))
    out = layers.Dense(1, activation=None if logits_only else "sigmoid", **init(22))(_trunk(inputs))
    return keras.Model(inputs, out)


def _nested(logits_only: bool) -> keras.Model:
    head_in = keras.Input((6,))
    head_out = layers.Dense(3, activation=None if logits_only else "softmax", **init(22))(head_in)
    head = keras.Model(head_in, head_out, name="head")
    inputs = keras.Input((5,))
    return keras.Model(inputs, head(_trunk(inputs)))


def _sequential(logits_only: bool) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((5,)),
            layers.Dense(6, activation="relu", **init(21)),
            layers.Dense(3, **init(22)),
            *([] if logits_only else [layers.Softmax()]),
        ]
    )


BUILDERS: dict[str, Callable[[bool], keras.Model]] = {
    "Dense(softmax)": _dense_softmax,
    "Dense(tf.nn.softmax)": _tf_softmax,
    "Activation('softmax')": _activation_layer,
    "Softmax()": _softmax_layer,
    "Dense(sigmoid)": _sigmoid,
    "nested model ending in softmax": _nested,
    "Sequential ending in Softmax()": _sequential,
}


def _twins(build: Callable[[bool], keras.Model]) -> tuple[keras.Model, keras.Model]:
    """The model and the same model without its final squashing, with equal weights."""
    model, logits_model = build(False), build(True)
    logits_model.set_weights(model.get_weights())
    return model, logits_model


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_logits_equal_an_explicit_logits_model(kind):
    model, logits_model = _twins(BUILDERS[kind])
    x = data("tabular", n=6, seed=4)
    before, probabilities = model_state(model), np.asarray(model(x))
    k = probabilities.shape[-1]
    top = probabilities.argmax(axis=1)
    np.testing.assert_array_equal(np.asarray(logits_model(x)).argmax(axis=1), top)

    explanation = xaikit.Saliency(
        model, operator="logits", absolute=False, reducer=None, batch_size=4
    ).explain(x)

    np.testing.assert_array_equal(explanation.targets, top)
    expected = reference_gradients(logits_model, x, one_hot(top, k))
    np.testing.assert_allclose(explanation.attributions, expected, rtol=1e-5, atol=1e-7)
    logit_values = np.asarray(logits_model(x))[np.arange(len(x)), top]
    np.testing.assert_allclose(explanation.scores, logit_values, rtol=1e-5, atol=1e-7)
    # the probabilities' gradients differ: the operator really bypassed the squashing
    squashed = reference_gradients(model, x, one_hot(top, k))
    assert not np.allclose(squashed, expected, rtol=1e-2)
    # and the model is unchanged: same layers, same activations, same outputs
    assert_unchanged(model, before)
    np.testing.assert_array_equal(np.asarray(model(x)), probabilities)


def test_logits_with_guided_backprop_and_integrated_gradients():
    model, logits_model = _twins(_softmax_layer)
    x, targets = data("tabular", n=4, seed=5), np.array([0, 1, 2, 1])
    before = model_state(model)
    for method, params in [("guided_backprop", {}), ("integrated_gradients", {"steps": 8})]:
        through_operator = xaikit.get_explainer(
            method, model, operator="logits", reducer=None, **params
        ).explain(x, targets)
        on_logits_model = xaikit.get_explainer(
            method, logits_model, reducer=None, **params
        ).explain(x, targets)
        np.testing.assert_allclose(
            through_operator.attributions, on_logits_model.attributions, rtol=1e-5, atol=1e-7
        )
        np.testing.assert_allclose(through_operator.scores, on_logits_model.scores, rtol=1e-5)
    assert_unchanged(model, before)


def test_logits_refuses_a_model_that_ends_in_a_linear_layer():
    model = _dense_softmax(logits_only=True)
    with pytest.raises(xaikit.InputError) as info:
        xaikit.Saliency(model, operator="logits").explain(data("tabular", n=2))
    message = str(info.value)
    assert message.startswith("operator: 'logits' explains the pre-activation output")
    assert "softmax or sigmoid" in message
    assert f"layer {model.layers[-1].name!r} (Dense) with activation 'linear'" in message
    assert "operator='classification'" in message


def test_logits_refuses_a_model_that_ends_in_relu():
    inputs = keras.Input((5,))
    model = keras.Model(inputs, layers.ReLU()(layers.Dense(3, **init(1))(inputs)))
    with pytest.raises(xaikit.InputError, match=r"^operator: 'logits'.*\(ReLU\)"):
        xaikit.Saliency(model, operator="logits").explain(data("tabular", n=2))


def test_classification_is_the_default_and_explains_probabilities():
    model, x = classifier("tabular"), data("tabular", n=3)
    explainer = xaikit.Saliency(model, absolute=False)
    assert explainer.operator == "classification"
    explanation = explainer.explain(x, 1)
    np.testing.assert_allclose(
        explanation.attributions, reference_gradients(model, x, one_hot([1] * 3)), rtol=1e-5
    )
    np.testing.assert_allclose(explanation.scores, np.asarray(model(x))[:, 1], rtol=1e-6)


def test_regression_with_several_outputs_and_explicit_targets():
    model, x = regressor(2), data("tabular", n=4)
    explanation = xaikit.Saliency(model, operator="regression", absolute=False).explain(x, 1)
    expected = reference_gradients(model, x, one_hot([1] * 4, 2))
    np.testing.assert_allclose(explanation.attributions, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(explanation.scores, np.asarray(model(x))[:, 1], rtol=1e-6)


def test_regression_with_several_outputs_needs_targets():
    model = regressor(2)
    with pytest.raises(xaikit.InputError) as info:
        xaikit.Saliency(model, operator="regression").explain(data("tabular", n=4))
    message = str(info.value)
    assert message.startswith("targets: operator 'regression' does not choose among")
    assert "model's 2 outputs" in message
    assert "expected an int, 4 ints (N,) or a (4, 2) weight matrix" in message
    assert message.endswith("got None")


def test_regression_with_one_output_needs_no_targets():
    model, x = regressor(1), data("tabular", n=3)
    explanation = xaikit.IntegratedGradients(model, operator="regression", steps=16).explain(x)
    np.testing.assert_allclose(explanation.scores, np.asarray(model(x))[:, 0], rtol=1e-6)
    assert np.max(np.abs(explanation.convergence_delta)) < 1e-2


def _squared(model, inputs, targets):
    return tf.reduce_sum(tf.square(model(inputs)) * targets, axis=-1)


def _squared_reference(model, x, targets):
    tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        score = tf.reduce_sum(tf.square(model(tensor)) * one_hot(targets), axis=-1)
    return tape.gradient(score, tensor).numpy(), score.numpy()


def test_any_callable_is_an_operator():
    model, x, targets = classifier("sequence"), data("sequence", n=4), [0, 1, 2, 0]
    explanation = xaikit.Saliency(model, operator=_squared, absolute=False, reducer=None).explain(
        x, targets
    )
    grads, scores = _squared_reference(model, x, targets)
    np.testing.assert_allclose(explanation.attributions, grads, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(explanation.scores, scores, rtol=1e-5)
    assert explanation.params["operator"] is _squared


def test_a_registered_operator_is_usable_by_name():
    model, x, targets = classifier("tabular"), data("tabular", n=3), [2, 1, 0]
    with use_registry(Registry(autoload=False)):
        xaikit.register_operator("squared")(_squared)
        assert "squared" in xaikit.list_operators()
        explanation = xaikit.Saliency(model, operator="squared", absolute=False).explain(x, targets)
    assert "squared" not in xaikit.list_operators()
    np.testing.assert_allclose(
        explanation.attributions, _squared_reference(model, x, targets)[0], rtol=1e-5, atol=1e-8
    )


def test_operator_validate_and_top_class_default_hooks_are_honoured():
    calls = []

    def picky(model, inputs, targets):
        return tf.reduce_sum(model(inputs) * targets, axis=-1)

    def validate(model):
        calls.append(model)
        raise xaikit.InputError("operator: picky refuses this model")

    picky.validate = validate
    with pytest.raises(xaikit.InputError, match="^operator: picky refuses this model$"):
        xaikit.Saliency(classifier("tabular"), operator=picky).explain(data("tabular", n=2))
    assert calls == [classifier("tabular")]

    def explicit(model, inputs, targets):
        return tf.reduce_sum(model(inputs) * targets, axis=-1)

    explicit.top_class_default = False
    with pytest.raises(xaikit.InputError, match=r"^targets: operator 'explicit' does not choose"):
        xaikit.Saliency(classifier("tabular"), operator=explicit).explain(data("tabular", n=2))


@pytest.mark.parametrize(
    "operator, got",
    [
        (lambda model, inputs, targets: model(inputs) * targets, "shape (None, 3)"),
        (lambda model, inputs, targets: tf.reduce_sum(model(inputs) * targets), "shape ()"),
    ],
    ids=["all outputs", "one scalar"],
)
def test_operator_that_does_not_return_one_score_per_sample_is_refused(operator, got):
    for method in (xaikit.Saliency, xaikit.IntegratedGradients):
        with pytest.raises(xaikit.InputError) as info:
            method(classifier("tabular"), operator=operator).explain(data("tabular", n=2))
        message = str(info.value)
        assert message.startswith("operator: '<lambda>' must return one score per sample")
        assert f"got {got} for inputs of shape (None, 5)" in message


def test_logits_refuses_a_subclassed_model_rather_than_guess_its_last_layer():
    model = subclassed()  # its last-created layer is a sigmoid that call() applies first
    with pytest.raises(xaikit.InputError) as info:
        xaikit.Saliency(model, operator="logits").explain(data("tabular", n=2))
    message = str(info.value)
    assert message.startswith("operator: 'logits' needs to know which layer produces")
    assert "got a subclassed model 'Subclassed'" in message
    assert "pass an operator callable" in message
    # a subclassed model works with the other operators
    x = data("tabular", n=2)
    explanation = xaikit.Saliency(model, absolute=False, reducer=None).explain(x, 0)
    np.testing.assert_allclose(
        explanation.attributions, reference_gradients(model, x, one_hot([0, 0])), rtol=1e-5
    )
