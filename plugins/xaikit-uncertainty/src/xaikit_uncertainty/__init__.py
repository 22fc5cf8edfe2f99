"""xaikit-uncertainty: MC-dropout attributions around any xaikit attribution method.

::

    import xaikit
    from xaikit_uncertainty import MCDropout

    explainer = MCDropout(xaikit.Saliency(model), passes=30, seed=0)
    result = explainer.explain_passes(images, labels)
    result.passes                            # (30, N, ...) one map per sampled network
    result.explanation.attributions          # their mean, what explain() returns
    result.quantile_maps([0.1, 0.5, 0.9])    # (3, N, ...)

    # or by name, once the package is installed:
    explainer = xaikit.get_explainer("mc_dropout", model, method="saliency", passes=20, seed=0)
"""

from .dropout import DROPOUT_LAYERS, active_dropout, dropout_layers
from .mc_dropout import DropoutPasses, MCDropout, mc_dropout

__all__ = [
    "MCDropout",
    "DropoutPasses",
    "mc_dropout",
    "active_dropout",
    "dropout_layers",
    "DROPOUT_LAYERS",
]
