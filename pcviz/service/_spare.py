"""Spare live runs: actors started before anyone asks for a run, so that a new run does not
wait for a worker process to start and import the engine.

A live run's actor is a process of its own, and Ray gives an actor a new worker process (it
never reuses one that ran tasks). Starting one costs about 3 s on a 2-core machine: the
worker (0.5 s), `pcviz` with JAX and Equinox (1 s), the store's SQL layer (0.4 s), the data
set (0.4 s), all before the run's own network and first step (1 s). So the service keeps
`spare_runs()` actors standing by, each under an id of its own (`run-<id>`, like any run),
with those imports done, the store open and the default data set drawn. A page that needs a
new run takes a spare's id (`take_spare`) and gives it its configuration
(`LiveRun.configure`); the pool then starts the next spare. A spare nobody takes ends after
`SPARE_SECONDS`; it has written nothing to the store.

`RunStandBy` is the actor's side (a base class of `LiveRun`); the pool is in `_client`.
"""

from __future__ import annotations

import contextlib
import os
import threading

SPARE_RUNS = 1
"""Spare live runs kept standing by (`PCVIZ_SPARE_RUNS` changes it; 0: none)."""
SPARE_SECONDS = 600.0
"""A spare that no page took within this many seconds ends (the pool stops handing it out
after half of it)."""
CONFIGURE_WAIT = 90.0
"""Longest a page's call on a spare waits for the spare's configuration to arrive."""


def spare_runs() -> int:
    """Spare runs to keep: `PCVIZ_SPARE_RUNS` (a whole number >= 0), else `SPARE_RUNS`."""
    value = os.environ.get("PCVIZ_SPARE_RUNS", "").strip()
    return int(value) if value.isdigit() else SPARE_RUNS


def preload() -> None:
    """Import what building a run imports and draw the default data set (it stays in the
    process's cache), so that a run built here later skips that work."""
    import jax

    from ..config import ModelConfig, RuleConfig, TrainConfig  # noqa: F401
    from ..data import load_dataset
    from ..store import open_store  # noqa: F401
    from ..train import Session  # noqa: F401

    jax.devices()
    train = TrainConfig()
    load_dataset(train.dataset, seed=train.seed)


class RunStandBy:
    """A live run started without a configuration: it waits, preloaded, for `configure`
    (see the module docstring). `LiveRun` sets `_built` (once the run has its session or
    its error) and `_closing`."""

    _built: threading.Event
    _closing: threading.Event
    _configuring: threading.Lock

    def _stand_by(self) -> None:
        """Preload, then end this actor if no page configures it within `SPARE_SECONDS`."""
        # a spare that could not preload still builds when configured
        with contextlib.suppress(Exception):
            preload()
        threading.Thread(target=self._end_if_untaken, name="pcviz-spare", daemon=True).start()

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
