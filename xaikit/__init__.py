"""xaikit: attribution methods for Keras 3 models on TensorFlow, open to plugins.

Quick start::

    import xaikit
    explainer = xaikit.IntegratedGradients(model, steps=64)
    explanation = explainer.explain(images, targets=labels)
    explanation.attributions        # (N, H, W, C)
    explanation.convergence_delta   # (N,): sum(attributions) - (f(x) - f(baseline))
"""

from ._backend import check_backend

check_backend()

from . import (  # noqa: E402
    axioms,
    callbacks,
    metrics,
    testing,
    validators,
)
from .capabilities import DATA_KINDS, Capabilities, capabilities_of  # noqa: E402
from .errors import (  # noqa: E402
    BackendError,
    ChunkSizeWarning,
    InputError,
    NameClashError,
    NoGuidableActivationError,
    PluginError,
    PluginWarning,
    UnknownNameError,
    XaikitError,
)
from .explainer import DEFAULT_BATCH_SIZE, BatchResult, Explainer  # noqa: E402
from .explanation import Explanation  # noqa: E402
from .kernels import KernelCache  # noqa: E402
from .methods import (  # noqa: E402
    GuidedBackprop,
    IntegratedGradients,
    PathIntegral,
    RandomBaselineIG,
    Saliency,
)
from .model import model_outputs  # noqa: E402
from .quantiles import quantile_maps  # noqa: E402
from .registry import (  # noqa: E402
    Registry,
    get_explainer,
    get_metric,
    get_registry,
    hookimpl,
    list_methods,
    list_metrics,
    list_operators,
    list_reducers,
    register_method,
    register_metric,
    register_operator,
    register_plugin,
    register_reducer,
    unregister_plugin,
)
from .runs import Run, RunMismatchError, explain_dataset, open_run  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "DEFAULT_BATCH_SIZE",
    "Explainer",
    "Explanation",
    "BatchResult",
    "Capabilities",
    "DATA_KINDS",
    "capabilities_of",
    "KernelCache",
    "model_outputs",
    "quantile_maps",
    "validators",
    "Saliency",
    "GuidedBackprop",
    "PathIntegral",
    "IntegratedGradients",
    "RandomBaselineIG",
    "Registry",
    "hookimpl",
    "get_explainer",
    "get_registry",
    "list_methods",
    "list_operators",
    "list_reducers",
    "list_metrics",
    "get_metric",
    "register_metric",
    "register_plugin",
    "unregister_plugin",
    "register_method",
    "register_operator",
    "register_reducer",
    "axioms",
    "callbacks",
    "testing",
    "metrics",
    "XaikitError",
    "InputError",
    "UnknownNameError",
    "PluginError",
    "NameClashError",
    "PluginWarning",
    "ChunkSizeWarning",
    "NoGuidableActivationError",
    "BackendError",
    "explain_dataset",
    "open_run",
    "Run",
    "RunMismatchError",
]
