"""Grids of explained samples: the one call that turns an Explanation into a figure."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._mpl import pyplot
from .image import fold_channels, image_overlay
from .scale import color_limits, is_signed
from .series import series_lines
from .tabular import tabular_bars

__all__ = ["plot", "save", "data_kind", "draw_panel", "is_structured"]

_KINDS = {2: "tabular", 3: "series", 4: "image"}


def data_kind(inputs: Any) -> str:
    """'tabular' for (N, F), 'series' for (N, T, C), 'image' for (N, H, W, C) inputs."""
    rank = np.ndim(inputs)
    if rank not in _KINDS:
        raise ValueError(
            "inputs: expected (N, F) tabular, (N, T, C) series or (N, H, W, C) images, got "
            f"shape {np.shape(inputs)}"
        )
    return _KINDS[rank]


def is_structured(attributions: Any, inputs: Any) -> bool:
    """Whether ``attributions`` and ``inputs`` are those of several inputs: dicts, or lists /
    tuples of arrays."""
    if isinstance(attributions, Mapping) or isinstance(inputs, Mapping):
        return True
    parts = (attributions, inputs)
    return all(
        isinstance(part, (list, tuple)) and all(isinstance(p, np.ndarray) for p in part)
        for part in parts
    )


def _attributions(explanation: Any) -> np.ndarray:
    values = getattr(explanation, "attributions", explanation)
    return np.asarray(values, dtype=np.float64)


def _rows(n: int, samples: int | Sequence[int] | None) -> list[int]:
    if samples is None:
        return list(range(n))
    if isinstance(samples, (int, np.integer)):
        return list(range(min(int(samples), n)))
    rows = [int(i) for i in samples]
    bad = [i for i in rows if not -n <= i < n]
    if bad:
        raise ValueError(f"samples: indices must be in [0, {n}), got {bad}")
    return rows


def plot(
    explanation: Any,
    inputs: Any,
    *,
    samples: int | Sequence[int] | None = 8,
    titles: Sequence[str] | None = None,
    relevant: Any = None,
    percentile: float = 99.0,
    signed: bool | None = None,
    shared_scale: bool = False,
    feature_names: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    ncols: int | None = None,
    suptitle: str | None = None,
) -> Any:
    """A figure of attributions over their inputs, one panel per sample.

    Images get heatmap overlays, time series attribution-coloured lines, tabular rows signed
    bar charts. Nothing is recomputed: the attributions are drawn as given.

    The explanation of a model of several inputs (attributions as a dict by input name, or
    a list in input order, with inputs of the same structure) is drawn by
    :func:`~xaikit.viz.plot_inputs`: one row per sample, one panel per input, named.

    Args:
        explanation: an :class:`~xaikit.Explanation` or its attributions as an array of the
            inputs' shape, or without the channel axis (reduced).
        inputs: the explained inputs: (N, F), (N, T, C) or (N, H, W, C).
        samples: how many samples to draw (the first ones), or which indices; None: all.
        titles: one title per drawn sample.
        relevant: optional boolean mask of the inputs' shape (or reduced) marking a region
            known to matter: outlined on images, shaded on series, starred on tables.
        percentile: colour scales saturate at this percentile of ``|attributions|``.
        signed: force signed (symmetric) or non-negative scales; None: signed if any drawn
            attribution is negative.
        shared_scale: one colour scale for all panels instead of one per sample.
        feature_names: names of tabular features, or of the channels of a series (for
            several inputs: a mapping input name -> names).
        ncols: panels per row (default: 4 for images and tables, 1 for series).
        suptitle: the figure's title.

    Returns:
        A ``matplotlib.figure.Figure`` (pass it to :func:`save`, or show it).
    """
    if is_structured(getattr(explanation, "attributions", explanation), inputs):
        from .structured import plot_inputs

        return plot_inputs(
            explanation,
            inputs,
            samples=samples,
            titles=titles,
            relevant=relevant,
            percentile=percentile,
            signed=signed,
            feature_names=feature_names if isinstance(feature_names, Mapping) else None,
            suptitle=suptitle,
        )
    plt = pyplot()
    values = _attributions(explanation)
    x = np.asarray(inputs)
    kind = data_kind(x)
    if values.shape[0] != x.shape[0]:
        raise ValueError(
            f"explanation: expected {x.shape[0]} samples like the inputs, got {values.shape[0]}"
        )
    if values.shape[1:] not in (x.shape[1:], x.shape[1:-1]):
        raise ValueError(
            f"explanation: expected attributions of shape {x.shape} or {x.shape[:-1]}, got "
            f"{values.shape}"
        )
    rows = _rows(len(x), samples)
    if titles is not None and len(titles) != len(rows):
        raise ValueError(f"titles: expected {len(rows)} titles, got {len(titles)}")
    mask = None if relevant is None else np.asarray(relevant, dtype=bool)
    drawn = values[rows]
    if signed is None:
        signed = is_signed(drawn)
    if kind == "image":
        drawn = np.stack([fold_channels(a, 2) for a in drawn]) if drawn.ndim == 4 else drawn
    shared = color_limits(drawn, percentile=percentile, signed=signed) if shared_scale else None
    cols = ncols or (1 if kind == "series" else min(4, len(rows)))
    nrows = math.ceil(len(rows) / cols)
    size = {"image": (2.6, 2.6), "series": (9.0, 2.0), "tabular": (3.4, 0.28 * x.shape[-1] + 1)}
    width, height = size[kind]
    figure, axes = plt.subplots(nrows, cols, figsize=(width * cols, height * nrows), squeeze=False)
    for ax in axes.ravel()[len(rows) :]:
        ax.set_visible(False)
    for k, (row, ax) in enumerate(zip(rows, axes.ravel()[: len(rows)], strict=True)):
        title = titles[k] if titles is not None else f"sample {row}"
        limits = shared or color_limits(drawn[k], percentile=percentile, signed=signed)
        top = float(np.abs(drawn).max()) if shared else float(np.abs(drawn[k]).max())
        draw_panel(
            ax,
            kind,
            x[row],
            drawn[k],
            limits=limits,
            bar_top=top,
            signed=signed,
            region=None if mask is None else mask[row],
            title=title,
            feature_names=None if isinstance(feature_names, Mapping) else feature_names,
        )
    if suptitle:
        figure.suptitle(suptitle)
    figure.tight_layout()
    return figure


def draw_panel(
    ax: Any,
    kind: str,
    x: np.ndarray,
    heat: np.ndarray,
    *,
    limits: tuple[float, float],
    bar_top: float,
    signed: bool,
    region: np.ndarray | None = None,
    title: str | None = None,
    feature_names: Sequence[str] | None = None,
) -> None:
    """Draw one sample's attributions over its input on ``ax``.

    Args:
        kind: 'image' (x (H, W, C), heat (H, W)), 'series' (x (T, C), heat (T, C) or (T,))
            or 'tabular' (x (F,), heat (F,)).
        limits: the colour scale's ``(vmin, vmax)``.
        bar_top: the largest |attribution| shown on a tabular panel's bar axis.
        signed: whether the bar axis is symmetric about zero.
        region: an optional boolean mask of the relevant part (outlined, shaded, starred).
    """
    if kind == "image":
        image_overlay(x, heat, ax, limits=limits, outline=region, title=title)
    elif kind == "series":
        series_lines(
            x,
            heat,
            ax,
            limits=limits,
            highlight=region,
            title=title,
            channel_names=feature_names,
        )
    else:
        top = 1.05 * bar_top or 1.0
        bars = (-top, top) if signed else (0.0, top)
        tabular_bars(
            heat,
            ax,
            feature_names=feature_names,
            values=x,
            highlight=region,
            limits=bars,
            title=title,
        )


def save(figure: Any, path: str | os.PathLike, *, dpi: int = 100) -> str:
    """Write ``figure`` to ``path`` (format from the suffix, e.g. .png, .svg) and close it.

    Returns:
        The path written, as a string.
    """
    plt = pyplot()
    figure.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return os.fspath(path)
