"""The ``xaikit`` command on structured models: several inputs (``.npz``), ``--output``,
``--layer``; results equal the Python API's and every mistake is one line naming its option."""

from __future__ import annotations

import json

import _structured_models as sm
import numpy as np
import pytest

import xaikit
from xaikit import cli

N = 5


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Saved two-input (dict), token, mixed and two-head models, and inputs that fit them."""
    root = tmp_path_factory.mktemp("cli_structured")
    rng = np.random.default_rng(0)
    models = {
        "two": sm.two_input(dict_inputs=True),
        "tokens": sm.token_model(),
        "mixed": sm.mixed(),
        "heads": sm.two_heads(),
    }
    for name, model in models.items():
        model.save(root / f"{name}.keras")
    two = {
        "a": rng.normal(size=(N, 4)).astype("float32"),
        "b": rng.normal(size=(N, 5, 2)).astype("float32"),
    }
    np.savez(root / "two.npz", **two)
    np.savez(root / "two_extra.npz", **two, c=np.zeros((N, 1), "float32"))
    np.savez(root / "two_missing.npz", a=two["a"])
    np.save(root / "two.npy", two["a"])
    ids = rng.integers(1, sm.VOCAB, size=(N, sm.LENGTH)).astype("int32")
    np.save(root / "ids.npy", ids)
    mixed = {
        "num": rng.normal(size=(N, 3)).astype("float32"),
        "cat": rng.integers(0, 5, size=(N, 1)).astype("int32"),
    }
    np.savez(root / "mixed.npz", **mixed)
    heads = rng.normal(size=(N, 5)).astype("float32")
    np.save(root / "heads.npy", heads)
    return {"root": root, "models": models, "two": two, "ids": ids, "mixed": mixed, "heads": heads}


def run(*argv) -> int:
    return cli.main([str(a) for a in argv])


def explain(files, out, model, inputs, *extra):
    root = files["root"]
    return run("explain", "--model", root / f"{model}.keras", "--inputs", root / inputs,
               "--out", out, *extra)  # fmt: skip


# ---------------------------------------------------------------------- same as the API
def test_several_inputs_write_one_array_per_input_name(files, tmp_path, capsys):
    args = ["--method", "integrated_gradients", "--param", "steps=8", "--targets", "1"]
    assert explain(files, tmp_path, "two", "two.npz", *args) == 0
    assert "attributions.npz" in capsys.readouterr().out
    assert not (tmp_path / "attributions.npy").exists()
    expected = xaikit.IntegratedGradients(files["models"]["two"], steps=8).explain(
        files["two"], targets=1
    )
    with np.load(tmp_path / "attributions.npz") as saved:
        assert sorted(saved.files) == ["a", "b"]
        for name in ("a", "b"):
            np.testing.assert_allclose(saved[name], expected.attributions[name], rtol=1e-6)
    np.testing.assert_allclose(np.load(tmp_path / "scores.npy"), expected.scores, rtol=1e-6)
    record = json.loads((tmp_path / "params.json").read_text())
    assert record["inputs_shape"] == {"a": [N, 4], "b": [N, 5, 2]}
    assert record["attributions_shape"] == {"a": [N, 4], "b": [N, 5, 2]}


def test_tokens_at_their_embedding_layer(files, tmp_path):
    args = ["--method", "saliency", "--layer", "embedding", "--param", "reducer=sum"]
    assert explain(files, tmp_path, "tokens", "ids.npy", *args, "--plot") == 0
    expected = xaikit.Saliency(files["models"]["tokens"], layer="embedding", reducer="sum")
    np.testing.assert_allclose(
        np.load(tmp_path / "attributions.npy"),
        expected.explain(files["ids"]).attributions,
        rtol=1e-6,
    )
    assert json.loads((tmp_path / "params.json").read_text())["params"]["layer"] == "embedding"
    assert (tmp_path / "attributions.png").read_bytes()[:4] == b"\x89PNG"


def test_a_layer_mapping_from_repeated_pairs(files, tmp_path):
    args = ["--method", "integrated_gradients", "--param", "steps=8", "--layer", "cat=cat_emb"]
    assert explain(files, tmp_path, "mixed", "mixed.npz", *args, "--plot") == 0
    expected = xaikit.IntegratedGradients(
        files["models"]["mixed"], steps=8, layer={"cat": "cat_emb"}
    ).explain(files["mixed"])
    with np.load(tmp_path / "attributions.npz") as saved:
        assert saved["cat"].shape == (N, 1, 2)
        for name in ("num", "cat"):
            np.testing.assert_allclose(saved[name], expected.attributions[name], rtol=1e-5)


@pytest.mark.parametrize("output", ["age", "0", "label", "1"])
def test_output_by_name_or_index(files, tmp_path, output):
    args = ["--method", "saliency", "--output", output]
    assert explain(files, tmp_path, "heads", "heads.npy", *args) == 0
    selected = int(output) if output.isdigit() else output
    expected = xaikit.Saliency(files["models"]["heads"], output=selected).explain(files["heads"])
    np.testing.assert_allclose(
        np.load(tmp_path / "attributions.npy"), expected.attributions, rtol=1e-6
    )


# ---------------------------------------------------------------------- one-line errors
@pytest.mark.parametrize(
    ("model", "inputs", "extra", "message"),
    [
        ("two", "two_extra.npz", [], "--inputs: "),
        ("two", "two_extra.npz", [], "holds 'c', which is not an input of the model"),
        ("two", "two_missing.npz", [], "--inputs: "),
        ("two", "two_missing.npz", [], "no array for input 'b'"),
        ("two", "two.npy", [], "--inputs: the model takes 2 inputs ('a', 'b'); pass a .npz"),
        ("heads", "heads.npy", [], "--output: the model has 2 outputs; pass --output one of"),
        ("heads", "heads.npy", ["--output", "agee"], "--output: the model has no output named"),
        ("heads", "heads.npy", ["--output", "7"], "--output: expected an index in [0, 1]"),
        ("tokens", "ids.npy", ["--layer", "embeding"], "--layer: the model 'token_model' has no"),
        ("tokens", "ids.npy", ["--layer", "embeding"], "close names: 'embedding'"),
        ("tokens", "ids.npy", [], "pass --layer embedding to attribute at its embedding"),
        ("mixed", "mixed.npz", ["--layer", "cats=cat_emb"], "--layer: the keys of a layer"),
        ("mixed", "mixed.npz", ["--layer", "cat=x", "--layer", "num"], "--layer: expected input="),
        ("tokens", "ids.npy", ["--layer", "a", "--layer", "b"], "--layer: expected one layer"),
        ("tokens", "ids.npy", ["--layer", "embedding", "--param", "layer=embedding"], "twice"),
    ],  # fmt: skip
)
def test_mistakes_are_one_line_naming_the_option(files, tmp_path, capsys, model, inputs, extra,
                                                 message):  # fmt: skip
    assert explain(files, tmp_path, model, inputs, "--method", "saliency", *extra) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("xaikit: error: ") and message in lines[0], lines[0]


def test_layer_needs_a_method_declaring_layers(files, tmp_path, capsys):
    assert explain(files, tmp_path, "tokens", "ids.npy", "--method", "occlusion",
                   "--layer", "embedding") == 1  # fmt: skip
    line = capsys.readouterr().err.strip()
    assert line.startswith("xaikit: error: --layer: method 'occlusion' does not attribute at")
    assert "saliency" in line


@pytest.mark.parametrize(
    ("model", "inputs", "method", "extra"),
    [
        ("two", "two.npz", "integrated_gradients", {"steps": 8}),
        ("heads", "heads.npy", "saliency", {"output": "label"}),
    ],
)
def test_evaluate_scores_structured_models_as_the_api(files, tmp_path, model, inputs, method,
                                                      extra):  # fmt: skip
    root = files["root"]
    options = ["--output", "label"] if "output" in extra else ["--param", "steps=8"]
    code = run("evaluate", "--model", root / f"{model}.keras", "--inputs", root / inputs,
               "--method", method, *options, "--metric", "deletion", "--metric-param",
               "steps=5", "--out", tmp_path)  # fmt: skip
    assert code == 0
    x = files["two"] if model == "two" else files["heads"]
    explainer = xaikit.get_explainer(method, files["models"][model], **extra)
    expected = xaikit.metrics.evaluate(explainer, x, None, ["deletion"], steps=5)
    saved = json.loads((tmp_path / "metrics.json").read_text())["metrics"]["deletion"]
    np.testing.assert_allclose(saved["scores"], expected["deletion"].scores, rtol=1e-6)


def test_evaluate_refuses_layer_in_one_line(files, tmp_path, capsys):
    root = files["root"]
    code = run("evaluate", "--model", root / "tokens.keras", "--inputs", root / "ids.npy",
               "--method", "saliency", "--layer", "embedding", "--out", tmp_path)  # fmt: skip
    assert code == 1
    line = capsys.readouterr().err.strip()
    assert "\n" not in line
    assert line.startswith("xaikit: error: --layer: evaluate scores attributions of the inputs")
