"""Bounded work on the cluster: every heavy computation that is not a live run is a task.

A task asks the cluster for one CPU, so at most as many tasks run at once as the cluster has
CPUs; the others wait in Ray's queue, first come, first served. A task whose worker process
dies (killed, out of memory, a lost node) runs again on another worker, up to `RETRIES` times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from . import _cluster

RETRIES = 3
"""How many times a task whose worker died is run again elsewhere."""


def _run(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    from .._jaxcache import enable_compilation_cache

    _cluster.lower_priority()
    enable_compilation_cache()
    return fn(*args, **kwargs)


_remote = None


def _task():
    global _remote
    if _remote is None:
        import ray

        _remote = ray.remote(num_cpus=1, max_retries=RETRIES)(_run)
    return _remote


class Job:
    """One task on the cluster: poll it with `done`, collect it with `result`.

    `result` raises the task's own exception (a `ValueError` stays a `ValueError`), or
    `WorkerLost` when its worker died more often than `RETRIES`.
    """

    def __init__(self, ref: Any, label: str = ""):
        self.ref, self.label = ref, label

    def done(self) -> bool:
        """Whether the task has finished (or failed), without waiting."""
        import ray

        ready, _ = ray.wait([self.ref], timeout=0)
        return bool(ready)

    def result(self, timeout: float | None = None) -> Any:
        """The task's return value (waits up to `timeout` seconds; `TimeoutError` past it)."""
        import ray
        from ray.exceptions import GetTimeoutError, RayTaskError, WorkerCrashedError

        try:
            return ray.get(self.ref, timeout=timeout)
        except GetTimeoutError:
            raise TimeoutError(f"{self.label or 'the task'} is still running") from None
        except RayTaskError as err:  # the task raised: re-raise its own exception
            cause = getattr(err, "cause", None)
            if isinstance(cause, Exception):
                raise cause from None
            raise RuntimeError(f"{self.label or 'A task'} failed: {err}") from None
        except WorkerCrashedError as err:
            raise WorkerLost(f"{self.label or 'A task'} lost its worker {RETRIES + 1} times "
                             f"({err}). The machine may be short of memory.") from None

    def cancel(self) -> None:
        """Stop the task (a running one is interrupted)."""
        import ray

        ray.cancel(self.ref, force=True)


class WorkerLost(RuntimeError):
    """A task's worker process died on every try."""


def submit(fn: Callable[..., Any], *args: Any, label: str = "", **kwargs: Any) -> Job:
    """Run `fn(*args, **kwargs)` as a task on the cluster (started if needed).

    `fn` must be importable by the workers (a module-level function of pcviz or its
    dependencies); its arguments and result travel pickled.
    """
    _cluster.ensure()
    return Job(_task().remote(fn, args, kwargs), label)


def as_completed(jobs: Iterable[Job], *, timeout: float | None = None) -> Iterator[Job]:
    """Yield `jobs` as they finish (first finished first); stops after `timeout` seconds
    without any finishing (`TimeoutError`)."""
    import ray

    pending = {job.ref: job for job in jobs}
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=timeout)
        if not ready:
            raise TimeoutError(f"no task finished within {timeout} s")
        for ref in ready:
            yield pending.pop(ref)
