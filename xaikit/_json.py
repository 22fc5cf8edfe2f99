"""Turning parameters and records into JSON-ready values (CLI params.json, demo summary)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["jsonable"]


def jsonable(value: Any, max_array: int = 64) -> Any:
    """``value`` as JSON-ready data: small arrays as lists, larger ones as a shape note.

    Mappings, lists and tuples are converted item by item; numpy scalars become Python
    numbers; anything else unknown is recorded by its ``repr``.
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, max_array) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, max_array) for v in value]
    if isinstance(value, np.ndarray):
        if value.size <= max_array:
            return value.tolist()
        return f"<array of shape {list(value.shape)}>"
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
