"""One way to prepare a call, for explainers and metrics alike: inputs, targets, operator.

:func:`read_inputs` coerces and validates the inputs (and a dataset's ``y``);
:func:`target_weights` turns the targets into a (N, K) weight matrix, choosing the top-scoring
output when none is given. :func:`prepare_call` does both and returns a :class:`PreparedCall`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from .inputs import (
    cast_inputs,
    check_inputs,
    check_structured,
    coerce_inputs,
    coerce_structured,
    coerce_targets,
    merge_targets,
)
from .model import declared_num_outputs, model_dtype
from .operators import Operator
from .structure import Form, input_specs

__all__ = ["PreparedCall", "read_inputs", "num_outputs", "target_weights", "prepare_call"]

#: ``predict(x (n, ...)) -> model outputs (n, K)``, compiled and chunked by the caller; ``x``
#: is a tuple of arrays for a model of several inputs.
Predict = Callable[[Any], np.ndarray]


@attrs.frozen(eq=False)
class PreparedCall:
    """A call's arguments once coerced and validated.

    Attributes:
        flat: the inputs, one (N, ...) array per model input in the model's input order;
            floats in the model's float dtype, inputs the model declares integer (ids) in
            that integer dtype.
        form: how the inputs were given (array, list, tuple, dict), to pack results alike.
        names: each flat input's name ('inputs' for a one-input model).
        weights: (N, K) target weights in the float dtype (one-hot rows for indices).
        targets: the targets as an Explanation records them: indices (N,) or weights (N, K).
        operator: the resolved operator callable.
    """

    flat: list[np.ndarray]
    form: Form
    names: tuple[str, ...]
    weights: np.ndarray
    targets: np.ndarray
    operator: Operator

    @property
    def inputs(self) -> Any:
        """The inputs as methods see them: one array, or a tuple for several inputs."""
        return self.flat[0] if len(self.flat) == 1 else tuple(self.flat)


def read_inputs(model: Any, inputs: Any, targets: Any = None) -> tuple[np.ndarray, Any]:
    """Inputs as a checked (N, ...) array of the model's dtype, and the targets to use.

    A dataset yielding ``(x, y)`` supplies the targets (then ``targets`` must be None).

    Raises:
        InputError: inputs that do not fit the model, or targets given twice.
    """
    x, dataset_targets = coerce_inputs(inputs, model)
    targets = merge_targets(targets, dataset_targets)
    return cast_inputs(check_inputs(x, model), model_dtype(model)), targets


def _rows(x: Any) -> int:
    return len(x[0]) if isinstance(x, tuple) else len(x)


def _float_dtype(x: Any) -> np.dtype:
    parts = list(x) if isinstance(x, tuple) else [x]
    floats = [p.dtype for p in parts if np.issubdtype(p.dtype, np.floating)]
    return floats[0] if floats else np.dtype("float32")


def num_outputs(model: Any, first: Any, predict: Predict) -> int:
    """The number of model outputs K: declared by the model, else read off one prediction."""
    declared = declared_num_outputs(model)
    if declared is not None:
        return declared
    head = tuple(p[:1] for p in first) if isinstance(first, tuple) else first[:1]
    return int(predict(head).shape[-1])


def target_weights(
    model: Any,
    x: np.ndarray | tuple[np.ndarray, ...],
    targets: Any,
    operator: Operator,
    predict: Predict,
    label: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Targets as (weights (N, K) in x's dtype, the recorded targets).

    ``x`` is one array, or a tuple of one array per model input (in its input order).

    With ``targets=None`` the top-scoring output is explained (the only one for K = 1), unless
    the operator sets ``top_class_default = False``.

    Raises:
        InputError: targets of the wrong form, length or range (the message says which).
    """
    k = num_outputs(model, x, predict)
    top = None
    if targets is None:
        if k == 1:
            top = np.zeros(_rows(x), dtype=np.int64)
        elif getattr(operator, "top_class_default", True):
            top = predict(x).argmax(axis=-1)
    name = label or getattr(operator, "__name__", None)
    weights, recorded = coerce_targets(
        targets, _rows(x), k, top, f"operator {name!r}" if name else "the operator"
    )
    return weights.astype(_float_dtype(x), copy=False), recorded


def prepare_call(
    model: Any,
    inputs: Any,
    targets: Any,
    operator: Operator,
    predict: Predict,
    label: str | None = None,
    scored_model: Any = None,
) -> PreparedCall:
    """Structured inputs read and checked (flattened in the model's input order), the
    operator's own check of the model, then :func:`target_weights`.

    Args:
        scored_model: the model as it is explained (a view of one of its outputs); default
            ``model``.
    """
    specs = input_specs(model)
    flat, form, dataset_targets = coerce_structured(inputs, specs)
    targets = merge_targets(targets, dataset_targets)
    flat = check_structured(flat, specs, form, model_dtype(model))
    if specs is not None:
        names = tuple(spec.name for spec in specs)
    elif form.kind == "dict":
        names = form.keys
    else:
        names = tuple(f"input_{i}" for i in range(len(flat))) if len(flat) > 1 else ("inputs",)
    scored = model if scored_model is None else scored_model
    validate = getattr(operator, "validate", None)
    if validate is not None:
        validate(scored)
    x = flat[0] if len(flat) == 1 else tuple(flat)
    weights, recorded = target_weights(scored, x, targets, operator, predict, label)
    return PreparedCall(
        flat=flat, form=form, names=names, weights=weights, targets=recorded, operator=operator
    )
