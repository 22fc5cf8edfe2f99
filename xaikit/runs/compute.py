"""Explaining one shard: the step every runner (local, Beam, ...) shares.

:func:`explain_rows` turns a shard's inputs into the per-sample arrays a store holds, and
survives running out of memory by halving the explainer's ``batch_size``.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import attrs
import keras
import numpy as np
import tensorflow as tf

from ..errors import ChunkSizeWarning, InputError
from ..structure import input_specs, model_call_structure
from ._model import declared_num_outputs, model_dtype
from .sources import Inputs, Structure

__all__ = [
    "OutOfMemoryWarning",
    "Predictor",
    "attribution_layout",
    "shard_arrays",
    "explain_rows",
]

#: The attributions' array of a run that stores one array (one input, or a layer's output).
ATTRIBUTIONS = "attributions"


def attribution_layout(explainer: Any, structure: Structure | None) -> tuple[str, dict[str, str]]:
    """How a run stores its attributions: their form and the array of each input.

    Returns:
        ``(form, arrays)``: form 'array' and ``{"inputs": "attributions"}`` for one array
        (a model of one input, or attributions at one layer's output: ``layer="name"``);
        else the data's form ('list', 'tuple' or 'dict') and ``{input name:
        "attributions_<name>"}`` in the model's input order.
    """
    layer = getattr(explainer, "params", {}).get("layer")
    if structure is None or isinstance(layer, str):
        return "array", {"inputs": ATTRIBUTIONS}
    arrays: dict[str, str] = {}
    for name in structure.names:
        stem = ATTRIBUTIONS + "_" + (re.sub(r"[^\w.-]", "_", name) or "input")
        candidate, number = stem, 1
        while candidate in arrays.values():
            candidate, number = f"{stem}_{number}", number + 1
        arrays[name] = candidate
    return structure.form.kind, arrays


def _attribution_arrays(
    attributions: Any, structure: Structure | None, layout: tuple[str, dict[str, str]]
) -> dict[str, np.ndarray]:
    """An explanation's attributions by store array name, as ``layout`` lays them out."""
    form, arrays = layout
    if form == "array":
        if isinstance(attributions, (list, tuple, dict)):
            raise InputError(
                "explain_dataset: the explainer gave attributions per input, but the run "
                "stores one array (a layer's output); pass layer= the same way again"
            )
        return {ATTRIBUTIONS: np.asarray(attributions)}
    assert structure is not None  # per-input arrays come from structured data
    if isinstance(attributions, dict):
        values = [attributions[name] for name in structure.names]
    elif isinstance(attributions, (list, tuple)):
        values = list(attributions)
    else:
        raise InputError(
            "explain_dataset: the explainer gave one attributions array for the inputs "
            f"{', '.join(map(repr, structure.names))}, but the run stores one per input"
        )
    return {arrays[name]: np.asarray(v) for name, v in zip(structure.names, values, strict=True)}


class OutOfMemoryWarning(RuntimeWarning):
    """Explaining a shard ran out of memory; the run goes on with a smaller ``batch_size``."""


