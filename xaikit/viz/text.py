"""Token attributions as coloured text (HTML), without matplotlib."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np

from .scale import color_limits

__all__ = ["token_html", "token_color"]

_WHITE = np.array([255.0, 255.0, 255.0])
#: The ends of the diverging scale: red for positive, blue for negative (as ``RdBu_r``).
_RED = np.array([178.0, 24.0, 43.0])
_BLUE = np.array([33.0, 102.0, 172.0])


def token_color(value: float, limit: float) -> str:
    """The background colour ``#rrggbb`` of an attribution ``value`` on a symmetric scale
    saturating at ``limit``: white at zero, red for positive, blue for negative."""
    strength = float(np.clip(abs(value) / limit, 0.0, 1.0)) if limit > 0 else 0.0
    end = _RED if value >= 0 else _BLUE
    rgb = np.rint(_WHITE + strength * (end - _WHITE)).astype(int)
    return "#" + "".join(f"{channel:02x}" for channel in rgb)


def token_html(
    tokens: Sequence[str],
    attributions: Any,
    *,
    limit: float | None = None,
    percentile: float = 100.0,
    digits: int = 3,
) -> str:
    """Tokens as HTML: one ``<span>`` per token, its background coloured by its attribution.

    The scale is diverging and symmetric about zero (white), red for positive attributions
    (evidence for the explained output) and blue for negative, saturating at ``limit``. Each
    span's ``title`` holds the attribution's value (shown on hover); tokens are escaped, so
    any text is safe to embed. Spans are separated by spaces.

    Args:
        tokens: T tokens (strings) of one sequence.
        attributions: (T,) one score per token, e.g. attributions at an embedding layer with
            ``reducer="sum"``.
        limit: the |attribution| that saturates the colours; default: the ``percentile``-th
            percentile of this sequence's ``|attributions|`` (the largest, at 100).
        percentile: see ``limit``.
        digits: significant digits of the values in the titles.

    Returns:
        The HTML fragment (no enclosing element).

    Raises:
        ValueError: attributions not one score per token, or a non-positive ``limit``.
    """
    values = np.asarray(attributions, dtype=np.float64)
    words = [str(token) for token in tokens]
    if values.shape != (len(words),):
        raise ValueError(
            f"attributions: expected one score per token, shape ({len(words)},), got {values.shape}"
        )
    if limit is None:
        limit = color_limits(values, percentile=percentile, signed=True)[1]
    elif not limit > 0:
        raise ValueError(f"limit: expected a positive number, got {limit!r}")
    spans = []
    for word, value in zip(words, values, strict=True):
        background = token_color(float(value), limit)
        strong = abs(value) > 0.6 * limit
        text = "#fff" if strong else "#222"
        spans.append(
            f'<span class="xaikit-token" style="background-color:{background};color:{text};'
            f'padding:1px 3px;border-radius:3px" title="{value:.{digits}g}">'
            f"{html.escape(word, quote=True)}</span>"
        )
    return " ".join(spans)
