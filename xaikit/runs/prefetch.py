"""Producing items in a background thread, a bounded number ahead of their consumer."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["prefetched"]


def prefetched(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """``items`` produced by a background thread, at most ``depth`` ahead of the consumer.

    Loading the next shards (a memory map's pages, a generator's work) then overlaps the
    computation on the current one. An exception in the producer is raised in the consumer;
    closing the returned generator stops the producer.
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(("end", done))
        except BaseException as error:  # noqa: BLE001 - handed over to the consumer
            buffer.put(("error", error))

    thread = threading.Thread(target=produce, name="xaikit-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = buffer.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                buffer.get(timeout=0.05)
            except queue.Empty:
                pass
        thread.join()
