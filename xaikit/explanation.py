"""The :class:`Explanation` record returned by every explainer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

__all__ = ["Explanation"]


@attrs.frozen(eq=False)
class Explanation:
    """Attributions and what is needed to trust them.

    Attributes:
        attributions: float array. Shape (N, ...) equal to the inputs' shape when no reducer
            is applied; with a reducer, the channel (last) axis of (N, T, C) or (N, H, W, C)
            inputs is removed. For structured inputs, the same structure: a list (input
            order) or a dict (same keys) of such arrays. With ``layer=``, the layer output's
            shape (N, ...) instead.
        targets: the targets actually used: class indices (N,) when targets were given as
            indices or left to the model (None), else the (N, K) weight matrix.
        scores: (N,) the explained scalar (the operator's output) at each input.
        method: the method's registered name.
        params: the explainer's parameters (everything but the model).
        convergence_delta: (N,) for path methods (the IG family),
            ``sum(attributions) - (scores - mean f(baseline))`` computed before any reducer:
            how far the attributions are from completeness; None for other methods.

    ``np.asarray(explanation)`` gives the attributions (of a one-array explanation).
    """

    attributions: np.ndarray
    targets: np.ndarray
    scores: np.ndarray
    method: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    convergence_delta: np.ndarray | None = None

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if not isinstance(self.attributions, np.ndarray):
            raise TypeError(
                f"the attributions are a {type(self.attributions).__name__} of arrays (one per "
                "input); index explanation.attributions instead of converting it whole"
            )
        if dtype is not None and np.dtype(dtype) != self.attributions.dtype:
            if copy is False:
                raise ValueError(
                    f"cannot give the {self.attributions.dtype} attributions as {dtype} "
                    "without a copy"
                )
            return self.attributions.astype(dtype)
        return self.attributions.copy() if copy else self.attributions

    def __len__(self) -> int:
        return int(np.shape(self.scores)[0])

    def __repr__(self) -> str:
        delta = ""
        if self.convergence_delta is not None:
            delta = f", max |convergence_delta|={float(np.max(np.abs(self.convergence_delta))):.3g}"
        parts = self.attributions
        if isinstance(parts, np.ndarray):
            shown = f"attributions shape={parts.shape}, dtype={parts.dtype}"
        else:
            items = parts.items() if isinstance(parts, dict) else enumerate(parts)
            shown = (
                "attributions shapes={" + ", ".join(f"{k!r}: {np.shape(v)}" for k, v in items) + "}"
            )
        return f"Explanation(method={self.method!r}, {shown}{delta})"
