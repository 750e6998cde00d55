"""Spare live runs: actors started before anyone asks for a run, so that a new run does not
wait for a worker process to start and import the engine.

A live run's actor is a process of its own, and Ray gives an actor a new worker process (it
never reuses one that ran tasks). Starting one costs about 3 s on a 2-core machine: the
worker (0.5 s), `pcviz` with JAX and Equinox (1 s), the store's SQL layer (0.4 s), the data
set (0.4 s), all before the run's own network and first step (1 s). So the service keeps
actors standing by, each under an id of its own (`run-<id>`, like any run), with those
imports done, the store open and the default data set drawn; then, in the background, each
builds one configuration's session and compiles its programs: `spare_runs()` build the
default run's (a new visitor's first run), and as many build each lecture preset's
(`start_spare_runs(prepare=...)`). A spare stands by below the runs that play
(`_cluster.step_aside`) and builds on the cores' leftovers only. A page that needs a
new run takes the id of a spare built for its configuration, else of the default run's,
else of any (`new_live_run_id`), and gives it its configuration (`LiveRun.configure`):
the configuration it was built for takes the session built ahead, another one builds its
own. The pool starts the next spare of that kind `REFILL_SECONDS` later. A spare nobody
takes ends after `SPARE_SECONDS`; it has written nothing to the store. Each spare is a
worker process (about 450 MB resident here): `PCVIZ_WARM_PRESETS=0` keeps the default
run's alone.

`RunStandBy` is the actor's side (a base class of `LiveRun`); the pool is in `_client`.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..config import ModelConfig, RuleConfig, TrainConfig
from ._cluster import background_thread, restore_priority, step_aside

if TYPE_CHECKING:
    from ..train import Session

Configs = tuple[ModelConfig, RuleConfig, TrainConfig]

SPARE_RUNS = 1
"""Spare live runs kept standing by (`PCVIZ_SPARE_RUNS` changes it; 0: none)."""
SPARE_SECONDS = 600.0
"""A spare that no page took within this many seconds ends (the pool stops handing it out
after half of it)."""
REFILL_SECONDS = 10.0
"""A spare taken is replaced this long after, so that the new worker's start (a few seconds
of a core: imports, the store, the data) does not compete with the run just taken while it
draws its first heatmap."""
CONFIGURE_WAIT = 90.0
"""Longest a page's call on a spare waits for the spare's configuration to arrive."""
PREPARE_WAIT = 30.0
"""Longest a spare given the configuration it was built for waits for the session it is
building ahead (building another would take as long)."""


def spare_runs() -> int:
    """Spare runs to keep: `PCVIZ_SPARE_RUNS` (a whole number >= 0), else `SPARE_RUNS`."""
    value = os.environ.get("PCVIZ_SPARE_RUNS", "").strip()
    return int(value) if value.isdigit() else SPARE_RUNS


def preload() -> None:
    """Import what building a run imports and draw the default data set (it stays in the
    process's cache), so that a run built here later skips that work."""
    import jax

    from ..data import load_dataset
    from ..store import open_store  # noqa: F401
    from ..train import Session  # noqa: F401

    jax.devices()
    train = TrainConfig()
    load_dataset(train.dataset, seed=train.seed)


def default_configs() -> Configs:
    """The configuration of a new visitor's first run."""
    return ModelConfig(), RuleConfig(), TrainConfig()


def prepare_session(configs: Configs, *, stop: Callable[[], bool]) -> Session | None:
    """The session of a run of `configs`, built, with every program a live run compiles
    (`pcviz.service.warm_up`) traced and compiled in this process (and so in the persistent
    compilation cache); `None` once `stop()` is true (asked between the programs: a spare
    given another configuration stops)."""
    from ..data import load_dataset
    from ..train import Session
    from ._warm import PROGRAMS, warm_up

    model, rule, train = configs
    data = load_dataset(train.dataset, seed=train.seed)
    for program in PROGRAMS:
        if stop():
            return None
        warm_up(model, rule, train, dataset=data, programs=(program,))
    return None if stop() else Session(model, rule, train, dataset=data)


class RunStandBy:
    """A live run started without a configuration: it waits, preloaded, for `configure`
    (see the module docstring). `LiveRun` sets `_built` (once the run has its session or
    its error), `_closing`, `idle` and the store, and builds the run (`_configure`)."""

    _built: threading.Event
    _closing: threading.Event
    _configuring: threading.Lock
    idle: float
    _store_url: str | None
    _store: Any
    _own_worker: bool  # a worker of its own (not a test's process): its priority is ours

    def configure(self, model: ModelConfig, rule: RuleConfig, train: TrainConfig, *,
                  store_url: str | None = None, restore: bool = True,
                  idle: float | None = None) -> None:
        """Give a spare run (started without a configuration) its configuration and build
        it, as the constructor would have; nothing for a run that has one."""
        with self._configuring:
            if self._built.is_set() or self._closing.is_set():
                return
            if self._own_worker:
                restore_priority()  # a visitor's run now (where permitted)
            if idle is not None:
                self.idle = float(idle)
            if store_url != self._store_url:
                self._store_url, self._store = store_url, self._open_store(store_url)
            self._configure(model, rule, train, restore=restore)

    def _open_store(self, url: str | None) -> Any:
        raise NotImplementedError  # `RunRecording`'s

    def _configure(self, model: ModelConfig, rule: RuleConfig, train: TrainConfig, *,
                   restore: bool) -> None:
        raise NotImplementedError  # `LiveRun`'s

    ahead: Configs | None = None
    """The configuration whose session this spare builds ahead (`None`: not a spare)."""
    _prepared: Session | None = None
    _preparing: threading.Event  # set once the session built ahead is ready (or failed)
    _abandoned: threading.Event  # set when given another configuration

    def _stand_by(self, ahead: Configs | None = None) -> None:
        """Preload; then, in the background, build the session of `ahead` (default: the
        default run's); end this actor if no page configures it within `SPARE_SECONDS`."""
        if self._own_worker:  # below the runs that play until a page takes it
            step_aside()
        # a spare that could not preload still builds when configured
        with contextlib.suppress(Exception):
            preload()
        self.ahead = ahead or default_configs()
        self._preparing, self._abandoned = threading.Event(), threading.Event()
        threading.Thread(target=self._prepare, name="pcviz-spare-prepare", daemon=True).start()
        threading.Thread(target=self._end_if_untaken, name="pcviz-spare", daemon=True).start()

    def _prepare(self) -> None:
        assert self.ahead is not None
        background_thread()  # ahead of need: on the cores' leftovers
        try:
            self._prepared = prepare_session(self.ahead, stop=self._abandoned.is_set)
        except Exception:  # the run builds its own session when configured
            pass
        finally:
            self._preparing.set()

    def _prepared_session(self, configs: Configs) -> Session | None:
        """The session built ahead, when `configs` is the one it was built for (waiting for
        it at most `PREPARE_WAIT` s); else `None`, and the one built ahead is dropped.
        Taken once."""
        if self.ahead is None:  # not a spare
            return None
        if configs != self.ahead:
            self._abandoned.set()  # it stops between two programs; nobody will take it
            self._prepared = None
            return None
        self._preparing.wait(PREPARE_WAIT)
        prepared, self._prepared = self._prepared, None
        return prepared

    def _end_if_untaken(self) -> None:
        if self._built.wait(SPARE_SECONDS):
            return
        with self._configuring:
            if self._built.is_set():
                return
            self._closing.set()
            self._end_actor()

    @staticmethod
    def _end_actor() -> None:
        """End this actor (nothing outside an actor: a test's process)."""
        import ray

        if not ray.is_initialized():
            return
        context = ray.get_runtime_context()
        if context.get_actor_id() is None:  # a driver
            return
        with contextlib.suppress(Exception):
            ray.kill(context.current_actor, no_restart=True)
