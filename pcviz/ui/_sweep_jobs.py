"""The sweeps this server drives: one background job per sweep, shared by every visitor, and
the resumption of the sweeps a stopped server left running.

A `SweepJob` iterates `pcviz.sweeps.run_sweep` in a background thread and only records
progress; what the page shows comes from the run store, so a reload, another tab, another
replica or a restarted server shows the same sweep. `job_for` keeps one job per sweep id in
this process (a plain registry, usable from any thread). As the server starts,
`start_resuming` looks in the store for sweeps left `running` by a server that went away
(`pcviz.sweeps.orphaned_sweeps`) and resumes each in the background, skipping its finished
cells; it keeps looking for `ORPHANED_AFTER` seconds, the time in which a sweep whose driver
stopped beating is known to be orphaned. A sweep its user stopped is `interrupted` and stays
stopped. No streamlit here: the page draws what these report.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from typing import NamedTuple

from .. import service, sweeps
from ..sweeps import CellKey, SweepSpec

_LOG = logging.getLogger(__name__)

ORPHANED_AFTER = 6 * sweeps.HEARTBEAT_SECONDS
"""A sweep `running` in the store but untouched this long has lost its server: resume it."""


def store_url() -> str | None:
    """The run store's address (`PCVIZ_STORE` or the user's data folder)."""
    from ..store import default_store_url

    return default_store_url()


@functools.lru_cache(maxsize=8)
def _store_handle(url: str | None):
    from ..store import open_store as open_

    return open_(url)


def open_store(url: str | None = None):
    """The run store at `url` (default: `store_url()`), opened once per process (`StoreError`
    when it cannot be)."""
    return _store_handle(url if url is not None else store_url())


class Progress(NamedTuple):
    """What this server's job knows: whether it runs, was stopped, its error, the seconds
    spent and the cells computed (not read from the store) in this run."""

    running: bool
    stopped: bool
    error: str | None
    elapsed: float
    computed: tuple[CellKey, ...]


class SweepJob:
    """One sweep's background thread on this server (see the module docstring)."""

    def __init__(self, spec: SweepSpec, *, url: str | None = None):
        self.spec, self.url = spec, url
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: str | None = None
        self._elapsed = 0.0
        self._started: float | None = None
        self._computed: list[CellKey] = []

    def start(self) -> None:
        """Run (or resume) the cells not finished in the store; no-op while running."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._error, self._started, self._computed = None, time.perf_counter(), []
            self._thread = threading.Thread(target=self._run, name="pcviz-sweep", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Cancel the running cells (they stay unfinished, to run on the next start)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job's thread ends (or `timeout`); True when it has ended."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _run(self) -> None:
        try:
            url = self.url if self.url is not None else store_url()
            store = open_store(url)
            plan = sweeps.plan_sweep(self.spec, store=store)
            for cell in sweeps.run_sweep(plan, store=store, store_url=url,
                                         should_stop=self._stop.is_set):
                if not cell.skipped:
                    with self._lock:
                        self._computed.append(cell.key)
        except Exception as err:  # shown to the visitor as a message
            text = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
            with self._lock:
                self._error = text
        finally:
            with self._lock:
                self._elapsed += time.perf_counter() - (self._started or time.perf_counter())
                self._started = None

    def progress(self) -> Progress:
        """A consistent copy of the job's state."""
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
            elapsed = self._elapsed + (time.perf_counter() - self._started
                                       if self._started is not None else 0.0)
            return Progress(running, self._stop.is_set() and not running, self._error, elapsed,
                            tuple(self._computed))


_JOBS: dict[str, SweepJob] = {}
_JOBS_LOCK = threading.Lock()


def job_for(sweep_id: str, spec: SweepSpec | None, *, url: str | None = None) -> SweepJob:
    """The one job of a sweep in this process, shared by every visitor, rerun and the
    start-up resumption (created with `spec` and the store at `url` on first use)."""
    with _JOBS_LOCK:
        job = _JOBS.get(sweep_id)
        if job is None:
            if spec is None:
                raise KeyError(f"no job for {sweep_id} yet, and no spec to start one")
            job = _JOBS[sweep_id] = SweepJob(spec, url=url)
        return job


def resume_orphaned(*, url: str | None = None, stale_after: float = ORPHANED_AFTER) -> list[str]:
    """Resume, in the background, every sweep of the store at `url` left `running` by a driver
    that is gone (`pcviz.sweeps.orphaned_sweeps`) and not running here; its finished cells
    are skipped. **Returns:** the ids of the sweeps resumed now."""
    resumed = []
    for state in sweeps.orphaned_sweeps(open_store(url), stale_after=stale_after):
        job = job_for(state.sweep_id, state.spec, url=url)
        if not job.progress().running:
            job.start()
            resumed.append(state.sweep_id)
            _LOG.info("pcviz: resuming sweep %s (%d of %d cells finished)", state.sweep_id,
                      sum(c.state == "finished" for c in state.cells), len(state.spec.cells()))
    return resumed


def _resume_for_a_while(url: str | None, seconds: float, every: float) -> None:
    if not service.ready(timeout=None):
        return
    deadline = time.monotonic() + seconds
    while True:
        try:
            resume_orphaned(url=url)
        except Exception as err:  # a store that cannot be read: try again
            _LOG.warning("pcviz: could not look for sweeps to resume: %s", err)
        if time.monotonic() > deadline:
            return
        time.sleep(every)


_resumer: dict[str, threading.Thread] = {}


def start_resuming(*, url: str | None = None) -> threading.Thread:
    """As the server starts (once per process): resume the sweeps a stopped server left
    running, in a background thread that waits for the run service and looks again every
    heartbeat for `ORPHANED_AFTER` seconds (a sweep whose last driver ran elsewhere becomes
    orphaned only when it stops beating). Returns at once."""
    with _JOBS_LOCK:
        thread = _resumer.get("thread")
        if thread is None:
            thread = threading.Thread(
                target=_resume_for_a_while, name="pcviz-sweep-resume", daemon=True,
                args=(url, ORPHANED_AFTER + sweeps.HEARTBEAT_SECONDS, sweeps.HEARTBEAT_SECONDS))
            _resumer["thread"] = thread
            thread.start()
        return thread
