"""Where a gradient method attributes: the *points* of a call.

Attributions are computed with respect to a list of slots, one per attribution array:

* ``layer=None``: one slot per flat input, each the input itself;
* ``layer="name"``: one slot, that layer's output (the inputs are fed as they are);
* ``layer={"ids": "embedding"}``: one slot per flat input; the inputs named in the mapping
  are attributed at their layer's output, the others at the input itself.

:func:`attribution_points` resolves the ``layer`` argument of an explainer against the model;
:func:`check_differentiable` refuses integer inputs that would be differentiated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from .errors import InputError
from .layers import embedding_layers, resolve_layer
from .structure import input_specs

__all__ = ["Points", "attribution_points", "check_layer_argument", "check_differentiable"]


@attrs.frozen(eq=False)
class Points:
    """The slots of a call, in the order of the attributions.

    Attributes:
        slots: per attribution array, ``("input", i)`` (flat input i) or ``("layer", j)``.
        layers: the layer objects of the layer slots, by j.
        names: the layer names (as given), by j.
        mirror: whether the attributions mirror the inputs' structure (False for one layer).
    """

    slots: tuple[tuple[str, int], ...]
    layers: tuple[Any, ...] = ()
    names: tuple[str, ...] = ()
    mirror: bool = True

    @property
    def key(self) -> tuple:
        """Hashable identity for kernel caches."""
        return (self.slots, tuple(id(layer) for layer in self.layers), self.mirror)

    @property
    def input_slots(self) -> tuple[int, ...]:
        """The flat inputs attributed at the input (fed interpolated, differentiated)."""
        return tuple(i for kind, i in self.slots if kind == "input")


def check_layer_argument(instance: Any, attribute: Any, value: Any) -> None:
    """attrs validator of ``layer=``: None, a layer name or path, or {input name: layer}."""
    if value is None or (isinstance(value, str) and value):
        return
    if (
        isinstance(value, Mapping)
        and value
        and all(isinstance(k, str) and isinstance(v, str) and v for k, v in value.items())
    ):
        return
    raise InputError(
        "layer: expected None, a layer name (or path 'outer/inner'), or a dict "
        f"{{input name: layer name}}, got {value!r}"
    )


def _input_names(model: Any, count: int) -> list[str]:
    specs = input_specs(model)
    if specs is None or len(specs) != count:
        return [f"input_{i}" for i in range(count)] if count > 1 else ["inputs"]
    return [spec.name for spec in specs]


def attribution_points(model: Any, layer: str | Mapping[str, str] | None, count: int) -> Points:
    """The slots for a call of ``count`` flat inputs with the explainer's ``layer=``.

    Raises:
        InputError: an unknown layer (close names listed) or an unknown input name.
    """
    if layer is None:
        return Points(tuple(("input", i) for i in range(count)))
    if isinstance(layer, str):
        return Points((("layer", 0),), (resolve_layer(model, layer),), (layer,), mirror=False)
    names = _input_names(model, count)
    unknown = [key for key in layer if key not in names]
    if unknown:
        raise InputError(
            f"layer: the keys of a layer mapping are input names; the model's inputs are "
            f"{', '.join(map(repr, names))}, got {', '.join(map(repr, unknown))}"
        )
    slots: list[tuple[str, int]] = []
    layers: list[Any] = []
    given: list[str] = []
    for i, name in enumerate(names):
        if name in layer:
            slots.append(("layer", len(layers)))
            layers.append(resolve_layer(model, layer[name]))
            given.append(layer[name])
        else:
            slots.append(("input", i))
    return Points(tuple(slots), tuple(layers), tuple(given))


def _suggest(model: Any, name: str, single: bool) -> str:
    found = embedding_layers(model)
    if not found:
        return "pass layer= the layer where the ids become vectors"
    shown = f"layer={found[0]!r}" if single else f"layer={{{name!r}: {found[0]!r}}}"
    others = f" (embedding layers: {', '.join(map(repr, found))})" if len(found) > 1 else ""
    return f"pass {shown} to attribute at its embedding layer{others}"


def integer_error(model: Any, method: str, index: int, count: int, dtype: Any) -> InputError:
    """The error for flat input ``index`` of integer ``dtype`` that would be differentiated."""
    name = _input_names(model, count)[index]
    where = "inputs" if count == 1 else f"inputs[{name!r}]"
    return InputError(
        f"{where}: {method} differentiates the model with respect to its inputs, but input "
        f"{name!r} holds {dtype} ids (the model looks them up; their gradient is not defined "
        f"and would silently be zero); {_suggest(model, name, count == 1)}"
    )


def check_differentiable(
    model: Any, method: str, points: Points, inputs: Sequence[np.ndarray]
) -> None:
    """Refuse to differentiate integer inputs: those attributed at the input itself.

    Raises:
        InputError: naming the input, and the embedding layer to pass as ``layer=``.
    """
    for i in points.input_slots:
        dtype = np.asarray(inputs[i]).dtype
        if np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.bool_):
            raise integer_error(model, method, i, len(inputs), dtype)


def has_lookups(model: Any) -> bool:
    """Whether the model has a lookup (Embedding) layer, where float ids lose their gradient."""
    return bool(embedding_layers(model))
