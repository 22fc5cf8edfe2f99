"""The :class:`Explainer` base class: the ``explain`` template every method shares.

``explain(inputs, targets)`` is written once, here. It coerces and validates the inputs and
targets, lets the method prepare per-sample arrays (baselines, ...), splits the samples into
chunks of ``batch_size``, calls the method's one hook, :meth:`Explainer.explain_batch`, on
each chunk (tensors in, tensors out), applies the reducer and builds the
:class:`~xaikit.explanation.Explanation`.
"""

from __future__ import annotations

import abc
import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import attrs
import numpy as np
import tensorflow as tf

from . import engine
from .engine import BatchResult
from .errors import InputError
from .explanation import Explanation
from .inputs import (
    check_inputs,
    coerce_inputs,
    coerce_targets,
    declared_num_outputs,
    merge_targets,
    model_dtype,
    model_input_shape,
)
from .operators import Operator
from .reducers import Reducer, apply_reducer

__all__ = [
    "Explainer",
    "DEFAULT_BATCH_SIZE",
    "positive_int",
    "check_model",
    "check_operator",
    "reducer_field",
]

#: Rows evaluated at once when the model's input shape is unknown (subclassed models);
#: otherwise the default comes from :func:`xaikit.engine.auto_batch_size`.
DEFAULT_BATCH_SIZE = 64


