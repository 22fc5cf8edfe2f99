"""The :class:`Explainer` base class: the ``explain`` template every method shares.

``explain(inputs, targets)`` is written once, here. It prepares the call (inputs, targets,
operator: :mod:`xaikit.call`), checks that the method explains that kind of data (its declared
:class:`~xaikit.Capabilities`), lets the method prepare per-sample arrays (baselines, ...),
splits the samples into chunks of ``batch_size``, calls the method's one hook,
:meth:`Explainer.explain_batch`, on each chunk (tensors in, tensors out), applies the reducer
and builds the :class:`~xaikit.explanation.Explanation`.

The public helpers a method uses -- :meth:`Explainer.compiled` (the kernel cache),
:meth:`Explainer.gradients`, :meth:`Explainer.scores`, :meth:`Explainer.predict`,
:meth:`Explainer.run_batch` (the checked per-chunk call) and :class:`BatchResult` -- are the
same for xaikit's built-in methods and for plugins.
"""

from __future__ import annotations

import abc
import contextlib
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
import tensorflow as tf

from . import engine
from .call import prepare_call
from .capabilities import Capabilities, capabilities_of
from .errors import ChunkSizeWarning, InputError, XaikitError
from .explanation import Explanation
from .kernels import KernelCache
from .model import declared_num_outputs, model_input_shape
from .operators import Operator
from .reducers import Reducer, apply_reducer
from .registry import get_registry, name_of, resolve_operator, resolve_reducer
from .validators import positive_int

__all__ = [
    "Explainer",
    "BatchResult",
    "DEFAULT_BATCH_SIZE",
    "check_model",
    "check_operator",
    "check_reducer",
    "reducer_field",
]

#: Rows evaluated at once when the model's input shape is unknown (subclassed models);
#: otherwise the default comes from :func:`xaikit.engine.auto_batch_size`.
DEFAULT_BATCH_SIZE = 64

#: A kernel builder: ``build(model, operator, sample_shape, num_outputs, dtype) -> callable``.
KernelBuilder = Callable[[Any, Operator, tuple, int, tf.DType], Any]


@attrs.frozen
class BatchResult:
    """What a method's ``explain_batch`` may return instead of a bare attributions tensor.

    Attributes:
        attributions: (n, ...) attributions, the inputs' shape.
        scores: (n,) operator scores at the inputs, when the method computed them anyway
            (saves the base class a forward pass).
        baseline_scores: (n,) mean operator score at the baselines, for path methods; makes
            the Explanation carry a ``convergence_delta``.
    """

    attributions: tf.Tensor
    scores: tf.Tensor | None = None
    baseline_scores: tf.Tensor | None = None


