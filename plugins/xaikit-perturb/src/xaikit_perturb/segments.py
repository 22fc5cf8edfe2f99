"""Segments: the groups of input elements that LIME and Kernel SHAP switch on and off together.

A segmentation gives every element of a sample an integer label ``0 .. M - 1``; a perturbation
keeps or replaces whole segments. By data kind (the rank of one sample):

- tables (F,): one segment per column (``num_segments`` k < F groups adjacent columns into k
  near-equal blocks);
- sequences (T, C): ``num_segments`` windows of near-equal length along time (default
  ``min(T, 16)``), each covering every channel;
- images (H, W, C): SLIC superpixels from scikit-image (``"slic"``, the default, about 50 of
  them) or a regular grid of about ``num_segments`` cells (``"grid"``, default 64), each
  covering every channel.

A fixed integer array (one label per element, or per position without the channel axis) or a
callable ``sample -> labels`` can replace the built-in segmentations. Labels are renumbered
``0 .. M - 1`` per sample, so callers may use any integers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from xaikit.errors import InputError

__all__ = [
    "SEGMENTATIONS",
    "check_segmentation",
    "segment",
    "segment_counts",
    "spread",
]

#: The named segmentations; an int array or a callable is accepted too.
SEGMENTATIONS: tuple[str, ...] = ("auto", "slic", "grid")

#: Defaults of ``num_segments`` by data kind: (sequence windows, SLIC superpixels, grid cells).
DEFAULT_WINDOWS, DEFAULT_SUPERPIXELS, DEFAULT_CELLS = 16, 50, 64

#: Gaussian smoothing (in pixels) applied by SLIC before clustering: keeps noisy images from
#: fragmenting into one-pixel superpixels.
SLIC_SIGMA = 1.0

Labels = np.ndarray | Callable[[np.ndarray], Any]


def check_segmentation(instance: Any, attribute: Any, value: Any) -> None:
    """attrs validator: one of :data:`SEGMENTATIONS`, a callable, or an integer label array."""
    if isinstance(value, str):
        if value not in SEGMENTATIONS:
            shown = ", ".join(map(repr, SEGMENTATIONS))
            raise InputError(
                f"{attribute.name}: expected one of {shown}, an integer label array or a "
                f"callable sample -> labels, got {value!r}"
            )
        return
    if callable(value):
        return
    array = np.asarray(value)
    if array.ndim == 0 or array.size == 0 or not np.issubdtype(array.dtype, np.integer):
        raise InputError(
            f"{attribute.name}: expected one of {', '.join(map(repr, SEGMENTATIONS))}, an "
            f"integer label array or a callable sample -> labels, got {type(value).__name__}"
            + (f" of dtype {array.dtype}" if array.dtype != object else "")
        )


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0 .. M - 1 in order of value (int32, same shape)."""
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int32)


def _blocks(length: int, count: int) -> np.ndarray:
    """(length,) block index of each position when ``length`` is cut into ``count`` near-equal
    blocks (``count`` clipped to [1, length])."""
    count = min(max(count, 1), length)
    return (np.arange(length) * count) // length


def _grid(shape: tuple[int, ...], count: int) -> np.ndarray:
    """(H, W) labels of a grid of about ``count`` cells, as square as the image allows."""
    height, width = shape[0], shape[1]
    rows = int(np.clip(round(np.sqrt(count * height / width)), 1, height))
    cols = int(np.clip(round(count / rows), 1, width))
    return _blocks(height, rows)[:, None] * cols + _blocks(width, cols)[None, :]


def _slic(image: np.ndarray, count: int, compactness: float) -> np.ndarray:
    """(H, W) SLIC superpixels of one (H, W, C) image, scaled to [0, 1] first."""
    from skimage.segmentation import slic  # imported here: only images need it

    low, high = float(image.min()), float(image.max())
    scaled = (image - low) / (high - low) if high > low else np.zeros_like(image)
    return slic(
        scaled.astype(np.float64),
        n_segments=count,
        compactness=compactness,
        sigma=SLIC_SIGMA,
        start_label=0,
        channel_axis=-1,
        convert2lab=False,
    )


