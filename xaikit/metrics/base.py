"""The :class:`Metric` base class and the :class:`MetricResult` record every metric returns.

A metric is built like an explainer: the model is the one positional argument, every other
parameter is keyword-only with a documented default, and the constructor only validates and
stores. Calling it, ``metric(inputs, targets, attributions)``, coerces and validates its
arguments once, here, with the same rules as :meth:`xaikit.Explainer.explain`, then hands a
:class:`MetricInputs` record to the subclass's one hook, :meth:`Metric.compute`.

Metrics that perturb inputs flatten (sample, perturbation) pairs into rows and evaluate them
``batch_size`` rows at a time with :meth:`Metric.row_scores`: memory stays
O(batch_size x input size) whatever the number of samples and perturbations.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
import tensorflow as tf

from .. import engine
from ..call import prepare_call, target_weights
from ..errors import InputError
from ..explainer import Explainer, as_flat, check_model, check_operator
from ..explanation import Explanation
from ..kernels import KernelCache
from ..model import select_output
from ..operators import Operator
from ..registry import resolve_operator
from ..structure import calling_with, form_key, input_specs, pack_for_model
from ..validators import positive_int, positive_number
from ._records import MetricInputs, MetricResult
from ._structure import structured_attributions

__all__ = [
    "Metric",
    "MetricResult",
    "MetricInputs",
    "ExplainerMetric",
    "check_explainer_field",
    "positive_number",
]


def check_explainer_field(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: an :class:`~xaikit.Explainer` of the metric's own model."""
    if value is None:
        raise InputError(
            f"{attribute.name}: the {instance.name!r} metric re-explains the inputs, so it "
            f"needs {attribute.name}=<a xaikit.Explainer of the model>, got None"
        )
    if not isinstance(value, Explainer):
        raise InputError(
            f"{attribute.name}: expected a xaikit.Explainer (e.g. xaikit.Saliency(model)), "
            f"got {type(value).__name__}"
        )
    if value.model is not instance.model:
        raise InputError(
            f"{attribute.name}: expected an explainer of the metric's model "
            f"{getattr(instance.model, 'name', '')!r}, got one of another model "
            f"{getattr(value.model, 'name', '')!r}"
        )
    if value.output != instance.output:
        raise InputError(
            f"{attribute.name}: the explainer explains output={value.output!r} and the metric "
            f"scores output={instance.output!r}; build both with the same output="
        )


