"""xaikit.testing.check_explainer passes on the built-ins and fails on broken explainers."""

from __future__ import annotations

import attrs
import keras
import pytest
import tensorflow as tf

import xaikit
from xaikit.testing import check_explainer


@pytest.mark.parametrize(
    "factory",
    [
        xaikit.Saliency,
        xaikit.GuidedBackprop,
        xaikit.IntegratedGradients,
        lambda model: xaikit.RandomBaselineIG(model, seed=0),
    ],
    ids=["saliency", "guided_backprop", "integrated_gradients", "random_baseline_ig"],
)
def test_builtins_conform(factory):
    check_explainer(factory)


# --------------------------------------------------------------------------- broken on purpose
@attrs.frozen(kw_only=True)
class NormalizedPerChunk(xaikit.Saliency):
    """Scales each chunk by its own maximum: results depend on batch_size."""

    def explain_batch(self, inputs, targets):
        grads, _ = self.gradients(inputs, targets)
        return grads / tf.reduce_max(tf.abs(grads))


@attrs.frozen(kw_only=True)
class Noisy(xaikit.Saliency):
    """Adds unseeded noise: not deterministic."""

    def explain_batch(self, inputs, targets):
        grads, scores = self.gradients(inputs, targets)
        return grads + tf.random.normal(tf.shape(grads), dtype=grads.dtype)


@attrs.frozen(kw_only=True)
class LeavesModelChanged(xaikit.Saliency):
    """Wraps each ReLU activation and forgets to put it back (outputs stay the same, so
    only the check that the model's activations are unchanged can see it)."""

    def explain_batch(self, inputs, targets):
        for layer in self.model.layers:
            if getattr(layer, "activation", None) is keras.activations.relu:
                layer.activation = lambda x, relu=layer.activation: relu(x)
        return super().explain_batch(inputs, targets)


@attrs.frozen(kw_only=True)
class WrongScores(xaikit.Saliency):
    """Reports the scores of another output than the one explained."""

    def explain_batch(self, inputs, targets):
        grads, scores = self.gradients(inputs, targets)
        return xaikit.BatchResult(grads, scores=scores * 0.5)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (NormalizedPerChunk, "batch_size=1 changed it"),
        (Noisy, "deterministic"),
        (LeavesModelChanged, "activations changed"),
        (WrongScores, "scores must be the explained outputs"),
    ],
)
def test_check_explainer_fails_on_a_broken_explainer(broken, message):
    with pytest.raises(AssertionError, match=message):
        check_explainer(broken, kinds=("tabular",))
