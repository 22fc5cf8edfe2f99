"""The ``xaikit`` command: results equal the Python API's, and every bad input is one line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import xaikit
from xaikit import cli
from xaikit.cli.progress import Progress, watched


def _init(seed: int) -> dict:
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": keras.initializers.RandomUniform(-0.1, 0.1, seed=seed + 1),
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small saved classifier, inputs that fit it, targets, a baseline, inputs that do not."""
    root = tmp_path_factory.mktemp("cli")
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(8, activation="relu", **_init(1))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", **_init(3))(hidden))
    model.save(root / "model.keras")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 6)).astype("float32")
    np.save(root / "x.npy", x)
    np.save(root / "targets.npy", np.arange(10) % 3)
    np.save(root / "baseline.npy", np.full(6, 0.5, "float32"))
    np.save(root / "wrong.npy", np.zeros((4, 5), "float32"))
    return {"root": root, "model": model, "x": x}


def run(*argv: str) -> int:
    return cli.main([str(a) for a in argv])


def explain_args(files, out, *extra):
    root = files["root"]
    return ["explain", "--model", root / "model.keras", "--inputs", root / "x.npy", "--out", out,
            *extra]  # fmt: skip


# ---------------------------------------------------------------------- same as the API
@pytest.mark.parametrize(
    ("method", "params", "api_params"),
    [
        ("saliency", ["absolute=false"], {"absolute": False}),
        ("integrated_gradients", ["steps=8", "baseline=BASE"], {"steps": 8, "baseline": "BASE"}),
        (
            "random_baseline_ig",
            ["steps=4", "num_runs=2", "seed=3"],
            {"steps": 4, "num_runs": 2, "seed": 3},
        ),
    ],  # fmt: skip
)
def test_explain_writes_the_api_attributions(files, tmp_path, capsys, method, params, api_params):
    base = str(files["root"] / "baseline.npy")
    params = [p.replace("BASE", base) for p in params]
    api_params = {k: np.load(base) if v == "BASE" else v for k, v in api_params.items()}
    args = ["--method", method, "--targets", files["root"] / "targets.npy", "--batch-size", "4"]
    for param in params:
        args += ["--param", param]
    assert run(*explain_args(files, tmp_path, *args)) == 0
    assert "attributions.npy" in capsys.readouterr().out
    expected = xaikit.get_explainer(method, files["model"], batch_size=4, **api_params).explain(
        files["x"], np.arange(10) % 3
    )
    np.testing.assert_allclose(
        np.load(tmp_path / "attributions.npy"), expected.attributions, rtol=1e-6, atol=1e-7
    )
    np.testing.assert_allclose(np.load(tmp_path / "scores.npy"), expected.scores, rtol=1e-6)
    record = json.loads((tmp_path / "params.json").read_text())
    assert record["method"] == method and record["plugin"] == "xaikit"
    assert record["params"]["batch_size"] == 4
    for key, value in api_params.items():
        shown = base if isinstance(value, np.ndarray) else value
        assert record["params"][key] == shown
    if expected.convergence_delta is not None:
        np.testing.assert_allclose(
            np.load(tmp_path / "convergence_delta.npy"), expected.convergence_delta, atol=1e-6
        )


def test_explain_plot_and_progress(files, tmp_path, capsys):
    code = run(*explain_args(files, tmp_path, "--method", "saliency", "--plot", "--progress"))
    assert code == 0
    assert (tmp_path / "attributions.png").read_bytes()[:4] == b"\x89PNG"
    err = capsys.readouterr().err
    assert "10/10 samples" in err and "[" + "#" * 30 + "]" in err


def test_no_progress_bar_when_stderr_is_not_a_terminal(files, tmp_path, capsys):
    assert run(*explain_args(files, tmp_path, "--method", "saliency")) == 0
    assert "samples" not in capsys.readouterr().err


