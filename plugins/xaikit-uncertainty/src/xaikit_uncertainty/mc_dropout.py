"""MC dropout around any attribution method: explain each input with ``passes`` sampled
thinned networks, return the mean and keep every pass.

Monte Carlo dropout (Gal and Ghahramani, 2016) reads a network trained with dropout as an
approximate Bayesian posterior: keeping dropout on at prediction time samples networks from
it. Explaining each sampled network gives a distribution of attribution maps per input; its
mean is a smoother attribution, its spread (see :func:`xaikit.quantile_maps`) shows where the
explanation itself is uncertain.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
import tensorflow as tf

import xaikit
from xaikit import BatchResult, Capabilities, Explainer, Explanation
from xaikit.errors import InputError
from xaikit.validators import positive_int, seed

from .dropout import DROPOUT_LAYERS, active_dropout, dropout_layers

__all__ = ["MCDropout", "DropoutPasses", "mc_dropout"]

#: Prefix of the wrapped method's own ``prepare`` arrays among the wrapper's extras.
_INNER = "method__"
#: Call seeds are drawn below 2**31 so they fit the stateless ops' int32 / int64 seeds.
_SEED_LIMIT = 2**31 - 1


def _check_method(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, Explainer):
        raise InputError(
            f"method: expected an xaikit Explainer to wrap (e.g. xaikit.Saliency(model)), "
            f"got {type(value).__name__}"
        )


def _check_strategy(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None:
        raise InputError(
            "strategy: mc_dropout runs its passes one after another on one device and takes "
            f"no distribution strategy, got {type(value).__name__}"
        )


def _inherited(name: str) -> Any:
    """Default of a shared field: the wrapped method's value."""

    def default(self: MCDropout) -> Any:
        _check_method(self, attrs.fields(type(self)).method, self.method)  # before validators
        return getattr(self.method, name)

    return attrs.Factory(default, takes_self=True)


def _fresh(explainer: Explainer, **changes: Any) -> Explainer:
    """A clone of ``explainer`` with empty kernel caches, wrapped explainers cloned too.

    Kernels compiled before would not see the dropout that MC dropout switches on.
    """
    for field in attrs.fields(type(explainer)):
        value = getattr(explainer, field.name)
        if field.init and isinstance(value, Explainer) and field.alias not in changes:
            changes[field.alias] = _fresh(value)
    try:
        return attrs.evolve(explainer, **changes)
    except (TypeError, attrs.exceptions.NotAnAttrsClassError) as error:
        raise InputError(
            f"method: mc_dropout clones the method it wraps with attrs.evolve, which failed "
            f"for {type(explainer).__name__}: {error}"
        ) from None


def _inner(self: MCDropout) -> Explainer:
    same = self.operator is self.method.operator or self.operator == self.method.operator
    return _fresh(self.method) if same else _fresh(self.method, operator=self.operator)


