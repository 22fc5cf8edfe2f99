"""The base of the built-in gradient methods: structured inputs, ``layer=``, integer checks.

:class:`GradientMethod` gives saliency, guided backpropagation and the path methods

* ``layer=``: attribute to a layer's output (a name or a path ``"outer/inner"``) or, with a
  mapping ``{input name: layer name}``, some inputs at their layer (a categorical id input
  at its embedding) and the others at the input itself;
* the refusal to differentiate integer inputs (token or category ids), with an InputError
  that names the input and the embedding layer to pass as ``layer=``;
* the compiled kernels over attribution points (:mod:`xaikit.point_kernels`), keyed by the
  inputs' signature and the points.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import tensorflow as tf

from .. import point_kernels
from ..capabilities import Capabilities
from ..errors import InputError
from ..explainer import Explainer, as_flat
from ..points import (
    Points,
    attribution_points,
    check_differentiable,
    check_layer_argument,
    has_lookups,
    integer_error,
)

__all__ = ["GradientMethod"]


@attrs.frozen(kw_only=True)
class GradientMethod(Explainer):
    """An explainer built on gradients of the explained score (abstract).

    Args:
        layer: None (default) to attribute to the inputs; a layer name or nested path to
            attribute to that layer's output instead (attributions then have the layer
            output's shape); or a mapping ``{input name: layer name}`` to attribute those
            inputs at their layer and the others at the input itself.
    """

    capabilities = Capabilities(multi_input=True, layers=True)

    layer: str | Mapping[str, str] | None = attrs.field(
        default=None, validator=check_layer_argument
    )

    def __attrs_post_init__(self) -> None:
        specs_count = len(getattr(self.model, "inputs", None) or []) or 1
        self.points(specs_count)  # refuse an unknown layer or input name now

    def attributes_inputs(self) -> bool:
        return self.layer is None

    def points(self, count: int) -> Points:
        """The attribution slots for a call of ``count`` flat inputs."""
        return attribution_points(self.model, self.layer, count)

    def prepare(self, inputs: Any, targets: np.ndarray) -> Mapping[str, Any]:
        """Refuse integer inputs that would be differentiated (before any work)."""
        flat = as_flat(inputs)
        check_differentiable(self.model, self.method_name, self.points(len(flat)), flat)
        return {}

    def _on_missing(self, points: Points, count: int) -> Any:
        """After tracing: an input slot with no gradient at all in a model with a lookup
        layer is a float id fed to an Embedding; refuse it rather than return zeros."""

        def check(slots: list[int]) -> None:
            for k in slots:
                kind, index = points.slots[k]
                if kind == "layer":
                    raise InputError(
                        f"layer: the explained score does not depend on the output of layer "
                        f"{points.names[index]!r}; pick a layer on the way to the output"
                    )
                if has_lookups(self.model):
                    raise integer_error(self.model, self.method_name, index, count, "float")

        return check

    def _key(self, kind: str, flat: list[tf.Tensor], targets: tf.Tensor, points: Points) -> tuple:
        return (
            kind,
            tuple(tuple(x.shape[1:]) for x in flat),
            tuple(x.dtype for x in flat),
            int(targets.shape[-1]),
            points.key,
            self._form_key(),
        )

    def _operator(self) -> Any:
        return self.resolved_operator()

    def point_gradients(self, inputs: Any, targets: tf.Tensor) -> tuple[list[tf.Tensor], Any]:
        """Gradients of the explained scores at each slot, and the scores (n,)."""
        flat = as_flat(inputs)
        points = self.points(len(flat))
        specs = point_kernels.flat_specs([x.shape[1:] for x in flat], [x.dtype for x in flat])

        def build() -> Any:
            return point_kernels.gradients_fn(
                self.scored_model,
                self._operator(),
                self.pack_for_model,
                specs,
                int(targets.shape[-1]),
                targets.dtype,
                points,
                self._on_missing(points, len(flat)),
            )

        kernel = self.kernels.get(
            self._key("point_gradients", flat, targets, points), build, self.tracing_context
        )
        grads, scores = kernel(tuple(flat), targets)
        return list(grads), scores

    def record_layers(self, flat: list[tf.Tensor], points: Points) -> list[tf.Tensor]:
        """Each layer slot's output (n, ...) for the flat inputs, ``batch_size`` rows at once."""
        specs = point_kernels.flat_specs([x.shape[1:] for x in flat], [x.dtype for x in flat])
        key = ("record", tuple(s.shape for s in specs), tuple(s.dtype for s in specs))
        kernel = self.kernels.get(
            (*key, points.key, self._form_key()),
            lambda: point_kernels.record_fn(self.scored_model, self.pack_for_model, specs, points),
            self.tracing_context,
        )
        n = int(flat[0].shape[0])
        parts = [
            kernel(tuple(x[start : start + self.batch_size] for x in flat))
            for start in range(0, n, self.batch_size)
        ]
        return [tf.concat(list(column), axis=0) for column in zip(*parts, strict=True)]

    def pack_slots(self, values: list[tf.Tensor], count: int) -> Any:
        """Per-slot tensors as ``explain_batch`` returns them: mirroring the inputs (one
        tensor, or a tuple for several inputs), or the one layer's tensor."""
        if len(values) == 1 and (count == 1 or not self.points(count).mirror):
            return values[0]
        return tuple(values)
