"""Occlusion of a model of several inputs: patches slid over each input in turn.

Every (sample, patch) pair is one row, the patches of all inputs numbered end to end (those
of the first input, then those of the second, ...). A row hides one patch of one input and
keeps the other inputs as they are. All rows run in one compiled ``tf.while_loop``,
``batch_size`` at a time, so memory stays O(batch_size x sample size) and chunks stay full
across the inputs' boundaries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf

__all__ = ["hidden_mask", "float_dtype", "structured_occlusion_fn"]


def float_dtype(dtypes: Sequence[Any]) -> tf.DType:
    """The dtype of targets, scores and attributions: the first float input's, else float32
    (a model of integer ids alone)."""
    floats = [tf.as_dtype(d) for d in dtypes if tf.as_dtype(d).is_floating]
    return floats[0] if floats else tf.float32


def hidden_mask(
    sample_shape: Sequence[int], axes: int, starts: tf.Tensor, sizes: tf.Tensor
) -> tf.Tensor:
    """(rows, ...) True where each row's patch lies; axes after the ``axes`` window axes
    have length 1 (a patch hides all channels of the positions it covers).

    Args:
        sample_shape: one sample's shape.
        axes: how many leading sample axes the patches slide along.
        starts: (rows, axes) int32 start of each row's patch.
        sizes: (axes,) int32 patch size.
    """
    rank = len(sample_shape)
    mask = tf.ones([tf.shape(starts)[0]] + [1] * rank, tf.bool)
    for axis in range(axes):
        index = tf.range(sample_shape[axis])[None, :]
        start = starts[:, axis : axis + 1]
        inside = (index >= start) & (index < start + sizes[axis])
        view = [-1] + [1] * rank
        view[axis + 1] = sample_shape[axis]
        mask = mask & tf.reshape(inside, view)
    return mask


def structured_occlusion_fn(
    model: Any,
    operator: Callable[..., tf.Tensor],
    sample_shapes: Sequence[Sequence[int]],
    outputs: int,
    dtypes: Sequence[tf.DType],
    axes: Sequence[int],
) -> Any:
    """Compiled sums of score drops over the patches covering each element of each input.

    The returned function takes ``inputs`` (a tuple of (n, ...) tensors, model input order),
    ``targets`` (n, K), per input ``starts`` (P_i, A_i), ``sizes`` (A_i,) and ``baselines``
    (one sample of the input's dtype: a value or an id), and ``chunk`` (rows at once). It
    returns ``(totals, scores (n,))``: ``totals[i]`` (n, ...) of input i's shape, in the float
    dtype, with ``totals[i][s, e] = sum over patches p of input i covering e of f(x_s) -
    f(x_s with p hidden in input i)``.
    """
    count = len(sample_shapes)
    fdtype = float_dtype(dtypes)
    ranks = [len(shape) for shape in sample_shapes]

    def occlude(inputs, targets, starts, sizes, baselines, chunk):
        n = tf.shape(inputs[0])[0]
        patches = [tf.shape(s)[0] for s in starts]
        bounds = [tf.constant(0)]
        for p in patches:
            bounds.append(bounds[-1] + p)
        per_sample = bounds[-1]
        total_rows = n * per_sample
        scores = tf.cast(operator(model, inputs, targets), fdtype)

        def body(first, totals):
            rows = tf.range(first, tf.minimum(first + chunk, total_rows))
            sample, patch = rows // per_sample, rows % per_sample
            copies, masks = [], []
            for i in range(count):
                local = patch - bounds[i]
                inside = (local >= 0) & (local < patches[i])
                chosen = tf.gather(starts[i], tf.clip_by_value(local, 0, patches[i] - 1))
                mask = hidden_mask(sample_shapes[i], axes[i], chosen, sizes[i])
                mask = mask & tf.reshape(inside, [-1] + [1] * ranks[i])
                copies.append(tf.where(mask, baselines[i], tf.gather(inputs[i], sample)))
                masks.append(mask)
            hidden = tf.cast(operator(model, tuple(copies), tf.gather(targets, sample)), fdtype)
            drop = tf.gather(scores, sample) - hidden
            new = tuple(
                total
                + tf.math.unsorted_segment_sum(
                    tf.reshape(drop, [-1] + [1] * rank) * tf.cast(mask, fdtype), sample, n
                )
                for total, mask, rank in zip(totals, masks, ranks, strict=True)
            )
            return first + chunk, new

        start = tuple(tf.zeros(tf.shape(x), fdtype) for x in inputs)
        _, totals = tf.while_loop(
            lambda first, _: first < total_rows,
            body,
            (tf.constant(0), start),
            parallel_iterations=1,
        )
        return totals, scores

    specs = [
        tuple(
            tf.TensorSpec((None, *shape), dtype, name=f"input_{i}")
            for i, (shape, dtype) in enumerate(zip(sample_shapes, dtypes, strict=True))
        ),
        tf.TensorSpec((None, outputs), fdtype, name="targets"),
        tuple(tf.TensorSpec((None, a), tf.int32, name=f"starts_{i}") for i, a in enumerate(axes)),
        tuple(tf.TensorSpec((a,), tf.int32, name=f"sizes_{i}") for i, a in enumerate(axes)),
        tuple(
            tf.TensorSpec(tuple(shape), dtype, name=f"baseline_{i}")
            for i, (shape, dtype) in enumerate(zip(sample_shapes, dtypes, strict=True))
        ),
        tf.TensorSpec((), tf.int32, name="chunk"),
    ]
    return tf.function(occlude, input_signature=specs).get_concrete_function()
