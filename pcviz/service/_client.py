"""Pages' handles on live runs: find a run's actor by the run's id, or start it.

`open_live_run` starts the named actor `run-<id>` (detached, so it outlives the page that
started it; another replica on the same cluster finds it by name), reopening the run from the
store's latest checkpoint when there is one. `LiveRunClient` wraps the actor's methods with
time-outs and turns a dead actor into `RunGone`. `new_live_run_id` hands out the ids of spare
runs, started ahead (`pcviz.service._spare`), and keeps their pool full.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..config import ModelConfig, RuleConfig, TrainConfig
from . import _cluster
from ._live import LiveRun, RunView, actor_name
from ._spare import REFILL_SECONDS, SPARE_SECONDS, Configs, default_configs, spare_runs

STEP_WAIT = 90.0
"""Longest wait for the batches of a Step (the first one compiles the run's programs)."""

_actor_class = None


def _actor():
    global _actor_class
    if _actor_class is None:
        import ray

        # Reads and commands never queue behind computations (alignment, probes).
        # Ray's overloads of `remote` list only a task's options, not an actor's.
        _actor_class = ray.remote(  # type: ignore[call-overload]
            num_cpus=0, max_concurrency=6, max_restarts=0, concurrency_groups={"compute": 2}
        )(LiveRun)
    return _actor_class


class LiveRunClient:
    """A page's handle on a live run's actor. Every call waits at most `timeout` seconds
    (`TimeoutError` past it)."""

    def __init__(self, run_id: str, handle: Any):
        self.run_id, self.handle = run_id, handle

    def _get(self, ref, timeout: float | None):
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

        try:
            return ray.get(ref, timeout=timeout)
        except GetTimeoutError:
            raise TimeoutError("the run did not answer in time") from None
        except RayActorError as err:
            raise RunGone(f"The run {self.run_id} has ended ({type(err).__name__}).") from None
        except RayTaskError as err:
            cause = getattr(err, "cause", None)
            raise (cause if isinstance(cause, Exception) else RuntimeError(str(err))) from None

    def view(self, since: int = -1, *, after_step: int | None = None, wait: float = 0.0,
             sent: Any = None, timeout: float | None = 60.0) -> RunView | None:
        """The run's latest `RunView` (`None`: unchanged since version `since`); with
        `after_step`, the first one past that step while the run trains, waiting up to `wait`
        seconds for it (see `LiveRun.view`). With `sent` (a `send` handle), the commands sent
        reach the run first (within `timeout`): the run's calls run side by side, so a read
        sent after a Play could otherwise find the run not yet playing."""
        if sent is not None:
            import ray

            started = time.monotonic()
            ray.wait([sent], timeout=timeout)
            if timeout is not None:
                timeout = max(0.0, timeout - (time.monotonic() - started))
        return self._get(self.handle.view.remote(since, after_step=after_step, wait=wait),
                         timeout)

    def control(self, *, timeout: float | None = None, **commands) -> RunView:
        """Send `play`, `step`, `forward`, `speed` or `learning_rate` (see `LiveRun.control`); waits
        for the steps asked for (at most `STEP_WAIT` s, the first compiling them), else
        10 s."""
        if timeout is None:
            timeout = STEP_WAIT + 15.0 if commands.get("step") else 10.0
        commands.setdefault("wait", STEP_WAIT)
        return self._get(self.handle.control.remote(**commands), timeout)

    def send(self, **commands) -> Any:
        """Send `control` commands without waiting for them: a handle for `view(sent=)`."""
        return self.handle.control.remote(**commands)

    def alignment(self, *, timeout: float | None = 60.0):
        """Per-layer gradient cosine with BP and norm ratio to BP at the current weights
        (a `pcviz.train.GradientComparison`, or `None`)."""
        return self._get(self.handle.alignment.remote(), timeout)

    def ask_alignment(self) -> Any:
        """Ask for `alignment` without waiting: a handle for `answer`."""
        return self.handle.alignment.remote()

    def answer(self, asked: Any) -> tuple[bool, Any]:
        """Whether the answer to `asked` (an `ask_...` handle) is in, and then its value, or
        the error the call would raise (`RunGone`, the run's own); never waits."""
        import ray

        done, _ = ray.wait([asked], timeout=0)
        return (True, self._get(asked, 0)) if done else (False, None)

    def probe(self, rules: tuple[str, ...], *, timeout: float | None = 120.0):
        """`pcviz.runs.ProbeResult` per rule at the current weights (a list, one per rule)."""
        return self._get(self.handle.probe.remote(tuple(rules)), timeout)

    def boundary(self, *, timeout: float | None = 30.0):
        """`pcviz.boundary.DecisionGrid` at the current weights (`None`: the data are not 2-D)."""
        return self._get(self.handle.boundary.remote(), timeout)

    def close(self) -> None:
        """Checkpoint and stop the run (it reopens from the store when asked for again)."""
        self.handle.close.remote()


def _settings() -> dict[str, str]:
    """The dashboard's own `PCVIZ_*` settings (data folder, budgets, cache), which the run's
    worker uses as the dashboard would."""
    return {k: v for k, v in os.environ.items() if k.startswith("PCVIZ_")}


class RunGone(RuntimeError):
    """The live run's actor has ended (its worker died, or it was retired)."""


class _Spare(NamedTuple):
    run_id: str
    handle: Any
    started: float  # time.monotonic()
    ahead: Configs  # the configuration it builds ahead


_spares: list[_Spare] = []
_spares_lock = threading.Lock()
_plan: list[Configs] = []  # what spares are built for (`start_spare_runs(prepare=...)`)


def _drop_stale_spares() -> None:
    """Forget the spares the pool has held for half of `SPARE_SECONDS` (they end on their
    own); the caller holds `_spares_lock`."""
    now = time.monotonic()
    _spares[:] = [s for s in _spares if now - s.started < SPARE_SECONDS / 2]


def _planned() -> list[Configs]:
    """The configurations spares are built for: the plan, else the default run's alone."""
    return _plan or [default_configs()]


def start_spare_runs(*, prepare: Sequence[Configs] | None = None) -> int:
    """Start spare runs until `spare_runs()` stand by for each configuration of the plan
    (the cluster must be up); those the pool has held for half of `SPARE_SECONDS` are
    dropped (they end on their own). Returns how many stand by.

    `prepare`: the configurations spares are built for, the default run's first (kept for
    the spares started later; default: the default run's alone).
    """
    from ..store import default_store_url, new_run_id

    with _spares_lock:
        if prepare is not None:
            _plan[:] = [c for i, c in enumerate(prepare) if c not in prepare[:i]]
        _drop_stale_spares()
        for configs in _planned():
            for _ in range(spare_runs() - sum(s.ahead == configs for s in _spares)):
                run_id = new_run_id()
                handle = _actor().options(
                    name=actor_name(run_id), namespace=_cluster.NAMESPACE, lifetime="detached",
                ).remote(run_id, store_url=default_store_url(), settings=_settings(),
                          ahead=configs)
                _spares.append(_Spare(run_id, handle, time.monotonic(), configs))
        return len(_spares)


def _take_spare(configs: Configs | None) -> _Spare | None:
    """The pool's spare built for `configs`, else one built for the default run, else any
    (a started worker, whichever run it built, saves a new run seconds), else `None`; the
    caller holds `_spares_lock`."""
    for wanted in (configs, _planned()[0]):
        for index, spare in enumerate(_spares):
            if spare.ahead == wanted:
                return _spares.pop(index)
    return _spares.pop(0) if _spares else None


def _refill() -> None:
    with contextlib.suppress(Exception):  # the cluster has gone: the next page starts one
        start_spare_runs()


def new_live_run_id(configs: Configs | None = None) -> str:
    """The id for a new live run of `configs`: a spare run's (already started:
    `open_live_run` then only configures it), built for `configs` when one stands by, else
    a new id. Starts the next spare `REFILL_SECONDS` later."""
    from ..store import new_run_id

    if not _cluster.ready(0) or spare_runs() == 0:
        return new_run_id()
    with _spares_lock:
        _drop_stale_spares()
        taken = _take_spare(configs)
    if REFILL_SECONDS > 0:
        refill = threading.Timer(REFILL_SECONDS, _refill)
        refill.daemon = True
        refill.start()
    else:
        _refill()
    return taken.run_id if taken is not None else new_run_id()


def find_live_run(run_id: str) -> LiveRunClient | None:
    """The live run `run_id` if its actor is alive, else `None`."""
    import ray

    _cluster.ensure()
    try:
        return LiveRunClient(run_id, ray.get_actor(actor_name(run_id),
                                                    namespace=_cluster.NAMESPACE))
    except ValueError:
        return None


def open_live_run(run_id: str, model: ModelConfig, rule: RuleConfig, train: TrainConfig, *,
                  store_url: str | None = None, restore: bool = True,
                  idle: float | None = None) -> LiveRunClient:
    """Attach to the live run `run_id`, or start its actor: reopened from the store's latest
    checkpoint of the run when there is one (and `restore`), else a new run at step 0. A
    spare run under that id (`new_live_run_id`) is given the configuration.

    Returns at once; the first `view` waits for the actor to build its session. `idle`:
    seconds without a reader after which the run is checkpointed and closed (default
    `idle_seconds()`).
    """
    from ..store import default_store_url

    store_url = store_url or default_store_url()
    found = find_live_run(run_id)
    handle = found.handle if found is not None else _actor().options(
        name=actor_name(run_id), namespace=_cluster.NAMESPACE, lifetime="detached",
        get_if_exists=True,
    ).remote(run_id, model, rule, train, store_url=store_url,
             restore=restore, idle=idle, settings=_settings())
    # A spare (found, or created by another page just before: `get_if_exists` then returns
    # it as it is) takes this configuration; a run built with one ignores it.
    handle.configure.remote(model, rule, train, store_url=store_url, restore=restore,
                            idle=idle)
    return LiveRunClient(run_id, handle)