class _State:
    """Per-explainer mutable state: the pass seed, a lock, the passes being collected."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.seed: tf.Variable | None = None
        self.collected: list[np.ndarray] | None = None
        self.dropout_seen = False

    def seed_variable(self) -> tf.Variable:
        if self.seed is None:
            with tf.init_scope():
                self.seed = tf.Variable([0, 0], dtype=tf.int64, trainable=False, name="mc_seed")
        return self.seed


@attrs.frozen(eq=False)
class DropoutPasses:
    """What :meth:`MCDropout.explain_passes` returns: every pass and their mean.

    Attributes:
        passes: (P, N, ...) each pass's attributions, the wrapper's reducer applied to each
            (so of the shape of ``explanation.attributions``).
        explanation: the :class:`~xaikit.Explanation` that ``explain`` returns: attributions
            are the reducer applied to the mean of the unreduced passes (equal to
            ``passes.mean(axis=0)`` for the reducers None, 'mean' and 'sum').
    """

    passes: np.ndarray
    explanation: Explanation

    def quantile_maps(self, quantiles: float | Sequence[float]) -> np.ndarray:
        """(Q, N, ...) per-element quantiles over the passes (:func:`xaikit.quantile_maps`)."""
        return xaikit.quantile_maps(self.passes, quantiles)


@attrs.frozen(kw_only=True)
class MCDropout(Explainer):
    """MC-dropout attributions: the mean of a method's attributions over sampled dropout masks.

    Each of the ``passes`` passes switches on every dropout-family layer of the model
    (``Dropout``, ``SpatialDropout1D/2D/3D``, ``GaussianDropout``, ``AlphaDropout``, in nested
    models too) with one seeded mask per layer, and explains the inputs with the wrapped
    method on that thinned network. BatchNorm and every other layer stay in inference mode.
    The model is patched only while the wrapped method runs, and restored even on error.

    Args:
        method: the explainer to wrap (the only positional argument), e.g.
            ``xaikit.Saliency(model)``; its model is explained. The wrapper works on a clone,
            so the method you pass is left as it is.
        passes: how many thinned networks are sampled (default 20).
        seed: seeds the masks; None (default) draws fresh masks on each call. Pass ``p`` of
            a call uses the same masks for every sample, whatever ``batch_size`` is.
        batch_size: samples per chunk (default: the wrapped method's).
        operator: explained scalar (default: the wrapped method's); another value
            re-targets the wrapped method too.
        reducer: channel reducer (default: the wrapped method's), applied to the mean and,
            by :meth:`explain_passes`, to each pass.

    ``explain`` returns the mean over passes; ``scores`` are those of the model *without*
    dropout, and no convergence delta is given (each pass explains another network).
    :meth:`explain_passes` also returns every pass.

    Raises:
        InputError: the model has no dropout layer with a rate above 0.
    """

    name: ClassVar[str | None] = "mc_dropout"
    capabilities: ClassVar[Capabilities] = Capabilities(seed="seed")

    method: Explainer = attrs.field(kw_only=False, validator=_check_method)
    model: Any = attrs.field(init=False, default=_inherited("model"), repr=False)
    batch_size: int = attrs.field(default=_inherited("batch_size"), validator=positive_int)
    operator: Any = attrs.field(default=_inherited("operator"))
    reducer: Any = attrs.field(default=_inherited("reducer"))
    strategy: Any = attrs.field(default=None, validator=_check_strategy, repr=False, eq=False)
    passes: int = attrs.field(default=20, validator=positive_int)
    seed: int | None = attrs.field(default=None, validator=seed)
    #: The wrapped method's clone (re-targeted to the wrapper's operator) that runs each pass.
    inner: Explainer = attrs.field(
        init=False, default=attrs.Factory(_inner, takes_self=True), repr=False, eq=False
    )
    _state: _State = attrs.field(init=False, factory=_State, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self.resolved_reducer()  # refuse an unknown reducer name now, not at explain time
        if not dropout_layers(self.model):
            kinds = ", ".join(cls.__name__ for cls in DROPOUT_LAYERS)
            raise InputError(
                f"model: mc_dropout found no dropout layer with rate > 0 in "
                f"{getattr(self.model, 'name', 'the model')!r} (looked for {kinds} and their "
                "subclasses, in nested models too); without dropout every pass would give the "
                "same attributions. Explain the model with the method itself instead."
            )

    def check_data(self, sample_shape: Sequence[int | None] | None, where: str = "inputs") -> None:
        """MC dropout explains whatever kinds of data its wrapped method explains."""
        self.method.check_data(sample_shape, where)

    # ------------------------------------------------------------------ public entry points
    def explain(self, inputs: Any, targets: Any = None) -> Explanation:
        """The mean attributions over ``passes`` sampled networks (see :class:`MCDropout`)."""
        with self._state.lock:  # the pass seed is shared by the compiled kernels
            return super().explain(inputs, targets)

    def explain_passes(self, inputs: Any, targets: Any = None) -> DropoutPasses:
        """Every pass's attributions (P, N, ...) and the mean's Explanation, in one run.

        Takes what :meth:`explain` takes; memory grows with ``passes`` (P maps per sample).
        """
        with self._state.lock:
            self._state.collected = []
            try:
                explanation = super().explain(inputs, targets)
                raw = np.concatenate(self._state.collected, axis=1)  # (P, N, ...)
            finally:
                self._state.collected = None
        return DropoutPasses(self._reduce_each(raw), explanation)

    # ------------------------------------------------------------------ the Explainer hooks
    def prepare(self, inputs: np.ndarray, targets: np.ndarray) -> Mapping[str, np.ndarray]:
        """The call's mask seed (the same (2,) pair in each of the N rows), plus the wrapped
        method's own prepared arrays."""
        call_seed = np.random.default_rng(self.seed).integers(0, _SEED_LIMIT, size=2)
        prepared = self.inner.prepare(inputs, targets)
        return {
            "call_seed": np.tile(call_seed.astype(np.int64), (len(inputs), 1)),
            **{_INNER + key: value for key, value in prepared.items()},
        }

    def explain_batch(
        self, inputs: tf.Tensor, targets: tf.Tensor, call_seed: tf.Tensor, **extras: tf.Tensor
    ) -> BatchResult:
        """The mean over passes of the wrapped method's attributions (n, ...)."""
        inner_extras = {key[len(_INNER) :]: value for key, value in extras.items()}
        variable = self._state.seed_variable()
        base = tf.cast(call_seed[0], tf.int64)
        total, kept = None, []
        for index in range(self.passes):
            pass_seed = tf.random.experimental.stateless_fold_in(base, index)
            variable.assign(tf.cast(pass_seed, tf.int64))
            with active_dropout(self.model, variable) as record:
                result = self.inner.run_batch(inputs, targets, inner_extras, need_scores=False)
            self._check_dropout_ran(record.calls)
            block = result.attributions
            total = block if total is None else total + block
            if self._state.collected is not None:
                kept.append(block.numpy())
        if self._state.collected is not None:
            self._state.collected.append(np.stack(kept))
        if total is None:  # unreachable: passes >= 1 is validated
            raise RuntimeError("mc_dropout: no pass ran")
        return BatchResult(total / tf.cast(self.passes, total.dtype))

    # ------------------------------------------------------------------ helpers
    def _check_dropout_ran(self, calls: int) -> None:
        """Refuse to go on when the wrapped method never went through the patched layers."""
        if calls:
            self._state.dropout_seen = True
        elif not self._state.dropout_seen:
            raise InputError(
                f"method: {type(self.method).__name__} did not run the model's dropout layers "
                "while mc_dropout had them switched on (a kernel compiled elsewhere, or a "
                "method that does not call the model); every pass would be the same"
            )

    def _reduce_each(self, raw: np.ndarray) -> np.ndarray:
        """The wrapper's reducer applied to each pass of ``raw`` (P, N, ..., C)."""
        reducer = self.resolved_reducer()
        if reducer is None or raw.ndim < 4:  # no channel axis: (P, N, F)
            return raw
        p, n = raw.shape[:2]
        reduced = np.asarray(reducer(raw.reshape(p * n, *raw.shape[2:])))
        return reduced.reshape(p, n, *raw.shape[2:-1])


#: Parameters that belong to the wrapper itself, and those given to both it and the method.
_OWN = ("passes", "seed", "reducer")
_SHARED = ("batch_size", "operator")


def mc_dropout(model: Any, method: str | Explainer = "saliency", **params: Any) -> MCDropout:
    """:class:`MCDropout` around a method given by name (default 'saliency') or as an explainer
    of ``model``.

    ``get_explainer("mc_dropout", model, method="integrated_gradients", steps=16, passes=20,
    seed=0)``: passes, seed and reducer configure the wrapper; batch_size and operator both
    the wrapper and the wrapped method; any other parameter goes to the wrapped method.
    """
    own = {key: params.pop(key) for key in (*_OWN, *_SHARED) if key in params}
    if isinstance(method, Explainer):
        if params:
            raise InputError(
                f"params: {', '.join(map(repr, sorted(params)))} would configure the wrapped "
                "method, but method is already an explainer; pass its parameters when building "
                "it, or pass method by name"
            )
        if method.model is not model:
            raise InputError(
                "method: the explainer to wrap must explain the model passed to "
                "get_explainer('mc_dropout', model, ...)"
            )
        inner = method
    elif isinstance(method, str):
        shared = {key: own[key] for key in _SHARED if key in own}
        try:
            inner = xaikit.get_explainer(method, model, **shared, **params)
        except InputError as error:
            raise InputError(
                f"{error} ('mc_dropout' itself takes method, {', '.join((*_OWN, *_SHARED))}; "
                f"other parameters go to method {method!r})"
            ) from None
    else:
        raise InputError(
            f"method: expected a registered method name or an Explainer, got "
            f"{type(method).__name__}"
        )
    return MCDropout(method=inner, **own)


mc_dropout.capabilities = MCDropout.capabilities  # type: ignore[attr-defined]
