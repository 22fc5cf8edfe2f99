"""A user subclass implements one hook and gets batching, targets, operators, reducers and
registration for free; the README's own example is run as written."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import attrs
import numpy as np
import pytest
import tensorflow as tf
from _models_api import classifier, data, one_hot, reference_gradients

import xaikit
from xaikit.registry import Registry, use_registry

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_example() -> str:
    """The first python block under the README's "Writing your own method" heading."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Writing your own method", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert match, "README: no python example under 'Writing your own method'"
    return match.group(1)


@pytest.fixture
def isolated() -> Iterator[Registry]:
    with use_registry(Registry(autoload=False)) as registry:
        yield registry


def test_readme_example_runs_as_written(isolated):
    model, x = classifier("image"), data("image", n=4, seed=10)
    namespace = {"model": model, "x": x, "__name__": "readme_example"}
    exec(compile(_readme_example(), str(README), "exec"), namespace)  # noqa: S102

    explanation = namespace["explanation"]
    top = np.asarray(model(x)).argmax(axis=1)
    expected = reference_gradients(model, x, one_hot(top)) * x
    np.testing.assert_allclose(explanation.attributions, expected, rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(explanation.targets, top)
    assert explanation.method == "gradient_x_input"
    assert "gradient_x_input" in xaikit.list_methods()


@attrs.frozen(kw_only=True)
class GradientXInput(xaikit.Explainer):
    """Gradient x input: the smallest possible method."""

    def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        grads, _ = self.gradients(inputs, targets)
        return grads * inputs


def test_subclass_gets_batching_targets_operators_and_reducers():
    model, x = classifier("sequence"), data("sequence", n=5, seed=11)
    targets = np.array([2, 0, 1, 1, 2])
    expected = reference_gradients(model, x, one_hot(targets)) * x

    whole = GradientXInput(model).explain(x, targets)
    np.testing.assert_allclose(whole.attributions, expected, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(whole.scores, np.asarray(model(x))[np.arange(5), targets], rtol=1e-5)
    assert whole.method == "GradientXInput" and whole.convergence_delta is None

    for batch_size in (1, 2):  # batching
        chunked = GradientXInput(model, batch_size=batch_size).explain(x, targets)
        np.testing.assert_allclose(chunked.attributions, expected, rtol=1e-5, atol=1e-8)
    dataset = tf.data.Dataset.from_tensor_slices((x, one_hot(targets))).batch(2)  # targets
    np.testing.assert_allclose(
        GradientXInput(model).explain(dataset).attributions, expected, rtol=1e-5, atol=1e-8
    )
    summed = GradientXInput(model, reducer="sum").explain(x, targets)  # reducers
    np.testing.assert_allclose(summed.attributions, expected.sum(-1), rtol=1e-5, atol=1e-8)

    logit = GradientXInput(model, operator="logits").explain(x, targets)  # operators
    logit_grads = xaikit.Saliency(model, operator="logits", absolute=False, reducer=None)
    np.testing.assert_allclose(
        logit.attributions, logit_grads.explain(x, targets).attributions * x, rtol=1e-5, atol=1e-8
    )
    assert not np.allclose(logit.attributions, expected, rtol=1e-3)


def test_subclass_registers_and_passes_the_conformance_suite(isolated):
    xaikit.register_method("gxi")(GradientXInput)
    try:
        assert "gxi" in xaikit.list_methods()
        explainer = xaikit.get_explainer("gxi", classifier("tabular"), batch_size=2)
        assert isinstance(explainer, GradientXInput) and explainer.batch_size == 2
        xaikit.testing.check_explainer(GradientXInput, kinds=("tabular",))
    finally:
        GradientXInput.name = None  # the decorator recorded the registered name on the class


@attrs.frozen(kw_only=True)
class ShiftedGradient(xaikit.Explainer):
    """Uses the optional prepare() hook and returns a BatchResult."""

    shift: float = 0.5

    def prepare(self, inputs: np.ndarray, targets: np.ndarray) -> Mapping[str, np.ndarray]:
        return {"reference": np.full_like(inputs, self.shift)}

    def explain_batch(
        self, inputs: tf.Tensor, targets: tf.Tensor, reference: tf.Tensor
    ) -> xaikit.BatchResult:
        grads, scores = self.gradients(inputs, targets)
        return xaikit.BatchResult(grads * (inputs - reference), scores=scores)


def test_prepare_extras_are_chunked_with_the_inputs():
    model, x = classifier("tabular"), data("tabular", n=5, seed=12)
    expected = reference_gradients(model, x, one_hot([1] * 5)) * (x - 0.5)
    for batch_size in (2, 5):
        got = ShiftedGradient(model, batch_size=batch_size).explain(x, 1)
        np.testing.assert_allclose(got.attributions, expected, rtol=1e-5, atol=1e-8)
    assert got.params["shift"] == 0.5 and got.params["batch_size"] == 5
    assert got.params["operator"] == "classification" and "model" not in got.params


def test_subclass_mistakes_are_reported():
    with pytest.raises(TypeError, match="abstract"):
        xaikit.Explainer(classifier("tabular"))  # explain_batch is not implemented

    @attrs.frozen(kw_only=True)
    class WrongShape(xaikit.Explainer):
        def explain_batch(self, inputs, targets):
            return inputs[:, :2]

    with pytest.raises(TypeError, match=r"WrongShape.explain_batch\(\) must return attributions"):
        WrongShape(classifier("tabular")).explain(data("tabular", n=2))

    @attrs.frozen(kw_only=True)
    class WrongRows(xaikit.Explainer):
        def prepare(self, inputs, targets):
            return {"extra": inputs[:1]}

        def explain_batch(self, inputs, targets, extra):
            return inputs

    with pytest.raises(TypeError, match=r"WrongRows.prepare\(\) must return arrays with 3 rows"):
        WrongRows(classifier("tabular")).explain(data("tabular", n=3))
