"""xaikit-occlusion: occlusion attributions for images, time series and tables.

::

    import xaikit
    from xaikit_occlusion import Occlusion

    explanation = Occlusion(model, patch=(4, 4), stride=2).explain(images, labels)
    explanation = xaikit.get_explainer("occlusion", model).explain(table)
"""

from .occlusion import Occlusion, occlusion_fn
from .windows import Windows, windows

__all__ = ["Occlusion", "occlusion_fn", "Windows", "windows"]
