"""The model facts runs need, from xaikit's one module of model facts.

Older layouts kept them in :mod:`xaikit.inputs`; this import works with either.
"""

from __future__ import annotations

try:
    from ..model import declared_num_outputs, model_dtype, model_input_shape
except ImportError:  # pragma: no cover - xaikit without xaikit.model
    from ..inputs import declared_num_outputs, model_dtype, model_input_shape

__all__ = ["model_input_shape", "declared_num_outputs", "model_dtype"]
