"""Small seeded models and data for the whole-dataset (runs, Beam, CLI --data) tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import zarr

layers = keras.layers


def _init(seed: int) -> dict[str, Any]:
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": keras.initializers.RandomUniform(-0.1, 0.1, seed=seed + 100),
    }


def tabular_model(features: int = 12, classes: int = 4) -> keras.Model:
    """(features,) -> 16 relu -> classes softmax."""
    inputs = keras.Input((features,))
    hidden = layers.Dense(16, activation="relu", **_init(1))(inputs)
    outputs = layers.Dense(classes, activation="softmax", **_init(2))(hidden)
    return keras.Model(inputs, outputs, name="tabular")


def image_model(size: int = 8, channels: int = 1, classes: int = 3) -> keras.Model:
    """(size, size, channels) -> Conv2D relu -> global average -> classes softmax."""
    inputs = keras.Input((size, size, channels))
    hidden = layers.Conv2D(4, 3, activation="relu", **_init(3))(inputs)
    hidden = layers.GlobalAveragePooling2D()(hidden)
    outputs = layers.Dense(classes, activation="softmax", **_init(4))(hidden)
    return keras.Model(inputs, outputs, name="images")


def tabular_data(n: int, features: int = 12, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, features)).astype("float32")


def image_data(n: int, size: int = 8, channels: int = 1, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(size=(n, size, size, channels)).astype("float32")


def store_contents(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every array of a run's store, and its attributes less the timestamps."""
    group = zarr.open_group(str(path), mode="r")
    arrays = {name: np.asarray(array[:]) for name, array in group.arrays()}
    attrs = {k: v for k, v in dict(group.attrs).items() if not k.endswith("_at")}
    return arrays, attrs


def assert_same_store(got: str | Path, expected: str | Path) -> None:
    """Two stores hold the same arrays (bit for bit) and attributes (but timestamps)."""
    got_arrays, got_attrs = store_contents(got)
    want_arrays, want_attrs = store_contents(expected)
    assert sorted(got_arrays) == sorted(want_arrays)
    for name, values in want_arrays.items():
        assert got_arrays[name].dtype == values.dtype, name
        np.testing.assert_array_equal(got_arrays[name], values, err_msg=name)
    assert got_attrs == want_attrs
