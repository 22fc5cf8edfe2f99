"""The demo's structured tasks: token ids explained at their embedding, and a model of two
inputs (an image and a table), each with known truth.

* ``text``: sentences of filler words where one keyword sets the class. The model looks the
  ids up in an ``Embedding``; the gradient methods explain it at that layer
  (``layer="embedding"``, ``reducer="sum"``: one score per token), and the keyword's share of
  ``|attribution|`` says whether they found it.
* ``two_input``: an image holding a square or a cross, and a table whose column ``t0``'s sign
  combines with the shape into four classes. Methods declaring ``multi_input`` explain both
  inputs at once; the report gives each input's share of the attribution and the share on its
  relevant part (the shape's pixels, column ``t0``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import keras
import numpy as np

from .._startup import quiet_startup
from .data import _shape_mask

__all__ = [
    "VOCABULARY",
    "TextData",
    "PairData",
    "sentences",
    "image_table",
    "build_text_model",
    "build_pair_model",
]

#: Filler words: they never decide the class.
FILLERS = ("the", "a", "of", "and", "to", "in", "is", "it", "that", "was", "on", "for", "with")
#: Class -> its keywords (one of them per sentence decides the class).
KEYWORDS = (("goal", "match"), ("guitar", "song"), ("pizza", "bread"))
#: Token id -> word; id 0 is padding (and integrated gradients' baseline).
VOCABULARY: tuple[str, ...] = ("<pad>", *FILLERS, *(word for pair in KEYWORDS for word in pair))
#: The name of the text model's embedding layer, where the gradient methods attribute.
EMBEDDING = "embedding"


@attrs.frozen(eq=False)
class TextData:
    """Sentences of token ids whose class is set by one keyword among fillers.

    Attributes:
        inputs: int32 (N, T) token ids (indices into ``vocabulary``).
        labels: int64 (N,) class indices.
        relevant: bool (N, T): True at the keyword.
        class_names, vocabulary, description: as their names say.
    """

    inputs: np.ndarray
    labels: np.ndarray
    relevant: np.ndarray
    class_names: tuple[str, ...]
    vocabulary: tuple[str, ...] = VOCABULARY
    description: str = ""
    kind: str = "text"

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def subset(self, rows: slice | np.ndarray) -> TextData:
        """The samples ``rows``, everything else kept."""
        return attrs.evolve(
            self, inputs=self.inputs[rows], labels=self.labels[rows], relevant=self.relevant[rows]
        )

    def tokens(self, row: int) -> list[str]:
        """The words of sentence ``row``."""
        return [self.vocabulary[int(i)] for i in self.inputs[row]]


@attrs.frozen(eq=False)
class PairData:
    """Samples of two inputs: ``inputs`` and ``relevant`` are dicts by input name.

    Attributes:
        inputs: {"image": float32 (N, H, W, 1), "table": float32 (N, F)}.
        labels: int64 (N,) class indices.
        relevant: bool masks of the inputs' shapes: the shape's pixels, column t0.
        class_names, feature_names (input name -> names of its last axis), description.
    """

    inputs: Mapping[str, np.ndarray]
    labels: np.ndarray
    relevant: Mapping[str, np.ndarray]
    class_names: tuple[str, ...]
    feature_names: Mapping[str, tuple[str, ...]]
    description: str = ""
    kind: str = "two_input"

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, rows: slice | np.ndarray) -> PairData:
        """The samples ``rows``, everything else kept."""
        return attrs.evolve(
            self,
            inputs={k: v[rows] for k, v in self.inputs.items()},
            labels=self.labels[rows],
            relevant={k: v[rows] for k, v in self.relevant.items()},
        )


def sentences(n: int, *, length: int = 8, seed: int = 0) -> TextData:
    """``n`` sentences of ``length`` tokens: fillers and one keyword of the class.

    Classes: sports (goal, match), music (guitar, song), food (pizza, bread). The keyword sits
    at a random position; the other tokens are fillers drawn uniformly.

    Returns:
        TextData of ids (n, length).
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(KEYWORDS), size=n)
    ids = rng.integers(1, 1 + len(FILLERS), size=(n, length))
    relevant = np.zeros((n, length), dtype=bool)
    position = rng.integers(0, length, size=n)
    choice = rng.integers(0, 2, size=n)
    for i, label in enumerate(labels):
        ids[i, position[i]] = VOCABULARY.index(KEYWORDS[int(label)][int(choice[i])])
        relevant[i, position[i]] = True
    return TextData(
        inputs=ids.astype(np.int32),
        labels=labels.astype(np.int64),
        relevant=relevant,
        class_names=("sports", "music", "food"),
        description="sentences of filler words; one keyword sets the topic",
    )


