"""What the command line reads: models, arrays, targets and ``key=value`` parameters."""

from __future__ import annotations

import argparse
import inspect
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

import xaikit

__all__ = [
    "CliError",
    "one_line",
    "load_model",
    "load_array",
    "load_inputs",
    "parse_layer",
    "parse_output",
    "load_targets",
    "parse_param",
    "accepted",
    "method_params",
    "metric_params",
]


class CliError(Exception):
    """A problem with what was asked on the command line; shown as one line."""


def one_line(error: BaseException) -> str:
    """``error`` as one line: xaikit's and the CLI's own messages as they are, any other
    prefixed with its type (``ValueError: ...``)."""
    text = " ".join(str(error).split())
    if isinstance(error, (CliError, xaikit.XaikitError)):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def load_model(path: str, *, allow_custom_code: bool = False) -> Any:
    """Load a Keras model saved with ``model.save("m.keras")``, in safe mode unless allowed.

    Raises:
        CliError: missing file, wrong format, or a model Keras cannot load (with a hint when
            custom code was refused).
    """
    file = Path(path)
    if not file.is_file():
        raise CliError(f"--model: no such file: {path}")
    if file.suffix != ".keras":
        raise CliError(
            f"--model: expected a .keras file written by model.save('model.keras'), got {path}"
        )
    import keras

    try:
        return keras.saving.load_model(file, compile=False, safe_mode=not allow_custom_code)
    except Exception as error:  # noqa: BLE001 - Keras raises many types; reported in one line
        hint = ""
        if not allow_custom_code:
            hint = (
                " (if the model holds code you trust, such as Lambda layers or custom classes, "
                "rerun with --allow-custom-code, adding --import MODULE for modules that "
                "register its classes)"
            )
        raise CliError(f"--model: cannot load {path}: {one_line(error)}{hint}") from error


