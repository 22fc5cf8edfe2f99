"""Baseline makers for path methods: each returns baselines of shape (N, R, ...).

R is the number of baselines per sample (1 for plain IG, ``num_runs`` for random-baseline IG).
The returned arrays may be read-only broadcast views: they are only sliced and copied.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InputError

__all__ = ["check_baseline", "constant_baselines", "random_from_batch"]


def check_baseline(instance: Any, attribute: Any, value: Any) -> None:
    """attrs validator: a finite number or a finite numeric array."""
    array = np.asarray(value) if not hasattr(value, "numpy") else np.asarray(value.numpy())
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise InputError(f"baseline: expected a number or an array, got {type(value).__name__}")
    if not np.all(np.isfinite(array)):
        raise InputError("baseline: expected finite values, got NaN or inf")


def constant_baselines(baseline: Any, inputs: np.ndarray) -> np.ndarray:
    """One baseline per sample, (N, 1, ...), from a number, one sample or one per sample.

    Raises:
        InputError: the baseline cannot broadcast to the inputs' shape.
    """
    array = np.asarray(baseline.numpy() if hasattr(baseline, "numpy") else baseline)
    try:
        full = np.broadcast_to(array.astype(inputs.dtype, copy=False), inputs.shape)
    except ValueError:
        raise InputError(
            "baseline: expected a number, an array of one sample's shape "
            f"{inputs.shape[1:]} or one per sample {inputs.shape}, got shape {array.shape}"
        ) from None
    return full[:, None]


def random_from_batch(inputs: np.ndarray, num_runs: int, seed: int | None) -> np.ndarray:
    """``num_runs`` random baselines assembled from the batch, shared by all samples.

    Baseline r is built slice by slice along the first axis after the batch axis (features
    of (N, F), time steps of (N, T, C), rows of (N, H, W, C)): slice i is copied from sample
    j(r, i), drawn uniformly from the N inputs. Each baseline thus looks like data while
    belonging to no single sample. The draws come from ``numpy.random.default_rng(seed)``.

    Returns:
        (N, num_runs, ...) array (a broadcast view of num_runs baselines).
    """
    rng = np.random.default_rng(seed)
    n, length = inputs.shape[0], inputs.shape[1]
    positions = np.arange(length)
    drawn = np.stack([inputs[rng.integers(0, n, size=length), positions] for _ in range(num_runs)])
    return np.broadcast_to(drawn[None], (n, *drawn.shape))