def _check_output(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    select_output(instance.model, value)


@attrs.frozen  # model positional, every other field keyword-only (as Explainer)
class Metric(abc.ABC):
    """Base class of explanation-quality metrics.

    Args:
        model: a Keras 3 model (the only positional argument), of one input or several
            (a list or dict of inputs).
        batch_size: how many rows (perturbed copies of samples) the model evaluates at once;
            bounds memory. Default 64.
        operator: which scalar of the model's output is scored: a registered name
            ('classification', 'regression', 'logits', ...) or a callable
            ``(model, inputs, targets) -> scores (n,)``. Use the explainer's operator.
        output: which output of a model with several is scored: its name or index (None
            for a model of one output). Use the explainer's output.

    A model of several inputs is scored over one global order of features: every input's
    features, end to end in the model's input order (see :mod:`xaikit.metrics._structure`);
    perturbations are applied to each input in its own part.

    A subclass sets the class attributes ``name`` and ``higher_is_better`` and implements
    :meth:`compute`. ``attrs.evolve(metric, steps=50)`` clones with new parameters.
    """

    #: Registered name, recorded in ``MetricResult.name``.
    name: ClassVar[str]
    #: Whether a larger score means a better explanation.
    higher_is_better: ClassVar[bool]
    #: Whether the metric takes ``explainer=`` (and can compute attributions itself).
    requires_explainer: ClassVar[bool] = False

    model: Any = attrs.field(validator=check_model, repr=False)
    batch_size: int = attrs.field(default=64, validator=positive_int, kw_only=True)
    operator: str | Operator = attrs.field(
        default="classification", validator=check_operator, kw_only=True
    )
    output: int | str | None = attrs.field(default=None, validator=_check_output, kw_only=True)
    #: The metric's compiled kernels (forward pass, predict), one cache shared by threads.
    kernels: KernelCache = attrs.field(init=False, factory=KernelCache, repr=False, eq=False)

    # ------------------------------------------------------------------ the hook to implement
    @abc.abstractmethod
    def compute(self, data: MetricInputs) -> MetricResult:
        """Score validated attributions: see :class:`MetricInputs` for what ``data`` holds."""

    # ------------------------------------------------------------------ the template
    def __call__(self, inputs: Any, targets: Any = None, attributions: Any = None) -> MetricResult:
        """Score the attributions of ``inputs``.

        Args:
            inputs: what the model's ``predict`` accepts, as for
                :meth:`xaikit.Explainer.explain`: (N, F) tabular, (N, T, C) sequences or
                (N, H, W, C) images as a numpy array or ``tf.Tensor``; for a model of
                several inputs a list / tuple in the model's input order or a dict keyed by
                input name; or a ``tf.data.Dataset`` of ``x`` or ``(x, y)`` of those.
            targets: as for :meth:`xaikit.Explainer.explain`: None (the Explanation's targets,
                else the top-scoring output), an int, ints (N,) or weights (N, K).
            attributions: the inputs' structure (one array, or a list / dict with one per
                input), each part (N, ...) of its input's shape or (N, H, W) / (N, T) with the
                channel axis reduced (a "feature" is then a whole pixel / time step); or an
                :class:`~xaikit.Explanation`. Metrics that take an explainer compute them
                when None.

        Returns:
            A :class:`MetricResult` with one score per sample.

        Raises:
            InputError: inputs, targets or attributions that do not fit (the message says
                which argument, or which input, what was expected and what came).
        """
        data = self.prepare(inputs, targets, attributions)
        with calling_with(data.form):
            return self.compute(data)

    def prepare(self, inputs: Any, targets: Any = None, attributions: Any = None) -> MetricInputs:
        """Coerce and validate a call's arguments (see :meth:`__call__`), through the same
        path as :meth:`xaikit.Explainer.explain` (:func:`xaikit.call.prepare_call`)."""
        from_explanation = False
        if isinstance(attributions, Explanation):
            if targets is None:
                targets, from_explanation = attributions.targets, True
            attributions = attributions.attributions
        operator = resolve_operator(self.operator)
        label = self.operator if isinstance(self.operator, str) else None
        # a dataset's y gives way to the targets of the Explanation being scored
        override = from_explanation and isinstance(inputs, tf.data.Dataset)
        call = prepare_call(
            self.model,
            inputs,
            None if override else targets,
            operator,
            self.predict,
            label,
            self.scored_model,
        )
        weights, recorded = call.weights, call.targets
        if override:
            weights, recorded = target_weights(
                self.scored_model, call.inputs, targets, operator, self.predict, label
            )
        if attributions is None:
            with calling_with(call.form):
                attributions = self.explain(call.form.pack(call.flat), recorded).attributions
        values, features = structured_attributions(
            attributions, call.flat, input_specs(self.model), call.names
        )
        return MetricInputs(
            flat=call.flat,
            weights=weights,
            targets=recorded,
            flat_attributions=values,
            features=features,
            form=call.form,
        )

    def explain(self, inputs: Any, targets: Any) -> Explanation:
        """Attributions when none are given: only metrics with an explainer can."""
        raise InputError(
            f"attributions: the {self.name!r} metric needs attributions (an array or an "
            "Explanation), got None"
        )

    def result(
        self,
        scores: np.ndarray,
        curves: np.ndarray | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> MetricResult:
        """The :class:`MetricResult` of per-sample ``scores`` (N,)."""
        scores = np.asarray(scores, dtype=np.float64)
        return MetricResult(
            name=self.name,
            scores=scores,
            mean=float(np.mean(scores)),
            higher_is_better=self.higher_is_better,
            curves=None if curves is None else np.asarray(curves, dtype=np.float64),
            details=dict(details or {}),
        )

    @property
    def params(self) -> dict[str, Any]:
        """The metric's parameters, everything but the model."""
        return {
            field.name: getattr(self, field.name)
            for field in attrs.fields(type(self))
            if field.init and field.name != "model"
        }

    @property
    def scored_model(self) -> Any:
        """The model as the metric scores it: ``model``, or a view of the selected ``output``."""
        return select_output(self.model, self.output)

    def pack_for_model(self, flat: Sequence[Any]) -> Any:
        """Flat inputs (model input order) in the structure the model is called with."""
        return pack_for_model(self.model, flat)

    def _form_key(self) -> Any:
        return form_key(self.model)

    # ------------------------------------------------------------------ model evaluation
    def row_scores(
        self,
        data: MetricInputs,
        num_rows: int,
        build: Callable[[np.ndarray], tuple[np.ndarray, Any]],
    ) -> np.ndarray:
        """Operator scores of ``num_rows`` perturbed rows, ``batch_size`` rows at a time.

        Args:
            data: the prepared call.
            num_rows: how many rows there are, e.g. N samples x S perturbations.
            build: ``build(rows)`` takes the row numbers of one chunk (r,) and returns
                ``(samples (r,), perturbed inputs)``: which sample each row perturbs (its
                targets are used) and the rows' inputs, built vectorised: one (r, ...) array
                for a one-input model, else a list of them in the model's input order.

        Returns:
            (num_rows,) float64 scores.
        """
        forward = self._forward(data)
        out = np.empty(num_rows, dtype=np.float64)
        for start in range(0, num_rows, self.batch_size):
            rows = np.arange(start, min(start + self.batch_size, num_rows))
            samples, perturbed = build(rows)
            parts = [
                tf.constant(np.asarray(p, dtype=x.dtype))
                for p, x in zip(as_flat(perturbed), data.flat, strict=True)
            ]
            batch = parts[0] if len(parts) == 1 else tuple(parts)
            out[rows] = forward(batch, tf.constant(data.weights[samples])).numpy()
        return out

    def scores(self, data: MetricInputs) -> np.ndarray:
        """Operator scores (N,) at the unperturbed inputs."""
        return self.row_scores(data, len(data), lambda rows: (rows, data.rows(rows)))

    def predict(self, inputs: Any) -> np.ndarray:
        """The model's (selected) outputs (N, K), ``batch_size`` samples at a time (compiled);
        ``inputs`` is one array, or a tuple of them for a model of several inputs."""
        return engine.predict_in_chunks(
            self.kernels,
            self.scored_model,
            as_flat(inputs),
            self.batch_size,
            pack=self.pack_for_model,
            key=self._form_key(),
        )

    def _forward(self, data: MetricInputs) -> Callable[[Any, tf.Tensor], tf.Tensor]:
        shapes = tuple(tuple(x.shape[1:]) for x in data.flat)
        dtypes = tuple(tf.as_dtype(x.dtype) for x in data.flat)
        k = int(data.weights.shape[1])
        operator = resolve_operator(self.operator)
        pack = self.pack_for_model

        def flat_operator(model: Any, points: Any, weights: tf.Tensor) -> tf.Tensor:
            return operator(model, pack(as_flat(points)), weights)

        shape: Any = shapes[0] if len(shapes) == 1 else shapes
        dtype: Any = dtypes[0] if len(dtypes) == 1 else dtypes
        return self.kernels.get(
            ("forward", shapes, dtypes, k, self._form_key()),
            lambda: engine.forward_fn(self.scored_model, flat_operator, shape, k, dtype),
        )


@attrs.frozen(kw_only=True)
class ExplainerMetric(Metric):
    """A metric that runs an explainer itself (``requires_explainer = True``).

    Args:
        explainer: a :class:`~xaikit.Explainer` of the same model; it computes the
            attributions when none are passed to the call.
    """

    requires_explainer: ClassVar[bool] = True

    explainer: Explainer | None = attrs.field(
        default=None, validator=check_explainer_field, repr=False
    )

    def explain(self, inputs: Any, targets: Any) -> Explanation:
        assert self.explainer is not None  # the field's validator refuses None
        return self.explainer.explain(inputs, targets)
