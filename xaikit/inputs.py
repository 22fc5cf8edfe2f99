"""Coercion and validation of what users pass to ``explain``: inputs and targets.

Inputs may be numpy arrays (or anything ``np.asarray`` takes), ``tf.Tensor``s, or
``tf.data.Dataset``s yielding ``x`` or ``(x, y)`` (batched or not). Targets may be ``None``
(the top-scoring output), one integer for all samples, integers of shape (N,), or a one-hot /
weight matrix of shape (N, K). Every failure raises :class:`~xaikit.errors.InputError` naming
the argument, what was expected and what came.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from .errors import InputError
from .model import model_input_shape

__all__ = [
    "to_array",
    "coerce_inputs",
    "merge_targets",
    "check_inputs",
    "cast_inputs",
    "coerce_targets",
]


def _describe(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} of shape {tuple(shape)}"
    return type(value).__name__


def to_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a numpy array (tensors and array-likes), or an InputError naming ``name``."""
    if isinstance(value, tf.data.Dataset):
        raise InputError(f"{name}: a tf.data.Dataset is only accepted as inputs")
    if tf.is_tensor(value):
        value = value.numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise InputError(f"{name}: expected an array, got {_describe(value)} ({error})") from None
    return array


def _from_dataset(
    dataset: tf.data.Dataset, sample_rank: int | None
) -> tuple[np.ndarray, np.ndarray | None]:
    spec = dataset.element_spec
    if isinstance(spec, tuple):
        if not 1 <= len(spec) <= 3:
            raise InputError(
                f"inputs: expected a dataset of x or (x, y), got elements of {len(spec)} parts"
            )
        x_spec, has_y = spec[0], len(spec) > 1
    elif isinstance(spec, tf.TensorSpec):
        x_spec, has_y = spec, False
    else:
        raise InputError(f"inputs: expected a dataset of x or (x, y) tensors, got elements {spec}")
    if dataset.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise InputError(
            "inputs: expected a finite dataset, got an infinite one (remove .repeat() or "
            "add .take(n))"
        )
    rank = x_spec.shape.rank
    if sample_rank is not None:
        if rank is not None and rank not in (sample_rank, sample_rank + 1):
            raise InputError(
                f"inputs: the model expects samples of rank {sample_rank}, so a dataset of "
                f"x with element shape (N, ...) of rank {sample_rank + 1} (batched) or "
                f"{sample_rank} (unbatched), got element shape {tuple(x_spec.shape)}"
            )
        batched = rank == sample_rank + 1
    else:
        batched = (
            x_spec.shape.rank is not None and x_spec.shape.rank >= 2 and (x_spec.shape[0] is None)
        )
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for element in dataset.as_numpy_iterator():
        x = element[0] if isinstance(element, tuple) else element
        xs.append(x if batched else x[None])
        if has_y:
            y = np.asarray(element[1])
            ys.append(y if batched else y[None])
    if not xs:
        raise InputError("inputs: expected at least one sample, got an empty dataset")
    x_all = np.concatenate(xs)
    y_all = np.concatenate(ys) if has_y else None
    return x_all, y_all


def coerce_inputs(inputs: Any, model: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Inputs as one numpy array (N, ...), plus the dataset's ``y`` when it yields (x, y)."""
    shape = model_input_shape(model)
    if isinstance(inputs, tf.data.Dataset):
        return _from_dataset(inputs, None if shape is None else len(shape))
    return to_array(inputs, "inputs"), None


def merge_targets(targets: Any, dataset_targets: np.ndarray | None) -> Any:
    """The targets to use when inputs came as a dataset that may yield ``(x, y)``.

    Raises:
        InputError: targets were given twice, as an argument and as the dataset's ``y``.
    """
    if dataset_targets is None:
        return targets
    if targets is not None:
        raise InputError(
            "targets: the dataset already yields (x, y) targets; pass a dataset of x "
            "alone or leave targets=None"
        )
    return dataset_targets


def check_inputs(x: np.ndarray, model: Any) -> np.ndarray:
    """Validate inputs against the model and return them as a float array.

    Raises:
        InputError: empty inputs, non-numeric values, NaN or inf, or a shape the model does
            not accept (rank or a fixed dimension).
    """
    if x.dtype == object or not (
        np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.bool_)
    ):
        raise InputError(f"inputs: expected numbers, got an array of dtype {x.dtype}")
    if x.ndim == 0:
        raise InputError("inputs: expected a batch of shape (N, ...), got a scalar")
    if x.shape[0] == 0 or x.size == 0:
        raise InputError(f"inputs: expected at least one sample, got shape {x.shape}")
    expected = model_input_shape(model)
    if expected is not None:
        full = (None, *expected)
        rank_ok = x.ndim == len(full)
        dims_ok = rank_ok and all(e is None or e == d for e, d in zip(full, x.shape, strict=True))
        if not dims_ok:
            shown = "(N, " + ", ".join("?" if d is None else str(d) for d in expected) + ")"
            hint = ""
            if x.ndim == len(expected) and all(
                e is None or e == d for e, d in zip(expected, x.shape, strict=True)
            ):
                hint = "; for a single sample, add a batch axis (x[None])"
            raise InputError(f"inputs: the model expects shape {shown}, got shape {x.shape}{hint}")
    if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x).reshape(x.shape[0], -1).all(axis=1)).ravel()
        raise InputError(
            f"inputs: expected finite values, got NaN or inf in sample(s) {bad[:10].tolist()}"
        )
    return x


