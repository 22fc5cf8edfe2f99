"""The conformance checks behind :mod:`xaikit.testing`, one function per named check.

Each check takes a context (one method on one kind of model, with the explainer and its
first result built once and shared) and raises ``AssertionError`` saying what is wrong.
:func:`xaikit.testing.checks` decides which checks run on which kinds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import attrs
import keras
import numpy as np
import tensorflow as tf

from ._activations import iter_layers
from .capabilities import Capabilities, capabilities_of
from .errors import InputError
from .explainer import Explainer
from .explanation import Explanation
from .registry import get_registry
from .testing_models import TOKEN_LAYER, conformance_models, structured_conformance_models

__all__ = [
    "STRUCTURED_KINDS",
    "CHECKS",
    "Method",
    "MethodUnderTest",
    "CheckContext",
    "resolve_method",
    "check_refuses_undeclared_data",
    "check_refuses_several_inputs",
]

#: A method given to the suite: a registered name, an Explainer class or a factory.
Method = str | Callable[[keras.Model], Explainer]

#: Kinds of structured model the suite adds for methods that declare them: a two-input model
#: (``Capabilities(multi_input=True)``) and a token model explained at its embedding layer
#: (``Capabilities(layers=True)``).
STRUCTURED_KINDS = ("two_inputs", "tokens")


def _fresh_models(kind: str) -> tuple[keras.Model, Any]:
    if kind in STRUCTURED_KINDS:
        return structured_conformance_models()[kind]
    return conformance_models()[kind]


@functools.cache
def _shared_models(kind: str) -> tuple[keras.Model, Any]:
    """The suite's own model of ``kind``, built once per process (the checks verify nobody
    changes it)."""
    return _fresh_models(kind)


# ---------------------------------------------------------------------------- structures
def _leaves(value: Any) -> list[Any]:
    """The arrays of an input or attribution structure (array, list, dict), in a fixed order."""
    return [np.asarray(leaf) for leaf in tf.nest.flatten(value)]


def _take(value: Any, rows: Any) -> Any:
    """The rows ``rows`` of every array of a structure."""
    return tf.nest.map_structure(lambda leaf: np.asarray(leaf)[rows], value)


def _num_samples(value: Any) -> int:
    return len(_leaves(value)[0])


def _joined(value: Any) -> np.ndarray:
    """All values of a structure, as one flat float64 vector."""
    return np.concatenate([leaf.astype(np.float64).ravel() for leaf in _leaves(value)])


# ---------------------------------------------------------------------------- the method
@attrs.frozen
class MethodUnderTest:
    """A method under test: how to build it, what it declares, how to name it."""

    label: str
    factory: Callable[..., Explainer]
    capabilities: Capabilities
    #: Whether the factory takes parameters (registered names and classes do).
    takes_params: bool
    #: Whether the capabilities were declared (a bare factory's are assumed, so the suite
    #: does not hold it to the structured models).
    declared: bool

    def build(self, model: keras.Model, **params: Any) -> Explainer:
        explainer = self.factory(model, **params)
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


def resolve_method(method: Method) -> MethodUnderTest:
    if isinstance(method, str):
        factory = get_registry().get("methods", method, argument="method")
        declared = getattr(factory, "capabilities", None) is not None
        return MethodUnderTest(method, factory, capabilities_of(factory), True, declared)
    if not callable(method):
        raise InputError(
            "method: expected a registered name, an Explainer class or a factory "
            f"model -> Explainer, got {type(method).__name__}"
        )
    label = vars(method).get("name") if isinstance(method, type) else None
    label = label or getattr(method, "__name__", None) or type(method).__name__
    declared = getattr(method, "capabilities", None) is not None
    return MethodUnderTest(
        str(label), method, capabilities_of(method), isinstance(method, type), declared
    )


# ---------------------------------------------------------------------------- the context
class CheckContext:
    """One method on one kind of model: the explainer and its first result, built once and
    shared by that pair's checks (compiling kernels is the slow part)."""

    def __init__(self, method: MethodUnderTest, kind: str) -> None:
        self.method, self.kind = method, kind
        #: Parameters the method is built with: the token model is explained at its embedding.
        self.params: dict[str, Any] = {"layer": TOKEN_LAYER} if kind == "tokens" else {}
        self._explainer: Explainer | None = None
        self._result: Explanation | None = None

    @property
    def model(self) -> keras.Model:
        return _shared_models(self.kind)[0]

    @property
    def x(self) -> Any:
        return _shared_models(self.kind)[1]

    def build(self, model: keras.Model) -> Explainer:
        return self.method.build(model, **self.params)

    @property
    def explainer(self) -> Explainer:
        if self._explainer is None:
            self._explainer = self.build(self.model)
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

    def expected_shapes(self) -> list[tuple[tuple[int, ...], ...]]:
        """Per input (in structure order): the shapes attributions may have (unreduced first)."""
        if self.kind == "tokens":
            full = tuple(self.model.get_layer(TOKEN_LAYER).output.shape)
            n = _num_samples(self.x)
            return [((n, *full[1:]), (n, *full[1:-1]))]
        return [
            (leaf.shape, leaf.shape[:-1] if leaf.ndim >= 3 else leaf.shape)
            for leaf in _leaves(self.x)
        ]

    def evolve(self, **changes: Any) -> Explainer | None:
        """The explainer with other parameters, or None when it cannot be cloned so."""
        try:
            return attrs.evolve(self.explainer, **changes)
        except (TypeError, ValueError, attrs.exceptions.NotAnAttrsClassError):
            return None


