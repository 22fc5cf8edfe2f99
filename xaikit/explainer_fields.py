"""The :class:`~xaikit.Explainer`'s constructor fields: their validators (also used by
metrics) and defaults (the batch size chosen from the model's input size).
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import tensorflow as tf

from . import engine
from .errors import InputError
from .model import select_output
from .registry import resolve_operator, resolve_reducer
from .structure import input_specs

__all__ = ["DEFAULT_BATCH_SIZE", "check_model", "check_operator", "check_reducer", "reducer_field"]

#: Rows evaluated at once when the model's input shape is unknown (subclassed models);
#: otherwise the default comes from :func:`xaikit.engine.auto_batch_size`.
DEFAULT_BATCH_SIZE = 64


def check_model(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: a callable model whose inputs the method explains (data kinds, and
    several inputs only where the method declares ``multi_input``)."""
    from .explainer import Explainer  # here: explainer.py imports this module

    if not callable(value):
        raise InputError(f"model: expected a Keras model, got {type(value).__name__}")
    specs = input_specs(value)
    if isinstance(instance, Explainer) and specs is not None:
        instance.check_input_count([spec.name for spec in specs], "model")
        for spec in specs:
            if not spec.integer:
                instance.check_data(spec.shape, "model")


def check_operator(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: a registered operator name or a callable."""
    resolve_operator(value)


def check_reducer(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: a registered reducer name, a callable or None."""
    resolve_reducer(value)


def _default_batch_size(instance: Any) -> int:
    specs = input_specs(instance.model)
    if not specs:
        return DEFAULT_BATCH_SIZE
    elements = 0
    for spec in specs:
        dims = [d for d in spec.shape if d is not None]
        if len(dims) != len(spec.shape):
            return DEFAULT_BATCH_SIZE
        elements += int(np.prod(dims, dtype=np.int64))
    return engine.auto_batch_size((elements,), fallback=DEFAULT_BATCH_SIZE)


def _check_output(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    select_output(instance.model, value)


def _check_strategy(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and not isinstance(value, tf.distribute.Strategy):
        raise InputError(
            f"strategy: expected a tf.distribute.Strategy or None, got {type(value).__name__}"
        )


def reducer_field(default: str | None) -> Any:
    """The ``reducer`` field with another default, for subclasses (Saliency uses 'max')."""
    return attrs.field(default=default, validator=check_reducer, kw_only=True)
