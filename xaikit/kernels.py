"""One cache of compiled kernels per explainer or metric, safe to share between threads.

A kernel is anything expensive to build once per input signature: a traced ``tf.function``'s
concrete function, usually. :class:`KernelCache` builds each key at most once, even when
several threads (or the replicas of a ``tf.distribute`` strategy) ask for it at the same time,
and holds an optional context (guided backprop's activation swap) while building.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["KernelCache"]

#: Held while any kernel is built: a build may change the model for the time it traces
#: (guided backprop swaps activations), so no other kernel, of any cache, is traced meanwhile.
_BUILD_LOCK = threading.RLock()


class KernelCache:
    """A thread-safe ``key -> kernel`` table that builds each kernel once.

    Explainers own one (``explainer.kernels``), metrics too; methods and plugins reach it
    through :meth:`xaikit.Explainer.compiled` rather than keeping their own caches.
    """

    def __init__(self) -> None:
        self._kernels: dict[Hashable, Any] = {}
        self._lock = _BUILD_LOCK

    def get(
        self,
        key: Hashable,
        build: Callable[[], Any],
        context: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
    ) -> Any:
        """The kernel stored under ``key``, built by ``build()`` (inside ``context()``) once.

        Raises whatever ``build`` raises; nothing is stored then, so a later call retries.
        """
        kernel = self._kernels.get(key)
        if kernel is not None:
            return kernel
        with self._lock:
            kernel = self._kernels.get(key)
            if kernel is None:
                with context() if context is not None else contextlib.nullcontext():
                    kernel = build()
                self._kernels[key] = kernel
        return kernel

    def clear(self) -> None:
        """Forget every kernel (after the model's weights or structure changed)."""
        with self._lock:
            self._kernels.clear()

    def __len__(self) -> int:
        return len(self._kernels)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._kernels

    def __repr__(self) -> str:
        return f"KernelCache({len(self._kernels)} kernels)"
