"""How structured data (a dict of inputs by name, or a list / tuple in the model's input
order) gives a model of several inputs its inputs: its :class:`Structure`, read off one
element and checked against the inputs the model declares, and Keras's ``(x, y)`` rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ..errors import InputError
from ..structure import Form, InputSpec, describe_names

__all__ = ["Structure", "structure_of"]


@attrs.frozen
class Structure:
    """How structured data gives a model of several inputs its inputs.

    Attributes:
        form: the form the data came in (list, tuple or dict), to give results back alike.
        names: each input's name, in the model's input order (a shard's ``x`` order).
    """

    form: Form
    names: tuple[str, ...]

    def pack(self, flat: Iterable[Any]) -> Any:
        """Values in the model's input order as a list, tuple or dict (the data's form)."""
        return self.form.pack(list(flat))

    def flat(self, value: Any, where: str) -> tuple[Any, ...]:
        """``value`` (a list, tuple or dict of this structure) in the model's input order.

        Raises:
            InputError: ``value`` has another structure (other names, count or form).
        """
        if self.form.kind == "dict":
            if not isinstance(value, Mapping) or set(map(str, value)) != set(self.names):
                raise InputError(
                    f"{where}: every element must be a dict of the inputs "
                    f"{', '.join(map(repr, self.names))}, got {_shown(value)}"
                )
            return tuple(value[name] for name in self.names)
        if not isinstance(value, (list, tuple)) or len(value) != len(self.names):
            raise InputError(
                f"{where}: every element must be a {self.form.kind} of {len(self.names)} inputs "
                f"({', '.join(map(repr, self.names))}), got {_shown(value)}"
            )
        return tuple(value)

    def describe(self) -> dict[str, Any]:
        return {"form": self.form.kind, "inputs": list(self.names)}


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a dict of " + (", ".join(map(repr, map(str, value))) or "nothing")
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    return type(value).__name__


def structure_of(
    value: Mapping | list | tuple, specs: tuple[InputSpec, ...] | None, where: str = "data"
) -> Structure:
    """The structure of one element of structured data (a dict by input name, or a list or
    tuple in the model's input order), checked against the inputs the model declares.

    Raises:
        InputError: names missing or unknown, or a count of inputs the model does not take.
    """
    if isinstance(value, Mapping):
        keys = [str(key) for key in value]
        if specs is None:
            names = tuple(sorted(keys))
        else:
            names = tuple(spec.name for spec in specs)
            missing = [n for n in names if n not in keys]
            unknown = [k for k in keys if k not in names]
            if missing or unknown:
                said = ([f"missing {', '.join(map(repr, missing))}"] if missing else []) + (
                    [f"unknown {', '.join(map(repr, unknown))}"] if unknown else []
                )
                raise InputError(
                    f"{where}: expected a dict keyed by the model's input names "
                    f"{describe_names(specs)}, got {'; '.join(said)}"
                )
        return Structure(Form("dict", names), names)
    kind = "list" if isinstance(value, list) else "tuple"
    if specs is not None and len(value) != len(specs):
        raise InputError(
            f"{where}: the model takes {len(specs)} inputs ({describe_names(specs)}), as a "
            f"list in that order or a dict keyed by name; got a {kind} of {len(value)}"
        )
    if specs is not None:
        names = tuple(spec.name for spec in specs)
    else:
        names = tuple(f"input_{i}" for i in range(len(value)))
    return Structure(Form(kind), names)


def _split(element: Any, name: str) -> tuple[Any, Any]:
    """An element of the data as ``(x, y)``; y is None when the element is x alone.

    Keras's rule: a tuple is ``(x,)`` or ``(x, y)``; a list or dict is the ``x`` of a model of
    several inputs.
    """
    if isinstance(element, tuple):
        if len(element) == 1:
            return element[0], None
        if len(element) == 2:
            return element
        raise InputError(f"{name}: expected batches of x or (x, y), got tuples of {len(element)}")
    return element, None


def _takes_structures(specs: tuple[InputSpec, ...] | None, value: Any, name: str) -> None:
    """Refuse a list or dict of inputs for a model of one input."""
    if specs is not None and len(specs) == 1:
        raise InputError(
            f"{name}: the model takes one input, so batches of one array or (x, y); structured "
            f"(list or dict) inputs are for models of several inputs, got {_shown(value)}"
        )
