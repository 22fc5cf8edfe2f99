"""Where the occluding patches go: window sizes, start positions and coverage counts.

A sample of shape ``(L_0, ..., L_{r-1})`` is occluded along its *window axes*: the features
of a table (F,), the time steps of a sequence (T, C) or the rows and columns of an image
(H, W, C). Axes after the window axes (the channels) are covered whole, so a patch hides every
channel of the positions it covers; giving a patch size for the channel axis too slides over
channels as well.

Along an axis of length L with patch p and stride s <= p the starts are ``0, s, 2s, ...`` up
to ``L - p``, plus ``L - p`` itself when the stride does not land there, so every element is
covered at least once.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import attrs
import numpy as np

from xaikit.errors import InputError

__all__ = ["Windows", "window_axes", "resolve", "starts_along", "windows"]


@attrs.frozen
class Windows:
    """The patches of one sample shape.

    Attributes:
        sizes: (A,) patch size along each of the A window axes.
        starts: (P, A) start of each of the P patches.
        counts: how many patches cover each element, broadcastable to the sample's shape.
    """

    sizes: np.ndarray
    starts: np.ndarray
    counts: np.ndarray


def window_axes(sample_shape: Sequence[int]) -> int:
    """Default number of window axes: the features of a table, all but the channel axis else."""
    return 1 if len(sample_shape) == 1 else len(sample_shape) - 1


def resolve(
    value: int | Sequence[int] | None,
    sample_shape: Sequence[int],
    default: Sequence[int],
    name: str,
) -> tuple[int, ...]:
    """Per-axis sizes from an int (every window axis), a tuple, or None (``default``)."""
    axes = window_axes(sample_shape)
    if value is None:
        return tuple(int(d) for d in default)
    if isinstance(value, (int, np.integer)):
        return (int(value),) * axes
    sizes = tuple(int(v) for v in value)
    if len(sizes) not in (axes, len(sample_shape)):
        raise InputError(
            f"{name}: expected an int or {axes} sizes (one per window axis"
            + (f", or {len(sample_shape)} to slide over channels too" if axes > 1 else "")
            + f") for samples of shape {tuple(sample_shape)}, got {tuple(value)}"
        )
    return sizes


def starts_along(length: int, patch: int, stride: int) -> np.ndarray:
    """Starts of the patches along one axis (the last one flush with the end)."""
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] != length - patch:
        starts.append(length - patch)
    return np.asarray(starts, dtype=np.int32)


def windows(
    sample_shape: Sequence[int],
    patch: int | Sequence[int] | None = None,
    stride: int | Sequence[int] | None = None,
) -> Windows:
    """The patches for samples of ``sample_shape``.

    Args:
        sample_shape: shape of one sample, without the batch axis.
        patch: patch size (see :class:`~xaikit_occlusion.Occlusion`); None: 1 for tables, an
            eighth of each window axis (at least 1) otherwise.
        stride: step between patches; None: the patch size (patches tile the sample).

    Raises:
        InputError: a size below 1, or a patch larger than its axis.
    """
    shape = tuple(int(d) for d in sample_shape)
    axes = window_axes(shape)
    default = (1,) if len(shape) == 1 else tuple(max(1, d // 8) for d in shape[:axes])
    sizes = resolve(patch, shape, default, "patch")
    if isinstance(stride, (int, np.integer)):
        steps: tuple[int, ...] = (int(stride),) * len(sizes)
    else:
        steps = resolve(stride, shape, sizes, "stride")
    if len(steps) != len(sizes):
        raise InputError(f"stride: expected as many sizes as patch {sizes}, got {steps}")
    for name, values in (("patch", sizes), ("stride", steps)):
        if min(values) < 1:
            raise InputError(f"{name}: expected sizes >= 1, got {values}")
    if any(s > p for s, p in zip(steps, sizes, strict=True)):
        raise InputError(
            f"stride: {steps} is larger than the patch {sizes} along some axis; elements "
            "between patches would never be hidden"
        )
    if any(p > d for p, d in zip(sizes, shape, strict=False)):  # sizes may skip channels
        raise InputError(
            f"patch: {sizes} does not fit in samples of shape {shape}; each size must be at "
            "most its axis' length"
        )
    pairs = zip(shape, sizes, steps, strict=False)  # axes past the window axes: whole
    per_axis = [starts_along(d, p, s) for d, p, s in pairs]
    starts = np.array(list(itertools.product(*per_axis)), dtype=np.int32)
    counts = np.ones([1] * len(shape))
    for axis, (length, size, axis_starts) in enumerate(zip(shape, sizes, per_axis, strict=False)):
        index = np.arange(length)[:, None]
        along = ((index >= axis_starts) & (index < axis_starts + size)).sum(axis=1)
        view = [1] * len(shape)
        view[axis] = length
        counts = counts * along.reshape(view)
    return Windows(np.asarray(sizes, dtype=np.int32), starts, counts)
