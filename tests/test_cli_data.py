"""``xaikit explain --data`` and ``xaikit show``: stores equal to the Python API's, image
folders with their names and labels, overlays, and one-line errors."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from _runs_helpers import image_data, image_model, tabular_data, tabular_model

import xaikit
from xaikit import cli
from xaikit.runs import ImageFolderSource, explain_dataset, open_run


def run(*argv) -> int:
    return cli.main([str(a) for a in argv])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-data")
    tabular, images = tabular_model(), image_model(size=8, channels=3)
    tabular.save(root / "tabular.keras")
    images.save(root / "images.keras")
    x = tabular_data(300)
    np.save(root / "x.npy", x)
    np.savez(root / "x.npz", x=x)
    pictures = (image_data(9, size=8, channels=3) * 255).round().astype("uint8")
    for i, picture in enumerate(pictures):
        folder = root / "photos" / ("cats" if i % 2 else "dogs")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.png").write_bytes(tf.io.encode_png(picture).numpy())
    return {"root": root, "x": x, "tabular": tabular, "images": images, "pictures": pictures}


def explain(files, data, out, *extra):
    model = "images.keras" if "photos" in str(data) else "tabular.keras"
    return run("explain", "--model", files["root"] / model, "--data", data, "--out", out, *extra)


# ---------------------------------------------------------------------- same as the API
@pytest.mark.parametrize("name", ["x.npy", "x.npz"])
def test_a_npy_or_npz_streams_into_the_store_the_api_writes(files, tmp_path, capsys, name):
    args = ["--method", "integrated_gradients", "--param", "steps=4", "--batch-size", "64"]
    assert explain(files, files["root"] / name, tmp_path / "run", *args, "--shard-size", "128") == 0
    assert "300 samples" in capsys.readouterr().out
    got = open_run(tmp_path / "run")
    explainer = xaikit.IntegratedGradients(files["tabular"], steps=4, batch_size=64)
    expected = explainer.explain(files["x"])
    assert got.complete and got.shard_size == 128 and got.attrs["data"]["source"].endswith(name)
    np.testing.assert_allclose(got.attributions[:], expected.attributions, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got.convergence_delta[:], expected.convergence_delta, atol=1e-6)


def test_a_folder_of_images_keeps_names_and_labels_and_writes_overlays(files, tmp_path):
    photos = files["root"] / "photos"
    args = ["--method", "saliency", "--overlays", "--targets", "folders"]
    assert explain(files, photos, tmp_path / "run", *args) == 0
    got = open_run(tmp_path / "run")
    ids = got.sample_ids[:].tolist()
    assert ids == sorted(ids) and len(ids) == 9 and ids[0] == "cats/1.png"
    assert got.array("label")[:].tolist() == [i.split("/")[0] for i in ids]
    np.testing.assert_array_equal(got.targets[:], [0 if i.startswith("cats") else 1 for i in ids])
    source = ImageFolderSource(photos, model=files["images"], labels_as_targets=True)
    expected = explain_dataset(
        xaikit.Saliency(files["images"]), source, tmp_path / "api", progress=False
    )
    np.testing.assert_array_equal(got.attributions[:], expected.attributions[:])
    number = int(ids[0].split("/")[1].split(".")[0])
    np.testing.assert_allclose(  # decoded pixels, 0..255 as Keras' image loaders give them
        source.load(slice(0, 1))[0], files["pictures"][number].astype("float32")
    )
    overlays = sorted(p.name for p in (tmp_path / "run-overlays").iterdir())
    assert overlays == sorted(i.replace("/", "__") for i in ids)
    assert (tmp_path / "run-overlays" / overlays[0]).read_bytes()[:4] == b"\x89PNG"


def test_pixel_scale_and_resizing_to_the_model(files, tmp_path):
    small = image_model(size=4, channels=1)
    small.save(tmp_path / "small.keras")
    args = ["--method", "saliency", "--pixel-scale", "1/255", "--out", tmp_path / "run"]
    data = files["root"] / "photos"
    assert run("explain", "--model", tmp_path / "small.keras", "--data", data, *args) == 0
    got = open_run(tmp_path / "run")
    assert got.attributions.shape == (9, 4, 4) and got.attrs["data"]["scale"] == 1 / 255


def test_a_module_function_dataset_needs_allow_custom_code(files, tmp_path, monkeypatch, capsys):
    module = tmp_path / "my_data.py"
    module.write_text(
        textwrap.dedent(
            f"""
            import numpy as np, tensorflow as tf
            def load():
                x = np.load({str(files["root"] / "x.npy")!r})
                return tf.data.Dataset.from_tensor_slices(x).batch(50)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    args = ["--method", "saliency"]
    assert explain(files, "my_data:load", tmp_path / "run", *args) == 1
    assert "add --allow-custom-code" in capsys.readouterr().err
    assert explain(files, "my_data:load", tmp_path / "run", *args, "--allow-custom-code") == 0
    got = open_run(tmp_path / "run")
    expected = xaikit.Saliency(files["tabular"]).explain(files["x"])
    np.testing.assert_allclose(got.attributions[:], expected.attributions, rtol=1e-6)
    assert got.attrs["data"]["source"] == "my_data:load"


