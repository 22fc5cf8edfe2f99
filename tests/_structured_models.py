"""Seeded structured models for the structured-input tests, in float32 and float64.

Each builder takes a dtype; the float64 twin gets the float32 model's weights, so plain
float64 references (eager GradientTape loops, nothing from xaikit) can be compared with
xaikit's compiled float32 results.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

layers = keras.layers
VOCAB, LENGTH, WIDTH = 12, 6, 4


def _init(seed: int) -> dict[str, Any]:
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": keras.initializers.RandomUniform(-0.2, 0.2, seed=seed + 100),
    }


def two_input(dtype: str = "float32", dict_inputs: bool = False) -> keras.Model:
    """Table a (4,) and sequence b (5, 2) -> 3 classes (softmax)."""
    a = keras.Input((4,), name="a", dtype=dtype)
    b = keras.Input((5, 2), name="b", dtype=dtype)
    hb = layers.GlobalAveragePooling1D(dtype=dtype)(
        layers.Conv1D(3, 2, activation="tanh", dtype=dtype, **_init(1))(b)
    )
    h = layers.Concatenate(dtype=dtype)([a, hb])
    h = layers.Dense(6, activation="tanh", dtype=dtype, **_init(2))(h)
    out = layers.Dense(3, activation="softmax", dtype=dtype, **_init(3))(h)
    inputs = {"a": a, "b": b} if dict_inputs else [a, b]
    return keras.Model(inputs, out, name="two_input")


def token_model(dtype: str = "float32") -> keras.Model:
    """Token ids (6,) int32 -> Embedding(12, 4) -> mean over tokens -> 3 classes."""
    ids = keras.Input((LENGTH,), name="tokens", dtype="int32")
    emb = layers.Embedding(
        VOCAB,
        WIDTH,
        name="embedding",
        dtype=dtype,
        embeddings_initializer=keras.initializers.RandomNormal(seed=4),
    )(ids)
    return keras.Model(ids, _token_head(emb, dtype), name="token_model")


def _token_head(emb: Any, dtype: str) -> Any:
    h = layers.Dense(5, activation="tanh", dtype=dtype, name="mix", **_init(5))(emb)
    h = layers.GlobalAveragePooling1D(dtype=dtype, name="pool")(h)
    return layers.Dense(3, dtype=dtype, name="logits", **_init(6))(h)


def token_head(dtype: str = "float64") -> keras.Model:
    """The token model after its embedding: embeddings (6, 4) -> 3 logits."""
    emb = keras.Input((LENGTH, WIDTH), dtype=dtype)
    return keras.Model(emb, _token_head(emb, dtype))


def mixed(dtype: str = "float32") -> keras.Model:
    """A float table 'num' (3,) and a categorical id 'cat' (1,) at an Embedding(5, 2)."""
    num = keras.Input((3,), name="num", dtype=dtype)
    cat = keras.Input((1,), name="cat", dtype="int32")
    emb = layers.Embedding(
        5,
        2,
        name="cat_emb",
        dtype=dtype,
        embeddings_initializer=keras.initializers.RandomNormal(seed=7),
    )(cat)
    h = layers.Concatenate(dtype=dtype)([num, layers.Flatten(dtype=dtype)(emb)])
    h = layers.Dense(4, activation="tanh", dtype=dtype, **_init(8))(h)
    return keras.Model([num, cat], layers.Dense(2, dtype=dtype, **_init(9))(h), name="mixed")


def two_heads(dtype: str = "float32") -> keras.Model:
    """A table (5,) -> {'label': 3 logits, 'age': 1 value} (a dict of outputs)."""
    x = keras.Input((5,), name="x", dtype=dtype)
    h = layers.Dense(6, activation="tanh", dtype=dtype, **_init(10))(x)
    label = layers.Dense(3, dtype=dtype, name="label_head", **_init(11))(h)
    age = layers.Dense(1, dtype=dtype, name="age_head", **_init(12))(h)
    return keras.Model(x, {"label": label, "age": age}, name="two_heads")


def twin(build: Any, model: keras.Model, **kwargs: Any) -> keras.Model:
    """The float64 copy of ``model``."""
    model64 = build("float64", **kwargs)
    model64.set_weights(model.get_weights())
    return model64


# ------------------------------------------------------------------ float64 references
def trapezoid(steps: int) -> tuple[np.ndarray, np.ndarray]:
    alphas = np.linspace(0.0, 1.0, steps + 1)
    weights = np.full(steps + 1, 1.0 / steps)
    weights[[0, -1]] /= 2
    return alphas, weights


def grads(fn: Any, parts: list[np.ndarray], weights: np.ndarray) -> tuple[list[np.ndarray], float]:
    """Gradients of ``sum(weights * fn(parts))`` for one sample (parts without batch axis)."""
    tensors = [tf.constant(np.asarray(p, np.float64)[None]) for p in parts]
    with tf.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        value = tf.reduce_sum(fn(tensors)[0] * tf.constant(weights, tf.float64))
    return [g.numpy()[0] for g in tape.gradient(value, tensors)], float(value)


def path_ig(
    fn: Any, x: list[np.ndarray], base: list[np.ndarray], weights: np.ndarray, steps: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """IG of every part together along one straight path, per sample; and f(x) - f(b)."""
    alphas, w = trapezoid(steps)
    out = [np.zeros_like(p, dtype=np.float64) for p in x]
    gaps = []
    for i in range(len(x[0])):
        total = [np.zeros_like(p[i], dtype=np.float64) for p in x]
        ends = []
        for alpha, weight in zip(alphas, w, strict=True):
            point = [b[i] + alpha * (p[i] - b[i]) for p, b in zip(x, base, strict=True)]
            g, value = grads(fn, point, weights[i])
            total = [t + weight * gi for t, gi in zip(total, g, strict=True)]
            if alpha in (0.0, 1.0):
                ends.append(value)
        for k, p in enumerate(x):
            out[k][i] = (p[i] - base[k][i]) * total[k]
        gaps.append(ends[1] - ends[0])
    return out, np.asarray(gaps)
