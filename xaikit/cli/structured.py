"""Structured models on the command line: several inputs (``--inputs x.npz``), one output of
several (``--output``), attributions at a layer (``--layer``).

``--inputs`` of a model with several inputs is a ``.npz`` holding one array per input name;
the attributions are written the same way (``attributions.npz``, one array per input name),
while a one-input model keeps ``attributions.npy``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import xaikit

from .inputs import CliError, accepted, one_line, parse_layer, parse_output

__all__ = [
    "count_rows",
    "shapes_of",
    "input_names",
    "structure_params",
    "option_error",
    "save_attributions",
]

#: Core argument names and the command-line options that set them.
_OPTIONS = {"output": "--output", "layer": "--layer"}


def count_rows(inputs: Any) -> int:
    """The number of samples N of one array, or of the first array of a dict / list."""
    if isinstance(inputs, Mapping):
        inputs = next(iter(inputs.values()))
    elif isinstance(inputs, (list, tuple)):
        inputs = inputs[0]
    return int(np.shape(inputs)[0])


def input_names(model: Any) -> tuple[str, ...]:
    """The model's input names in its input order (``("inputs",)`` when it declares none)."""
    from ..structure import input_specs

    specs = input_specs(model)
    return tuple(spec.name for spec in specs) if specs else ("inputs",)


def _named(value: Any, names: Sequence[str]) -> dict[str, Any] | None:
    """A dict / list / tuple of arrays as ``{name: array}``; None for one array."""
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        keys = (
            list(names) if len(names) == len(value) else [f"input_{i}" for i in range(len(value))]
        )
        return dict(zip(keys, value, strict=True))
    return None


def shapes_of(value: Any, names: Sequence[str]) -> list[int] | dict[str, list[int]]:
    """The shape of one array, or ``{name: shape}`` of a structure, for ``params.json``."""
    named = _named(value, names)
    if named is None:
        return [int(d) for d in np.shape(value)]
    return {key: [int(d) for d in np.shape(item)] for key, item in named.items()}


def save_attributions(out: Path, attributions: Any, names: Sequence[str]) -> Path:
    """Write ``attributions.npy`` (one array) or ``attributions.npz`` (one array per input
    name, for the attributions of a model of several inputs); the path written."""
    named = _named(attributions, names)
    if named is None:
        path = out / "attributions.npy"
        np.save(path, attributions)
    else:
        path = out / "attributions.npz"
        arrays = {key: np.asarray(item) for key, item in named.items()}
        np.savez(path, **arrays)  # type: ignore[arg-type]  # numpy's stubs miss **arrays
    return path


def structure_params(args: argparse.Namespace, model: Any, factory: Any) -> dict[str, Any]:
    """``output=`` and ``layer=`` for the method from ``--output`` and ``--layer``.

    Raises:
        CliError: the option given twice (also as ``--param``), or a method that does not
            take it (``--layer`` needs a method declaring ``Capabilities(layers=True)``).
    """
    params: dict[str, Any] = {}
    given = {text.partition("=")[0].strip() for text in args.param or ()}
    names = accepted(factory)
    output = parse_output(getattr(args, "output", None), model)
    layer = parse_layer(getattr(args, "layer", None))
    for key, value in (("output", output), ("layer", layer)):
        if value is None:
            continue
        option = _OPTIONS[key]
        if key in given:
            raise CliError(f"{option}: given twice, as {option} and as --param {key}=...")
        if key == "layer" and not xaikit.capabilities_of(factory).layers:
            able = [
                name
                for name, entry in xaikit.get_registry().entries("methods").items()
                if xaikit.capabilities_of(entry.obj).layers
            ]
            raise CliError(
                f"--layer: method {args.method!r} does not attribute at layers (it does not "
                f"declare Capabilities(layers=True)); methods that do: {', '.join(able)}"
            )
        if names is not None and key not in names:
            raise CliError(f"{option}: method {args.method!r} takes no {key}= parameter")
        params[key] = value
    return params


def option_error(error: BaseException) -> CliError | None:
    """A core error about ``output`` or ``layer`` reworded to name the option that sets it
    (``--output: ...``), or None for any other error.

    Messages that advise ``output=`` or ``layer='embedding'`` are reworded to advise the
    options (``--output``, ``--layer embedding``).
    """
    if not isinstance(error, xaikit.XaikitError):
        return None
    text = one_line(error)
    text = re.sub(r"pass layer='([^']*)'", r"pass --layer \1", text)
    text = text.replace("pass output=", "pass --output")
    named, _, rest = text.partition(":")
    if named in _OPTIONS:
        return CliError(f"{_OPTIONS[named]}:{rest}")
    if "--layer" in text or "--output" in text:
        return CliError(text)
    return None
