"""Structured inputs: one array, a list / tuple in the model's input order, or a dict by name.

``explain`` accepts whatever the model's ``predict`` accepts. This module flattens that
structure once, at the door, into a list of arrays in the model's input order (the *flat*
inputs), checks each against the input the model declares, and remembers the form it came
in (:class:`Form`) so the attributions can be packed back into the same form. A single-input
model is the structure of one array: ``[x]`` flat, packed back to ``x``.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs
import keras
import numpy as np
import tensorflow as tf

from .errors import InputError

__all__ = [
    "calling_with",
    "pack_for_model",
    "form_key",
    "InputSpec",
    "Form",
    "input_specs",
    "model_call_structure",
    "flatten_structure",
    "describe_names",
]


@attrs.frozen
class InputSpec:
    """One input the model declares.

    Attributes:
        name: the input's name (its ``keras.Input(name=...)``, or its key in a dict model).
        shape: one sample's shape, without the batch axis (None for a free dimension).
        dtype: the declared dtype name ('float32', 'int32', ...).
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str

    @property
    def integer(self) -> bool:
        """Whether the model takes integer (or boolean) values here: ids, not measurements."""
        return self.dtype.startswith(("int", "uint", "bool"))


@attrs.frozen
class Form:
    """How a structure was given: 'array', 'list', 'tuple' or 'dict' (keys in flat order)."""

    kind: str = "array"
    keys: tuple[str, ...] = ()

    def pack(self, flat: Sequence[Any]) -> Any:
        """The flat values (in input order) in this form."""
        if self.kind == "array":
            return flat[0]
        if self.kind == "dict":
            return dict(zip(self.keys, flat, strict=True))
        return list(flat) if self.kind == "list" else tuple(flat)


def _struct(model: Any) -> Any:
    struct = getattr(model, "_inputs_struct", None)  # functional models (Sequential inside)
    if struct is None:
        functional = getattr(model, "_functional", None)
        struct = getattr(functional, "_inputs_struct", None)
    return struct


def model_call_structure(model: Any) -> Any | None:
    """The structure the model is called with (KerasTensors as leaves), or None when unknown."""
    struct = _struct(model)
    if struct is not None:
        return struct
    inputs = getattr(model, "inputs", None)
    if not inputs:
        return None
    return inputs[0] if len(inputs) == 1 else list(inputs)


#: The form the current call's inputs came in (set by ``explain`` and by a metric's call):
#: how a model that declares no inputs (subclassed) is called with the flat inputs.
_CALL_FORM: contextvars.ContextVar[Form | None] = contextvars.ContextVar(
    "xaikit_call_form", default=None
)


@contextlib.contextmanager
def calling_with(form: Form) -> Iterator[None]:
    """Make ``form`` the current call's form while the block runs (nested calls restore)."""
    token = _CALL_FORM.set(form)
    try:
        yield
    finally:
        _CALL_FORM.reset(token)


def pack_for_model(model: Any, flat: Sequence[Any]) -> Any:
    """Flat inputs (model input order) in the structure ``model`` is called with: its declared
    call structure, else the form of the current call."""
    struct = model_call_structure(model)
    if struct is not None:
        return keras.tree.pack_sequence_as(struct, list(flat))
    return (_CALL_FORM.get() or Form()).pack(list(flat))


def form_key(model: Any) -> Any:
    """What calling ``model`` depends on beyond the model itself (a kernel-cache key part):
    None for a model that declares its inputs, else the current call's form."""
    return None if model_call_structure(model) is not None else _CALL_FORM.get() or Form()


def input_specs(model: Any) -> tuple[InputSpec, ...] | None:
    """The inputs the model declares, in its flat input order; None when it declares none."""
    inputs = getattr(model, "inputs", None)
    if not inputs:
        return None
    names = [str(getattr(tensor, "name", f"input_{i}")) for i, tensor in enumerate(inputs)]
    struct = _struct(model)
    if isinstance(struct, Mapping):  # a dict model is called by its keys
        keys = [key for key, _ in _sorted_items(struct)]
        if len(keys) == len(names):
            names = [str(key) for key in keys]
    return tuple(
        InputSpec(name, tuple(tensor.shape[1:]), str(getattr(tensor, "dtype", "float32")))
        for name, tensor in zip(names, inputs, strict=True)
    )


def _sorted_items(mapping: Mapping) -> list[tuple[Any, Any]]:
    """A dict's items in the order ``keras.tree.flatten`` visits them (sorted keys)."""
    return sorted(mapping.items(), key=lambda item: item[0])


def describe_names(specs: Sequence[InputSpec]) -> str:
    """'a, b' for messages."""
    return ", ".join(repr(spec.name) for spec in specs)


def _is_array_like(value: Any) -> bool:
    return isinstance(value, (np.ndarray, tf.Tensor)) or tf.is_tensor(value)


def flatten_structure(value: Any, specs: Sequence[InputSpec] | None) -> tuple[list[Any], Form]:
    """Split ``value`` into its parts in the model's input order, and the form it came in.

    Args:
        value: one array, a list / tuple of arrays (model input order) or a dict by name.
        specs: the model's declared inputs (None when it declares none: the structure given
            is taken as it is).

    Raises:
        InputError: names missing or unknown, or a count of inputs the model does not take.
    """
    count = None if specs is None else len(specs)
    if isinstance(value, Mapping):
        if specs is None:
            items = _sorted_items(value)
            return [v for _, v in items], Form("dict", tuple(str(k) for k, _ in items))
        names = [spec.name for spec in specs]
        missing = [name for name in names if name not in value]
        extra = [str(key) for key in value if key not in names]
        if missing or extra:
            parts = []
            if missing:
                parts.append("missing " + ", ".join(map(repr, missing)))
            if extra:
                parts.append("unknown " + ", ".join(map(repr, extra)))
            raise InputError(
                f"inputs: expected a dict keyed by the model's input names "
                f"{describe_names(specs)}, got {'; '.join(parts)}"
            )
        return [value[name] for name in names], Form("dict", tuple(names))
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        if count is not None and count > 1:
            assert specs is not None  # count is len(specs)
            if len(value) != count:
                raise InputError(
                    f"inputs: the model takes {count} inputs ({describe_names(specs)}), as a "
                    f"list in that order or a dict keyed by name; got a {kind} of {len(value)}"
                )
            return list(value), Form(kind)
        if count == 1:
            assert specs is not None  # count is len(specs)
            rank = len(specs[0].shape) + 1
            if len(value) == 1 and np.ndim(value[0]) == rank:
                return [value[0]], Form(kind)
            return [value], Form("array")  # a list of samples, as before
        if value and all(_is_array_like(v) for v in value) and len(value) > 1:
            return list(value), Form(kind)
        return [value], Form("array")
    if count is not None and count > 1:
        assert specs is not None  # count is len(specs)
        shape = getattr(value, "shape", None)
        got = f"one array of shape {tuple(shape)}" if shape is not None else type(value).__name__
        raise InputError(
            f"inputs: the model takes {count} inputs ({describe_names(specs)}); pass a list in "
            f"that order or a dict keyed by name, got {got}"
        )
    return [value], Form("array")


def is_keras_model(model: Any) -> bool:
    """Whether ``model`` is a Keras model (functional, Sequential or subclassed)."""
    return isinstance(model, keras.Model)
