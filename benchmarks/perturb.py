"""Speed of the perturbation methods (plugins/xaikit-perturb): lime and kernel_shap.

Two tables:

1. Time per explained sample, as a ratio to the *floor*: one compiled forward pass of the
   model over the same number of rows the method evaluates (its masked copies), in the best
   of a few chunk sizes. The method's own work (segmenting, drawing masks, building the
   copies, the regressions) is what the ratio adds.
2. Side by side in this process: ``kernel_shap`` against shap's ``KernelExplainer`` (same
   model, samples, background and number of coalitions, l1_reg off) and ``lime`` against the
   lime package's ``LimeTabularExplainer`` (same model and number of perturbed samples).
   Both reference packages get a compiled forward function as their model.

Run: ``python benchmarks/perturb.py`` (``--quick`` for a smoke run). Needs the
``xaikit-perturb`` plugin, and ``shap`` / ``lime`` for table 2 (skipped when missing).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from measure import median_seconds  # noqa: E402
from models import build  # noqa: E402
from xaikit_perturb import KernelShap, Lime  # noqa: E402

#: (model, method, N samples, parameters, background size for kernel_shap)
CASES = [
    ("mlp", "lime", 16, {"num_samples": 1000}, 0),
    ("mlp", "kernel_shap", 16, {"num_samples": 512}, 10),
    ("cnn1d", "lime", 8, {"num_samples": 500}, 0),
    ("cnn1d", "kernel_shap", 4, {"num_samples": 256}, 5),
    ("cnn64", "lime", 2, {"num_samples": 500}, 0),
    ("cnn64", "kernel_shap", 2, {"num_samples": 256}, 2),
]
CHUNKS = (256, 1024, 4096)


def forward_fn(model, sample_shape, target: int):
    """Compiled score of one output: (rows, ...) -> (rows,)."""

    @tf.function(input_signature=[tf.TensorSpec((None, *sample_shape), tf.float32)])
    def forward(x):
        return model(x, training=False)[:, target]

    return forward


def floor_seconds(model, x: np.ndarray, rows: int, repeats: int) -> tuple[float, int]:
    """Best time of a compiled forward pass over ``rows`` copies, over chunk sizes."""
    forward = forward_fn(model, x.shape[1:], 0)
    data = tf.constant(np.resize(x, (rows, *x.shape[1:])))
    best = (float("inf"), 0)
    for chunk in CHUNKS:
        if chunk > 4 * rows and chunk != CHUNKS[0]:
            break

        def run(chunk=chunk):
            for start in range(0, rows, chunk):
                forward(data[start : start + chunk]).numpy()

        run()
        best = min(best, (median_seconds(run, repeats), chunk))
    return best


def explainer_for(method: str, model, x: np.ndarray, params: dict, background: int, batch: int):
    if method == "lime":
        return Lime(model, seed=0, batch_size=batch, **params)
    rng = np.random.default_rng(1)
    bg = rng.normal(size=(background, *x.shape[1:])).astype("float32")
    return KernelShap(model, background=bg, seed=0, batch_size=batch, **params)


def rows_evaluated(explainer, x: np.ndarray) -> int:
    """Masked copies the explainer scores for ``x`` (plus the inputs themselves)."""
    prepared = explainer.prepare(x, np.zeros((len(x), 1), "float32"))
    total = 0
    for labels, seed in zip(prepared["labels"], prepared["seeds"], strict=True):
        masks, _ = explainer.masks(np.random.default_rng(int(seed)), int(labels.max()) + 1)
        per_row = 1 if isinstance(explainer, Lime) else len(explainer.background)
        total += len(masks) * per_row + 1
    return total


def table_floor(repeats: int, quick: bool) -> list[str]:
    lines = [
        "| model | method | N | rows evaluated | batch_size | floor ms (chunk) | xaikit ms "
        "| xaikit / floor | ms per sample |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for name, method, n, params, background in CASES:
        if quick:
            n = min(n, 2)
        model, x = build(name, n)
        batch = {"mlp": 4096, "cnn1d": 1024}.get(name, 256)
        explainer = explainer_for(method, model, x, params, background, batch)
        rows = rows_evaluated(explainer, x)
        explainer.explain(x, 0)  # compile
        ours = median_seconds(lambda e=explainer, x=x: e.explain(x, 0), repeats)
        floor, chunk = floor_seconds(model, x, rows, repeats)
        lines.append(
            f"| {name} | {method} | {n} | {rows} | {batch} | {floor * 1e3:.1f} ({chunk}) "
            f"| {ours * 1e3:.1f} | **{ours / floor:.2f}** | {ours * 1e3 / n:.1f} |"
        )
        print(lines[-1], flush=True)
    return lines


def table_references(repeats: int, quick: bool) -> list[str]:
    lines = [
        "| case | evaluations per sample | xaikit ms per sample | reference ms per sample "
        "| speed-up |",
        "|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    model, x = build("mlp", 4 if quick else 16)
    forward = forward_fn(model, x.shape[1:], 0)
    rng = np.random.default_rng(1)
    background = rng.normal(size=(10, x.shape[1])).astype("float32")
    try:
        import shap
    except ImportError:
        lines.append("| kernel_shap vs shap | shap not installed | | | |")
    else:
        nsamples = 512
        ours = KernelShap(
            model, background=background, num_samples=nsamples, seed=0, batch_size=4096
        )
        ours.explain(x, 0)

        def f(rows):
            return forward(tf.constant(rows, tf.float32)).numpy()

        reference = shap.KernelExplainer(f, background)
        reference.shap_values(x[:1], nsamples=nsamples, l1_reg=False, silent=True)
        t_ours = median_seconds(lambda: ours.explain(x, 0), repeats) / len(x)
        t_ref = median_seconds(
            lambda: reference.shap_values(x, nsamples=nsamples, l1_reg=False, silent=True),
            max(1, repeats // 2),
        ) / len(x)
        evals = (nsamples + 1) * len(background) + 1
        lines.append(
            f"| kernel_shap vs shap {shap.__version__} KernelExplainer, mlp, B=10, "
            f"{nsamples} coalitions | {evals} | {t_ours * 1e3:.2f} | {t_ref * 1e3:.2f} "
            f"| **{t_ref / t_ours:.1f}x** |"
        )
        print(lines[-1], flush=True)
    try:
        import lime
        from lime.lime_tabular import LimeTabularExplainer
    except ImportError:
        lines.append("| lime vs lime | lime not installed | | | |")
    else:
        num_samples = 1000
        ours = Lime(model, num_samples=num_samples, seed=0, batch_size=4096)
        ours.explain(x, 0)
        train = rng.normal(size=(200, x.shape[1])).astype("float32")
        reference = LimeTabularExplainer(train, discretize_continuous=False, random_state=0)

        def proba(rows):
            return model(tf.constant(rows, tf.float32), training=False).numpy()

        def run_reference():
            for row in x:
                reference.explain_instance(
                    row, proba, labels=(0,), num_features=x.shape[1], num_samples=num_samples
                )

        run_reference()
        t_ours = median_seconds(lambda: ours.explain(x, 0), repeats) / len(x)
        t_ref = median_seconds(run_reference, max(1, repeats // 2)) / len(x)
        version = getattr(lime, "__version__", "0.2")
        lines.append(
            f"| lime vs lime {version} LimeTabularExplainer, mlp, {num_samples} samples "
            f"| {num_samples + 1} | {t_ours * 1e3:.2f} | {t_ref * 1e3:.2f} "
            f"| **{t_ref / t_ours:.1f}x** |"
        )
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 samples, 2 repeats")
    args = parser.parse_args()
    repeats = 2 if args.quick else args.repeats
    start = time.perf_counter()
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs\n", flush=True)
    table_floor(repeats, args.quick)  # each table is printed row by row
    print(flush=True)
    table_references(repeats, args.quick)
    print(f"\n{time.perf_counter() - start:.0f} s in all", flush=True)


if __name__ == "__main__":
    main()
