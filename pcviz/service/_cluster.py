"""The compute cluster behind the run service: Ray, joined or started in the background.

With `RAY_ADDRESS` set (a KubeRay cluster, `ray start --head` on a SLURM allocation, the
`ray-head` service of `compose.yaml`) the service joins that cluster. Otherwise it starts a
local one on this machine with `PCVIZ_WORKERS` CPUs (default: every core). `start` returns at
once: the dashboard draws, and its health check answers, while the cluster comes up.
"""

from __future__ import annotations

import logging
import os
import threading
import time
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


def lower_priority() -> None:
    """Run this worker process at niceness `PCVIZ_WORKER_NICE` (default 10): training takes
    the cores the dashboard leaves, so pages and the health check answer at once however
    many runs train."""
    try:
        nice = int(os.environ.get("PCVIZ_WORKER_NICE", "10"))
        if os.getpriority(os.PRIO_PROCESS, 0) < nice:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
    except (ValueError, OSError):  # a bad value, or not permitted: leave it
        pass


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
            lower_priority()
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
