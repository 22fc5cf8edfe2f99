"""Two channel reducers: ``(N, ..., C)`` numpy attributions -> ``(N, ...)``."""

from __future__ import annotations

import numpy as np

__all__ = ["signed_absmax", "abs_sum"]


def signed_absmax(attributions: np.ndarray) -> np.ndarray:
    """The channel value of largest magnitude, with its sign (first one on ties)."""
    index = np.abs(attributions).argmax(axis=-1)[..., None]
    return np.take_along_axis(attributions, index, axis=-1)[..., 0]


def abs_sum(attributions: np.ndarray) -> np.ndarray:
    """Sum of magnitudes over channels, ``sum_c |a_c|`` (the L1 norm)."""
    return np.abs(attributions).sum(axis=-1)
