"""Time series drawn as lines coloured by their attributions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._mpl import pyplot
from .scale import SIGNED_CMAP, UNSIGNED_CMAP, color_limits

__all__ = ["series_lines"]


def _spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the runs of True in a 1-D mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def series_lines(
    series: Any,
    attribution: Any,
    ax: Any = None,
    *,
    percentile: float = 99.0,
    signed: bool | None = None,
    limits: tuple[float, float] | None = None,
    channel_names: Sequence[str] | None = None,
    highlight: Any = None,
    title: str | None = None,
    colorbar: bool = False,
) -> Any:
    """Draw each channel of ``series`` as a line coloured by its attribution.

    Channels are stacked one above the other, each a thin gray line under a thick one whose
    colour follows the attribution and whose opacity grows with its magnitude. With
    per-channel attributions (T, C) each line takes its own channel's colours; with folded
    attributions (T,) all lines share them.

    Args:
        series: (T,) or (T, C) one input sequence.
        attribution: (T,) or (T, C) attributions of that sequence.
        ax: a matplotlib Axes, or None for a new figure.
        percentile: the scale saturates at this percentile of ``|attribution|``.
        signed: force a signed or non-negative scale (None: inferred from the values).
        limits: explicit ``(vmin, vmax)``; overrides ``percentile`` and ``signed``.
        channel_names: one label per channel (default c0, c1, ...).
        highlight: optional (T,) or (T, C) boolean mask; its time steps are shaded.
        title: the Axes title.
        colorbar: add a colour bar beside the Axes.

    Returns:
        The Axes drawn on.
    """
    plt = pyplot()
    from matplotlib.collections import LineCollection

    values = np.asarray(series, dtype=np.float64)
    values = values[:, None] if values.ndim == 1 else values
    heat = np.asarray(attribution, dtype=np.float64)
    heat = heat[:, None] if heat.ndim == 1 else heat
    if values.ndim != 2 or heat.ndim != 2 or heat.shape[0] != values.shape[0]:
        raise ValueError(
            f"attribution: expected shape ({values.shape[0]},) or {values.shape}, got "
            f"{np.shape(attribution)} for a series of shape {np.shape(series)}"
        )
    if heat.shape[1] not in (1, values.shape[1]):
        raise ValueError(f"attribution: expected {values.shape[1]} channels, got {heat.shape[1]}")
    heat = np.broadcast_to(heat, values.shape)
    if limits is None:
        limits = color_limits(heat, percentile=percentile, signed=signed)
    vmin, vmax = limits
    cmap = plt.get_cmap(SIGNED_CMAP if vmin < 0 else UNSIGNED_CMAP)
    norm = plt.Normalize(vmin=vmin, vmax=vmax)
    if ax is None:
        ax = plt.subplots(figsize=(8, 2.5))[1]
    length, channels = values.shape
    spread = np.ptp(values, axis=0).max() if values.size else 1.0
    step = 1.2 * (spread if spread > 0 else 1.0)
    time = np.arange(length)
    names = list(channel_names) if channel_names else [f"c{i}" for i in range(channels)]
    for c in range(channels):
        offset = -c * step
        line = values[:, c] - values[:, c].mean() + offset
        points = np.stack([time, line], axis=1)[:, None, :]
        segments = np.concatenate([points[:-1], points[1:]], axis=1)
        middle = (heat[:-1, c] + heat[1:, c]) / 2.0
        colours = cmap(norm(middle))
        colours[:, 3] = np.clip(np.abs(middle) / max(abs(vmin), abs(vmax)), 0.0, 1.0) ** 0.5
        ax.plot(time, line, color="0.55", linewidth=0.8, zorder=1)
        ax.add_collection(LineCollection(list(segments), colors=colours, linewidths=2.5, zorder=2))
    if highlight is not None:
        mask = np.asarray(highlight, dtype=bool)
        mask = np.asarray(mask.any(axis=-1), dtype=bool) if mask.ndim == 2 else mask
        for start, stop in _spans(mask):
            ax.axvspan(start - 0.5, stop - 0.5, color="limegreen", alpha=0.15, linewidth=0)
    ax.set_xlim(-0.5, length - 0.5)
    ax.set_ylim(-(channels - 1) * step - step / 1.5, step / 1.5)
    ax.set_yticks([-c * step for c in range(channels)], names[:channels])
    if colorbar:
        ax.figure.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.01)
    if title:
        ax.set_title(title, fontsize=9)
    return ax
