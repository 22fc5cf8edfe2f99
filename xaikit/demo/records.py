"""The demo's records: its settings, and what one method or one kind of data gave."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from .data import DemoData
from .structured import PairData, TextData

__all__ = ["KINDS", "Settings", "FULL", "QUICK", "MethodRun", "KindRun"]


@attrs.frozen
class Settings:
    """How big the demo is.

    Attributes:
        train: kind -> (training samples, epochs).
        explained: kind -> how many held-out samples are explained and drawn.
        test_samples: held-out samples per kind (for the accuracy).
        metric_kinds: the kinds whose explanations are also scored with metrics.
    """

    train: Mapping[str, tuple[int, int]]
    explained: Mapping[str, int]
    test_samples: int = 300
    metric_kinds: tuple[str, ...] = ("image", "series", "tabular")


#: Every kind the demo runs: the one-input data sets, then the structured tasks (token ids
#: at their embedding, a model of two inputs; see :mod:`xaikit.demo.structured`).
KINDS: tuple[str, ...] = ("image", "series", "tabular", "text", "two_input")

#: What ``xaikit demo`` runs (well under a minute on two CPU cores).
FULL = Settings(
    train={
        "image": (1500, 8),
        "series": (1200, 10),
        "tabular": (800, 20),
        "text": (600, 8),
        "two_input": (800, 10),
    },
    explained={"image": 6, "series": 4, "tabular": 4, "text": 8, "two_input": 4},
)
#: A smaller run for tests.
QUICK = Settings(
    train={
        "image": (400, 6),
        "series": (400, 8),
        "tabular": (300, 15),
        "text": (300, 6),
        "two_input": (400, 8),
    },
    explained={"image": 4, "series": 2, "tabular": 2, "text": 4, "two_input": 2},
    test_samples=100,
    metric_kinds=("image",),
)


@attrs.frozen(eq=False)
class MethodRun:
    """One method on one kind of data: its attributions and scores, or why it failed.

    Attributes:
        name, plugin: the registered name and the plugin providing it.
        params: every parameter the method ran with (those passed, on failure).
        explanation: the Explanation, None on failure.
        error: one line, ``Type: message``, on failure.
        relevance_mass: (N,) share of ``|attributions|`` inside the relevant region.
        area: (N,) the relevant region's share of the attribution map.
        seconds: wall time of ``explain``.
        metrics: metric name -> MetricResult, for the metrics that ran.
        metric_errors: metric name -> its error, for the metrics that failed.
        metrics_error: why no metric ran at all (e.g. not computed in this run).
        skipped: why the method did not run although nothing failed: it declares that it
            does not explain this kind of data (e.g. ``"not applicable (images only)"``).
        per_input: for a model of several inputs, input name -> its ``mass`` and ``area``
            (N,) within that input and its ``share`` (N,) of the total ``|attribution|``.
    """

    name: str
    plugin: str
    params: Mapping[str, Any]
    explanation: Any = None
    error: str | None = None
    relevance_mass: np.ndarray | None = None
    area: np.ndarray | None = None
    seconds: float = 0.0
    metrics: Mapping[str, Any] = attrs.field(factory=dict)
    metric_errors: Mapping[str, str] = attrs.field(factory=dict)
    metrics_error: str | None = None
    skipped: str | None = None
    per_input: Mapping[str, Mapping[str, np.ndarray]] = attrs.field(factory=dict)

    @property
    def mean_mass(self) -> float:
        """The mean relevance mass over the samples (NaN when the method did not run)."""
        return float("nan") if self.relevance_mass is None else float(self.relevance_mass.mean())

    @property
    def mean_area(self) -> float:
        """The mean area of the relevant region (NaN when the method did not run)."""
        return float("nan") if self.area is None else float(self.area.mean())


@attrs.frozen(eq=False)
class KindRun:
    """A trained model on one kind of data and every method's explanations of a few samples.

    Attributes:
        data: the explained samples (with their relevant masks).
        probabilities: (N, K) the model's outputs on them.
        accuracy: on a held-out test set.
        train_seconds: wall time of training.
        methods: one :class:`MethodRun` per registered method.
        model: the trained Keras model.
        epoch_maps: for the image kind, step -> (N, H, W) saliency of the explained samples
            before training (step 0) and after each epoch, from an ExplainCallback.
    """

    data: DemoData | TextData | PairData
    probabilities: np.ndarray
    accuracy: float
    train_seconds: float
    methods: Sequence[MethodRun]
    model: Any = attrs.field(repr=False)
    epoch_maps: Mapping[int, np.ndarray] = attrs.field(factory=dict, repr=False)