# ---------------------------------------------------------------------- one-line errors
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--model": "missing.keras"}, "--model: no such file"),
        ({"--inputs": "missing.npy"}, "--inputs: no such file"),
        ({"--inputs": "wrong.npy"}, "inputs: the model expects shape (N, 6), got shape (4, 5)"),
        ({"--method": "salency"}, "--method: unknown method 'salency' (did you mean 'saliency'?)"),
        ({"--param": "steps"}, "--param: expected key=value, got 'steps'"),
        ({"--param": "nosuch=1"}, "--param nosuch: method 'integrated_gradients' has no param"),
        ({"--param": "steps=0"}, "--param steps: expected an integer >= 1, got 0"),
        ({"--param": "rule=simpson"}, "--param rule:"),
        ({"--param": "baseline=nope.npy"}, "--param baseline: no such file"),
        ({"--targets": "7"}, "targets: class indices must be in [0, 2]"),
        ({"--batch-size": "0"}, "--batch-size: expected an integer >= 1, got 0"),
    ],
)
def test_bad_input_is_one_line_and_a_failure_code(files, tmp_path, capsys, change, message):
    root = files["root"]
    options = {
        "--model": "model.keras", "--inputs": "x.npy", "--method": "integrated_gradients",
    }  # fmt: skip
    options.update(change)
    argv = ["explain", "--out", str(tmp_path)]
    for key, value in options.items():
        is_file = value.endswith((".keras", ".npy")) and key != "--param"
        argv += [key, str(root / value) if is_file else value]
    if "baseline" in options.get("--param", ""):
        argv[-1] = "baseline=" + str(tmp_path / "nope.npy")
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("xaikit: error: ") and message in lines[0], lines[0]
    assert "Traceback" not in captured.err


def test_usage_errors_are_one_line_with_code_2(capsys):
    assert cli.main(["explain", "--model", "m.keras"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "required" in err[0] and "--help" in err[0]
    assert cli.main(["frobnicate"]) == 2
    assert cli.main(["--version"]) == 0


def test_debug_shows_the_traceback(files, tmp_path):
    with pytest.raises(xaikit.UnknownNameError):
        run(*explain_args(files, tmp_path, "--method", "nosuch", "--debug"))


def test_custom_code_needs_the_explicit_flag(tmp_path, capsys):
    inputs = keras.Input((3,))
    doubled = keras.layers.Lambda(lambda t: 2.0 * t)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax", **_init(5))(doubled))
    model.save(tmp_path / "lambda.keras")
    np.save(tmp_path / "x.npy", np.ones((2, 3), "float32"))
    argv = ["explain", "--model", tmp_path / "lambda.keras", "--inputs", tmp_path / "x.npy",
            "--method", "saliency", "--out", tmp_path / "out"]  # fmt: skip
    assert run(*argv) == 1
    err = capsys.readouterr().err
    assert "--allow-custom-code" in err and len(err.strip().splitlines()) == 1
    assert run(*argv, "--allow-custom-code") == 0
    assert run(*argv, "--import", "json") == 1
    assert "--import runs a module's code" in capsys.readouterr().err


# ---------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("steps=64", ("steps", 64)),
        ("scale=0.5", ("scale", 0.5)),
        ("absolute=true", ("absolute", True)),
        ("absolute=False", ("absolute", False)),
        ("seed=null", ("seed", None)),
        ("sizes=[1, 2]", ("sizes", [1, 2])),
        ("rule=gauss_legendre", ("rule", "gauss_legendre")),
        ("operator=logits", ("operator", "logits")),
        ("note=a=b", ("note", "a=b")),
    ],
)
def test_param_values_parse_as_json_else_text(text, expected):
    assert cli.parse_param(text) == expected


@pytest.mark.parametrize("text", ["=3", "steps", "2x=1"])
def test_malformed_params_are_refused(text):
    with pytest.raises(cli.CliError, match="--param"):
        cli.parse_param(text)


def test_progress_bar_counts_and_stops_at_the_total():
    stream = io.StringIO()
    bar = cli.Progress(4, "ig", stream=stream, min_interval=0.0)
    bar.update(3)
    bar.update(3)
    bar.close()
    text = stream.getvalue()
    assert "3/4 samples" in text and "4/4 samples" in text and text.endswith("\n")


def test_a_method_built_by_a_plugin_factory_gets_the_bar_too(files, tmp_path, capsys):
    if "smoothgrad" not in xaikit.list_methods():
        pytest.skip("the xaikit-noise plugin is not installed")
    params = ["--param", "seed=1", "--param", "n_samples=4", "--progress"]
    assert run(*explain_args(files, tmp_path, "--method", "smoothgrad", *params)) == 0
    assert "10/10 samples" in capsys.readouterr().err
    expected = xaikit.get_explainer("smoothgrad", files["model"], seed=1, n_samples=4)
    np.testing.assert_allclose(
        np.load(tmp_path / "attributions.npy"), expected.explain(files["x"]).attributions,
        rtol=1e-6, atol=1e-7,
    )  # fmt: skip


