"""``check_explainer``: the conformance suite every attribution method should pass.

Plugin authors run it on their methods, as scikit-learn's ``check_estimator``::

    from xaikit.testing import check_explainer
    check_explainer("my_method")                           # a registered name
    check_explainer(MyMethod)                              # a class taking the model
    check_explainer(lambda model: MyMethod(model, k=3))    # or any factory

or, under pytest, one test per named check (a failure names the check)::

    from xaikit.testing import parametrize_with_checks

    @parametrize_with_checks(["my_method", MyOtherMethod])
    def test_conformance(check):
        check()

The suite builds small deterministic Keras models (tabular, sequence, image) and runs the
method only on the data kinds it declares (:class:`~xaikit.Capabilities`); on the others it
checks that the method refuses the data with an :class:`~xaikit.InputError`. A stochastic
method is seeded through its declared seed parameter, as scikit-learn sets ``random_state``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs
import keras
import numpy as np
import tensorflow as tf

from ._activations import iter_layers
from .capabilities import DATA_KINDS, Capabilities, capabilities_of
from .errors import InputError
from .explainer import Explainer
from .explanation import Explanation
from .registry import get_registry

__all__ = [
    "KINDS",
    "Check",
    "check_explainer",
    "checks",
    "conformance_models",
    "parametrize_with_checks",
]

#: Kinds of model and data the suite runs on.
KINDS = DATA_KINDS

#: A method given to the suite: a registered name, an Explainer class or a factory.
Method = str | Callable[[keras.Model], Explainer]


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


@functools.cache
def _shared_models() -> dict[str, tuple[keras.Model, np.ndarray]]:
    """The suite's own models, built once per process (the checks verify nobody changes them)."""
    return conformance_models()


# ---------------------------------------------------------------------------- the method
@attrs.frozen
class _Method:
    """A method under test: how to build it, what it declares, how to name it."""

    label: str
    factory: Callable[[keras.Model], Explainer]
    capabilities: Capabilities

    def build(self, model: keras.Model) -> Explainer:
        explainer = self.factory(model)
        if not isinstance(explainer, Explainer):
            raise AssertionError(
                f"{self.label}: the factory must return a xaikit.Explainer, got "
                f"{type(explainer).__name__}"
            )
        field = self.capabilities.seed
        if field is not None and getattr(explainer, field, None) is None:
            changes: dict[str, Any] = {field: 0}  # seeded, as check_estimator sets random_state
            explainer = attrs.evolve(explainer, **changes)
        return explainer


def _resolve(method: Method) -> _Method:
    if isinstance(method, str):
        factory = get_registry().get("methods", method, argument="method")
        return _Method(method, factory, capabilities_of(factory))
    if not callable(method):
        raise InputError(
            "method: expected a registered name, an Explainer class or a factory "
            f"model -> Explainer, got {type(method).__name__}"
        )
    label = vars(method).get("name") if isinstance(method, type) else None
    label = label or getattr(method, "__name__", None) or type(method).__name__
    return _Method(str(label), method, capabilities_of(method))


# ---------------------------------------------------------------------------- the context
class _Context:
    """One method on one kind of model: the explainer and its first result, built once and
    shared by that pair's checks (compiling kernels is the slow part)."""

    def __init__(self, method: _Method, kind: str) -> None:
        self.method, self.kind = method, kind
        self._explainer: Explainer | None = None
        self._result: Explanation | None = None

    @property
    def model(self) -> keras.Model:
        return _shared_models()[self.kind][0]

    @property
    def x(self) -> np.ndarray:
        return _shared_models()[self.kind][1]

    @property
    def explainer(self) -> Explainer:
        if self._explainer is None:
            self._explainer = self.method.build(self.model)
        return self._explainer

    @property
    def result(self) -> Explanation:
        if self._result is None:
            self._result = self.explainer.explain(self.x)
        return self._result

    @property
    def top(self) -> np.ndarray:
        return np.asarray(self.model(self.x)).argmax(axis=-1)

    @property
    def num_classes(self) -> int:
        return int(self.model.outputs[0].shape[-1])

    def evolve(self, **changes: Any) -> Explainer | None:
        """The explainer with other parameters, or None when it cannot be cloned so."""
        try:
            return attrs.evolve(self.explainer, **changes)
        except (TypeError, ValueError, attrs.exceptions.NotAnAttrsClassError):
            return None


