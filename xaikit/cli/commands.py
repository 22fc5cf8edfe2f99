"""The ``xaikit`` sub-commands: explain, evaluate, methods, demo."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import xaikit

from .._json import jsonable
from .inputs import (
    CliError,
    load_inputs,
    load_model,
    load_targets,
    method_params,
    metric_params,
    one_line,
)
from .progress import Progress, with_progress
from .structured import (
    count_rows,
    input_names,
    option_error,
    save_attributions,
    shapes_of,
    structure_params,
)

__all__ = ["cmd_explain", "cmd_evaluate", "cmd_methods", "cmd_demo"]


def _show_progress(args: argparse.Namespace) -> bool:
    """--progress / --no-progress, else a bar only when stderr is a terminal."""
    return args.progress if args.progress is not None else sys.stderr.isatty()


def _explainer(
    args: argparse.Namespace, model: Any, progress: Progress | None = None
) -> tuple[Any, Any]:
    """The explainer the command line asks for, and its registry entry."""
    registry = xaikit.get_registry()
    registry.get("methods", args.method, argument="--method")  # an unknown name raises here
    entry = registry.entries("methods")[args.method]
    params = method_params(args, entry.obj)
    params.update(structure_params(args, model, entry.obj))
    try:
        explainer = entry.obj(model, **params)
    except xaikit.XaikitError as error:
        reworded = option_error(error)
        if reworded is not None:
            raise reworded from error
        named = str(error).partition(":")[0]
        if named == "batch_size" and args.batch_size is not None:
            raise CliError(f"--batch-size: {one_line(error).partition(': ')[2]}") from error
        if named in params:  # a parameter's validator refused its value
            raise CliError(f"--param {one_line(error)}") from error
        raise
    if progress is not None:
        explainer = with_progress(explainer, progress)
    return explainer, entry


def _import_modules(args: argparse.Namespace) -> None:
    """Import the ``--import`` modules (their plugins register), if custom code is allowed."""
    for module in args.import_ or ():
        if not args.allow_custom_code:
            raise CliError("--import runs a module's code: add --allow-custom-code to allow it")
        try:
            importlib.import_module(module)
        except Exception as error:  # noqa: BLE001 - any import failure is one line
            raise CliError(f"--import: cannot import {module!r}: {one_line(error)}") from error


def _prepare(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """The model, its inputs (one array, or a dict by input name) and the targets."""
    _import_modules(args)
    model = load_model(args.model, allow_custom_code=args.allow_custom_code)
    inputs = load_inputs(args.inputs, model, "--inputs")
    targets = load_targets(args.targets)
    return model, inputs, targets


def _jsonable(value: Any) -> Any:
    return jsonable(value, max_array=16)


def _record(args: argparse.Namespace, explainer: Any, entry: Any, **more: Any) -> dict:
    arrays = {}  # array parameters are recorded by the file they came from
    for text in args.param or ():
        key, _, raw = text.partition("=")
        if raw.endswith(".npy"):
            arrays[key.strip()] = raw
    params = {key: arrays.get(key, value) for key, value in _jsonable(explainer.params).items()}
    return {
        "command": args.command,
        "method": args.method,
        "plugin": entry.plugin,
        "params": params,
        "model": args.model,
        "inputs": args.inputs,
        "targets": args.targets,
        "xaikit_version": xaikit.__version__,
        **more,
    }


def _out_dir(path: str) -> Path:
    """The ``--out`` folder, checked early; it is created only once there is output."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out: {path} exists and is not a folder")
    return out


def _target_label(target: Any) -> str:
    values = np.asarray(target)
    return str(int(values)) if values.ndim == 0 else "weights"


def cmd_explain(args: argparse.Namespace) -> int:
    """``xaikit explain``: attributions (.npy), the run's parameters (JSON), a picture.

    With ``--data`` instead of ``--inputs``: a whole dataset streamed into a Zarr store
    (:func:`xaikit.cli.runs.cmd_explain_data`).
    """
    if getattr(args, "data", None) is not None:
        from .runs import cmd_explain_data

        return cmd_explain_data(args)
    if args.plot_samples < 1:
        raise CliError(f"--plot-samples: expected an integer >= 1, got {args.plot_samples}")
    model, inputs, targets = _prepare(args)
    rows = count_rows(inputs)
    progress = Progress(rows, args.method) if _show_progress(args) else None
    explainer, entry = _explainer(args, model, progress)
    out = _out_dir(args.out)
    start = time.perf_counter()
    try:
        explanation = explainer.explain(inputs, targets)
    except xaikit.XaikitError as error:
        reworded = option_error(error)
        if reworded is not None:
            raise reworded from error
        raise
    finally:
        if progress is not None:
            progress.close()
    seconds = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    names = input_names(model)
    written = save_attributions(out, explanation.attributions, names)
    np.save(out / "scores.npy", explanation.scores)
    np.save(out / "targets.npy", explanation.targets)
    delta = explanation.convergence_delta
    if delta is not None:
        np.save(out / "convergence_delta.npy", delta)
    shape = shapes_of(explanation.attributions, names)
    record = _record(
        args,
        explainer,
        entry,
        inputs_shape=shapes_of(inputs, names),
        attributions_shape=shape,
        seconds=round(seconds, 3),
        max_abs_convergence_delta=None if delta is None else float(np.max(np.abs(delta))),
    )
    (out / "params.json").write_text(json.dumps(record, indent=2) + "\n")
    if args.plot:
        _plot(args, explanation, inputs, rows, out)
    shown = tuple(shape) if isinstance(shape, list) else shape
    print(f"wrote {written} {shown} in {seconds:.1f} s")
    return 0


