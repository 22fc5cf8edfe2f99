"""Structured models for the conformance suite: several inputs, and token ids.

:func:`structured_conformance_models` returns small seeded classifiers and inputs that
:mod:`xaikit.testing` can run a method on when it declares
``Capabilities(multi_input=True)`` (the two-input model) or ``layers=True`` (the token model,
explained with ``layer="embedding"``).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

__all__ = ["structured_conformance_models", "TOKEN_LAYER"]

#: The layer a token model is explained at.
TOKEN_LAYER = "embedding"


def _init(seed: int) -> dict[str, Any]:
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": keras.initializers.RandomUniform(-0.1, 0.1, seed=seed + 1),
    }


def structured_conformance_models() -> dict[str, tuple[keras.Model, Any]]:
    """``{"two_inputs": (model, {"image": (7, 8, 8, 3), "table": (7, 6)}),
    "tokens": (model, ids (7, 10) int32)}``: 3-class softmax models and 7 inputs each."""
    rng = np.random.default_rng(0)
    layers = keras.layers
    image = keras.Input((8, 8, 3), name="image")
    table = keras.Input((6,), name="table")
    h = layers.GlobalAveragePooling2D()(
        layers.Conv2D(4, 3, activation="relu", padding="same", **_init(21))(image)
    )
    h = layers.Concatenate()([h, layers.Dense(4, activation="relu", **_init(23))(table)])
    two = keras.Model(
        {"image": image, "table": table},
        layers.Softmax()(layers.Dense(3, **_init(25))(h)),
        name="conformance_two_inputs",
    )
    ids = keras.Input((10,), name="tokens", dtype="int32")
    emb = layers.Embedding(
        20, 4, name=TOKEN_LAYER, embeddings_initializer=keras.initializers.RandomNormal(seed=27)
    )(ids)
    t = layers.GlobalAveragePooling1D()(layers.Dense(6, activation="relu", **_init(29))(emb))
    tokens = keras.Model(
        ids, layers.Softmax()(layers.Dense(3, **_init(31))(t)), name="conformance_tokens"
    )
    inputs = {
        "image": rng.normal(size=(7, 8, 8, 3)).astype("float32"),
        "table": rng.normal(size=(7, 6)).astype("float32"),
    }
    token_ids = rng.integers(1, 20, size=(7, 10)).astype("int32")
    return {"two_inputs": (two, inputs), "tokens": (tokens, token_ids)}
