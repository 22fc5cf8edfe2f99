"""A folder of image files as a source of shards, resized to the model's input.

::

    photos/                     photos/
      a.png                       cats/1.jpg     # class sub-folders: the folder name is
      b.jpg                       dogs/7.png     # each image's label
      ...                         ...

Files are taken in sorted order of their path relative to the folder (so shards are the same
on every run), decoded and resized with TensorFlow (PNG, JPEG, BMP, GIF; no other image
library needed), loaded in parallel by tf.data only for the shards a run still needs. The
relative paths are stored as ``sample_id`` and, with class sub-folders, the folder names as
``label``.
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from ..errors import InputError
from ._model import model_input_shape
from .shards import HEAD_ROWS, Shard, _sha256

__all__ = ["ImageFolderSource", "IMAGE_SUFFIXES"]

#: File name endings read as images (case-insensitive).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


class ImageFolderSource:
    """The image files under ``folder`` (and its class sub-folders), as model inputs.

    Args:
        folder: the folder.
        size: ``(height, width, channels)`` each image is decoded and resized to; None: the
            model's input shape (``model`` is then required).
        model: the model whose input shape gives ``size``.
        scale: pixel values are multiplied by this (default 1: values 0..255, as
            ``keras.utils.image_dataset_from_directory`` gives them; 1/255 for [0, 1]).
        labels_as_targets: explain each image's folder class: targets are the index of its
            folder name among the sorted class names (as Keras numbers them).

    Raises:
        InputError: no such folder, no image in it, or a size that is not (H, W, C).
    """

    def __init__(
        self,
        folder: str | Path,
        size: tuple[int, int, int] | None = None,
        *,
        model: Any = None,
        scale: float = 1.0,
        labels_as_targets: bool = False,
    ) -> None:
        root = Path(folder)
        if not root.is_dir():
            raise InputError(f"data: expected a folder of images, got {folder} (not a folder)")
        if size is None:
            shape = model_input_shape(model) if model is not None else None
            known = [] if shape is None else [int(d) for d in shape if d is not None]
            if shape is None or len(shape) != 3 or len(known) != 3:
                raise InputError(
                    "data: a folder of images needs a model taking images (H, W, C) of fixed "
                    f"size, got a model input shape {shape}"
                )
            size = (known[0], known[1], known[2])
        if len(size) != 3 or size[2] not in (1, 3, 4):
            raise InputError(f"size: expected (height, width, 1, 3 or 4 channels), got {size}")
        files = sorted(
            path.relative_to(root).as_posix()
            for path in root.rglob("*")
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
        )
        if not files:
            raise InputError(
                f"data: no image ({', '.join(IMAGE_SUFFIXES)}) in {folder} or its sub-folders"
            )
        self.root, self.size, self.scale = root, tuple(int(d) for d in size), float(scale)
        self.ids = np.array(files)
        self.labels = np.array([f.split("/")[0] if "/" in f else "" for f in files])
        self.classes = sorted({label for label in self.labels.tolist() if label})
        self.labels_as_targets = labels_as_targets
        if labels_as_targets and not self.classes:
            raise InputError(f"targets: {folder} has no class sub-folders to take labels from")
        if labels_as_targets and "" in self.labels:
            loose = self.ids[self.labels == ""][0]
            raise InputError(
                f"targets: labels come from class sub-folders, but {loose} lies directly in "
                f"{folder}"
            )
        self.num_samples: int | None = len(files)

    def _targets(self, rows: slice) -> np.ndarray | None:
        if not self.labels_as_targets:
            return None
        index = {name: i for i, name in enumerate(self.classes)}
        return np.array([index.get(label, -1) for label in self.labels[rows]], dtype=np.int64)

    def _decode(self, path: tf.Tensor) -> tf.Tensor:
        height, width, channels = self.size
        image = tf.io.decode_image(
            tf.io.read_file(path), channels=channels, expand_animations=False
        )
        image = tf.image.resize(tf.cast(image, tf.float32), (height, width))
        return image * self.scale

    def load(self, rows: slice) -> np.ndarray:
        """The images of ``rows`` (n, H, W, C) float32."""
        paths = [str(self.root / name) for name in self.ids[rows]]
        if not paths:
            return np.zeros((0, *self.size), np.float32)
        dataset = tf.data.Dataset.from_tensor_slices(paths).map(
            self._decode, num_parallel_calls=tf.data.AUTOTUNE
        )
        return next(dataset.batch(len(paths)).as_numpy_iterator())

    def _columns(self, rows: slice) -> dict[str, np.ndarray]:
        columns = {"sample_id": self.ids[rows]}
        if self.classes:
            columns["label"] = self.labels[rows]
        return columns

    def read_shard(self, index: int, shard_size: int) -> Shard:
        """Shard ``index`` alone, its images decoded."""
        n = len(self.ids)
        rows = slice(index * shard_size, min((index + 1) * shard_size, n))
        if not 0 <= rows.start < n:
            raise IndexError(f"shard {index} of {shard_size} rows is past the {n} images")
        size = rows.stop - rows.start
        return Shard(
            index, rows.start, size, self.load(rows), self._targets(rows), self._columns(rows)
        )

    def describe(self) -> dict[str, Any]:
        head = slice(0, min(HEAD_ROWS, len(self.ids)))
        return {
            "kind": "image_folder",
            "source": str(self.root),
            "num_samples": self.num_samples,
            "sample_shape": list(self.size),
            "scale": self.scale,
            "classes": self.classes,
            "labels_as_targets": self.labels_as_targets,
            "files_sha256": _sha256(self.ids),
            "head_sha256": _sha256(self.load(slice(0, min(8, head.stop)))),
        }

    def shards(self, shard_size: int, skip: Container[int] = ()) -> Iterator[Shard]:
        n = len(self.ids)
        starts = list(range(0, n, shard_size))
        wanted = [k for k in range(len(starts)) if k not in skip]
        paths = [
            str(self.root / name)
            for k in wanted
            for name in self.ids[starts[k] : starts[k] + shard_size]
        ]
        images = (
            tf.data.Dataset.from_tensor_slices(paths)
            .map(self._decode, num_parallel_calls=tf.data.AUTOTUNE)
            .batch(shard_size)
            .prefetch(2)
            .as_numpy_iterator()
            if paths
            else iter(())
        )
        for k, start in enumerate(starts):
            rows = slice(start, min(start + shard_size, n))
            size = rows.stop - rows.start
            if k in skip:
                yield Shard(k, start, size)
                continue
            yield Shard(k, start, size, next(images), self._targets(rows), self._columns(rows))