def _close(a: np.ndarray, b: np.ndarray, what: str, rtol: float = 1e-4) -> None:
    a, b = np.asarray(a), np.asarray(b)
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-6 + rtol * scale, err_msg=what)


def _state(model: keras.Model) -> tuple[list[np.ndarray], list[Any]]:
    weights = [np.array(w) for w in model.get_weights()]
    applied = [
        (layer.name, getattr(layer, "activation", None), layer.__dict__.get("call"))
        for layer in iter_layers(model)
    ]
    return weights, applied


# ---------------------------------------------------------------------------- the checks
def check_returns_explanation(ctx: _Context) -> None:
    """explain() returns an Explanation of finite float attributions of the inputs' shape
    (the channel axis removed only by a reducer)."""
    result, x = ctx.result, ctx.x
    assert isinstance(result, Explanation), "explain() must return an Explanation"
    values = result.attributions
    assert isinstance(values, np.ndarray), "attributions must be a numpy array"
    assert np.issubdtype(values.dtype, np.floating), "attributions must be floats"
    assert np.all(np.isfinite(values)), "attributions must be finite"
    reduced = x.shape[:-1] if x.ndim >= 3 else x.shape
    assert values.shape in (x.shape, reduced), (
        f"attributions have shape {values.shape}; expected {x.shape} (or {reduced} with a "
        "reducer)"
    )


def check_reducer_none_keeps_shape(ctx: _Context) -> None:
    """With reducer=None the attributions have the inputs' shape."""
    plain = ctx.evolve(reducer=None)
    if plain is None:
        return
    got = plain.explain(ctx.x).attributions
    assert got.shape == ctx.x.shape, (
        f"with reducer=None attributions must have the inputs' shape {ctx.x.shape}, got "
        f"{got.shape}"
    )


def check_scores_are_explained_outputs(ctx: _Context) -> None:
    """targets=None explains the top class, and the scores are the explained outputs."""
    top = ctx.top
    np.testing.assert_array_equal(ctx.result.targets, top, err_msg="targets=None is top class")
    expected = np.asarray(ctx.model(ctx.x))[np.arange(len(ctx.x)), top]
    _close(ctx.result.scores, expected, "scores must be the explained outputs")


def check_deterministic(ctx: _Context) -> None:
    """Two calls give the same attributions (stochastic methods are seeded)."""
    _close(ctx.explainer.explain(ctx.x).attributions, ctx.result.attributions,
           "explain() must be deterministic")  # fmt: skip


def check_batch_size_invariance(ctx: _Context) -> None:
    """batch_size bounds memory and changes nothing else."""
    for size in (1, 3):
        other = ctx.evolve(batch_size=size)
        if other is not None:
            _close(other.explain(ctx.x).attributions, ctx.result.attributions,
                   f"batch_size={size} changed it")  # fmt: skip


def check_target_forms(ctx: _Context) -> None:
    """Class indices, one int for all, and one-hot rows give the same answer."""
    top, values = ctx.top, ctx.result.attributions
    _close(ctx.explainer.explain(ctx.x, top).attributions, values, "int targets != None")
    one_hot = np.eye(ctx.num_classes, dtype="float32")[top]
    _close(ctx.explainer.explain(ctx.x, one_hot).attributions, values, "one-hot targets")
    single = ctx.explainer.explain(ctx.x[:2], 1).attributions
    pair = ctx.explainer.explain(ctx.x[:2], np.array([1, 1])).attributions
    _close(single, pair, "one int target must mean that class for every sample")


def check_dataset_inputs(ctx: _Context) -> None:
    """A tf.data.Dataset of (x, y) gives the same result as arrays."""
    dataset = tf.data.Dataset.from_tensor_slices((ctx.x, ctx.top)).batch(4)
    _close(ctx.explainer.explain(dataset).attributions, ctx.result.attributions,
           "a tf.data.Dataset of (x, y) must give the same result")  # fmt: skip


def check_depends_on_targets(ctx: _Context) -> None:
    """Explaining another class gives other attributions."""
    other = (ctx.top + 1) % ctx.num_classes
    assert not np.allclose(ctx.explainer.explain(ctx.x, other).attributions,
                           ctx.result.attributions), (
        "attributions must depend on the targets (explaining another class gave the same result)"
    )  # fmt: skip


def check_refuses_nan(ctx: _Context) -> None:
    """NaN inputs raise an InputError."""
    bad = ctx.x.copy()
    bad[0].flat[0] = np.nan
    try:
        ctx.explainer.explain(bad)
    except InputError:
        return
    raise AssertionError("NaN inputs must raise InputError")


