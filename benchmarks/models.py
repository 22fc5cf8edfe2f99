"""Deterministic benchmark models, built in code (no weights are downloaded)."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

__all__ = ["MODELS", "build"]


def _seeded(seed: int) -> dict:
    return {"kernel_initializer": keras.initializers.GlorotUniform(seed=seed)}


def tabular_mlp() -> keras.Model:
    """(N, 32) -> 10 classes: two hidden ReLU layers of 64."""
    inputs = keras.Input((32,))
    h = keras.layers.Dense(64, activation="relu", **_seeded(1))(inputs)
    h = keras.layers.Dense(64, activation="relu", **_seeded(2))(h)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax", **_seeded(3))(h))


def cnn_1d() -> keras.Model:
    """(N, 128, 4) series -> 5 classes."""
    inputs = keras.Input((128, 4))
    h = keras.layers.Conv1D(16, 5, activation="relu", **_seeded(4))(inputs)
    h = keras.layers.MaxPooling1D(2)(h)
    h = keras.layers.Conv1D(32, 5, activation="relu", **_seeded(5))(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    return keras.Model(inputs, keras.layers.Dense(5, activation="softmax", **_seeded(6))(h))


def cnn_64() -> keras.Model:
    """(N, 64, 64, 3) images -> 10 classes: three conv blocks."""
    inputs = keras.Input((64, 64, 3))
    h = inputs
    for i, filters in enumerate((16, 32, 64)):
        h = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", **_seeded(7 + i))(h)
        h = keras.layers.MaxPooling2D(2)(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax", **_seeded(10))(h))


def mobilenet_v2() -> keras.Model:
    """MobileNetV2 (weights=None) on 96x96x3 inputs, 10 classes; seeded."""
    keras.utils.set_random_seed(0)
    return keras.applications.MobileNetV2(
        input_shape=(96, 96, 3), weights=None, classes=10, alpha=1.0
    )


MODELS: dict[str, Callable[[], keras.Model]] = {
    "mlp": tabular_mlp,
    "cnn1d": cnn_1d,
    "cnn64": cnn_64,
    "mobilenetv2": mobilenet_v2,
}


def build(name: str, n: int) -> tuple[keras.Model, np.ndarray]:
    """The model ``name`` and ``n`` seeded inputs for it."""
    model = MODELS[name]()
    rng = np.random.default_rng(123)
    x = rng.uniform(0.0, 1.0, size=(n, *model.inputs[0].shape[1:])).astype("float32")
    return model, x
