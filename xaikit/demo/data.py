"""Synthetic data sets whose ground truth is known: which part of each input decides its class.

Each maker returns a :class:`DemoData`: inputs, integer labels, and a boolean ``relevant``
mask of the inputs' shape marking where the class-deciding signal lies. Everything is drawn
from ``numpy.random.default_rng(seed)``, so the same arguments give the same arrays.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np

__all__ = ["DemoData", "shapes", "bursts", "table", "MAKERS"]


@attrs.frozen(eq=False)
class DemoData:
    """A labelled data set with the truly relevant region of every sample.

    Attributes:
        kind: 'image', 'series' or 'tabular'.
        inputs: float32 (N, H, W, C), (N, T, C) or (N, F).
        labels: int64 (N,) class indices.
        relevant: bool, the inputs' shape: True where the class-deciding signal lies.
        class_names: one name per class.
        feature_names: names of the last axis (channels or tabular features).
        description: one sentence on how the class is set.
    """

    kind: str
    inputs: np.ndarray
    labels: np.ndarray
    relevant: np.ndarray
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    description: str

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def subset(self, rows: slice | np.ndarray) -> DemoData:
        """The samples ``rows`` (a slice or index array), everything else kept."""
        return attrs.evolve(
            self, inputs=self.inputs[rows], labels=self.labels[rows], relevant=self.relevant[rows]
        )


def _shape_mask(kind: int, size: int, half: int, cy: int, cx: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    dy, dx = yy - cy, xx - cx
    if kind == 0:  # square
        return (np.abs(dy) <= half) & (np.abs(dx) <= half)
    if kind == 1:  # disk
        return dy**2 + dx**2 <= half**2 + half // 2
    # cross: two bars of width 3
    bar = max(1, half // 3)
    return ((np.abs(dy) <= bar) & (np.abs(dx) <= half)) | (
        (np.abs(dx) <= bar) & (np.abs(dy) <= half)
    )


def shapes(n: int, *, size: int = 32, noise: float = 0.3, seed: int = 0) -> DemoData:
    """Gray images with one bright shape on noise; the class is the shape.

    Classes: square, disk, cross, each of random size (half-width 4 to 7 pixels) and
    position, drawn on Gaussian noise of standard deviation ``noise``. The relevant mask is
    the shape's pixels.

    Returns:
        DemoData of inputs (n, size, size, 1).
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    inputs = rng.normal(0.0, noise, size=(n, size, size, 1)).astype(np.float32)
    relevant = np.zeros((n, size, size, 1), dtype=bool)
    for i, label in enumerate(labels):
        half = int(rng.integers(4, 8))
        cy, cx = rng.integers(half + 1, size - half - 1, size=2)
        mask = _shape_mask(int(label), size, half, int(cy), int(cx))
        inputs[i, mask, 0] += 1.0
        relevant[i, mask, 0] = True
    return DemoData(
        kind="image",
        inputs=inputs,
        labels=labels.astype(np.int64),
        relevant=relevant,
        class_names=("square", "disk", "cross"),
        feature_names=("gray",),
        description="one bright shape on noise; the class is the shape",
    )


def bursts(n: int, *, length: int = 64, noise: float = 0.3, seed: int = 0) -> DemoData:
    """Two-channel series where a short burst in the first channel sets the class.

    Both channels carry a slow sine wave of random phase plus Gaussian noise; channel
    'signal' also holds one burst of 8 steps at a random time: a bump (class 0), a dip
    (class 1) or a fast oscillation (class 2). Channel 'distractor' never carries a burst.
    The relevant mask is the burst's time steps in the 'signal' channel.

    Returns:
        DemoData of inputs (n, length, 2).
    """
    rng = np.random.default_rng(seed)
    width = 8
    labels = rng.integers(0, 3, size=n)
    t = np.arange(length)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 2))
    inputs = 0.5 * np.sin(2 * np.pi * t[None, :, None] / length + phase)
    inputs = inputs + rng.normal(0.0, noise, size=(n, length, 2))
    relevant = np.zeros((n, length, 2), dtype=bool)
    window = np.sin(np.pi * (np.arange(width) + 0.5) / width)  # smooth envelope
    shapes_ = (1.5 * window, -1.5 * window, 1.5 * window * np.array([1, -1] * (width // 2)))
    for i, label in enumerate(labels):
        start = int(rng.integers(0, length - width))
        inputs[i, start : start + width, 0] += shapes_[int(label)]
        relevant[i, start : start + width, 0] = True
    return DemoData(
        kind="series",
        inputs=inputs.astype(np.float32),
        labels=labels.astype(np.int64),
        relevant=relevant,
        class_names=("bump", "dip", "oscillation"),
        feature_names=("signal", "distractor"),
        description="a short burst in channel 'signal' sets the class; 'distractor' is noise",
    )


def table(n: int, *, features: int = 8, seed: int = 0) -> DemoData:
    """A table where only three of ``features`` standard-normal columns set the class.

    The class is 1 when ``x0 + x1 - x2 > 0`` else 0; the other columns are noise. The
    relevant mask marks columns x0, x1 and x2 of every row.

    Returns:
        DemoData of inputs (n, features).
    """
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(n, features)).astype(np.float32)
    labels = (inputs[:, 0] + inputs[:, 1] - inputs[:, 2] > 0).astype(np.int64)
    relevant = np.zeros((n, features), dtype=bool)
    relevant[:, :3] = True
    return DemoData(
        kind="tabular",
        inputs=inputs,
        labels=labels,
        relevant=relevant,
        class_names=("negative", "positive"),
        feature_names=tuple(f"x{i}" for i in range(features)),
        description="class 1 when x0 + x1 - x2 > 0; x3 and later columns are noise",
    )


#: kind -> maker(n, seed=...) of that kind's data set.
MAKERS: dict[str, Callable[..., DemoData]] = {"image": shapes, "series": bursts, "tabular": table}
