"""The same call in xaikit and, when installed, in Xplique."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import xaikit

__all__ = ["METHODS", "evaluations", "xaikit_call", "xplique_call", "xplique_version"]

#: method -> xaikit parameters used by the benchmark
METHODS: dict[str, dict] = {
    "saliency": {},
    "guided_backprop": {},
    "integrated_gradients": {"steps": 50},
    "random_baseline_ig": {"steps": 50, "num_runs": 5, "seed": 0},
}


def evaluations(method: str, n: int, steps: int = 50) -> int:
    """Model evaluations (forward+backward rows) the method needs for n samples."""
    params = METHODS[method]
    if "steps" not in params:
        return n
    return n * (steps + 1) * params.get("num_runs", 1)


def xaikit_call(
    method: str, model, x: np.ndarray, targets: np.ndarray, batch_size: int | None, **extra
) -> Callable[[], np.ndarray]:
    params = {**METHODS[method], **extra}
    if batch_size is not None:
        params["batch_size"] = batch_size
    explainer = xaikit.get_explainer(method, model, **params)
    return lambda: explainer.explain(x, targets).attributions


def xplique_version() -> str | None:
    try:
        import xplique
    except Exception:  # noqa: BLE001 - not installed or broken: no comparison
        return None
    return getattr(xplique, "__version__", "?")


def xplique_call(
    method: str, model, x: np.ndarray, targets: np.ndarray, batch_size: int | None, **extra
) -> Callable[[], np.ndarray] | None:
    """The equivalent Xplique call, or None where Xplique has no such method."""
    from xplique import attributions

    one_hot = np.eye(model.outputs[0].shape[-1], dtype="float32")[targets]
    kwargs = {} if batch_size is None else {"batch_size": batch_size}
    steps = extra.get("steps", METHODS[method].get("steps", 50))
    if method == "saliency":
        explainer = attributions.Saliency(model, **kwargs)
    elif method == "guided_backprop":
        explainer = attributions.GuidedBackprop(model, **kwargs)
    elif method == "integrated_gradients":
        explainer = attributions.IntegratedGradients(model, steps=steps, **kwargs)
    else:
        return None
    return lambda: np.asarray(explainer.explain(x, one_hot))
