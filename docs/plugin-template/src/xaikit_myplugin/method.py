"""Input x gradient: the gradient of the explained score times the input."""

from __future__ import annotations

import attrs
import tensorflow as tf

from xaikit import BatchResult, Explainer

__all__ = ["InputXGradient"]


@attrs.frozen(kw_only=True)
class InputXGradient(Explainer):
    """Input x gradient (Shrikumar et al., 2016): ``x * d score / d x``.

    Args:
        model: a Keras model (the only positional argument).
        batch_size, operator, reducer, strategy: see :class:`xaikit.Explainer`.

    Attributions have the inputs' shape (signed; no reducer by default).
    """

    #: Recorded in ``Explanation.method``; use the name you register the class under.
    name = "input_x_gradient"

    def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> BatchResult:
        """Attributions (n, ...) for inputs (n, ...) and target weights (n, K)."""
        grads, scores = self.gradients(inputs, targets)  # xaikit's compiled kernel
        return BatchResult(inputs * grads, scores=scores)
