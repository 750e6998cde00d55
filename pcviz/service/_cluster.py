"""The compute cluster behind the run service: Ray, joined or started in the background.

With `RAY_ADDRESS` set (a KubeRay cluster, `ray start --head` on a SLURM allocation, the
`ray-head` service of `compose.yaml`) the service joins that cluster. Otherwise it starts a
local one on this machine with `PCVIZ_WORKERS` CPUs (default: every core). `start` returns at
once: the dashboard draws, and its health check answers, while the cluster comes up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

_LOG = logging.getLogger(__name__)

NAMESPACE = "pcviz"
"""Ray namespace of the service's named actors (one live run each)."""
START_TIMEOUT = 120.0


class ClusterUnavailable(RuntimeError):
    """The run service's cluster could not be started or reached (the message says why)."""


class ClusterStatus(NamedTuple):
    """`state`: "idle" (not asked for yet), "starting", "ready" or "failed"; `message`: one
    line for people; `cpus`: the cluster's CPUs (0 until ready); `address`: the cluster joined,
    or "local"."""

    state: str
    message: str
    cpus: int
    address: str


_lock = threading.Lock()
_ready = threading.Event()
_state: dict = {"state": "idle", "error": None, "thread": None, "cpus": 0, "started": None}


def local_workers() -> int:
    """CPUs of a local cluster: `PCVIZ_WORKERS` (a whole number >= 1), else every core."""
    value = os.environ.get("PCVIZ_WORKERS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return os.cpu_count() or 1


WORKER_NICE = 10
"""Default niceness of the cluster's worker processes (`PCVIZ_WORKER_NICE` changes it)."""
STEP_ASIDE = 5
"""How much further a live run that has shown its first heatmap lowers its priority, so that
runs still starting (a worker importing, a step compiling) go first."""
BACKGROUND_NICE = 19
"""Niceness of background work nobody waits for (warm-up compiles of the presets)."""


def worker_nice() -> int:
    """The workers' niceness: `PCVIZ_WORKER_NICE` (0-19), else `WORKER_NICE`."""
    try:
        return min(max(int(os.environ.get("PCVIZ_WORKER_NICE", WORKER_NICE)), 0), 19)
    except ValueError:
        return WORKER_NICE


def lower_priority(nice: int | None = None) -> None:
    """Run every thread of this process at niceness `nice` at least (default
    `worker_nice()`): training takes the cores the dashboard leaves, so pages and the health
    check answer at once however many runs train. Threads started later inherit it.

    On Linux a niceness belongs to a thread, not to a process: each thread of this process
    (`/proc/self/task`) is changed. Only ever raised (lowering needs privileges).
    """
    nice = worker_nice() if nice is None else min(max(int(nice), 0), 19)
    for thread in _threads():
        _lower_thread(thread, nice)


def _threads() -> list[int]:
    """This process's thread ids (`/proc/self/task`); `[0]`, the calling thread, elsewhere."""
    tasks = Path("/proc/self/task")
    return [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [0]


def _lower_thread(thread: int, nice: int) -> None:
    """Raise thread `thread`'s niceness (0: the calling thread) to `nice` if it is lower."""
    try:
        if os.getpriority(os.PRIO_PROCESS, thread) < nice:
            os.setpriority(os.PRIO_PROCESS, thread, nice)
    except OSError:  # the thread has ended, or not permitted: leave it
        pass


def background_priority() -> None:
    """Run every thread of this process only on what the cores leave over: niceness
    `BACKGROUND_NICE` and Linux's `SCHED_IDLE` policy (a nice-19 thread still takes about a
    third of a core from a nice-15 one; an idle-policy thread takes next to nothing). For a
    worker of its own that ends with its task: neither can be undone without privileges."""
    for thread in _threads():
        _idle_thread(thread)


def background_thread() -> None:
    """Run the calling thread, and the threads it starts, only on what the cores leave over
    (`background_priority` for one thread; not undone)."""
    _idle_thread(0)


def _idle_thread(thread: int) -> None:
    """Thread `thread` (0: the calling one) at niceness `BACKGROUND_NICE` and Linux's
    `SCHED_IDLE` policy where there is one."""
    _lower_thread(thread, BACKGROUND_NICE)
    idle = getattr(os, "SCHED_IDLE", None)
    # a thread that has ended, or a refusal: its niceness stays
    with contextlib.suppress(OSError):
        if idle is not None:
            os.sched_setscheduler(thread, idle, os.sched_param(0))


def step_aside() -> None:
    """Lower this process below the workers' niceness by `STEP_ASIDE`: a live run calls it
    once its first heatmap is out, so that on a busy machine a run still starting (which
    its visitor waits for) goes before runs already playing (whose visitors see them move)."""
    lower_priority(worker_nice() + STEP_ASIDE)


def restore_priority() -> None:
    """Bring this process's threads back to the workers' niceness (from `step_aside`'s), where
    permitted (lowering a niceness needs `CAP_SYS_NICE`: elsewhere they stay); threads under
    the idle policy (`background_thread`) are left alone. A spare run, which stands by
    stepped aside, calls it when it becomes a visitor's run."""
    idle = getattr(os, "SCHED_IDLE", None)
    for thread in _threads():
        with contextlib.suppress(OSError):  # not permitted, or the thread has ended
            if (idle is None or os.sched_getscheduler(thread) != idle) and \
                    os.getpriority(os.PRIO_PROCESS, thread) > worker_nice():
                os.setpriority(os.PRIO_PROCESS, thread, worker_nice())


def address() -> str:
    """The cluster to join (`RAY_ADDRESS`), or "local"."""
    return os.environ.get("RAY_ADDRESS", "").strip() or "local"


def _connect() -> None:
    import ray

    common: dict[str, Any] = dict(namespace=NAMESPACE, log_to_driver=False,
                                  configure_logging=False, ignore_reinit_error=True)
    try:
        if ray.is_initialized():
            pass
        elif address() != "local":
            ray.init(address=address(), **common)
        else:
            # On Linux a thread has a niceness of its own, which the processes it starts
            # inherit: the local cluster's every process, workers included, runs below the
            # dashboard, whose other threads keep theirs.
            _lower_thread(0, worker_nice())
            # Ray adds a niceness of its own to every worker (15 by default, which would put
            # live runs and background work alike at 19); the service sets its own levels.
            os.environ.setdefault("RAY_worker_niceness", "0")
            # Ray's raylet holds back the first driver's registration until a worker per CPU
            # has started and registered (about a second), and the driver waits for that
            # reply inside `ray.init` holding Python's GIL: every other thread of the server,
            # its health check included, would stall that long. Workers start on demand.
            os.environ.setdefault("RAY_prestart_worker_first_driver", "0")
            ray.init(num_cpus=local_workers(), include_dashboard=False,
                     object_store_memory=256 * 2**20, **common)
        _state["cpus"] = int(ray.cluster_resources().get("CPU", 0))
        _state["state"] = "ready"
    except Exception as err:  # any failure to start or join becomes a message
        _state["state"], _state["error"] = "failed", f"{type(err).__name__}: {err}"
        _LOG.error("pcviz: the run service's cluster did not start: %s", err)
    finally:
        _ready.set()
    # Ray's driver hangs in every later call once the thread that started it has ended: this
    # thread (a daemon) stays alive for the life of the process.
    threading.Event().wait()


def start() -> None:
    """Start (once per process) joining or starting the cluster in a background thread."""
    with _lock:
        if _state["state"] in ("starting", "ready"):
            return
        _ready.clear()
        _state.update(state="starting", error=None, started=time.monotonic())
        thread = threading.Thread(target=_connect, name="pcviz-cluster", daemon=True)
        _state["thread"] = thread
        thread.start()


def status() -> ClusterStatus:
    """Where the cluster stands (never blocks)."""
    state, where = _state["state"], address()
    if state == "ready":
        cpus = _state["cpus"]
        return ClusterStatus(state, f"Run service ready: {cpus} CPUs ({where}).", cpus, where)
    if state == "starting":
        waited = time.monotonic() - (_state["started"] or time.monotonic())
        return ClusterStatus(state, f"Starting the run service ({waited:.0f} s)...", 0, where)
    if state == "failed":
        return ClusterStatus(state, _failure_message(), 0, where)
    return ClusterStatus(state, "The run service has not been started.", 0, where)


def _failure_message() -> str:
    where = address()
    hint = (f"Check that the Ray cluster at RAY_ADDRESS={where} is running and reachable, or "
            "unset RAY_ADDRESS to start a local one." if where != "local" else
            "Check the server's log; setting PCVIZ_WORKERS to fewer CPUs or freeing memory "
            "may help. Restart the server to try again.")
    return f"The run service could not start ({_state['error']}). {hint}"


def ready(timeout: float | None = 0.0) -> bool:
    """Whether the cluster is up, waiting at most `timeout` seconds (`None`: as long as it
    takes) after starting it if needed."""
    start()
    _ready.wait(timeout)
    return _state["state"] == "ready"


def ensure(timeout: float = START_TIMEOUT) -> None:
    """Start the cluster if needed and wait for it; `ClusterUnavailable` when it cannot be had."""
    if not ready(timeout):
        if _state["state"] == "failed":
            raise ClusterUnavailable(_failure_message())
        raise ClusterUnavailable(f"The run service did not start within {timeout:.0f} s. "
                                 "The machine may be overloaded; try again in a minute.")
