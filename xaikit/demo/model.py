"""Small seeded Keras classifiers for the demo data, and their training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from .._startup import quiet_startup
from .data import DemoData

__all__ = ["build_model", "train_model"]


def _init(seed: int) -> dict[str, Any]:
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": "zeros",
    }


def build_model(kind: str, input_shape: tuple[int, ...], num_classes: int, seed: int = 0) -> Any:
    """A small ReLU classifier ending in softmax for 'image', 'series' or 'tabular' inputs.

    Convolutions end in global max pooling, so the models look for a pattern anywhere in the
    input, as the demo data requires. A light dropout before the output layer regularises
    training, as in most real classifiers, and gives ``mc_dropout`` something to sample.
    """
    layers = keras.layers
    inputs = keras.Input(input_shape)
    if kind == "image":
        x = layers.Conv2D(16, 3, padding="same", activation="relu", **_init(seed))(inputs)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Conv2D(32, 3, padding="same", activation="relu", **_init(seed + 1))(x)
        x = layers.GlobalMaxPooling2D()(x)
    elif kind == "series":
        x = layers.Conv1D(16, 5, padding="same", activation="relu", **_init(seed))(inputs)
        x = layers.Conv1D(16, 5, padding="same", activation="relu", **_init(seed + 1))(x)
        x = layers.GlobalMaxPooling1D()(x)
    elif kind == "tabular":
        x = layers.Dense(32, activation="relu", **_init(seed))(inputs)
    else:
        raise ValueError(f"kind: expected 'image', 'series' or 'tabular', got {kind!r}")
    x = layers.Dropout(0.1, seed=seed + 3)(x)
    x = layers.Dense(num_classes, **_init(seed + 2))(x)
    outputs = layers.Softmax()(x)
    return keras.Model(inputs, outputs, name=f"demo_{kind}")


def train_model(
    data: DemoData, *, epochs: int, seed: int = 0, callbacks: Sequence[Any] = ()
) -> Any:
    """Build and fit a model on ``data`` (Adam, cross-entropy), seeded; returns the model.

    ``callbacks`` go to ``fit`` (the demo watches the image model with an ExplainCallback).
    """
    keras.utils.set_random_seed(seed)
    model = build_model(data.kind, data.inputs.shape[1:], len(data.class_names), seed)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    with quiet_startup():  # fit's input pipeline logs a harmless E0000 line per model
        model.fit(
            data.inputs,
            data.labels,
            batch_size=32,
            epochs=epochs,
            shuffle=True,
            verbose=0,
            callbacks=list(callbacks),
        )
    return model


def accuracy(model: Any, data: DemoData) -> float:
    """Fraction of ``data`` the model classifies correctly."""
    predicted = np.asarray(model(data.inputs, training=False)).argmax(-1)
    return float(np.mean(predicted == data.labels))
