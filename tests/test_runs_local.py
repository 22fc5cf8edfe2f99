"""explain_dataset: the same results as explain(), from every kind of data, into a store
that plain zarr (and xarray) read, resumable and guarded against mixing runs."""

from __future__ import annotations

import sys
import threading
import warnings

import attrs
import numpy as np
import pytest
import tensorflow as tf
import zarr
from _runs_helpers import (
    assert_same_store,
    image_data,
    image_model,
    tabular_data,
    tabular_model,
)

import xaikit
from xaikit.runs import (
    OutOfMemoryWarning,
    RunMismatchError,
    default_shard_size,
    explain_dataset,
    open_run,
)
from xaikit.runs.sources import prefetched


@pytest.fixture(scope="module")
def tabular():
    return tabular_model()


@pytest.fixture(scope="module")
def images():
    return image_model()


# ---------------------------------------------------------------------- same as explain()
def test_20000_tabular_samples_from_a_memory_map_equal_in_memory_explain(tabular, tmp_path):
    x = tabular_data(20_000)
    np.save(tmp_path / "x.npy", x)
    data = np.load(tmp_path / "x.npy", mmap_mode="r")
    explainer = xaikit.Saliency(tabular, batch_size=1024)
    run = explain_dataset(explainer, data, tmp_path / "run", progress=False)
    expected = explainer.explain(x)
    assert run.complete and run.num_samples == run.expected_samples == 20_000
    assert run.attributions.chunks == (1024, 12)  # one chunk per shard
    np.testing.assert_array_equal(run.attributions[:], expected.attributions)
    np.testing.assert_array_equal(run.targets[:], expected.targets)
    np.testing.assert_array_equal(run.scores[:], expected.scores)
    np.testing.assert_array_equal(run.predictions[:], expected.targets)  # top class
    np.testing.assert_array_equal(run.sample_index[:], np.arange(20_000))
    assert run.committed_shards.all() and len(run.committed_shards) == 20
    assert run.convergence_delta is None


def test_2000_images_from_a_batched_dataset_equal_in_memory_explain(images, tmp_path):
    x = image_data(2_000)
    explainer = xaikit.Saliency(images, batch_size=100)
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(37)  # batches cut across shards
    run = explain_dataset(explainer, dataset, tmp_path / "run", progress=False)
    expected = explainer.explain(x)
    assert run.attributions.shape == (2_000, 8, 8)  # saliency's default 'max' reducer
    assert run.shard_size == 300
    np.testing.assert_allclose(run.attributions[:], expected.attributions, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(run.targets[:], expected.targets)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda x: x, id="array"),
        pytest.param(lambda x: tf.data.Dataset.from_tensor_slices(x), id="unbatched-dataset"),
        pytest.param(lambda x: [x[i : i + 23] for i in range(0, len(x), 23)], id="list"),
        pytest.param(lambda x: (x[i : i + 50] for i in range(0, len(x), 50)), id="generator"),
        pytest.param(tf.constant, id="tensor"),
    ],
)
def test_every_kind_of_data_gives_the_same_store(tabular, tmp_path, make):
    x = tabular_data(230)
    explainer = xaikit.IntegratedGradients(tabular, steps=8, batch_size=32)
    run = explain_dataset(explainer, make(x), tmp_path / "run", progress=False, shard_size=64)
    expected = explainer.explain(x)
    assert run.complete and run.num_samples == 230 and run.expected_samples == 230
    np.testing.assert_allclose(run.attributions[:], expected.attributions, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        run.convergence_delta[:], expected.convergence_delta, rtol=1e-5, atol=1e-6
    )
    assert run.attrs["method"] == "integrated_gradients"
    assert run.attrs["params"]["steps"] == 8


def test_targets_as_an_int_an_array_weights_or_the_datasets_y(tabular, tmp_path):
    x = tabular_data(100)
    labels = np.arange(100) % 4
    explainer = xaikit.Saliency(tabular, batch_size=16, reducer=None)
    for name, targets, data in [
        ("int", 2, x),
        ("ints", labels, x),
        ("weights", np.eye(4, dtype="float32")[labels], x),
        ("y", None, tf.data.Dataset.from_tensor_slices((x, labels)).batch(10)),
    ]:
        run = explain_dataset(
            explainer, data, tmp_path / name, targets=targets, progress=False, shard_size=32
        )
        given = labels if name == "y" else targets
        expected = explainer.explain(x, given)
        np.testing.assert_allclose(run.attributions[:], expected.attributions, rtol=1e-6)
        np.testing.assert_array_equal(run.targets[:], expected.targets)
        # prediction is the model's top class, whatever was explained
        np.testing.assert_array_equal(run.predictions[:], tabular.predict(x, verbose=0).argmax(1))