def image_table(n: int, *, size: int = 16, features: int = 4, seed: int = 0) -> PairData:
    """An image with a square or a cross on noise, and a table; the class needs both.

    The class is ``2 * shape + (t0 > 0)``: square or cross, combined with the sign of the
    table's column t0 (the other columns are noise).

    Returns:
        PairData of {"image": (n, size, size, 1), "table": (n, features)}.
    """
    rng = np.random.default_rng(seed)
    shape = rng.integers(0, 2, size=n)
    table = rng.normal(size=(n, features)).astype(np.float32)
    table[:, 0] = np.sign(table[:, 0]) * (0.5 + np.abs(table[:, 0]))  # keep t0 off zero
    images = rng.normal(0.0, 0.3, size=(n, size, size, 1)).astype(np.float32)
    region = np.zeros((n, size, size, 1), dtype=bool)
    for i, kind in enumerate(shape):
        half = int(rng.integers(3, 5))
        cy, cx = rng.integers(half + 1, size - half - 1, size=2)
        mask = _shape_mask(0 if kind == 0 else 2, size, half, int(cy), int(cx))
        images[i, mask, 0] += 1.0
        region[i, mask, 0] = True
    columns = np.zeros((n, features), dtype=bool)
    columns[:, 0] = True
    names = ("square, t0<0", "square, t0>0", "cross, t0<0", "cross, t0>0")
    return PairData(
        inputs={"image": images, "table": table},
        labels=(2 * shape + (table[:, 0] > 0)).astype(np.int64),
        relevant={"image": region, "table": columns},
        class_names=names,
        feature_names={"table": tuple(f"t{i}" for i in range(features))},
        description="the image's shape (square or cross) and the sign of table column t0 "
        "together set the class",
    )


def _init(seed: int) -> dict[str, Any]:
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": "zeros",
    }


def build_text_model(length: int, classes: int, seed: int = 0) -> Any:
    """Token ids (length,) -> Embedding (named ``embedding``) -> per-token ReLU layer ->
    global max pooling -> softmax over ``classes``."""
    layers = keras.layers
    ids = keras.Input((length,), dtype="int32", name="tokens")
    x = layers.Embedding(
        len(VOCABULARY),
        16,
        name=EMBEDDING,
        embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed),
    )(ids)
    x = layers.Dense(16, activation="relu", **_init(seed + 1))(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dropout(0.1, seed=seed + 3)(x)
    x = layers.Dense(classes, **_init(seed + 2))(x)
    return keras.Model(ids, layers.Softmax()(x), name="demo_text")


def build_pair_model(
    image_shape: tuple[int, ...], features: int, classes: int, seed: int = 0
) -> Any:
    """{"image": (H, W, 1), "table": (F,)} -> a small CNN and a dense layer, joined -> softmax."""
    layers = keras.layers
    image = keras.Input(image_shape, name="image")
    table = keras.Input((features,), name="table")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", **_init(seed))(image)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(16, 3, padding="same", activation="relu", **_init(seed + 1))(x)
    x = layers.GlobalMaxPooling2D()(x)
    t = layers.Dense(8, activation="relu", **_init(seed + 2))(table)
    x = layers.Concatenate()([x, t])
    x = layers.Dense(32, activation="relu", **_init(seed + 3))(x)
    x = layers.Dropout(0.1, seed=seed + 5)(x)
    x = layers.Dense(classes, **_init(seed + 4))(x)
    return keras.Model({"image": image, "table": table}, layers.Softmax()(x), name="demo_pair")


def train(data: TextData | PairData, *, epochs: int, seed: int = 0) -> Any:
    """Build and fit the task's model on ``data`` (Adam, cross-entropy), seeded."""
    keras.utils.set_random_seed(seed)
    classes = len(data.class_names)
    if isinstance(data, TextData):
        model = build_text_model(data.inputs.shape[1], classes, seed)
        x: Any = data.inputs
    else:
        model = build_pair_model(
            data.inputs["image"].shape[1:], data.inputs["table"].shape[1], classes, seed
        )
        x = dict(data.inputs)
    model.compile(optimizer=keras.optimizers.Adam(5e-3), loss="sparse_categorical_crossentropy")
    with quiet_startup():  # fit's input pipeline logs a harmless E0000 line per model
        model.fit(x, data.labels, batch_size=32, epochs=epochs, shuffle=True, verbose=0)
    return model


def predict(model: Any, data: TextData | PairData) -> np.ndarray:
    """(N, K) class probabilities."""
    x = data.inputs if isinstance(data, TextData) else dict(data.inputs)
    return np.asarray(model(x, training=False))
