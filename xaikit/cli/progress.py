"""A dependency-free progress bar, and explainers that report to it."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

import attrs

__all__ = ["Progress", "watched", "with_progress"]


class Progress:
    """A one-line text progress bar on a stream (stderr), redrawn in place.

    Args:
        total: the count that means done.
        label: shown before the bar.
        stream: where to draw (default ``sys.stderr``).
        min_interval: seconds between redraws.
    """

    def __init__(
        self, total: int, label: str = "", stream: TextIO | None = None, min_interval: float = 0.1
    ) -> None:
        self.total, self.label, self.done = max(int(total), 1), label, 0
        self.stream = stream or sys.stderr
        self.min_interval = min_interval
        self.start = time.perf_counter()
        self._drawn = float("-inf")

    def update(self, count: int) -> None:
        """Advance by ``count`` and redraw (at most every ``min_interval`` seconds)."""
        self.done = min(self.total, self.done + int(count))
        now = time.perf_counter()
        if now - self._drawn >= self.min_interval or self.done == self.total:
            self._drawn = now
            filled = int(30 * self.done / self.total)
            bar = "#" * filled + "-" * (30 - filled)
            self.stream.write(
                f"\r{self.label} [{bar}] {self.done}/{self.total} samples {now - self.start:.1f}s"
            )
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        self.stream.write("\n")
        self.stream.flush()


def watched(factory: Any, progress: Progress) -> Any:
    """A subclass of the Explainer class ``factory`` whose per-batch hook reports progress.

    It computes exactly what ``factory`` computes and is recorded under the same method
    name and class name; only :meth:`~xaikit.Explainer.explain_batch` also counts samples.
    """

    def explain_batch(self: Any, inputs: Any, targets: Any, **extras: Any) -> Any:
        result = factory.explain_batch(self, inputs, targets, **extras)
        progress.update(int(inputs.shape[0]))
        return result

    namespace = {
        "explain_batch": explain_batch,
        "__slots__": (),
        "__module__": factory.__module__,
        "__qualname__": factory.__qualname__,
        "name": vars(factory).get("name"),  # names are not inherited: keep the factory's
    }
    return type(factory.__name__, (factory,), namespace)


def with_progress(explainer: Any, progress: Progress) -> Any:
    """``explainer`` rebuilt, with the same parameters, as its :func:`watched` subclass.

    An explainer that is not an attrs class (so cannot be rebuilt from its fields) is
    returned unchanged, without progress reports.
    """
    cls = type(explainer)
    if not attrs.has(cls):
        return explainer
    fields = attrs.fields(cls)
    kwargs = {
        field.alias or field.name: getattr(explainer, field.name) for field in fields if field.init
    }
    return watched(cls, progress)(**kwargs)
