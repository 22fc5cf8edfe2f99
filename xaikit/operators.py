"""Built-in operators: which scalar of the model's output is explained.

An operator is any callable ``operator(model, inputs, targets) -> scores`` with

* ``inputs``: a float tensor (n, ...) of model inputs,
* ``targets``: a float tensor (n, K) of output weights (one-hot rows for class indices),
* ``scores``: a float tensor of shape (n,), one differentiable scalar per sample.

It runs inside a compiled ``tf.function``, so it must use TensorFlow / ``keras.ops`` code.
Two optional attributes refine how xaikit uses it:

* ``operator.validate(model)``: raise an :class:`~xaikit.errors.InputError` if the operator
  cannot explain this model (called once before any work);
* ``operator.top_class_default = False``: with ``targets=None`` and a model of several outputs,
  refuse instead of explaining the top-scoring output.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from ._activations import swap_activations
from .errors import InputError
from .model import OutputView, model_outputs

__all__ = [
    "Operator",
    "model_outputs",
    "classification",
    "regression",
    "logits",
    "checked",
    "BUILTIN_OPERATORS",
]

Operator = Callable[[Any, tf.Tensor, tf.Tensor], tf.Tensor]


def _weighted_sum(outputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(outputs * tf.cast(targets, outputs.dtype), axis=-1)


def classification(model: Any, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """The model's output for the target class (or the target-weighted sum of outputs).

    With ``targets=None`` the explained class is the top-scoring one.
    """
    return _weighted_sum(model_outputs(model, inputs), targets)


def regression(model: Any, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """The model's regression output (for several outputs, the one selected by ``targets``).

    With ``targets=None`` a single-output model's only output is explained; a model with
    several outputs needs explicit targets (picking the largest prediction is rarely meant).
    """
    return _weighted_sum(model_outputs(model, inputs), targets)


regression.top_class_default = False  # type: ignore[attr-defined]

_SQUASHERS = {
    id(fn)
    for fn in (
        keras.activations.softmax,
        keras.activations.sigmoid,
        keras.ops.softmax,
        keras.ops.sigmoid,
        tf.nn.softmax,
        tf.math.sigmoid,
    )
}


def _output_layer(model: Any) -> keras.layers.Layer:
    """The layer that produces the model's output, looking inside nested models.

    Only functional and Sequential models record it. In a subclassed model the order in
    which layers were created says nothing about which one ``call`` applies last, so
    guessing could bypass the wrong activation: such a model is refused.
    """
    layer = model
    while isinstance(layer, (keras.Model, OutputView)):
        outputs = getattr(layer, "outputs", None)
        history = getattr(outputs[0], "_keras_history", None) if outputs else None
        if history is None:
            raise InputError(
                "operator: 'logits' needs to know which layer produces the model's output, "
                "which a functional or Sequential model records, but got a subclassed model "
                f"{type(layer).__name__!r}, whose call() could apply its layers in any "
                "order; build it functionally or pass an operator callable "
                "(model, inputs, targets) -> scores (N,) that computes the logits"
            )
        layer = history[0]
    return layer


def _squashing(layer: keras.layers.Layer) -> bool:
    if isinstance(layer, keras.layers.Softmax):
        return True
    activation = getattr(layer, "activation", None)
    return activation is not None and id(activation) in _SQUASHERS


def _identity(inputs: Any, *args: Any, **kwargs: Any) -> Any:
    return inputs


def _check_logits(model: Any) -> keras.layers.Layer:
    layer = _output_layer(model)
    if not _squashing(layer):
        found = f"layer {layer.name!r} ({type(layer).__name__})"
        activation = getattr(getattr(layer, "activation", None), "__name__", None)
        if activation:
            found += f" with activation {activation!r}"
        raise InputError(
            "operator: 'logits' explains the pre-activation output of a model whose last layer "
            f"applies softmax or sigmoid, but the model's output comes from {found}; use "
            "operator='classification' for a model that already outputs logits"
        )
    return layer


def logits(model: Any, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """The pre-softmax (or pre-sigmoid) logit of the target class.

    The model's final softmax / sigmoid is bypassed for the duration of the call, so
    saturated probabilities do not flatten the gradients. The model is left unchanged.
    """
    layer = _check_logits(model)
    with swap_activations(model, lambda _layer, _fn: _identity, layers=[layer]):
        outputs = model_outputs(model, inputs)
    return _weighted_sum(outputs, targets)


logits.validate = _check_logits  # type: ignore[attr-defined]


def checked(operator: Operator) -> Operator:
    """``operator`` wrapped to check, when it is traced, that it returns scores of shape (n,).

    An operator that returned, say, all outputs (n, K) or one scalar for the batch would
    otherwise give gradients of a silent sum. The wrapper keeps the operator's name and its
    ``validate`` / ``top_class_default`` attributes.
    """
    if getattr(operator, "_xaikit_checked", False):
        return operator

    @functools.wraps(operator)
    def checked_operator(model: Any, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        scores = operator(model, inputs, targets)
        shape = getattr(scores, "shape", None)
        rank = None if shape is None else len(shape) if isinstance(shape, tuple) else shape.rank
        first = tf.nest.flatten(inputs)[0]
        n, got = first.shape[0], None if shape is None else shape[0] if rank else None
        if shape is None or rank not in (1, None) or (n is not None and got not in (n, None)):
            name = getattr(operator, "__name__", type(operator).__name__)
            found = type(scores).__name__ if shape is None else f"shape {tuple(shape)}"
            raise InputError(
                f"operator: {name!r} must return one score per sample, a tensor of shape "
                f"({n if n is not None else 'n'},), got {found} for inputs of shape "
                f"{tuple(first.shape)}"
            )
        return scores

    # AutoGraph must read this wrapper's source, not the operator's that __wrapped__ names.
    del checked_operator.__wrapped__
    checked_operator._xaikit_checked = True  # type: ignore[attr-defined]
    return checked_operator


BUILTIN_OPERATORS: dict[str, Operator] = {
    "classification": classification,
    "regression": regression,
    "logits": logits,
}
