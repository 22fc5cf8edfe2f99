"""Built-in reducers: fold the channel axis of attributions for display.

A reducer is any callable ``reducer(attributions) -> reduced`` that takes a numpy array of
shape ``(N, ..., C)`` and returns one of shape ``(N, ...)``: the last (channel) axis removed.
Reducers apply to inputs of rank 3 or more, (N, T, C) and (N, H, W, C). Tabular inputs (N, F)
have no channel axis, so their attributions are returned unreduced whatever the reducer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import InputError

__all__ = ["Reducer", "BUILTIN_REDUCERS", "apply_reducer"]

Reducer = Callable[[np.ndarray], np.ndarray]


def mean(attributions: np.ndarray) -> np.ndarray:
    """Mean over channels (signed)."""
    return attributions.mean(axis=-1)


def max_(attributions: np.ndarray) -> np.ndarray:
    """Largest value over channels (signed)."""
    return attributions.max(axis=-1)


def min_(attributions: np.ndarray) -> np.ndarray:
    """Smallest value over channels (signed)."""
    return attributions.min(axis=-1)


def sum_(attributions: np.ndarray) -> np.ndarray:
    """Sum over channels: keeps IG's completeness (the total is unchanged)."""
    return attributions.sum(axis=-1)


def absmax(attributions: np.ndarray) -> np.ndarray:
    """Largest magnitude over channels, ``max |a|`` (non-negative)."""
    return np.abs(attributions).max(axis=-1)


def l2(attributions: np.ndarray) -> np.ndarray:
    """Euclidean norm over channels (non-negative)."""
    return np.sqrt(np.square(attributions).sum(axis=-1))


BUILTIN_REDUCERS: dict[str, Reducer] = {
    "mean": mean,
    "max": max_,
    "min": min_,
    "sum": sum_,
    "absmax": absmax,
    "l2": l2,
}


def apply_reducer(reducer: Reducer | None, attributions: np.ndarray) -> np.ndarray:
    """Apply ``reducer`` to ``attributions`` (N, ..., C) if they have a channel axis."""
    if reducer is None or attributions.ndim < 3:
        return attributions
    reduced = np.asarray(reducer(attributions))
    if reduced.shape != attributions.shape[:-1]:
        raise InputError(
            f"reducer: {getattr(reducer, '__name__', reducer)!r} must remove the last "
            f"(channel) axis: expected shape {attributions.shape[:-1]}, got {reduced.shape}"
        )
    return reduced
