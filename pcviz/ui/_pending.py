"""Pages' computations on the run service, without ever blocking a page.

A `Task` is one computation of a page: one or more jobs (`pcviz.service.Job`) whose results
are collected as they finish, never waited for. `shared_task` keeps tasks in a process-wide
memo keyed by configuration (`st.cache_resource`), so that a rerun, or another visitor with the
same configuration, finds the task already running or done instead of starting it again.
`wait_for` draws a status line in a fragment that polls the task every `POLL_SECONDS` and
reruns the page once it has finished; `service_ready` does the same while the service starts.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st

from .. import service

POLL_SECONDS = 0.5
"""How often a waiting page looks at its task."""


class Task:
    """One page computation: `jobs` on the run service, their `results` (in order) once all
    have finished, or the first `error` one raised (the others are then cancelled)."""

    def __init__(self, jobs: list[service.Job], *, label: str = "", meta: Any = None):
        self.jobs, self.label, self.meta = list(jobs), label, meta
        self._values: dict[int, Any] = {}
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    @property
    def done(self) -> int:
        """How many jobs have finished."""
        return len(self._values)

    @property
    def results(self) -> list[Any] | None:
        """The jobs' results in order, once every one has finished without an error."""
        if self.error is not None or len(self._values) < len(self.jobs):
            return None
        return [self._values[i] for i in range(len(self.jobs))]

    def collected(self) -> list[Any]:
        """`results` of a task that `poll` says is over without an `error`; `RuntimeError`
        while a job is still out or after an error."""
        results = self.results
        if results is None:
            raise RuntimeError(f"task {self.label!r} has not finished without an error")
        return results

    def poll(self) -> bool:
        """Collect the jobs that have finished, without waiting; whether the task is over
        (every result in, or an error)."""
        with self._lock:
            for i, job in enumerate(self.jobs):
                if self.error is not None:
                    break
                if i in self._values or not job.done():
                    continue
                try:
                    self._values[i] = job.result(timeout=30.0)
                except Exception as err:  # the page shows it, never raises it
                    self.error = err
                    self.cancel()
            return self.error is not None or len(self._values) == len(self.jobs)

    def cancel(self) -> None:
        """Stop the jobs that have not finished."""
        for i, job in enumerate(self.jobs):
            if i not in self._values:
                with contextlib.suppress(Exception):  # already finished or gone
                    job.cancel()


@st.cache_resource(show_spinner=False)
def _memo() -> tuple[threading.Lock, OrderedDict]:
    return threading.Lock(), OrderedDict()


def shared_task(key: Hashable, start: Callable[[], Task], *, size: int = 32) -> Task:
    """The task of configuration `key` for every visitor of this server: the one already
    started, else `start()`'s. At most `size` tasks are kept (the oldest unfinished one is
    cancelled when it goes)."""
    lock, memo = _memo()
    with lock:
        task = memo.get(key)
        if task is None:
            task = memo[key] = start()
        memo.move_to_end(key)
        while len(memo) > size:
            _, old = memo.popitem(last=False)
            old.cancel()
        return task


def forget(key: Hashable) -> None:
    """Drop the shared task of `key` (a failed one, so that the next visit tries again)."""
    lock, memo = _memo()
    with lock:
        memo.pop(key, None)


def service_ready() -> bool:
    """Whether the run service takes jobs now. Starts it if nobody has (at once: it comes up
    in the background); while it starts, shows its message and reruns the page when it is
    up; when it could not start, shows `st.error` with what to do."""
    status = service.status()
    if status.state == "idle":
        service.start()
        status = service.status()
    if status.state == "ready":
        return True
    if status.state == "failed":
        st.error(status.message, icon=":material/error:")
        return False

    def check() -> tuple[bool, str, float | None]:
        now = service.status()
        return now.state != "starting", now.message, None

    wait_for(check, key="pcviz-service-starting")
    return False


def wait_for(check: Callable[[], tuple[bool, str, float | None]], *, key: str) -> None:
    """A status line, redrawn every `POLL_SECONDS` in a fragment, that reruns the whole page
    once `check()` says it is over. `check` returns `(over, text, progress)`; `progress`
    in `[0, 1]` draws a bar, `None` a spinner-like caption."""

    def poll() -> None:
        over, text, progress = check()
        if over:
            st.rerun(scope="app")
        if progress is None:
            st.info(text, icon=":material/hourglass_top:")
        else:
            st.progress(min(max(progress, 0.0), 1.0), text=text)

    st.fragment(poll, run_every=POLL_SECONDS, key=key)()
