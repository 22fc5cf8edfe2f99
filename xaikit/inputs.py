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
from .structure import Form, InputSpec, flatten_structure

__all__ = [
    "to_array",
    "coerce_inputs",
    "coerce_structured",
    "check_structured",
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


def _unpack_spec(spec: Any) -> tuple[Any, bool]:
    """A dataset element's ``x`` part and whether it also yields ``y`` (Keras's rule: a tuple
    or list is ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``; anything else is ``x``)."""
    if isinstance(spec, (tuple, list)):
        if not 1 <= len(spec) <= 3:
            raise InputError(
                f"inputs: expected a dataset of x or (x, y), got elements of {len(spec)} parts"
            )
        return spec[0], len(spec) > 1
    if isinstance(spec, (tf.TensorSpec, dict)):
        return spec, False
    raise InputError(f"inputs: expected a dataset of x or (x, y) tensors, got elements {spec}")


def _from_dataset(dataset: tf.data.Dataset, sample_rank: int | None) -> tuple[Any, Any]:
    """The dataset's ``x`` structure with every part concatenated (N, ...), and its ``y``."""
    x_spec, has_y = _unpack_spec(dataset.element_spec)
    if dataset.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise InputError(
            "inputs: expected a finite dataset, got an infinite one (remove .repeat() or "
            "add .take(n))"
        )
    first = tf.nest.flatten(x_spec)[0]
    rank = first.shape.rank
    if sample_rank is not None:
        if rank is not None and rank not in (sample_rank, sample_rank + 1):
            raise InputError(
                f"inputs: the model expects samples of rank {sample_rank}, so a dataset of "
                f"x with element shape (N, ...) of rank {sample_rank + 1} (batched) or "
                f"{sample_rank} (unbatched), got element shape {tuple(first.shape)}"
            )
        batched = rank == sample_rank + 1
    else:
        batched = rank is not None and rank >= 2 and first.shape[0] is None
    xs: list[list[np.ndarray]] = []
    ys: list[np.ndarray] = []
    for element in dataset.as_numpy_iterator():
        x = element[0] if isinstance(element, (tuple, list)) else element
        xs.append([part if batched else part[None] for part in tf.nest.flatten(x)])
        if has_y:
            y = np.asarray(element[1])
            ys.append(y if batched else y[None])
    if not xs:
        raise InputError("inputs: expected at least one sample, got an empty dataset")
    parts = [np.concatenate(column) for column in zip(*xs, strict=True)]
    x_all = tf.nest.pack_sequence_as(x_spec, parts)
    if isinstance(x_spec, (tf.TensorSpec,)):
        x_all = parts[0]
    y_all = np.concatenate(ys) if has_y else None
    return x_all, y_all


def coerce_inputs(inputs: Any, model: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Inputs of a one-input model as one numpy array (N, ...), plus a dataset's ``y``."""
    shape = model_input_shape(model)
    if isinstance(inputs, tf.data.Dataset):
        return _from_dataset(inputs, None if shape is None else len(shape))
    return to_array(inputs, "inputs"), None


def coerce_structured(
    inputs: Any, specs: tuple[InputSpec, ...] | None
) -> tuple[list[np.ndarray], Form, np.ndarray | None]:
    """Inputs as flat arrays in the model's input order, their form, and a dataset's ``y``.

    Raises:
        InputError: a structure the model does not take (names, count), or a part that is
            not an array.
    """
    dataset_y = None
    if isinstance(inputs, tf.data.Dataset):
        rank = None if not specs or specs[0].shape is None else len(specs[0].shape)
        inputs, dataset_y = _from_dataset(inputs, rank)
    flat, form = flatten_structure(inputs, specs)
    names = _part_names(specs, form, len(flat))
    return [to_array(part, name) for part, name in zip(flat, names, strict=True)], form, dataset_y


def _part_names(specs: tuple[InputSpec, ...] | None, form: Form, count: int) -> list[str]:
    """How each flat input is named in messages: 'inputs' alone, else inputs['name']."""
    if count == 1:
        return ["inputs"]
    if specs is not None:
        return [f"inputs[{spec.name!r}]" for spec in specs]
    if form.kind == "dict":
        return [f"inputs[{key!r}]" for key in form.keys]
    return [f"inputs[{i}]" for i in range(count)]


def check_structured(
    flat: list[np.ndarray],
    specs: tuple[InputSpec, ...] | None,
    form: Form,
    float_dtype: np.dtype,
) -> list[np.ndarray]:
    """Check each flat input against the model and cast it: floats to ``float_dtype``,
    inputs the model declares integer (token or category ids) to that integer dtype.

    Raises:
        InputError: a part fails :func:`check_inputs`, the parts disagree on N, or an
            integer input holds fractional values.
    """
    names = _part_names(specs, form, len(flat))
    out = []
    for i, (x, name) in enumerate(zip(flat, names, strict=True)):
        spec = specs[i] if specs is not None else None
        x = check_inputs(x, spec.shape if spec is not None else None, name)
        if spec is not None and spec.integer:
            if np.issubdtype(x.dtype, np.floating) and np.any(x != np.round(x)):
                raise InputError(
                    f"{name}: the model takes integer ids ({spec.dtype}) here, got "
                    f"fractional values of dtype {x.dtype}"
                )
            x = x.astype(spec.dtype, copy=False)
        else:
            x = cast_inputs(x, float_dtype, name)
        out.append(x)
    counts = {len(x) for x in out}
    if len(counts) > 1:
        shown = ", ".join(f"{name}: {len(x)}" for name, x in zip(names, out, strict=True))
        raise InputError(
            f"inputs: expected the same number of samples N in every input, got {shown}"
        )
    return out


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


def check_inputs(x: np.ndarray, model: Any, name: str = "inputs") -> np.ndarray:
    """Validate inputs against the model (or one sample's expected shape) and return them.

    Args:
        x: the array (N, ...).
        model: a model of one input, or the expected sample shape itself (None: unknown).
        name: how to name the argument in messages.

    Raises:
        InputError: empty inputs, non-numeric values, NaN or inf, or a shape the model does
            not accept (rank or a fixed dimension).
    """
    if x.dtype == object or not (
        np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.bool_)
    ):
        raise InputError(f"{name}: expected numbers, got an array of dtype {x.dtype}")
    if x.ndim == 0:
        raise InputError(f"{name}: expected a batch of shape (N, ...), got a scalar")
    if x.shape[0] == 0 or x.size == 0:
        raise InputError(f"{name}: expected at least one sample, got shape {x.shape}")
    if model is None or isinstance(model, tuple):
        expected = model
    else:
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
            raise InputError(f"{name}: the model expects shape {shown}, got shape {x.shape}{hint}")
    if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x).reshape(x.shape[0], -1).all(axis=1)).ravel()
        raise InputError(
            f"{name}: expected finite values, got NaN or inf in sample(s) {bad[:10].tolist()}"
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
