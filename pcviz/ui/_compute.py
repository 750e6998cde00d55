"""What the pages share across visitors: data sets, the run service, and its warm-up.

- `dataset`: `load_dataset` behind `st.cache_resource` (one read-only copy per server), for
  the pages that draw data.
- `start_service`: starts the run service (`pcviz.service`) once per server, without
  waiting, and then the spare runs (`pcviz.service.start_spare_runs`), which build the
  default live run and the configurations registered with `warm_up_also` (`pcviz.ui`
  registers the lecture presets') ahead, compiled, so that a fresh server's first visitor
  and a lecturer's Play wait neither for a worker to start nor for the compiler (without
  spares, warm-up jobs compile them: `pcviz.service.warm_up`); and resumes the sweeps that a
  stopped server left running (`_sweep_jobs.start_resuming`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable

import streamlit as st

from .. import service
from .._jaxcache import enable_compilation_cache as enable_compilation_cache
from ..config import ModelConfig, RuleConfig, TrainConfig
from ..data import Dataset, load_dataset
from ._sweep_jobs import start_resuming

_LOG = logging.getLogger(__name__)

Configs = tuple[ModelConfig, RuleConfig, TrainConfig]
_MORE_WARM_UPS: list[Callable[[], Iterable[Configs]]] = []


def warm_up_also(configs: Callable[[], Iterable[Configs]]) -> None:
    """After the default run, also compile the configurations `configs()` returns (called in
    the warm-up thread), unless `PCVIZ_WARM_PRESETS=0`. `pcviz.ui` registers the lecture
    presets' here, so that this module, which the sidebar's state calls, does not import the
    presets."""
    _MORE_WARM_UPS.append(configs)


@st.cache_resource(show_spinner=False, max_entries=16)
def dataset(name: str, seed: int) -> Dataset:
    """The data set `name` drawn with `seed`, shared by every visitor (read-only arrays).

    Raises `DataError` (not cached) when its files are missing or corrupt.
    """
    return load_dataset(name, seed=seed)


def _warm_default() -> None:
    """Compile the default run, then every registered configuration (`warm_up_also`: the
    lecture presets'), one after another (so that a lecturer's Play does not wait for the
    compiler), in the background: on the cores' leftovers, never before a visitor's run;
    `PCVIZ_WARM_PRESETS=0` compiles the default only (a replica whose cache another one
    fills). The spare runs do it, each building those runs ahead (their compiles land in the
    shared persistent cache too); without spares (`PCVIZ_SPARE_RUNS=0`), warm-up jobs."""
    if not service.ready(timeout=None):
        return
    configs = [(ModelConfig(), RuleConfig(), TrainConfig())]
    if os.environ.get("PCVIZ_WARM_PRESETS", "1") != "0":
        configs += [c for more in _MORE_WARM_UPS for c in more() if c not in configs]
    if service.start_spare_runs(prepare=configs):  # the first visitor's run starts at once
        return
    for model, rule, train in configs:
        try:
            service.submit(service.warm_up, model, rule, train, label="warm-up",
                           background=True).result(timeout=600)
        except Exception as err:  # the visitor's own run reports errors; this only warms
            _LOG.info("pcviz: warm-up of %s failed: %s", (model, rule, train), err)


@st.cache_resource(show_spinner=False)
def _started() -> threading.Thread:
    service.start()
    thread = threading.Thread(target=_warm_default, name="pcviz-warm-up", daemon=True)
    thread.start()
    start_resuming()
    return thread


def start_service() -> None:
    """Start the run service, the default run's warm-up and the resumption of interrupted
    sweeps (once per server; returns at once). Called as the server starts (`app.py`'s
    lifespan hook) and by every page."""
    _started()


warm_up_default = start_service
"""The name `app.py`'s start-up hook calls."""
