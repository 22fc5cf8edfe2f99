"""xaikit-noise: SmoothGrad, VarGrad and SquareGrad around any xaikit attribution method.

::

    import xaikit
    from xaikit_noise import SmoothGrad

    explainer = SmoothGrad(xaikit.IntegratedGradients(model, steps=16), n_samples=20,
                           noise=0.1, seed=0)
    explanation = explainer.explain(images, labels)

    # or by name, once the package is installed:
    explainer = xaikit.get_explainer("smoothgrad", model, method="saliency", seed=0)
"""

from .factories import smoothgrad, squaregrad, vargrad
from .noise import draw_seeds, noise_scale, standard_normal
from .wrappers import NoiseWrapper, SmoothGrad, SquareGrad, VarGrad

__all__ = [
    "NoiseWrapper",
    "SmoothGrad",
    "VarGrad",
    "SquareGrad",
    "smoothgrad",
    "vargrad",
    "squaregrad",
    "draw_seeds",
    "standard_normal",
    "noise_scale",
]
