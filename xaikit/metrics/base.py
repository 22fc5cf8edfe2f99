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
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs
import numpy as np
import tensorflow as tf

from .. import engine
from ..call import read_inputs, target_weights
from ..errors import InputError
from ..explainer import Explainer, check_model, check_operator
from ..explanation import Explanation
from ..inputs import to_array
from ..kernels import KernelCache
from ..operators import Operator
from ..registry import resolve_operator
from ..validators import positive_int, positive_number
from ._features import FeatureLayout, feature_layout

__all__ = [
    "Metric",
    "MetricResult",
    "MetricInputs",
    "ExplainerMetric",
    "check_explainer_field",
    "positive_number",
]


@attrs.frozen(eq=False)
class MetricResult:
    """What a metric says about a batch of attributions.

    Attributes:
        name: the metric's registered name.
        scores: (N,) float64, one score per sample.
        mean: the mean of ``scores``.
        higher_is_better: the metric's direction.
        curves: (N, n_points) for curve metrics (deletion, insertion, pixel flipping: the
            explained score after each step; randomization: the similarity after each layer),
            else None. ``details`` holds the x axis.
        details: metric-specific extras (the curves' x axis as ``details["fractions"]``, the
            randomized layers' names, ...).
    """

    name: str
    scores: np.ndarray
    mean: float
    higher_is_better: bool
    curves: np.ndarray | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict)

    def __repr__(self) -> str:
        direction = "higher" if self.higher_is_better else "lower"
        curves = "" if self.curves is None else f", curves shape={self.curves.shape}"
        return (
            f"MetricResult(name={self.name!r}, mean={self.mean:.4g} ({direction} is better), "
            f"n={len(self.scores)}{curves})"
        )


@attrs.frozen(eq=False)
class MetricInputs:
    """A metric's arguments once coerced and validated (what :meth:`Metric.compute` gets).

    Attributes:
        inputs: (N, ...) float inputs, the model's dtype.
        weights: (N, K) float target weights (one-hot rows for class indices).
        targets: the targets as recorded in an Explanation: indices (N,) or weights (N, K).
        attributions: (N, ...) float64: the inputs' shape, or without the channel axis.
        layout: how attribution features map onto input elements.
    """

    inputs: np.ndarray
    weights: np.ndarray
    targets: np.ndarray
    attributions: np.ndarray
    layout: FeatureLayout

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


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


@attrs.frozen  # model positional, every other field keyword-only (as Explainer)
class Metric(abc.ABC):
    """Base class of explanation-quality metrics.

    Args:
        model: a Keras 3 model with one input and one output tensor (the only positional
            argument).
        batch_size: how many rows (perturbed copies of samples) the model evaluates at once;
            bounds memory. Default 64.
        operator: which scalar of the model's output is scored: a registered name
            ('classification', 'regression', 'logits', ...) or a callable
            ``(model, inputs, targets) -> scores (n,)``. Use the explainer's operator.

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
            inputs: (N, F) tabular, (N, T, C) sequences or (N, H, W, C) images: a numpy
                array, a ``tf.Tensor`` or a ``tf.data.Dataset`` of ``x`` or ``(x, y)``.
            targets: as for :meth:`xaikit.Explainer.explain`: None (the Explanation's targets,
                else the top-scoring output), an int, ints (N,) or weights (N, K).
            attributions: (N, ...) of the inputs' shape, or (N, H, W) / (N, T) with the
                channel axis reduced (a "feature" is then a whole pixel / time step), as an
                array or an :class:`~xaikit.Explanation`. Metrics that take an explainer
                compute them when None.

        Returns:
            A :class:`MetricResult` with one score per sample.

        Raises:
            InputError: inputs, targets or attributions that do not fit (the message says
                which argument, what was expected and what came).
        """
        return self.compute(self.prepare(inputs, targets, attributions))

    def prepare(self, inputs: Any, targets: Any = None, attributions: Any = None) -> MetricInputs:
        """Coerce and validate a call's arguments (see :meth:`__call__`)."""
        from_explanation = False
        if isinstance(attributions, Explanation):
            if targets is None:
                targets, from_explanation = attributions.targets, True
            attributions = attributions.attributions
        x, given = read_inputs(self.model, inputs, None if from_explanation else targets)
        targets = targets if from_explanation else given
        operator = resolve_operator(self.operator)
        validate = getattr(operator, "validate", None)
        if validate is not None:
            validate(self.model)
        if attributions is None:
            explanation = self.explain(x, targets)
            attributions = explanation.attributions
            if targets is None:
                targets = explanation.targets
        weights, recorded = target_weights(self.model, x, targets, operator, self.predict)
        values = self._check_attributions(attributions, x)
        return MetricInputs(
            inputs=x,
            weights=weights,
            targets=recorded,
            attributions=values,
            layout=feature_layout(x.shape, values.shape),
        )

    def explain(self, inputs: np.ndarray, targets: Any) -> Explanation:
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

    # ------------------------------------------------------------------ model evaluation
    def row_scores(
        self,
        data: MetricInputs,
        num_rows: int,
        build: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    ) -> np.ndarray:
        """Operator scores of ``num_rows`` perturbed rows, ``batch_size`` rows at a time.

        Args:
            data: the prepared call.
            num_rows: how many rows there are, e.g. N samples x S perturbations.
            build: ``build(rows)`` takes the row numbers of one chunk (r,) and returns
                ``(samples (r,), perturbed inputs (r, ...))``: which sample each row
                perturbs (its targets are used) and the rows' inputs, built vectorised.

        Returns:
            (num_rows,) float64 scores.
        """
        forward = self._forward(data)
        out = np.empty(num_rows, dtype=np.float64)
        for start in range(0, num_rows, self.batch_size):
            rows = np.arange(start, min(start + self.batch_size, num_rows))
            samples, perturbed = build(rows)
            weights = data.weights[samples]
            out[rows] = forward(
                tf.constant(np.asarray(perturbed, dtype=data.inputs.dtype)), tf.constant(weights)
            ).numpy()
        return out

    def scores(self, data: MetricInputs) -> np.ndarray:
        """Operator scores (N,) at the unperturbed inputs."""
        return self.row_scores(data, len(data), lambda rows: (rows, data.inputs[rows]))

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """The model's outputs (N, K), ``batch_size`` samples at a time (compiled)."""
        return engine.predict_in_chunks(self.kernels, self.model, inputs, self.batch_size)

    def _forward(self, data: MetricInputs) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
        x, k = data.inputs, int(data.weights.shape[1])
        return self.kernels.get(
            ("forward", x.shape[1:], x.dtype, k),
            lambda: engine.forward_fn(
                self.model, resolve_operator(self.operator), x.shape[1:], k, tf.as_dtype(x.dtype)
            ),
        )

    @staticmethod
    def _check_attributions(attributions: Any, x: np.ndarray) -> np.ndarray:
        values = to_array(attributions, "attributions")
        if values.dtype == object or not (
            np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.bool_)
        ):
            raise InputError(
                f"attributions: expected numbers, got an array of dtype {values.dtype}"
            )
        feature_layout(x.shape, values.shape)  # raises on a shape that does not fit
        values = values.astype(np.float64)
        if not np.all(np.isfinite(values)):
            raise InputError("attributions: expected finite values, got NaN or inf")
        return values


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

    def explain(self, inputs: np.ndarray, targets: Any) -> Explanation:
        assert self.explainer is not None  # the field's validator refuses None
        return self.explainer.explain(inputs, targets)
