"""Finding the convolutional layer to explain, and reading its output during a forward pass.

Grad-CAM needs, for one forward pass, the activations ``A`` of a convolutional layer and the
gradient of the explained score with respect to them. Keras 3 offers two ways:

1. Build a second functional model ``keras.Model(model.inputs, [layer.output, model.output])``
   and differentiate through it. This works when ``layer`` sits in the top-level graph. When it
   sits inside a nested model (a ``Sequential`` backbone used as a layer), ``layer.output``
   belongs to the nested model's own graph, which is not connected to ``model.inputs``; one
   would have to rebuild the outer graph around a re-wired copy of the nested model, and a
   subclassed model has no graph at all.
2. *Record* the layer's output while the model runs: shadow the layer's ``call`` on the
   instance with a wrapper that stores what it returns, run the model inside a
   ``tf.GradientTape`` that watches the inputs, and ask the tape for the gradient of the score
   with respect to the stored tensor. The tape has recorded every operation downstream of
   the inputs, the stored tensor included, wherever the layer sits.

This plugin uses (2): one code path for functional, sequential, nested and subclassed models.
The shadowing only lasts while the compiled kernel is traced; it is undone in a ``finally``
block, so the model is unchanged afterwards (the compiled graph keeps the recording).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import keras

from xaikit.errors import InputError
from xaikit.layers import resolve_layer

__all__ = ["leaf_layers", "output_rank", "find_layer", "record_outputs"]


def _children(layer: Any) -> list[Any]:
    return list(getattr(layer, "layers", None) or []) if isinstance(layer, keras.Model) else []


def leaf_layers(model: Any) -> Iterator[Any]:
    """The layers of ``model`` in graph order, nested models replaced by their own layers."""
    for layer in _children(model):
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if _children(layer):
            yield from leaf_layers(layer)
        else:
            yield layer


def output_rank(layer: Any) -> int | None:
    """Rank of the layer's symbolic output (with the batch axis), None if unknown."""
    try:
        output = layer.output
    except (AttributeError, ValueError):  # subclassed models: no graph, no symbolic output
        return None
    shape = getattr(output, "shape", None)
    return None if shape is None else len(shape)


def find_layer(model: Any, name: str | None = None) -> Any:
    """The layer whose activations are explained.

    Args:
        model: a Keras model (nested models are searched too).
        name: the layer's name or its path through nested models (``"backbone/conv5"``),
            resolved by :func:`xaikit.layers.resolve_layer`; None picks the last layer (in
            graph order, inside nested models too) whose output is 4-D, (N, h, w, channels).

    Raises:
        InputError: no such layer (close names listed), several layers with that name, or
            no 4-D output found.
    """
    if name is not None:
        return resolve_layer(model, name)  # xaikit's one resolver: names and nested paths
    candidates = [layer for layer in leaf_layers(model) if output_rank(layer) == 4]
    if not candidates:
        raise InputError(
            "layer: found no layer with a 4-D output (N, h, w, channels) in the model "
            f"{getattr(model, 'name', '')!r}; Grad-CAM explains a convolutional layer of an "
            "image model (pass layer='<name>' for a subclassed model, whose layers have no "
            "symbolic output to inspect)"
        )
    return candidates[-1]


@contextlib.contextmanager
def record_outputs(layer: Any) -> Iterator[list[Any]]:
    """Inside the context, every call of ``layer`` appends its output to the yielded list."""
    recorded: list[Any] = []
    shadowed = "call" in vars(layer)
    original = layer.call

    def recording_call(*args: Any, **kwargs: Any) -> Any:
        output = original(*args, **kwargs)
        recorded.append(output)
        return output

    layer.call = recording_call
    try:
        yield recorded
    finally:
        if shadowed:
            layer.call = original
        else:
            del layer.__dict__["call"]
