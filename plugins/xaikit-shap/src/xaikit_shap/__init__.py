"""xaikit-shap: Gradient SHAP (expected gradients) for Keras models.

::

    import xaikit
    from xaikit_shap import GradientShap

    explainer = GradientShap(model, background=train_x[:200], num_samples=64, seed=0)
    explanation = explainer.explain(x)       # attributions (N, ...), convergence_delta (N,)
    explainer = xaikit.get_explainer("gradient_shap", model, noise=0.1)
"""

from .gradient_shap import SEED_LIMIT, GradientShap, path_noise

__all__ = ["GradientShap", "path_noise", "SEED_LIMIT"]
