"""xaikit.callbacks.ExplainCallback: TensorBoard images, files per epoch, training unchanged."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import xaikit
from xaikit.callbacks import SUMMARY_FOLDER, ExplainCallback, render_heatmaps
from xaikit.errors import InputError

layers = keras.layers


def data(kind: str, n: int = 48) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    shape = {"image": (8, 8, 1), "tabular": (5,), "series": (10, 2)}[kind]
    x = rng.normal(size=(n, *shape)).astype("float32")
    y = (x.reshape(n, -1)[:, 0] > 0).astype("int64")
    return x, y


def build(kind: str) -> keras.Model:
    """A seeded tiny classifier with dropout (so training draws random numbers)."""
    keras.utils.set_random_seed(0)
    init = {"kernel_initializer": keras.initializers.GlorotUniform(seed=1)}
    inp = keras.Input(data(kind, 1)[0].shape[1:])
    if kind == "image":
        x = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3, activation="relu", **init)(inp))
    elif kind == "series":
        x = layers.GlobalAveragePooling1D()(layers.Conv1D(4, 3, activation="relu", **init)(inp))
    else:
        x = layers.Dense(8, activation="relu", **init)(inp)
    x = layers.Dropout(0.3, seed=2)(x)
    model = keras.Model(inp, layers.Dense(2, activation="softmax", **init)(x))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    return model


def fit(kind: str, callbacks: list) -> tuple[keras.Model, keras.callbacks.History]:
    x, y = data(kind)
    model = build(kind)
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=True, verbose=0, callbacks=callbacks)
    return model, history


def events(log_dir: Path) -> list[tuple[int, str, tf.Tensor]]:
    """(step, tag, tensor) of every summary value written under log_dir/explanations."""
    found = []
    for path in sorted((log_dir / SUMMARY_FOLDER).glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                found.append((event.step, value.tag, tf.make_ndarray(value.tensor)))
    return found


@pytest.mark.parametrize("method", ["saliency", "integrated_gradients"])
def test_training_is_unchanged_by_the_callback(method, tmp_path):
    plain, _ = fit("tabular", [])
    x, y = data("tabular")
    callback = ExplainCallback(x[:4], y[:4], method=method, log_dir=tmp_path, out_dir=tmp_path)
    watched, history = fit("tabular", [callback])
    for a, b in zip(plain.get_weights(), watched.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(history.history["explain_seconds"]) == 3
    assert all(s > 0 for s in history.history["explain_seconds"])


def test_tensorboard_gets_image_summaries_and_files_per_epoch(tmp_path):
    x, y = data("image")
    callback = ExplainCallback(
        x[:5],
        y[:5],
        method="integrated_gradients",
        params={"steps": 8},
        every_n_epochs=1,
        at_train_begin=True,
        log_dir=tmp_path / "logs",
        out_dir=tmp_path / "maps",
        max_images=3,
    )
    fit("image", [callback])
    written = events(tmp_path / "logs")
    images = [
        (step, tensor) for step, tag, tensor in written if tag.endswith("integrated_gradients")
    ]
    assert [step for step, _ in images] == [0, 1, 2, 3]
    for _, tensor in images:
        width, height, *pngs = tensor  # tf.summary.image: width, height, then encoded PNGs
        assert (int(width), int(height)) == (8, 8) and len(pngs) == 3
        assert tf.io.decode_png(pngs[0]).shape == (8, 8, 3)
    seconds = [tag for _, tag, _ in written if tag == "attributions/explain_seconds"]
    assert len(seconds) == 4
    for step in range(4):
        saved = np.load(tmp_path / "maps" / f"epoch_{step:03d}.npy")
        assert saved.shape == (5, 8, 8, 1)
        np.testing.assert_array_equal(saved, callback.attributions[step])
        assert (tmp_path / "maps" / f"epoch_{step:03d}.png").read_bytes()[:4] == b"\x89PNG"


def test_every_n_epochs_and_a_factory(tmp_path):
    x, y = data("series")
    callback = ExplainCallback(
        x[:3],
        method=lambda model: xaikit.Saliency(model, reducer="mean"),
        every_n_epochs=2,
        out_dir=tmp_path,
    )
    _, history = fit("series", [callback])
    assert sorted(callback.attributions) == [2]
    assert callback.attributions[2].shape == (3, 10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_002.npy", "epoch_002.png"]
    costs = history.history["explain_seconds"]
    assert costs[0] == 0.0 and costs[1] > 0 and costs[2] == 0.0


def test_attributions_follow_the_current_weights():
    x, y = data("tabular")
    callback = ExplainCallback(x[:4], y[:4], at_train_begin=True)
    model, _ = fit("tabular", [callback])
    np.testing.assert_allclose(
        callback.attributions[3], xaikit.Saliency(model).explain(x[:4], y[:4]).attributions
    )
    assert not np.allclose(callback.attributions[0], callback.attributions[3])


def test_render_heatmaps_shapes_and_ranges():
    signed = render_heatmaps(np.linspace(-1, 1, 2 * 16 * 3).reshape(2, 4, 4, 3), 4)
    assert signed.shape == (2, 4, 4, 3) and 0 <= signed.min() and signed.max() <= 1
    rows = render_heatmaps(np.abs(np.random.default_rng(0).normal(size=(3, 7))), 2)
    assert rows.shape == (1, 3, 7, 3)
    series = render_heatmaps(np.zeros((2, 5, 2)), 3)  # all zero: no division by zero
    assert series.shape == (1, 2, 5, 3) and np.isfinite(series).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"inputs": np.zeros((0, 3))}, "inputs: expected a numeric batch"),
        ({"inputs": np.zeros(3)}, "inputs: expected a numeric batch"),
        ({"method": "nope"}, "method: unknown method 'nope'"),
        ({"method": 3}, "method: expected a registered method name or a factory"),
        ({"every_n_epochs": 0}, "every_n_epochs: expected an integer >= 1, got 0"),
        ({"params": [1]}, "params: expected a mapping"),
        ({"method": lambda m: xaikit.Saliency(m), "params": {"a": 1}}, "params: only for"),
        ({"max_images": 0}, "max_images: expected an integer >= 1"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, match):
    arguments = {"inputs": np.zeros((2, 3), "float32"), **kwargs}
    with pytest.raises(InputError, match=match):
        ExplainCallback(arguments.pop("inputs"), **arguments)


def test_a_factory_must_return_an_explainer():
    x, y = data("tabular")
    with pytest.raises(InputError, match="method: the factory must return an xaikit Explainer"):
        fit("tabular", [ExplainCallback(x[:2], method=lambda model: "saliency")])
