"""Factories registered under the wrappers' names: ``get_explainer(name, model, ...)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import xaikit
from xaikit import Explainer
from xaikit.errors import InputError

from .wrappers import NoiseWrapper, SmoothGrad, SquareGrad, VarGrad

__all__ = ["smoothgrad", "vargrad", "squaregrad"]

#: Parameters that belong to the wrapper itself.
_OWN = ("n_samples", "noise", "seed", "reducer")
#: Parameters passed to both the wrapper and a wrapped method built by name.
_SHARED = ("batch_size", "operator", "strategy")


def _factory(cls: type[NoiseWrapper]) -> Callable[..., NoiseWrapper]:
    def build(model: Any, method: str | Explainer = "saliency", **params: Any) -> NoiseWrapper:
        own = {key: params.pop(key) for key in (*_OWN, *_SHARED) if key in params}
        if isinstance(method, Explainer):
            if params:
                raise InputError(
                    f"params: {', '.join(map(repr, sorted(params)))} would configure the "
                    f"wrapped method, but method is already an explainer; pass its parameters "
                    f"when building it, or pass method by name"
                )
            if method.model is not model:
                raise InputError(
                    "method: the explainer to wrap must explain the same model that was passed "
                    f"to get_explainer({cls.name!r}, model, ...)"
                )
            inner = method
        elif isinstance(method, str):
            shared = {key: own[key] for key in _SHARED if key in own}
            try:
                inner = xaikit.get_explainer(method, model, **shared, **params)
            except InputError as error:
                raise InputError(
                    f"{error} ({cls.name!r} itself takes method, "
                    f"{', '.join((*_OWN, *_SHARED))}; other parameters go to method {method!r})"
                ) from None
        else:
            raise InputError(
                f"method: expected a registered method name or an Explainer, got "
                f"{type(method).__name__}"
            )
        return cls(inner, **own)

    build.__name__ = build.__qualname__ = cls.name or cls.__name__
    build.capabilities = cls.capabilities  # type: ignore[attr-defined]
    build.__doc__ = (
        f"``{cls.__name__}`` around a method given by name (default 'saliency') or as an "
        "explainer of ``model``.\n\n"
        f"``get_explainer({cls.name!r}, model, method='integrated_gradients', steps=16, "
        "n_samples=20, noise=0.1, seed=0)``: n_samples, noise, seed and reducer configure the "
        "wrapper; batch_size, operator and strategy both the wrapper and the wrapped method; "
        "any other parameter goes to the wrapped method. See "
        f":class:`xaikit_noise.{cls.__name__}` for their meaning."
    )
    return build


smoothgrad = _factory(SmoothGrad)
vargrad = _factory(VarGrad)
squaregrad = _factory(SquareGrad)
