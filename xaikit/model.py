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
    "model_outputs_of",
    "output_names",
    "OutputView",
    "select_output",
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
    inputs = getattr(model, "inputs", None) or []
    floats = [t.dtype for t in inputs if "float" in str(getattr(t, "dtype", ""))]
    dtype = floats[0] if floats else None
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
        if getattr(model, "inputs", None):  # shapes were checked: not the inputs' fault
            raise
        lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(error).splitlines()]
        reason = next(
            (line for line in lines if line and not line.startswith("Exception encountered")),
            type(error).__name__,
        )
        shapes = [
            "(N, " + ", ".join(str(d) for d in part.shape[1:]) + ")"
            for part in tf.nest.flatten(inputs)
        ]
        got = f"shape {shapes[0]}" if len(shapes) == 1 else "shapes " + ", ".join(shapes)
        raise InputError(
            f"inputs: expected inputs the model accepts, got {got}, which it refused: {reason}"
        ) from error


def model_outputs(model: Any, inputs: tf.Tensor) -> tf.Tensor:
    """The model's output for ``inputs`` as a (n, K) tensor (a (n,) output is read as K = 1).

    Operators build on this. Raises an InputError for a model with several outputs or an
    output of rank other than 1 or 2.
    """
    outputs = call_model(model, inputs)
    if isinstance(outputs, (list, tuple, dict)):
        if len(outputs) == 1:
            return model_outputs_of(tf.nest.flatten(outputs)[0])
        names = list(outputs) if isinstance(outputs, dict) else list(range(len(outputs)))
        raise InputError(
            f"output: the model returns {len(outputs)} outputs ({type(outputs).__name__}); "
            f"pass output= one of {', '.join(map(repr, names))} to the explainer"
        )
    return model_outputs_of(outputs)


def model_outputs_of(outputs: tf.Tensor) -> tf.Tensor:
    """One output tensor as (n, K): (n,) is read as K = 1; other ranks are refused."""
    if outputs.shape.rank == 1:
        outputs = outputs[:, None]
    elif outputs.shape.rank != 2:
        raise InputError(
            f"model: expected outputs of shape (N, K), got shape {tuple(outputs.shape)}; "
            "explain a model whose output is one score or one vector per sample"
        )
    return outputs


def output_names(model: Any) -> tuple[str, ...] | None:
    """The names of a model's outputs in their flat order (a dict model's keys), or None
    when the model declares none (subclassed)."""
    struct = getattr(model, "_outputs_struct", None)
    if struct is None:
        struct = getattr(getattr(model, "_functional", None), "_outputs_struct", None)
    if isinstance(struct, dict):
        return tuple(str(key) for key in sorted(struct))
    outputs = getattr(model, "outputs", None)
    if not outputs:
        return None
    names = list(getattr(model, "output_names", None) or [])
    if len(names) != len(outputs):
        names = [f"output_{i}" for i in range(len(outputs))]
    return tuple(str(name) for name in names)


class OutputView:
    """A model seen through one of its outputs: calling it returns that output alone.

    Everything else (layers, inputs, weights) is the wrapped model's, so operators and
    plugins use it as the model itself. ``outputs`` lists the selected output only.
    """

    def __init__(self, model: Any, output: int | str) -> None:
        self.wrapped_model = model
        self.output = output

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped_model, name)

    @property
    def outputs(self) -> list[Any] | None:
        outputs = getattr(self.wrapped_model, "outputs", None)
        if not outputs:
            return outputs
        return [outputs[self._index(output_names(self.wrapped_model) or ())]]

    def _index(self, names: tuple[str, ...]) -> int:
        if isinstance(self.output, str):
            return names.index(self.output)
        return int(self.output)

    def __call__(self, inputs: Any, training: bool = False, **kwargs: Any) -> Any:
        result = self.wrapped_model(inputs, training=training, **kwargs)
        if isinstance(result, dict):
            keys = sorted(result)
            key = self.output if isinstance(self.output, str) else keys[int(self.output)]
            if key not in result:
                raise InputError(
                    f"output: the model returns outputs {', '.join(map(repr, keys))}, got "
                    f"output={self.output!r}"
                )
            return result[key]
        if isinstance(result, (list, tuple)):
            names = output_names(self.wrapped_model) or tuple(
                f"output_{i}" for i in range(len(result))
            )
            if isinstance(self.output, str) and self.output not in names:
                raise InputError(
                    f"output: the model's outputs are {', '.join(map(repr, names))}, got "
                    f"output={self.output!r}"
                )
            return result[self._index(tuple(names))]
        if self.output in (0, None):
            return result
        raise InputError(
            f"output: the model returns a single output, got output={self.output!r}; leave "
            "output=None"
        )

    def __repr__(self) -> str:
        return f"OutputView({getattr(self.wrapped_model, 'name', '?')!r}, {self.output!r})"


def select_output(model: Any, output: int | str | None) -> Any:
    """The model to explain: ``model`` itself, or a view of the output ``output`` selects.

    Raises:
        InputError: ``output`` names no output, or the model has several outputs and
            ``output`` is None (the message lists their names).
    """
    names = output_names(model)
    if output is None:
        if names is not None and len(names) > 1:
            raise InputError(
                f"output: the model has {len(names)} outputs; pass output= one of "
                f"{', '.join(map(repr, names))} (or its index)"
            )
        return model
    if isinstance(output, bool) or not isinstance(output, (int, np.integer, str)):
        raise InputError(
            f"output: expected an output name, an index or None, got {type(output).__name__}"
        )
    if names is not None:
        if isinstance(output, str) and output not in names:
            import difflib

            close = difflib.get_close_matches(output, names, n=3)
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
            raise InputError(
                f"output: the model has no output named {output!r}{hint}; its outputs are "
                f"{', '.join(map(repr, names))}"
            )
        if not isinstance(output, str) and not 0 <= int(output) < len(names):
            raise InputError(
                f"output: expected an index in [0, {len(names) - 1}] or a name among "
                f"{', '.join(map(repr, names))}, got {output!r}"
            )
        if len(names) == 1:
            return model
    return OutputView(model, output if isinstance(output, str) else int(output))