def test_a_regression_model_stores_its_output_as_prediction(tmp_path):
    import keras

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    x = tabular_data(40, features=3)
    run = explain_dataset(xaikit.Saliency(model), x, tmp_path / "run", progress=False)
    np.testing.assert_allclose(run.predictions[:], model.predict(x, verbose=0)[:, 0], rtol=1e-6)


# ---------------------------------------------------------------------- the store
def test_the_store_opens_with_plain_zarr(tabular, tmp_path):
    x = tabular_data(50)
    explain_dataset(xaikit.Saliency(tabular), x, tmp_path / "run", progress=False)
    group = zarr.open_group(str(tmp_path / "run"), mode="r")
    assert group.metadata.zarr_format == 3
    assert set(group.array_keys()) == {
        "attributions", "target", "score", "prediction", "sample_index", "shard_committed",
    }  # fmt: skip
    attrs = dict(group.attrs)
    assert attrs["xaikit_format"] == "xaikit.run" and attrs["complete"] is True
    assert attrs["xaikit_version"] == xaikit.__version__
    assert attrs["method"] == "saliency" and attrs["num_samples"] == 50
    assert len(attrs["model"]["sha256"]) == 64
    assert attrs["data"]["kind"] == "array" and attrs["data"]["sample_shape"] == [12]
    assert group["attributions"].metadata.dimension_names[0] == "sample"


def test_the_store_opens_with_xarray(tabular, tmp_path):
    xr = pytest.importorskip("xarray")
    x = tabular_data(50)
    explain_dataset(xaikit.Saliency(tabular), x, tmp_path / "run", progress=False)
    data = xr.open_zarr(tmp_path / "run", consolidated=False)
    np.testing.assert_array_equal(data["score"].values, open_run(tmp_path / "run").scores[:])


def test_run_summary_repr_and_pandas_records(tabular, tmp_path):
    x = tabular_data(70)
    run = explain_dataset(
        xaikit.IntegratedGradients(tabular, steps=4), x, tmp_path / "run", progress=False
    )
    assert repr(run).endswith("samples=70/70, complete)")
    text = run.summary()
    for part in ("integrated_gradients", "steps=4", "70/70", "complete", "score:", "delta:"):
        assert part in text
    pandas = pytest.importorskip("pandas")
    table = run.to_pandas()
    assert isinstance(table, pandas.DataFrame) and len(table) == 70
    assert list(table.columns) == [
        "sample_index", "target", "prediction", "score", "convergence_delta",
    ]  # fmt: skip
    np.testing.assert_array_equal(table["score"].to_numpy(), run.scores[:])
    explanation = run.explanation(slice(0, 5))
    assert explanation.attributions.shape == (5, 12) and explanation.method == run.method


def test_to_pandas_names_what_to_install(tabular, tmp_path, monkeypatch):
    run = explain_dataset(xaikit.Saliency(tabular), tabular_data(5), tmp_path, progress=False)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        run.to_pandas()


# ---------------------------------------------------------------------- resuming
class Crash(Exception):
    pass


@attrs.frozen(kw_only=True)
class Recording(xaikit.Saliency):
    """Saliency (recorded under its name) that calls ``HOOK`` with each explained shard."""

    name = "saliency"
    HOOK = [lambda inputs: None]

    def explain(self, inputs, targets=None):
        Recording.HOOK[0](inputs)
        return super().explain(inputs, targets)


def test_an_interrupted_run_resumes_to_the_uninterrupted_store(tabular, tmp_path):
    x = tabular_data(300)
    explainer = xaikit.Saliency(tabular, batch_size=32)
    explain_dataset(explainer, x, tmp_path / "whole", progress=False, shard_size=64)

    calls = []

    def generator():  # an iterable re-made on every call: crashes in the third shard
        for start in range(0, 300, 40):
            if start >= 150 and not calls:
                calls.append(start)
                raise Crash
            yield x[start : start + 40]

    with pytest.raises(Crash):
        explain_dataset(explainer, generator(), tmp_path / "part", progress=False, shard_size=64)
    partial = open_run(tmp_path / "part")
    assert not partial.complete and partial.num_samples == 128
    assert "128/?" in partial.summary() and "incomplete" in repr(partial)
    seen = []
    Recording.HOOK[0] = lambda inputs: seen.append(len(inputs))
    counting = Recording(tabular, batch_size=32)
    run = explain_dataset(counting, generator(), tmp_path / "part", progress=False)
    assert seen == [64, 64, 44]  # only the shards not committed
    assert run.complete and run.num_samples == 300
    whole = open_run(tmp_path / "whole")
    np.testing.assert_array_equal(run.attributions[:], whole.attributions[:])
    # a generator's description has no head hash, so the stores differ in that only
    assert run.attrs["data"]["kind"] == "iterable"


