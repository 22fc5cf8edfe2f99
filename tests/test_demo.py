"""The embedded demo: truthful synthetic data, a report that runs every method, determinism."""

from __future__ import annotations

import json

import attrs
import numpy as np
import pytest
import tensorflow as tf

import xaikit
from xaikit import demo
from xaikit.demo import data, runner
from xaikit.registry import Registry, use_registry

BUILTINS = ("guided_backprop", "integrated_gradients", "random_baseline_ig", "saliency")
#: The one-input kinds (the structured tasks are tested in test_demo_structured.py).
ONE_INPUT = ("image", "series", "tabular")


# ---------------------------------------------------------------------- data
@pytest.mark.parametrize("maker", [data.shapes, data.bursts, data.table])
def test_data_is_seeded_and_masks_fit(maker):
    first, again, other = maker(20, seed=3), maker(20, seed=3), maker(20, seed=4)
    np.testing.assert_array_equal(first.inputs, again.inputs)
    np.testing.assert_array_equal(first.relevant, again.relevant)
    assert not np.array_equal(first.inputs, other.inputs)
    assert first.inputs.dtype == np.float32 and first.relevant.shape == first.inputs.shape
    assert first.labels.shape == (20,) and set(first.labels) <= set(range(len(first.class_names)))
    assert first.relevant.reshape(20, -1).any(axis=1).all()  # every sample has a region
    assert first.inputs.shape[-1] == len(first.feature_names)


def test_shapes_are_bright_on_noise():
    images = data.shapes(30, seed=0)
    inside = images.inputs[images.relevant].mean()
    outside = images.inputs[~images.relevant].mean()
    assert inside > outside + 0.8  # shapes add 1.0 on zero-mean noise


def test_bursts_live_in_the_signal_channel_only():
    series = data.bursts(30, seed=0)
    assert not series.relevant[..., 1].any()
    assert (series.relevant[..., 0].sum(axis=1) == 8).all()


def test_table_class_follows_its_rule():
    rows = data.table(50, seed=0)
    x = rows.inputs
    np.testing.assert_array_equal(rows.labels, (x[:, 0] + x[:, 1] - x[:, 2] > 0).astype(int))
    assert rows.relevant[:, :3].all() and not rows.relevant[:, 3:].any()


# ---------------------------------------------------------------------- relevance mass
def test_relevance_mass_against_a_hand_computed_value():
    attributions = np.array([[[1.0, -3.0], [0.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]]])
    mask = np.array([[[True, True], [False, False]], [[True, False], [False, False]]])
    mass, area = runner.relevance_mass(attributions, mask)
    np.testing.assert_allclose(mass, [4.0 / 8.0, 0.0])
    np.testing.assert_allclose(area, [0.5, 0.25])


def test_relevance_mass_folds_the_mask_for_reduced_attributions():
    mask = np.zeros((1, 3, 2), bool)
    mask[0, 1, 1] = True  # time step 1, in the second channel
    mass, area = runner.relevance_mass(np.array([[1.0, 1.0, 2.0]]), mask)
    np.testing.assert_allclose(mass, [0.25])
    np.testing.assert_allclose(area, [1 / 3])
    with pytest.raises(ValueError, match="attributions"):
        runner.relevance_mass(np.ones((1, 4)), mask)


# ---------------------------------------------------------------------- the report
@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    index = demo.run_demo(out, quick=True, seed=0)
    return out, index


def test_report_has_every_method_picture_and_attributions(report):
    out, index = report
    assert index == out / "index.html"
    page = index.read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == set(runner.KINDS)
    for kind, part in summary.items():
        assert set(part["methods"]) == set(xaikit.list_methods())
        if kind not in ONE_INPUT:
            continue
        for name in BUILTINS:
            assert "error" not in part["methods"][name], (kind, name)
            values = np.load(out / kind / f"{name}.npy")
            inputs = np.load(out / kind / "inputs.npy")
            assert values.shape in (inputs.shape, inputs.shape[:-1])
            assert (out / kind / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
            assert f"{kind}/{name}.png" in page


def test_builtin_methods_put_their_mass_on_the_shapes(report):
    out, _ = report
    methods = json.loads((out / "summary.json").read_text())["image"]["methods"]
    for name in BUILTINS:
        mass, area = methods[name]["relevance_mass"], methods[name]["region_area"]
        assert mass > 3 * area, (name, mass, area)
    # the saved numbers are those of the saved arrays
    values = np.load(out / "image" / "integrated_gradients.npy")
    mass, _ = runner.relevance_mass(values, np.load(out / "image" / "relevant.npy"))
    assert methods["integrated_gradients"]["relevance_mass"] == pytest.approx(mass.mean())


def test_report_shows_metrics_when_available(report):
    out, _ = report
    page = (out / "index.html").read_text()
    try:
        from xaikit.metrics import evaluate  # noqa: F401
    except ImportError:
        assert "No metrics" in page
        return
    saliency = json.loads((out / "summary.json").read_text())["image"]["methods"]["saliency"]
    assert saliency["metrics"], saliency.get("metric_errors")
    for name in saliency["metrics"]:
        assert f"<th>{name} " in page


def test_demo_is_deterministic(report):
    out, _ = report
    again = runner.run(runner.QUICK, seed=0, kinds=("image",), metrics=False)["image"]
    for item in again.methods:
        if item.explanation is not None:
            saved = np.load(out / "image" / f"{item.name}.npy")
            np.testing.assert_array_equal(item.explanation.attributions, saved, err_msg=item.name)


# ---------------------------------------------------------------------- failures are recorded
@attrs.frozen(kw_only=True)
class ImagesOnly(xaikit.Explainer):
    """A method that refuses anything but images."""

    def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        if inputs.shape.rank != 4:
            raise xaikit.InputError("inputs: this method explains images only")
        return tf.zeros_like(inputs)


@attrs.frozen(kw_only=True)
class NeedsLayer(xaikit.Explainer):
    """A method with a required parameter the demo cannot guess."""

    layer: str

    def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        return tf.zeros_like(inputs)


def test_a_failing_plugin_method_is_recorded_not_raised():
    rows = data.table(40, seed=0)
    model = runner.train_model(rows, epochs=1, seed=0)
    fresh = Registry(autoload=False)
    with use_registry(fresh):
        fresh.add("methods", "images_only", ImagesOnly)
        fresh.add("methods", "needs_layer", NeedsLayer)
        shown = rows.subset(slice(0, 3))
        runs = {r.name: r for r in runner.explain_kind(model, shown, metrics=False)}
    assert set(runs) == {*BUILTINS, "images_only", "needs_layer"}
    assert runs["images_only"].error.startswith("InputError: inputs: this method explains images")
    assert "layer" in runs["needs_layer"].error
    for name in BUILTINS:
        assert runs[name].error is None and runs[name].relevance_mass.shape == (3,)
    assert runs["random_baseline_ig"].params["seed"] == 0  # seeded for a repeatable demo


def test_seeded_sets_only_a_missing_seed():
    model = runner.train_model(data.table(20, seed=0), epochs=1, seed=0)
    assert runner.seeded(xaikit.RandomBaselineIG(model), 7).seed == 7
    assert runner.seeded(xaikit.RandomBaselineIG(model, seed=3), 7).seed == 3
    saliency = xaikit.Saliency(model)
    assert runner.seeded(saliency, 7) is saliency
