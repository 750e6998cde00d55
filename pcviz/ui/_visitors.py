"""Server-wide: the cap on simultaneous training, every visitor's live run, and the janitor
that frees the run of a closed tab.

Streamlit keeps a disconnected visitor's session for `server.disconnectedSessionTTL` seconds
(120 by default), so that a dropped Wi-Fi link reconnects to the same run. The janitor, a
daemon thread started with the first visitor, closes the runs of sessions that have been
disconnected for longer than that: each gives its training slot back and releases its device
arrays at once, whenever Python collects the session's own objects. After each sweep it
gives the C heap's free pages back to the system (`pcviz._heap`), which keeps the resident
memory of a server that has run many thousands of reruns flat.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Protocol

import streamlit as st

from .._heap import release_free_heap
from ..slots import TrainingSlots


class Closable(Protocol):
    def close(self) -> None: ...


class OpenRuns:
    """Visitor id -> run, with the last time the visitor was seen connected.

    **Arguments:** `grace`, seconds a disconnected visitor keeps the run; `clock` (for tests).
    """

    def __init__(self, *, grace: float, clock: Callable[[], float] = time.monotonic):
        self.grace, self.clock = grace, clock
        self._lock = threading.Lock()
        self._runs: dict[str, tuple[Closable, float]] = {}

    def add(self, visitor: str, run: Closable) -> None:
        """Track `run` as `visitor`'s (replacing what it had)."""
        with self._lock:
            self._runs[visitor] = (run, self.clock())

    def sweep(self, connected: Callable[[str], bool]) -> int:
        """Close the runs of visitors not `connected` for more than `grace` seconds; returns
        how many were closed."""
        now, gone = self.clock(), []
        with self._lock:
            for visitor, (run, seen) in list(self._runs.items()):
                if connected(visitor):
                    self._runs[visitor] = (run, now)
                elif now - seen > self.grace:
                    gone.append(self._runs.pop(visitor)[0])
        for run in gone:
            run.close()
        return len(gone)

    def __len__(self) -> int:
        with self._lock:
            return len(self._runs)


@st.cache_resource(show_spinner=False)
def training_slots() -> TrainingSlots:
    """The server-wide cap on simultaneous training runs (`PCVIZ_MAX_RUNS`, else the cores)."""
    return TrainingSlots()


def server_load() -> str:
    """One line on the server's load: open runs, runs training, the cap and the queue."""
    slots = training_slots()
    training, waiting = slots.busy()
    runs = len(open_runs())
    line = (f"This server: {runs} open run{'s' * (runs != 1)}, {training} training "
            f"(at most {slots.capacity} at once)")
    return line + (f", {waiting} waiting." if waiting else ".")


def _visitor_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return None if ctx is None else ctx.session_id


def _connected(visitor: str) -> bool:
    from streamlit import runtime

    return runtime.exists() and runtime.get_instance().is_active_session(visitor)


@st.cache_resource(show_spinner=False)
def open_runs() -> OpenRuns:
    """The server's `OpenRuns`, swept by a daemon thread (every `grace / 2`, at most 10 s),
    which then releases the C heap's free pages."""
    grace = float(st.get_option("server.disconnectedSessionTTL"))
    runs = OpenRuns(grace=grace)

    def janitor() -> None:
        while True:
            time.sleep(min(10.0, max(grace / 2, 0.5)))
            runs.sweep(_connected)
            release_free_heap()

    threading.Thread(target=janitor, name="pcviz-janitor", daemon=True).start()
    return runs


def register(run: Closable) -> None:
    """Track `run` as the current visitor's (only for a visitor connected to a server, so not
    under `AppTest`)."""
    visitor = _visitor_id()
    if visitor is not None and _connected(visitor):
        open_runs().add(visitor, run)