def load_array(path: str, option: str) -> np.ndarray:
    """A numpy array from a ``.npy`` file (or a ``.npz`` holding one array); no pickles.

    Raises:
        CliError: missing file, unsupported format, or an unreadable / pickled array.
    """
    file = Path(path)
    if not file.is_file():
        raise CliError(f"{option}: no such file: {path}")
    if file.suffix not in (".npy", ".npz"):
        raise CliError(f"{option}: expected a .npy file (numpy.save), got {path}")
    try:
        loaded = np.load(file, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise CliError(f"{option}: cannot read {path}: {one_line(error)}") from error
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        if len(loaded.files) != 1:
            raise CliError(
                f"{option}: expected a .npz file holding one array, got {len(loaded.files)} "
                f"({', '.join(loaded.files)})"
            )
        return loaded[loaded.files[0]]


def _check_inputs_file(path: str, option: str) -> Path:
    file = Path(path)
    if not file.is_file():
        raise CliError(f"{option}: no such file: {path}")
    if file.suffix not in (".npy", ".npz"):
        raise CliError(
            f"{option}: expected a .npy file (numpy.save), or a .npz (numpy.savez) with one "
            f"array per model input, got {path}"
        )
    return file


def load_inputs(path: str, model: Any, option: str = "--inputs") -> Any:
    """The inputs for ``model`` from ``path``: one (N, ...) array for a one-input model (a
    ``.npy``, or a ``.npz`` holding one array), a dict ``{input name: (N, ...) array}`` read
    from a ``.npz`` with one array per input name for a model of several inputs.

    Raises:
        CliError: a missing or unreadable file, a ``.npy`` for a model of several inputs, or a
            ``.npz`` naming an input the model lacks or lacking one it has.
    """
    from ..structure import describe_names, input_specs

    file = _check_inputs_file(path, option)
    specs = input_specs(model)
    if specs is None or len(specs) < 2:
        return load_array(path, option)
    if file.suffix == ".npy":
        raise CliError(
            f"{option}: the model takes {len(specs)} inputs ({describe_names(specs)}); pass a "
            f".npz with one array per input name (numpy.savez(path, name=array, ...)), got {path}"
        )
    try:
        with np.load(file, allow_pickle=False) as loaded:
            arrays = {name: loaded[name] for name in loaded.files}
    except (ValueError, OSError, EOFError) as error:
        raise CliError(f"{option}: cannot read {path}: {one_line(error)}") from error
    names = [spec.name for spec in specs]
    unknown = [key for key in arrays if key not in names]
    if unknown:
        raise CliError(
            f"{option}: {path} holds {unknown[0]!r}, which is not an input of the model; its "
            f"inputs are {describe_names(specs)}"
        )
    missing = [name for name in names if name not in arrays]
    if missing:
        raise CliError(
            f"{option}: {path} has no array for input {missing[0]!r}; the model's inputs are "
            f"{describe_names(specs)}"
        )
    return {name: arrays[name] for name in names}


def parse_output(text: str | None, model: Any) -> int | str | None:
    """``--output``: an output's name, or its index when no output has that name."""
    if text is None:
        return None
    from ..model import output_names

    names = output_names(model) or ()
    if text in names:
        return text
    try:
        return int(text)
    except ValueError:
        return text


def parse_layer(texts: Sequence[str] | None) -> str | dict[str, str] | None:
    """``--layer``: one layer name (or nested path ``outer/inner``), or repeated
    ``input=layer`` pairs for a mapping ``{input name: layer name}``.

    Raises:
        CliError: a mix of both forms, several bare names, an empty name or a repeated input.
    """
    if not texts:
        return None
    pairs = [text.partition("=") for text in texts]
    if not any(sep for _, sep, _ in pairs):
        if len(texts) > 1:
            raise CliError(
                f"--layer: expected one layer name, or input=layer pairs (repeatable), got "
                f"{len(texts)} names ({', '.join(map(repr, texts))})"
            )
        if not texts[0].strip():
            raise CliError("--layer: expected a layer name, got an empty one")
        return texts[0].strip()
    mapping: dict[str, str] = {}
    for text, (key, sep, value) in zip(texts, pairs, strict=True):
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise CliError(
                f"--layer: expected input=layer for every --layer of a mapping, got {text!r}"
            )
        if key in mapping:
            raise CliError(f"--layer: input {key!r} is given twice")
        mapping[key] = value
    return mapping


def load_targets(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return load_array(text, "--targets")


_WORDS = {"True": True, "False": False, "None": None}


def parse_param(text: str, option: str = "--param") -> tuple[str, Any]:
    """``key=value`` -> ``(key, value)``.

    The value is parsed as JSON when it can be (``64``, ``0.5``, ``true``, ``[1, 2]``,
    ``null``; Python's ``True``/``False``/``None`` too), a path ending in ``.npy`` is loaded
    as an array, and anything else stays a string (``rule=gauss_legendre``).

    Raises:
        CliError: no ``=``, an empty or non-identifier key, or an unreadable ``.npy`` file.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise CliError(f"{option.rstrip('. ')}: expected key=value, got {text!r}")
    if not key.isidentifier():
        raise CliError(
            f"{option.rstrip('. ')}: {key!r} is not a parameter name (expected key=value)"
        )
    if raw.endswith(".npy"):
        return key, load_array(raw, f"{option} {key}".replace(". ", "."))
    if raw in _WORDS:
        return key, _WORDS[raw]
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def accepted(factory: Any) -> set[str] | None:
    """The keyword parameters ``factory(model, **params)`` accepts; None when unknowable."""
    if attrs.has(factory):
        return {f.alias or f.name for f in attrs.fields(factory) if f.init} - {"model"}
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    kinds = {p.kind for p in signature.parameters.values()}
    if inspect.Parameter.VAR_KEYWORD in kinds:
        return None
    return set(list(signature.parameters)[1:])


def method_params(args: argparse.Namespace, factory: Any) -> dict[str, Any]:
    params = dict(parse_param(text) for text in args.param or ())
    if args.batch_size is not None:
        params["batch_size"] = args.batch_size
    names = accepted(factory)
    if names is not None:
        unknown = sorted(set(params) - names)
        if unknown:
            raise CliError(
                f"--param {unknown[0]}: method {args.method!r} has no parameter "
                f"{unknown[0]!r}; its parameters: {', '.join(sorted(names)) or '(none)'}"
            )
    return params


def metric_params(texts: Sequence[str]) -> dict[str, Any]:
    """``--metric-param`` values: ``key=value`` goes to every selected metric taking ``key``,
    ``metric.key=value`` to that metric alone (as :func:`xaikit.metrics.evaluate` takes them)."""
    params: dict[str, Any] = {}
    for text in texts:
        head, sep, raw = text.partition("=")
        metric, dot, key = head.partition(".")
        if not dot:
            name, value = parse_param(text, option="--metric-param")
            params[name] = value
            continue
        if not metric.strip().isidentifier():
            raise CliError(f"--metric-param: expected metric.key=value, got {text!r}")
        name, value = parse_param(key + sep + raw, option=f"--metric-param {metric.strip()}.")
        params.setdefault(metric.strip(), {})[name] = value
    return params
