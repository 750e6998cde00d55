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


def _run(fn: Callable[..., Any], args: tuple, kwargs: dict, background: bool = False) -> Any:
    from .._jaxcache import enable_compilation_cache

    if background:
        _cluster.background_priority()
    else:
        _cluster.lower_priority()
    enable_compilation_cache()
    return fn(*args, **kwargs)


_remotes: dict[bool, Any] = {}


def _task(background: bool = False):
    """The remote function that runs tasks; `background`: one for work nobody waits for,
    which takes no CPU of the cluster's count (it never holds up a sweep cell) and runs at
    `background_priority()` in a worker of its own that ends with it (the priority cannot be
    raised again, and the worker's next task must not inherit it)."""
    if background not in _remotes:
        import ray

        if background:
            _remotes[background] = ray.remote(num_cpus=0, max_calls=1,
                                              max_retries=RETRIES)(_run)
        else:
            _remotes[background] = ray.remote(num_cpus=1, max_retries=RETRIES)(_run)
    return _remotes[background]


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


def submit(fn: Callable[..., Any], *args: Any, label: str = "", background: bool = False,
           **kwargs: Any) -> Job:
    """Run `fn(*args, **kwargs)` as a task on the cluster (started if needed).

    `fn` must be importable by the workers (a module-level function of pcviz or its
    dependencies); its arguments and result travel pickled. `background`: work nobody waits
    for (the presets' warm-up compiles), run only on what the cores have left over after
    every live run and every other task.
    """
    _cluster.ensure()
    return Job(_task(background).remote(fn, args, kwargs, background), label)


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
