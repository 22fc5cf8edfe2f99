"""``evaluate``: explain once, then score the explanation with several metrics."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ..errors import InputError
from ..explainer import Explainer
from ..inputs import coerce_structured, merge_targets
from ..structure import input_specs
from .base import Metric, MetricResult

__all__ = ["evaluate"]


def _parameters(factory: Any) -> tuple[set[str], bool]:
    """The keyword names ``factory`` accepts, and whether it takes any (``**kwargs``)."""
    if attrs.has(factory):
        return {field.alias or field.name for field in attrs.fields(factory) if field.init}, False
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return set(), True
    names = {p.name for p in signature.parameters.values() if p.kind != p.VAR_KEYWORD}
    return names, any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())


def evaluate(
    explainer: Explainer,
    inputs: Any,
    targets: Any = None,
    metrics: Iterable[str | Metric] | None = None,
    **metric_params: Any,
) -> dict[str, MetricResult]:
    """Explain ``inputs`` once with ``explainer`` and score that explanation with metrics.

    Args:
        explainer: the explainer under evaluation; its model, operator and batch_size are
            passed to every metric (unless ``metric_params`` say otherwise), and it is
            passed as ``explainer=`` to the metrics that re-explain (max_sensitivity,
            randomization). Its ``output`` is scored.
        inputs: as for :meth:`xaikit.Explainer.explain`.
        targets: as for :meth:`xaikit.Explainer.explain`.
        metrics: registered metric names (see :func:`xaikit.list_metrics`) or built
            :class:`Metric` instances; default: every registered metric.
        **metric_params: parameters for the metrics built here. A keyword named after a
            metric takes a mapping of that metric's parameters
            (``deletion={"steps": 10}``); any other keyword goes to every selected metric that
            accepts it (``seed=1``) and must be accepted by at least one.

    Returns:
        Metric name -> :class:`MetricResult`, in the order of ``metrics``.

    Raises:
        UnknownNameError: a metric name is not registered (the message lists the known ones).
        InputError: a parameter no selected metric accepts, or a bad parameter value.
    """
    from ..registry import get_registry, list_metrics

    if not isinstance(explainer, Explainer):
        raise InputError(f"explainer: expected a xaikit.Explainer, got {type(explainer).__name__}")
    selected = list(list_metrics() if metrics is None else metrics)
    if isinstance(metrics, str):
        selected = [metrics]
    registry = get_registry()
    factories: dict[str, Any] = {}
    built: dict[str, Metric] = {}
    for item in selected:
        if isinstance(item, Metric):
            if item.model is not explainer.model:
                raise InputError(
                    f"metrics: expected metrics of the explainer's model, got {item.name!r} "
                    "built on another model"
                )
            if item.output != explainer.output:
                raise InputError(
                    f"metrics: {item.name!r} scores output={item.output!r}, the explainer "
                    f"explains output={explainer.output!r}"
                )
            built[item.name] = item
        elif isinstance(item, str):
            factories[item] = registry.get("metrics", item, argument="metrics")
        else:
            raise InputError(
                f"metrics: expected metric names or Metric instances, got {type(item).__name__}"
            )
    per_metric = {k: v for k, v in metric_params.items() if k in factories}
    shared = {k: v for k, v in metric_params.items() if k not in factories}
    for name, params in per_metric.items():
        if not isinstance(params, Mapping):
            raise InputError(
                f"{name}: expected a mapping of the {name!r} metric's parameters, "
                f"got {type(params).__name__}"
            )
    accepted: dict[str, tuple[set[str], bool]] = {
        name: _parameters(factory) for name, factory in factories.items()
    }
    for key in shared:
        if not any(key in names or any_kw for names, any_kw in accepted.values()):
            raise InputError(
                f"{key}: no selected metric takes this parameter "
                f"(metrics: {', '.join(factories) or '(none built here)'})"
            )
    defaults = {
        "operator": explainer.operator,
        "batch_size": explainer.batch_size,
        "output": explainer.output,
        "explainer": explainer,
    }
    for name, factory in factories.items():
        names, any_kw = accepted[name]
        params = {
            key: value
            for key, value in {**defaults, **shared}.items()
            if key in names or (any_kw and key not in defaults)
        }
        if not getattr(factory, "requires_explainer", False):
            params.pop("explainer", None)
        params.update(per_metric.get(name, {}))
        built[name] = factory(explainer.model, **params)
    # a dataset is read once; every metric then gets the same arrays in the same form
    flat, form, dataset_targets = coerce_structured(inputs, input_specs(explainer.model))
    targets = merge_targets(targets, dataset_targets)
    x = form.pack(flat)
    explanation = explainer.explain(x, targets)
    order = [item.name if isinstance(item, Metric) else item for item in selected]
    return {name: built[name](x, None, explanation) for name in order}
