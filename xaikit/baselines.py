"""Baseline makers for path methods: each returns baselines of shape (N, R, ...).

R is the number of baselines per sample (1 for plain IG, ``num_runs`` for random-baseline IG).
The returned arrays may be read-only broadcast views: they are only sliced and copied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import InputError

__all__ = [
    "check_baseline",
    "constant_baselines",
    "random_from_batch",
    "structured_baselines",
    "structured_random",
]


def _leaves(value: Any) -> list[Any]:
    """The baselines of a structure (dict by input name, or list / tuple of arrays)."""
    if isinstance(value, Mapping):
        return list(value.values())
    if (
        isinstance(value, (list, tuple))
        and value
        and any(hasattr(v, "shape") or isinstance(v, (list, tuple)) for v in value)
    ):
        try:
            np.asarray(value, dtype=float)
        except (TypeError, ValueError):  # ragged: one baseline per input
            return list(value)
    return [value]


def check_baseline(instance: Any, attribute: Any, value: Any) -> None:
    """attrs validator: a finite number or numeric array, or a structure of them (one per
    input, as a list or a dict by input name)."""
    leaves = _leaves(value)
    if len(leaves) > 1 or leaves[0] is not value:
        for leaf in leaves:
            check_baseline(instance, attribute, leaf)
        return
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


def structured_baselines(
    baseline: Any, inputs: Sequence[np.ndarray], names: Sequence[str]
) -> list[np.ndarray]:
    """One (N, 1, ...) baseline array per flat input.

    ``baseline`` is one number for every input, a dict by input name, a list / tuple in
    input order, or (for a one-input model) anything :func:`constant_baselines` takes.

    Raises:
        InputError: names or a count that do not match the inputs, or a shape that does not
            broadcast.
    """
    if len(inputs) == 1 and not isinstance(baseline, Mapping):
        return [constant_baselines(baseline, inputs[0])]
    if isinstance(baseline, Mapping):
        missing = [name for name in names if name not in baseline]
        extra = [str(key) for key in baseline if key not in names]
        if missing or extra:
            raise InputError(
                f"baseline: expected one baseline per input name ({', '.join(map(repr, names))})"
                f", got missing {missing} and unknown {extra}"
            )
        per = [baseline[name] for name in names]
    elif isinstance(baseline, (list, tuple)) and len(inputs) > 1:
        if len(baseline) != len(inputs):
            raise InputError(
                f"baseline: expected {len(inputs)} baselines (one per input: "
                f"{', '.join(map(repr, names))}), got {len(baseline)}"
            )
        per = list(baseline)
    elif np.ndim(baseline) == 0:
        per = [baseline] * len(inputs)
    else:
        raise InputError(
            f"baseline: the model takes {len(inputs)} inputs; give one number, or one baseline "
            f"per input as a list or a dict by name, got an array of shape {np.shape(baseline)}"
        )
    out = []
    for value, x, name in zip(per, inputs, names, strict=True):
        try:
            out.append(constant_baselines(value, x))
        except InputError as error:
            raise InputError(f"baseline[{name!r}]" + str(error)[len("baseline") :]) from None
    return out


def structured_random(
    inputs: Sequence[np.ndarray], num_runs: int, seed: int | None
) -> list[np.ndarray]:
    """:func:`random_from_batch` for each flat input, drawn per input (independent streams
    from one seed; a one-input model draws exactly as :func:`random_from_batch`)."""
    if len(inputs) == 1:
        return [random_from_batch(inputs[0], num_runs, seed)]
    children = np.random.SeedSequence(seed).spawn(len(inputs))
    return [
        random_from_batch(x, num_runs, np.random.default_rng(child))  # type: ignore[arg-type]
        for x, child in zip(inputs, children, strict=True)
    ]
