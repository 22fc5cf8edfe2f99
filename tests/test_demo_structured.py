"""The demo's structured tasks: token ids at their embedding, and a model of two inputs."""

from __future__ import annotations

import json

import attrs
import numpy as np
import pytest
import tensorflow as tf

import xaikit
from xaikit import demo
from xaikit.demo import runner, structured, structured_run

BUILTINS = ("guided_backprop", "integrated_gradients", "random_baseline_ig", "saliency")
TASKS = ("text", "two_input")


# ---------------------------------------------------------------------- data
def test_sentences_hold_one_keyword_of_their_class():
    first, again = structured.sentences(30, seed=3), structured.sentences(30, seed=3)
    np.testing.assert_array_equal(first.inputs, again.inputs)
    assert first.inputs.dtype == np.int32 and first.inputs.shape == (30, 8)
    assert (first.relevant.sum(axis=1) == 1).all()
    assert first.inputs.min() >= 1  # id 0 is padding, never a word
    for i in range(30):
        keyword = np.asarray(first.tokens(i))[first.relevant[i]][0]
        assert keyword in structured.KEYWORDS[first.labels[i]]
        others = np.asarray(first.tokens(i))[~first.relevant[i]]
        assert set(others) <= set(structured.FILLERS)


def test_image_table_class_combines_shape_and_t0():
    pair = structured.image_table(40, seed=0)
    images, table = pair.inputs["image"], pair.inputs["table"]
    assert images.shape == (40, 16, 16, 1) and table.shape == (40, 4)
    np.testing.assert_array_equal(pair.labels % 2, (table[:, 0] > 0).astype(int))
    assert pair.relevant["table"][:, 0].all() and not pair.relevant["table"][:, 1:].any()
    assert images[pair.relevant["image"]].mean() > images[~pair.relevant["image"]].mean() + 0.8
    part = pair.subset(slice(0, 5))
    assert len(part) == 5 and part.inputs["table"].shape == (5, 4)


def test_per_input_mass_against_hand_computed_values():
    attributions = {"a": np.array([[1.0, -1.0, 2.0]]), "b": np.array([[[4.0], [0.0]]])}
    relevant = {"a": np.array([[True, False, False]]), "b": np.array([[[True], [False]]])}
    mass, area, parts = structured_run.per_input_mass(attributions, relevant)
    np.testing.assert_allclose(mass, [5.0 / 8.0])
    np.testing.assert_allclose(area, [2.0 / 5.0])
    np.testing.assert_allclose(parts["a"]["mass"], [0.25])
    np.testing.assert_allclose(parts["b"]["mass"], [1.0])
    np.testing.assert_allclose(parts["a"]["share"], [0.5])
    np.testing.assert_allclose(parts["b"]["area"], [0.5])


# ---------------------------------------------------------------------- applicability
@attrs.frozen(kw_only=True)
class Plain(xaikit.Explainer):
    """Declares neither layers nor several inputs."""

    def explain_batch(self, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        return tf.zeros_like(inputs)


def test_not_applicable_follows_what_methods_declare():
    assert "declares no layers" in runner.not_applicable(Plain, "text")
    assert "declares no multi_input" in runner.not_applicable(Plain, "two_input")
    assert runner.not_applicable(xaikit.IntegratedGradients, "text") is None
    assert runner.not_applicable(xaikit.Saliency, "two_input") is None


# ---------------------------------------------------------------------- the report
@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo_structured")
    lines: list[str] = []
    index = demo.run_demo(out, quick=True, seed=0, kinds=TASKS, log=lines.append)
    return out, index, lines


def test_every_method_runs_or_is_not_applicable(report):
    out, _, lines = report
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == set(TASKS)
    assert not [line for line in lines if "failed" in line]
    for kind in TASKS:
        methods = summary[kind]["methods"]
        assert set(methods) == set(xaikit.list_methods())
        assert summary[kind]["test_accuracy"] > 0.9
        for name, entry in methods.items():
            assert "error" not in entry, (kind, name, entry)
            if "skipped" in entry:
                assert entry["skipped"].startswith("not applicable ("), entry
                assert f"{kind}: {name} {entry['skipped']}" in lines
        for name in BUILTINS:
            assert "skipped" not in methods[name], (kind, name)


def test_keyword_carries_the_attribution(report):
    out, index, _ = report
    methods = json.loads((out / "summary.json").read_text())["text"]["methods"]
    for name in BUILTINS:
        entry = methods[name]
        assert entry["params"]["layer"] == "embedding" and entry["params"]["reducer"] == "sum"
        assert entry["relevance_mass"] > 2 * entry["region_area"], (name, entry)
        values = np.load(out / "text" / f"{name}.npy")
        assert values.shape == np.load(out / "text" / "inputs.npy").shape
    assert methods["integrated_gradients"]["relevance_mass"] > 0.8
    page = index.read_text()
    assert page.count('class="xaikit-token"') >= 4 * 8 * (len(BUILTINS) + 1)
    assert "keyword share" in page


def test_two_inputs_are_reported_per_input(report):
    out, index, _ = report
    methods = json.loads((out / "summary.json").read_text())["two_input"]["methods"]
    page = index.read_text()
    for name in BUILTINS:
        parts = methods[name]["per_input"]
        assert set(parts) == {"image", "table"}
        assert sum(part["share"] for part in parts.values()) == pytest.approx(1.0)
        for part in parts.values():
            assert part["relevance_mass"] > part["region_area"], (name, parts)
        with np.load(out / "two_input" / f"{name}.npz") as saved:
            assert sorted(saved.files) == ["image", "table"]
        assert (out / "two_input" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert f"two_input/{name}.png" in page
    ig = methods["integrated_gradients"]["per_input"]["image"]
    assert ig["relevance_mass"] > 2 * ig["region_area"]


def test_structured_tasks_are_deterministic(report):
    out, _, _ = report
    again = structured_run.run_task("text", runner.QUICK, seed=0, methods=["saliency"])
    saved = np.load(out / "text" / "saliency.npy")
    np.testing.assert_array_equal(again.methods[0].explanation.attributions, saved)
