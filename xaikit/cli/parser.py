"""The ``xaikit`` argument parser."""

from __future__ import annotations

import argparse
from typing import NoReturn

import xaikit

from .commands import cmd_demo, cmd_evaluate, cmd_explain, cmd_methods
from .runs import cmd_show, parse_scale

__all__ = ["build_parser"]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _model_options(parser: argparse.ArgumentParser, data: bool = False) -> None:
    parser.add_argument("--model", required=True, help="a model saved with model.save('m.keras')")
    where = parser.add_mutually_exclusive_group(required=True) if data else parser
    where.add_argument(
        "--inputs",
        required=not data,
        help="inputs (N, ...) as a .npy file, held in memory; for a model of several inputs a "
        ".npz with one array per input name (numpy.savez(path, name=array, ...))",
    )
    if data:
        where.add_argument(
            "--data",
            help="a whole dataset, streamed into a resumable Zarr store at --out: a .npy "
            "(memory-mapped) or .npz file, a folder of images, or module:function returning "
            "a tf.data.Dataset (needs --allow-custom-code)",
        )
    parser.add_argument(
        "--targets",
        help="class indices (N,) or weights (N, K) as .npy, or one int for all"
        + (
            "; 'folders' with --data images/ explains each image's class sub-folder" if data else ""
        ),
    )
    parser.add_argument("--method", required=True, help="a registered method (xaikit methods)")
    parser.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="a method parameter, repeatable; JSON values (64, true, [1,2]), a .npy path for "
        "arrays (baseline=b.npy), else text",
    )
    parser.add_argument(
        "--output",
        metavar="NAME",
        help="the output to explain of a model with several outputs: its name or index",
    )
    parser.add_argument(
        "--layer",
        action="append",
        metavar="NAME",
        help="attribute at a layer's output (a name or nested path outer/inner) instead of the "
        "inputs, e.g. at the embedding of token ids; repeat as INPUT=LAYER to attribute some "
        "inputs at their layer",
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
    common = _Parser(add_help=False)
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
    _model_options(explain, data=True)
    explain.add_argument("--plot", action="store_true", help="also write attributions.png")
    explain.add_argument(
        "--overlays",
        nargs="?",
        const="",
        default=False,
        metavar="DIR",
        help="with --data images: one PNG per image, its heatmap over it, in DIR (default: "
        "the --out folder's name + '-overlays')",
    )
    explain.add_argument(
        "--shard-size",
        type=int,
        metavar="ROWS",
        help="with --data: rows per shard (the store's chunk); default: the resumed run's, "
        "else a multiple of --batch-size of at least 256",
    )
    explain.add_argument(
        "--overwrite", action="store_true", help="with --data: replace the run found at --out"
    )
    explain.add_argument(
        "--pixel-scale",
        type=parse_scale,
        default=1.0,
        metavar="S",
        help="with --data images/: multiply pixel values 0..255 by S (1/255 for [0, 1])",
    )
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

    show = sub.add_parser(
        "show", parents=[common], help="summarise a run written by explain --data"
    )
    show.add_argument("path", metavar="RUN", help="the run's folder (--out of explain --data)")
    show.add_argument("--json", action="store_true", help="print the attributes as JSON")
    show.set_defaults(run=cmd_show)

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
