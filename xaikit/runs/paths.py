"""Data named by a path: a ``.npy`` (memory-mapped), a ``.npz`` of one array, or a folder of
images. The command line and the Beam pipeline open ``--data`` here, so both describe the
same data the same way (and so write the same store)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .images import ImageFolderSource
from .sources import ArraySource

__all__ = ["source_from_path"]


def _npz_array(path: Path, argument: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if len(archive.files) != 1:
                raise InputError(
                    f"{argument}: expected a .npz file holding one array, got "
                    f"{len(archive.files)} ({', '.join(archive.files)})"
                )
            return archive[archive.files[0]]
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise InputError(f"{argument}: cannot read {path}: {error}") from None


def source_from_path(
    path: str | Path,
    *,
    model: Any = None,
    size: tuple[int, int, int] | None = None,
    scale: float = 1.0,
    labels_as_targets: bool = False,
    argument: str = "data",
) -> ArraySource | ImageFolderSource:
    """The source of the data at ``path``.

    Args:
        path: a ``.npy`` file (memory-mapped, read shard by shard), a ``.npz`` file holding
            one array (loaded whole), or a folder of images.
        model: the model (a folder's images are resized to its input).
        size: (height, width, channels) of images, instead of the model's input.
        scale: multiplies pixel values 0..255 of images.
        labels_as_targets: explain each image's class sub-folder.
        argument: how to name ``path`` in errors.

    Raises:
        InputError: no such file or folder, an unsupported file, or an unreadable one.
    """
    where = Path(path)
    if where.is_dir():
        return ImageFolderSource(
            where, size, model=model, scale=scale, labels_as_targets=labels_as_targets
        )
    if labels_as_targets:
        raise InputError(
            f"{argument}: labels as targets come from class sub-folders of a folder of images, "
            f"got {path}"
        )
    if not where.is_file():
        raise InputError(
            f"{argument}: no such file or folder: {path} (expected a .npy or .npz file, or a "
            "folder of images)"
        )
    if where.suffix == ".npy":
        try:
            x = np.load(where, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as error:
            raise InputError(f"{argument}: cannot read {path}: {error}") from None
        return ArraySource(x, label=str(path))
    if where.suffix == ".npz":
        return ArraySource(_npz_array(where, argument), label=str(path))
    raise InputError(f"{argument}: expected a .npy or .npz file or a folder of images, got {path}")
