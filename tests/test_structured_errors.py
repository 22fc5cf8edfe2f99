"""The bad-input matrix of structured calls: each an InputError naming the argument, what
was expected and what came."""

from __future__ import annotations

import attrs
import keras
import numpy as np
import pytest
from _structured_models import mixed, token_model, two_heads, two_input

import xaikit
from xaikit.errors import InputError


@pytest.fixture(scope="module")
def model():
    return two_input(dict_inputs=True)


@pytest.fixture(scope="module")
def ab():
    rng = np.random.default_rng(0)
    return rng.normal(size=(2, 4)).astype("float32"), rng.normal(size=(2, 5, 2)).astype("float32")


def test_missing_and_extra_input_names(model, ab):
    a, b = ab
    explainer = xaikit.Saliency(model)
    with pytest.raises(
        InputError, match=r"inputs: expected a dict keyed by .*'a', 'b'.*missing 'b'"
    ):
        explainer.explain({"a": a})
    with pytest.raises(InputError, match=r"unknown 'c'"):
        explainer.explain({"a": a, "b": b, "c": a})


def test_wrong_count_and_a_single_array(model, ab):
    a, b = ab
    explainer = xaikit.Saliency(model)
    with pytest.raises(InputError, match=r"takes 2 inputs \('a', 'b'\).*got a list of 3"):
        explainer.explain([a, b, a])
    with pytest.raises(InputError, match=r"takes 2 inputs.*got one array of shape \(2, 4\)"):
        explainer.explain(a)


def test_per_input_shape_and_sample_count_mismatch(model, ab):
    a, b = ab
    explainer = xaikit.Saliency(model)
    with pytest.raises(InputError, match=r"inputs\['b'\]: the model expects shape \(N, 5, 2\)"):
        explainer.explain({"a": a, "b": b[:, :3]})
    with pytest.raises(InputError, match=r"same number of samples.*'a'\]: 2.*'b'\]: 1"):
        explainer.explain({"a": a, "b": b[:1]})


def test_unknown_output_and_a_missing_output():
    heads = two_heads()
    with pytest.raises(
        InputError, match=r"output: the model has 2 outputs; pass output= one of 'age', 'label'"
    ):
        xaikit.Saliency(heads)
    with pytest.raises(InputError, match=r"no output named 'lable' \(did you mean 'label'\?\)"):
        xaikit.Saliency(heads, output="lable")
    with pytest.raises(InputError, match=r"output: expected an index in \[0, 1\]"):
        xaikit.Saliency(heads, output=5)


def test_unknown_layer_lists_close_names():
    with pytest.raises(InputError, match=r"layer: .*no layer named 'embeding'.*'embedding'"):
        xaikit.IntegratedGradients(token_model(), layer="embeding")
    with pytest.raises(InputError, match=r"layer: the keys of a layer mapping are input names"):
        xaikit.IntegratedGradients(mixed(), layer={"category": "cat_emb"})


@pytest.mark.parametrize("method", [xaikit.Saliency, xaikit.IntegratedGradients])
def test_integer_inputs_without_layer_are_refused(method):
    ids = np.ones((2, 6), "int32")
    with pytest.raises(InputError, match=r"inputs: .*'tokens' holds int32 ids.*layer='embedding'"):
        method(token_model()).explain(ids, 0)
    num, cat = np.zeros((2, 3), "float32"), np.ones((2, 1), "int32")
    with pytest.raises(InputError, match=r"inputs\['cat'\].*layer=\{'cat': 'cat_emb'\}"):
        method(mixed()).explain([num, cat], 0)


def test_float_ids_into_an_embedding_are_refused_not_zero():
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Embedding(10, 3, name="emb"),
            keras.layers.Flatten(),
            keras.layers.Dense(2),
        ]
    )
    with pytest.raises(InputError, match=r"layer='emb'"):
        xaikit.Saliency(model).explain(np.ones((2, 6), "float32"), 0)


@attrs.frozen(kw_only=True)
class OneInputOnly(xaikit.Explainer):
    """Declares nothing beyond the defaults: one input only."""

    def explain_batch(self, inputs, targets):
        return inputs


def test_single_input_methods_refuse_several_inputs(model):
    assert not xaikit.capabilities_of(OneInputOnly).multi_input
    with pytest.raises(InputError, match=r"explains models of one input.*2 inputs \('a', 'b'\)"):
        OneInputOnly(model)