# ---------------------------------------------------------------------- show
def test_show_prints_the_summary_and_json(files, tmp_path, capsys):
    assert explain(files, files["root"] / "x.npy", tmp_path / "run", "--method", "saliency") == 0
    capsys.readouterr()
    assert run("show", tmp_path / "run") == 0
    text = capsys.readouterr().out
    for part in ("method:    saliency", "300/300 (complete)", "score:     mean", "predicted:"):
        assert part in text
    assert run("show", tmp_path / "run", "--json") == 0
    record = json.loads(capsys.readouterr().out)
    assert record["complete"] is True and record["samples_done"] == 300


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["show", "nowhere"], "show: no such run: nowhere"),
        (["show", "ROOT"], "path: ROOT is a Zarr group but not"),
        (["explain", "DATA=missing.npy"], "--data: no such file or folder: "),
        (["explain", "DATA=model.txt"], "--data: expected a .npy or .npz file"),
        (["explain", "DATA=x.npy", "--plot"], "--plot draws --inputs; with --data, use"),
        (["explain", "DATA=x.npy", "--overlays"], "--overlays: draws images"),
        (["explain", "DATA=x.npy", "--targets", "folders"], "--targets folders: takes labels"),
        (["explain", "DATA=nomodule:load", "--allow-custom-code"], "--data: cannot import"),
    ],
)
def test_errors_are_one_line(files, tmp_path, capsys, argv, message):
    root = files["root"]
    (root / "model.txt").write_text("not data")
    explain_run = tmp_path / "out"
    if argv[0] == "show":
        if argv[1] == "ROOT":
            import zarr

            zarr.open_group(str(tmp_path / "plain"), mode="w")
            argv = ["show", tmp_path / "plain"]
            message = message.replace("ROOT", str(tmp_path / "plain"))
        code = run(*argv)
    else:
        data = argv[1].split("=", 1)[1]
        path = root / data if "." in data and ":" not in data else data
        code = explain(files, path, explain_run, "--method", "saliency", *argv[2:])
    assert code == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_inputs_and_data_exclude_each_other(files, tmp_path, capsys):
    root = files["root"]
    code = run("explain", "--model", root / "tabular.keras", "--data", root / "x.npy",
               "--inputs", root / "x.npy", "--method", "saliency", "--out", tmp_path)  # fmt: skip
    assert code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_another_method_on_the_same_run_is_refused_unless_overwrite(files, tmp_path, capsys):
    data = files["root"] / "x.npy"
    assert explain(files, data, tmp_path / "run", "--method", "saliency") == 0
    capsys.readouterr()
    assert explain(files, data, tmp_path / "run", "--method", "guided_backprop") == 1
    err = capsys.readouterr().err
    assert 'method: "saliency" there, "guided_backprop" now' in err and "--overwrite" in err
    assert err.count("\n") == 1
    args = ["--method", "guided_backprop", "--overwrite"]
    assert explain(files, data, tmp_path / "run", *args) == 0
    assert open_run(tmp_path / "run").method == "guided_backprop"
