"""Signed bar charts of tabular attributions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._mpl import pyplot
from .scale import SIGNED_CMAP

__all__ = ["tabular_bars"]


def tabular_bars(
    attribution: Any,
    ax: Any = None,
    *,
    feature_names: Sequence[str] | None = None,
    values: Any = None,
    highlight: Any = None,
    limits: tuple[float, float] | None = None,
    title: str | None = None,
) -> Any:
    """Horizontal bars, one per feature: red for positive attributions, blue for negative.

    The axis is symmetric about zero when any attribution is negative.

    Args:
        attribution: (F,) attributions of one row.
        ax: a matplotlib Axes, or None for a new figure.
        feature_names: F labels (default x0, x1, ...).
        values: optional (F,) feature values, shown beside the names.
        highlight: optional (F,) boolean mask; those features' labels are bold and marked
            with '*'.
        limits: explicit ``(xmin, xmax)`` for the bar axis (e.g. shared by several rows).
        title: the Axes title.

    Returns:
        The Axes drawn on.
    """
    plt = pyplot()
    heat = np.asarray(attribution, dtype=np.float64)
    if heat.ndim != 1:
        raise ValueError(f"attribution: expected one row of shape (F,), got {heat.shape}")
    count = heat.shape[0]
    names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(count)]
    if len(names) != count:
        raise ValueError(f"feature_names: expected {count} names, got {len(names)}")
    if values is not None:
        shown = np.asarray(values, dtype=np.float64).reshape(-1)
        names = [f"{name} = {value:.2g}" for name, value in zip(names, shown, strict=True)]
    marked = np.zeros(count, bool) if highlight is None else np.asarray(highlight, bool)
    names = [f"* {name}" if mark else name for name, mark in zip(names, marked, strict=True)]
    if ax is None:
        ax = plt.subplots(figsize=(4, 0.3 * count + 1))[1]
    cmap = plt.get_cmap(SIGNED_CMAP)
    colours = [cmap(0.85) if v >= 0 else cmap(0.15) for v in heat]
    positions = np.arange(count)[::-1]
    ax.barh(positions, heat, color=colours)
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    ax.set_yticks(positions, names)
    for label, mark in zip(ax.get_yticklabels(), marked, strict=True):
        if mark:
            label.set_fontweight("bold")
    if limits is None:
        top = float(np.abs(heat).max()) or 1.0
        limits = (-1.05 * top, 1.05 * top) if (heat < 0).any() else (0.0, 1.05 * top)
    ax.set_xlim(*limits)
    if title:
        ax.set_title(title, fontsize=9)
    return ax
