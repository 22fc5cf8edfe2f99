"""Timing and memory helpers: the floor, medians of repeated runs, peak RSS."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import tensorflow as tf

__all__ = ["median_seconds", "floor_runner", "floor_seconds", "PeakRSS", "CHUNKS"]

#: Chunk sizes tried for the floor; the best one counts.
CHUNKS = (16, 32, 64, 128, 256)


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``fn`` (after the caller's warm-up)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _gradient_step(model, sample_shape, num_outputs):
    @tf.function(
        input_signature=[
            tf.TensorSpec((None, *sample_shape), tf.float32),
            tf.TensorSpec((None, num_outputs), tf.float32),
        ]
    )
    def step(x, t):
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = tf.reduce_sum(model(x, training=False) * t, axis=-1)
        return tape.gradient(score, x)

    return step


def floor_runner(model, rows: int, repeats: int) -> tuple[Callable[[], None], float, int]:
    """The floor: one compiled forward+backward pass over ``rows`` samples, best chunk size.

    Inputs are made beforehand and reused; nothing but model evaluations and their gradients
    is timed. Returns ``(run, seconds, chunk)``: a warmed-up callable doing the floor's work at
    its best chunk size, its median time and that chunk size.
    """
    sample_shape = tuple(model.inputs[0].shape[1:])
    num_outputs = int(model.outputs[0].shape[-1])
    step = _gradient_step(model, sample_shape, num_outputs)
    best: tuple[float, int, Callable[[], None] | None] = (float("inf"), 0, None)
    sizes = sorted({min(c, rows) for c in CHUNKS})
    for chunk in sizes:
        x = tf.random.uniform((chunk, *sample_shape), seed=1)
        t = tf.one_hot(tf.zeros(chunk, tf.int32), num_outputs)
        full, rest = divmod(rows, chunk)
        x_rest, t_rest = x[:rest], t[:rest]

        def run(x=x, t=t, full=full, rest=rest, x_rest=x_rest, t_rest=t_rest) -> None:
            out = None
            for _ in range(full):
                out = step(x, t)
            if rest:
                out = step(x_rest, t_rest)
            np.asarray(out)

        run()  # trace and warm up
        if rest:
            step(x_rest, t_rest)
        seconds = median_seconds(run, repeats)
        if seconds < best[0]:
            best = (seconds, chunk, run)
    seconds, chunk, runner = best
    assert runner is not None
    return runner, seconds, chunk


def floor_seconds(model, rows: int, repeats: int) -> tuple[float, int]:
    """The floor's median time and best chunk size (see :func:`floor_runner`)."""
    _, seconds, chunk = floor_runner(model, rows, repeats)
    return seconds, chunk


class PeakRSS:
    """Peak resident memory above the level at entry (Linux: VmHWM after clear_refs).

    In-process figures under-count memory the allocator kept from earlier work; the
    benchmark's memory section runs each case in a fresh process for that reason.
    """

    def __enter__(self) -> PeakRSS:
        self.supported = os.path.exists("/proc/self/clear_refs")
        if self.supported:
            try:
                with open("/proc/self/clear_refs", "w") as handle:
                    handle.write("5")
            except OSError:
                self.supported = False
        self.start = self._read("VmRSS")
        self.peak_bytes = 0
        return self

    def __exit__(self, *exc: object) -> None:
        if self.supported:
            self.peak_bytes = max(0, self._read("VmHWM") - self.start)

    @staticmethod
    def _read(field: str) -> int:
        try:
            with open("/proc/self/status") as handle:
                for line in handle:
                    if line.startswith(field + ":"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0
