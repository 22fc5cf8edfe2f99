"""Model-randomization sanity check (Adebayo et al., 2018).

An explanation that is faithful to the model must change when the model's learned weights
are destroyed. The check re-explains the inputs with copies of the model whose layers are
re-initialized, from the output layer down (cascading), and measures how similar the new
attributions are to the original ones. The user's model is never touched: the copies come
from ``keras.models.clone_model`` and ``set_weights``, and the explainer is cloned onto them
with ``attrs.evolve(explainer, model=copy)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import keras
import numpy as np

from .._activations import iter_layers
from ..errors import InputError
from ..structure import input_specs
from ..validators import boolean, seed
from ._features import rankdata, row_correlation
from ._structure import flatten_like
from .base import ExplainerMetric, MetricInputs, MetricResult
from .robustness import check_like_explainer

__all__ = ["ModelRandomization", "weighted_layers"]

SIMILARITIES = ("spearman", "pearson")


def _own_weights(layer: keras.layers.Layer) -> list[Any]:
    """The variables ``layer`` holds itself, not through nested layers."""
    nested = {id(v) for sub in iter_layers(layer) if sub is not layer for v in sub.weights}
    return [v for v in layer.weights if id(v) not in nested]


def layers_in_order(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    """``model`` and every layer inside it, a nested model's layers in its place.

    ``model.layers`` lists a functional or Sequential model's layers from input to output;
    expanding each nested model where it stands (depth first) keeps that order, where a
    breadth-first walk would list a nested backbone's layers after the head.
    """
    out = [model]
    for layer in getattr(model, "layers", []):
        out.extend(layers_in_order(layer))
    return out


def weighted_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Layers of ``model`` (nested models walked) that hold weights, input to output."""
    return [layer for layer in layers_in_order(model) if _own_weights(layer)]


def _clone(model: keras.Model) -> keras.Model:
    try:
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
    except Exception as error:  # noqa: BLE001 - any failure means the model cannot be copied
        raise InputError(
            "model: the randomization check copies the model with keras.models.clone_model "
            f"and set_weights, which failed for this model ({type(error).__name__}: {error}); "
            "use a Sequential or functional model"
        ) from None
    mine = {id(v) for v in model.weights}
    if any(id(v) in mine for v in copy.weights):
        raise InputError(
            "model: keras.models.clone_model returned a copy that shares variables with the "
            "model; the randomization check would change the model, so it refuses"
        )
    return copy


def _reinitialize(layer: keras.layers.Layer, seed: int) -> None:
    """Draw new values for the layer's own variables from the layer's initializers.

    A variable without a matching ``<name>_initializer`` attribute (a recurrent kernel, a
    custom layer's weight) is drawn from a normal of its current standard deviation.
    """
    rng = np.random.default_rng(seed)
    for index, variable in enumerate(_own_weights(layer)):
        short = variable.name.split("/")[-1]
        initializer = getattr(layer, f"{short}_initializer", None)
        shape = tuple(variable.shape)
        if isinstance(initializer, keras.initializers.Initializer):
            config = initializer.get_config()
            if "seed" in config:
                config["seed"] = seed * 1000 + index
            fresh = type(initializer).from_config(config)
            values = keras.ops.convert_to_numpy(fresh(shape, dtype=variable.dtype))
        else:
            current = keras.ops.convert_to_numpy(variable)
            scale = float(current.std()) or 0.05
            values = rng.normal(0.0, scale, shape)
        variable.assign(np.asarray(values, dtype=str(variable.dtype)))


