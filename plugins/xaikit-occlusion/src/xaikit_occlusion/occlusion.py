"""Occlusion (Zeiler & Fergus, 2014): how much the score drops when a patch is hidden.

Model-agnostic and gradient-free: every (sample, patch) pair is one copy of the sample with
the patch replaced by a baseline value, and the model only runs forward on those copies. The
copies are built inside one compiled ``tf.while_loop``, ``batch_size`` rows at a time, so
memory is O(batch_size x sample size) whatever the number of patches.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
import tensorflow as tf

from xaikit import BatchResult, Capabilities, Explainer
from xaikit.errors import InputError
from xaikit.explainer import as_flat
from xaikit.structure import input_specs

from .structured import float_dtype, hidden_mask, structured_occlusion_fn
from .windows import Windows, windows

__all__ = ["Occlusion"]


def _check_one_size(value: Any, name: str) -> None:
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
            f"{name}: expected None, an integer >= 1 or a tuple of them (or a dict of those by "
            f"input name), got {value!r}"
        )


def _check_sizes(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, one in value.items():
            _check_one_size(one, f"{attribute.name}[{key!r}]")
    else:
        _check_one_size(value, attribute.name)


def _one_size(value: Any) -> Any:
    return value if value is None or isinstance(value, (int, np.integer, str)) else tuple(value)


def _sizes(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _one_size(one) for key, one in value.items()}
    return _one_size(value)


def _check_baseline(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if isinstance(value, Mapping):
        for one in value.values():
            _check_baseline(instance, attribute, one)
        return
    array = np.asarray(value)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise InputError(f"baseline: expected a number or an array, got {type(value).__name__}")
    if not np.all(np.isfinite(array)):
        raise InputError("baseline: expected finite values, got NaN or inf")


def _check_baseline_id(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InputError(f"baseline_id: expected an integer id >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class Occlusion(Explainer):
    """Occlusion: the mean drop of the explained score over the patches hiding each element.

    For each sample and each patch position, the patch is replaced by ``baseline`` and the
    model is run; element e gets ``mean over patches p covering e of f(x) - f(x with p
    hidden)``. Works on any model: tables (N, F), sequences (N, T, C), images (N, H, W, C).

    A model of several inputs (a list or dict of inputs) is occluded one input at a time:
    the patches slide over each input in turn while the other inputs keep their values, so
    element e of input i gets the mean drop over the patches of input i covering it. The
    attributions mirror the inputs' structure. Inputs of integer ids (tokens, categories)
    are occluded per position, each id replaced by ``baseline_id`` (the padding id 0 by
    default): the drop says how much the prediction relies on that token being there.

    Args:
        patch: patch size along the window axes: the features of a table, the time axis of a
            sequence, the height and width of an image. An int applies to every window axis;
            a tuple gives one size per window axis, or one per sample axis to slide over
            channels too (otherwise a patch hides all channels). None (default): 1 feature
            for tables, an eighth of each window axis (at least 1) for sequences and images.
            With several inputs an int, tuple or None applies to every float input, and a
            dict by input name gives each its own (inputs it leaves out take None). Id inputs
            take patches of 1 (one position; None means that too), unless the dict names them
            or the model has no other input.
        stride: step between patches, same forms as ``patch``, at most the patch size (so
            every element is hidden by some patch); None (default): the patch size. The last
            patch along an axis is always flush with its end.
        baseline: value put in the hidden patch of float inputs: a number (default 0.0) or an
            array of one sample's shape (or broadcastable to it); with several inputs a
            number for all float inputs or a dict by input name (left out: 0.0).
        baseline_id: the id put in place of hidden ids in integer inputs. Default 0.
        batch_size: occluded copies evaluated at once (bounds memory).
        operator, reducer, strategy, output: see :class:`xaikit.Explainer`.

    Attributions have the inputs' shape; with a patch that hides all channels, every channel
    of an element holds the same value (a reducer such as 'mean' folds them).
    """

    name = "occlusion"
    capabilities: ClassVar[Capabilities] = Capabilities(multi_input=True)

    patch: int | tuple[int, ...] | Mapping[str, Any] | None = attrs.field(
        default=None, converter=_sizes, validator=_check_sizes
    )
    stride: int | tuple[int, ...] | Mapping[str, Any] | None = attrs.field(
        default=None, converter=_sizes, validator=_check_sizes
    )
    baseline: Any = attrs.field(default=0.0, validator=_check_baseline, eq=False)
    baseline_id: int = attrs.field(default=0, validator=_check_baseline_id)

    def explain_batch(self, inputs: Any, targets: tf.Tensor) -> BatchResult:
        """Occlusion attributions of n samples: (n, ...) for one input, else a tuple of them
        (one per input, model input order)."""
        flat = as_flat(inputs)
        names = self._input_names(len(flat))
        plans = [self._plan(x, names, i) for i, x in enumerate(flat)]
        if len(flat) == 1:
            found, baseline = plans[0]
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
            return BatchResult(total / tf.constant(found.counts, total.dtype), scores=scores)
        axes_of = tuple(len(found.sizes) for found, _ in plans)
        build = functools.partial(structured_occlusion_fn, axes=axes_of)
        kernel = self.compiled(f"occlusion/{axes_of}", build, inputs, targets)
        totals, scores = kernel(
            tuple(flat),
            targets,
            tuple(tf.constant(found.starts) for found, _ in plans),
            tuple(tf.constant(found.sizes) for found, _ in plans),
            tuple(baseline for _, baseline in plans),
            tf.constant(self.batch_size, tf.int32),
        )
        attributions = tuple(
            total / tf.constant(found.counts, total.dtype)
            for total, (found, _) in zip(totals, plans, strict=True)
        )
        return BatchResult(attributions, scores=scores)

    def _input_names(self, count: int) -> list[str]:
        specs = input_specs(self.model)
        if specs is not None and len(specs) == count:
            names = [spec.name for spec in specs]
        else:
            names = [f"input_{i}" for i in range(count)]
        for label, option in (
            ("patch", self.patch),
            ("stride", self.stride),
            ("baseline", self.baseline),
        ):
            unknown = (
                [str(k) for k in option if k not in names] if isinstance(option, Mapping) else []
            )
            if unknown:
                raise InputError(
                    f"{label}: expected input names among {', '.join(map(repr, names))}, got "
                    f"unknown {', '.join(map(repr, unknown))}"
                )
        return names

    def _plan(self, x: tf.Tensor, names: list[str], index: int) -> tuple[Windows, tf.Tensor]:
        """The patches of input ``index`` and the value hiding them (one sample's shape)."""
        shape = tuple(int(d) for d in x.shape[1:])
        name, several = names[index], len(names) > 1
        integer = x.dtype.is_integer or x.dtype == tf.bool
        shared = not integer or not several  # a shared size fits float inputs, or one input
        patch = self._option(self.patch, name, shared, 1 if integer else None)
        stride = self._option(self.stride, name, shared, None)
        try:
            found = windows(shape, patch, stride)
        except InputError as error:
            if not several:
                raise
            raise InputError(f"{error} (input {name!r})") from None
        if integer:
            return found, tf.fill(shape, tf.constant(self.baseline_id, x.dtype))
        value = (
            self.baseline.get(name, 0.0) if isinstance(self.baseline, Mapping) else self.baseline
        )
        where = f"baseline[{name!r}]" if isinstance(self.baseline, Mapping) else "baseline"
        return found, self._baseline(shape, x.dtype, value, where)

    @staticmethod
    def _option(value: Any, name: str, shared: bool, default: Any) -> Any:
        """An option for one input: its dict entry, else the shared value where it applies
        (``shared``), else ``default`` (id inputs: one position at a time)."""
        if isinstance(value, Mapping):
            return value.get(name, default)
        return value if shared and value is not None else default

    @staticmethod
    def _baseline(shape: tuple[int, ...], dtype: tf.DType, value: Any, where: str) -> tf.Tensor:
        array = np.asarray(value)
        try:
            full = np.broadcast_to(array, shape)
        except ValueError:
            raise InputError(
                f"{where}: expected a number or an array broadcastable to one sample's shape "
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
    fdtype = float_dtype([dtype])  # ids (a token model) give float32 attributions

    def hidden(starts: tf.Tensor, sizes: tf.Tensor) -> tf.Tensor:
        """(rows, ...) True where each row's patch lies (broadcast over trailing axes)."""
        return hidden_mask(sample_shape, axes, starts, sizes)

    def occlude(inputs, targets, starts, sizes, baseline, chunk):
        n = tf.shape(inputs)[0]
        patches = tf.shape(starts)[0]
        total_rows = n * patches
        scores = tf.cast(operator(model, inputs, targets), fdtype)

        def body(first, totals):
            rows = tf.range(first, tf.minimum(first + chunk, total_rows))
            sample = rows // patches
            mask = hidden(tf.gather(starts, rows % patches), sizes)
            copies = tf.where(mask, baseline, tf.gather(inputs, sample))
            hidden_scores = operator(model, copies, tf.gather(targets, sample))
            drop = tf.gather(scores, sample) - tf.cast(hidden_scores, fdtype)
            weighted = tf.reshape(drop, [-1] + [1] * rank) * tf.cast(mask, fdtype)
            return first + chunk, totals + tf.math.unsorted_segment_sum(weighted, sample, n)

        _, totals = tf.while_loop(
            lambda first, _: first < total_rows,
            body,
            (tf.constant(0), tf.zeros(tf.shape(inputs), fdtype)),
            parallel_iterations=1,
        )
        return totals, scores

    specs = [
        tf.TensorSpec((None, *sample_shape), dtype, name="inputs"),
        tf.TensorSpec((None, outputs), fdtype, name="targets"),
        tf.TensorSpec((None, axes), tf.int32, name="starts"),
        tf.TensorSpec((axes,), tf.int32, name="sizes"),
        tf.TensorSpec(tuple(sample_shape), dtype, name="baseline"),
        tf.TensorSpec((), tf.int32, name="chunk"),
    ]
    return tf.function(occlude, input_signature=specs).get_concrete_function()