def _close(a: Any, b: Any, what: str, rtol: float = 1e-4) -> None:
    a, b = _joined(a), _joined(b)
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
def check_returns_explanation(ctx: CheckContext) -> None:
    """explain() returns an Explanation of finite float attributions of the inputs' shape
    (the channel axis removed only by a reducer), in the inputs' structure."""
    result = ctx.result
    assert isinstance(result, Explanation), "explain() must return an Explanation"
    values = result.attributions
    if not isinstance(ctx.x, np.ndarray):
        assert type(values) is type(ctx.x), (
            f"attributions must mirror the inputs' structure ({type(ctx.x).__name__}), got "
            f"{type(values).__name__}"
        )
        if isinstance(ctx.x, dict):
            assert set(values) == set(ctx.x), (
                f"attributions must have the inputs' keys {sorted(ctx.x)}, got {sorted(values)}"
            )
    leaves = _leaves(values)
    expected = ctx.expected_shapes()
    assert len(leaves) == len(expected), (
        f"expected attributions for {len(expected)} input(s), got {len(leaves)}"
    )
    for leaf, shapes in zip(leaves, expected, strict=True):
        assert isinstance(tf.nest.flatten(values)[0], np.ndarray), (
            "attributions must be numpy arrays"
        )
        assert np.issubdtype(leaf.dtype, np.floating), "attributions must be floats"
        assert np.all(np.isfinite(leaf)), "attributions must be finite"
        assert leaf.shape in shapes, (
            f"attributions have shape {leaf.shape}; expected {shapes[0]} (or {shapes[1]} with "
            "a reducer)"
        )


def check_reducer_none_keeps_shape(ctx: CheckContext) -> None:
    """With reducer=None the attributions have the inputs' shape (the layer's, for layers)."""
    plain = ctx.evolve(reducer=None)
    if plain is None:
        return
    got = [leaf.shape for leaf in _leaves(plain.explain(ctx.x).attributions)]
    want = [shapes[0] for shapes in ctx.expected_shapes()]
    assert got == want, f"with reducer=None attributions must have shape(s) {want}, got {got}"


def check_scores_are_explained_outputs(ctx: CheckContext) -> None:
    """targets=None explains the top class, and the scores are the explained outputs."""
    top = ctx.top
    np.testing.assert_array_equal(ctx.result.targets, top, err_msg="targets=None is top class")
    expected = np.asarray(ctx.model(ctx.x))[np.arange(len(top)), top]
    _close(ctx.result.scores, expected, "scores must be the explained outputs")


def check_deterministic(ctx: CheckContext) -> None:
    """Two calls give the same attributions (stochastic methods are seeded)."""
    _close(ctx.explainer.explain(ctx.x).attributions, ctx.result.attributions,
           "explain() must be deterministic")  # fmt: skip


