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
import contextvars
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import attrs
import keras
import numpy as np
import tensorflow as tf

from . import engine
from .call import prepare_call
from .capabilities import Capabilities, capabilities_of
from .errors import ChunkSizeWarning, InputError, XaikitError
from .explanation import Explanation
from .kernels import KernelCache
from .model import declared_num_outputs, select_output
from .operators import Operator
from .reducers import Reducer, apply_reducer
from .registry import get_registry, name_of, resolve_operator, resolve_reducer
from .structure import Form, input_specs, model_call_structure
from .validators import positive_int

__all__ = [
    "Explainer",
    "BatchResult",
    "DEFAULT_BATCH_SIZE",
    "check_model",
    "check_operator",
    "check_reducer",
    "reducer_field",
    "as_flat",
]

#: The form the current ``explain`` call's inputs came in: how a model that declares no
#: inputs (subclassed) is called with the flat inputs.
_FORM: contextvars.ContextVar[Form | None] = contextvars.ContextVar("xaikit_form", default=None)


def as_flat(inputs: Any) -> list[Any]:
    """What ``explain_batch`` sees, as a flat list: ``[x]`` for one tensor, else the tuple's
    items (the model's inputs in order)."""
    return list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]


def _unflat(flat: Sequence[Any]) -> Any:
    """The flat inputs as ``explain_batch`` sees them: one tensor, or a tuple of them."""
    return flat[0] if len(flat) == 1 else tuple(flat)


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
    """attrs validator: a callable model whose inputs the method explains (data kinds, and
    several inputs only where the method declares ``multi_input``)."""
    if not callable(value):
        raise InputError(f"model: expected a Keras model, got {type(value).__name__}")
    specs = input_specs(value)
    if isinstance(instance, Explainer) and specs is not None:
        instance.check_input_count([spec.name for spec in specs], "model")
        for spec in specs:
            if not spec.integer:
                instance.check_data(spec.shape, "model")


