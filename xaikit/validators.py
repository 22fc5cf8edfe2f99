"""attrs validators that raise :class:`~xaikit.errors.InputError`, for xaikit and plugins alike.

Every parameter of an explainer or metric is checked by one of these, so a bad value always
gives one error type whose message names the parameter, what was expected and what came::

    import attrs
    from xaikit import validators

    @attrs.frozen(kw_only=True)
    class MyMethod(xaikit.Explainer):
        num_samples: int = attrs.field(default=100, validator=validators.positive_int)
        seed: int | None = attrs.field(default=None, validator=validators.seed)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import numpy as np

from .errors import InputError

__all__ = [
    "Validator",
    "positive_int",
    "non_negative_int",
    "positive_number",
    "non_negative",
    "probability",
    "boolean",
    "seed",
    "check_seed",
    "one_of",
    "instance_of",
    "optional",
]

#: The attrs validator signature: ``(instance, attribute, value) -> None``.
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _is_int(value: Any) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer))


def _is_number(value: Any) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(
        value, (int, float, np.integer, np.floating)
    )


def positive_int(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """An integer >= 1 (bools refused)."""
    if not _is_int(value) or value < 1:
        raise InputError(f"{attribute.name}: expected an integer >= 1, got {value!r}")


def non_negative_int(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """An integer >= 0 (bools refused)."""
    if not _is_int(value) or value < 0:
        raise InputError(f"{attribute.name}: expected an integer >= 0, got {value!r}")


def positive_number(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """A finite number > 0 (bools refused)."""
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{attribute.name}: expected a finite number > 0, got {value!r}")


def non_negative(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """A finite number >= 0 (bools refused)."""
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise InputError(f"{attribute.name}: expected a finite number >= 0, got {value!r}")


def probability(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """A number in [0, 1] (bools refused)."""
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise InputError(f"{attribute.name}: expected a number in [0, 1], got {value!r}")


def boolean(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """``True`` or ``False`` (not 0 / 1, not a string)."""
    if not isinstance(value, (bool, np.bool_)):
        raise InputError(f"{attribute.name}: expected True or False, got {value!r}")


def check_seed(value: Any, name: str = "seed") -> None:
    """Raise an InputError unless ``value`` is None or an integer >= 0 (bools refused).

    The one rule for seeds everywhere in xaikit: methods, metrics, baselines and plugins.
    """
    if value is not None and (not _is_int(value) or value < 0):
        raise InputError(f"{name}: expected None or an integer >= 0, got {value!r}")


def seed(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """None (fresh randomness on every call) or an integer >= 0; see :func:`check_seed`."""
    check_seed(value, attribute.name)


def one_of(*choices: Any) -> Validator:
    """A validator accepting only the given values (compared with ``==``)."""

    def validate(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if isinstance(value, bool) and not any(isinstance(c, bool) for c in choices):
            ok = False
        else:
            ok = any(value == choice for choice in choices)
        if not ok:
            shown = ", ".join(repr(c) for c in choices)
            raise InputError(f"{attribute.name}: expected one of {shown}, got {value!r}")

    return validate


def instance_of(types: type | tuple[type, ...], expected: str | None = None) -> Validator:
    """A validator accepting instances of ``types``; ``expected`` words the message."""
    words = expected or (
        " or ".join(t.__name__ for t in types) if isinstance(types, tuple) else types.__name__
    )

    def validate(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if not isinstance(value, types):
            raise InputError(f"{attribute.name}: expected {words}, got {type(value).__name__}")

    return validate


def optional(validator: Validator | Iterable[Validator]) -> Validator:
    """A validator accepting None, or what ``validator`` accepts."""
    validators = [validator] if callable(validator) else list(validator)

    def validate(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is None:
            return
        for check in validators:
            check(instance, attribute, value)

    return validate
