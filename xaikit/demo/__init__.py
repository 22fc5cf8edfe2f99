"""The embedded demo: synthetic data with known truth, small models, every method explained.

``xaikit demo --out demo-output`` (what ``make demo`` runs) calls :func:`run_demo`. Nothing is
downloaded: the data sets are drawn in code (:mod:`xaikit.demo.data`), where the relevant
region of each sample is known, so the report can say how much attribution each method puts
on it. Two structured tasks show token ids explained at their embedding layer and a model
of two inputs (:mod:`xaikit.demo.structured`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from .data import DemoData, bursts, shapes, table
from .report import summary, write_report
from .runner import FULL, KINDS, QUICK, KindRun, MethodRun, Settings, relevance_mass, run
from .structured import PairData, TextData, image_table, sentences

__all__ = [
    "run_demo",
    "run",
    "write_report",
    "summary",
    "relevance_mass",
    "Settings",
    "FULL",
    "QUICK",
    "KindRun",
    "MethodRun",
    "DemoData",
    "shapes",
    "bursts",
    "table",
    "KINDS",
    "TextData",
    "PairData",
    "sentences",
    "image_table",
]


def run_demo(
    out: str | Path = "demo-output",
    *,
    quick: bool = False,
    seed: int = 0,
    kinds: Sequence[str] = KINDS,
    methods: Sequence[str] | None = None,
    metrics: bool = True,
    log: Callable[[str], None] = lambda message: None,
) -> Path:
    """Run the demo and write its report to ``out``.

    Args:
        out: output folder (created).
        quick: the small :data:`QUICK` settings (for tests) instead of :data:`FULL`.
        seed: seeds data, weights, training and seeded methods: same seed, same output.
        kinds: which of 'image', 'series', 'tabular', 'text' (token ids explained at
            their embedding), 'two_input' (an image and a table) to run.
        methods: method names (default: every registered method, plugins included).
        metrics: add a metrics table when ``xaikit.metrics.evaluate`` is available.
        log: receives one line per step (e.g. ``print``).

    Returns:
        The path of the report's ``index.html``.
    """
    results = run(
        QUICK if quick else FULL,
        seed=seed,
        kinds=kinds,
        methods=methods,
        metrics=metrics,
        log=log,
    )
    return write_report(results, out)
