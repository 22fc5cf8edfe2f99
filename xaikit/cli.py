"""The ``xaikit`` command: explain a saved Keras model from the shell.

::

    xaikit explain --model m.keras --inputs x.npy --method integrated_gradients \\
        --param steps=64 --out runs/ig --plot
    xaikit evaluate --model m.keras --inputs x.npy --method saliency --out runs/eval
    xaikit methods
    xaikit demo --out demo-output

Models load with Keras' safe mode on: a model holding Python code (``Lambda`` layers, custom
classes) loads only with ``--allow-custom-code`` (alias ``--unsafe``). Every error ends the
command with one line on stderr and a non-zero exit status (1; 2 for a malformed command
line); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import attrs
import numpy as np

import xaikit

__all__ = ["main", "CliError", "load_model", "load_array", "parse_param", "Progress"]


class CliError(Exception):
    """A problem with what was asked on the command line; shown as one line."""


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    if isinstance(error, (CliError, xaikit.XaikitError)):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# ---------------------------------------------------------------------- loading
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
        raise CliError(f"--model: cannot load {path}: {_one_line(error)}{hint}") from error


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
        raise CliError(f"{option}: cannot read {path}: {_one_line(error)}") from error
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        if len(loaded.files) != 1:
            raise CliError(
                f"{option}: expected a .npz file holding one array, got {len(loaded.files)} "
                f"({', '.join(loaded.files)})"
            )
        return loaded[loaded.files[0]]


def _load_targets(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return load_array(text, "--targets")


# ---------------------------------------------------------------------- parameters
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


def _accepted(factory: Any) -> set[str] | None:
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


def _params(args: argparse.Namespace, factory: Any) -> dict[str, Any]:
    params = dict(parse_param(text) for text in args.param or ())
    if args.batch_size is not None:
        params["batch_size"] = args.batch_size
    accepted = _accepted(factory)
    if accepted is not None:
        unknown = sorted(set(params) - accepted)
        if unknown:
            raise CliError(
                f"--param {unknown[0]}: method {args.method!r} has no parameter "
                f"{unknown[0]!r}; its parameters: {', '.join(sorted(accepted)) or '(none)'}"
            )
    return params


# ---------------------------------------------------------------------- progress
class Progress:
    """A one-line text progress bar on a stream (stderr), redrawn in place.

    Args:
        total: the count that means done.
        label: shown before the bar.
        stream: where to draw (default ``sys.stderr``).
        min_interval: seconds between redraws.
    """

    def __init__(
        self, total: int, label: str = "", stream: TextIO | None = None, min_interval: float = 0.1
    ) -> None:
        self.total, self.label, self.done = max(int(total), 1), label, 0
        self.stream = stream or sys.stderr
        self.min_interval = min_interval
        self.start = time.perf_counter()
        self._drawn = float("-inf")

    def update(self, count: int) -> None:
        """Advance by ``count`` and redraw (at most every ``min_interval`` seconds)."""
        self.done = min(self.total, self.done + int(count))
        now = time.perf_counter()
        if now - self._drawn >= self.min_interval or self.done == self.total:
            self._drawn = now
            filled = int(30 * self.done / self.total)
            bar = "#" * filled + "-" * (30 - filled)
            self.stream.write(
                f"\r{self.label} [{bar}] {self.done}/{self.total} samples {now - self.start:.1f}s"
            )
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        self.stream.write("\n")
        self.stream.flush()


def _watched(factory: Any, progress: Progress) -> Any:
    """A subclass of the Explainer class ``factory`` whose per-batch hook reports progress."""

    def explain_batch(self: Any, inputs: Any, targets: Any, **extras: Any) -> Any:
        result = factory.explain_batch(self, inputs, targets, **extras)
        progress.update(int(inputs.shape[0]))
        return result

    namespace = {"explain_batch": explain_batch, "__slots__": (), "__module__": factory.__module__}
    return type(factory.__name__, (factory,), namespace)


def _show_progress(args: argparse.Namespace) -> bool:
    return args.progress if args.progress is not None else sys.stderr.isatty()


# ---------------------------------------------------------------------- commands
def _explainer(
    args: argparse.Namespace, model: Any, progress: Progress | None = None
) -> tuple[Any, Any]:
    """The explainer the command line asks for, and its registry entry."""
    registry = xaikit.get_registry()
    registry.get("methods", args.method, argument="--method")  # an unknown name raises here
    entry = registry.entries("methods")[args.method]
    params = _params(args, entry.obj)
    factory = entry.obj
    if progress is not None and isinstance(factory, type) and issubclass(factory, xaikit.Explainer):
        factory = _watched(factory, progress)
    try:
        return factory(model, **params), entry
    except xaikit.XaikitError as error:
        named = str(error).partition(":")[0]
        if named in params:  # a parameter's validator refused its value
            raise CliError(f"--param {_one_line(error)}") from error
        raise


def _prepare(args: argparse.Namespace) -> tuple[Any, np.ndarray, Any]:
    for module in args.import_ or ():
        if not args.allow_custom_code:
            raise CliError("--import runs a module's code: add --allow-custom-code to allow it")
        try:
            importlib.import_module(module)
        except Exception as error:  # noqa: BLE001 - any import failure is one line
            raise CliError(f"--import: cannot import {module!r}: {_one_line(error)}") from error
    inputs = load_array(args.inputs, "--inputs")
    targets = _load_targets(args.targets)
    model = load_model(args.model, allow_custom_code=args.allow_custom_code)
    return model, inputs, targets


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 16 else f"<array of shape {list(value.shape)}>"
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


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


def _out_dir(path: str, *, create: bool = False) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out: {path} exists and is not a folder")
    if create:
        out.mkdir(parents=True, exist_ok=True)
    return out


def _target_label(target: Any) -> str:
    values = np.asarray(target)
    return str(int(values)) if values.ndim == 0 else "weights"


def cmd_explain(args: argparse.Namespace) -> int:
    """``xaikit explain``: attributions (.npy), the run's parameters (JSON), a picture."""
    if args.plot_samples < 1:
        raise CliError(f"--plot-samples: expected an integer >= 1, got {args.plot_samples}")
    model, inputs, targets = _prepare(args)
    progress = Progress(len(inputs), args.method) if _show_progress(args) else None
    explainer, entry = _explainer(args, model, progress)
    out = _out_dir(args.out)
    start = time.perf_counter()
    try:
        explanation = explainer.explain(inputs, targets)
    finally:
        if progress is not None:
            progress.close()
    seconds = time.perf_counter() - start
    _out_dir(args.out, create=True)
    np.save(out / "attributions.npy", explanation.attributions)
    np.save(out / "scores.npy", explanation.scores)
    np.save(out / "targets.npy", explanation.targets)
    delta = explanation.convergence_delta
    if delta is not None:
        np.save(out / "convergence_delta.npy", delta)
    record = _record(
        args,
        explainer,
        entry,
        inputs_shape=list(inputs.shape),
        attributions_shape=list(explanation.attributions.shape),
        seconds=round(seconds, 3),
        max_abs_convergence_delta=None if delta is None else float(np.max(np.abs(delta))),
    )
    (out / "params.json").write_text(json.dumps(record, indent=2) + "\n")
    if args.plot:
        from . import viz

        shown = min(args.plot_samples, len(inputs))
        titles = [
            f"sample {i} | target {_target_label(explanation.targets[i])} | "
            f"score {explanation.scores[i]:.3g}"
            for i in range(shown)
        ]
        figure = viz.plot(explanation, inputs, samples=shown, titles=titles, suptitle=args.method)
        viz.save(figure, out / "attributions.png")
    shape = tuple(explanation.attributions.shape)
    print(f"wrote {out / 'attributions.npy'} {shape} in {seconds:.1f} s")
    return 0


