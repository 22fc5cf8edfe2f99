"""Occlusion (Zeiler & Fergus, 2014): how much the score drops when a patch is hidden.

Model-agnostic and gradient-free: every (sample, patch) pair is one copy of the sample with
the patch replaced by a baseline value, and the model only runs forward on those copies. The
copies are built inside one compiled ``tf.while_loop``, ``batch_size`` rows at a time, so
memory is O(batch_size x sample size) whatever the number of patches.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import tensorflow as tf

from xaikit import BatchResult, Explainer
from xaikit.errors import InputError

from .windows import windows

__all__ = ["Occlusion"]


def _check_sizes(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is None:
        return
    values = (value,) if isinstance(value, (int, np.integer)) else value
    try:
        ok = len(values) > 0 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in values
        )
    except TypeError:
        ok = False
    if not ok:
        raise InputError(
            f"{attribute.name}: expected None, an integer >= 1 or a tuple of them, got {value!r}"
        )


def _sizes(value: Any) -> Any:
    return value if value is None or isinstance(value, (int, np.integer)) else tuple(value)


def _check_baseline(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    array = np.asarray(value)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise InputError(f"baseline: expected a number or an array, got {type(value).__name__}")
    if not np.all(np.isfinite(array)):
        raise InputError("baseline: expected finite values, got NaN or inf")


@attrs.frozen(kw_only=True)
class Occlusion(Explainer):
    """Occlusion: the mean drop of the explained score over the patches hiding each element.

    For each sample and each patch position, the patch is replaced by ``baseline`` and the
    model is run; element e gets ``mean over patches p covering e of f(x) - f(x with p
    hidden)``. Works on any model: tables (N, F), sequences (N, T, C), images (N, H, W, C).

    Args:
        patch: patch size along the window axes: the features of a table, the time axis of a
            sequence, the height and width of an image. An int applies to every window axis;
            a tuple gives one size per window axis, or one per sample axis to slide over
            channels too (otherwise a patch hides all channels). None (default): 1 feature
            for tables, an eighth of each window axis (at least 1) for sequences and images.
        stride: step between patches, same forms as ``patch``, at most the patch size (so
            every element is hidden by some patch); None (default): the patch size. The last
            patch along an axis is always flush with its end.
        baseline: value put in the hidden patch: a number (default 0.0) or an array of one
            sample's shape (or broadcastable to it).
        batch_size: occluded copies evaluated at once (bounds memory).
        operator, reducer, strategy: see :class:`xaikit.Explainer`.

    Attributions have the inputs' shape; with a patch that hides all channels, every channel
    of an element holds the same value (a reducer such as 'mean' folds them).
    """

    name = "occlusion"

    patch: int | tuple[int, ...] | None = attrs.field(
        default=None, converter=_sizes, validator=_check_sizes
    )
    stride: int | tuple[int, ...] | None = attrs.field(
        default=None, converter=_sizes, validator=_check_sizes
    )
    baseline: Any = attrs.field(default=0.0, validator=_check_baseline, eq=False)

    def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> BatchResult:
        """Occlusion attributions (n, ...) of n samples."""
        shape = tuple(int(d) for d in inputs.shape[1:])
        found = windows(shape, self.patch, self.stride)
        baseline = self._baseline(shape, inputs.dtype)
        axes = len(found.sizes)
        build = functools.partial(occlusion_fn, axes=axes)
        kernel = self.compiled(f"occlusion/{axes}", build, inputs, targets)
        total, scores = kernel(
            inputs,
            targets,
            tf.constant(found.starts),
            tf.constant(found.sizes),
            baseline,
            tf.constant(self.batch_size, tf.int32),
        )
        return BatchResult(total / tf.constant(found.counts, inputs.dtype), scores=scores)

    def _baseline(self, shape: tuple[int, ...], dtype: tf.DType) -> tf.Tensor:
        array = np.asarray(self.baseline)
        try:
            full = np.broadcast_to(array, shape)
        except ValueError:
            raise InputError(
                f"baseline: expected a number or an array broadcastable to one sample's shape "
                f"{shape}, got shape {array.shape}"
            ) from None
        return tf.constant(full, dtype)


def occlusion_fn(
    model: Any, operator: Any, sample_shape: Sequence[int], outputs: int, dtype: tf.DType, axes: int
) -> Any:
    """Compiled sum of score drops over the patches covering each element.

    The returned function takes ``inputs`` (n, ...), ``targets`` (n, K), ``starts`` (P, A),
    ``sizes`` (A,), ``baseline`` (one sample) and ``chunk`` (rows at once), and returns
    ``(totals (n, ...), scores (n,))`` with ``totals[i, e] = sum over patches p covering e of
    f(x_i) - f(x_i with p hidden)`` and ``scores`` the operator's scores of the inputs.
    """
    rank = len(sample_shape)

    def hidden(starts: tf.Tensor, sizes: tf.Tensor) -> tf.Tensor:
        """(rows, ...) True where each row's patch lies (broadcast over trailing axes)."""
        mask = tf.ones([tf.shape(starts)[0]] + [1] * rank, tf.bool)
        for axis in range(axes):
            index = tf.range(sample_shape[axis])[None, :]
            start = starts[:, axis : axis + 1]
            inside = (index >= start) & (index < start + sizes[axis])
            view = [-1] + [1] * rank
            view[axis + 1] = sample_shape[axis]
            mask = mask & tf.reshape(inside, view)
        return mask

    def occlude(inputs, targets, starts, sizes, baseline, chunk):
        n = tf.shape(inputs)[0]
        patches = tf.shape(starts)[0]
        total_rows = n * patches
        scores = operator(model, inputs, targets)

        def body(first, totals):
            rows = tf.range(first, tf.minimum(first + chunk, total_rows))
            sample = rows // patches
            mask = hidden(tf.gather(starts, rows % patches), sizes)
            copies = tf.where(mask, baseline, tf.gather(inputs, sample))
            drop = tf.gather(scores, sample) - operator(model, copies, tf.gather(targets, sample))
            weighted = tf.reshape(drop, [-1] + [1] * rank) * tf.cast(mask, dtype)
            return first + chunk, totals + tf.math.unsorted_segment_sum(weighted, sample, n)

        _, totals = tf.while_loop(
            lambda first, _: first < total_rows,
            body,
            (tf.constant(0), tf.zeros_like(inputs)),
            parallel_iterations=1,
        )
        return totals, scores

    specs = [
        tf.TensorSpec((None, *sample_shape), dtype, name="inputs"),
        tf.TensorSpec((None, outputs), dtype, name="targets"),
        tf.TensorSpec((None, axes), tf.int32, name="starts"),
        tf.TensorSpec((axes,), tf.int32, name="sizes"),
        tf.TensorSpec(tuple(sample_shape), dtype, name="baseline"),
        tf.TensorSpec((), tf.int32, name="chunk"),
    ]
    return tf.function(occlude, input_signature=specs).get_concrete_function()