def positive_int(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: an integer >= 1 (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{attribute.name}: expected an integer >= 1, got {value!r}")


def check_model(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not callable(value):
        raise InputError(f"model: expected a Keras model, got {type(value).__name__}")
    model_input_shape(value)  # refuses multi-input models with a clear message


def check_operator(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    from .registry import resolve_operator

    resolve_operator(value)


def _check_reducer(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    from .registry import resolve_reducer

    resolve_reducer(value)


def _default_batch_size(instance: Any) -> int:
    try:
        shape = model_input_shape(instance.model)
    except InputError:
        shape = None
    return engine.auto_batch_size(shape, fallback=DEFAULT_BATCH_SIZE)


def _check_strategy(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and not isinstance(value, tf.distribute.Strategy):
        raise InputError(
            f"strategy: expected a tf.distribute.Strategy or None, got {type(value).__name__}"
        )


def _extra_tensor(rows: Any, dtype: np.dtype) -> tf.Tensor:
    """A chunk of a ``prepare()`` array: floats in the inputs' dtype, integers kept exact."""
    array = np.asarray(rows)
    if np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.bool_):
        return tf.constant(array)
    return tf.constant(array.astype(dtype, copy=False))


def reducer_field(default: str | None) -> Any:
    """The ``reducer`` field with another default, for subclasses (Saliency uses 'max')."""
    return attrs.field(default=default, validator=_check_reducer)


@attrs.frozen(kw_only=True)
class Explainer(abc.ABC):
    """Base class of attribution methods.

    Args:
        model: a Keras 3 model with one input and one output tensor (the only positional
            argument).
        batch_size: how many rows are evaluated at once: samples for single-pass methods,
            (sample, path point) pairs for path methods. Bounds memory. Default: chosen from
            the model's input size (:func:`xaikit.engine.auto_batch_size`: 1024 rows for
            small tables, 64 for 64x64x3 images, 16 for 224x224x3 images).
        operator: which scalar of the model's output is explained: a registered name
            ('classification', 'regression', 'logits', ...) or a callable
            ``(model, inputs, targets) -> scores (N,)``.
        reducer: how the channel axis of (N, T, C) / (N, H, W, C) attributions is folded: a
            registered name ('mean', 'max', 'min', 'sum', 'absmax', 'l2', 'none'), a callable
            ``(N, ..., C) -> (N, ...)``, or None to keep the inputs' shape.
        strategy: a ``tf.distribute.Strategy`` (e.g. ``MirroredStrategy``); each chunk's
            samples are then split over its replicas. Default None: the current device.

    A subclass implements :meth:`explain_batch` and nothing else; it may also override
    :meth:`prepare` (per-sample arrays such as baselines) and :meth:`tracing_context`
    (changes to the model that must hold while its gradient kernel is compiled). The
    constructor only validates and stores; ``attrs.evolve(explainer, steps=100)`` clones.
    """

    #: Registered name, recorded in ``Explanation.method``. Not inherited: a subclass that
    #: sets none is recorded under its class name (``register_method`` sets it).
    name: ClassVar[str | None] = None

    model: Any = attrs.field(kw_only=False, validator=check_model, repr=False)
    batch_size: int = attrs.field(
        default=attrs.Factory(_default_batch_size, takes_self=True), validator=positive_int
    )
    operator: str | Operator = attrs.field(default="classification", validator=check_operator)
    reducer: str | Reducer | None = reducer_field(None)
    strategy: tf.distribute.Strategy | None = attrs.field(
        default=None, validator=_check_strategy, repr=False, eq=False
    )
    _kernels: dict = attrs.field(init=False, factory=dict, repr=False, eq=False)
    _lock: threading.RLock = attrs.field(init=False, factory=threading.RLock, repr=False, eq=False)

    # ------------------------------------------------------------------ the hook to implement
    @abc.abstractmethod
    def explain_batch(
        self, inputs: tf.Tensor, targets: tf.Tensor, **extras: tf.Tensor
    ) -> tf.Tensor | BatchResult:
        """Attributions for one chunk of at most ``batch_size`` samples.

        Args:
            inputs: (n, ...) float tensor.
            targets: (n, K) float tensor of output weights (one-hot for class indices).
            **extras: the chunk's rows of each array returned by :meth:`prepare`.

        Returns:
            (n, ...) attributions of the inputs' shape, or a :class:`BatchResult`.
        """

    # ------------------------------------------------------------------ optional hooks
    def prepare(self, inputs: np.ndarray, targets: np.ndarray) -> Mapping[str, np.ndarray]:
        """Per-sample arrays (leading axis N) to pass, chunked, to :meth:`explain_batch`.

        Called once per ``explain`` with all inputs (N, ...) and target weights (N, K), so
        anything drawn from the whole batch stays independent of ``batch_size``. Float arrays
        reach ``explain_batch`` in the inputs' dtype; integer and boolean arrays (seeds,
        indices, masks) keep their own dtype.
        """
        return {}

    def tracing_context(self) -> contextlib.AbstractContextManager:
        """Context held while the gradient kernels are traced (default: nothing)."""
        return contextlib.nullcontext()

    # ------------------------------------------------------------------ helpers for methods
    @property
    def params(self) -> dict[str, Any]:
        """The explainer's parameters, everything but the model."""
        return {
            field.name: getattr(self, field.name)
            for field in attrs.fields(type(self))
            if field.init and field.name != "model"
        }

    def resolved_operator(self) -> Operator:
        """The operator callable (names looked up in the registry)."""
        from .registry import resolve_operator

        return resolve_operator(self.operator)

    def resolved_reducer(self) -> Reducer | None:
        """The reducer callable, or None (names looked up in the registry)."""
        from .registry import resolve_reducer

        return resolve_reducer(self.reducer)

    def _kernel(self, kind: str, inputs: tf.Tensor, targets: tf.Tensor, build: Callable) -> Any:
        key = (kind, tuple(inputs.shape[1:]), inputs.dtype, int(targets.shape[-1]))
        kernel = self._kernels.get(key)
        if kernel is None:
            with self._lock:  # replicas of a strategy may ask at once; trace only once
                kernel = self._kernels.get(key)
                if kernel is None:
                    with self.tracing_context():
                        kernel = build(
                            self.model, self.resolved_operator(), key[1], key[3], inputs.dtype
                        )
                    self._kernels[key] = kernel
        return kernel

    def gradients(self, inputs: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Compiled gradients of the explained scores: ``(grads (n, ...), scores (n,))``."""
        return self._kernel("gradients", inputs, targets, engine.gradient_fn)(inputs, targets)

    def scores(self, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        """Compiled forward pass: the explained scores (n,)."""
        return self._kernel("forward", inputs, targets, engine.forward_fn)(inputs, targets)

    def _predict(self, inputs: np.ndarray) -> np.ndarray:
        return engine.predict_in_chunks(self._kernels, self.model, inputs, self.batch_size)

    def _chunks(self, n: int) -> Iterator[slice]:
        for start in range(0, n, self.batch_size):
            yield slice(start, min(start + self.batch_size, n))

    def _num_outputs(self, first: np.ndarray) -> int:
        declared = declared_num_outputs(self.model)
        return declared if declared is not None else int(self._predict(first).shape[-1])

    # ------------------------------------------------------------------ the template
    def explain(self, inputs: Any, targets: Any = None) -> Explanation:
        """Explain the model's predictions on ``inputs``.

        Args:
            inputs: (N, F) tabular, (N, T, C) sequences or (N, H, W, C) images, as a numpy
                array, a ``tf.Tensor`` or a ``tf.data.Dataset`` of ``x`` or ``(x, y)``
                (batched or not; a dataset's ``y`` is used as targets).
            targets: which output to explain per sample: None (the top-scoring output), one
                int for all samples, ints of shape (N,), or a one-hot / weight matrix (N, K)
                that weights the outputs.

        Returns:
            An :class:`~xaikit.explanation.Explanation`.

        Raises:
            InputError: inputs or targets do not fit the model (the message says how).
        """
        x, dataset_targets = coerce_inputs(inputs, self.model)
        targets = merge_targets(targets, dataset_targets)
        x = check_inputs(x, self.model).astype(model_dtype(self.model), copy=False)
        operator = self.resolved_operator()
        validate = getattr(operator, "validate", None)
        if validate is not None:
            validate(self.model)
        num_outputs = self._num_outputs(x[:1])
        top = None
        if targets is None:
            if num_outputs == 1:
                top = np.zeros(len(x), dtype=np.int64)
            elif getattr(operator, "top_class_default", True):
                top = self._predict(x).argmax(axis=-1)
        label = (
            self.operator if isinstance(self.operator, str) else getattr(operator, "__name__", None)
        )
        weights, recorded = coerce_targets(
            targets, len(x), num_outputs, top, f"operator {label!r}" if label else "the operator"
        )
        weights = weights.astype(x.dtype, copy=False)
        extras = dict(self.prepare(x, weights))
        for key, value in extras.items():
            if np.shape(value)[:1] != (len(x),):
                raise TypeError(
                    f"{type(self).__name__}.prepare() must return arrays with {len(x)} rows, "
                    f"got {key!r} of shape {np.shape(value)}"
                )
        attributions, scores, base_scores = self._run(x, weights, extras)
        delta = None
        if base_scores is not None:
            totals = attributions.reshape(len(x), -1).sum(axis=1, dtype=np.float64)
            delta = (totals - (scores.astype(np.float64) - base_scores)).astype(x.dtype)
        return Explanation(
            attributions=apply_reducer(self.resolved_reducer(), attributions),
            targets=recorded,
            scores=scores,
            method=vars(type(self)).get("name") or type(self).__name__,
            params=self.params,
            convergence_delta=delta,
        )

    def _batch(
        self, inputs: tf.Tensor, targets: tf.Tensor, extras: Mapping[str, tf.Tensor]
    ) -> BatchResult:
        """One chunk through the method's hook, checked, with its scores filled in."""
        result = self.explain_batch(inputs, targets, **extras)
        if not isinstance(result, BatchResult):
            result = BatchResult(result)
        got = tf.convert_to_tensor(result.attributions)
        if tuple(got.shape) != tuple(inputs.shape):
            raise TypeError(
                f"{type(self).__name__}.explain_batch() must return attributions of the "
                f"inputs' shape {tuple(inputs.shape)}, got {tuple(got.shape)}"
            )
        scores = result.scores if result.scores is not None else self.scores(inputs, targets)
        return BatchResult(got, scores, result.baseline_scores)

    def _batch_on_replicas(
        self, inputs: tf.Tensor, targets: tf.Tensor, extras: Mapping[str, tf.Tensor]
    ) -> BatchResult:
        """:meth:`_batch` with the chunk's samples split over the strategy's replicas."""
        names = list(extras)
        has_base: list[bool] = []

        def replica(x: tf.Tensor, t: tf.Tensor, *values: tf.Tensor) -> tuple:
            result = self._batch(x, t, dict(zip(names, values, strict=True)))
            has_base.append(result.baseline_scores is not None)
            base = result.baseline_scores
            return result.attributions, result.scores, base if base is not None else result.scores

        attributions, scores, base = engine.run_on_replicas(
            self.strategy, replica, inputs, targets, *extras.values()
        )
        return BatchResult(attributions, scores, base if all(has_base) else None)

    def _run(
        self, x: np.ndarray, weights: np.ndarray, extras: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        attributions, scores, base_scores = [], [], []
        for rows in self._chunks(len(x)):
            inputs, targets = tf.constant(x[rows]), tf.constant(weights[rows])
            batch_extras = {k: _extra_tensor(v[rows], x.dtype) for k, v in extras.items()}
            if self.strategy is None:
                result = self._batch(inputs, targets, batch_extras)
            else:
                result = self._batch_on_replicas(inputs, targets, batch_extras)
            attributions.append(result.attributions)
            scores.append(result.scores)
            base_scores.append(result.baseline_scores)
        has_base = all(b is not None for b in base_scores)
        return (
            tf.concat(attributions, axis=0).numpy().astype(x.dtype, copy=False),
            tf.concat(scores, axis=0).numpy(),
            tf.concat(base_scores, axis=0).numpy().astype(np.float64) if has_base else None,
        )