def _plot(args: argparse.Namespace, explanation: Any, inputs: Any, rows: int, out: Path) -> None:
    """``attributions.png``: the first ``--plot-samples`` samples, one panel per input."""
    from .. import viz

    shown = min(args.plot_samples, rows)
    titles = [
        f"sample {i} | target {_target_label(explanation.targets[i])} | "
        f"score {explanation.scores[i]:.3g}"
        for i in range(shown)
    ]
    try:
        figure = viz.plot(explanation, inputs, samples=shown, titles=titles, suptitle=args.method)
    except ValueError as error:
        if explanation.params.get("layer") is None:
            raise
        raise CliError(
            f"--plot: draws attributions over the inputs, but attributions at a layer have "
            f"the layer's shape ({one_line(error)}); add --param reducer=sum for one score "
            "per token, or leave out --plot"
        ) from error
    viz.save(figure, out / "attributions.png")


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``xaikit evaluate``: metric means and per-sample scores (JSON and CSV)."""
    _refuse_layer(args)
    model, inputs, targets = _prepare(args)
    explainer, entry = _explainer(args, model)
    known = xaikit.list_metrics()
    for name in args.metric or ():
        if name not in known:
            xaikit.get_registry().get("metrics", name, argument="--metric")  # raises
    extra = metric_params(args.metric_param or ())
    out = _out_dir(args.out)
    start = time.perf_counter()
    results = xaikit.metrics.evaluate(explainer, inputs, targets, args.metric or None, **extra)
    seconds = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    table = {
        name: {
            "mean": float(result.mean),
            "higher_is_better": bool(result.higher_is_better),
            "scores": np.asarray(result.scores, dtype=float).tolist(),
        }
        for name, result in results.items()
    }
    record = _record(args, explainer, entry, metrics=table, seconds=round(seconds, 3))
    (out / "metrics.json").write_text(json.dumps(record, indent=2) + "\n")
    names = list(table)
    lines = ["metric,mean,higher_is_better"]
    lines += [
        f"{n},{table[n]['mean']!r},{str(table[n]['higher_is_better']).lower()}" for n in names
    ]
    (out / "metrics.csv").write_text("\n".join(lines) + "\n")
    rows = ["sample," + ",".join(names)]
    for i in range(count_rows(inputs)):
        rows.append(f"{i}," + ",".join(repr(table[n]["scores"][i]) for n in names))
    (out / "scores.csv").write_text("\n".join(rows) + "\n")
    width = max((len(n) for n in names), default=6)
    for name in names:
        arrow = "higher is better" if table[name]["higher_is_better"] else "lower is better"
        print(f"{name:<{width}}  {table[name]['mean']:.4f}  ({arrow})")
    print(f"wrote {out / 'metrics.json'}, metrics.csv and scores.csv")
    return 0


def _refuse_layer(args: argparse.Namespace) -> None:
    """Metrics perturb the inputs by their attributions: attributions at a layer do not fit."""
    if args.layer:
        raise CliError(
            "--layer: evaluate scores attributions of the inputs (metrics perturb the inputs "
            "in the order of their attributions); attributions at a layer have the layer's "
            "shape, so leave out --layer (use it with xaikit explain)"
        )


def _summary_line(obj: Any) -> str:
    if obj is None:
        return "no reduction: keep every channel"
    doc = (inspect.getdoc(obj) or "").strip().replace("``", "")
    return doc.splitlines()[0] if doc else ""


def cmd_methods(args: argparse.Namespace) -> int:
    """``xaikit methods``: every registered name, by kind, with the plugin providing it, and
    for methods what they declare: the data kinds they explain and whether they are seeded."""
    registry = xaikit.get_registry()
    kinds = ("methods", "operators", "reducers", "metrics")
    table = {kind: registry.entries(kind) for kind in kinds}
    if args.json:
        data: dict[str, list[dict[str, Any]]] = {}
        for kind, entries in table.items():
            rows = []
            for e in entries.values():
                row: dict[str, Any] = {
                    "name": e.name,
                    "plugin": e.plugin,
                    "summary": _summary_line(e.obj),
                }
                if kind == "methods":
                    declared = xaikit.capabilities_of(e.obj)
                    row["data"] = list(declared.data)
                    row["seed"] = declared.seed
                rows.append(row)
            data[kind] = rows
        print(json.dumps(data, indent=2))
        return 0
    for kind, entries in table.items():
        print(f"{kind}:")
        if not entries:
            print("  (none)")
        width = max((len(name) for name in entries), default=0)
        plugin_width = max((len(e.plugin) for e in entries.values()), default=0)
        notes = {
            name: xaikit.capabilities_of(e.obj).summary() if kind == "methods" else ""
            for name, e in entries.items()
        }
        notes_width = max((len(text) for text in notes.values()), default=0)
        for entry in entries.values():
            summary = _summary_line(entry.obj)
            what = f"{notes[entry.name]:<{notes_width}}  " if notes_width else ""
            print(f"  {entry.name:<{width}}  {entry.plugin:<{plugin_width}}  {what}{summary}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """``xaikit demo``: train small models on synthetic data and explain them all."""
    import tensorflow as tf

    from ..demo import run_demo

    tf.config.experimental.enable_op_determinism()
    methods = args.methods.split(",") if args.methods else None
    index = run_demo(
        args.out,
        quick=args.quick,
        seed=args.seed,
        methods=methods,
        metrics=not args.no_metrics,
        log=lambda line: print(line, flush=True),
    )
    print(f"\nReport: {index}\nOpen it in a browser, e.g. file://{index.resolve()}")
    return 0
