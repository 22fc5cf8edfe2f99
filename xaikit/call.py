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

from .inputs import cast_inputs, check_inputs, coerce_inputs, coerce_targets, merge_targets
from .model import declared_num_outputs, model_dtype
from .operators import Operator

__all__ = ["PreparedCall", "read_inputs", "num_outputs", "target_weights", "prepare_call"]

#: ``predict(x (n, ...)) -> model outputs (n, K)``, compiled and chunked by the caller.
Predict = Callable[[np.ndarray], np.ndarray]


@attrs.frozen(eq=False)
class PreparedCall:
    """A call's arguments once coerced and validated.

    Attributes:
        inputs: (N, ...) inputs in the model's float dtype.
        weights: (N, K) target weights in the inputs' dtype (one-hot rows for indices).
        targets: the targets as an Explanation records them: indices (N,) or weights (N, K).
        operator: the resolved operator callable.
    """

    inputs: np.ndarray
    weights: np.ndarray
    targets: np.ndarray
    operator: Operator


def read_inputs(model: Any, inputs: Any, targets: Any = None) -> tuple[np.ndarray, Any]:
    """Inputs as a checked (N, ...) array of the model's dtype, and the targets to use.

    A dataset yielding ``(x, y)`` supplies the targets (then ``targets`` must be None).

    Raises:
        InputError: inputs that do not fit the model, or targets given twice.
    """
    x, dataset_targets = coerce_inputs(inputs, model)
    targets = merge_targets(targets, dataset_targets)
    return cast_inputs(check_inputs(x, model), model_dtype(model)), targets


def num_outputs(model: Any, first: np.ndarray, predict: Predict) -> int:
    """The number of model outputs K: declared by the model, else read off one prediction."""
    declared = declared_num_outputs(model)
    return declared if declared is not None else int(predict(first[:1]).shape[-1])


def target_weights(
    model: Any,
    x: np.ndarray,
    targets: Any,
    operator: Operator,
    predict: Predict,
    label: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Targets as (weights (N, K) in x's dtype, the recorded targets).

    With ``targets=None`` the top-scoring output is explained (the only one for K = 1), unless
    the operator sets ``top_class_default = False``.

    Raises:
        InputError: targets of the wrong form, length or range (the message says which).
    """
    k = num_outputs(model, x, predict)
    top = None
    if targets is None:
        if k == 1:
            top = np.zeros(len(x), dtype=np.int64)
        elif getattr(operator, "top_class_default", True):
            top = predict(x).argmax(axis=-1)
    name = label or getattr(operator, "__name__", None)
    weights, recorded = coerce_targets(
        targets, len(x), k, top, f"operator {name!r}" if name else "the operator"
    )
    return weights.astype(x.dtype, copy=False), recorded


def prepare_call(
    model: Any,
    inputs: Any,
    targets: Any,
    operator: Operator,
    predict: Predict,
    label: str | None = None,
) -> PreparedCall:
    """:func:`read_inputs`, the operator's own check of the model, then :func:`target_weights`."""
    x, targets = read_inputs(model, inputs, targets)
    validate = getattr(operator, "validate", None)
    if validate is not None:
        validate(model)
    weights, recorded = target_weights(model, x, targets, operator, predict, label)
    return PreparedCall(inputs=x, weights=weights, targets=recorded, operator=operator)