def test_a_finished_run_is_returned_without_computing(tabular, tmp_path):
    x = tabular_data(40)
    explainer = xaikit.Saliency(tabular)
    explain_dataset(explainer, x, tmp_path / "run", progress=False)

    class Refuse(xaikit.Saliency):
        name = "saliency"

        def explain(self, *args, **kwargs):  # noqa: D102
            raise AssertionError("nothing should be computed")

    again = explain_dataset(Refuse(tabular), x, tmp_path / "run", progress=False)
    assert again.complete and again.num_samples == 40


def test_shards_are_the_same_whatever_the_batches(tabular, tmp_path):
    x = tabular_data(200)
    explainer = xaikit.Saliency(tabular, batch_size=16)
    explain_dataset(explainer, x, tmp_path / "a", progress=False, shard_size=48)
    batches = [x[:7], x[7:90], x[90:91], x[91:]]
    explain_dataset(explainer, batches, tmp_path / "b", progress=False, shard_size=48)
    a, b = open_run(tmp_path / "a"), open_run(tmp_path / "b")
    np.testing.assert_array_equal(a.attributions[:], b.attributions[:])
    assert len(a.committed_shards) == len(b.committed_shards) == 5


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("weights", "model (sha256 of its weights)"),
        ("method", "method"),
        ("params", "parameters: absolute"),
        ("data", "data"),
        ("targets", "targets"),
        ("shard_size", "shard_size: 64 there, 32 now"),
    ],
)
def test_resuming_another_run_is_refused_naming_what_differs(tabular, tmp_path, change, named):
    x = tabular_data(100)
    explain_dataset(xaikit.Saliency(tabular), x, tmp_path, progress=False, shard_size=64)
    model, kwargs, data = tabular, {"shard_size": 64}, x
    explainer = xaikit.Saliency(tabular)
    if change == "weights":
        model = tabular_model()
        model.set_weights([w + 0.01 for w in tabular.get_weights()])
        explainer = xaikit.Saliency(model)
    elif change == "method":
        explainer = xaikit.GuidedBackprop(tabular)
    elif change == "params":
        explainer = xaikit.Saliency(tabular, absolute=False)
    elif change == "data":
        data = x + 1
    elif change == "targets":
        kwargs["targets"] = 1
    else:
        kwargs["shard_size"] = 32
    with pytest.raises(RunMismatchError, match="overwrite=True") as caught:
        explain_dataset(explainer, data, tmp_path, progress=False, **kwargs)
    assert named in str(caught.value)
    assert isinstance(caught.value, xaikit.InputError)
    run = explain_dataset(explainer, data, tmp_path, progress=False, overwrite=True, **kwargs)
    assert run.complete and run.num_samples == 100


def test_batch_size_may_change_between_resumes(tabular, tmp_path):
    x = tabular_data(100)
    explain_dataset(xaikit.Saliency(tabular, batch_size=8), x, tmp_path, progress=False)
    run = explain_dataset(xaikit.Saliency(tabular, batch_size=50), x, tmp_path, progress=False)
    assert run.shard_size == default_shard_size(8) == 256 and run.complete


def test_resume_false_refuses_an_existing_run(tabular, tmp_path):
    x = tabular_data(10)
    explain_dataset(xaikit.Saliency(tabular), x, tmp_path, progress=False)
    with pytest.raises(xaikit.InputError, match="already holds a run"):
        explain_dataset(xaikit.Saliency(tabular), x, tmp_path, progress=False, resume=False)


# ---------------------------------------------------------------------- out of memory
@attrs.frozen(kw_only=True)
class HungrySaliency(xaikit.Saliency):
    """Saliency that 'runs out of memory' on chunks of more than 8 rows."""

    def explain_batch(self, inputs, targets, **extras):
        if int(inputs.shape[0]) > 8:
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
        return super().explain_batch(inputs, targets, **extras)


