"""What identifies a run: model weights, method, parameters, data and targets.

A store records this fingerprint when it is created; a run started again on the same store
must match it (else :class:`RunMismatchError`), so shards computed by different models or
methods never mix. Every part is JSON and stable across processes: arrays are recorded by a
hash of their bytes, callables by their qualified name, never by ``repr`` (which holds memory
addresses).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from ..errors import InputError

__all__ = [
    "RunMismatchError",
    "model_sha256",
    "stable",
    "method_name",
    "fingerprint",
    "differences",
    "UNCHECKED_PARAMS",
]

#: Parameters that change how a run computes, not what: a run may resume with other values.
UNCHECKED_PARAMS = ("batch_size", "strategy")

#: The fingerprint's parts, in the order differences are reported.
PARTS = ("method", "params", "model_sha256", "data", "targets", "shard_size")

_LABELS = {
    "method": "method",
    "params": "parameters",
    "model_sha256": "model (sha256 of its weights)",
    "data": "data",
    "targets": "targets",
    "shard_size": "shard_size",
}


class RunMismatchError(InputError):
    """A run was started again on a store made by another model, method, parameters or data.

    The message names every part that differs; ``overwrite=True`` replaces the store.
    """


def model_sha256(model: Any) -> str:
    """sha256 of the model's weights: their shapes, dtypes and values, in order.

    Layer and variable names are left out, so a model rebuilt (or loaded) in another process
    with the same weights has the same fingerprint.
    """
    digest = hashlib.sha256()
    for weight in getattr(model, "weights", []):
        value = np.ascontiguousarray(np.asarray(weight.numpy() if tf.is_tensor(weight) else weight))
        digest.update(f"{value.dtype.str}{value.shape};".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _qualified(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or type(obj).__module__
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{module}.{name}"


def stable(value: Any, max_array: int = 64) -> Any:
    """``value`` as JSON that is the same in every process.

    Small arrays become lists; larger ones ``{"shape", "dtype", "sha256"}``; tensors are
    arrays; callables and other objects their qualified name.
    """
    if isinstance(value, Mapping):
        return {str(k): stable(v, max_array) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [stable(v, max_array) for v in value]
    if tf.is_tensor(value):
        value = np.asarray(value)
    if isinstance(value, np.ndarray):
        if value.size <= max_array and value.dtype != object:
            return value.tolist()
        data = np.ascontiguousarray(value)
        return {
            "shape": list(value.shape),
            "dtype": str(value.dtype),
            "sha256": hashlib.sha256(data.tobytes()).hexdigest(),
        }
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if callable(value):
        return f"<callable {_qualified(value)}>"
    return f"<{_qualified(type(value))}>"


def method_name(explainer: Any) -> str:
    """The name the explainer records in its explanations (its class name when it has none)."""
    name = getattr(explainer, "method_name", None)
    return str(name) if name else vars(type(explainer)).get("name") or type(explainer).__name__


def _targets_record(targets: Any) -> Any:
    if targets is None or isinstance(targets, (int, np.integer)):
        return stable(targets)
    if isinstance(targets, str):
        return targets
    return stable(np.asarray(targets), max_array=0)


def fingerprint(
    explainer: Any, data: Mapping[str, Any], targets: Any, shard_size: int
) -> dict[str, Any]:
    """The run's fingerprint as JSON: method, checked parameters, weights hash, data
    description, targets and shard size."""
    params = {key: value for key, value in explainer.params.items() if key not in UNCHECKED_PARAMS}
    record = {
        "method": method_name(explainer),
        "params": stable(params),
        "model_sha256": model_sha256(explainer.model),
        "data": stable(dict(data)),
        "targets": _targets_record(targets),
        "shard_size": int(shard_size),
    }
    return json.loads(json.dumps(record))  # tuples as lists: compares equal to stored JSON


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _detail(part: str, there: Any, here: Any) -> str:
    if isinstance(there, dict) and isinstance(here, dict):
        keys = sorted(k for k in set(there) | set(here) if there.get(k) != here.get(k))
        shown = "; ".join(
            f"{k} {_short(there.get(k))} there, {_short(here.get(k))} now" for k in keys[:4]
        )
        return f"{_LABELS[part]}: {shown}"
    return f"{_LABELS[part]}: {_short(there)} there, {_short(here)} now"


def differences(stored: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between a stored fingerprint and a new one, in words (empty if none)."""
    return [
        _detail(part, stored.get(part), new.get(part))
        for part in PARTS
        if stored.get(part) != new.get(part)
    ]
