"""Quantile maps: per-element quantiles over a stack of attribution maps.

A stochastic method (MC dropout passes, SmoothGrad draws, random baselines, several trained
models) gives a *distribution* of attribution maps for one input rather than one map. A mean
hides how much the maps disagree; quantile maps show it: the 0.1-quantile map is where
attribution is reliably high, the 0.9-quantile map where it is high at least sometimes::

    passes = result.passes                                  # (M, N, H, W) M maps per sample
    maps = xaikit.quantile_maps(passes, [0.1, 0.5, 0.9])    # (3, N, H, W)

Quantiles are exact (``numpy.quantile``, linear interpolation between order statistics),
computed element by element along the leading axis; no histogram binning is involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import InputError

__all__ = ["quantile_maps"]


def _check_quantiles(quantiles: Any) -> np.ndarray:
    """``quantiles`` as a 1-D float64 array of values in [0, 1] (InputError otherwise)."""
    try:
        values = np.asarray(quantiles, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            f"quantiles: expected a number or a sequence of numbers in [0, 1], got "
            f"{type(quantiles).__name__}"
        ) from None
    if values.dtype == object or values.ndim > 1:
        raise InputError(
            f"quantiles: expected a number or a 1-D sequence of numbers in [0, 1], got shape "
            f"{values.shape}"
        )
    values = np.atleast_1d(values)
    if values.size == 0:
        raise InputError("quantiles: expected at least one quantile, got none")
    bad = values[~((values >= 0.0) & (values <= 1.0))]  # catches NaN too
    if bad.size:
        raise InputError(f"quantiles: every quantile must be in [0, 1], got {bad.tolist()}")
    return values


def _check_attributions(attributions: Any) -> np.ndarray:
    """``attributions`` as a float array (M, ...) with M >= 1 and finite values."""
    if isinstance(attributions, (list, tuple)) and not attributions:
        raise InputError("attributions: expected at least one map, got an empty sequence")
    try:
        values = np.asarray(attributions)
    except ValueError as error:  # ragged lists of maps
        raise InputError(
            f"attributions: expected maps of one shape stacked along axis 0 ({error})"
        ) from None
    if not (np.issubdtype(values.dtype, np.floating) or np.issubdtype(values.dtype, np.integer)):
        raise InputError(f"attributions: expected numbers, got an array of dtype {values.dtype}")
    if values.ndim == 0:
        raise InputError("attributions: expected a stack of maps (M, ...), got a scalar")
    if values.shape[0] == 0:
        raise InputError(f"attributions: expected at least one map, got shape {values.shape}")
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        where = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise InputError(
            f"attributions: expected finite values, got {int((~finite).sum())} NaN or "
            f"infinite (the first at index {where})"
        )
    return values


def quantile_maps(attributions: Any, quantiles: float | Sequence[float]) -> np.ndarray:
    """Per-element quantiles over the leading axis of a stack of attribution maps.

    Args:
        attributions: (M, ...) M maps of any one shape, e.g. (M, N, H, W) for M MC-dropout
            passes over N images, or (M, H, W) for one image; a numpy array, a list of
            arrays or anything ``np.asarray`` takes. Values must be finite.
        quantiles: Q numbers in [0, 1] (or one number), e.g. ``[0.1, 0.5, 0.9]``.

    Returns:
        (Q, ...) float array: ``out[q][idx]`` is the ``quantiles[q]``-quantile of
        ``attributions[:, idx]`` (``numpy.quantile``'s default, linear interpolation between
        the sorted values). Float inputs keep their dtype; integers give float64.

    Raises:
        InputError: no map, non-finite values, or a quantile outside [0, 1] (the message
            names the argument).
    """
    q = _check_quantiles(quantiles)
    values = _check_attributions(attributions)
    out = np.quantile(values, q, axis=0)
    return out.astype(values.dtype, copy=False)
