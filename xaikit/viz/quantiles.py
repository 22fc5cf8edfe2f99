"""A row of quantile maps: how a distribution of attribution maps spreads, element by element."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._mpl import pyplot
from .image import fold_channels, image_overlay, to_display_image
from .scale import SIGNED_CMAP, UNSIGNED_CMAP, color_limits

__all__ = ["plot_quantile_maps"]


def _label(q: float) -> str:
    """'q=0.1', 'q=0.5 (median)', ... for a panel title."""
    text = f"q={q:g}"
    if q == 0.5:
        text += " (median)"
    elif q == 0.0:
        text += " (min)"
    elif q == 1.0:
        text += " (max)"
    return text


def plot_quantile_maps(
    maps: Any,
    quantiles: Sequence[float],
    image: Any = None,
    *,
    percentile: float = 99.0,
    signed: bool | None = None,
    title: str | None = None,
    size: float = 2.6,
) -> Any:
    """One row of panels, one per quantile map of one sample, on one shared colour scale.

    A shared scale makes the panels comparable: where the low-quantile map is already bright,
    the attribution is high in (almost) every map of the distribution.

    Args:
        maps: (Q, H, W) or (Q, H, W, C) quantile maps of one image (channels are summed), or
            (Q, F) of one table row / (Q, T) of one series, drawn as images of one row; e.g.
            ``xaikit.quantile_maps(passes, quantiles)[:, i]`` for sample ``i``.
        quantiles: the Q quantiles the maps are of, for the titles.
        image: optional (H, W) or (H, W, C) image the maps are drawn over (as overlays).
        percentile: the shared scale saturates at this percentile of ``|maps|``.
        signed: force a signed (diverging) or non-negative scale; None: inferred.
        title: the figure's title.
        size: width and height of one panel, in inches.

    Returns:
        A ``matplotlib.figure.Figure`` with Q axes, titled ``q=0.1``, ``q=0.5 (median)``, ...

    Raises:
        ValueError: the number of maps and of quantiles differ, or shapes do not fit.
    """
    plt = pyplot()
    values = np.asarray(maps, dtype=np.float64)
    q = [float(v) for v in np.atleast_1d(np.asarray(quantiles, dtype=np.float64))]
    if values.ndim < 2 or values.shape[0] != len(q):
        raise ValueError(
            f"maps: expected one map per quantile ({len(q)} quantiles) stacked along axis 0, "
            f"got shape {values.shape}"
        )
    if image is not None:
        shown, _ = to_display_image(image)
        heat = np.stack([fold_channels(m, 2) for m in values])
        if heat.shape[1:] != shown.shape[:2]:
            raise ValueError(
                f"maps: expected maps of the image's shape {shown.shape[:2]}, got "
                f"{values.shape[1:]}"
            )
    elif values.ndim == 4:
        heat = values.sum(axis=-1)
    elif values.ndim == 2:
        heat = values[:, None, :]  # one row of pixels
    elif values.ndim == 3:
        heat = values
    else:
        raise ValueError(f"maps: expected (Q, H, W), (Q, H, W, C) or (Q, F), got {values.shape}")
    limits = color_limits(heat, percentile=percentile, signed=signed)
    aspect = 0.35 if heat.shape[1] == 1 else 1.0
    figure, axes = plt.subplots(
        1, len(q), figsize=(size * len(q), size * aspect + 0.5), squeeze=False
    )
    for ax, value, quantile in zip(axes[0], heat, q, strict=True):
        if image is not None:
            image_overlay(image, value, ax, limits=limits, title=_label(quantile))
            continue
        cmap = SIGNED_CMAP if limits[0] < 0 else UNSIGNED_CMAP
        ax.imshow(value, cmap=cmap, vmin=limits[0], vmax=limits[1], interpolation="nearest")
        ax.set_aspect("auto" if heat.shape[1] == 1 else "equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(_label(quantile), fontsize=9)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
