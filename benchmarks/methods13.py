"""Issue 13's methods (gradient_shap, guided_gradcam) as a ratio to the floor.

The floor is one compiled forward+backward pass over the same number of rows: N x
num_samples (sample, path) rows for gradient SHAP, N rows for guided Grad-CAM (which runs
two gradient passes per sample: guided backprop and the Grad-CAM map). Integrated gradients
with the same number of points per sample is timed beside gradient SHAP for context.

    python benchmarks/methods13.py              # the table (about two minutes)
    python benchmarks/methods13.py --repeats 3

Needs the plugins installed: ``pip install -e plugins/xaikit-shap -e plugins/xaikit-cam``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from measure import floor_seconds, median_seconds  # noqa: E402
from models import build  # noqa: E402
from run import machine  # noqa: E402

import xaikit  # noqa: E402

PATHS = 50  # gradient SHAP paths per sample; IG with 49 steps evaluates 50 points too

#: (model, method, N, parameters, rows per sample)
CASES = [
    (model, method, 16, params, PATHS)
    for model in ("mlp", "cnn1d", "cnn64")
    for method, params in (
        ("gradient_shap", {"num_samples": PATHS, "seed": 0, "background": True}),
        ("integrated_gradients", {"steps": PATHS - 1}),
    )
] + [
    ("cnn64", "gradient_shap", 16, {"num_samples": PATHS, "seed": 0, "noise": 0.1}, PATHS),
    ("cnn64", "guided_gradcam", 1, {}, 1),
    ("cnn64", "guided_gradcam", 16, {}, 1),
    ("cnn64", "guided_gradcam", 64, {}, 1),
]


def run_case(model_name: str, method: str, n: int, params: dict, per: int, repeats: int) -> dict:
    model, x = build(model_name, n + 32)
    x, background = x[:n], x[n:]  # 32 other samples as the background
    params = dict(params)
    if params.pop("background", False):
        params["background"] = background
    explainer = xaikit.get_explainer(method, model, **params)
    targets = np.asarray(model(x)).argmax(axis=-1)
    rows = n * per
    floor, chunk = floor_seconds(model, rows, repeats)

    def call() -> None:
        explainer.explain(x, targets)

    start = time.perf_counter()
    call()  # tracing
    first = time.perf_counter() - start
    seconds = median_seconds(call, repeats)
    shown = {k: v for k, v in params.items() if k not in ("background", "seed")}
    return {
        "case": f"{model_name} | {method} {shown or ''}".rstrip(),
        "n": n,
        "rows": rows,
        "batch_size": explainer.batch_size,
        "floor_ms": floor * 1e3,
        "chunk": chunk,
        "ms": seconds * 1e3,
        "first_ms": first * 1e3,
        "per_sample": seconds * 1e3 / n,
        "ratio": seconds / floor,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; median of {args.repeats} repeats\n")
    print(
        "| model | method | N | rows | batch_size | floor ms (best chunk) | ms | ms / sample "
        "| ratio to floor | first call ms |"
    )
    print("|---" * 10 + "|")
    start = time.perf_counter()
    for model_name, method, n, params, per in CASES:
        r = run_case(model_name, method, n, params, per, args.repeats)
        print(
            f"| {r['case']} | {r['n']} | {r['rows']} | {r['batch_size']} | "
            f"{r['floor_ms']:.1f} ({r['chunk']}) | {r['ms']:.1f} | {r['per_sample']:.2f} | "
            f"**{r['ratio']:.2f}** | {r['first_ms']:.0f} |",
            flush=True,
        )
    print(f"\n({len(CASES)} cases, {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
