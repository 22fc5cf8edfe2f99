"""Tiny seeded Keras models and plain references shared by the public-API tests.

Models are cached (built once per test session) and never trained; tests that use them
check afterwards that they are unchanged (see :func:`model_state`).
"""

from __future__ import annotations

import functools
from typing import Any

import keras
import numpy as np
import tensorflow as tf

layers = keras.layers

#: Sample shapes of the three kinds of data.
SHAPES = {"tabular": (5,), "sequence": (6, 2), "image": (4, 4, 3)}
CLASSES = 3


def init(seed: int) -> dict[str, Any]:
    """Seeded kernel and bias initializers (non-zero biases, so nothing is trivially 0)."""
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": keras.initializers.RandomUniform(-0.2, 0.2, seed=seed + 100),
    }


def data(kind_or_shape: str | tuple[int, ...], n: int = 5, seed: int = 0) -> np.ndarray:
    """Standard-normal float32 inputs (n, ...) for a kind ('tabular', ...) or a sample shape."""
    shape = SHAPES[kind_or_shape] if isinstance(kind_or_shape, str) else kind_or_shape
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype("float32")


def _trunk(kind: str, inputs: keras.KerasTensor) -> keras.KerasTensor:
    if kind == "tabular":
        return layers.Dense(6, activation="tanh", **init(1))(inputs)
    if kind == "sequence":
        hidden = layers.Conv1D(4, 3, activation="tanh", **init(2))(inputs)
        return layers.GlobalAveragePooling1D()(hidden)
    hidden = layers.Conv2D(4, 2, activation="tanh", **init(3))(inputs)
    return layers.Flatten()(hidden)


@functools.cache
def classifier(kind: str = "tabular") -> keras.Model:
    """Softmax classifier with CLASSES outputs for 'tabular', 'sequence' or 'image' inputs."""
    inputs = keras.Input(SHAPES[kind])
    outputs = layers.Dense(CLASSES, activation="softmax", **init(7))(_trunk(kind, inputs))
    return keras.Model(inputs, outputs, name=f"{kind}_classifier")


@functools.cache
def regressor(outputs: int = 1) -> keras.Model:
    """Tabular regressor with ``outputs`` linear outputs."""
    inputs = keras.Input(SHAPES["tabular"])
    out = layers.Dense(outputs, **init(11))(_trunk("tabular", inputs))
    return keras.Model(inputs, out, name=f"regressor_{outputs}")


def reference_gradients(model: Any, x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Plain eager d(sum_k weights[:, k] * model(x)[:, k]) / dx, for comparison."""
    tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        outputs = model(tensor, training=False)
        if outputs.shape.rank == 1:
            outputs = outputs[:, None]
        score = tf.reduce_sum(outputs * tf.constant(weights, outputs.dtype), axis=-1)
    return tape.gradient(score, tensor).numpy()


def one_hot(indices: Any, classes: int = CLASSES) -> np.ndarray:
    """(N, classes) float32 one-hot rows."""
    return np.eye(classes, dtype="float32")[np.asarray(indices)]


def model_state(model: keras.Model) -> tuple[list[np.ndarray], list[tuple]]:
    """Weights and what each layer applies, to check a model is left unchanged."""
    weights = [np.array(w) for w in model.get_weights()]
    applied = [
        (layer.name, getattr(layer, "activation", None), layer.__dict__.get("call"))
        for layer in model._flatten_layers(include_self=True, recursive=True)
    ]
    return weights, applied


def assert_unchanged(model: keras.Model, before: tuple[list[np.ndarray], list[tuple]]) -> None:
    """Fail if the model's weights or applied activations differ from ``before``."""
    weights, applied = model_state(model)
    assert len(weights) == len(before[0])
    for new, old in zip(weights, before[0], strict=True):
        np.testing.assert_array_equal(new, old)
    assert applied == before[1]


class Subclassed(keras.Model):
    """A subclassed classifier: its layers are created in another order than call() uses."""

    def __init__(self) -> None:
        super().__init__(name="subclassed")
        self.head = layers.Dense(CLASSES, activation="softmax", **init(31))
        self.hidden = layers.Dense(4, activation="sigmoid", **init(32))

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return self.head(self.hidden(inputs))


@functools.cache
def subclassed() -> keras.Model:
    """A built :class:`Subclassed` model taking tabular inputs (N, 5)."""
    model = Subclassed()
    model(data("tabular", n=1))
    return model