def check_model(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: a callable model of one input whose data kind the method explains."""
    if not callable(value):
        raise InputError(f"model: expected a Keras model, got {type(value).__name__}")
    shape = model_input_shape(value)  # refuses multi-input models with a clear message
    if isinstance(instance, Explainer):
        instance.check_data(shape, "model")


def check_operator(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: a registered operator name or a callable."""
    resolve_operator(value)


def check_reducer(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: a registered reducer name, a callable or None."""
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


def _in_rows(explainer: Any, error: Exception, rows: slice) -> Exception:
    """``error`` again, its message prefixed with the failing chunk's rows and, for a method
    from a plugin, the plugin's name (``"rows 64-127 (method 'lime' of plugin 'x'): ..."``)."""
    where = f"rows {rows.start}-{rows.stop - 1}"
    entry = get_registry().entries("methods").get(explainer.method_name)
    if entry is not None and entry.plugin != "xaikit":
        where += f" (method {entry.name!r} of plugin {entry.plugin!r})"
    try:
        if isinstance(error, tf.errors.OpError):
            return type(error)(error.node_def, error.op, f"{where}: {error.message}")
        return type(error)(f"{where}: {error}")
    except Exception:  # noqa: BLE001 - an exception type that takes other arguments
        error.add_note(where)
        return error


def reducer_field(default: str | None) -> Any:
    """The ``reducer`` field with another default, for subclasses (Saliency uses 'max')."""
    return attrs.field(default=default, validator=check_reducer)


@attrs.frozen(kw_only=True)
class Explainer(abc.ABC):
    """Base class of attribution methods.

    Args:
        model: a Keras 3 model with one input and one output tensor (the only positional
            argument), of a data kind the method declares in ``capabilities``.
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
    (changes to the model that must hold while its gradient kernel is compiled), and
    declares what it explains in ``capabilities``. The constructor only validates and
    stores; ``attrs.evolve(explainer, steps=100)`` clones.
    """

    #: The method's own name, recorded in ``Explanation.method``. Not inherited: a subclass
    #: that sets none is recorded under the name it was registered with, else its class name.
    name: ClassVar[str | None] = None
    #: What the method explains (data kinds) and which parameter seeds it, if stochastic.
    capabilities: ClassVar[Capabilities] = Capabilities()

    model: Any = attrs.field(kw_only=False, validator=check_model, repr=False)
    batch_size: int = attrs.field(
        default=attrs.Factory(_default_batch_size, takes_self=True), validator=positive_int
    )
    operator: str | Operator = attrs.field(default="classification", validator=check_operator)
    reducer: str | Reducer | None = reducer_field(None)
    strategy: tf.distribute.Strategy | None = attrs.field(
        default=None, validator=_check_strategy, repr=False, eq=False
    )
    #: The explainer's compiled kernels (see :meth:`compiled`).
    kernels: KernelCache = attrs.field(init=False, factory=KernelCache, repr=False, eq=False)

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

    @property
    def method_name(self) -> str:
        """The name recorded in ``Explanation.method``: the class's own ``name``, else the
        name it is registered under, else the class name."""
        cls = type(self)
        return vars(cls).get("name") or name_of(cls) or cls.__name__

    def resolved_operator(self) -> Operator:
        """The operator callable (names looked up in the registry)."""
        return resolve_operator(self.operator)

    def resolved_reducer(self) -> Reducer | None:
        """The reducer callable, or None (names looked up in the registry)."""
        return resolve_reducer(self.reducer)

    def check_data(self, sample_shape: Sequence[int | None] | None, where: str = "inputs") -> None:
        """Refuse samples of a data kind the method does not declare (an InputError saying
        what it explains). Wrappers override this to ask the method they wrap too."""
        capabilities_of(type(self)).check(self.method_name, sample_shape, where)

    def compiled(
        self, kind: str, build: KernelBuilder, inputs: tf.Tensor, targets: tf.Tensor
    ) -> Any:
        """The kernel ``build(model, operator, sample_shape, num_outputs, dtype)`` for this
        input signature, built (inside :meth:`tracing_context`) once and cached.

        Args:
            kind: names the kernel in the cache ('gradients', 'path', 'cam', ...).
            build: compiles the kernel; usually returns a ``tf.function``'s concrete function
                with a dynamic batch dimension, so every chunk size reuses it.
            inputs: (n, ...) a chunk of inputs (its sample shape and dtype key the cache).
            targets: (n, K) its target weights.
        """
        sample_shape, k = tuple(inputs.shape[1:]), int(targets.shape[-1])
        return self.kernels.get(
            (kind, sample_shape, inputs.dtype, k),
            lambda: build(self.model, self.resolved_operator(), sample_shape, k, inputs.dtype),
            self.tracing_context,
        )

    def gradients(self, inputs: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Compiled gradients of the explained scores: ``(grads (n, ...), scores (n,))``."""
        return self.compiled("gradients", engine.gradient_fn, inputs, targets)(inputs, targets)

    def scores(self, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        """Compiled forward pass: the explained scores (n,)."""
        return self.compiled("forward", engine.forward_fn, inputs, targets)(inputs, targets)

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """The model's outputs (N, K) for inputs (N, ...), ``batch_size`` rows at a time."""
        return engine.predict_in_chunks(self.kernels, self.model, inputs, self.batch_size)

    def num_outputs(self, inputs: np.ndarray) -> int:
        """The number of model outputs K (declared, else read off one prediction)."""
        declared = declared_num_outputs(self.model)
        return declared if declared is not None else int(self.predict(inputs[:1]).shape[-1])

    def chunks(self, n: int) -> Iterator[slice]:
        """Slices of at most ``batch_size`` rows covering ``range(n)``."""
        for start in range(0, n, self.batch_size):
            yield slice(start, min(start + self.batch_size, n))

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
        operator = self.resolved_operator()
        label = self.operator if isinstance(self.operator, str) else None
        call = prepare_call(self.model, inputs, targets, operator, self.predict, label)
        x, weights = call.inputs, call.weights
        self.check_data(x.shape[1:])
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
            targets=call.targets,
            scores=scores,
            method=self.method_name,
            params=self.params,
            convergence_delta=delta,
        )

    def run_batch(
        self,
        inputs: tf.Tensor,
        targets: tf.Tensor,
        extras: Mapping[str, tf.Tensor] | None = None,
        *,
        need_scores: bool = True,
    ) -> BatchResult:
        """One chunk through the method's hook, checked, with its scores filled in.

        Wrappers call this on the method they wrap: it raises a TypeError naming the method
        when ``explain_batch`` returns attributions of another shape than the inputs'.

        Args:
            inputs: (n, ...) the chunk's inputs.
            targets: (n, K) their target weights.
            extras: the chunk's rows of the method's :meth:`prepare` arrays.
            need_scores: run a forward pass for the scores when the method gave none
                (False leaves ``scores`` None, for callers that do not use them).
        """
        extras = extras or {}
        result = self.explain_batch(inputs, targets, **extras)
        if not isinstance(result, BatchResult):
            result = BatchResult(result)
        got = tf.convert_to_tensor(result.attributions)
        if tuple(got.shape) != tuple(inputs.shape):
            raise TypeError(
                f"{type(self).__name__}.explain_batch() must return attributions of the "
                f"inputs' shape {tuple(inputs.shape)}, got {tuple(got.shape)}"
            )
        scores = result.scores
        if scores is None and need_scores:
            scores = self.scores(inputs, targets)
        return BatchResult(got, scores, result.baseline_scores)

    def _batch_on_replicas(
        self, inputs: tf.Tensor, targets: tf.Tensor, extras: Mapping[str, tf.Tensor]
    ) -> BatchResult:
        """:meth:`_batch` with the chunk's samples split over the strategy's replicas."""
        names = list(extras)
        has_base: list[bool] = []

        def replica(x: tf.Tensor, t: tf.Tensor, *values: tf.Tensor) -> tuple:
            result = self.run_batch(x, t, dict(zip(names, values, strict=True)))
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
        start, runner = 0, self  # runner: self, or a copy with a smaller batch_size after OOM
        while start < len(x):
            rows = slice(start, min(start + runner.batch_size, len(x)))
            inputs, targets = tf.constant(x[rows]), tf.constant(weights[rows])
            batch_extras = {k: _extra_tensor(v[rows], x.dtype) for k, v in extras.items()}
            try:
                if runner.strategy is None:
                    result = runner.run_batch(inputs, targets, batch_extras)
                else:
                    result = runner._batch_on_replicas(inputs, targets, batch_extras)
            except tf.errors.ResourceExhaustedError as error:
                if rows.stop - rows.start == 1:
                    raise _in_rows(self, error, rows) from error
                runner = attrs.evolve(runner, batch_size=(rows.stop - rows.start) // 2)
                continue
            except XaikitError:
                raise
            except Exception as error:
                raise _in_rows(self, error, rows) from error
            start = rows.stop
            attributions.append(result.attributions)
            scores.append(result.scores)
            base_scores.append(result.baseline_scores)
        if runner is not self:
            warnings.warn(
                f"batch_size: chunks of {self.batch_size} rows ran out of memory; explained "
                f"with {runner.batch_size} rows per chunk",
                ChunkSizeWarning,
                stacklevel=3,
            )
        has_base = all(b is not None for b in base_scores)
        return (
            tf.concat(attributions, axis=0).numpy().astype(x.dtype, copy=False),
            tf.concat(scores, axis=0).numpy(),
            tf.concat(base_scores, axis=0).numpy().astype(np.float64) if has_base else None,
        )
