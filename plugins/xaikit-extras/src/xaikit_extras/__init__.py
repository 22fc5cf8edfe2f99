"""xaikit-extras: the 'margin' operator and the 'signed_absmax' and 'abs_sum' reducers.

::

    import xaikit

    explainer = xaikit.Saliency(model, operator="margin", reducer="signed_absmax",
                                absolute=False)
"""

from .operators import margin
from .reducers import abs_sum, signed_absmax

__all__ = ["margin", "signed_absmax", "abs_sum"]
