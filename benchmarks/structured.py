"""What several inputs cost: a two-input model against the same model on concatenated inputs.

Both models compute the same function with the same layers: the two-input model takes an
image (32, 32, 3) and a table (16,); the concatenated one takes one flat vector of both and
slices it apart inside. Each method explains the same samples on both; the table prints the
median time of each and their ratio (two inputs / concatenated).

    python benchmarks/structured.py            # N = 32 samples, 5 repeats
    python benchmarks/structured.py --quick    # N = 16, 3 repeats
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import xaikit  # noqa: E402

IMAGE, TABLE = (32, 32, 3), 16
PIXELS = int(np.prod(IMAGE))


def _layers() -> dict:
    init = keras.initializers.GlorotUniform(seed=0)
    return {
        "conv": keras.layers.Conv2D(16, 3, activation="relu", kernel_initializer=init),
        "pool": keras.layers.GlobalAveragePooling2D(),
        "dense": keras.layers.Dense(32, activation="relu", kernel_initializer=init),
        "head": keras.layers.Dense(10, kernel_initializer=init),
    }


def _body(parts: dict, image: keras.KerasTensor, table: keras.KerasTensor) -> keras.KerasTensor:
    h = parts["pool"](parts["conv"](image))
    return parts["head"](parts["dense"](keras.layers.Concatenate()([h, table])))


def models() -> tuple[keras.Model, keras.Model]:
    """(two-input model, the same layers on one concatenated input)."""
    parts = _layers()
    image, table = keras.Input(IMAGE, name="image"), keras.Input((TABLE,), name="table")
    two = keras.Model([image, table], _body(parts, image, table))
    flat = keras.Input((PIXELS + TABLE,))
    image_part = keras.layers.Reshape(IMAGE)(flat[:, :PIXELS])
    concat = keras.Model(flat, _body(parts, image_part, flat[:, PIXELS:]))
    return two, concat


def median_time(fn, repeats: int) -> float:
    fn()  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, repeats = (16, 3) if args.quick else (32, 5)
    rng = np.random.default_rng(0)
    image = rng.normal(size=(n, *IMAGE)).astype("float32")
    table = rng.normal(size=(n, TABLE)).astype("float32")
    joined = np.concatenate([image.reshape(n, -1), table], axis=1)
    two, concat = models()
    np.testing.assert_allclose(two([image, table]), concat(joined), rtol=1e-4, atol=1e-5)
    cases = {
        "saliency": lambda m: xaikit.Saliency(m, batch_size=64),
        "integrated_gradients": lambda m: xaikit.IntegratedGradients(m, steps=32, batch_size=64),
    }
    print(f"N = {n}, median of {repeats}; image {IMAGE} + table ({TABLE},)")
    print(f"{'method':<22} {'two inputs (s)':>15} {'concatenated (s)':>17} {'ratio':>7}")
    for name, make in cases.items():
        e2, e1 = make(two), make(concat)
        t2 = median_time(lambda e=e2: e.explain([image, table], 0), repeats)
        t1 = median_time(lambda e=e1: e.explain(joined, 0), repeats)
        print(f"{name:<22} {t2:>15.4f} {t1:>17.4f} {t2 / t1:>7.3f}")


if __name__ == "__main__":
    main()
