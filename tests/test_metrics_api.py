"""xaikit.metrics.evaluate, and clear errors for bad input."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
import tensorflow as tf

import xaikit
from xaikit.errors import InputError, UnknownNameError
from xaikit.metrics import (
    Deletion,
    Infidelity,
    MaxSensitivity,
    ModelRandomization,
    MuFidelity,
    PixelFlipping,
    evaluate,
)
from xaikit.registry import Registry, use_registry
from xaikit.testing import conformance_models

SMALL = {
    "deletion": {"steps": 3},
    "insertion": {"steps": 3},
    "pixel_flipping": {"fraction": 0.5, "step": 0.25},
    "mufidelity": {"n_subsets": 4},
    "infidelity": {"n_perturbations": 2},
    "max_sensitivity": {"n_perturbations": 2},
    "randomization": {},
}


@pytest.fixture(scope="module")
def models():
    return conformance_models()


@pytest.fixture
def registry():
    with use_registry(Registry(autoload=False)) as fresh:
        yield fresh


# ---------------------------------------------------------------------------- evaluate
def test_evaluate_explains_once_and_runs_every_registered_metric(models, registry):
    model, x = models["tabular"]
    explainer = xaikit.IntegratedGradients(model, steps=8, batch_size=32)
    results = evaluate(explainer, x, 1, **SMALL)
    assert list(results) == xaikit.list_metrics() == sorted(SMALL)
    explanation = explainer.explain(x, 1)
    for name, result in results.items():
        cls = xaikit.metrics.BUILTIN_METRICS[name]
        extra = {"explainer": explainer} if cls.requires_explainer else {}
        direct = cls(model, batch_size=32, **SMALL[name], **extra)(x, 1, explanation)
        assert result.name == name and result.higher_is_better is cls.higher_is_better
        np.testing.assert_allclose(result.scores, direct.scores, rtol=1e-6, err_msg=name)
        assert result.mean == pytest.approx(float(np.mean(result.scores)))


def test_evaluate_shares_parameters_and_keeps_the_explainers_operator(models, registry):
    model, x = models["tabular"]
    logits = xaikit.Saliency(model, operator="logits", absolute=False)
    dataset = tf.data.Dataset.from_tensor_slices((x, np.full(len(x), 2))).batch(4)
    results = evaluate(
        logits, dataset, metrics=["mufidelity", "infidelity"], seed=3, mufidelity={"n_subsets": 5}
    )
    assert list(results) == ["mufidelity", "infidelity"]
    explanation = logits.explain(x, 2)
    expected = MuFidelity(model, operator="logits", n_subsets=5, seed=3)(x, 2, explanation)
    np.testing.assert_allclose(results["mufidelity"].scores, expected.scores, rtol=1e-6)
    expected = Infidelity(model, operator="logits", seed=3)(x, 2, explanation)
    np.testing.assert_allclose(results["infidelity"].scores, expected.scores, rtol=1e-6)
    built = Deletion(model, steps=2)
    assert list(evaluate(logits, x, metrics=[built])) == ["deletion"]


def test_evaluate_refuses_unknown_names_and_parameters(models, registry):
    model, x = models["tabular"]
    explainer = xaikit.Saliency(model)
    with pytest.raises(
        UnknownNameError, match=r"unknown metric 'delete' \(did you mean 'deletion'"
    ):
        evaluate(explainer, x, metrics=["delete"])
    with pytest.raises(InputError, match="stepz: no selected metric takes this parameter"):
        evaluate(explainer, x, metrics=["deletion"], stepz=3)
    with pytest.raises(InputError, match="deletion: expected a mapping"):
        evaluate(explainer, x, metrics=["deletion"], deletion=3)
    other, _ = models["image"]
    with pytest.raises(InputError, match="metrics: expected metrics of the explainer's model"):
        evaluate(explainer, x, metrics=[Deletion(other)])
    with pytest.raises(InputError, match="explainer: expected a xaikit.Explainer, got str"):
        evaluate("saliency", x)
    with pytest.raises(UnknownNameError, match="known metrics: deletion, infidelity"):
        xaikit.get_metric("nope", model)


# ---------------------------------------------------------------------------- bad input
def test_attributions_of_the_wrong_shape_or_kind_are_refused(models):
    model, x = models["image"]
    metric = Deletion(model, steps=2)
    with pytest.raises(
        InputError,
        match=r"attributions: expected shape \(7, 8, 8, 3\) \(the inputs' shape\) or "
        r"\(7, 8, 8\) \(channels reduced\), got shape \(7, 8\)",
    ):
        metric(x, 0, np.zeros((7, 8)))
    with pytest.raises(InputError, match=r"attributions: expected shape \(7, 8, 8, 3\)"):
        metric(x, 0, np.zeros((6, 8, 8, 3)))
    with pytest.raises(InputError, match="attributions: expected finite values, got NaN"):
        metric(x, 0, np.full(x.shape, np.nan))
    with pytest.raises(InputError, match="attributions: expected numbers, got an array of dtype"):
        metric(x, 0, np.full(x.shape, "a"))
    with pytest.raises(InputError, match="attributions: the 'deletion' metric needs attributions"):
        metric(x, 0)
    with pytest.raises(InputError, match=r"targets: class indices must be in \[0, 2\]"):
        metric(x, 5, np.zeros(x.shape))
    with pytest.raises(InputError, match=r"baseline: expected a number, an array of one sample"):
        Deletion(model, baseline=np.zeros(5))(x, 0, np.zeros(x.shape))
    tab, tab_x = models["tabular"]
    with pytest.raises(InputError, match=r"attributions: expected shape \(7, 6\) \(the inputs"):
        Deletion(tab)(tab_x, 0, np.zeros((7, 6, 1)))


def test_out_of_range_parameters_are_refused(models):
    model, x = models["tabular"]
    cases = [
        (lambda: Deletion(model, steps=0), "steps: expected an integer >= 1, got 0"),
        (lambda: Deletion(model, batch_size=0), "batch_size: expected an integer >= 1, got 0"),
        (lambda: PixelFlipping(model, fraction=1.5), r"fraction: expected a fraction in \(0, 1\]"),
        (lambda: PixelFlipping(model, step=0), r"step: expected a fraction in \(0, 1\], got 0"),
        (
            lambda: PixelFlipping(model, fraction=0.2, step=0.5),
            "step: expected a step no larger than fraction=0.2, got 0.5",
        ),
        (lambda: PixelFlipping(model, noise_std=-1.0), "noise_std: expected finite values >= 0"),
        (
            lambda: MuFidelity(model, subset_fraction=1.0),
            r"subset_fraction: expected a fraction in \(0, 1\), got 1.0",
        ),
        (lambda: MuFidelity(model, n_subsets=1), "n_subsets: expected an integer >= 2"),
        (lambda: MuFidelity(model, grid_size=0), "grid_size: expected an integer >= 1"),
        (lambda: Infidelity(model, noise_scale=0.0), "noise_scale: expected a finite number > 0"),
        (
            lambda: MaxSensitivity(model),
            "explainer: the 'max_sensitivity' metric re-explains the inputs, so it needs "
            "explainer=",
        ),
        (
            lambda: ModelRandomization(model, explainer="saliency"),
            "explainer: expected a xaikit.Explainer",
        ),
        (
            lambda: MaxSensitivity(model, explainer=xaikit.Saliency(models["image"][0])),
            "explainer: expected an explainer of the metric's model",
        ),
        (lambda: MaxSensitivity(model, explainer=xaikit.Saliency(model), radius=0), "radius:"),
        (
            lambda: ModelRandomization(model, explainer=xaikit.Saliency(model), similarity="ssim"),
            r"similarity: expected one of \('spearman', 'pearson'\), got 'ssim'",
        ),
        (
            lambda: ModelRandomization(model, explainer=xaikit.Saliency(model), layers=["nope"]),
            r"layers: expected names of layers with weights \(.+\), got \['nope'\]",
        ),
        (lambda: Deletion(model, operator="nope"), "operator: unknown operator 'nope'"),
    ]
    for build, message in cases:
        with pytest.raises((InputError, UnknownNameError), match=message):
            build()
    attributions = np.zeros(x.shape)
    with pytest.raises(InputError, match=r"fraction: expected a share that flips at least one"):
        PixelFlipping(model, fraction=0.05, step=0.01)(x, 0, attributions)
    with pytest.raises(InputError, match="noise_std: expected a number or an array of one"):
        PixelFlipping(model, noise_std=np.ones(4), step=0.25)(x, 0, attributions)


def test_explainer_metrics_check_the_attributions_against_the_explainer(models):
    model, x = models["image"]
    explainer = xaikit.Saliency(model)  # reduces channels: (N, 8, 8)
    metric = MaxSensitivity(model, explainer=explainer, n_perturbations=1)
    with pytest.raises(InputError, match=r"attributions: expected the shape the explainer returns"):
        metric(x[:2], 0, np.zeros(x[:2].shape))
    result = metric(x[:2], 0)  # computed by the explainer itself
    assert result.scores.shape == (2,) and np.all(np.isfinite(result.scores))
    clone = attrs.evolve(metric, radius=0.5)
    assert clone.radius == 0.5 and clone.explainer is explainer
