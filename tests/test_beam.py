"""The Beam pipeline on the in-process runner with two workers writes the store that
explain_dataset writes, resumes after a lost shard, and runs from ``python -m xaikit.beam``.

The runner is pinned to ``FnApiRunner`` (in-process, multi-threaded): Beam's default
``DirectRunner`` may try the Prism runner, which downloads a binary. Without Beam installed
the tests are skipped, except in CI (``CI`` set), where ``make test`` installs the extra.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
from _runs_helpers import assert_same_store, image_data, image_model, tabular_data, tabular_model

if os.environ.get("CI"):  # CI installs the beam extra (make test): a missing Beam is a failure
    import apache_beam as beam
else:
    beam = pytest.importorskip("apache_beam")

import xaikit  # noqa: E402
from xaikit.beam import ExplainerModelHandler, main, run_pipeline  # noqa: E402
from xaikit.runs import explain_dataset, open_run  # noqa: E402
from xaikit.runs.paths import source_from_path  # noqa: E402

TWO_WORKERS = ["--runner", "FnApiRunner", "--direct_num_workers", "2",
               "--direct_running_mode", "multi_threading"]  # fmt: skip


def options():
    from apache_beam.options.pipeline_options import PipelineOptions

    return PipelineOptions(TWO_WORKERS)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("beam")
    model = tabular_model()
    model.save(root / "model.keras")
    np.save(root / "x.npy", tabular_data(1000))
    return {"root": root, "model": model}


def local_run(files, out, **params):
    explainer = xaikit.get_explainer("integrated_gradients", files["model"], **params)
    source = source_from_path(str(files["root"] / "x.npy"))
    return explain_dataset(explainer, source, out, progress=False, shard_size=128)


def test_two_workers_write_the_store_explain_dataset_writes(files, tmp_path):
    params = {"steps": 4, "batch_size": 64}
    local_run(files, tmp_path / "local", **params)
    run = run_pipeline(
        str(files["root"] / "model.keras"),
        str(files["root"] / "x.npy"),
        "integrated_gradients",
        str(tmp_path / "beam"),
        params=params,
        shard_size=128,
        options=options(),
    )
    assert run.complete and run.num_samples == 1000
    assert_same_store(tmp_path / "beam", tmp_path / "local")


def test_a_lost_shard_is_recomputed_alone_and_main_passes_beam_options(files, tmp_path, capsys):
    params = {"steps": 4, "batch_size": 64}
    local_run(files, tmp_path / "local", **params)
    shutil.copytree(tmp_path / "local", tmp_path / "beam")
    for name in ("attributions", "shard_committed"):  # shard 3 lost: its chunk, its marker
        chunk = tmp_path / "beam" / name / "c" / "3"
        shutil.rmtree(chunk) if chunk.is_dir() else chunk.unlink()
    run = open_run(tmp_path / "beam")
    assert run.num_samples == 872
    argv = ["--model", files["root"] / "model.keras", "--data", files["root"] / "x.npy",
            "--method", "integrated_gradients", "--param", "steps=4", "--batch-size", "64",
            "--out", tmp_path / "beam", *TWO_WORKERS]  # fmt: skip
    assert main([str(a) for a in argv]) == 0
    assert "samples=1000/1000, complete" in capsys.readouterr().out
    assert_same_store(tmp_path / "beam", tmp_path / "local")


def test_images_with_labels_through_beam(tmp_path):
    model = image_model(size=8, channels=3)
    model.save(tmp_path / "model.keras")
    pictures = (image_data(5, size=8, channels=3) * 255).astype("uint8")
    for i, picture in enumerate(pictures):
        folder = tmp_path / "photos" / ("a" if i < 3 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.png").write_bytes(tf.io.encode_png(picture).numpy())
    run = run_pipeline(
        str(tmp_path / "model.keras"),
        str(tmp_path / "photos"),
        "saliency",
        str(tmp_path / "run"),
        targets="folders",
        shard_size=2,
        options=options(),
    )
    assert run.complete and run.sample_ids[:].tolist() == [f"{'a' if i < 3 else 'b'}/{i}.png"
                                                           for i in range(5)]  # fmt: skip
    np.testing.assert_array_equal(run.targets[:], [0, 0, 0, 1, 1])
    source = source_from_path(tmp_path / "photos", model=model, labels_as_targets=True)
    expected = xaikit.Saliency(model).explain(source.load(slice(None)), [0, 0, 0, 1, 1])
    np.testing.assert_allclose(run.attributions[:], expected.attributions, rtol=1e-6)


def test_the_handler_explains_single_samples_too(files):
    handler = ExplainerModelHandler(str(files["root"] / "model.keras"), "saliency")
    loaded = handler.load_model()
    x = tabular_data(5)
    examples = list(x)
    results = list(handler.run_inference(examples, loaded))
    expected = xaikit.Saliency(files["model"]).explain(x)
    assert [r.example is e for r, e in zip(results, examples, strict=True)] == [True] * 5
    np.testing.assert_allclose(
        np.stack([r.inference["attributions"] for r in results]), expected.attributions
    )
