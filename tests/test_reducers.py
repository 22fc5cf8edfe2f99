"""Reducers fold the channel axis exactly like their numpy definitions; callables work too."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from _models_api import classifier, data

import xaikit
from xaikit.registry import Registry, use_registry

NUMPY = {
    "mean": lambda a: a.mean(axis=-1),
    "max": lambda a: a.max(axis=-1),
    "min": lambda a: a.min(axis=-1),
    "sum": lambda a: a.sum(axis=-1),
    "absmax": lambda a: np.abs(a).max(axis=-1),
    "l2": lambda a: np.sqrt((a.astype("float64") ** 2).sum(axis=-1)),
}


def test_builtin_reducers_are_listed():
    with use_registry(Registry(autoload=False)):
        assert xaikit.list_reducers() == sorted([*NUMPY, "none"])


@pytest.fixture(scope="module")
def unreduced() -> dict[str, tuple[xaikit.Saliency, np.ndarray, np.ndarray]]:
    """kind -> (signed saliency explainer without reducer, inputs, its attributions)."""
    out = {}
    for kind in ("sequence", "image"):
        explainer = xaikit.Saliency(classifier(kind), absolute=False, reducer=None)
        x = data(kind, n=3, seed=6)
        out[kind] = (explainer, x, explainer.explain(x, 1).attributions)
    return out


@pytest.mark.parametrize("name", list(NUMPY))
@pytest.mark.parametrize("kind", ["sequence", "image"])
def test_builtin_reducer_matches_numpy(unreduced, kind, name):
    explainer, x, plain = unreduced[kind]
    assert plain.shape == x.shape
    reduced = attrs.evolve(explainer, reducer=name).explain(x, 1)
    assert reduced.attributions.shape == x.shape[:-1]
    np.testing.assert_allclose(reduced.attributions, NUMPY[name](plain), rtol=1e-5, atol=1e-8)
    assert reduced.params["reducer"] == name


def test_signs_differ_between_reducers(unreduced):
    _, _, plain = unreduced["image"]
    assert plain.min() < 0 < plain.max(), "signed gradients needed to tell reducers apart"
    assert not np.allclose(NUMPY["max"](plain), NUMPY["absmax"](plain))
    assert not np.allclose(NUMPY["mean"](plain), NUMPY["sum"](plain))


@pytest.mark.parametrize("reducer", [None, "none"])
def test_none_keeps_the_channel_axis(unreduced, reducer):
    explainer, x, plain = unreduced["image"]
    kept = attrs.evolve(explainer, reducer=reducer).explain(x, 1).attributions
    np.testing.assert_array_equal(kept, plain)


def test_any_callable_is_a_reducer(unreduced):
    explainer, x, plain = unreduced["sequence"]

    def second_channel(attributions: np.ndarray) -> np.ndarray:
        return attributions[..., 1]

    reduced = attrs.evolve(explainer, reducer=second_channel).explain(x, 1)
    np.testing.assert_array_equal(reduced.attributions, plain[..., 1])


def test_a_registered_reducer_is_usable_by_name(unreduced):
    explainer, x, plain = unreduced["image"]
    with use_registry(Registry(autoload=False)):
        xaikit.register_reducer("range")(lambda a: a.max(axis=-1) - a.min(axis=-1))
        assert "range" in xaikit.list_reducers()
        reduced = attrs.evolve(explainer, reducer="range").explain(x, 1)
    np.testing.assert_allclose(
        reduced.attributions, plain.max(axis=-1) - plain.min(axis=-1), rtol=1e-6
    )
    assert "range" not in xaikit.list_reducers()


def test_tabular_attributions_have_no_channel_axis_to_reduce():
    x = data("tabular", n=3)
    plain = xaikit.Saliency(classifier("tabular"), reducer=None).explain(x).attributions
    for name in NUMPY:
        reduced = xaikit.Saliency(classifier("tabular"), reducer=name).explain(x)
        np.testing.assert_array_equal(reduced.attributions, plain, err_msg=name)


def test_a_reducer_that_keeps_the_channel_axis_is_refused(unreduced):
    explainer, x, _ = unreduced["image"]

    def identity(attributions):
        return attributions

    with pytest.raises(xaikit.InputError) as info:
        attrs.evolve(explainer, reducer=identity).explain(x, 1)
    assert str(info.value) == (
        "reducer: 'identity' must remove the last (channel) axis: expected shape (3, 4, 4), "
        "got (3, 4, 4, 3)"
    )
