"""Hypothesis profiles, strategies and cached small models for the property tests.

Profiles (chosen with ``HYPOTHESIS_PROFILE``, default ``ci``):

* ``ci``: few examples per property, no deadline, derandomized, so ``make test`` is
  deterministic and fast;
* ``fuzz``: many examples, random (``make fuzz``).

The property tests apply the profile with ``@settings(PROFILE)``, so other hypothesis tests
of the suite keep their own settings.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import attrs
import keras
import numpy as np
import tensorflow as tf
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import xaikit

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "ci",
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=_QUIET,
    print_blob=True,
)
settings.register_profile(
    "fuzz",
    max_examples=60,
    deadline=None,
    suppress_health_check=_QUIET,
    print_blob=True,
)
#: The active profile's settings; the property tests are decorated with ``@settings(PROFILE)``.
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: Parameters that keep each method cheap (unknown plugin methods get none).
METHOD_PARAMS: dict[str, dict[str, Any]] = {
    "integrated_gradients": {"steps": 4},
    "random_baseline_ig": {"steps": 4, "num_runs": 2},
    "smoothgrad": {"n_samples": 3},
    "vargrad": {"n_samples": 3},
    "squaregrad": {"n_samples": 3},
    "gradient_shap": {"num_samples": 4},
    "kernel_shap": {"num_samples": 64},
    "lime": {"num_samples": 64},
    "mc_dropout": {"passes": 3},
}

#: Methods whose attributions may legitimately be all zero although the explained score
#: depends on the inputs, and why.
ZERO_ALLOWED = {
    "gradcam": "the map is ReLU-clipped: all-negative evidence gives a zero map",
    "gradcam_plus_plus": "the map is ReLU-clipped: all-negative evidence gives a zero map",
    "vargrad": "the noise scales with each sample's range: a constant sample gets no noise",
    "guided_gradcam": "Grad-CAM's ReLU-clipped map times guided gradients",
}

#: Sample shapes drawn for each data kind: small, so models and kernels build fast.
SAMPLE_SHAPES = {
    "tabular": st.tuples(st.integers(1, 6)),
    "sequence": st.tuples(st.integers(2, 5), st.integers(1, 3)),
    "image": st.tuples(st.integers(3, 5), st.integers(3, 5), st.integers(1, 3)),
}
INPUT_DTYPES = ("float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool")


def method_entry(name: str) -> Any:
    """The registry entry of method ``name`` (its object and the plugin providing it)."""
    return xaikit.get_registry().entries("methods")[name]


def method_kwargs(name: str, **more: Any) -> dict[str, Any]:
    """The parameters the property tests build method ``name`` with (seeded if stochastic)."""
    params = dict(METHOD_PARAMS.get(name, {}))
    seed_field = xaikit.capabilities_of(method_entry(name).obj).seed
    if seed_field is not None:
        params[seed_field] = 0
    return {**params, **more}


def _init(seed: int) -> dict[str, Any]:
    return {
        "kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
        "bias_initializer": keras.initializers.RandomUniform(-0.2, 0.2, seed=seed + 100),
    }


def build_model(sample_shape: tuple[int, ...], outputs: int) -> keras.Model:
    """A small seeded model of ``sample_shape`` with a ReLU branch (guided backprop, Grad-CAM
    find something), a dropout layer (MC dropout) and a linear skip connection (gradients
    never vanish everywhere).

    Softmax outputs for ``outputs`` > 1, one linear output otherwise.
    """
    layers = keras.layers
    inputs = keras.Input(sample_shape)
    if len(sample_shape) == 1:
        hidden = layers.Dense(6, activation="relu", **_init(1))(inputs)
    elif len(sample_shape) == 2:
        hidden = layers.Conv1D(4, 2, padding="same", activation="relu", **_init(2))(inputs)
        hidden = layers.GlobalAveragePooling1D()(hidden)
    else:
        hidden = layers.Conv2D(4, 2, padding="same", activation="relu", **_init(3))(inputs)
        hidden = layers.GlobalAveragePooling2D()(hidden)
    hidden = layers.Dropout(0.25, seed=5)(hidden)  # inactive when explaining; MC dropout uses it
    joined = layers.Concatenate()([hidden, layers.Flatten()(inputs)])
    logits = layers.Dense(outputs, **_init(4))(joined)
    out = layers.Softmax()(logits) if outputs > 1 else logits
    name = "x".join(map(str, sample_shape))
    return keras.Model(inputs, out, name=f"fuzz_{name}_{outputs}")


@functools.cache
def cached_model(sample_shape: tuple[int, ...], outputs: int) -> keras.Model:
    """:func:`build_model`, built once per (shape, outputs) for the whole session."""
    return build_model(sample_shape, outputs)


@functools.cache
def cached_explainer(name: str, sample_shape: tuple[int, ...], outputs: int, batch_size: int):
    """One explainer per (method, model, batch_size), so its kernels are traced once."""
    model = cached_model(sample_shape, outputs)
    return xaikit.get_explainer(name, model, **method_kwargs(name, batch_size=batch_size))


@attrs.frozen(repr=False)
class Case:
    """One drawn call: what to pass and what should happen.

    Attributes:
        fault: None for a valid call, else the argument ('inputs' or 'targets') the call
            must be refused for with an InputError naming it.
    """

    sample_shape: tuple[int, ...]
    outputs: int
    batch_size: int
    x: np.ndarray
    inputs: Any
    targets: Any
    fault: str | None
    why: str

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        return (
            f"Case({self.why}; shape={self.x.shape} dtype={self.x.dtype} outputs={self.outputs} "
            f"batch_size={self.batch_size} inputs={type(self.inputs).__name__} "
            f"targets={self.targets!r})"
        )


def _values(dtype: str) -> st.SearchStrategy:
    if dtype == "bool":
        return st.booleans()
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        return st.integers(max(int(info.min), -1000), min(int(info.max), 1000))
    return st.floats(-8.0, 8.0, width=16 if dtype == "float16" else 32)


def _container(draw: Any, x: np.ndarray) -> Any:
    form = draw(st.sampled_from(["numpy", "tensor", "dataset", "list"]))
    if form == "tensor":
        return tf.constant(x)
    if form == "dataset":
        return tf.data.Dataset.from_tensor_slices(x).batch(draw(st.integers(1, 4)))
    if form == "list":
        return x.tolist()
    return x


_GOOD_TARGETS = ("none", "int", "ints", "one_hot", "weights", "bool_mask", "column", "whole")
_BAD_TARGETS = (
    "int_out_of_range",
    "ints_out_of_range",
    "ints_wrong_length",
    "weights_wrong_rows",
    "weights_wrong_columns",
    "weights_nan",
    "fractional",
    "rank3",
    "strings",
)


def _targets(draw: Any, form: str, n: int, k: int) -> Any:
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    ints = rng.integers(0, k, size=n)
    if form == "none":
        return None
    if form == "int":
        return int(ints[0])
    if form == "ints":
        return ints
    if form == "one_hot":
        return np.eye(k, dtype="float32")[ints]
    if form == "weights":
        return rng.uniform(0.1, 1.0, size=(n, k)).astype("float32")
    if form == "bool_mask":
        return np.eye(k, dtype=bool)[ints]
    if form == "column":
        return ints[:, None] if k > 1 else np.ones((n, 1), "float32")
    if form == "whole":
        return ints.astype("float64")
    if form == "int_out_of_range":
        return draw(st.sampled_from([-1, k, k + 5]))
    if form == "ints_out_of_range":
        bad = ints.copy()
        bad[draw(st.integers(0, n - 1))] = draw(st.sampled_from([-1, k]))
        return bad
    if form == "ints_wrong_length":
        return rng.integers(0, k, size=n + draw(st.sampled_from([-1, 1, 3])))
    if form == "weights_wrong_rows":
        return np.ones((n + 1, k), "float32")
    if form == "weights_wrong_columns":
        return np.ones((n, k + 1), "float32")
    if form == "weights_nan":
        weights = np.ones((n, k), "float32")
        weights[draw(st.integers(0, n - 1)), draw(st.integers(0, k - 1))] = np.nan
        return weights
    if form == "fractional":
        return np.full(n, 0.5)
    if form == "rank3":
        return np.zeros((n, k, 1), "float32")
    if form == "strings":
        return np.array(["a"] * n)
    raise AssertionError(form)


@st.composite
def cases(draw: Any, kinds: tuple[str, ...]) -> Case:
    """A call on a model of one of ``kinds``: valid, or with one fault in inputs or targets."""
    kind = draw(st.sampled_from(kinds))
    shape = draw(SAMPLE_SHAPES[kind])
    outputs = draw(st.sampled_from([1, 3]))
    n = draw(st.integers(1, 5))
    batch_size = draw(st.integers(1, n + 3))
    dtype = draw(st.sampled_from(INPUT_DTYPES))
    x = draw(hnp.arrays(dtype, (n, *shape), elements=_values(dtype)))
    fault = draw(
        st.sampled_from([None] * 6 + ["nan", "inf", "overflow", "empty", "targets"])
        if np.issubdtype(x.dtype, np.floating)
        else st.sampled_from([None] * 6 + ["empty", "targets"])
    )
    why, expected, target_form = "valid", None, draw(st.sampled_from(_GOOD_TARGETS))
    if fault in ("nan", "inf", "overflow"):
        value = {"nan": np.nan, "inf": draw(st.sampled_from([np.inf, -np.inf])), "overflow": 0}
        if fault == "overflow":  # finite in float64, beyond float32's range
            x = x.astype("float64")
        index = tuple(draw(st.integers(0, d - 1)) for d in x.shape)
        x = x.copy()
        x[index] = value[fault] if fault != "overflow" else draw(st.sampled_from([1e39, -1e300]))
        why, expected = f"{fault} at {index}", "inputs"
    elif fault == "empty":
        x, why, expected = x[:0], "no samples", "inputs"
    elif fault == "targets":
        target_form = draw(st.sampled_from(_BAD_TARGETS))
        why, expected = f"targets {target_form}", "targets"
    targets = _targets(draw, target_form, max(len(x), 1), outputs)
    if fault == "empty" and target_form != "none":
        targets = None
    return Case(
        sample_shape=shape,
        outputs=outputs,
        batch_size=batch_size,
        x=x,
        inputs=_container(draw, x),
        targets=targets,
        fault=expected,
        why=why if fault else f"valid, targets {target_form}",
    )