def check_model_unchanged(ctx: _Context) -> None:
    """The model's weights, layers and activations are the same after explaining."""
    model, x = conformance_models()[ctx.kind]  # a model no other check has touched
    before = _state(model)
    ctx.method.build(model).explain(x)
    after = _state(model)
    assert len(before[0]) == len(after[0]) and all(
        np.array_equal(a, b) for a, b in zip(before[0], after[0], strict=True)
    ), "the model's weights changed"
    assert before[1] == after[1], "the model's layers or activations changed"


def check_refuses_undeclared_data(ctx: _Context) -> None:
    """Data of a kind the method does not declare raises one InputError saying what the
    method explains (at construction or when explaining)."""
    try:
        ctx.method.build(ctx.model).explain(ctx.x)
    except InputError as error:
        assert "explains" in str(error), (
            f"the InputError for {ctx.kind} data must say what the method explains, got: "
            f"{error}"
        )
        return
    raise AssertionError(
        f"the method declares {ctx.method.capabilities.data}, so {ctx.kind} data must raise "
        "an InputError"
    )


#: The checks run on every declared kind, in order.
CHECKS: tuple[Callable[[_Context], None], ...] = (
    check_returns_explanation,
    check_reducer_none_keeps_shape,
    check_scores_are_explained_outputs,
    check_deterministic,
    check_batch_size_invariance,
    check_target_forms,
    check_dataset_inputs,
    check_depends_on_targets,
    check_refuses_nan,
    check_model_unchanged,
)


@attrs.frozen
class Check:
    """One named check of one method on one kind of data; call it to run it.

    Raises ``AssertionError`` naming the method, the kind and the check when it fails.
    """

    method: str
    kind: str
    name: str
    run: Callable[[], None] = attrs.field(repr=False)

    @property
    def id(self) -> str:
        """``"method-kind-check"``, the pytest id."""
        return f"{self.method}-{self.kind}-{self.name}"

    def __call__(self) -> None:
        try:
            self.run()
        except AssertionError as error:
            raise AssertionError(f"[{self.name} on {self.kind}] {self.method}: {error}") from None


def checks(method: Method, *, kinds: Iterable[str] | None = None) -> Iterator[Check]:
    """The named checks of ``method``, lazily (nothing is built until a check runs).

    Args:
        method: a registered name, an Explainer class, or a factory ``model -> Explainer``.
            A factory without a ``capabilities`` attribute is taken to explain every kind.
        kinds: restrict to these kinds (default: all; the method's declared kinds get the
            full suite, the others the refusal check).
    """
    resolved = _resolve(method)
    wanted = tuple(KINDS if kinds is None else kinds)
    for kind in wanted:
        if kind not in KINDS:
            raise InputError(f"kinds: expected some of {', '.join(KINDS)}, got {kind!r}")
    for kind in wanted:
        ctx = _Context(resolved, kind)
        declared = resolved.capabilities.supports(kind)
        for check in CHECKS if declared else (check_refuses_undeclared_data,):
            yield Check(resolved.label, kind, check.__name__, functools.partial(check, ctx))


def check_explainer(method: Method, *, kinds: Iterable[str] | None = None) -> None:
    """Run every conformance check on ``method`` (see :func:`checks`).

    Checks, on each declared kind: an ``Explanation`` of finite float attributions of the
    inputs' shape; scores are the explained outputs; results are deterministic (stochastic
    methods seeded through their declared seed parameter) and independent of ``batch_size``;
    every form of targets (None, int, int array, one-hot, tf.data) gives the same answer and
    another class another answer; NaN inputs are refused; the model is unchanged afterwards.
    On undeclared kinds: the data are refused with an InputError saying what is supported.

    Raises:
        AssertionError: the first check that fails, naming the check, the kind and the method.
    """
    for check in checks(method, kinds=kinds):
        check()


def parametrize_with_checks(methods: Sequence[Method], *, kinds: Iterable[str] | None = None) -> Any:
    """A ``pytest.mark.parametrize`` over every check of every method, argument ``check``.

    Test ids read ``method-kind-check``, so a failure names the check (like scikit-learn's
    ``parametrize_with_checks``).
    """
    import pytest

    wanted = None if kinds is None else tuple(kinds)
    all_checks = [check for method in methods for check in checks(method, kinds=wanted)]
    return pytest.mark.parametrize("check", all_checks, ids=[check.id for check in all_checks])
