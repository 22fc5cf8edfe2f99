"""Every chunk of an ``explain`` call through the method: rows ``batch_size`` at a time
(split over a strategy's replicas when it has one) into arrays of all N rows, retried with
halved chunks on running out of memory (then a :class:`~xaikit.errors.ChunkSizeWarning`),
and errors re-raised naming the failing chunk's rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import tensorflow as tf

from . import engine
from .batches import BatchResult, _unflat, as_flat
from .errors import ChunkSizeWarning, XaikitError
from .registry import get_registry

if TYPE_CHECKING:
    from .explainer import Explainer

__all__ = ["run_chunks", "on_replicas"]


def _extra_tensor(rows: Any, dtype: np.dtype) -> tf.Tensor:
    """A chunk of a ``prepare()`` array: floats in the inputs' dtype, integers kept exact."""
    array = np.asarray(rows)
    if np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.bool_):
        return tf.constant(array)
    return tf.constant(array.astype(dtype, copy=False))


def _in_rows(explainer: Any, error: Exception, rows: slice) -> Exception:
    """``error`` again, its message prefixed with the failing chunk's rows and, for a method
    from a plugin, the plugin's name (``"rows 64-127 (method 'lime' of plugin 'x'): ..."``)."""
    where = f"rows {rows.start}-{rows.stop - 1}"
    entry = get_registry().entries("methods").get(explainer.method_name)
    if entry is not None and entry.plugin != "xaikit":
        where += f" (method {entry.name!r} of plugin {entry.plugin!r})"
    try:
        if isinstance(error, tf.errors.OpError):
            return type(error)(error.node_def, error.op, f"{where}: {error.message}")
        return type(error)(f"{where}: {error}")
    except Exception:  # noqa: BLE001 - an exception type that takes other arguments
        error.add_note(where)
        return error


def on_replicas(
    explainer: Explainer, inputs: Any, targets: tf.Tensor, extras: Mapping[str, Any]
) -> BatchResult:
    """:meth:`~xaikit.Explainer.run_batch` with the chunk's samples split over the
    strategy's replicas."""
    names = list(extras)
    flat_in = as_flat(inputs)
    flat_extras = [tf.nest.flatten(extras[k]) for k in names]
    has_base: list[bool] = []
    shape: list[bool] = []

    def replica(*tensors: tf.Tensor) -> tuple:
        x = _unflat(list(tensors[: len(flat_in)])) if isinstance(inputs, tuple) else tensors[0]
        t = tensors[len(flat_in)]
        rest = list(tensors[len(flat_in) + 1 :])
        values = {}
        for k, parts in zip(names, flat_extras, strict=True):
            values[k] = tf.nest.pack_sequence_as(extras[k], rest[: len(parts)])
            rest = rest[len(parts) :]
        result = explainer.run_batch(x, t, values)
        has_base.append(result.baseline_scores is not None)
        shape.append(isinstance(result.attributions, tuple))
        base = result.baseline_scores
        base = base if base is not None else result.scores
        return (*as_flat(result.attributions), result.scores, base)

    tensors = [*flat_in, targets, *(p for parts in flat_extras for p in parts)]
    outputs = engine.run_on_replicas(explainer.strategy, replica, *tensors)
    attributions = outputs[:-2]
    attributions = tuple(attributions) if shape[0] else attributions[0]
    base = outputs[-1] if all(has_base) else None
    return BatchResult(attributions, outputs[-2], base)


def run_chunks(
    explainer: Explainer, flat: list[np.ndarray], weights: np.ndarray, extras: Mapping[str, Any]
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray | None, bool]:
    """Every chunk through the method: (flat attributions, scores, base scores, whether
    the attributions mirror the inputs)."""
    dtype = next(
        (x.dtype for x in flat if np.issubdtype(x.dtype, np.floating)), np.dtype(np.float32)
    )
    n = len(flat[0])
    # Each chunk's results go straight into arrays of all N rows, allocated at the first
    # chunk (layer attributions have the layer's shape): no list of chunks to concatenate,
    # so peak memory is the inputs, the outputs and one chunk.
    attributions: list[np.ndarray] = []
    scores = np.empty(n, dtype=np.float64)
    base_scores: np.ndarray | None = np.empty(n, dtype=np.float64)
    mirrored = True
    # runner: the explainer, or a copy with a smaller batch_size after OOM
    start, runner = 0, explainer
    while start < n:
        rows = slice(start, min(start + runner.batch_size, n))
        inputs = _unflat([tf.constant(x[rows]) for x in flat])
        targets = tf.constant(weights[rows])
        batch_extras = {
            k: tf.nest.map_structure(lambda a, r=rows: _extra_tensor(a[r], dtype), v)
            for k, v in extras.items()
        }
        try:
            if runner.strategy is None:
                result = runner.run_batch(inputs, targets, batch_extras)
            else:
                result = on_replicas(runner, inputs, targets, batch_extras)
        except tf.errors.ResourceExhaustedError as error:
            if rows.stop - rows.start == 1:
                raise _in_rows(explainer, error, rows) from error
            runner = attrs.evolve(runner, batch_size=(rows.stop - rows.start) // 2)
            continue
        except XaikitError:
            raise
        except Exception as error:
            raise _in_rows(explainer, error, rows) from error
        start = rows.stop
        got = as_flat(result.attributions)
        mirrored = isinstance(result.attributions, tuple) or len(flat) == 1
        if not attributions:
            attributions = [np.empty((n, *part.shape[1:]), dtype) for part in got]
        for out, part in zip(attributions, got, strict=True):
            out[rows] = np.asarray(part)
        scores[rows] = np.asarray(result.scores)
        if result.baseline_scores is None:
            base_scores = None
        elif base_scores is not None:
            base_scores[rows] = np.asarray(result.baseline_scores)
    if runner is not explainer:
        warnings.warn(
            f"batch_size: chunks of {explainer.batch_size} rows ran out of memory; explained "
            f"with {runner.batch_size} rows per chunk",
            ChunkSizeWarning,
            stacklevel=3,
        )
    return attributions, scores.astype(dtype), base_scores, mirrored
