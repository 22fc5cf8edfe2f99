"""xaikit benchmark: time and memory of each built-in method as a ratio to the floor.

The floor is one compiled forward+backward pass over the same number of model evaluations
(N for saliency and guided backprop, N x (steps + 1) for trapezoid IG, x num_runs for
random-baseline IG), at its best chunk size. When Xplique is importable it runs on the same
cases, interleaved with xaikit, against the same floor.

    python benchmarks/run.py            # full table (several minutes)
    python benchmarks/run.py --quick    # under a minute
    python benchmarks/run.py --memory   # memory section only (one fresh process per case)
    python benchmarks/run.py --sweep    # IG time per batch_size (how the default was chosen)
    python benchmarks/run.py --rounds 15 --quick   # median and spread of interleaved rounds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from adapters import evaluations, xaikit_call, xplique_call, xplique_version  # noqa: E402
from measure import PeakRSS, floor_runner, floor_seconds, median_seconds  # noqa: E402
from models import build  # noqa: E402

import xaikit  # noqa: E402

FULL_CASES = [
    (model, method, n)
    for model in ("mlp", "cnn1d", "cnn64")
    for method in ("saliency", "guided_backprop", "integrated_gradients", "random_baseline_ig")
    for n in (1, 16, 64)
] + [
    ("mobilenetv2", method, n)
    for method in ("saliency", "guided_backprop", "integrated_gradients")
    for n in (1, 16)
]
QUICK_CASES = [
    ("mlp", "saliency", 1),
    ("mlp", "guided_backprop", 1),
    ("mlp", "integrated_gradients", 16),
    ("cnn64", "saliency", 16),
    ("cnn64", "integrated_gradients", 16),
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if "model name" in line]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    devices = [d.device_type for d in tf.config.list_physical_devices()]
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, devices {devices}"
    )


def run_case(model_name: str, method: str, n: int, repeats: int, with_xplique: bool) -> dict:
    model, x = build(model_name, n)
    targets = np.asarray(model(x[:n])).argmax(axis=-1)
    rows = evaluations(method, n)
    floor, chunk = floor_seconds(model, rows, repeats)
    ours = xaikit_call(method, model, x, targets, None)
    chunk_rows = xaikit.Saliency(model).batch_size  # xaikit's default for this model
    theirs = xplique_call(method, model, x, targets, chunk_rows) if with_xplique else None
    with PeakRSS() as peak:
        ours()  # warm-up: tracing happens here; its peak bounds what later calls need
    if theirs is not None:
        try:
            theirs()
        except Exception as error:  # noqa: BLE001 - report and go on
            print(f"  xplique failed on {model_name}/{method}: {error!s:.80}", file=sys.stderr)
            theirs = None
    ours_times, theirs_times = [], []
    for _ in range(repeats):  # interleaved, so drifts in machine load hit both alike
        ours_times.append(median_seconds(ours, 1))
        if theirs is not None:
            theirs_times.append(median_seconds(theirs, 1))
    ours_s = statistics.median(ours_times)
    theirs_s = statistics.median(theirs_times) if theirs_times else None
    return {
        "model": model_name,
        "method": method,
        "n": n,
        "evals": rows,
        "floor_ms": floor * 1e3,
        "floor_chunk": chunk,
        "batch_size": chunk_rows,
        "xaikit_ms": ours_s * 1e3,
        "ratio": ours_s / floor,
        "samples_per_s": n / ours_s,
        "peak_mib": peak.peak_bytes / 2**20,
        "xplique_ms": None if theirs_s is None else theirs_s * 1e3,
        "xplique_ratio": None if theirs_s is None else theirs_s / floor,
    }


def print_table(rows: list[dict]) -> None:
    header = (
        "| model | method | N | evals | batch_size | floor ms (best chunk) | xaikit ms "
        "| xaikit / floor | samples/s | first-call peak MiB | Xplique ms | Xplique / floor |"
    )
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for r in rows:
        xq_ms = "-" if r["xplique_ms"] is None else f"{r['xplique_ms']:.1f}"
        xq_ratio = "-" if r["xplique_ratio"] is None else f"{r['xplique_ratio']:.2f}"
        print(
            f"| {r['model']} | {r['method']} | {r['n']} | {r['evals']} | {r['batch_size']} | "
            f"{r['floor_ms']:.1f} ({r['floor_chunk']}) | {r['xaikit_ms']:.1f} | "
            f"**{r['ratio']:.2f}** | {r['samples_per_s']:.1f} | {r['peak_mib']:.0f} | "
            f"{xq_ms} | {xq_ratio} |"
        )
    sys.stdout.flush()


# ----------------------------------------------------------------------------- rounds
def _once(fn, calls: int) -> float:
    """Mean seconds of ``calls`` back-to-back calls (enough that a round is not timer noise)."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def _spread(values: list[float]) -> str:
    q1, median, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return f"{median:.2f} ({q1:.2f}-{q3:.2f}; {min(values):.2f}-{max(values):.2f})"


