"""Compiled gradient kernels over attribution points: inputs and layer outputs.

The built-in gradient methods differentiate the explained score with respect to the *slots*
of a :class:`~xaikit.points.Points` (flat inputs, or layer outputs patched by
:func:`xaikit.layers.patch_outputs`). Inputs are a flat tuple of tensors in the model's input
order; ``pack`` turns it into the structure the model is called with. Each kernel is a
``tf.function`` traced once per signature, with a dynamic batch dimension.

* :func:`gradients_fn`: ``(flat, targets) -> (grads per slot, scores)``, layer outputs
  recorded (saliency, guided backprop);
* :func:`record_fn`: ``flat -> layer outputs`` (the ends and starts of a path in layer space);
* :func:`path_fn`: the path integral from ``starts`` to ``ends`` of every slot at once: all
  slots move together along one straight path, inputs fed interpolated, layer outputs
  replaced by interpolated tensors. Rows are (sample, baseline, point) triples in chunks of
  ``chunk`` rows inside one ``tf.while_loop``, summed into a running total.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf

from .layers import patch_outputs
from .model import call_model
from .points import Points

__all__ = ["gradients_fn", "record_fn", "path_fn", "flat_specs"]

Pack = Callable[[list], Any]
#: Called after tracing with the slots whose gradient is not connected to the score.
OnMissing = Callable[[list[int]], None]


def flat_specs(shapes: Sequence[Sequence[int | None]], dtypes: Sequence[tf.DType]) -> tuple:
    """One (None, *shape) TensorSpec per flat input."""
    return tuple(
        tf.TensorSpec((None, *shape), dtype, name=f"input_{i}")
        for i, (shape, dtype) in enumerate(zip(shapes, dtypes, strict=True))
    )


def _evaluate(
    model: Any,
    operator: Callable,
    pack: Pack,
    points: Points,
    feed: list[tf.Tensor],
    targets: tf.Tensor,
    dtype: tf.DType,
    replacements: dict[int, tf.Tensor] | None,
    missing: list[int],
) -> tuple[list[tf.Tensor], tf.Tensor]:
    """Scores and their gradients with respect to each slot (zeros where unconnected)."""
    with tf.GradientTape() as tape:
        for i in points.input_slots:
            tape.watch(feed[i])
        for tensor in (replacements or {}).values():
            tape.watch(tensor)
        with patch_outputs(points.layers, replacements, observe=tape.watch) as patched:
            scores = tf.cast(operator(model, pack(feed), targets), dtype)
        outputs = [patched.single(j, name) for j, name in enumerate(points.names)]
    sources = [
        feed[i] if kind == "input" else (replacements or {}).get(i, outputs[i])
        for kind, i in points.slots
    ]
    grads = tape.gradient(scores, sources, unconnected_gradients=tf.UnconnectedGradients.NONE)
    missing.extend(k for k, g in enumerate(grads) if g is None)
    grads = [
        tf.zeros_like(s, dtype) if g is None else tf.cast(g, dtype)
        for s, g in zip(sources, grads, strict=True)
    ]
    return grads, scores


def gradients_fn(
    model: Any,
    operator: Callable,
    pack: Pack,
    specs: tuple,
    num_outputs: int,
    dtype: tf.DType,
    points: Points,
    on_missing: OnMissing | None = None,
) -> Callable[[tuple, tf.Tensor], tuple[tuple, tf.Tensor]]:
    """Compiled ``(flat, targets) -> (gradients, one per slot, scores (n,))``."""
    missing: list[int] = []

    def gradients(flat: tuple, targets: tf.Tensor) -> tuple[tuple, tf.Tensor]:
        grads, scores = _evaluate(
            model, operator, pack, points, list(flat), targets, dtype, None, missing
        )
        return tuple(grads), scores

    target_spec = tf.TensorSpec((None, num_outputs), dtype, name="targets")
    fn = tf.function(gradients, input_signature=[specs, target_spec]).get_concrete_function()
    if missing and on_missing is not None:
        on_missing(sorted(set(missing)))
    return fn


def record_fn(
    model: Any, pack: Pack, specs: tuple, points: Points
) -> Callable[[tuple], tuple[tf.Tensor, ...]]:
    """Compiled ``flat -> (output of each layer slot (n, ...))``: one forward pass."""

    def record(flat: tuple) -> tuple[tf.Tensor, ...]:
        with patch_outputs(points.layers) as patched:
            call_model(model, pack(list(flat)))
        return tuple(patched.single(j, name) for j, name in enumerate(points.names))

    return tf.function(record, input_signature=[specs]).get_concrete_function()


def path_fn(
    model: Any,
    operator: Callable,
    pack: Pack,
    specs: tuple,
    slot_shapes: Sequence[Sequence[int | None]],
    num_outputs: int,
    dtype: tf.DType,
    points: Points,
    on_missing: OnMissing | None = None,
) -> Callable[..., tuple[tuple, tf.Tensor, tf.Tensor]]:
    """Compiled path integral of every slot, from its starts to its ends, together.

    The returned function takes ``flat`` (the inputs (n, ...), fed as they are where not a
    slot), ``starts`` (per slot (n, R, ...)), ``ends`` (per slot (n, ...)), ``targets``
    (n, K), ``alphas`` and ``weights`` (S,) of the quadrature rule and ``chunk`` (rows at
    once), and returns ``(attributions per slot (n, ...), start_scores (n,), end_scores (n,))``:
    attributions = mean over r of (e - s_r) * sum_k w_k grad f(s_r + a_k (e - s_r)); the scores
    are f at the rows where alpha is 0 (averaged over r) and 1 (zero if the rule has none).
    """
    missing: list[int] = []
    ranks = [len(shape) for shape in slot_shapes]

    def integrate(flat, starts, ends, targets, alphas, weights, chunk):
        n = tf.shape(targets)[0]
        runs = tf.shape(starts[0])[1]
        steps = tf.size(alphas)
        per_sample = runs * steps
        total = n * per_sample
        inv_runs = 1.0 / tf.cast(runs, dtype)

        def body(start, accs, start_sum, end_sum):
            rows = tf.range(start, tf.minimum(start + chunk, total))
            sample = rows // per_sample
            run = (rows // steps) % runs
            alpha = tf.gather(alphas, rows % steps)
            feed = [tf.gather(x, sample) for x in flat]
            replacements, deltas = {}, []
            for k, (kind, index) in enumerate(points.slots):
                expand = [-1] + [1] * ranks[k]
                end = tf.gather(ends[k], sample)
                base = tf.gather_nd(starts[k], tf.stack([sample, run], axis=1))
                delta = end - base
                # b + a (e - b): exactly b at a = 0, exactly e at a = 1
                at_end = tf.reshape(tf.equal(alpha, 1.0), expand)
                point = tf.where(at_end, end, base + tf.reshape(alpha, expand) * delta)
                if kind == "input":
                    feed[index] = point
                else:
                    replacements[index] = point
                deltas.append(delta)
            grads, scores = _evaluate(
                model,
                operator,
                pack,
                points,
                feed,
                tf.gather(targets, sample),
                dtype,
                replacements,
                missing,
            )
            weight = tf.gather(weights, rows % steps) * inv_runs
            accs = tuple(
                acc
                + tf.math.unsorted_segment_sum(
                    tf.reshape(weight, [-1] + [1] * ranks[k]) * deltas[k] * grads[k], sample, n
                )
                for k, acc in enumerate(accs)
            )
            scores = scores * inv_runs
            zero = tf.cast(tf.equal(alpha, 0.0), dtype)
            one = tf.cast(tf.equal(alpha, 1.0), dtype)
            start_sum += tf.math.unsorted_segment_sum(scores * zero, sample, n)
            end_sum += tf.math.unsorted_segment_sum(scores * one, sample, n)
            return start + chunk, accs, start_sum, end_sum

        zeros_n = tf.zeros([n], dtype)
        _, accs, start_sum, end_sum = tf.while_loop(
            lambda start, *_: start < total,
            body,
            (tf.constant(0), tuple(tf.zeros_like(e) for e in ends), zeros_n, zeros_n),
            parallel_iterations=1,
        )
        return accs, start_sum, end_sum

    slot_specs = [tf.TensorSpec((None, *shape), dtype) for shape in slot_shapes]
    signature = [
        specs,
        tuple(tf.TensorSpec((None, None, *s.shape[1:]), dtype) for s in slot_specs),
        tuple(slot_specs),
        tf.TensorSpec((None, num_outputs), dtype, name="targets"),
        tf.TensorSpec((None,), dtype, name="alphas"),
        tf.TensorSpec((None,), dtype, name="weights"),
        tf.TensorSpec((), tf.int32, name="chunk"),
    ]
    fn = tf.function(integrate, input_signature=signature).get_concrete_function()
    if missing and on_missing is not None:
        on_missing(sorted(set(missing)))
    return fn
