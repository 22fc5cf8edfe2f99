"""explain_dataset on a model of several inputs: dicts, lists and tf.data structures give the
same attributions as explain(), one array per input in the store, given back in the form the
data came in; a resumed run ends equal to an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import zarr
from _structured_models import two_input

import xaikit
from xaikit.runs import RunMismatchError, explain_dataset, open_run

N = 50


@pytest.fixture(scope="module")
def model():
    return two_input()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(N, 4)).astype("float32")
    b = rng.normal(size=(N, 5, 2)).astype("float32")
    y = rng.integers(0, 3, size=N)
    return a, b, y


@pytest.fixture(scope="module")
def expected(model, data):
    a, b, _ = data
    return xaikit.IntegratedGradients(model, steps=8, batch_size=16).explain({"a": a, "b": b})


def _explainer(model):
    return xaikit.IntegratedGradients(model, steps=8, batch_size=16)


def _check(run, expected, names=("a", "b")):
    assert run.complete and run.num_samples == N
    stored = run.attributions
    values = stored if isinstance(stored, dict) else dict(zip(names, stored, strict=True))
    for name in names:
        np.testing.assert_allclose(values[name][:], expected.attributions[name], atol=1e-6)
    np.testing.assert_allclose(run.scores[:], expected.scores, rtol=1e-6)
    np.testing.assert_allclose(run.convergence_delta[:], expected.convergence_delta, atol=1e-6)


def test_a_dict_of_arrays_and_memory_maps_equals_explain(model, data, expected, tmp_path):
    a, b, _ = data
    np.save(tmp_path / "b.npy", b)
    given = {"b": np.load(tmp_path / "b.npy", mmap_mode="r"), "a": a}  # any key order
    run = explain_dataset(_explainer(model), given, tmp_path / "run", progress=False, shard_size=16)
    assert isinstance(run.attributions, dict) and list(run.attributions) == ["a", "b"]
    assert run.attributions["b"].shape == (N, 5, 2) and run.attributions["b"].chunks == (16, 5, 2)
    _check(run, expected)
    np.testing.assert_array_equal(run.targets[:], expected.targets)
    np.testing.assert_array_equal(run.predictions[:], expected.targets)
    explanation = run.explanation(slice(0, 5))
    np.testing.assert_array_equal(explanation.attributions["a"], run.attributions["a"][:5])
    assert run.attrs["inputs"] == ["a", "b"] and run.attribution_form == "dict"
    assert "attributions (dict) a: (50, 4)" in run.summary()


def test_a_list_of_arrays_gives_a_list_back(model, data, expected, tmp_path):
    a, b, _ = data
    run = explain_dataset(_explainer(model), [a, b], tmp_path / "run", progress=False)
    assert isinstance(run.attributions, list) and len(run.attributions) == 2
    _check(run, expected)
    assert isinstance(run.explanation().attributions, list)


def test_a_dataset_of_dict_and_y_uses_y_as_targets(model, data, tmp_path):
    a, b, y = data
    dataset = tf.data.Dataset.from_tensor_slices(({"a": a, "b": b}, y)).batch(7)
    explainer = _explainer(model)
    run = explain_dataset(explainer, dataset, tmp_path / "run", progress=False, shard_size=16)
    expected = explainer.explain({"a": a, "b": b}, targets=y)
    _check(run, expected)
    np.testing.assert_array_equal(run.targets[:], y)
    outputs = model.predict([a, b], verbose=0)
    np.testing.assert_array_equal(run.predictions[:], outputs.argmax(axis=1))


def test_iterable_of_list_batches_and_unbatched_tuple_dataset(model, data, expected, tmp_path):
    a, b, _ = data
    batches = [[a[i : i + 9], b[i : i + 9]] for i in range(0, N, 9)]
    run = explain_dataset(_explainer(model), batches, tmp_path / "it", progress=False)
    assert isinstance(run.attributions, list)
    _check(run, expected)
    dataset = tf.data.Dataset.from_tensor_slices(((a, b),))  # Keras: a tuple is (x,) / (x, y)
    run = explain_dataset(_explainer(model), dataset, tmp_path / "ds", progress=False)
    assert isinstance(run.attributions, tuple)
    _check(run, expected)


def test_the_store_opens_with_plain_zarr_one_array_per_input(model, data, tmp_path):
    a, b, _ = data
    explain_dataset(_explainer(model), {"a": a, "b": b}, tmp_path / "run", progress=False)
    group = zarr.open_group(tmp_path / "run", mode="r")
    assert sorted(group.array_keys()) == sorted([
        "attributions_a", "attributions_b", "target", "score", "prediction",
        "convergence_delta", "sample_index", "shard_committed",
    ])  # fmt: skip
    assert group["attributions_a"].shape == (N, 4) and group["attributions_b"].shape == (N, 5, 2)
    assert dict(group.attrs)["attribution_arrays"] == {"a": "attributions_a", "b": "attributions_b"}


def test_an_interrupted_run_resumes_to_the_uninterrupted_store(model, data, tmp_path):
    a, b, _ = data
    given = {"a": a, "b": b}
    whole = explain_dataset(_explainer(model), given, tmp_path / "whole", progress=False,
                            shard_size=16)  # fmt: skip
    part = tmp_path / "part"
    explain_dataset(_explainer(model), given, part, progress=False, shard_size=16)
    # forget shards 1 and 3 as a crash before their markers would have
    markers = zarr.open_array(part / "shard_committed", mode="r+")
    markers[1] = markers[3] = False
    group = zarr.open_group(part, mode="r+")
    group.attrs["complete"] = False
    group["attributions_b"][16:32] = 0
    run = open_run(part)
    assert not run.complete and run.num_samples == N - 16 - 2  # shard 3 holds rows 48, 49
    run = explain_dataset(_explainer(model), given, part, progress=False)
    assert run.complete and run.committed_shards.all()
    for name in ("a", "b"):
        np.testing.assert_array_equal(run.attributions[name][:], whole.attributions[name][:])
    np.testing.assert_array_equal(run.scores[:], whole.scores[:])


def test_resuming_with_another_structure_is_refused(model, data, tmp_path):
    a, b, _ = data
    explain_dataset(_explainer(model), {"a": a, "b": b}, tmp_path / "run", progress=False)
    with pytest.raises(RunMismatchError, match="data"):
        explain_dataset(_explainer(model), [a, b], tmp_path / "run", progress=False)


def test_structures_the_model_does_not_take_are_refused(model, data, tmp_path):
    a, b, _ = data
    with pytest.raises(xaikit.InputError, match="missing 'b'"):
        explain_dataset(_explainer(model), {"a": a}, tmp_path / "r1", progress=False)
    with pytest.raises(xaikit.InputError, match="same number of rows"):
        explain_dataset(_explainer(model), {"a": a, "b": b[:10]}, tmp_path / "r2", progress=False)
