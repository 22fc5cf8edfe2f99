"""Explanations of models of several inputs: one panel per input, named, for each sample."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._mpl import pyplot
from .figure import _rows, data_kind, draw_panel
from .image import fold_channels
from .scale import color_limits, is_signed

__all__ = ["plot_inputs", "named_parts"]

#: Width and height of one panel, per kind (a table's height grows with its columns).
_WIDTH = {"image": 2.6, "series": 6.0, "tabular": 3.4}


def named_parts(value: Any, names: Sequence[str] | None = None) -> dict[str, Any]:
    """A structure of arrays as ``{name: array}``: a dict as it is, a list / tuple by
    ``names`` (default ``input_0``, ``input_1``, ...), one array as ``{"inputs": array}``."""
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        keys = list(names) if names is not None else [f"input_{i}" for i in range(len(value))]
        if len(keys) != len(value):
            raise ValueError(f"names: expected {len(value)} names, got {len(keys)}")
        return dict(zip(keys, value, strict=True))
    return {"inputs": value}


def _fit(name: str, heat: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Attributions of one input in a shape drawable over it: the input's shape, without its
    channel axis, or, for attributions at an embedding (one more trailing axis than the
    input: (N, T, D) over ids (N, T)), summed over that axis."""
    if heat.shape[0] != x.shape[0]:
        raise ValueError(
            f"explanation[{name!r}]: expected {x.shape[0]} samples like the inputs, got "
            f"{heat.shape[0]}"
        )
    if heat.shape[1:] in (x.shape[1:], x.shape[1:-1]):
        return heat
    if heat.ndim == x.ndim + 1 and heat.shape[1:-1] == x.shape[1:]:
        return heat.sum(axis=-1)  # one score per id, as reducer='sum' gives
    raise ValueError(
        f"explanation[{name!r}]: expected attributions of shape {x.shape} or {x.shape[:-1]} "
        f"(or {x.shape} + (D,) at an embedding), got {heat.shape}"
    )


def plot_inputs(
    explanation: Any,
    inputs: Any,
    *,
    samples: int | Sequence[int] | None = 4,
    titles: Sequence[str] | None = None,
    relevant: Any = None,
    names: Sequence[str] | None = None,
    percentile: float = 99.0,
    signed: bool | None = None,
    feature_names: Mapping[str, Sequence[str]] | None = None,
    suptitle: str | None = None,
) -> Any:
    """A figure of the attributions of a model of several inputs: one row per sample, one
    panel per input titled with the input's name.

    Each input is drawn by its kind, as :func:`~xaikit.viz.plot` draws it: images (N, H, W, C)
    as overlays, series (N, T, C) as coloured lines, tables (N, F) and token ids (N, T) as
    bars. Every panel has its own colour scale (the inputs' attributions need not share units).

    Args:
        explanation: an :class:`~xaikit.Explanation` of several inputs, or its attributions:
            a dict by input name, or a list / tuple in input order. Attributions at an
            embedding ((N, T, D) for ids (N, T)) are drawn summed over D.
        inputs: the explained inputs, in the same structure.
        samples: how many samples to draw (the first ones), or which indices; None: all.
        titles: one title per drawn sample (shown above its first panel).
        relevant: optional masks of the inputs' structure (a dict may leave inputs out).
        names: the inputs' names when they are given as lists (default input_0, ...).
        percentile: colour scales saturate at this percentile of ``|attributions|``.
        signed: force signed or non-negative scales; None: signed if any drawn attribution
            of that input is negative.
        feature_names: input name -> names of its table columns or series channels.
        suptitle: the figure's title.

    Returns:
        A ``matplotlib.figure.Figure``.
    """
    plt = pyplot()
    heats = named_parts(getattr(explanation, "attributions", explanation), names)
    xs = named_parts(inputs, names)
    if list(heats) != list(xs):
        raise ValueError(
            f"explanation: expected attributions for the inputs {list(xs)}, got {list(heats)}"
        )
    masks = {} if relevant is None else named_parts(relevant, names)
    n = len(next(iter(xs.values())))
    rows = _rows(n, samples)
    if titles is not None and len(titles) != len(rows):
        raise ValueError(f"titles: expected {len(rows)} titles, got {len(titles)}")
    kinds = {key: data_kind(np.asarray(x)) for key, x in xs.items()}
    heights = [
        0.28 * np.shape(x)[-1] + 1 if kinds[key] == "tabular" else 2.4 for key, x in xs.items()
    ]
    widths = [_WIDTH[kind] for kind in kinds.values()]
    figure, axes = plt.subplots(
        len(rows),
        len(xs),
        figsize=(sum(widths), max(heights) * len(rows)),
        squeeze=False,
        gridspec_kw={"width_ratios": widths},
    )
    for column, (key, x) in enumerate(xs.items()):
        x = np.asarray(x)
        heat = _fit(key, np.asarray(heats[key], dtype=np.float64), x)[rows]
        mask = masks.get(key)
        part_signed = is_signed(heat) if signed is None else signed
        if kinds[key] == "image" and heat.ndim == 4:
            heat = np.stack([fold_channels(a, 2) for a in heat])
        for k, row in enumerate(rows):
            head = titles[k] if titles is not None else f"sample {row}"
            draw_panel(
                axes[k, column],
                kinds[key],
                x[row],
                heat[k],
                limits=color_limits(heat[k], percentile=percentile, signed=part_signed),
                bar_top=float(np.abs(heat[k]).max()),
                signed=part_signed,
                region=None if mask is None else np.asarray(mask, dtype=bool)[row],
                title=f"{head}\n{key}" if column == 0 else key,
                feature_names=(feature_names or {}).get(key),
            )
    if suptitle:
        figure.suptitle(suptitle)
    figure.tight_layout()
    return figure
