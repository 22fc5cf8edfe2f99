"""The example pipeline and its command line, ``python -m xaikit.beam``."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from ..runs.paths import source_from_path
from ..runs.run import Run, open_run
from ..runs.runner import prepare_store
from .transforms import DataSpec, ExplainerModelHandler, ExplainToZarr, beam

__all__ = ["run_pipeline", "main"]


# ---------------------------------------------------------------------------- the driver
def run_pipeline(
    model_path: str,
    data: str,
    method: str,
    out: str,
    *,
    params: Mapping[str, Any] | None = None,
    targets: int | str | None = None,
    shard_size: int | None = None,
    overwrite: bool = False,
    allow_custom_code: bool = False,
    pixel_scale: float = 1.0,
    options: PipelineOptions | None = None,
) -> Run:
    """Explain the data at ``data`` with Beam into the store at ``out``; the finished run.

    The driver loads the model once to fingerprint it and to check the parameters, creates
    (or reopens, to resume) the store, and runs the pipeline over the shards not yet
    committed.

    Args:
        model_path: a ``.keras`` file.
        data: a ``.npy`` / ``.npz`` file or a folder of images, readable by every worker.
        method: a registered method name.
        out: the store (a folder, or an fsspec URL).
        params: the method's parameters.
        targets: None (top class), one int, or ``"folders"`` (images' class sub-folders).
        shard_size: rows per shard (default as :func:`xaikit.explain_dataset`).
        overwrite: replace a run found at ``out``.
        allow_custom_code: load models holding Python code.
        pixel_scale: multiplies images' pixel values 0..255.
        options: Beam pipeline options (default: the in-process ``FnApiRunner``).
    """
    import keras

    import xaikit

    model = keras.saving.load_model(model_path, compile=False, safe_mode=not allow_custom_code)
    explainer = xaikit.get_explainer(method, model, **dict(params or {}))
    folders = targets == "folders"
    source = source_from_path(data, model=model, scale=pixel_scale, labels_as_targets=folders)
    spec = DataSpec(
        str(data), getattr(source, "size", None), float(pixel_scale), labels_as_targets=folders
    )
    fixed = None if folders else targets
    store, fixed = prepare_store(
        explainer,
        source,
        str(out),
        targets=fixed,
        resume=True,
        overwrite=overwrite,
        shard_size=shard_size,
    )
    assert source.num_samples is not None  # a file's rows and a folder's images are counted
    num_samples = int(source.num_samples)
    committed = store.committed()
    todo = [
        k
        for k in range(math.ceil(num_samples / store.shard_size))
        if k >= len(committed) or not committed[k]
    ]
    if todo or not open_run(str(out)).complete:
        handler = ExplainerModelHandler(
            model_path,
            method,
            explainer.params if params is None else params,
            targets=fixed,
            allow_custom_code=allow_custom_code,
        )
        if options is None:
            options = PipelineOptions(runner="FnApiRunner")
        with beam.Pipeline(options=options) as pipeline:
            _ = (
                pipeline
                | "Shards" >> beam.Create(todo)
                | "ExplainToZarr"
                >> ExplainToZarr(spec, handler, str(out), store.shard_size, num_samples)
            )
    return open_run(str(out))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m xaikit.beam",
        description="Explain a whole dataset with Apache Beam into a resumable Zarr store. "
        "Options not listed here go to Beam (--runner, --direct_num_workers, --project, ...).",
    )
    parser.add_argument("--model", required=True, help="a model saved as .keras")
    parser.add_argument("--data", required=True, help=".npy / .npz file or folder of images")
    parser.add_argument("--method", required=True, help="a registered method name")
    parser.add_argument("--out", required=True, help="the store: a folder or an fsspec URL")
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", default=[])
    parser.add_argument("--batch-size", type=int, help="rows evaluated at once")
    parser.add_argument("--targets", help="one int for all samples, or 'folders'")
    parser.add_argument("--shard-size", type=int, help="rows per shard")
    parser.add_argument("--pixel-scale", type=float, default=1.0, help="images: pixel factor")
    parser.add_argument("--overwrite", action="store_true", help="replace a run at --out")
    parser.add_argument("--allow-custom-code", action="store_true", help="Keras' safe mode off")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m xaikit.beam``: run the pipeline; Beam options pass through."""
    from ..cli.inputs import CliError, one_line, parse_param

    known, beam_args = _parser().parse_known_args(argv)
    try:
        params = dict(parse_param(text) for text in known.param)
        if known.batch_size is not None:
            params["batch_size"] = known.batch_size
        targets: int | str | None = known.targets
        if targets is not None and targets != "folders":
            targets = int(targets)
        options = PipelineOptions(beam_args)
        if not options.view_as(StandardOptions).runner:
            options.view_as(StandardOptions).runner = "FnApiRunner"
        run = run_pipeline(
            known.model,
            known.data,
            known.method,
            known.out,
            params=params,
            targets=targets,
            shard_size=known.shard_size,
            overwrite=known.overwrite,
            allow_custom_code=known.allow_custom_code,
            pixel_scale=known.pixel_scale,
            options=options,
        )
    except (CliError, ValueError, LookupError, OSError) as error:
        print(f"xaikit.beam: error: {one_line(error)}", file=sys.stderr)
        return 1
    print(repr(run))
    return 0
