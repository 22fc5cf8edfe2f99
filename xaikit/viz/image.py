"""Heatmap overlays of attributions on images."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._mpl import pyplot
from .scale import SIGNED_CMAP, UNSIGNED_CMAP, color_limits

__all__ = ["image_overlay", "to_display_image", "fold_channels"]


def fold_channels(attribution: np.ndarray, rank: int, how: str = "sum") -> np.ndarray:
    """Fold a trailing channel axis so ``attribution`` has ``rank`` axes.

    Args:
        attribution: (..., C) or already folded.
        rank: the rank wanted (2 for one image's (H, W) map).
        how: 'sum' (signed; keeps totals, the default) or 'absmax' (largest magnitude).
    """
    values = np.asarray(attribution, dtype=np.float64)
    if values.ndim == rank:
        return values
    if values.ndim != rank + 1:
        raise ValueError(
            f"attribution: expected {rank} axes, or {rank + 1} with channels last, got shape "
            f"{values.shape}"
        )
    if how == "sum":
        return values.sum(axis=-1)
    if how == "absmax":
        return np.abs(values).max(axis=-1)
    raise ValueError(f"fold: expected 'sum' or 'absmax', got {how!r}")


def to_display_image(image: Any) -> tuple[np.ndarray, str | None]:
    """One image (H, W) or (H, W, C) as something ``imshow`` shows, and its colormap.

    RGB(A) images are rescaled to [0, 1] with their own min and max; one channel, or any
    other channel count (averaged), becomes a gray image.
    """
    values = np.asarray(image, dtype=np.float64)
    if values.ndim == 3 and values.shape[-1] in (3, 4):
        low, high = values.min(), values.max()
        return (values - low) / (high - low if high > low else 1.0), None
    if values.ndim == 3:
        values = values.mean(axis=-1)
    if values.ndim != 2:
        raise ValueError(f"image: expected shape (H, W) or (H, W, C), got {values.shape}")
    return values, "gray"


def image_overlay(
    image: Any,
    attribution: Any,
    ax: Any = None,
    *,
    percentile: float = 99.0,
    signed: bool | None = None,
    limits: tuple[float, float] | None = None,
    alpha: float = 0.75,
    outline: Any = None,
    title: str | None = None,
    colorbar: bool = False,
) -> Any:
    """Draw ``attribution`` as a heatmap over ``image`` on ``ax`` (a new figure if None).

    The heatmap's opacity grows with the magnitude of the attribution, so the image stays
    visible where attributions are near zero. Signed attributions use a diverging map with a
    symmetric scale (red positive, blue negative); non-negative ones a sequential map.

    Args:
        image: (H, W) or (H, W, C) input image.
        attribution: (H, W) or (H, W, C) (channels summed) attributions of that image.
        ax: a matplotlib Axes, or None for a new figure.
        percentile: the scale saturates at this percentile of ``|attribution|``.
        signed: force a signed or non-negative scale (None: inferred from the values).
        limits: explicit ``(vmin, vmax)``, e.g. shared by several images; overrides
            ``percentile`` and ``signed``.
        alpha: the heatmap's opacity where it saturates, in [0, 1].
        outline: optional (H, W) or (H, W, C) boolean mask whose border is drawn (e.g. the
            region known to matter).
        title: the Axes title.
        colorbar: add a colour bar beside the Axes.

    Returns:
        The Axes drawn on.
    """
    plt = pyplot()
    shown, cmap_name = to_display_image(image)
    heat = fold_channels(attribution, 2)
    if heat.shape != shown.shape[:2]:
        raise ValueError(
            f"attribution: expected the image's shape {shown.shape[:2]}, got {heat.shape}"
        )
    if limits is None:
        limits = color_limits(heat, percentile=percentile, signed=signed)
    vmin, vmax = limits
    if ax is None:
        ax = plt.subplots(figsize=(3, 3))[1]
    ax.imshow(shown, cmap=cmap_name, interpolation="nearest")
    cmap = plt.get_cmap(SIGNED_CMAP if vmin < 0 else UNSIGNED_CMAP)
    scaled = np.clip((heat - vmin) / (vmax - vmin), 0.0, 1.0)
    rgba = cmap(scaled)
    strength = np.abs(heat) / max(abs(vmin), abs(vmax))
    rgba[..., 3] = alpha * np.clip(strength, 0.0, 1.0) ** 0.5
    mappable = ax.imshow(rgba, interpolation="nearest")
    if outline is not None:
        mask = fold_channels(np.asarray(outline, dtype=np.float64), 2, "absmax") > 0
        if mask.any() and not mask.all():
            ax.contour(mask, levels=[0.5], colors="lime", linewidths=1.0)
    if colorbar:
        mappable = plt.cm.ScalarMappable(norm=plt.Normalize(vmin=vmin, vmax=vmax), cmap=cmap)
        ax.figure.colorbar(mappable, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax
