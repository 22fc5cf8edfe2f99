"""xaikit.testing.check_explainer passes on the built-ins and fails on broken explainers."""

from __future__ import annotations

import attrs
import keras
import pytest
import tensorflow as tf

import xaikit
from xaikit.testing import check_explainer, checks, parametrize_with_checks


@parametrize_with_checks(xaikit.list_methods())
def test_every_registered_method_conforms_by_name(check):
    check()


@pytest.mark.parametrize(
    "method",
    [
        xaikit.Saliency,
        xaikit.GuidedBackprop,
        xaikit.IntegratedGradients,
        xaikit.RandomBaselineIG,
        lambda model: xaikit.IntegratedGradients(model, steps=8, rule="gauss_legendre"),
    ],
    ids=["saliency", "guided_backprop", "integrated_gradients", "random_baseline_ig", "factory"],
)
def test_builtins_conform_by_class(method):
    check_explainer(method)


def test_a_stochastic_method_is_seeded_through_its_declared_field():
    built = []

    def factory(model):
        built.append(xaikit.RandomBaselineIG(model))
        return built[-1]

    factory.capabilities = xaikit.RandomBaselineIG.capabilities
    check = next(c for c in checks(factory, kinds=["tabular"]) if c.name == "check_deterministic")
    check()
    assert built and built[0].seed is None  # the factory left it unseeded; the suite seeded it


def test_check_ids_name_method_kind_and_check():
    ids = [check.id for check in checks("gradcam")]
    assert "gradcam-image-check_deterministic" in ids
    assert ids.count("gradcam-tabular-check_refuses_undeclared_data") == 1
    assert not any(i.startswith("gradcam-tabular-check_deterministic") for i in ids)


def test_structured_models_run_for_the_methods_that_declare_them():
    saliency = {check.kind for check in checks("saliency")}
    assert {"two_inputs", "tokens"} <= saliency  # multi_input and layers declared
    gradcam = [check for check in checks("gradcam") if check.kind == "two_inputs"]
    assert [check.name for check in gradcam] == ["check_refuses_several_inputs"]
    assert not any(check.kind == "tokens" for check in checks("gradcam"))


def test_a_bare_factory_is_not_held_to_the_structured_models():
    kinds = {check.kind for check in checks(lambda model: xaikit.Saliency(model))}
    assert kinds == {"tabular", "sequence", "image"}


def test_unknown_method_name_lists_the_known_ones():
    with pytest.raises(xaikit.UnknownNameError, match="saliency"):
        check_explainer("no_such_method")


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


class ClaimsImagesOnly(xaikit.Saliency):
    """Declares images only but never refuses other data (overrides the refusal)."""

    capabilities = xaikit.Capabilities(data=("image",))

    def check_data(self, sample_shape, where="inputs"):
        return None


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (NormalizedPerChunk, r"(?s)\[check_batch_size_invariance on tabular\].*batch_size=1"),
        (Noisy, r"\[check_deterministic on tabular\]"),
        (LeavesModelChanged, r"(?s)\[check_model_unchanged on tabular\].*activations changed"),
        (WrongScores, r"(?s)\[check_scores_are_explained_outputs on tabular\].*explained outputs"),
        (ClaimsImagesOnly, r"\[check_refuses_undeclared_data on tabular\]"),
    ],
)
def test_check_explainer_fails_on_a_broken_explainer_naming_the_check(broken, message):
    with pytest.raises(AssertionError, match=message):
        check_explainer(broken, kinds=("tabular",))
