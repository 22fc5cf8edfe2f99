"""One chunk as a method's ``explain_batch`` sees and returns it: the inputs flat
(:func:`as_flat`: one tensor, or a tuple of them in the model's input order), the
:class:`BatchResult` it may return, and the check of its attributions against its inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs
import tensorflow as tf

if TYPE_CHECKING:
    from .explainer import Explainer

__all__ = ["BatchResult", "as_flat", "checked_attributions"]


def as_flat(inputs: Any) -> list[Any]:
    """What ``explain_batch`` sees, as a flat list: ``[x]`` for one tensor, else the tuple's
    items (the model's inputs in order)."""
    return list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]


def _unflat(flat: Sequence[Any]) -> Any:
    """The flat inputs as ``explain_batch`` sees them: one tensor, or a tuple of them."""
    return flat[0] if len(flat) == 1 else tuple(flat)


@attrs.frozen
class BatchResult:
    """What a method's ``explain_batch`` may return instead of a bare attributions tensor.

    Attributes:
        attributions: (n, ...) attributions, the inputs' shape.
        scores: (n,) operator scores at the inputs, when the method computed them anyway
            (saves the base class a forward pass).
        baseline_scores: (n,) mean operator score at the baselines, for path methods; makes
            the Explanation carry a ``convergence_delta``.
    """

    attributions: tf.Tensor
    scores: tf.Tensor | None = None
    baseline_scores: tf.Tensor | None = None


def checked_attributions(explainer: Explainer, inputs: Any, attributions: Any) -> Any:
    """The attributions as tensors, after checking their form against the inputs'
    (a TypeError naming the explainer's class when they do not fit)."""
    flat_in = as_flat(inputs)
    if isinstance(attributions, (tuple, list)):
        got = tuple(tf.convert_to_tensor(a) for a in attributions)
    else:
        got = tf.convert_to_tensor(attributions)
    flat_got = as_flat(got)
    n = int(flat_in[0].shape[0])
    name = type(explainer).__name__
    if explainer.attributes_inputs():
        expected = [tuple(x.shape) for x in flat_in]
        shapes = [tuple(a.shape) for a in flat_got]
        if shapes != expected or isinstance(got, tuple) != isinstance(inputs, tuple):
            want = expected[0] if len(expected) == 1 else tuple(expected)
            have = shapes[0] if not isinstance(got, tuple) else tuple(shapes)
            raise TypeError(
                f"{name}.explain_batch() must return attributions of the inputs' shape "
                f"{want}, got {have}"
            )
    elif any(a.shape.rank == 0 or int(a.shape[0]) != n for a in flat_got):
        raise TypeError(
            f"{name}.explain_batch() must return attributions with {n} rows, got shapes "
            f"{[tuple(a.shape) for a in flat_got]}"
        )
    return got
