"""What the pages share across visitors: data sets, compiled programs, and their warm-up.

- `dataset`: `load_dataset` behind `st.cache_resource` (one read-only copy per server).
- `enable_compilation_cache`: JAX's persistent compilation cache, so that a restarted server
  (or a second worker) loads compiled programs from disk instead of compiling again.
- `warm_up`: compiles, in a background thread, every program a live run of one configuration
  needs (training step, gradient alignment, evaluation) on a throw-away session. JAX caches
  compiled programs by static configuration, so the visitor's own session, stepped after the
  warm-up, compiles nothing: pressing Play draws the first heatmap without waiting.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import NamedTuple

import jax
import streamlit as st

from ..config import ModelConfig, RuleConfig, TrainConfig, with_changes
from ..data import Dataset, load_dataset
from ..train import Session

EVAL_SAMPLES = 2000
"""Test samples per evaluation in the live lab (a fixed shape: compiled once)."""

_LOG = logging.getLogger(__name__)
_CACHE_ENV = "PCVIZ_JAX_CACHE"


def enable_compilation_cache() -> str | None:
    """Turn on JAX's persistent compilation cache (unless the user configured one).

    The folder is `$PCVIZ_JAX_CACHE`, else `~/.cache/pcviz/jax`; `PCVIZ_JAX_CACHE=off`
    disables it. Returns the folder in use, or `None`.
    """
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return os.environ["JAX_COMPILATION_CACHE_DIR"]
    path = os.environ.get(_CACHE_ENV, str(Path.home() / ".cache" / "pcviz" / "jax"))
    if path.strip().lower() in ("", "0", "off", "no", "false"):
        return None
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", path)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    except (OSError, AttributeError, ValueError) as err:  # a read-only home, an old JAX
        _LOG.warning("pcviz: no persistent compilation cache (%s)", err)
        return None
    return path


@st.cache_resource(show_spinner=False, max_entries=16)
def dataset(name: str, seed: int) -> Dataset:
    """The data set `name` drawn with `seed`, shared by every visitor (read-only arrays).

    Raises `DataError` (not cached) when its files are missing or corrupt.
    """
    return load_dataset(name, seed=seed)


def new_session(model: ModelConfig, rule: RuleConfig, train: TrainConfig) -> Session:
    """A fresh training session on the shared copy of its data set."""
    return Session(model, rule, train, dataset=dataset(train.dataset, train.seed))


class WarmUp(NamedTuple):
    """A background compilation: `stepped` is set once the training step is compiled (what
    the first heatmap needs); `thread` ends when alignment and evaluation are compiled too."""

    thread: threading.Thread
    stepped: threading.Event

    def busy(self) -> bool:
        """Whether programs are still compiling."""
        return self.thread.is_alive()


def _compile(model: ModelConfig, rule: RuleConfig, train: TrainConfig,
             stepped: threading.Event) -> None:
    try:
        # eta is an argument of the compiled step, not part of it: a fixed value skips the
        # power iteration that `eta="auto"` runs (the visitor's own session does that).
        fixed = with_changes(rule, eta=0.25) if rule.eta == "auto" else rule
        session = new_session(model, fixed, train)
        session.step(1)
        stepped.set()
        session.gradient_alignment()
        session.evaluate(max_samples=EVAL_SAMPLES)
    except Exception as err:  # the visitor's own session reports errors; this only warms
        _LOG.info("pcviz: warm-up of %s failed: %s", model, err)
    finally:
        stepped.set()


@st.cache_resource(show_spinner=False, max_entries=64)
def _warm_thread(key: str, _configs: tuple) -> WarmUp:
    stepped = threading.Event()
    # Not a daemon: the interpreter waits for it at exit instead of killing JAX mid-compile.
    thread = threading.Thread(target=_compile, args=(*_configs, stepped), name="pcviz-warm-up",
                              daemon=False)
    thread.start()
    return WarmUp(thread, stepped)


def warm_up_default() -> WarmUp:
    """Start compiling the default configuration's live run (once per server): called as the
    server starts (`app.py`'s lifespan hook) and, should that not have run, as the first page
    loads, before any visitor's run is built."""
    return warm_up(ModelConfig(), RuleConfig(), TrainConfig())


def warm_up(model: ModelConfig, rule: RuleConfig, train: TrainConfig) -> WarmUp:
    """Start (once per configuration and server) compiling a live run's programs in the
    background and return the `WarmUp` to wait on."""
    structure = (model, rule, with_changes(train, learning_rate=None))
    return _warm_thread(repr(structure), structure)
