"""What a method declares it can explain, read by the registry, the CLI, the demo and the
conformance suite instead of guessing by trying.

A method class (or a factory registered as a method) carries a :class:`Capabilities` record
as its ``capabilities`` attribute::

    class GradCAM(xaikit.Explainer):
        capabilities = xaikit.Capabilities(data=("image",))

    class Lime(xaikit.Explainer):
        capabilities = xaikit.Capabilities(seed="seed")    # stochastic, seeded by ``seed``

Data kinds are read off the rank of one sample: (F,) is ``"tabular"``, (T, C) is
``"sequence"`` and (H, W, C) is ``"image"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from .errors import InputError

__all__ = ["DATA_KINDS", "Capabilities", "capabilities_of", "data_kind", "describe_kinds"]

#: The data kinds, by the rank of one sample (without the batch axis).
DATA_KINDS: tuple[str, ...] = ("tabular", "sequence", "image")
_BY_RANK = {1: "tabular", 2: "sequence", 3: "image"}
_SHAPES = {"tabular": "(N, F)", "sequence": "(N, T, C)", "image": "(N, H, W, C)"}
_PLURAL = {"tabular": "tables", "sequence": "sequences", "image": "images"}


def data_kind(sample_shape: Sequence[int | None] | None) -> str | None:
    """The data kind of samples of ``sample_shape`` (no batch axis), or None when unknown."""
    if sample_shape is None:
        return None
    return _BY_RANK.get(len(sample_shape))


def describe_kinds(kinds: Iterable[str]) -> str:
    """'images only', 'tables and sequences', ... for messages."""
    names = [_PLURAL.get(kind, kind) for kind in kinds]
    if len(names) == 1:
        return f"{names[0]} only"
    return ", ".join(names[:-1]) + " and " + names[-1]


def _as_kinds(value: Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _check_data(instance: Any, attribute: attrs.Attribute, value: tuple[str, ...]) -> None:
    unknown = [kind for kind in value if kind not in DATA_KINDS]
    if not value or unknown:
        raise InputError(
            f"data: expected one or more of {', '.join(map(repr, DATA_KINDS))}, got {value!r}"
        )


def _check_seed_field(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and not (isinstance(value, str) and value.isidentifier()):
        raise InputError(f"seed: expected the name of the seed parameter or None, got {value!r}")


def _check_flag(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, bool):
        raise InputError(f"{attribute.name}: expected True or False, got {value!r}")


@attrs.frozen
class Capabilities:
    """What a method explains, and how it is made deterministic.

    Attributes:
        data: the data kinds the method explains, some of :data:`DATA_KINDS`
            (default: all of them).
        seed: the name of the parameter that seeds a stochastic method (e.g. ``"seed"``);
            None for a deterministic method.
        multi_input: whether the method explains models of several inputs (its
            ``explain_batch`` then gets a tuple of tensors, one per input, and returns a
            tuple of attributions). Default False: such models are refused with an
            InputError.
        layers: whether the method takes ``layer=`` to attribute to a layer's output, the
            way token and categorical id inputs are explained (at their embedding).
    """

    data: tuple[str, ...] = attrs.field(
        default=DATA_KINDS, converter=_as_kinds, validator=_check_data
    )
    seed: str | None = attrs.field(default=None, validator=_check_seed_field)
    multi_input: bool = attrs.field(default=False, validator=_check_flag)
    layers: bool = attrs.field(default=False, validator=_check_flag)

    @property
    def stochastic(self) -> bool:
        """Whether results depend on random draws (then ``seed`` names the seed parameter)."""
        return self.seed is not None

    def supports(self, kind: str | None) -> bool:
        """Whether data of ``kind`` can be explained (an unknown kind is given the benefit)."""
        return kind is None or kind in self.data

    def summary(self) -> str:
        """One line for listings: ``'tables, sequences and images; stochastic (seed)'``."""
        kinds = describe_kinds(self.data).removesuffix(" only")
        extra = [
            word
            for word, flag in (("several inputs", self.multi_input), ("layers", self.layers))
            if flag
        ]
        kinds += "".join(f"; {word}" for word in extra)
        return kinds + (f"; stochastic ({self.seed})" if self.seed else "")

    def check(self, method: str, sample_shape: Sequence[int | None] | None, where: str) -> None:
        """Raise an InputError if samples of ``sample_shape`` are a kind this method cannot do.

        Args:
            method: the method's name, for the message.
            sample_shape: one sample's shape (no batch axis), or None when unknown.
            where: the argument the shape came from ('model', 'inputs').
        """
        kind = data_kind(sample_shape)
        if sample_shape is None or self.supports(kind):
            return
        what = f"{kind} data" if kind else f"samples of rank {len(sample_shape)}"
        expected = " or ".join(_SHAPES[k] for k in self.data)
        shape = "(N, " + ", ".join("?" if d is None else str(d) for d in sample_shape) + ")"
        raise InputError(
            f"{where}: {method} explains {describe_kinds(self.data)} {expected}, "
            f"got {what} of shape {shape}"
        )


#: What an object that declares nothing is assumed to explain.
DEFAULT_CAPABILITIES = Capabilities()


def capabilities_of(method: Any) -> Capabilities:
    """The :class:`Capabilities` a method class, factory or explainer declares (or the default).

    Raises:
        InputError: the declared ``capabilities`` attribute is not a Capabilities record.
    """
    declared = getattr(method, "capabilities", None)
    if declared is None:
        return DEFAULT_CAPABILITIES
    if not isinstance(declared, Capabilities):
        raise InputError(
            f"capabilities: {getattr(method, '__name__', type(method).__name__)} declares "
            f"capabilities of type {type(declared).__name__}; expected xaikit.Capabilities"
        )
    return declared