def check_operator(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: a registered operator name or a callable."""
    resolve_operator(value)


def check_reducer(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: a registered reducer name, a callable or None."""
    resolve_reducer(value)


def _default_batch_size(instance: Any) -> int:
    specs = input_specs(instance.model)
    if not specs:
        return DEFAULT_BATCH_SIZE
    elements = 0
    for spec in specs:
        dims = [d for d in spec.shape if d is not None]
        if len(dims) != len(spec.shape):
            return DEFAULT_BATCH_SIZE
        elements += int(np.prod(dims, dtype=np.int64))
    return engine.auto_batch_size((elements,), fallback=DEFAULT_BATCH_SIZE)


def _check_output(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    select_output(instance.model, value)


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
    return attrs.field(default=default, validator=check_reducer, kw_only=True)


# ``model`` is the one positional parameter; every other one is keyword-only. The base marks
# its own fields kw_only one by one (subclasses use ``@attrs.frozen(kw_only=True)``), the
# form type checkers' attrs support understands.
@attrs.frozen
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
        output: which output of a model with several is explained: its name (a dict
            model's key) or index. None (default) for a model with one output; a model with
            several refuses None with an InputError listing their names.

    Inputs are a structure: one array for a one-input model; for a model of several
    inputs a list / tuple in the model's input order or a dict keyed by input name (only
    for methods that declare ``Capabilities(multi_input=True)``). ``explain_batch`` sees
    the plain tensor for a one-input model and a tuple of tensors, in the model's input
    order, for a model of several; it returns attributions in the same form.

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

    model: Any = attrs.field(validator=check_model, repr=False)
    batch_size: int = attrs.field(
        default=attrs.Factory(_default_batch_size, takes_self=True),
        validator=positive_int,
        kw_only=True,
    )
    operator: str | Operator = attrs.field(
        default="classification", validator=check_operator, kw_only=True
    )
    reducer: str | Reducer | None = reducer_field(None)
    strategy: tf.distribute.Strategy | None = attrs.field(
        default=None, validator=_check_strategy, repr=False, eq=False, kw_only=True
    )
    output: int | str | None = attrs.field(default=None, validator=_check_output, kw_only=True)
    #: The explainer's compiled kernels (see :meth:`compiled`).
    kernels: KernelCache = attrs.field(init=False, factory=KernelCache, repr=False, eq=False)

    # ------------------------------------------------------------------ the hook to implement
    @abc.abstractmethod
    def explain_batch(
        self, inputs: tf.Tensor, targets: tf.Tensor, /, *args: Any, **extras: tf.Tensor
    ) -> tf.Tensor | BatchResult:
        """Attributions for one chunk of at most ``batch_size`` samples.

        Args:
            inputs: (n, ...) float tensor; for a model of several inputs, a tuple of them in
                the model's input order (integer inputs, token ids, keep their dtype).
            targets: (n, K) float tensor of output weights (one-hot for class indices).
            **extras: the chunk's rows of each array returned by :meth:`prepare`.

        Returns:
            (n, ...) attributions of the inputs' shape (a tuple of them for several inputs),
            or a :class:`BatchResult`.
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

    @property
    def scored_model(self) -> Any:
        """The model as the kernels call it: ``model``, or a view of the selected ``output``."""
        return select_output(self.model, self.output)

    def pack_for_model(self, flat: Sequence[Any]) -> Any:
        """Flat inputs (model input order) in the structure the model is called with."""
        struct = model_call_structure(self.model)
        if struct is not None:
            return keras.tree.pack_sequence_as(struct, list(flat))
        return (_FORM.get() or Form()).pack(list(flat))

    def attributes_inputs(self) -> bool:
        """Whether the attributions have the inputs' shapes (False when a method attributes
        to layer outputs; then only their leading axis is checked)."""
        return True

    def check_input_count(self, names: Sequence[str], where: str = "inputs") -> None:
        """Refuse a model of several inputs unless the method declares ``multi_input``."""
        if len(names) > 1 and not capabilities_of(type(self)).multi_input:
            shown = ", ".join(map(repr, names))
            raise InputError(
                f"{where}: {self.method_name} explains models of one input, got a model of "
                f"{len(names)} inputs ({shown}); use a method that declares "
                "Capabilities(multi_input=True), e.g. saliency or integrated_gradients"
            )

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
            inputs: (n, ...) a chunk of inputs (its sample shape and dtype key the cache);
                for several inputs, their tuple: ``build`` then gets a tuple of sample shapes
                and a tuple of dtypes, and the operator it gets takes the tuple.
            targets: (n, K) its target weights.
        """
        flat = as_flat(inputs)
        shapes = tuple(tuple(x.shape[1:]) for x in flat)
        dtypes = tuple(x.dtype for x in flat)
        k = int(targets.shape[-1])
        operator = self.resolved_operator()
        pack = self.pack_for_model

        def flat_operator(model: Any, points: Any, weights: tf.Tensor) -> tf.Tensor:
            return operator(model, pack(as_flat(points)), weights)

        shape, dtype = (shapes[0], dtypes[0]) if len(flat) == 1 else (shapes, dtypes)
        return self.kernels.get(
            (kind, shapes, dtypes, k, self._form_key()),
            lambda: build(self.scored_model, flat_operator, shape, k, dtype),
            self.tracing_context,
        )

    def _form_key(self) -> Any:
        """What the model's call structure depends on beyond the model (subclassed models)."""
        return None if model_call_structure(self.model) is not None else _FORM.get() or Form()

    def gradients(self, inputs: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Compiled gradients of the explained scores: ``(grads (n, ...), scores (n,))``."""
        return self.compiled("gradients", engine.gradient_fn, inputs, targets)(inputs, targets)

    def scores(self, inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        """Compiled forward pass: the explained scores (n,)."""
        return self.compiled("forward", engine.forward_fn, inputs, targets)(inputs, targets)

    def predict(self, inputs: Any) -> np.ndarray:
        """The model's (selected) outputs (N, K) for inputs (N, ...) (a tuple of arrays for a
        model of several inputs), ``batch_size`` rows at a time."""
        return engine.predict_in_chunks(
            self.kernels,
            self.scored_model,
            as_flat(inputs),
            self.batch_size,
            pack=self.pack_for_model,
            key=self._form_key(),
        )

    def num_outputs(self, inputs: Any) -> int:
        """The number of model outputs K (declared, else read off one prediction)."""
        declared = declared_num_outputs(self.scored_model)
        if declared is not None:
            return declared
        return int(self.predict([x[:1] for x in as_flat(inputs)]).shape[-1])

    def chunks(self, n: int) -> Iterator[slice]:
        """Slices of at most ``batch_size`` rows covering ``range(n)``."""
        for start in range(0, n, self.batch_size):
            yield slice(start, min(start + self.batch_size, n))

    # ------------------------------------------------------------------ the template
    def explain(self, inputs: Any, targets: Any = None) -> Explanation:
        """Explain the model's predictions on ``inputs``.

        Args:
            inputs: what the model's ``predict`` accepts: (N, F) tables, (N, T, C) sequences
                or (N, H, W, C) images as a numpy array or ``tf.Tensor``; for a model of
                several inputs a list / tuple of arrays in the model's input order or a dict
                keyed by input name; or a ``tf.data.Dataset`` of ``x`` or ``(x, y)`` of
                those (batched or not; a dataset's ``y`` is used as targets).
            targets: which output to explain per sample: None (the top-scoring output), one
                int for all samples, ints of shape (N,), or a one-hot / weight matrix (N, K)
                that weights the outputs.

        Returns:
            An :class:`~xaikit.explanation.Explanation` whose attributions mirror the
            structure of ``inputs`` (array, list or dict with the same keys).

        Raises:
            InputError: inputs or targets do not fit the model (the message says how).
        """
        operator = self.resolved_operator()
        label = self.operator if isinstance(self.operator, str) else None
        call = prepare_call(
            self.model, inputs, targets, operator, self.predict, label, self.scored_model
        )
        token = _FORM.set(call.form)
        try:
            return self._explain(call)
        finally:
            _FORM.reset(token)

    def _explain(self, call: Any) -> Explanation:
        flat, weights = call.flat, call.weights
        self.check_input_count(call.names)
        for x, name in zip(flat, call.names, strict=True):
            if not np.issubdtype(x.dtype, np.integer):
                self.check_data(x.shape[1:], "inputs" if len(flat) == 1 else name)
        n = len(flat[0])
        extras = dict(self.prepare(_unflat(flat), weights))
        for key, value in extras.items():
            for part in tf.nest.flatten(value):
                if np.shape(part)[:1] != (n,):
                    raise TypeError(
                        f"{type(self).__name__}.prepare() must return arrays with {n} rows, "
                        f"got {key!r} of shape {np.shape(part)}"
                    )
        attributions, scores, base_scores, mirrored = self._run(flat, weights, extras)
        delta = None
        dtype = next((x.dtype for x in flat if np.issubdtype(x.dtype, np.floating)), np.float32)
        if base_scores is not None:
            totals = sum(a.reshape(n, -1).sum(axis=1, dtype=np.float64) for a in attributions)
            delta = (totals - (scores.astype(np.float64) - base_scores)).astype(dtype)
        reducer = self.resolved_reducer()
        reduced = [apply_reducer(reducer, a) for a in attributions]
        packed = call.form.pack(reduced) if mirrored else reduced[0]
        return Explanation(
            attributions=packed,
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
        got = self._checked_attributions(inputs, result.attributions)
        scores = result.scores
        if scores is None and need_scores:
            scores = self.scores(inputs, targets)
        return BatchResult(got, scores, result.baseline_scores)

    def _checked_attributions(self, inputs: Any, attributions: Any) -> Any:
        """The attributions as tensors, after checking their form against the inputs'."""
        flat_in = as_flat(inputs)
        if isinstance(attributions, (tuple, list)):
            got = tuple(tf.convert_to_tensor(a) for a in attributions)
        else:
            got = tf.convert_to_tensor(attributions)
        flat_got = as_flat(got)
        n = int(flat_in[0].shape[0])
        name = type(self).__name__
        if self.attributes_inputs():
            expected = [tuple(x.shape) for x in flat_in]
            shapes = [tuple(a.shape) for a in flat_got]
            if shapes != expected or isinstance(got, tuple) != isinstance(inputs, tuple):
                want = expected[0] if len(expected) == 1 else tuple(expected)
                have = shapes[0] if not isinstance(got, tuple) else tuple(shapes)
                raise TypeError(
                    f"{name}.explain_batch() must return attributions of the inputs' shape "
                    f"{want}, got {have}"
                )
        elif any(a.shape.rank == 0 or int(a.shape[0]) != n for a in flat_got):
            raise TypeError(
                f"{name}.explain_batch() must return attributions with {n} rows, got shapes "
                f"{[tuple(a.shape) for a in flat_got]}"
            )
        return got

    def _batch_on_replicas(
        self, inputs: Any, targets: tf.Tensor, extras: Mapping[str, Any]
    ) -> BatchResult:
        """:meth:`run_batch` with the chunk's samples split over the strategy's replicas."""
        names = list(extras)
        flat_in = as_flat(inputs)
        flat_extras = [tf.nest.flatten(extras[k]) for k in names]
        has_base: list[bool] = []
        shape: list[bool] = []

        def replica(*tensors: tf.Tensor) -> tuple:
            x = _unflat(list(tensors[: len(flat_in)])) if isinstance(inputs, tuple) else tensors[0]
            t = tensors[len(flat_in)]
            rest = list(tensors[len(flat_in) + 1 :])
            values = {}
            for k, parts in zip(names, flat_extras, strict=True):
                values[k] = tf.nest.pack_sequence_as(extras[k], rest[: len(parts)])
                rest = rest[len(parts) :]
            result = self.run_batch(x, t, values)
            has_base.append(result.baseline_scores is not None)
            shape.append(isinstance(result.attributions, tuple))
            base = result.baseline_scores
            base = base if base is not None else result.scores
            return (*as_flat(result.attributions), result.scores, base)

        tensors = [*flat_in, targets, *(p for parts in flat_extras for p in parts)]
        outputs = engine.run_on_replicas(self.strategy, replica, *tensors)
        attributions = outputs[:-2]
        attributions = tuple(attributions) if shape[0] else attributions[0]
        base = outputs[-1] if all(has_base) else None
        return BatchResult(attributions, outputs[-2], base)

    def _run(
        self, flat: list[np.ndarray], weights: np.ndarray, extras: Mapping[str, Any]
    ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray | None, bool]:
        """Every chunk through the method: (flat attributions, scores, base scores, whether
        the attributions mirror the inputs)."""
        dtype = next(
            (x.dtype for x in flat if np.issubdtype(x.dtype, np.floating)), np.dtype(np.float32)
        )
        n = len(flat[0])
        # Each chunk's results go straight into arrays of all N rows, allocated at the first
        # chunk (layer attributions have the layer's shape): no list of chunks to concatenate,
        # so peak memory is the inputs, the outputs and one chunk.
        attributions: list[np.ndarray] = []
        scores = np.empty(n, dtype=np.float64)
        base_scores: np.ndarray | None = np.empty(n, dtype=np.float64)
        mirrored = True
        start, runner = 0, self  # runner: self, or a copy with a smaller batch_size after OOM
        while start < n:
            rows = slice(start, min(start + runner.batch_size, n))
            inputs = _unflat([tf.constant(x[rows]) for x in flat])
            targets = tf.constant(weights[rows])
            batch_extras = {
                k: tf.nest.map_structure(lambda a, r=rows: _extra_tensor(a[r], dtype), v)
                for k, v in extras.items()
            }
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
            got = as_flat(result.attributions)
            mirrored = isinstance(result.attributions, tuple) or len(flat) == 1
            if not attributions:
                attributions = [np.empty((n, *part.shape[1:]), dtype) for part in got]
            for out, part in zip(attributions, got, strict=True):
                out[rows] = np.asarray(part)
            scores[rows] = np.asarray(result.scores)
            if result.baseline_scores is None:
                base_scores = None
            elif base_scores is not None:
                base_scores[rows] = np.asarray(result.baseline_scores)
        if runner is not self:
            warnings.warn(
                f"batch_size: chunks of {self.batch_size} rows ran out of memory; explained "
                f"with {runner.batch_size} rows per chunk",
                ChunkSizeWarning,
                stacklevel=3,
            )
        return attributions, scores.astype(dtype), base_scores, mirrored
