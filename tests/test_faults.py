"""Faults: out-of-memory chunks are retried at half size, a model that fails mid-run names
the failing chunk's rows and leaves the model as it was, a plugin method's exception names
the plugin, and a corrupt ``.keras`` file is one command-line error, not a traceback."""

from __future__ import annotations

import warnings
from pathlib import Path

import attrs
import keras
import numpy as np
import pytest
import tensorflow as tf
from strategies import build_model

import xaikit
from xaikit._activations import iter_layers
from xaikit.cli import main

SHAPE = (5,)


class _Fails(keras.layers.Layer):
    """Identity that raises at run time: ResourceExhaustedError when a batch has more than
    ``max_rows`` rows, InvalidArgumentError when a sample holds the value ``poison``."""

    def __init__(self, max_rows: int = 10**9, poison: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.max_rows, self.poison = max_rows, poison
        self.largest = 0  # the largest batch seen, for the tests

    def _check(self, x: tf.Tensor) -> np.int32:
        rows = int(x.shape[0])
        self.largest = max(self.largest, rows)
        if rows > self.max_rows:
            raise MemoryError(f"OOM with {rows} rows")  # TF reports ResourceExhaustedError
        if self.poison is not None and np.any(x.numpy() == self.poison):
            raise ValueError("poisoned sample")
        return np.int32(0)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        done = tf.py_function(self._check, [x], tf.int32)
        with tf.control_dependencies([done]):
            return tf.identity(x)


def _model(**fails) -> tuple[keras.Model, _Fails]:
    """build_model's architecture behind a failing identity layer, with build_model's weights."""
    inputs = keras.Input(SHAPE)
    layer = _Fails(**fails)
    inner = build_model(SHAPE, 3)
    return keras.Model(inputs, inner(layer(inputs))), layer


def _inputs(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, *SHAPE)).astype("float32")


@pytest.mark.parametrize(
    ("name", "params"),
    [("saliency", {}), ("integrated_gradients", {"steps": 3}), ("guided_backprop", {})],
)
def test_out_of_memory_chunk_is_retried_at_half_size(name: str, params: dict) -> None:
    model, layer = _model(max_rows=5)
    x, targets = _inputs(21), np.arange(21) % 3
    explainer = xaikit.get_explainer(name, model, batch_size=8, **params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = explainer.explain(x, targets)
    shrunk = [w for w in caught if "batch_size" in str(w.message)]
    assert len(shrunk) == 1, [str(w.message) for w in caught]
    assert issubclass(shrunk[0].category, xaikit.ChunkSizeWarning)
    assert "of 8 rows" in str(shrunk[0].message) and "with 4 rows" in str(shrunk[0].message)
    expected = xaikit.get_explainer(name, model, batch_size=4, **params).explain(x, targets)
    np.testing.assert_allclose(got.attributions, expected.attributions, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got.scores, expected.scores, rtol=1e-6)
    assert explainer.batch_size == 8  # the explainer itself is unchanged


def test_out_of_memory_on_one_row_is_raised() -> None:
    model, _ = _model(max_rows=0)
    explainer = xaikit.Saliency(model, batch_size=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(tf.errors.ResourceExhaustedError, match=r"rows 0-0"):
            explainer.explain(_inputs(6), 0)


def _layer_state(model: keras.Model) -> list:
    return [
        (layer.name, getattr(layer, "activation", None), layer.__dict__.get("call"))
        for layer in iter_layers(model)
    ]


@pytest.mark.parametrize("name", ["saliency", "guided_backprop", "integrated_gradients"])
def test_failure_mid_run_names_the_rows_and_restores_the_model(name: str) -> None:
    model, _ = _model(poison=123.0)
    x = _inputs(150)
    x[70, 2] = 123.0
    weights = [w.copy() for w in model.get_weights()]
    state = _layer_state(model)
    params = {"steps": 2} if name == "integrated_gradients" else {}
    explainer = xaikit.get_explainer(name, model, batch_size=64, **params)
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"(?s)^rows 64-127: .*poisoned sample"
    ):
        explainer.explain(x, 1)
    assert _layer_state(model) == state  # guided backprop's activations are back
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights(), strict=True))
    clean = np.delete(x, 70, axis=0)
    np.testing.assert_array_equal(  # the explainer still works, as a fresh one
        explainer.explain(clean, 1).attributions,
        xaikit.get_explainer(name, model, batch_size=64, **params).explain(clean, 1).attributions,
    )


@attrs.frozen(kw_only=True)
class _Broken(xaikit.Explainer):
    def explain_batch(self, inputs, targets):
        raise RuntimeError("the method's own bug")


class _FaultPlugin:
    @xaikit.hookimpl
    def xaikit_methods(self):
        return {"faulty_method": _Broken}


def test_exception_in_a_plugin_method_names_the_plugin() -> None:
    plugin = _FaultPlugin()
    xaikit.register_plugin(plugin, name="fault-test-plugin")
    try:
        explainer = xaikit.get_explainer("faulty_method", build_model(SHAPE, 3))
        with pytest.raises(RuntimeError, match=r"fault-test-plugin.*the method's own bug"):
            explainer.explain(_inputs(3))
    finally:
        xaikit.unregister_plugin(plugin)


def _cli(tmp_path: Path, model_path: Path, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    inputs = tmp_path / "x.npy"
    np.save(inputs, _inputs(3))
    out = tmp_path / "out"
    code = main(
        ["explain", "--model", str(model_path), "--inputs", str(inputs)]
        + ["--method", "saliency", "--out", str(out), "--no-progress"]
    )
    assert not out.exists() or not any(out.iterdir()), "nothing may be written"
    return code, capsys.readouterr().err


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupt_keras_file_is_one_cli_line(tmp_path: Path, capsys, damage: str) -> None:
    path = tmp_path / "broken.keras"
    if damage == "garbage":
        path.write_bytes(b"this is not a zip archive\x00\x01" * 10)
    else:
        build_model(SHAPE, 3).save(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"")
    code, err = _cli(tmp_path, path, capsys)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xaikit: error: --model: cannot load"), err
    assert "Traceback" not in err
