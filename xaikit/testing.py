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
from .testing_models import TOKEN_LAYER, structured_conformance_models

__all__ = [
    "KINDS",
    "STRUCTURED_KINDS",
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
class _Method:
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


def _resolve(method: Method) -> _Method:
    if isinstance(method, str):
        factory = get_registry().get("methods", method, argument="method")
        declared = getattr(factory, "capabilities", None) is not None
        return _Method(method, factory, capabilities_of(factory), True, declared)
    if not callable(method):
        raise InputError(
            "method: expected a registered name, an Explainer class or a factory "
            f"model -> Explainer, got {type(method).__name__}"
        )
    label = vars(method).get("name") if isinstance(method, type) else None
    label = label or getattr(method, "__name__", None) or type(method).__name__
    declared = getattr(method, "capabilities", None) is not None
    return _Method(str(label), method, capabilities_of(method), isinstance(method, type), declared)


# ---------------------------------------------------------------------------- the context
class _Context:
    """One method on one kind of model: the explainer and its first result, built once and
    shared by that pair's checks (compiling kernels is the slow part)."""

    def __init__(self, method: _Method, kind: str) -> None:
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
def check_returns_explanation(ctx: _Context) -> None:
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


def check_reducer_none_keeps_shape(ctx: _Context) -> None:
    """With reducer=None the attributions have the inputs' shape (the layer's, for layers)."""
    plain = ctx.evolve(reducer=None)
    if plain is None:
        return
    got = [leaf.shape for leaf in _leaves(plain.explain(ctx.x).attributions)]
    want = [shapes[0] for shapes in ctx.expected_shapes()]
    assert got == want, f"with reducer=None attributions must have shape(s) {want}, got {got}"


def check_scores_are_explained_outputs(ctx: _Context) -> None:
    """targets=None explains the top class, and the scores are the explained outputs."""
    top = ctx.top
    np.testing.assert_array_equal(ctx.result.targets, top, err_msg="targets=None is top class")
    expected = np.asarray(ctx.model(ctx.x))[np.arange(len(top)), top]
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
    first = _take(ctx.x, slice(0, 2))
    single = ctx.explainer.explain(first, 1).attributions
    pair = ctx.explainer.explain(first, np.array([1, 1])).attributions
    _close(single, pair, "one int target must mean that class for every sample")


def check_dataset_inputs(ctx: _Context) -> None:
    """A tf.data.Dataset of (x, y) gives the same result as arrays."""
    dataset = tf.data.Dataset.from_tensor_slices((ctx.x, ctx.top)).batch(4)
    _close(ctx.explainer.explain(dataset).attributions, ctx.result.attributions,
           "a tf.data.Dataset of (x, y) must give the same result")  # fmt: skip


def check_depends_on_targets(ctx: _Context) -> None:
    """Explaining another class gives other attributions."""
    other = (ctx.top + 1) % ctx.num_classes
    assert not np.allclose(_joined(ctx.explainer.explain(ctx.x, other).attributions),
                           _joined(ctx.result.attributions)), (
        "attributions must depend on the targets (explaining another class gave the same result)"
    )  # fmt: skip


def check_refuses_nan(ctx: _Context) -> None:
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


def check_model_unchanged(ctx: _Context) -> None:
    """The model's weights, layers and activations are the same after explaining."""
    model, x = _fresh_models(ctx.kind)  # a model no other check has touched
    before = _state(model)
    ctx.build(model).explain(x)
    after = _state(model)
    assert len(before[0]) == len(after[0]) and all(
        np.array_equal(a, b) for a, b in zip(before[0], after[0], strict=True)
    ), "the model's weights changed"
    assert before[1] == after[1], "the model's layers or activations changed"


def check_refuses_undeclared_data(ctx: _Context) -> None:
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


def check_refuses_several_inputs(ctx: _Context) -> None:
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
            A factory without a ``capabilities`` attribute is taken to explain every data
            kind, and is not run on the structured models.
        kinds: restrict to these kinds (default: all of :data:`KINDS` and
            :data:`STRUCTURED_KINDS`). The method's declared data kinds get the full suite,
            the others the refusal check; the two-input model is run when the method declares
            ``multi_input`` (else its refusal is checked), the token model, explained at its
            embedding with ``layer=``, when it declares ``layers`` and takes parameters.
    """
    resolved = _resolve(method)
    known = (*KINDS, *STRUCTURED_KINDS)
    wanted = tuple(known if kinds is None else kinds)
    for kind in wanted:
        if kind not in known:
            raise InputError(f"kinds: expected some of {', '.join(known)}, got {kind!r}")
    declared = resolved.capabilities
    for kind in wanted:
        ctx = _Context(resolved, kind)
        run: tuple[Callable[[_Context], None], ...]
        if kind in STRUCTURED_KINDS and not resolved.declared:
            run = ()  # a bare factory: what it does with structured models is unknown
        elif kind == "two_inputs":
            run = CHECKS if declared.multi_input else (check_refuses_several_inputs,)
        elif kind == "tokens":
            run = CHECKS if declared.layers and resolved.takes_params else ()
        else:
            run = CHECKS if declared.supports(kind) else (check_refuses_undeclared_data,)
        for check in run:
            yield Check(resolved.label, kind, check.__name__, functools.partial(check, ctx))


def check_explainer(method: Method, *, kinds: Iterable[str] | None = None) -> None:
    """Run every conformance check on ``method`` (see :func:`checks`).

    Checks, on each declared kind (and the two-input and token models for methods that
    declare ``multi_input`` / ``layers``): an ``Explanation`` of finite float attributions of
    the inputs' shape and structure; scores are the explained outputs; results are
    deterministic (stochastic methods seeded through their declared seed parameter) and
    independent of ``batch_size``;
    every form of targets (None, int, int array, one-hot, tf.data) gives the same answer and
    another class another answer; NaN inputs are refused; the model is unchanged afterwards.
    On undeclared kinds: the data are refused with an InputError saying what is supported.

    Raises:
        AssertionError: the first check that fails, naming the check, the kind and the method.
    """
    for check in checks(method, kinds=kinds):
        check()


def parametrize_with_checks(
    methods: Sequence[Method], *, kinds: Iterable[str] | None = None
) -> Any:
    """A ``pytest.mark.parametrize`` over every check of every method, argument ``check``.

    Test ids read ``method-kind-check``, so a failure names the check (like scikit-learn's
    ``parametrize_with_checks``).
    """
    import pytest

    wanted = None if kinds is None else tuple(kinds)
    all_checks = [check for method in methods for check in checks(method, kinds=wanted)]
    return pytest.mark.parametrize("check", all_checks, ids=[check.id for check in all_checks])
