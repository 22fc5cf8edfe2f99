"""Whole datasets from the shell: ``xaikit explain --data`` and ``xaikit show``.

::

    xaikit explain --model m.keras --data images/ --method saliency --out runs/sal --overlays
    xaikit show runs/sal

``--data`` is streamed into a resumable Zarr store (see :func:`xaikit.explain_dataset`): a
``.npy`` (memory-mapped), a ``.npz`` holding one array, a folder of images (resized to the
model's input; class sub-folders give labels), or ``module:function`` returning a
``tf.data.Dataset`` (runs code: only with ``--allow-custom-code``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..runs import DatasetSource, Run, explain_dataset, open_run
from ..runs.paths import source_from_path
from ..runs.sources import Source
from .inputs import CliError, load_model, load_targets, one_line

__all__ = ["cmd_explain_data", "cmd_show", "load_source", "write_overlays", "parse_scale"]

_FUNCTION = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def parse_scale(text: str) -> float:
    """``--pixel-scale``: a number or a fraction (``1/255``)."""
    try:
        if "/" in text:
            top, bottom = text.split("/", 1)
            return float(top) / float(bottom)
        return float(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"expected a number or a fraction such as 1/255, got {text!r}"
        ) from None


def _dataset_from_function(spec: str, allow_custom_code: bool) -> Any:
    import tensorflow as tf

    if not allow_custom_code:
        raise CliError(f"--data {spec} runs a module's code: add --allow-custom-code to allow it")
    module_name, _, function_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - any import failure is one line
        raise CliError(f"--data: cannot import {module_name!r}: {one_line(error)}") from error
    function = getattr(module, function_name, None)
    if not callable(function):
        raise CliError(f"--data: {module_name!r} has no function {function_name!r}")
    dataset = function()
    if not isinstance(dataset, tf.data.Dataset):
        raise CliError(
            f"--data: {spec}() must return a tf.data.Dataset, got {type(dataset).__name__}"
        )
    return dataset


def load_source(args: argparse.Namespace, model: Any) -> Source:
    """The ``--data`` source, for ``model``.

    Raises:
        CliError: a missing path, an unsupported file, or code not allowed.
    """
    text = args.data
    path = Path(text)
    if args.targets == "folders" and not path.is_dir():
        raise CliError("--targets folders: takes labels from class sub-folders of --data images/")
    if not path.exists() and _FUNCTION.match(text):
        dataset = _dataset_from_function(text, args.allow_custom_code)
        return DatasetSource(dataset, model, label=text)
    return source_from_path(
        path,
        model=model,
        scale=args.pixel_scale,
        labels_as_targets=args.targets == "folders",
        argument="--data",
    )


def _overlay_name(run: Run, ids: np.ndarray | None, row: int) -> str:
    if ids is None:
        return f"{row:07d}.png"
    stem = Path(str(ids[row])).with_suffix("").as_posix()
    return re.sub(r"[^\w.-]+", "__", stem) + ".png"


def write_overlays(run: Run, source: Source, folder: Path) -> int:
    """One PNG per image sample: its heatmap over the image. Existing files are kept.

    Returns:
        The number of PNGs written.
    """
    from .. import viz
    from ..viz._mpl import pyplot

    stored = run.attributions
    if isinstance(stored, (list, tuple, dict)):
        raise CliError("--overlays: draws images, but the run has attributions per model input")
    shape = stored.shape
    if len(shape) not in (3, 4):
        raise CliError(
            f"--overlays: draws images, but the attributions have shape {tuple(shape)} "
            "(images give (N, H, W) or (N, H, W, C))"
        )
    plt = pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    ids = None if run.sample_ids is None else np.asarray(run.sample_ids[:])
    targets, scores = np.asarray(run.targets[:]), np.asarray(run.scores[:])
    figure, ax = plt.subplots(figsize=(3, 3))
    written = 0
    try:
        for shard in source.shards(run.shard_size):
            rows = range(shard.start, shard.stop)
            names = [folder / _overlay_name(run, ids, row) for row in rows]
            if all(name.exists() for name in names):
                continue
            images = shard.x
            if isinstance(images, tuple):
                raise CliError("--overlays: draws images (H, W, C); --data holds several inputs")
            if images is None or images.ndim != 4:
                shown = "no arrays" if images is None else f"samples of shape {images.shape[1:]}"
                raise CliError(f"--overlays: draws images (H, W, C), but --data holds {shown}")
            attributions = np.asarray(stored[shard.start : shard.stop])
            for i, (row, name) in enumerate(zip(rows, names, strict=True)):
                if name.exists():
                    continue
                ax.clear()
                target = targets[row]
                label = str(int(target)) if np.ndim(target) == 0 else "weights"
                title = f"{'' if ids is None else ids[row] + ' | '}target {label} | "
                viz.image_overlay(
                    images[i], attributions[i], ax=ax, title=title + f"score {scores[row]:.3g}"
                )
                figure.savefig(name, dpi=100, bbox_inches="tight")
                written += 1
    finally:
        plt.close(figure)
    return written


def cmd_explain_data(args: argparse.Namespace) -> int:
    """``xaikit explain --data``: stream the data into a resumable Zarr store at ``--out``."""
    from .commands import _explainer, _import_modules, _show_progress

    if args.plot:
        raise CliError("--plot draws --inputs; with --data, use --overlays (one PNG per image)")
    _import_modules(args)
    model = load_model(args.model, allow_custom_code=args.allow_custom_code)
    explainer, _entry = _explainer(args, model)
    source = load_source(args, model)
    targets = None if args.targets in (None, "folders") else load_targets(args.targets)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out: {args.out} exists and is not a folder")
    start = time.perf_counter()
    run = explain_dataset(
        explainer,
        source,
        out,
        targets=targets,
        overwrite=args.overwrite,
        progress=_show_progress(args),
        shard_size=args.shard_size,
    )
    seconds = time.perf_counter() - start
    stored = run.attributions
    if isinstance(stored, dict):
        shape: Any = {name: tuple(array.shape) for name, array in stored.items()}
    elif isinstance(stored, (list, tuple)):
        shape = [tuple(array.shape) for array in stored]
    else:
        shape = tuple(stored.shape)
    print(f"wrote {out} attributions {shape}, {run.num_samples} samples in {seconds:.1f} s")
    if args.overlays is not False:
        folder = Path(args.overlays) if args.overlays else out.with_name(out.name + "-overlays")
        count = write_overlays(run, source, folder)
        print(f"wrote {count} overlays to {folder}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """``xaikit show RUN``: the run's summary (or its attributes as JSON)."""
    if not Path(args.path).exists() and "://" not in args.path:
        raise CliError(f"show: no such run: {args.path}")
    run = open_run(args.path)
    if args.json:
        record = {
            **run.attrs,
            "samples_done": run.num_samples,
            "shards_committed": int(run.committed_shards.sum()),
        }
        print(json.dumps(record, indent=2))
    else:
        print(run.summary())
    sys.stdout.flush()
    return 0
