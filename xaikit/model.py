"""Facts about a Keras model that explainers, metrics and plugins need: its input shape and
dtype, how many outputs it has, its data kind, and its outputs as one (n, K) tensor.

This is the one place xaikit reads a model's structure; everything else asks here.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import tensorflow as tf

from .capabilities import data_kind
from .errors import InputError

__all__ = [
    "model_input_shape",
    "model_dtype",
    "declared_num_outputs",
    "model_data_kind",
    "call_model",
    "model_outputs",
]


def model_input_shape(model: Any) -> tuple[int | None, ...] | None:
    """The shape of one input sample as the model declares it, or None when unknown.

    Raises:
        InputError: the model has several input tensors.
    """
    inputs = getattr(model, "inputs", None)
    if not inputs:
        return None
    if len(inputs) != 1:
        raise InputError(
            f"model: expected a model with one input tensor, got one with {len(inputs)} inputs"
        )
    return tuple(inputs[0].shape[1:])


def model_data_kind(model: Any) -> str | None:
    """'tabular', 'sequence' or 'image' from the model's declared input, or None if unknown."""
    return data_kind(model_input_shape(model))


def model_dtype(model: Any) -> np.dtype:
    """The dtype inputs are fed in: float64 for a float64 model, else float32.

    Read from the model's input tensor first (a Functional model of float64 layers reports
    ``compute_dtype`` float32); mixed-precision models take float32 inputs.
    """
    inputs = getattr(model, "inputs", None)
    dtype = inputs[0].dtype if inputs else None
    if dtype is None:
        dtype = getattr(model, "compute_dtype", None) or getattr(model, "dtype", None)
    return np.dtype("float64") if "float64" in str(dtype) else np.dtype("float32")


def declared_num_outputs(model: Any) -> int | None:
    """The number of model outputs K as the model declares it, or None when unknown."""
    outputs = getattr(model, "outputs", None)
    shape = tuple(outputs[0].shape) if outputs and len(outputs) == 1 else ()
    if len(shape) == 1:
        return 1
    if len(shape) == 2 and shape[-1] is not None:
        return int(shape[-1])
    return None


def call_model(model: Any, inputs: tf.Tensor) -> Any:
    """``model(inputs, training=False)``.

    A model whose input shape could not be checked beforehand (a subclassed model) and that
    refuses the inputs raises an InputError naming them.
    """
    try:
        return model(inputs, training=False)
    except (ValueError, TypeError) as error:
        if model_input_shape(model) is not None:  # shapes were checked: not the inputs' fault
            raise
        lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(error).splitlines()]
        reason = next(
            (line for line in lines if line and not line.startswith("Exception encountered")),
            type(error).__name__,
        )
        shape = "(N, " + ", ".join(str(d) for d in inputs.shape[1:]) + ")"
        raise InputError(
            f"inputs: expected inputs the model accepts, got shape {shape}, which it "
            f"refused: {reason}"
        ) from error


def model_outputs(model: Any, inputs: tf.Tensor) -> tf.Tensor:
    """The model's output for ``inputs`` as a (n, K) tensor (a (n,) output is read as K = 1).

    Operators build on this. Raises an InputError for a model with several outputs or an
    output of rank other than 1 or 2.
    """
    outputs = call_model(model, inputs)
    if isinstance(outputs, (list, tuple, dict)):
        raise InputError(
            "model: expected a model with a single output tensor, got one that returns "
            f"{type(outputs).__name__} of {len(outputs)} outputs"
        )
    if outputs.shape.rank == 1:
        outputs = outputs[:, None]
    elif outputs.shape.rank != 2:
        raise InputError(
            f"model: expected outputs of shape (N, K), got shape {tuple(outputs.shape)}; "
            "explain a model whose output is one score or one vector per sample"
        )
    return outputs
