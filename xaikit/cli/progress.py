"""A progress bar (tqdm: rate and time left), and explainers that report to it."""

from __future__ import annotations

import sys
from typing import Any, TextIO

import attrs
from tqdm import tqdm

__all__ = ["Progress", "watched", "with_progress"]


class Progress:
    """A one-line progress bar of samples on a stream (stderr), drawn by tqdm.

    Shows ``label [#####-----] done/total samples elapsed<left, rate``.

    Args:
        total: the count that means done.
        label: shown before the bar.
        stream: where to draw (default ``sys.stderr``).
        min_interval: least seconds between redraws.
    """

    def __init__(
        self, total: int, label: str = "", stream: TextIO | None = None, min_interval: float = 0.1
    ) -> None:
        self.total, self.label = max(int(total), 1), label
        self.stream = stream or sys.stderr
        self._bar = tqdm(
            total=self.total,
            desc=label,
            file=self.stream,
            mininterval=min_interval,
            ascii="-#",
            bar_format="{desc} [{bar:30}] {n_fmt}/{total_fmt} samples {elapsed}<{remaining}, "
            "{rate_fmt}",
            unit=" samples",
            dynamic_ncols=False,
        )

    @property
    def done(self) -> int:
        """Samples counted so far (at most ``total``)."""
        return int(self._bar.n)

    def update(self, count: int) -> None:
        """Advance by ``count`` (never past ``total``); redraw when due and at the end."""
        step = min(int(count), self.total - self.done)
        if step > 0:
            self._bar.update(step)
            if self.done == self.total:  # always show the end, however recent the last draw
                self._bar.refresh()

    def close(self) -> None:
        """Draw the final state and end the bar's line."""
        self._bar.close()


def watched(factory: Any, progress: Progress) -> Any:
    """A subclass of the Explainer class ``factory`` whose per-batch hook reports progress.

    It computes exactly what ``factory`` computes and is recorded under the same method
    name and class name; only :meth:`~xaikit.Explainer.explain_batch` also counts samples.
    """

    def explain_batch(self: Any, inputs: Any, targets: Any, **extras: Any) -> Any:
        result = factory.explain_batch(self, inputs, targets, **extras)
        first = inputs[0] if isinstance(inputs, (tuple, list)) else inputs  # several inputs
        progress.update(int(first.shape[0]))
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
