"""Shared array helpers of the metrics: what a "feature" is, relevance ranks, correlations.

Attributions come either with the inputs' shape (one value per input element) or, for
(N, T, C) series and (N, H, W, C) images, with the channel axis reduced: (N, T) / (N, H, W).
In the second case a feature is a whole time step / pixel, and a mask over features is
broadcast over the channels.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from ..errors import InputError

__all__ = [
    "FeatureLayout",
    "feature_layout",
    "relevance_ranks",
    "rankdata",
    "row_correlation",
    "grid_masks",
]


@attrs.frozen
class FeatureLayout:
    """How attribution features map onto input elements.

    Attributes:
        input_shape: one sample's input shape, e.g. (H, W, C).
        feature_shape: one sample's attribution shape: ``input_shape`` or, for series and
            images, ``input_shape[:-1]`` (channels reduced).
    """

    input_shape: tuple[int, ...]
    feature_shape: tuple[int, ...]

    @property
    def channels_shared(self) -> bool:
        """True when one feature covers all channels of a pixel / time step."""
        return len(self.feature_shape) == len(self.input_shape) - 1

    @property
    def num_features(self) -> int:
        return int(np.prod(self.feature_shape, dtype=np.int64))

    def expand(self, values: np.ndarray) -> np.ndarray:
        """Per-feature values (r, *feature_shape) made broadcastable to (r, *input_shape)."""
        return values[..., None] if self.channels_shared else values


def feature_layout(
    inputs_shape: Sequence[int], attributions_shape: Sequence[int], name: str = "attributions"
) -> FeatureLayout:
    """The layout of attributions of ``attributions_shape`` for inputs of ``inputs_shape``
    (``name`` names the attributions in messages).

    Raises:
        InputError: the attributions have neither the inputs' shape nor, for inputs of rank 3
            or more, the inputs' shape without the channel axis.
    """
    inputs_shape, attributions_shape = tuple(inputs_shape), tuple(attributions_shape)
    if attributions_shape == inputs_shape:
        return FeatureLayout(inputs_shape[1:], inputs_shape[1:])
    if len(inputs_shape) >= 3 and attributions_shape == inputs_shape[:-1]:
        return FeatureLayout(inputs_shape[1:], inputs_shape[1:-1])
    expected = f"{inputs_shape} (the inputs' shape)"
    if len(inputs_shape) >= 3:
        expected += f" or {inputs_shape[:-1]} (channels reduced)"
    raise InputError(f"{name}: expected shape {expected}, got shape {attributions_shape}")


def relevance_ranks(attributions: np.ndarray, absolute: bool = False) -> np.ndarray:
    """Rank of each feature by relevance, 0 for the most relevant, per sample.

    Args:
        attributions: (N, *feature_shape).
        absolute: rank by ``|attributions|`` instead of by signed value.

    Returns:
        (N, *feature_shape) int64 ranks; ties keep the features' flat (C) order.
    """
    n = len(attributions)
    flat = attributions.reshape(n, -1)
    key = np.abs(flat) if absolute else flat
    order = np.argsort(-key, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(flat.shape[1])[None].repeat(n, axis=0), axis=1)
    return ranks.reshape(attributions.shape)


def rankdata(values: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis of (n, m) values (ties share their mean rank)."""
    n, m = values.shape
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    starts = np.ones((n, m), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    groups = (np.cumsum(starts, axis=1) - 1 + (np.arange(n) * m)[:, None]).ravel()
    positions = np.tile(np.arange(m, dtype=np.float64), n)
    mean_position = np.bincount(groups, positions, n * m) / np.maximum(
        np.bincount(groups, minlength=n * m), 1
    )
    ranks = np.empty((n, m), dtype=np.float64)
    np.put_along_axis(ranks, order, mean_position[groups].reshape(n, m), axis=1)
    return ranks


def row_correlation(a: np.ndarray, b: np.ndarray, constant: float = 0.0) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with the same row of ``b``, both (n, m).

    Where a row of either is constant the correlation is undefined; it is then 1.0 if both
    rows are constant (and so carry the same information: none), else ``constant``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    flat_a, flat_b = np.ptp(a, axis=1) == 0, np.ptp(b, axis=1) == 0
    da = a - a.mean(axis=1, keepdims=True)
    db = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((da * da).sum(axis=1) * (db * db).sum(axis=1))
    defined = ~(flat_a | flat_b) & (denominator > 0)
    out = np.where(flat_a & flat_b, 1.0, constant)
    out[defined] = (da * db).sum(axis=1)[defined] / denominator[defined]
    return np.clip(out, -1.0, 1.0)


def grid_masks(
    rng: np.random.Generator,
    count: int,
    fraction: float,
    parts: Sequence[FeatureLayout],
    grid_size: int | None,
) -> np.ndarray:
    """``count`` random feature subsets, each feature (or grid cell) in with prob. ``fraction``.

    With ``grid_size`` the subsets are drawn on a coarse grid over the spatial axes of series
    (T) and images (H, W), at most ``grid_size`` cells per axis, and scaled up to the feature
    shape (all channels of a pixel together); tabular features are drawn one by one. With
    several inputs (``parts``, one layout per input) one draw covers the cells of all of them,
    in input order, so each subset spans every input.

    Returns:
        (count, F) bool masks over the F features of all parts (in order), True for a
        removed feature.
    """
    cells = [
        layout.feature_shape
        if grid_size is None or len(layout.input_shape) < 2
        else tuple(min(grid_size, size) for size in layout.input_shape[:-1])
        for layout in parts
    ]
    sizes = [int(np.prod(shape, dtype=np.int64)) for shape in cells]
    drawn = rng.random((count, sum(sizes))) < fraction
    out, start = [], 0
    for layout, shape, size in zip(parts, cells, sizes, strict=True):
        coarse = drawn[:, start : start + size].reshape(count, *shape)
        start += size
        if grid_size is not None and len(layout.input_shape) >= 2:
            spatial = layout.input_shape[:-1]
            for axis, (length, cell) in enumerate(zip(spatial, shape, strict=True)):
                coarse = np.take(coarse, np.arange(length) * cell // length, axis=axis + 1)
            if not layout.channels_shared:
                coarse = np.broadcast_to(coarse[..., None], (count, *layout.feature_shape))
        out.append(coarse.reshape(count, -1))
    return out[0] if len(out) == 1 else np.concatenate(out, axis=1)