def test_out_of_memory_halves_batch_size_warns_once_and_goes_on(tabular, tmp_path):
    x = tabular_data(100)
    hungry = HungrySaliency(tabular, batch_size=32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = explain_dataset(hungry, x, tmp_path, targets=1, progress=False, shard_size=32)
    oom = [w for w in caught if issubclass(w.category, OutOfMemoryWarning)]
    assert len(oom) == 1  # one for the run, not one per shard (explain's own are absorbed)
    assert not [w for w in caught if issubclass(w.category, xaikit.ChunkSizeWarning)]
    assert "batch_size=32" in str(oom[0].message) and "batch_size=8" in str(oom[0].message)
    expected = xaikit.Saliency(tabular, batch_size=8).explain(x, 1)  # float noise: same chunks
    np.testing.assert_allclose(run.attributions[:], expected.attributions, rtol=1e-6)
    assert run.complete


def test_out_of_memory_at_batch_size_one_is_raised(tabular, tmp_path):
    @attrs.frozen(kw_only=True)
    class Starved(xaikit.Saliency):
        def explain_batch(self, inputs, targets, **extras):
            raise tf.errors.ResourceExhaustedError(None, None, "OOM")

    with pytest.raises(tf.errors.ResourceExhaustedError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explain_dataset(Starved(tabular, batch_size=4), tabular_data(8), tmp_path, progress=False)


# ---------------------------------------------------------------------- bounded memory
def test_the_source_runs_at_most_a_few_shards_ahead(tabular, tmp_path):
    x = tabular_data(1000)
    produced, ahead = [0], []

    def batches():
        for start in range(0, 1000, 50):
            produced[0] += 50
            yield x[start : start + 50]

    done = [0]

    def record(inputs):
        done[0] += len(inputs)
        ahead.append(produced[0] - done[0])

    Recording.HOOK[0] = record
    explainer = Recording(tabular, batch_size=50)
    explain_dataset(explainer, batches(), tmp_path, progress=False, shard_size=100)
    # rows loaded but not yet explained: the queue (2 shards), one being cut, one batch
    assert len(ahead) == 10 and max(ahead) <= 4 * 100


def test_the_prefetch_thread_reports_errors_and_stops_when_closed():
    def failing():
        yield 1
        raise ValueError("broken source")

    with pytest.raises(ValueError, match="broken source"):
        list(prefetched(failing()))
    before = threading.active_count()
    items = prefetched(iter(range(10_000)), depth=2)
    assert next(items) == 0
    items.close()
    assert threading.active_count() == before


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        ("x.npy", {}, "data: expected a tf.data.Dataset, a numpy array"),
        (np.zeros((0, 12), "float32"), {}, "data: expected at least one sample"),
        ([], {}, "data: expected at least one sample, got no batches"),
        ([[np.zeros((2, 12))]], {}, "structured"),
        (np.zeros((10, 12), "float32"), {"targets": np.zeros(9, int)}, "targets: expected one"),
        (np.zeros((10, 12), "float32"), {"shard_size": 0}, "shard_size: expected an integer"),
        (np.zeros((10, 5), "float32"), {}, "inputs: the model expects shape (N, 12)"),
        (
            tf.data.Dataset.from_tensor_slices((np.zeros((4, 12)), np.zeros(4))),
            {"targets": 1},
            "targets: the data already yields (x, y)",
        ),
        (tf.data.Dataset.range(3).repeat(), {}, "data: expected a finite dataset"),
    ],
)
def test_bad_data_is_refused_naming_the_argument(tabular, tmp_path, data, kwargs, message):
    with pytest.raises(xaikit.InputError) as caught:
        explain_dataset(xaikit.Saliency(tabular), data, tmp_path / "r", progress=False, **kwargs)
    assert message in str(caught.value)


def test_out_must_be_a_run_or_a_new_folder(tabular, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(xaikit.InputError, match="exists and is not a xaikit run"):
        explain_dataset(xaikit.Saliency(tabular), tabular_data(4), tmp_path, progress=False)
    with pytest.raises(xaikit.InputError, match="no run at"):
        open_run(tmp_path / "missing")


def test_the_same_store_twice(tabular, tmp_path):
    x = tabular_data(90)
    explainer = xaikit.Saliency(tabular, batch_size=16)
    explain_dataset(explainer, x, tmp_path / "a", progress=False, shard_size=32)
    explain_dataset(explainer, x, tmp_path / "b", progress=False, shard_size=32)
    assert_same_store(tmp_path / "a", tmp_path / "b")


def test_a_memory_mapped_npy_is_read_with_file_reads_that_equal_slicing(tmp_path):
    from xaikit.runs import ArraySource

    x = tabular_data(50)
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    whole, view = ArraySource(mapped), ArraySource(mapped[5:])
    assert whole._read is not None and view._read is None  # a view is sliced through the map
    np.testing.assert_array_equal(whole.read_shard(2, 16).x, x[32:48])
    np.testing.assert_array_equal(whole.read_shard(3, 16).x, x[48:])
    np.testing.assert_array_equal(view.read_shard(0, 16).x, x[5:21])
