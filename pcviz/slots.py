"""A server-wide cap on simultaneous training runs, with a first-come, first-served queue.

Visitors beyond the cap wait in line and are served as soon as a slot frees, instead of every
run slowing to a crawl on a few cores. A holder that stops renewing (a closed browser tab) loses
its slot after `ttl` seconds. Thread-safe; no streamlit.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from typing import Callable


def default_capacity() -> int:
    """`PCVIZ_MAX_RUNS`, else the number of CPU cores (at least 2)."""
    value = os.environ.get("PCVIZ_MAX_RUNS", "")
    return int(value) if value.isdigit() and int(value) > 0 else max(2, os.cpu_count() or 2)


class TrainingSlots:
    """At most `capacity` owners train at once; the others queue in arrival order.

    **Arguments:** `capacity` (default `default_capacity()`), `ttl` seconds after which a silent
    holder or waiter is dropped, and `clock` (for tests).
    """

    def __init__(self, capacity: int | None = None, *, ttl: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        self.capacity = capacity or default_capacity()
        self.ttl, self.clock = ttl, clock
        self._lock = threading.Lock()
        self._holders: dict[str, float] = {}
        self._queue: OrderedDict[str, float] = OrderedDict()

    def _expire(self, now: float) -> None:
        for table in (self._holders, self._queue):
            for owner in [o for o, seen in table.items() if now - seen > self.ttl]:
                del table[owner]

    def request(self, owner: str) -> int:
        """Ask for (or renew) a slot. Returns 0 when `owner` may train now, else its place in
        the queue (1 = next)."""
        with self._lock:
            now = self.clock()
            self._expire(now)
            if owner in self._holders:
                self._holders[owner] = now
                return 0
            self._queue[owner] = now  # a new owner joins the end; a waiting one keeps its place
            free = self.capacity - len(self._holders)
            waiting = list(self._queue)
            if waiting.index(owner) < free:
                del self._queue[owner]
                self._holders[owner] = now
                return 0
            return waiting.index(owner) - free + 1

    def release(self, owner: str) -> None:
        """Give the slot (or the place in the queue) back."""
        with self._lock:
            self._holders.pop(owner, None)
            self._queue.pop(owner, None)

    def busy(self) -> tuple[int, int]:
        """`(runs training, visitors waiting)`."""
        with self._lock:
            self._expire(self.clock())
            return len(self._holders), len(self._queue)
