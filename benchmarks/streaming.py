"""Whole datasets: streaming throughput against in-memory ``explain()``, and peak memory.

::

    .venv/bin/python benchmarks/streaming.py            # both tables, a few minutes
    .venv/bin/python benchmarks/streaming.py --quick    # smaller cases

Throughput: the same samples explained by ``explainer.explain(x)`` (all in memory) and by
``xaikit.explain_dataset(explainer, np.load(path, mmap_mode="r"), out)`` (read shard by
shard from disk, written to a Zarr store); the ratio is in-memory time / streaming time
(target >= 0.85). Each figure is the median of several repeats after a warm-up.

Memory: each case runs in a fresh process (``--probe``), which reports its peak resident
memory (``resource.getrusage(...).ru_maxrss``): streaming 20,000 samples should peak within
1.25x of streaming 2,000; in-memory explain is shown beside it for contrast.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from models import MODELS  # noqa: E402

import xaikit  # noqa: E402


def small_cnn() -> keras.Model:
    """(N, 32, 32, 3) images -> 10 classes: two conv layers (the memory probe's model)."""
    init = keras.initializers.GlorotUniform
    inputs = keras.Input((32, 32, 3))
    h = keras.layers.Conv2D(16, 3, activation="relu", kernel_initializer=init(1))(inputs)
    h = keras.layers.Conv2D(16, 3, activation="relu", kernel_initializer=init(2))(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(h))


def model_named(name: str) -> keras.Model:
    return small_cnn() if name == "cnn32" else MODELS[name]()


def write_npy(path: Path, n: int, shape: tuple[int, ...], seed: int = 0) -> None:
    """A .npy of n random float32 samples, written in slices (never all in memory)."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype="float32", shape=(n, *shape))
    rng = np.random.default_rng(seed)
    for start in range(0, n, 1000):
        rows = min(1000, n - start)
        out[start : start + rows] = rng.uniform(size=(rows, *shape)).astype("float32")
    out.flush()
    del out


def explainer_for(model: keras.Model, method: str) -> xaikit.Explainer:
    if method == "integrated_gradients":
        return xaikit.IntegratedGradients(model, steps=16)
    return xaikit.get_explainer(method, model)


# ---------------------------------------------------------------------------- throughput
def throughput(model_name: str, method: str, n: int, repeats: int, root: Path) -> dict:
    model = model_named(model_name)
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    path = root / f"{model_name}-{n}.npy"
    write_npy(path, n, shape)
    x = np.load(path)
    explainer = explainer_for(model, method)
    explainer.explain(x[: explainer.batch_size])  # trace once
    memory, streamed = [], []
    for repeat in range(repeats):
        start = time.perf_counter()
        explainer.explain(x)
        memory.append(time.perf_counter() - start)
        out = root / f"run-{repeat}"
        start = time.perf_counter()
        data = np.load(path, mmap_mode="r")
        xaikit.explain_dataset(explainer, data, out, progress=False, overwrite=True)
        streamed.append(time.perf_counter() - start)
        shutil.rmtree(out)
    in_memory, streaming = statistics.median(memory), statistics.median(streamed)
    return {
        "case": f"{model_name} {shape}, {method}",
        "n": n,
        "batch_size": explainer.batch_size,
        "shard_size": xaikit.runs.default_shard_size(explainer.batch_size),
        "in_memory_s": in_memory,
        "streaming_s": streaming,
        "samples_per_s": n / streaming,
        "ratio": in_memory / streaming,
    }


# ---------------------------------------------------------------------------- memory
def probe(mode: str, path: str, model_name: str, method: str) -> None:
    """In a fresh process: explain the .npy at ``path``; print peak RSS (MiB) as JSON."""
    model = model_named(model_name)
    explainer = explainer_for(model, method)
    start = time.perf_counter()
    if mode == "stream":
        out = tempfile.mkdtemp(prefix="xaikit-bench-")
        data = np.load(path, mmap_mode="r")
        xaikit.explain_dataset(explainer, data, Path(out) / "run", progress=False)
        shutil.rmtree(out)
    else:
        explainer.explain(np.load(path))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"peak_mib": peak, "seconds": time.perf_counter() - start}))


def memory(sizes: list[int], root: Path, model_name: str, method: str) -> list[dict]:
    model = model_named(model_name)
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    rows = []
    for n in sizes:
        path = root / f"memory-{n}.npy"
        write_npy(path, n, shape)
        for mode in ("stream", "memory"):
            command = [sys.executable, __file__, "--probe", mode, str(path), model_name, method]
            env = {**os.environ, "XAIKIT_DISABLE_PLUGIN_AUTOLOAD": "1"}  # built-ins only
            done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append({"n": n, "mode": mode, "data_mib": path.stat().st_size / 2**20,
                         **result})  # fmt: skip
        path.unlink()
    return rows


# ---------------------------------------------------------------------------- report
def throughput_table(cases: list[tuple[str, str, int]], repeats: int, root: Path) -> None:
    print("## Streaming throughput (explain_dataset from a memory-mapped .npy into Zarr)\n")
    print("| case | N | batch_size | shard_size | in-memory s | streaming s | samples/s "
          "| in-memory / streaming |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for model_name, method, n in cases:
        r = throughput(model_name, method, n, repeats, root)
        print(f"| {r['case']} | {r['n']} | {r['batch_size']} | {r['shard_size']} | "
              f"{r['in_memory_s']:.2f} | {r['streaming_s']:.2f} | "
              f"{r['samples_per_s']:.0f} | **{r['ratio']:.2f}** |", flush=True)  # fmt: skip


def memory_table(sizes: list[int], root: Path) -> None:
    print("\n## Peak resident memory (fresh process per case; cnn32 (32, 32, 3), saliency)\n")
    print("| N | data MiB | mode | peak RSS MiB | seconds |")
    print("|---|---|---|---|---|")
    rows = memory(sizes, root, "cnn32", "saliency")
    for r in rows:
        print(f"| {r['n']} | {r['data_mib']:.0f} | {r['mode']} | {r['peak_mib']:.0f} | "
              f"{r['seconds']:.1f} |", flush=True)  # fmt: skip
    peak = {(r["n"], r["mode"]): r["peak_mib"] for r in rows}
    small, large = sizes
    ratio = peak[(large, "stream")] / peak[(small, "stream")]
    print(f"\nstreaming peak RSS, {large} vs {small} samples: {ratio:.2f}x (target <= 1.25x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller cases, fewer repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--only", choices=["throughput", "memory"], help="one table only")
    parser.add_argument("--probe", nargs=4, metavar=("MODE", "NPY", "MODEL", "METHOD"))
    args = parser.parse_args()
    if args.probe:
        probe(*args.probe)
        return
    repeats = args.repeats or (2 if args.quick else 5)
    scale = 10 if args.quick else 1
    cases = [
        ("mlp", "saliency", 20_000 // scale),
        ("mlp", "integrated_gradients", 20_000 // scale),
        ("cnn64", "saliency", 2_000 // scale),
        ("cnn64", "integrated_gradients", 500 // scale),
    ]
    with tempfile.TemporaryDirectory(prefix="xaikit-streaming-") as tmp:
        root = Path(tmp)
        if args.only != "memory":
            throughput_table(cases, repeats, root)
        if args.only != "throughput":
            memory_table([200, 2_000] if args.quick else [2_000, 20_000], root)


if __name__ == "__main__":
    main()