def cast_inputs(x: np.ndarray, dtype: Any, name: str = "inputs") -> np.ndarray:
    """``x`` cast to the float ``dtype`` the model computes in (no copy when it already is).

    Raises:
        InputError: finite values beyond ``dtype``'s range, which would become inf.
    """
    with np.errstate(over="ignore"):
        cast = x.astype(dtype, copy=False)
    if cast is not x and np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(cast)):
        bad = np.argwhere(~np.isfinite(cast).reshape(x.shape[0], -1).all(axis=1)).ravel()
        raise InputError(
            f"{name}: expected values within {np.dtype(dtype).name}'s range "
            f"(+-{np.finfo(dtype).max:.4g}), got larger ones in sample(s) {bad[:10].tolist()}"
        )
    return cast


def coerce_targets(
    targets: Any, n: int, num_outputs: int, top: np.ndarray | None, operator: str = "this operator"
) -> tuple[np.ndarray, np.ndarray]:
    """Targets as a (N, K) float weight matrix, plus the form recorded in the Explanation.

    Args:
        targets: None, an int, ints of shape (N,), or weights of shape (N, K).
        n: number of samples N.
        num_outputs: number of model outputs K.
        top: the top-scoring output index per sample, used when ``targets`` is None; None
            when the operator does not pick the top output (then targets are required).
        operator: how to name the operator in messages.

    Returns:
        ``(weights, recorded)``: weights (N, K) float32; recorded is the int array (N,) of
        class indices when targets were indices (or None), else the weight matrix itself.
    """
    if targets is None:
        if top is None:
            raise InputError(
                f"targets: {operator} does not choose among the model's {num_outputs} outputs "
                f"by itself; expected an int, {n} ints (N,) or a ({n}, {num_outputs}) weight "
                "matrix saying which output to explain, got None"
            )
        indices = np.asarray(top, dtype=np.int64)
    else:
        array = to_array(targets, "targets")
        if array.dtype == np.bool_ and array.ndim == 2 and array.shape[1] == num_outputs:
            array = array.astype(np.float32)  # a boolean one-hot mask
        if array.dtype == object or not np.issubdtype(array.dtype, np.number):
            raise InputError(
                f"targets: expected numbers (or a ({n}, {num_outputs}) boolean mask), got an "
                f"array of dtype {array.dtype}"
            )
        if array.ndim == 2 and array.shape[1] == 1 and num_outputs != 1 and array.shape[0] == n:
            array = array[:, 0]  # a column of class indices
        if array.ndim == 2:
            if array.shape[0] != n:
                raise InputError(
                    f"targets: expected {n} rows (one per input sample), got shape {array.shape}"
                )
            if array.shape[1] != num_outputs:
                raise InputError(
                    f"targets: one-hot / weight targets must have {num_outputs} columns "
                    f"(the model's outputs), got shape {array.shape}"
                )
            if not np.all(np.isfinite(array)):
                raise InputError("targets: expected finite weights, got NaN or inf")
            weights = array.astype(np.float32)
            return weights, weights
        if array.ndim > 2:
            raise InputError(
                f"targets: expected an int, shape ({n},) or shape ({n}, {num_outputs}), "
                f"got shape {array.shape}"
            )
        if np.issubdtype(array.dtype, np.floating):
            if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
                raise InputError(
                    "targets: class indices must be whole numbers; for weights pass an "
                    f"array of shape ({n}, {num_outputs})"
                )
        indices = np.broadcast_to(array.astype(np.int64), (n,)) if array.ndim == 0 else array
        indices = indices.astype(np.int64)
        if indices.shape != (n,):
            raise InputError(
                f"targets: expected {n} class indices (one per input sample), "
                f"got shape {array.shape}"
            )
        out_of_range = (indices < 0) | (indices >= num_outputs)
        if np.any(out_of_range):
            raise InputError(
                f"targets: class indices must be in [0, {num_outputs - 1}] for a model with "
                f"{num_outputs} outputs, got {indices[out_of_range][:5].tolist()}"
            )
    weights = np.zeros((n, num_outputs), dtype=np.float32)
    weights[np.arange(n), indices] = 1.0
    return weights, indices