def rounds_table(cases: list[tuple[str, str, int]], rounds: int, with_xplique: bool) -> None:
    """Each round times the floor, xaikit and Xplique once each, one after the other, so a
    change in machine load hits all three; the ratios of each round are then summarised.

    Printed per case: median ratio to the floor of the same round, its interquartile range
    and its min-max over the rounds. Each timing is the mean of enough back-to-back calls to
    span about 50 ms (one call for the slow cases).
    """
    print(f"### Interleaved rounds ({rounds} per case): ratio to the floor of the same round\n")
    print(
        "| model | method | N | floor ms (chunk) | xaikit / floor: median (IQR; min-max) "
        "| Xplique / floor: median (IQR; min-max) |"
    )
    print("|---|---|---|---|---|---|")
    for model_name, method, n in cases:
        model, x = build(model_name, n)
        targets = np.asarray(model(x[:n])).argmax(axis=-1)
        floor, floor_s, chunk = floor_runner(model, evaluations(method, n), 3)
        calls = max(1, int(0.05 / max(floor_s, 1e-6)))  # each timing spans >= ~50 ms
        ours = xaikit_call(method, model, x, targets, None)
        ours()
        theirs = None
        if with_xplique:
            theirs = xplique_call(method, model, x, targets, xaikit.Saliency(model).batch_size)
            theirs()
        mine, other, floors = [], [], []
        for _ in range(rounds):
            base = _once(floor, calls)
            floors.append(base)
            mine.append(_once(ours, calls) / base)
            if theirs is not None:
                other.append(_once(theirs, calls) / base)
        shown_theirs = _spread(other) if other else "-"
        print(
            f"| {model_name} | {method} | {n} | {statistics.median(floors) * 1e3:.1f} "
            f"({chunk}) | {_spread(mine)} | {shown_theirs} |"
        )
        sys.stdout.flush()


# ----------------------------------------------------------------------------- memory
def memory_probe(lib: str, model_name: str, n: int, steps: int, batch_size: int | None) -> None:
    """Child process: peak RSS above start of one cold IG call, tracing included.

    Start is after the model is built, before it has run: a warm-up call would leave the
    allocator's pools filled and hide what the call needs. Targets cycle through the classes.
    """
    model, x = build(model_name, n)
    targets = np.arange(n) % int(model.outputs[0].shape[-1])
    make = xaikit_call if lib == "xaikit" else xplique_call
    call = make("integrated_gradients", model, x, targets, batch_size, steps=steps)
    with PeakRSS() as peak:
        call()
    print(json.dumps({"peak_mib": peak.peak_bytes / 2**20}))


