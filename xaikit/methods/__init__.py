"""Built-in attribution methods, one module per family."""

from .guided_backprop import GuidedBackprop
from .integrated_gradients import IntegratedGradients, PathIntegral, RandomBaselineIG
from .saliency import Saliency

__all__ = [
    "Saliency",
    "GuidedBackprop",
    "PathIntegral",
    "IntegratedGradients",
    "RandomBaselineIG",
]
