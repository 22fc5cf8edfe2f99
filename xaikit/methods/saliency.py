"""Saliency: the gradient of the explained score with respect to the inputs."""

from __future__ import annotations

import attrs
import tensorflow as tf

from ..explainer import BatchResult, as_flat, reducer_field
from ..validators import boolean
from .gradient import GradientMethod

__all__ = ["Saliency"]


@attrs.frozen(kw_only=True)
class Saliency(GradientMethod):
    """Vanilla gradients (Simonyan et al., 2014).

    Attributions are ``|d score / d x|`` reduced by their largest channel, the classic
    saliency map. Set ``absolute=False`` for signed gradients and ``reducer=None`` to keep
    every channel. (Tabular inputs have no channel axis and keep their shape.)

    Args:
        absolute: take the absolute value of the gradients (default True).
        reducer: channel reducer, default 'max'.
        layer: attribute to a layer's output instead of the inputs (a name or path), or
            some inputs at their layer ({input name: layer name}); see
            :class:`~xaikit.methods.gradient.GradientMethod`.
    """

    name = "saliency"

    reducer: str | None = reducer_field("max")
    absolute: bool = attrs.field(default=True, validator=boolean)

    def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> BatchResult:
        grads, scores = self.point_gradients(inputs, targets)
        grads = [tf.abs(g) if self.absolute else g for g in grads]
        return BatchResult(self.pack_slots(grads, len(as_flat(inputs))), scores=scores)
