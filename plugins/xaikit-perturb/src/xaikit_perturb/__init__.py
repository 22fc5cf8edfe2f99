"""xaikit-perturb: LIME and Kernel SHAP over superpixels, time windows or table columns.

::

    import xaikit
    from xaikit_perturb import KernelShap, Lime

    explanation = Lime(model, num_samples=1000, seed=0).explain(images)       # SLIC segments
    explanation = KernelShap(model, background=train[:50], seed=0).explain(table)
    explanation = xaikit.get_explainer("lime", model, evidence="pro").explain(images)
"""

from .base import Fit, SegmentExplainer
from .kernel_shap import KernelShap
from .lime import Lime
from .segments import SEGMENTATIONS, segment, spread

__all__ = ["Lime", "KernelShap", "SegmentExplainer", "Fit", "SEGMENTATIONS", "segment", "spread"]
