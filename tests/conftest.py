"""Seeded models and inputs shared by the method tests.

Four model kinds are explained by every method: a tabular MLP classifier (softmax), a 1-D CNN,
a 2-D CNN (10x10x3) and a regression model (one linear output). Each is made by a builder
``build(dtype, guided)``: the tests explain the float32 model, and the references rebuild the
same architecture in float64 (``guided=True`` puts the reference's guided ReLU in place of
every ReLU) and copy the weights over with ``set_weights``. See :class:`Case`.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import attrs  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import reference  # noqa: E402

layers = keras.layers

#: Samples per model: few, so the per-sample eager references stay fast.
NUM_SAMPLES = 3


def init(seed: int) -> dict[str, Any]:
    """Seeded kernel and (non-zero) bias initializers for one layer."""
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": keras.initializers.RandomUniform(-0.2, 0.2, seed=seed + 1000),
    }


def relu(guided: bool) -> Any:
    """The ``activation=`` argument of a ReLU layer: 'relu', or the reference's guided ReLU."""
    return reference.guided_relu() if guided else "relu"


def relu_layer(guided: bool, dtype: str, **config: Any) -> layers.Layer:
    """``ReLU(**config)``, or in a guided reference an Activation with the explicit formula."""
    if guided:
        return layers.Activation(reference.guided_relu(**config), dtype=dtype)
    return layers.ReLU(**config, dtype=dtype)


# --------------------------------------------------------------------------- builders
def build_mlp(dtype: str = "float32", guided: bool = False) -> keras.Model:
    """Tabular classifier: (6,) -> 10 relu -> 8 relu -> 3 softmax."""
    inputs = keras.Input((6,), dtype=dtype)
    h = layers.Dense(10, activation=relu(guided), dtype=dtype, **init(1))(inputs)
    h = layers.Dense(8, activation=relu(guided), dtype=dtype, **init(2))(h)
    outputs = layers.Dense(3, activation="softmax", dtype=dtype, **init(3))(h)
    return keras.Model(inputs, outputs, name="mlp")


def build_cnn1d(dtype: str = "float32", guided: bool = False) -> keras.Model:
    """Sequence classifier: (12, 2) -> Conv1D relu -> Conv1D relu -> flatten -> 3 softmax."""
    inputs = keras.Input((12, 2), dtype=dtype)
    h = layers.Conv1D(4, 3, activation=relu(guided), dtype=dtype, **init(11))(inputs)
    h = layers.Conv1D(4, 3, padding="same", activation=relu(guided), dtype=dtype, **init(12))(h)
    h = layers.Flatten(dtype=dtype)(h)
    outputs = layers.Dense(3, activation="softmax", dtype=dtype, **init(13))(h)
    return keras.Model(inputs, outputs, name="cnn1d")


def build_cnn2d(dtype: str = "float32", guided: bool = False) -> keras.Model:
    """Image classifier: (10, 10, 3) -> Conv2D relu -> avgpool -> Conv2D relu -> 3 softmax.

    Average, not max, pooling: IG's path starts at constant baselines, where every pooling
    window holds equal values and max pooling's gradient is a tie that float32 and float64
    kernels may break differently (a subgradient choice, not an error).
    """
    inputs = keras.Input((10, 10, 3), dtype=dtype)
    h = layers.Conv2D(4, 3, activation=relu(guided), dtype=dtype, **init(21))(inputs)
    h = layers.AveragePooling2D(2, dtype=dtype)(h)
    h = layers.Conv2D(4, 2, activation=relu(guided), dtype=dtype, **init(22))(h)
    h = layers.Flatten(dtype=dtype)(h)
    outputs = layers.Dense(3, activation="softmax", dtype=dtype, **init(23))(h)
    return keras.Model(inputs, outputs, name="cnn2d")


def build_regression(dtype: str = "float32", guided: bool = False) -> keras.Model:
    """Regression: (5,) -> 8 relu -> 6 relu -> 1 linear output."""
    inputs = keras.Input((5,), dtype=dtype)
    h = layers.Dense(8, activation=relu(guided), dtype=dtype, **init(31))(inputs)
    h = layers.Dense(6, activation=relu(guided), dtype=dtype, **init(32))(h)
    outputs = layers.Dense(1, dtype=dtype, **init(33))(h)
    return keras.Model(inputs, outputs, name="regression")


@attrs.define(eq=False)
class Case:
    """A float32 model to explain, its inputs, and float64 copies for the references.

    Attributes:
        name: 'mlp', 'cnn1d', 'cnn2d' or 'regression'.
        build: ``build(dtype, guided)`` making the architecture.
        x: (N, ...) float32 inputs.
        operator: the operator the method tests use ('classification' / 'regression').
    """

    name: str
    build: Callable[..., keras.Model]
    x: np.ndarray
    operator: str
    model: keras.Model = attrs.field(init=False)
    _copies: dict = attrs.field(init=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        self.model = self.build("float32", False)

    @property
    def num_outputs(self) -> int:
        return int(self.model.outputs[0].shape[-1])

    def copy64(self, guided: bool = False) -> keras.Model:
        """The same model in float64 (guided: with the reference's guided ReLUs), same weights."""
        if guided not in self._copies:
            copy = self.build("float64", guided)
            copy.set_weights(self.model.get_weights())
            self._copies[guided] = copy
        return self._copies[guided]

    def top(self) -> np.ndarray:
        """(N,) the top-scoring output per sample (0 for the regression model)."""
        return np.asarray(self.model(self.x)).argmax(axis=-1)

    def weights(self, targets: Any = None) -> np.ndarray:
        """(N, K) float64 target weights that ``explain(x, targets)`` should use."""
        n = len(self.x)
        if targets is None:
            return reference.one_hot(self.top(), self.num_outputs)
        targets = np.asarray(targets)
        if targets.ndim == 2:
            return targets.astype(np.float64)
        return reference.one_hot(np.broadcast_to(targets, (n,)), self.num_outputs)

    def targets_forms(self) -> dict[str, Any]:
        """Targets in each accepted form: None, one int, ints (N,), one-hot and soft weights."""
        top = self.top()
        forms: dict[str, Any] = {
            "none": None,
            "int": int(top[0]) if self.num_outputs == 1 else 1,
            "ints": top,
            "one_hot": np.eye(self.num_outputs, dtype="float32")[top],
        }
        if self.num_outputs > 1:
            mixed = np.full((len(top), self.num_outputs), 0.25, dtype="float32")
            mixed[:, 0] = 0.5
            forms["weights"] = mixed
        return forms


def _make_cases() -> dict[str, Case]:
    rng = np.random.default_rng(1234)

    def data(*shape: int) -> np.ndarray:
        return rng.normal(size=(NUM_SAMPLES, *shape)).astype("float32")

    return {
        "mlp": Case("mlp", build_mlp, data(6), "classification"),
        "cnn1d": Case("cnn1d", build_cnn1d, data(12, 2), "classification"),
        "cnn2d": Case("cnn2d", build_cnn2d, data(10, 10, 3), "classification"),
        "regression": Case("regression", build_regression, data(5), "regression"),
    }


CASE_NAMES = ("mlp", "cnn1d", "cnn2d", "regression")


@pytest.fixture(scope="session")
def cases() -> dict[str, Case]:
    """All four model cases, built once per session."""
    return _make_cases()


@pytest.fixture(params=CASE_NAMES)
def case(request: pytest.FixtureRequest, cases: dict[str, Case]) -> Case:
    """Each of the four model cases in turn."""
    return cases[request.param]