def memory_section(with_xplique: bool) -> None:
    print("\n### Peak memory of one cold IG call on 64 images 64x64x3 (fresh process per case)\n")
    print("| library | steps | batch_size | peak RSS above start, MiB |")
    print("|---|---|---|---|")
    cases = [("xaikit", 20, None), ("xaikit", 50, None), ("xaikit", 200, None)]
    if with_xplique:
        cases += [("xplique", 50, None), ("xplique", 50, 64)]
    for lib, steps, batch_size in cases:
        argv = [sys.executable, __file__, "--probe", lib, "cnn64", "64", str(steps)]
        if batch_size is not None:
            argv.append(str(batch_size))
        out = subprocess.run(argv, capture_output=True, text=True, check=False)
        try:
            peak = json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"]
            shown = f"{peak:.0f}"
        except (IndexError, ValueError, KeyError):
            shown = "failed: " + (out.stderr.strip().splitlines() or ["?"])[-1][:80]
        label = "default" if batch_size is None else str(batch_size)
        if lib == "xaikit" and batch_size is None:
            label += f" ({xaikit.Saliency(build('cnn64', 1)[0]).batch_size})"
        print(f"| {lib} | {steps} | {label} | {shown} |")
        sys.stdout.flush()


# ----------------------------------------------------------------------------- sweep
def sweep(repeats: int) -> None:
    print("\n### IG (50 steps) time per batch_size, ratio to the floor\n")
    sizes = (16, 32, 64, 128, 256)
    print("| model | N | " + " | ".join(f"bs={s}" for s in sizes) + " |")
    print("|---|---|" + "---|" * len(sizes))
    for model_name, n in (("mlp", 16), ("cnn1d", 16), ("cnn64", 16), ("mobilenetv2", 2)):
        model, x = build(model_name, n)
        targets = np.asarray(model(x)).argmax(axis=-1)
        floor, _ = floor_seconds(model, evaluations("integrated_gradients", n), repeats)
        cells = []
        for size in sizes:
            call = xaikit_call("integrated_gradients", model, x, targets, size)
            call()
            cells.append(f"{median_seconds(call, repeats) / floor:.2f}")
        print(f"| {model_name} | {n} | " + " | ".join(cells) + " |")
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few cases, under a minute")
    parser.add_argument("--memory", action="store_true", help="only the memory section")
    parser.add_argument("--sweep", action="store_true", help="only the batch_size sweep")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per case")
    parser.add_argument("--no-xplique", action="store_true", help="skip Xplique even if present")
    parser.add_argument("--only", default=None, help="only cases whose model matches this")
    parser.add_argument(
        "--rounds", type=int, default=None, help="interleaved rounds per case: median and spread"
    )
    parser.add_argument("--probe", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        lib, model_name, n, steps, *bs = args.probe
        memory_probe(lib, model_name, int(n), int(steps), int(bs[0]) if bs else None)
        return 0
    version = None if args.no_xplique else xplique_version()
    print(f"Machine: {machine()}")
    print(
        f"xaikit {xaikit.__version__} (default batch_size: automatic from the input size); "
        f"Xplique: {version or 'not installed'}\n"
    )
    repeats = args.repeats or (3 if args.quick else 5)
    load = os.getloadavg()
    print(
        f"Load average before the run (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        + (" -- NOT idle: timings will be noisy" if load[0] > 0.5 else "")
        + "\n"
    )
    if args.rounds:
        cases = QUICK_CASES if args.quick else FULL_CASES
        if args.only:
            cases = [c for c in cases if args.only in c[0]]
        rounds_table(cases, args.rounds, version is not None)
        return 0
    if args.sweep:
        sweep(repeats)
        return 0
    if not args.memory:
        cases = QUICK_CASES if args.quick else FULL_CASES
        if args.only:
            cases = [c for c in cases if args.only in c[0]]
        started = time.perf_counter()
        rows = []
        for model_name, method, n in cases:
            rows.append(run_case(model_name, method, n, repeats, version is not None))
            print(f"  done {model_name}/{method}/N={n}", file=sys.stderr)
        print_table(rows)
        print(
            f"\n({len(rows)} cases, median of {repeats} repeats, "
            f"{time.perf_counter() - started:.0f} s)"
        )
    if args.memory or not args.quick:
        memory_section(version is not None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