def check_batch_size_invariance(ctx: CheckContext) -> None:
    """batch_size bounds memory and changes nothing else."""
    for size in (1, 3):
        other = ctx.evolve(batch_size=size)
        if other is not None:
            _close(other.explain(ctx.x).attributions, ctx.result.attributions,
                   f"batch_size={size} changed it")  # fmt: skip


def check_target_forms(ctx: CheckContext) -> None:
    """Class indices, one int for all, and one-hot rows give the same answer."""
    top, values = ctx.top, ctx.result.attributions
    _close(ctx.explainer.explain(ctx.x, top).attributions, values, "int targets != None")
    one_hot = np.eye(ctx.num_classes, dtype="float32")[top]
    _close(ctx.explainer.explain(ctx.x, one_hot).attributions, values, "one-hot targets")
    first = _take(ctx.x, slice(0, 2))
    single = ctx.explainer.explain(first, 1).attributions
    pair = ctx.explainer.explain(first, np.array([1, 1])).attributions
    _close(single, pair, "one int target must mean that class for every sample")


def check_dataset_inputs(ctx: CheckContext) -> None:
    """A tf.data.Dataset of (x, y) gives the same result as arrays."""
    dataset = tf.data.Dataset.from_tensor_slices((ctx.x, ctx.top)).batch(4)
    _close(ctx.explainer.explain(dataset).attributions, ctx.result.attributions,
           "a tf.data.Dataset of (x, y) must give the same result")  # fmt: skip


def check_depends_on_targets(ctx: CheckContext) -> None:
    """Explaining another class gives other attributions."""
    other = (ctx.top + 1) % ctx.num_classes
    assert not np.allclose(_joined(ctx.explainer.explain(ctx.x, other).attributions),
                           _joined(ctx.result.attributions)), (
        "attributions must depend on the targets (explaining another class gave the same result)"
    )  # fmt: skip


def check_refuses_nan(ctx: CheckContext) -> None:
    """NaN in a float input raises an InputError."""
    bad = tf.nest.map_structure(lambda leaf: np.array(leaf, copy=True), ctx.x)
    floats = [leaf for leaf in tf.nest.flatten(bad) if np.issubdtype(leaf.dtype, np.floating)]
    if not floats:
        return  # token ids cannot be NaN
    floats[-1].flat[0] = np.nan
    try:
        ctx.explainer.explain(bad)
    except InputError:
        return
    raise AssertionError("NaN inputs must raise InputError")


def check_model_unchanged(ctx: CheckContext) -> None:
    """The model's weights, layers and activations are the same after explaining."""
    model, x = _fresh_models(ctx.kind)  # a model no other check has touched
    before = _state(model)
    ctx.build(model).explain(x)
    after = _state(model)
    assert len(before[0]) == len(after[0]) and all(
        np.array_equal(a, b) for a, b in zip(before[0], after[0], strict=True)
    ), "the model's weights changed"
    assert before[1] == after[1], "the model's layers or activations changed"


def check_refuses_undeclared_data(ctx: CheckContext) -> None:
    """Data of a kind the method does not declare raises one InputError saying what the
    method explains (at construction or when explaining)."""
    try:
        ctx.build(ctx.model).explain(ctx.x)
    except InputError as error:
        assert "explains" in str(error), (
            f"the InputError for {ctx.kind} data must say what the method explains, got: {error}"
        )
        return
    raise AssertionError(
        f"the method declares {ctx.method.capabilities.data}, so {ctx.kind} data must raise "
        "an InputError"
    )


def check_refuses_several_inputs(ctx: CheckContext) -> None:
    """A model of several inputs, which the method does not declare, raises an InputError."""
    try:
        ctx.build(ctx.model).explain(ctx.x)
    except InputError:
        return
    raise AssertionError(
        "the method does not declare Capabilities(multi_input=True), so a model of several "
        "inputs must raise an InputError"
    )


#: The checks run on every declared kind, in order.
CHECKS: tuple[Callable[[CheckContext], None], ...] = (
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
