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

This module holds the class and its template. The chunk loop (out-of-memory retry, replicas,
errors naming the rows) is :mod:`xaikit.chunking`; what one chunk is (:func:`as_flat`,
:class:`BatchResult`) :mod:`xaikit.batches`; the fields' validators and defaults
:mod:`xaikit.explainer_fields`. Their public names are importable from here too.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
import tensorflow as tf

from . import engine
from .batches import BatchResult, _unflat, as_flat, checked_attributions
from .call import prepare_call
from .capabilities import Capabilities, capabilities_of
from .chunking import run_chunks
from .errors import InputError
from .explainer_fields import (
    DEFAULT_BATCH_SIZE,
    _check_output,
    _check_strategy,
    _default_batch_size,
    check_model,
    check_operator,
    check_reducer,
    reducer_field,
)
from .explanation import Explanation
from .kernels import KernelCache
from .model import declared_num_outputs, select_output
from .operators import Operator
from .reducers import Reducer, apply_reducer
from .registry import name_of, resolve_operator, resolve_reducer
from .structure import calling_with, form_key, pack_for_model
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

#: A kernel builder: ``build(model, operator, sample_shape, num_outputs, dtype) -> callable``.
KernelBuilder = Callable[[Any, Operator, tuple, int, tf.DType], Any]


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
        return pack_for_model(self.model, flat)

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
        return form_key(self.model)

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
        with calling_with(call.form):
            return self._explain(call)

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
        attributions, scores, base_scores, mirrored = run_chunks(self, flat, weights, extras)
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
        got = checked_attributions(self, inputs, result.attributions)
        scores = result.scores
        if scores is None and need_scores:
            scores = self.scores(inputs, targets)
        return BatchResult(got, scores, result.baseline_scores)
