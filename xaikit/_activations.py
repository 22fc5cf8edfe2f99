"""Temporarily replace activations inside a Keras model, and always put them back.

Keras 3 has no gradient override map, so methods that change how an activation behaves
(guided backpropagation, explaining pre-softmax logits) swap the callable a layer applies.
Two kinds of layer are handled:

* layers with an ``activation`` attribute (``Dense``, ``Conv*``, ``Activation``, ...): the
  attribute is replaced;
* activation layers with their own ``call`` (``ReLU``, ``LeakyReLU``, ``Softmax``): ``call``
  is shadowed on the instance.

Nested models and layers are walked recursively. The swap is undone in a ``finally`` block,
so the model is unchanged afterwards even when the code inside the context raises.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import keras

__all__ = ["iter_layers", "swap_activations"]

Activation = Callable[..., object]
# Given a layer, return the replacement for what it applies, or None to leave it alone.
Selector = Callable[[keras.layers.Layer, Activation], "Activation | None"]


def iter_layers(model: keras.layers.Layer) -> Iterator[keras.layers.Layer]:
    """All layers inside ``model`` (itself included), nested models and sublayers too."""
    flatten = getattr(model, "_flatten_layers", None)
    if flatten is not None:
        yield from flatten(include_self=True, recursive=True)
        return
    seen: set[int] = set()
    stack = [model]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield layer
        stack.extend(getattr(layer, "layers", []))


def _applied(layer: keras.layers.Layer) -> tuple[str, Activation] | None:
    """What ``layer`` applies that can be swapped: ('activation', fn) or ('call', bound)."""
    if isinstance(layer, (keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.Softmax)):
        return "call", layer.call
    activation = getattr(layer, "activation", None)
    if callable(activation) and not isinstance(layer, keras.Model):
        return "activation", activation
    return None


@contextlib.contextmanager
def swap_activations(
    model: keras.layers.Layer,
    select: Selector,
    layers: list[keras.layers.Layer] | None = None,
) -> Iterator[int]:
    """Inside the context, each layer's activation ``f`` is replaced by ``select(layer, f)``.

    Args:
        model: the model (or layer) to walk.
        select: returns the replacement activation, or None to keep the layer as it is.
        layers: restrict the swap to these layers (default: every layer in ``model``).

    Yields:
        The number of layers swapped.
    """
    undo: list[tuple[keras.layers.Layer, str, object, bool]] = []
    try:
        for layer in layers if layers is not None else iter_layers(model):
            applied = _applied(layer)
            if applied is None:
                continue
            attr, fn = applied
            replacement = select(layer, fn)
            if replacement is None:
                continue
            shadowed = attr in vars(layer)
            undo.append((layer, attr, vars(layer).get(attr), shadowed))
            setattr(layer, attr, replacement)
        yield len(undo)
    finally:
        for layer, attr, old, shadowed in reversed(undo):
            if attr == "call" and not shadowed:
                del layer.__dict__["call"]
            else:
                setattr(layer, attr, old)
