"""The models of the conformance suite: small seeded Keras classifiers and their inputs.

:func:`conformance_models` gives one per data kind (tabular, sequence, image);
:func:`structured_conformance_models` a two-input model and a token model, which
:mod:`xaikit.testing` runs a method on when it declares ``Capabilities(multi_input=True)``
(the two-input model) or ``layers=True`` (the token model, explained with
``layer="embedding"``).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

__all__ = ["conformance_models", "structured_conformance_models", "TOKEN_LAYER"]

#: The layer a token model is explained at.
TOKEN_LAYER = "embedding"


def _init(seed: int) -> dict[str, Any]:
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": keras.initializers.RandomUniform(-0.1, 0.1, seed=seed + 1),
    }


def conformance_models() -> dict[str, tuple[keras.Model, np.ndarray]]:
    """Small seeded classifiers (3 classes, dropout then softmax) and 7 inputs for each kind
    (new models on every call, so a caller may change them freely)."""
    rng = np.random.default_rng(0)
    layers = keras.layers
    # Each ends in dropout before its last Dense (the identity when explaining), as real
    # classifiers often do, so methods that sample dropout (mc_dropout) are checked too.
    tab_in = keras.Input((6,))
    tab = layers.Dropout(0.25, seed=2)(layers.Dense(8, activation="relu", **_init(1))(tab_in))
    tab = layers.Dense(3, **_init(3))(tab)
    seq_in = keras.Input((12, 2))
    seq = layers.Conv1D(4, 3, activation="relu", **_init(5))(seq_in)
    seq = layers.Dropout(0.25, seed=6)(layers.GlobalAveragePooling1D()(seq))
    seq = layers.Dense(3, **_init(7))(seq)
    img_in = keras.Input((8, 8, 3))
    img = layers.Conv2D(4, 3, activation="relu", padding="same", **_init(9))(img_in)
    img = layers.Conv2D(4, 3, activation="relu", **_init(11))(img)
    img = layers.Dropout(0.25, seed=12)(layers.GlobalAveragePooling2D()(img))
    img = layers.Dense(3, **_init(13))(img)
    built = {"tabular": (tab_in, tab), "sequence": (seq_in, seq), "image": (img_in, img)}
    out = {}
    for kind, (inp, hidden) in built.items():
        model = keras.Model(inp, layers.Softmax()(hidden), name=f"conformance_{kind}")
        x = rng.normal(size=(7, *inp.shape[1:])).astype("float32")
        out[kind] = (model, x)
    return out


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
