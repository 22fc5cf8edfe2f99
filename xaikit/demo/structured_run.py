"""Train and explain the demo's structured tasks (``text``, ``two_input``).

Each registered method runs when it declares what the task needs (``layers`` for token ids
explained at their embedding, ``multi_input`` for the two-input model) and is otherwise
recorded as not applicable (:func:`xaikit.demo.runner.not_applicable`); a failure is
recorded, never raised.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from .records import KindRun, MethodRun, Settings
from .runner import relevance_mass, run_methods
from .structured import EMBEDDING, PairData, TextData, image_table, predict, sentences, train

__all__ = ["TASKS", "per_input_mass", "explain_task", "run_task"]

#: The structured tasks: kind -> maker(n, seed=...) of its data.
TASKS: dict[str, Callable[..., TextData | PairData]] = {
    "text": sentences,
    "two_input": image_table,
}

#: Why no metric runs on these tasks.
NO_METRICS = "not computed for this task (the demo scores one-input models only)"


def per_input_mass(
    attributions: Mapping[str, Any], relevant: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, dict[str, dict[str, np.ndarray]]]:
    """Relevance mass over all inputs together, and per input.

    Args:
        attributions: input name -> (N, ...) attributions (or reduced over channels).
        relevant: input name -> (N, ...) boolean mask of that input's shape.

    Returns:
        ``(mass, area, parts)``: ``mass`` and ``area`` (N,) over the inputs together (every
        attribution entry counted once); ``parts[name]`` holds that input's ``mass`` and
        ``area`` (N,) within it, and its ``share`` (N,) of the total ``|attribution|``.
    """
    parts: dict[str, dict[str, np.ndarray]] = {}
    totals, insides, counts, regions = [], [], [], []
    for name, values in attributions.items():
        mass, area = relevance_mass(values, relevant[name])
        flat = np.abs(np.asarray(values, dtype=np.float64)).reshape(len(mass), -1)
        totals.append(flat.sum(axis=1))
        insides.append(mass * totals[-1])
        counts.append(flat.shape[1])
        regions.append(area * flat.shape[1])
        parts[name] = {"mass": mass, "area": area}
    total = np.sum(totals, axis=0)
    for name, part_total in zip(parts, totals, strict=True):
        parts[name]["share"] = np.divide(
            part_total, total, out=np.zeros_like(total), where=total > 0
        )
    mass = np.divide(np.sum(insides, axis=0), total, out=np.zeros_like(total), where=total > 0)
    return mass, np.sum(regions, axis=0) / float(np.sum(counts)), parts


def explain_task(
    model: Any,
    data: TextData | PairData,
    *,
    seed: int = 0,
    methods: Sequence[str] | None = None,
) -> list[MethodRun]:
    """Explain ``data`` (its true classes) with every method that applies.

    Token ids are explained at the model's embedding (``layer="embedding"``,
    ``reducer="sum"``: one score per token); the two inputs are explained together.
    """
    x = data.inputs if isinstance(data, TextData) else dict(data.inputs)
    extra = {"layer": EMBEDDING, "reducer": "sum"} if isinstance(data, TextData) else {}

    def measure(explanation: Any) -> dict[str, Any]:
        parts: dict[str, dict[str, np.ndarray]] = {}
        if isinstance(data, TextData):
            mass, area = relevance_mass(explanation.attributions, data.relevant)
        else:
            mass, area, parts = per_input_mass(explanation.attributions, data.relevant)
        return {"relevance_mass": mass, "area": area, "per_input": parts}

    ran = run_methods(
        model, x, data.labels, data.kind, measure, seed=seed, methods=methods, extra_params=extra
    )
    return [
        record if explainer is None else attrs.evolve(record, metrics_error=NO_METRICS)
        for record, explainer in ran
    ]


def _log_line(kind: str, item: MethodRun) -> str:
    if item.skipped:
        return f"{kind}: {item.name} {item.skipped}"
    if item.error:
        return f"{kind}: {item.name} failed: {item.error}"
    mass, area = item.mean_mass, item.mean_area
    if kind == "text":
        return f"{kind}: {item.name}: keyword share {mass:.2f} (keyword area {area:.2f})"
    parts = ", ".join(
        f"{name} {float(part['share'].mean()):.2f} of |attribution|, "
        f"{float(part['mass'].mean()):.2f} on its relevant part (area "
        f"{float(part['area'].mean()):.2f})"
        for name, part in item.per_input.items()
    )
    return f"{kind}: {item.name}: relevance mass {mass:.2f} (area {area:.2f}); {parts}"


def run_task(
    kind: str,
    settings: Settings,
    *,
    seed: int = 0,
    methods: Sequence[str] | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> KindRun:
    """Train the ``kind`` task's model and explain a few held-out samples."""
    size, epochs = settings.train[kind]
    train_data = TASKS[kind](size, seed=seed)
    test = TASKS[kind](settings.test_samples, seed=seed + 1)
    shown = test.subset(slice(0, settings.explained[kind]))
    start = time.perf_counter()
    model = train(train_data, epochs=epochs, seed=seed)
    train_seconds = time.perf_counter() - start
    score = float(np.mean(predict(model, test).argmax(-1) == test.labels))
    log(f"{kind}: trained in {train_seconds:.1f} s, test accuracy {score:.1%}")
    runs = explain_task(model, shown, seed=seed, methods=methods)
    for item in runs:
        log(_log_line(kind, item))
    return KindRun(shown, predict(model, shown), score, train_seconds, runs, model)
