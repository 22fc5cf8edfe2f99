"""Saliency: the gradient of the explained score with respect to the inputs."""

from __future__ import annotations

import attrs
import tensorflow as tf

from ..explainer import BatchResult, Explainer, reducer_field
from ..validators import boolean

__all__ = ["Saliency"]


@attrs.frozen(kw_only=True)
class Saliency(Explainer):
    """Vanilla gradients (Simonyan et al., 2014).

    Attributions are ``|d score / d x|`` reduced by their largest channel, the classic
    saliency map. Set ``absolute=False`` for signed gradients and ``reducer=None`` to keep
    every channel. (Tabular inputs have no channel axis and keep their shape.)

    Args:
        absolute: take the absolute value of the gradients (default True).
        reducer: channel reducer, default 'max'.
    """

    name = "saliency"

    reducer: str | None = reducer_field("max")
    absolute: bool = attrs.field(default=True, validator=boolean)

    def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> BatchResult:
        grads, scores = self.gradients(inputs, targets)
        return BatchResult(tf.abs(grads) if self.absolute else grads, scores=scores)
