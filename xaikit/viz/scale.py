"""Colour scales for attributions: percentile clipping, symmetric limits for signed values."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["is_signed", "color_limits", "normalize", "SIGNED_CMAP", "UNSIGNED_CMAP"]

#: Diverging map for signed attributions: blue negative, white zero, red positive.
SIGNED_CMAP = "RdBu_r"
#: Sequential map for non-negative attributions (saliency, |IG|, ...).
UNSIGNED_CMAP = "inferno"


def is_signed(attributions: Any) -> bool:
    """True when ``attributions`` hold any negative value (then scales are symmetric)."""
    values = np.asarray(attributions)
    return bool(values.size and np.nanmin(values) < 0)


def color_limits(
    attributions: Any, *, percentile: float = 99.0, signed: bool | None = None
) -> tuple[float, float]:
    """Colour-scale limits ``(vmin, vmax)`` for ``attributions`` of any shape.

    The scale is clipped at the ``percentile``-th percentile of ``|attributions|`` so a few
    extreme values do not wash out the rest. Signed attributions get a symmetric scale
    ``(-m, m)``, so zero is always the middle colour; non-negative ones get ``(0, m)``.

    Args:
        attributions: the values the scale is for.
        percentile: in (0, 100]; 100 means no clipping.
        signed: force a signed (True) or non-negative (False) scale; None infers it with
            :func:`is_signed`.

    Raises:
        ValueError: ``percentile`` outside (0, 100].
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile: expected a number in (0, 100], got {percentile!r}")
    values = np.abs(np.asarray(attributions, dtype=np.float64))
    values = values[np.isfinite(values)]
    top = float(np.percentile(values, percentile)) if values.size else 0.0
    if top <= 0.0:  # all zero (or clipped to zero): any positive scale shows zeros
        top = float(values.max()) if values.size and values.max() > 0 else 1.0
    if signed is None:
        signed = is_signed(attributions)
    return (-top, top) if signed else (0.0, top)


def normalize(
    attributions: Any, *, percentile: float = 99.0, signed: bool | None = None
) -> np.ndarray:
    """``attributions`` scaled into [-1, 1] (signed) or [0, 1] (non-negative), clipped.

    Uses the limits of :func:`color_limits`: values beyond the percentile saturate at +-1.
    """
    values = np.asarray(attributions, dtype=np.float64)
    low, high = color_limits(values, percentile=percentile, signed=signed)
    return np.clip(values / high, -1.0 if low < 0 else 0.0, 1.0)
