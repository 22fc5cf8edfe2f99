"""Explanation-quality metrics: how faithful and how stable attributions are.

Every metric is built like an explainer, ``Metric(model, **params)``, and called as
``metric(inputs, targets, attributions)`` (attributions as an array or an
:class:`~xaikit.Explanation`); it returns a :class:`MetricResult` with one score per sample,
their mean and the metric's direction. :func:`evaluate` explains once and runs several.

========================  ======================================  =========
name                      class                                   better
========================  ======================================  =========
``deletion``              :class:`Deletion`                       lower
``insertion``             :class:`Insertion`                      higher
``pixel_flipping``        :class:`PixelFlipping`                  lower
``mufidelity``            :class:`MuFidelity`                     higher
``infidelity``            :class:`Infidelity`                     lower
``max_sensitivity``       :class:`MaxSensitivity` (explainer)     lower
``randomization``         :class:`ModelRandomization` (explainer) lower
========================  ======================================  =========
"""

from .base import ExplainerMetric, Metric, MetricInputs, MetricResult
from .evaluate import evaluate
from .fidelity import Infidelity, MuFidelity
from .randomization import ModelRandomization
from .removal import Deletion, Insertion, PixelFlipping, area_under_curve
from .robustness import MaxSensitivity

#: Registered name -> metric class, registered by ``xaikit.registry.builtins``.
BUILTIN_METRICS: dict[str, type[Metric]] = {
    cls.name: cls
    for cls in (
        Deletion,
        Insertion,
        PixelFlipping,
        MuFidelity,
        Infidelity,
        MaxSensitivity,
        ModelRandomization,
    )
}

__all__ = [
    "BUILTIN_METRICS",
    "Metric",
    "ExplainerMetric",
    "MetricInputs",
    "MetricResult",
    "evaluate",
    "Deletion",
    "Insertion",
    "PixelFlipping",
    "MuFidelity",
    "Infidelity",
    "MaxSensitivity",
    "ModelRandomization",
    "area_under_curve",
]