def _similarity_field(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value not in SIMILARITIES:
        raise InputError(f"similarity: expected one of {SIMILARITIES}, got {value!r}")


def _layers_field(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, str) or not all(isinstance(name, str) for name in value):
        raise InputError(f"layers: expected a list of layer names or None, got {value!r}")
    known = [layer.name for layer in weighted_layers(instance.model)]
    unknown = [name for name in value if name not in known]
    if unknown or not value:
        raise InputError(
            f"layers: expected names of layers with weights ({', '.join(known)}), "
            f"got {list(value)!r}"
        )


@attrs.frozen(kw_only=True)
class ModelRandomization(ExplainerMetric):
    """Model-randomization sanity check: similarity of attributions as layers are randomized.

    The layers with weights are re-initialized one after another from the output down (with
    ``cascading``, each stage keeps the layers randomized before it; otherwise each stage
    randomizes one layer alone). At each stage the inputs are explained again, for the same
    targets, and compared with the given (trained-model) attributions. The score of a sample
    is its mean similarity over the stages. Lower is better: an explanation that stays
    similar (near 1) while the model is destroyed does not explain the model (an edge
    detector would pass as one).

    Args:
        explainer: the :class:`~xaikit.Explainer` under test (same model). Required.
        layers: names of the layers to randomize (default: every layer with weights); they
            are randomized from the output down whatever the order given.
        cascading: keep earlier stages' layers randomized (default True).
        similarity: 'spearman' (rank correlation, default) or 'pearson'.
        absolute: compare ``|attributions|`` (default True), as the sign of attributions
            flips freely under randomization.
        seed: seed of the re-initialization. Default 0.

    ``curves`` (N, L) hold the similarity after each of the L stages and
    ``details["layers"]`` the layer names in the order they were randomized.
    """

    name = "randomization"
    higher_is_better = False

    layers: Sequence[str] | None = attrs.field(default=None, validator=_layers_field)
    cascading: bool = attrs.field(default=True, validator=boolean)
    similarity: str = attrs.field(default="spearman", validator=_similarity_field)
    absolute: bool = attrs.field(default=True, validator=boolean)
    seed: int = attrs.field(default=0, validator=seed)

    def compare(self, original: np.ndarray, randomized: np.ndarray) -> np.ndarray:
        """Similarity (N,) of two attribution batches of the same shape."""
        a = original.reshape(len(original), -1).astype(np.float64)
        b = randomized.reshape(len(randomized), -1).astype(np.float64)
        if self.absolute:
            a, b = np.abs(a), np.abs(b)
        if self.similarity == "spearman":
            a, b = rankdata(a), rankdata(b)
        return row_correlation(a, b, constant=0.0)

    def compute(self, data: MetricInputs) -> MetricResult:
        copy = _clone(self.model)
        pairs = [
            (layer.name, twin)
            for layer, twin in zip(layers_in_order(self.model), layers_in_order(copy), strict=True)
            if _own_weights(layer)
        ]
        if self.layers is not None:
            pairs = [pair for pair in pairs if pair[0] in self.layers]
        if not pairs:
            raise InputError("model: the randomization check needs a model with weights")
        pairs.reverse()  # from the output down
        trained = copy.get_weights()
        explainer = _with_model(self.explainer, copy)
        specs = input_specs(self.model)
        original = data.feature_values()
        curves = np.empty((len(data), len(pairs)), dtype=np.float64)
        for stage, (_, layer) in enumerate(pairs):
            if not self.cascading:
                copy.set_weights(trained)
            _reinitialize(layer, self.seed + stage)
            explained = explainer.explain(data.pack(data.flat), data.weights).attributions
            randomized = flatten_like(explained, specs, data.names)
            check_like_explainer(randomized, data)
            curves[:, stage] = self.compare(original, data.features.join(randomized))
        return self.result(
            curves.mean(axis=1),
            curves,
            {"layers": [name for name, _ in pairs], "cascading": self.cascading},
        )


def _with_model(explainer: Any, model: Any) -> Any:
    """A copy of ``explainer`` that explains ``model``, the original left untouched.

    ``model`` is replaced where it is a constructor field; a wrapper that takes its model
    from the explainer it wraps (SmoothGrad and the like) gets its wrapped explainer rebound
    the same way.
    """
    fields = {field.name: field for field in attrs.fields(type(explainer)) if field.init}
    if "model" in fields:
        return attrs.evolve(explainer, model=model)
    for name, field in fields.items():
        inner = getattr(explainer, name)
        if attrs.has(type(inner)) and hasattr(inner, "explain"):
            return attrs.evolve(explainer, **{field.alias or name: _with_model(inner, model)})
    raise InputError(
        f"explainer: {type(explainer).__name__} takes no model and wraps no explainer, so it "
        "cannot be pointed at the randomized copies of the model"
    )
