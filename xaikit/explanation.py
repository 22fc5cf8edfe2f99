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
            inputs is removed.
        targets: the targets actually used: class indices (N,) when targets were given as
            indices or left to the model (None), else the (N, K) weight matrix.
        scores: (N,) the explained scalar (the operator's output) at each input.
        method: the method's registered name.
        params: the explainer's parameters (everything but the model).
        convergence_delta: (N,) for path methods (the IG family),
            ``sum(attributions) - (scores - mean f(baseline))`` computed before any reducer:
            how far the attributions are from completeness; None for other methods.

    ``np.asarray(explanation)`` gives the attributions.
    """

    attributions: np.ndarray
    targets: np.ndarray
    scores: np.ndarray
    method: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    convergence_delta: np.ndarray | None = None

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != self.attributions.dtype:
            if copy is False:
                raise ValueError(
                    f"cannot give the {self.attributions.dtype} attributions as {dtype} "
                    "without a copy"
                )
            return self.attributions.astype(dtype)
        return self.attributions.copy() if copy else self.attributions

    def __len__(self) -> int:
        return int(self.attributions.shape[0])

    def __repr__(self) -> str:
        delta = ""
        if self.convergence_delta is not None:
            delta = f", max |convergence_delta|={float(np.max(np.abs(self.convergence_delta))):.3g}"
        return (
            f"Explanation(method={self.method!r}, attributions shape="
            f"{self.attributions.shape}, dtype={self.attributions.dtype}{delta})"
        )