@pytest.mark.parametrize("factory", [xaikit.IntegratedGradients, xaikit.Saliency])
def test_a_watched_explainer_computes_and_names_the_same(files, factory):
    stream = io.StringIO()
    progress = Progress(len(files["x"]), stream=stream, min_interval=0.0)
    explainer = watched(factory, progress)(files["model"], batch_size=3)
    result = explainer.explain(files["x"])
    plain = factory(files["model"], batch_size=3).explain(files["x"])
    assert result.method == plain.method == factory.name
    np.testing.assert_array_equal(result.attributions, plain.attributions)
    assert "10/10 samples" in stream.getvalue()


# ---------------------------------------------------------------------- other commands
def test_methods_lists_every_registered_name_with_its_plugin(capsys):
    assert run("methods") == 0
    text = capsys.readouterr().out
    for name in xaikit.list_methods() + xaikit.list_operators() + xaikit.list_reducers():
        assert name in text
    assert run("methods", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    methods = {entry["name"]: entry for entry in data["methods"]}
    assert set(methods) == set(xaikit.list_methods())
    assert methods["saliency"]["plugin"] == "xaikit"
    assert methods["saliency"]["summary"].startswith("Vanilla gradients")
    assert {"operators", "reducers", "metrics"} <= set(data)


def test_demo_command_runs_the_demo_and_says_where_the_report_is(monkeypatch, tmp_path, capsys):
    import tensorflow as tf

    import xaikit.demo

    calls = {}

    def fake_run_demo(out, **options):
        calls.update(options, out=out)
        index = Path(out) / "index.html"
        index.parent.mkdir(parents=True, exist_ok=True)
        index.write_text("<html></html>")
        return index

    monkeypatch.setattr(xaikit.demo, "run_demo", fake_run_demo)
    monkeypatch.setattr(tf.config.experimental, "enable_op_determinism", lambda: None)
    assert run("demo", "--out", tmp_path / "d", "--quick", "--methods", "saliency,a") == 0
    assert calls["quick"] is True and calls["methods"] == ["saliency", "a"]
    assert str(tmp_path / "d" / "index.html") in capsys.readouterr().out


def test_evaluate_writes_the_api_scores(files, tmp_path, capsys):
    try:
        from xaikit.metrics import evaluate
    except ImportError:
        pytest.skip("xaikit.metrics.evaluate is not available")
    root = files["root"]
    argv = ["evaluate", "--model", root / "model.keras", "--inputs", root / "x.npy",
            "--targets", root / "targets.npy", "--method", "saliency", "--metric", "deletion",
            "--metric", "insertion", "--metric-param", "steps=6", "--out", tmp_path]  # fmt: skip
    assert run(*argv) == 0
    assert "deletion" in capsys.readouterr().out
    expected = evaluate(
        xaikit.Saliency(files["model"]), files["x"], np.arange(10) % 3,
        ["deletion", "insertion"], steps=6,
    )  # fmt: skip
    table = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    assert list(table) == ["deletion", "insertion"]
    for name, result in expected.items():
        assert table[name]["mean"] == pytest.approx(result.mean)
        np.testing.assert_allclose(table[name]["scores"], result.scores)
    rows = (tmp_path / "scores.csv").read_text().splitlines()
    assert rows[0] == "sample,deletion,insertion" and len(rows) == 11
    assert (tmp_path / "metrics.csv").read_text().startswith("metric,mean,higher_is_better")
    assert run(*argv[:-2], "--metric", "nosuch", "--out", tmp_path) == 1
    assert "unknown metric 'nosuch'" in capsys.readouterr().err


# ---------------------------------------------------------------------- a real process
def test_the_installed_command_fails_in_one_line(files, tmp_path):
    script = Path(sys.executable).with_name("xaikit")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "xaikit.cli"]
    root = files["root"]
    done = subprocess.run(
        [*command, "explain", "--model", str(root / "model.keras"), "--inputs",
         str(root / "wrong.npy"), "--method", "saliency", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip
    assert done.returncode == 1
    ours = [line for line in done.stderr.splitlines() if line.startswith("xaikit")]
    assert ours == ["xaikit: error: inputs: the model expects shape (N, 6), got shape (4, 5)"]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "attributions.npy").exists()
