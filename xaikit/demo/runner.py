"""Train the demo models and explain a few samples with every registered method.

A method that cannot explain a kind of data (an image-only method on a table, a method
needing a parameter the demo cannot guess) is recorded with its error instead of stopping
the demo; the built-in methods must all succeed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

import xaikit
from xaikit.capabilities import describe_kinds

from .data import MAKERS, DemoData
from .model import accuracy, train_model
from .records import FULL, KINDS, QUICK, KindRun, MethodRun, Settings

__all__ = [
    "KINDS",
    "Settings",
    "FULL",
    "QUICK",
    "MethodRun",
    "KindRun",
    "relevance_mass",
    "method_params",
    "run_methods",
    "explain_kind",
    "run",
]


#: Parameters the demo passes to built-in methods (plugins get their defaults, plus a seed).
DEMO_PARAMS: dict[str, dict[str, Any]] = {
    "integrated_gradients": {"steps": 64},
    "random_baseline_ig": {"steps": 32, "num_runs": 8},
}


def relevance_mass(attributions: Any, relevant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share of each sample's ``|attributions|`` inside ``relevant``, and the region's area.

    Args:
        attributions: (N, ...) attributions, the inputs' shape or with the channel axis
            folded by a reducer.
        relevant: (N, ...) boolean mask of the inputs' shape; folded with ``any`` over
            channels when the attributions were reduced.

    Returns:
        ``(mass, area)``, both (N,): ``sum |a| over the region / sum |a|`` and the fraction
        of attribution entries inside the region. A method no better than uniform scores
        ``mass == area``; a perfect one scores 1.
    """
    values = np.abs(np.asarray(attributions, dtype=np.float64))
    mask = np.asarray(relevant, dtype=bool)
    if values.shape != mask.shape:
        if values.shape != mask.shape[:-1]:
            raise ValueError(
                f"attributions: expected shape {mask.shape} or {mask.shape[:-1]}, got "
                f"{values.shape}"
            )
        mask = np.asarray(mask.any(axis=-1), dtype=bool)
    n = values.shape[0]
    total = values.reshape(n, -1).sum(axis=1)
    inside = (values * mask).reshape(n, -1).sum(axis=1)
    mass = np.divide(inside, total, out=np.zeros(n), where=total > 0)
    area = mask.reshape(n, -1).mean(axis=1)
    return mass, area


def method_params(name: str) -> dict[str, Any]:
    """The parameters the demo passes to method ``name`` (tuned ones for some built-ins)."""
    return dict(DEMO_PARAMS.get(name, {}))


def seeded(explainer: Any, seed: int) -> Any:
    """``explainer`` with its declared seed parameter set, if the method is stochastic and
    that parameter was left at None (see :class:`xaikit.Capabilities`).

    Works for any attrs explainer, however the registry built it (class or factory), so
    randomized methods, plugins' included, give the same attributions on every run.
    """
    field = xaikit.capabilities_of(type(explainer)).seed
    if field is not None and attrs.has(type(explainer)) and getattr(explainer, field) is None:
        return attrs.evolve(explainer, **{field: seed})
    return explainer


#: The demo's kinds of data and the data kinds methods declare.
DATA_KIND = {"image": "image", "series": "sequence", "tabular": "tabular"}


#: What the structured tasks need a method to declare, and why.
NEEDS = {
    "text": ("layers", "token ids are explained at their embedding layer; it declares no layers"),
    "two_input": ("multi_input", "models of one input only; it declares no multi_input"),
}


def not_applicable(method: Any, kind: str) -> str | None:
    """Why ``method`` (a registered class or factory) does not run on the demo's ``kind``,
    from what it declares, or None when it applies."""
    capabilities = xaikit.capabilities_of(method)
    if kind in NEEDS:
        flag, why = NEEDS[kind]
        return None if getattr(capabilities, flag) else f"not applicable ({why})"
    if capabilities.supports(DATA_KIND.get(kind, kind)):
        return None
    return f"not applicable ({describe_kinds(capabilities.data)})"


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or "(no message)"
    return f"{type(error).__name__}: {text}"


def _metric_params(name: str, features: int) -> dict[str, Any]:
    """Per-metric parameters that fit ``features`` attribution features per sample.

    The removal metrics' defaults assume images of hundreds of pixels; a table of 8 columns
    gets curves of at most 8 steps.
    """
    if name in ("deletion", "insertion") and features < 20:
        return {name: {"steps": features}}
    if name == "pixel_flipping" and features < 100:
        step = 1.0 / features
        return {name: {"step": step, "fraction": max(0.25, step)}}
    return {}


def _metrics(
    explainer: Any, data: DemoData, features: int
) -> tuple[dict[str, Any], dict[str, str], str | None]:
    """Every registered metric's result on ``data``, each metric's error, or why none ran.

    ``features`` is the number of attribution features per sample (sizes the curves).

    Each metric runs on its own, so one that cannot handle the data leaves the others be.
    """
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in xaikit.list_metrics():
        try:
            params = _metric_params(name, features)
            results.update(
                xaikit.metrics.evaluate(explainer, data.inputs, data.labels, [name], **params)
            )
        except Exception as error:  # noqa: BLE001 - recorded in the report, the demo goes on
            errors[name] = _one_line(error)
    return results, errors, None


