"""Thread safety: one explainer or metric shared by threads gives the sequential results,
guided backprop's activation swap never leaks into another explainer's kernel, and plugins
can be registered while other threads explain.

See docs/guarantees.md for what is and is not thread-safe.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import numpy as np
import pytest
from strategies import build_model

import xaikit

THREADS = 4
SHAPE = (5,)


@pytest.fixture(scope="module")
def model():
    return build_model(SHAPE, 3)


def _inputs(seed: int, n: int = 6) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, *SHAPE)).astype("float32")


def _together(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs in threads that start at the same moment; results in job order."""
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], Any]) -> Any:
        barrier.wait()
        return job()

    with ThreadPoolExecutor(len(jobs)) as pool:
        return [future.result() for future in [pool.submit(run, job) for job in jobs]]


@contextlib.contextmanager
def _busy_switching() -> Iterator[None]:
    """Switch threads as often as possible, so races show up."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


FACTORIES = {
    "saliency": lambda m: xaikit.Saliency(m, batch_size=4),
    "integrated_gradients": lambda m: xaikit.IntegratedGradients(m, steps=8, batch_size=5),
    "guided_backprop": lambda m: xaikit.GuidedBackprop(m, batch_size=3),
    "random_baseline_ig": lambda m: xaikit.RandomBaselineIG(m, steps=4, num_runs=2, seed=3),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_one_explainer_shared_by_threads_matches_sequential_calls(model, name: str) -> None:
    inputs = [_inputs(seed) for seed in range(THREADS)]
    targets = [None, 1, np.array([0, 1, 2, 0, 1, 2]), None]
    sequential = [
        FACTORIES[name](model).explain(x, t).attributions
        for x, t in zip(inputs, targets, strict=True)
    ]
    shared = FACTORIES[name](model)  # fresh: its kernels are first built by the threads
    with _busy_switching():
        results = _together(
            [lambda x=x, t=t: shared.explain(x, t) for x, t in zip(inputs, targets, strict=True)]
        )
    for expected, result in zip(sequential, results, strict=True):
        np.testing.assert_array_equal(result.attributions, expected)


def test_one_metric_shared_by_threads_matches_sequential_calls(model) -> None:
    explainer = xaikit.Saliency(model)
    inputs = [_inputs(10 + seed) for seed in range(THREADS)]
    attributions = [explainer.explain(x).attributions for x in inputs]
    sequential = [
        xaikit.get_metric("deletion", model, steps=5)(x, None, a).scores
        for x, a in zip(inputs, attributions, strict=True)
    ]
    shared = xaikit.get_metric("deletion", model, steps=5)
    with _busy_switching():
        results = _together(
            [lambda x=x, a=a: shared(x, None, a) for x, a in zip(inputs, attributions, strict=True)]
        )
    for expected, result in zip(sequential, results, strict=True):
        np.testing.assert_array_equal(result.scores, expected)


@attrs.frozen(kw_only=True)
class _SlowGuided(xaikit.GuidedBackprop):
    """Guided backprop that holds the model's activations swapped until told to go on."""

    swapped: threading.Event = attrs.field(factory=threading.Event, eq=False, repr=False)
    go_on: threading.Event = attrs.field(factory=threading.Event, eq=False, repr=False)

    @contextlib.contextmanager
    def tracing_context(self) -> Iterator[None]:
        with xaikit.GuidedBackprop.tracing_context(self):  # attrs slots: no bare super()
            self.swapped.set()
            self.go_on.wait(timeout=0.5)  # with the fix, Saliency waits for the build
            yield


def test_guided_backprop_swap_does_not_leak_into_another_explainers_kernel() -> None:
    """Regression: kernels were built under a lock per explainer, so a Saliency of the same
    model compiled while GuidedBackprop held the activations swapped traced the guided
    ReLUs and returned guided gradients. Kernel builds now share one lock."""
    model = build_model(SHAPE, 3)
    x = _inputs(20)
    plain = xaikit.Saliency(model, absolute=False).explain(x, 0).attributions
    guided_expected = xaikit.GuidedBackprop(model).explain(x, 0).attributions
    assert not np.allclose(plain, guided_expected)  # the model tells the two apart
    guided = _SlowGuided(model)
    saliency = xaikit.Saliency(model, absolute=False)

    def explain_saliency() -> np.ndarray:
        guided.swapped.wait(timeout=5.0)  # the guided kernel is being built right now
        try:
            return saliency.explain(x, 0).attributions
        finally:
            guided.go_on.set()

    with ThreadPoolExecutor(2) as pool:
        guided_future = pool.submit(lambda: guided.explain(x, 0).attributions)
        saliency_future = pool.submit(explain_saliency)
        np.testing.assert_allclose(saliency_future.result(), plain, rtol=1e-6)
        np.testing.assert_allclose(guided_future.result(), guided_expected, rtol=1e-6)


def test_registering_plugins_while_other_threads_explain(model) -> None:
    x = _inputs(30)
    explainer = xaikit.IntegratedGradients(model, steps=4)
    expected = explainer.explain(x).attributions
    stop = threading.Event()
    failures: list[BaseException] = []

    def churn() -> int:
        rounds = 0
        while not stop.is_set():

            @xaikit.register_reducer(f"threads_test_reducer_{rounds}")
            def reducer(attributions):
                return attributions.sum(axis=-1)

            xaikit.unregister_plugin(reducer)
            rounds += 1
        return rounds

    def explain_repeatedly() -> None:
        try:
            for _ in range(15):
                np.testing.assert_array_equal(explainer.explain(x).attributions, expected)
                xaikit.get_explainer("saliency", model)  # reads the method table too
        except BaseException as error:  # noqa: BLE001 - reported below with the others
            failures.append(error)

    with _busy_switching(), ThreadPoolExecutor(3) as pool:
        churner = pool.submit(churn)
        workers = [pool.submit(explain_repeatedly) for _ in range(2)]
        for worker in workers:
            worker.result()
        stop.set()
        rounds = churner.result()
    assert not failures, failures[0]
    assert rounds > 0
    assert not any(name.startswith("threads_test") for name in xaikit.list_reducers())
