"""The model facts runs need, from xaikit's one module of model facts."""

from __future__ import annotations

from ..model import declared_num_outputs, model_dtype, model_input_shape

__all__ = ["model_input_shape", "declared_num_outputs", "model_dtype"]