def run_methods(
    model: Any,
    inputs: Any,
    labels: np.ndarray,
    kind: str,
    measure: Callable[[Any], Mapping[str, Any]],
    *,
    seed: int = 0,
    methods: Sequence[str] | None = None,
    extra_params: Mapping[str, Any] | None = None,
) -> list[tuple[MethodRun, Any]]:
    """Explain ``inputs`` (their true ``labels``) with each method that applies to ``kind``.

    Every registered method (or each of ``methods``) is built with the demo's parameters plus
    ``extra_params``, seeded, and run; ``measure(explanation)`` gives the record's further
    fields (relevance mass, ...). A method that does not apply is recorded as skipped, one
    that fails with its error, never raised.

    Returns:
        ``(record, explainer)`` per method; the explainer is None when it did not run.
    """
    entries = xaikit.get_registry().entries("methods")
    out: list[tuple[MethodRun, Any]] = []
    for name in list(entries) if methods is None else list(methods):
        entry = entries.get(name)
        if entry is None:
            error = f"UnknownNameError: no method {name!r}"
            out.append((MethodRun(name, "?", {}, error=error), None))
            continue
        params = {**method_params(name), **(extra_params or {})}
        skip = not_applicable(entry.obj, kind)
        if skip is not None:
            out.append((MethodRun(name, entry.plugin, params, skipped=skip), None))
            continue
        start = time.perf_counter()
        try:
            explainer = seeded(xaikit.get_explainer(name, model, **params), seed)
            explanation = explainer.explain(inputs, labels)
            fields = dict(measure(explanation))
        except Exception as error:  # noqa: BLE001 - one failing method must not stop the demo
            out.append((MethodRun(name, entry.plugin, params, error=_one_line(error)), None))
            continue
        record = MethodRun(
            name,
            entry.plugin,
            dict(explanation.params),
            explanation=explanation,
            seconds=time.perf_counter() - start,
            **fields,
        )
        out.append((record, explainer))
    return out


def explain_kind(
    model: Any,
    data: DemoData,
    *,
    seed: int = 0,
    methods: Sequence[str] | None = None,
    metrics: bool = True,
) -> list[MethodRun]:
    """Explain ``data`` (its true classes) with each method; failures are recorded, not raised.

    Args:
        model: the trained classifier.
        data: the samples to explain.
        seed: passed to methods with a ``seed`` parameter.
        methods: names to run (default: every registered method).
        metrics: also score each method with ``xaikit.metrics.evaluate``.
    """

    def measure(explanation: Any) -> dict[str, Any]:
        mass, area = relevance_mass(explanation.attributions, data.relevant)
        return {"relevance_mass": mass, "area": area}

    runs = []
    ran = run_methods(
        model, data.inputs, data.labels, data.kind, measure, seed=seed, methods=methods
    )
    for record, explainer in ran:
        if explainer is not None:
            features = int(np.prod(record.explanation.attributions.shape[1:]))
            scores, failed, why = (
                _metrics(explainer, data, features)
                if metrics
                else ({}, {}, "not computed in this run")
            )
            record = attrs.evolve(record, metrics=scores, metric_errors=failed, metrics_error=why)
        runs.append(record)
    return runs


def run(
    settings: Settings = FULL,
    *,
    seed: int = 0,
    kinds: Sequence[str] = KINDS,
    methods: Sequence[str] | None = None,
    metrics: bool = True,
    log: Callable[[str], None] = lambda message: None,
) -> dict[str, KindRun]:
    """Train one model per kind on synthetic data and explain a few held-out samples.

    Args:
        settings: :data:`FULL` or :data:`QUICK` (or your own sizes).
        seed: seeds the data, the weights, the training order and seeded methods.
        kinds: which of :data:`KINDS` to run ('image', 'series', 'tabular', 'text',
            'two_input').
        methods: method names (default: all registered).
        metrics: score each method with ``xaikit.metrics.evaluate`` when available (for
            the kinds in ``settings.metric_kinds``).
        log: called with a line of progress for each step.

    Returns:
        kind -> :class:`KindRun`.
    """
    from .structured_run import run_task

    results = {}
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"kinds: expected some of {list(KINDS)}, got {kind!r}")
        if kind not in MAKERS:
            results[kind] = run_task(kind, settings, seed=seed, methods=methods, log=log)
            continue
        size, epochs = settings.train[kind]
        train = MAKERS[kind](size, seed=seed)
        test = MAKERS[kind](settings.test_samples, seed=seed + 1)
        shown = test.subset(slice(0, settings.explained[kind]))
        # The image model is watched while it learns: saliency of the shown samples per epoch.
        watch = (
            [xaikit.callbacks.ExplainCallback(shown.inputs, shown.labels, at_train_begin=True)]
            if kind == "image"
            else []
        )
        start = time.perf_counter()
        model = train_model(train, epochs=epochs, seed=seed, callbacks=watch)
        train_seconds = time.perf_counter() - start
        score = accuracy(model, test)
        log(f"{kind}: trained in {train_seconds:.1f} s, test accuracy {score:.1%}")
        probabilities = np.asarray(model(shown.inputs, training=False))
        scored = metrics and kind in settings.metric_kinds
        runs = explain_kind(model, shown, seed=seed, methods=methods, metrics=scored)
        for item in runs:
            if item.skipped:
                log(f"{kind}: {item.name} {item.skipped}")
            elif item.error:
                log(f"{kind}: {item.name} failed: {item.error}")
            else:
                log(
                    f"{kind}: {item.name}: relevance mass {item.mean_mass:.2f} "
                    f"(region area {item.mean_area:.2f})"
                )
        epoch_maps = dict(watch[0].attributions) if watch else {}
        results[kind] = KindRun(
            shown, probabilities, score, train_seconds, runs, model, epoch_maps=epoch_maps
        )
    return results
