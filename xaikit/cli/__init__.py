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
import sys
from collections.abc import Callable, Sequence

import tensorflow as tf

from .._startup import quiet_startup
from .inputs import CliError, load_array, load_model, one_line, parse_param
from .parser import build_parser
from .progress import Progress

__all__ = [
    "main",
    "build_parser",
    "CliError",
    "load_model",
    "load_array",
    "parse_param",
    "Progress",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``xaikit`` command with ``argv`` (default ``sys.argv[1:]``); the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a malformed command line
        return done.code if isinstance(done.code, int) else 0 if done.code is None else 2
    debug = getattr(args, "debug", False)
    run: Callable[[argparse.Namespace], int] = args.run
    with quiet_startup():  # TensorFlow's first look for devices prints its own chatter
        tf.config.list_physical_devices()
    try:
        return run(args)
    except KeyboardInterrupt:
        print("xaikit: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - every failure is one line unless --debug
        if debug:
            raise
        print(f"xaikit: error: {one_line(error)}", file=sys.stderr)
        return 1
