"""Layers by name, and reading or replacing a layer's output while the model runs.

:func:`resolve_layer` finds a layer by its name or by a path through nested models
(``"backbone/conv5_out"``), on functional, Sequential, nested, subclassed and loaded ``.keras``
models alike; an unknown name lists the close ones.

:func:`patch_outputs` shadows the ``call`` of some layers on the instance, inside a context
that always restores them: each call either records the layer's output (saliency at a layer,
Grad-CAM) or returns a given tensor instead (integrated gradients along a path in the layer's
space). Patching the call, rather than cutting the model into a head sub-model, works
wherever the layer sits: in a nested backbone, behind skip connections, in a subclassed model.
The patch is meant to be held while a ``tf.function`` is traced: the traced graph keeps the
recording or the replacement, and the model itself is unchanged afterwards.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf

from .errors import InputError

__all__ = ["named_layers", "resolve_layer", "embedding_layers", "patch_outputs", "Patched"]

#: Layers that turn ids into vectors: an input feeding them is not differentiable.
_LOOKUPS = (keras.layers.Embedding,)


def _unwrap(model: Any) -> Any:
    return getattr(model, "wrapped_model", model)  # an OutputView is its model


def _children(layer: Any) -> list[Any]:
    children = getattr(layer, "layers", None) if isinstance(layer, keras.Model) else None
    if children is None:
        children = getattr(layer, "_layers", None) or []  # layers tracked by a plain Layer
    return [c for c in children if isinstance(c, keras.layers.Layer)]


def named_layers(model: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(path, layer)`` for every layer inside ``model``, depth first in graph order.

    A layer inside a nested model ``backbone`` has the path ``"backbone/<name>"``. Input
    layers are skipped.
    """
    seen: set[int] = set()

    def walk(layer: Any, prefix: str) -> Iterator[tuple[str, Any]]:
        for child in _children(layer):
            if id(child) in seen or isinstance(child, keras.layers.InputLayer):
                continue
            seen.add(id(child))
            path = f"{prefix}{child.name}"
            yield path, child
            yield from walk(child, path + "/")

    yield from walk(_unwrap(model), prefix)


def resolve_layer(model: Any, name: str, argument: str = "layer") -> Any:
    """The layer of ``model`` called ``name``: its own name, or a path ``"outer/inner"``.

    A bare name is searched at every depth; it must be unique (else use the path).

    Raises:
        InputError: no such layer (the message lists the close names), or a bare name that
            several nested layers share.
    """
    if not isinstance(name, str) or not name:
        raise InputError(f"{argument}: expected a layer name, got {name!r}")
    paths = list(named_layers(model))
    by_path = dict(paths)
    if name in by_path:
        return by_path[name]
    found = [(path, layer) for path, layer in paths if layer.name == name.rsplit("/", 1)[-1]]
    if "/" not in name and len(found) == 1:
        return found[0][1]
    if "/" in name:
        found = [(p, layer) for p, layer in found if p.endswith("/" + name) or p == name]
        if len(found) == 1:
            return found[0][1]
    if len(found) > 1:
        raise InputError(
            f"{argument}: {len(found)} layers are named {name!r} "
            f"({', '.join(p for p, _ in found)}); pass the path of the one you mean"
        )
    candidates = [p for p, _ in paths] + [layer.name for _, layer in paths]
    close = list(dict.fromkeys(difflib.get_close_matches(name, candidates, n=5, cutoff=0.5)))
    shown = (
        ", ".join(map(repr, close))
        if close
        else "(none close; e.g. " + ", ".join(repr(p) for p, _ in paths[-5:]) + ")"
    )
    raise InputError(
        f"{argument}: the model {getattr(_unwrap(model), 'name', '')!r} has no layer named "
        f"{name!r}; close names: {shown}"
    )


def embedding_layers(model: Any) -> list[str]:
    """The paths of the lookup layers (Embedding) in ``model``: where token ids become vectors."""
    return [path for path, layer in named_layers(model) if isinstance(layer, _LOOKUPS)]


class Patched:
    """What :func:`patch_outputs` yields: each patched layer's recorded outputs, by position."""

    def __init__(self, count: int) -> None:
        self.outputs: list[list[tf.Tensor]] = [[] for _ in range(count)]

    def single(self, index: int, name: str) -> tf.Tensor:
        """The one output layer ``index`` produced; an InputError if it ran 0 or 2+ times."""
        got = self.outputs[index]
        if len(got) != 1:
            raise InputError(
                f"layer: {name!r} ran {len(got)} times in one forward pass; attributing to a "
                "layer needs one that runs exactly once (not a shared or unused layer)"
            )
        return got[0]


@contextlib.contextmanager
def patch_outputs(
    layers: Sequence[Any],
    replacements: Mapping[int, tf.Tensor] | None = None,
    observe: Callable[[tf.Tensor], Any] | None = None,
) -> Iterator[Patched]:
    """Inside the context, calls of ``layers[i]`` record their output, or return
    ``replacements[i]`` instead (cast to the layer's compute dtype) when one is given.
    ``observe(output)`` is called on each recorded output (``tape.watch``).

    Yields:
        A :class:`Patched` whose ``outputs[i]`` lists what layer i returned, in order.
    """
    replacements = replacements or {}
    patched = Patched(len(layers))
    undo: list[tuple[Any, Any, bool]] = []
    try:
        for index, layer in enumerate(layers):
            original = layer.call
            undo.append((layer, vars(layer).get("call"), "call" in vars(layer)))

            def call(*args: Any, _i: int = index, _orig: Any = original, **kwargs: Any) -> Any:
                if _i in replacements:
                    output = replacements[_i]
                    dtype = getattr(layers[_i], "compute_dtype", None)
                    if dtype is not None and output.dtype != dtype:
                        output = tf.cast(output, dtype)
                else:
                    output = _orig(*args, **kwargs)
                    if observe is not None:
                        observe(output)
                patched.outputs[_i].append(output)
                return output

            layer.call = call
        yield patched
    finally:
        for layer, old, shadowed in reversed(undo):
            if shadowed:
                layer.call = old
            else:
                layer.__dict__.pop("call", None)