def _fixed(
    labels: np.ndarray, sample_shape: tuple[int, ...], where: str = "segmentation"
) -> np.ndarray:
    """One sample's labels broadcast to ``sample_shape`` (they may omit the channel axis)."""
    labels = np.asarray(labels)
    allowed = [sample_shape] + ([sample_shape[:-1]] if len(sample_shape) >= 2 else [])
    if not np.issubdtype(labels.dtype, np.integer) or labels.shape not in allowed:
        shapes = " or ".join(str(s) for s in allowed)
        raise InputError(
            f"{where}: expected integer labels of shape {shapes} for samples of shape "
            f"{sample_shape}, got {labels.dtype} labels of shape {labels.shape}"
        )
    if labels.shape != sample_shape:
        labels = labels[..., None]
    return np.broadcast_to(labels, sample_shape)


def segment(
    inputs: np.ndarray,
    segmentation: str | Labels = "auto",
    num_segments: int | None = None,
    compactness: float = 0.3,
) -> np.ndarray:
    """Segment labels of every element of every sample.

    Args:
        inputs: (N, F), (N, T, C) or (N, H, W, C) samples.
        segmentation: ``"auto"`` (columns, time windows or SLIC by data kind), ``"slic"``
            (images only), ``"grid"``, an integer array of labels (one sample's shape, or
            without the channel axis) used for every sample, or a callable taking one sample
            and returning such labels.
        num_segments: how many segments to aim for (see the module docstring for the
            defaults). SLIC may return somewhat fewer or more.
        compactness: SLIC's balance of colour and space, on samples scaled to [0, 1]
            (higher: squarer superpixels).

    Returns:
        (N, ...) int32 labels of the inputs' shape; the labels of sample i are ``0 .. M_i - 1``
        and every label is used.

    Raises:
        InputError: a segmentation that does not fit the data (naming ``segmentation``).
    """
    inputs = np.asarray(inputs)
    shape = tuple(int(d) for d in inputs.shape[1:])
    rank = len(shape)
    method = segmentation
    if isinstance(method, str) and method == "slic" and rank != 3:
        raise InputError(
            f"segmentation: 'slic' segments images (N, H, W, C); for samples of shape {shape} "
            "use 'auto' or 'grid'"
        )
    if isinstance(method, str) and rank not in (1, 2, 3):
        raise InputError(f"segmentation: samples of rank {rank} have no default segmentation")
    out = np.empty(inputs.shape, dtype=np.int32)
    if isinstance(method, str):
        if method == "auto":
            method = "slic" if rank == 3 else "grid"
        if method == "slic":
            count = num_segments or DEFAULT_SUPERPIXELS
            for i, image in enumerate(inputs):
                out[i] = _fixed(_renumber(_slic(image, count, compactness)), shape)
            return out
        if rank == 1:
            labels = _blocks(shape[0], num_segments or shape[0])
        elif rank == 2:
            labels = _blocks(shape[0], num_segments or min(shape[0], DEFAULT_WINDOWS))[:, None]
        else:
            labels = _grid(shape, num_segments or DEFAULT_CELLS)[..., None]
        out[:] = np.broadcast_to(labels, shape)
        return out
    if callable(method):
        for i, sample in enumerate(inputs):
            out[i] = _renumber(_fixed(method(sample), shape, "segmentation (the callable)"))
        return out
    out[:] = _renumber(_fixed(method, shape))
    return out


def segment_counts(labels: np.ndarray, width: int) -> np.ndarray:
    """(n, width) number of elements in each segment of each sample (0 past its last one).

    Args:
        labels: (n, ...) labels from :func:`segment`.
        width: at least the largest number of segments of a sample.
    """
    flat = labels.reshape(len(labels), -1).astype(np.int64)
    offsets = (np.arange(len(labels)) * width)[:, None]
    counts = np.bincount((flat + offsets).ravel(), minlength=len(labels) * width)
    return counts.reshape(len(labels), width)


def spread(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-segment values back on the elements: ``out[i, e] = values[i, labels[i, e]]``.

    Args:
        values: (n, M) one value per segment.
        labels: (n, ...) segment labels.

    Returns:
        (n, ...) the labels' shape.
    """
    flat = labels.reshape(len(labels), -1)
    return np.take_along_axis(values, flat, axis=1).reshape(labels.shape)
