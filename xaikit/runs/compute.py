"""Explaining one shard: the step every runner (local, Beam, ...) shares.

:func:`explain_rows` turns a shard's inputs into the per-sample arrays a store holds, and
survives running out of memory by halving the explainer's ``batch_size``.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import attrs
import numpy as np
import tensorflow as tf

from ..errors import ChunkSizeWarning
from ._model import declared_num_outputs, model_dtype

__all__ = ["OutOfMemoryWarning", "Predictor", "shard_arrays", "explain_rows"]


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

    def _function(self, x: np.ndarray) -> Any:
        key = (x.shape[1:], x.dtype.str)
        if key not in self._compiled:
            spec = tf.TensorSpec((None, *x.shape[1:]), tf.as_dtype(x.dtype))
            model = self.model

            def predict(points: tf.Tensor) -> tf.Tensor:
                return model(points, training=False)

            self._compiled[key] = tf.function(predict, input_signature=[spec])
        return self._compiled[key]

    def __call__(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        """(n, ...) inputs -> (n, ...) model outputs, ``batch_size`` rows at a time."""
        function = self._function(x)
        return np.concatenate(
            [
                np.asarray(function(tf.constant(x[start : start + batch_size])))
                for start in range(0, len(x), batch_size)
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


def shard_arrays(
    explainer: Any, x: np.ndarray, targets: Any, predictor: Predictor | None = None
) -> dict[str, np.ndarray]:
    """The per-sample arrays of one shard, by store name.

    Args:
        explainer: the explainer.
        x: (n, ...) inputs.
        targets: the shard's targets (None, an int, (n,) ints or (n, K) weights).
        predictor: computes ``prediction`` where the explanation does not tell it (targets
            given, or a single-output model); None: built for this call.

    Returns:
        ``attributions`` (n, ...), ``target`` (n,) int64 or (n, K), ``score`` (n,),
        ``prediction`` (n,), and ``convergence_delta`` (n,) for path methods.
    """
    explanation = explainer.explain(x, targets)
    arrays = {
        "attributions": np.asarray(explanation.attributions),
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
        inputs = x.astype(model_dtype(explainer.model), copy=False)
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
    explainer: Any, x: np.ndarray, targets: Any, predictor: Predictor | None = None
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
                arrays = shard_arrays(explainer, x, targets, predictor)
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
