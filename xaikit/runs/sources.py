"""Turning what users pass to :func:`~xaikit.explain_dataset` into shards of samples.

A *source* yields the data as consecutive **shards**: shard ``k`` holds rows
``[k * shard_size, (k + 1) * shard_size)`` of the stream (the last one may be shorter),
whatever batch sizes the data came in. The same data therefore always gives the same shard
boundaries, which is what lets a run resume. A shard the runner already has (committed in
the store) is passed over without being loaded where the source can seek (arrays), and read
and dropped where it cannot (datasets, iterables).

Sources:

- :class:`ArraySource`: a numpy array or a memory-mapped ``.npy`` (``np.load(path,
  mmap_mode="r")``); rows are copied shard by shard, in a background thread.
- :class:`DatasetSource`: a finite ``tf.data.Dataset`` of ``x`` or ``(x, y)``, batched or
  not, re-batched to shards with ``rebatch`` and prefetched by tf.data.
- :class:`IterableSource`: any iterable of batches (arrays or ``(x, y)`` tuples), re-batched
  in a background thread with a bounded queue.

:class:`~xaikit.runs.images.ImageFolderSource` (a folder of image files) is a dataset source.

This module picks the source for what was passed (:func:`as_source`). The sources live in
:mod:`~xaikit.runs.arrays`, :mod:`~xaikit.runs.datasets` and :mod:`~xaikit.runs.iterables`;
shards and the :class:`Source` protocol in :mod:`~xaikit.runs.shards`, structured data in
:mod:`~xaikit.runs.structured`, background prefetching in :mod:`~xaikit.runs.prefetch`.
Their public names are importable from here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from ..errors import InputError
from ..structure import input_specs
from .arrays import ArraySource
from .datasets import DatasetSource
from .iterables import IterableSource
from .iterables import rebatch as rebatch
from .prefetch import prefetched
from .shards import HEAD_ROWS, Inputs, Shard, Source
from .shards import num_rows as num_rows
from .structured import Structure, _takes_structures
from .structured import structure_of as structure_of

__all__ = [
    "Inputs",
    "Structure",
    "Shard",
    "Source",
    "ArraySource",
    "DatasetSource",
    "IterableSource",
    "as_source",
    "prefetched",
    "HEAD_ROWS",
]


def as_source(data: Any, model: Any) -> Source:
    """``data`` as a :class:`Source`.

    Args:
        data: a :class:`Source`; a ``tf.data.Dataset``; a numpy array or memory map (N, ...);
            a ``tf.Tensor``; an iterable of batches (arrays or ``(x, y)`` tuples); for a model
            of several inputs, a dict of arrays by input name or a list / tuple of arrays in
            its input order (each an array or memory map of N rows), or batches of those.
        model: the explained model.

    Raises:
        InputError: ``data`` is none of these (strings included).
    """
    if isinstance(data, Source) and not isinstance(data, (np.ndarray, tf.data.Dataset)):
        return data
    if isinstance(data, tf.data.Dataset):
        return DatasetSource(data, model)
    if isinstance(data, np.ndarray):
        if data.dtype == object:
            raise InputError("data: expected a numeric array, got an array of dtype object")
        filename = getattr(data, "filename", None)  # a memory map's file
        return ArraySource(data, label=None if filename is None else str(filename))
    if tf.is_tensor(data):
        return ArraySource(np.asarray(data))
    specs = input_specs(model)
    if isinstance(data, Mapping):
        _takes_structures(specs, data, "data")
        return ArraySource(data, specs=specs)
    if (
        specs is not None
        and len(specs) > 1
        and isinstance(data, (list, tuple))
        and len(data) == len(specs)
        and all(isinstance(part, np.ndarray) or tf.is_tensor(part) for part in data)
    ):
        return ArraySource(data, specs=specs)  # one array per input, not a list of batches
    if isinstance(data, (str, bytes)):
        raise InputError(
            "data: expected a tf.data.Dataset, a numpy array (or memory-mapped .npy) or an "
            f"iterable of batches, got {type(data).__name__} (load a file with "
            "np.load(path, mmap_mode='r'))"
        )
    if isinstance(data, Iterable):
        return IterableSource(data, model=model)
    raise InputError(
        "data: expected a tf.data.Dataset, a numpy array (or memory-mapped .npy) or an "
        f"iterable of batches, got {type(data).__name__}"
    )