class Predictor:
    """The model's outputs, computed by one compiled function per input signature.

    Args:
        model: the model (one input, one output of shape (n,) or (n, K)).
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self._compiled: dict[tuple, Any] = {}

    def _function(self, x: Inputs) -> Any:
        parts = x if isinstance(x, tuple) else (x,)
        key = tuple((part.shape[1:], part.dtype.str) for part in parts)
        if key not in self._compiled:
            specs = [
                tf.TensorSpec((None, *part.shape[1:]), tf.as_dtype(part.dtype)) for part in parts
            ]
            model = self.model
            struct = model_call_structure(model) if isinstance(x, tuple) else None

            def predict(*points: tf.Tensor) -> tf.Tensor:
                if not isinstance(x, tuple):
                    return model(points[0], training=False)
                called = (
                    list(points)
                    if struct is None
                    else keras.tree.pack_sequence_as(struct, list(points))
                )
                return model(called, training=False)

            self._compiled[key] = tf.function(predict, input_signature=specs)
        return self._compiled[key]

    def __call__(self, x: Inputs, batch_size: int) -> np.ndarray:
        """(n, ...) inputs (a tuple of them for several inputs) -> (n, ...) model outputs,
        ``batch_size`` rows at a time."""
        function = self._function(x)
        parts = x if isinstance(x, tuple) else (x,)
        return np.concatenate(
            [
                np.asarray(function(*(tf.constant(p[start : start + batch_size]) for p in parts)))
                for start in range(0, len(parts[0]), batch_size)
            ]
        )


def _predictions(outputs: np.ndarray) -> np.ndarray | None:
    """Top class (n,) int64 of (n, K > 1) outputs, the output (n,) of a single-output model."""
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return outputs.argmax(axis=1).astype(np.int64)
    if outputs.ndim == 2 and outputs.shape[1] == 1:
        return outputs[:, 0]
    if outputs.ndim == 1:
        return outputs
    return None


def _model_inputs(model: Any, x: Inputs) -> Inputs:
    """Inputs in the dtypes the model takes (integer inputs stay integer)."""
    dtype = model_dtype(model)
    if not isinstance(x, tuple):
        return x.astype(dtype, copy=False)
    specs = input_specs(model)
    if specs is None or len(specs) != len(x):
        return tuple(
            p.astype(dtype, copy=False) if np.issubdtype(p.dtype, np.floating) else p for p in x
        )
    return tuple(
        p.astype(spec.dtype if spec.integer else dtype, copy=False)
        for p, spec in zip(x, specs, strict=True)
    )


def shard_arrays(
    explainer: Any,
    x: Inputs,
    targets: Any,
    predictor: Predictor | None = None,
    structure: Structure | None = None,
) -> dict[str, np.ndarray]:
    """The per-sample arrays of one shard, by store name.

    Args:
        explainer: the explainer.
        x: (n, ...) inputs, or a tuple of them (one per model input) for structured data.
        targets: the shard's targets (None, an int, (n,) ints or (n, K) weights).
        predictor: computes ``prediction`` where the explanation does not tell it (targets
            given, or a single-output model); None: built for this call.
        structure: how a tuple ``x`` is given to the explainer (its form and input names).

    Returns:
        ``attributions`` (n, ...) (or ``attributions_<input name>`` per input, as
        :func:`attribution_layout` says), ``target`` (n,) int64 or (n, K), ``score`` (n,),
        ``prediction`` (n,), and ``convergence_delta`` (n,) for path methods.
    """
    if isinstance(x, tuple) and structure is None:
        raise InputError("explain_dataset: a shard of several inputs came without its structure")
    explanation = explainer.explain(x if structure is None else structure.pack(x), targets)
    layout = attribution_layout(explainer, structure)
    arrays = {
        **_attribution_arrays(explanation.attributions, structure, layout),
        "target": np.asarray(explanation.targets),
        "score": np.asarray(explanation.scores),
    }
    if explanation.convergence_delta is not None:
        arrays["convergence_delta"] = np.asarray(explanation.convergence_delta)
    outputs = declared_num_outputs(explainer.model)
    top_class_known = targets is None and outputs is not None and outputs > 1
    if top_class_known and arrays["target"].ndim == 1:
        arrays["prediction"] = arrays["target"].astype(np.int64)
    else:
        predictor = predictor or Predictor(explainer.model)
        inputs = _model_inputs(explainer.model, x)
        prediction = _predictions(predictor(inputs, explainer.batch_size))
        if prediction is not None:
            arrays["prediction"] = prediction
    return arrays


def _smaller_chunks(caught: list[warnings.WarningMessage], batch_size: int) -> int | None:
    """The chunk size ``explain`` fell back to, from its ChunkSizeWarning; None if none.

    Other warnings caught meanwhile are issued again, unchanged.
    """
    smaller = None
    for warning in caught:
        if not issubclass(warning.category, ChunkSizeWarning):
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
            continue
        found = re.search(r"with (\d+) rows per chunk", str(warning.message))
        size = int(found.group(1)) if found else max(1, batch_size // 2)
        smaller = size if smaller is None else min(smaller, size)
    return smaller


def explain_rows(
    explainer: Any,
    x: Inputs,
    targets: Any,
    predictor: Predictor | None = None,
    structure: Structure | None = None,
) -> tuple[dict[str, np.ndarray], Any]:
    """:func:`shard_arrays`, with a smaller ``batch_size`` from then on if memory ran out.

    ``explain`` itself retries a chunk that runs out of memory at half its size (and says so
    with a :class:`~xaikit.errors.ChunkSizeWarning` on every call); here the smaller size is
    kept for the rest of the run, and a shard that still fails (a method that does not
    retry, or the predictions) is computed again with half the ``batch_size``.

    Returns:
        ``(arrays, explainer)``: the shard's arrays and the explainer to use from now on
        (``explainer`` itself, or a copy with a smaller ``batch_size``, after one
        :class:`OutOfMemoryWarning` naming the new size).

    Raises:
        tf.errors.ResourceExhaustedError: memory ran out even with ``batch_size=1``.
    """
    first = explainer.batch_size
    while True:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                arrays = shard_arrays(explainer, x, targets, predictor, structure)
            smaller = _smaller_chunks(caught, explainer.batch_size)
            if smaller is not None and smaller < explainer.batch_size:
                explainer = attrs.evolve(explainer, batch_size=smaller)
            break
        except tf.errors.ResourceExhaustedError:
            if explainer.batch_size <= 1:
                raise
            explainer = attrs.evolve(explainer, batch_size=max(1, explainer.batch_size // 2))
    if explainer.batch_size != first:
        warnings.warn(
            f"explain_dataset: out of memory with batch_size={first}; going on with "
            f"batch_size={explainer.batch_size} for the rest of the run",
            OutOfMemoryWarning,
            stacklevel=3,
        )
    return arrays, explainer