def _metric_params(texts: Sequence[str]) -> dict[str, Any]:
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


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``xaikit evaluate``: metric means and per-sample scores (JSON and CSV)."""
    try:
        from .metrics import evaluate
    except ImportError:
        raise CliError(
            "evaluate: this xaikit version has no metrics (xaikit.metrics.evaluate)"
        ) from None
    model, inputs, targets = _prepare(args)
    explainer, entry = _explainer(args, model)
    known = xaikit.list_metrics()
    for name in args.metric or ():
        if name not in known:
            xaikit.get_registry().get("metrics", name, argument="--metric")  # raises
    metric_params = _metric_params(args.metric_param or ())
    out = _out_dir(args.out)
    start = time.perf_counter()
    results = evaluate(explainer, inputs, targets, args.metric or None, **metric_params)
    seconds = time.perf_counter() - start
    _out_dir(args.out, create=True)
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
    for i in range(len(inputs)):
        rows.append(f"{i}," + ",".join(repr(table[n]["scores"][i]) for n in names))
    (out / "scores.csv").write_text("\n".join(rows) + "\n")
    width = max((len(n) for n in names), default=6)
    for name in names:
        arrow = "higher is better" if table[name]["higher_is_better"] else "lower is better"
        print(f"{name:<{width}}  {table[name]['mean']:.4f}  ({arrow})")
    print(f"wrote {out / 'metrics.json'}, metrics.csv and scores.csv")
    return 0


def _summary_line(obj: Any) -> str:
    if obj is None:
        return "no reduction: keep every channel"
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def cmd_methods(args: argparse.Namespace) -> int:
    """``xaikit methods``: every registered name, by kind, with the plugin providing it."""
    registry = xaikit.get_registry()
    kinds = ("methods", "operators", "reducers", "metrics")
    table = {kind: registry.entries(kind) for kind in kinds}
    if args.json:
        data = {
            kind: [
                {"name": e.name, "plugin": e.plugin, "summary": _summary_line(e.obj)}
                for e in entries.values()
            ]
            for kind, entries in table.items()
        }
        print(json.dumps(data, indent=2))
        return 0
    for kind, entries in table.items():
        print(f"{kind}:")
        if not entries:
            print("  (none)")
        width = max((len(name) for name in entries), default=0)
        plugin_width = max((len(e.plugin) for e in entries.values()), default=0)
        for entry in entries.values():
            summary = _summary_line(entry.obj)
            print(f"  {entry.name:<{width}}  {entry.plugin:<{plugin_width}}  {summary}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """``xaikit demo``: train small models on synthetic data and explain them all."""
    import tensorflow as tf

    from .demo import run_demo

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


# ---------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a model saved with model.save('m.keras')")
    parser.add_argument("--inputs", required=True, help="inputs (N, ...) as a .npy file")
    parser.add_argument(
        "--targets", help="class indices (N,) or weights (N, K) as .npy, or one int for all"
    )
    parser.add_argument("--method", required=True, help="a registered method (xaikit methods)")
    parser.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="a method parameter, repeatable; JSON values (64, true, [1,2]), a .npy path for "
        "arrays (baseline=b.npy), else text",
    )
    parser.add_argument("--batch-size", type=int, help="rows evaluated at once (bounds memory)")
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument(
        "--allow-custom-code",
        "--unsafe",
        dest="allow_custom_code",
        action="store_true",
        help="load models holding Python code (Lambda layers, custom classes): trust needed",
    )
    parser.add_argument(
        "--import",
        dest="import_",
        action="append",
        metavar="MODULE",
        help="import a module first (registers custom layers or plugins); needs "
        "--allow-custom-code",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``xaikit`` argument parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks instead of one-line errors",
    )
    parser = _Parser(prog="xaikit", description="Attributions for Keras models.", parents=[common])
    parser.add_argument("--version", action="version", version=f"xaikit {xaikit.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    explain = sub.add_parser(
        "explain", parents=[common], help="compute attributions of a saved model's predictions"
    )
    _model_options(explain)
    explain.add_argument("--plot", action="store_true", help="also write attributions.png")
    explain.add_argument(
        "--plot-samples", type=int, default=16, metavar="K", help="samples drawn by --plot"
    )
    explain.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )
    explain.set_defaults(run=cmd_explain)

    evaluate = sub.add_parser(
        "evaluate", parents=[common], help="score a method's attributions with metrics"
    )
    _model_options(evaluate)
    evaluate.add_argument(
        "--metric",
        action="append",
        metavar="NAME",
        help="a registered metric, repeatable (default: all)",
    )
    evaluate.add_argument(
        "--metric-param",
        action="append",
        metavar="[METRIC.]KEY=VALUE",
        help="a metric parameter, repeatable: steps=10 for every metric taking it, "
        "deletion.steps=10 for one",
    )
    evaluate.set_defaults(run=cmd_evaluate)

    methods = sub.add_parser(
        "methods", parents=[common], help="list methods, operators, reducers and metrics"
    )
    methods.add_argument("--json", action="store_true", help="print JSON")
    methods.set_defaults(run=cmd_methods)

    demo = sub.add_parser(
        "demo", parents=[common], help="train small models on synthetic data, explain them"
    )
    demo.add_argument("--out", default="demo-output", help="report folder (default demo-output)")
    demo.add_argument("--quick", action="store_true", help="a smaller, faster run")
    demo.add_argument("--seed", type=int, default=0, help="seed of everything (default 0)")
    demo.add_argument("--methods", help="comma-separated method names (default: all)")
    demo.add_argument("--no-metrics", action="store_true", help="skip the metrics table")
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``xaikit`` command with ``argv`` (default ``sys.argv[1:]``); the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a malformed command line
        return done.code if isinstance(done.code, int) else 0 if done.code is None else 2
    debug = getattr(args, "debug", False)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        print("xaikit: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - every failure is one line unless --debug
        if debug:
            raise
        print(f"xaikit: error: {_one_line(error)}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
