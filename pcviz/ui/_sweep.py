r"""Streamlit side of the depth x width sweep page: the grid runs in the background.

A `SweepJob` (one per sweep configuration, shared by every visitor through
`st.cache_resource`) owns a coordinator thread that hands the grid's cells to a few worker
threads; each worker iterates `pcviz.runs.sweep` over its cell and writes the result into the
job under its lock. Pages only read snapshots, so reruns, page switches and other visitors never
disturb a running sweep, and a finished one is shown at once on the next visit.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np
import streamlit as st

from ..config import RULES, ModelConfig, RuleConfig, TrainConfig, to_dict, with_changes
from ..runs import SweepCell, sweep
from . import _page as params
from ._widgets import plain

DEFAULTS: dict[str, Any] = {"depths": "4, 8, 16", "widths": "8, 32",
                            "sweep_rules": ["bp", "pc", "pcalm"], "seeds": "0",
                            "cell_steps": 100}
"""Page settings in the URL (the text fields are kept as typed)."""

LIMITS = {"depths": (2, 256, 8), "widths": (1, 512, 8), "seeds": (0, 2**31 - 1, 5)}
"""Per list: smallest value, largest value, most values."""
STEPS_RANGE = (1, 5000)
MAX_CELLS = 64
WORKERS = max(1, min(2, os.cpu_count() or 1))


def parse_list(text: str, name: str) -> tuple[int, ...]:
    """`"4, 8,16"` -> `(4, 8, 16)` (sorted, unique); `ValueError` saying what to type."""
    lo, hi, most = LIMITS[name]
    parts = [p for p in str(text).replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        values = sorted({int(p) for p in parts})
    except ValueError:
        raise ValueError(f"{name} must be whole numbers separated by commas, e.g. "
                         f"{DEFAULTS[name]!r}") from None
    if not values:
        raise ValueError(f"give at least one value for {name}, e.g. {DEFAULTS[name]!r}")
    if values[0] < lo or values[-1] > hi or len(values) > most:
        raise ValueError(f"{name} must be at most {most} values from {lo} to {hi}")
    return tuple(values)


def _text_parser(name: str):
    def parse(text: str) -> str:
        parse_list(text, name)
        return text

    return parse


def _rules_parser(text: str) -> list[str]:
    rules = [r.strip() for r in text.split(",") if r.strip()]
    if not rules or any(r not in RULES for r in rules):
        raise ValueError(f"it must be rules from {', '.join(RULES)}, separated by commas")
    return [r for r in RULES if r in rules]


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """Everything that decides a sweep's results (its cache key)."""

    depths: tuple[int, ...]
    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    max_steps: int
    model: ModelConfig
    rule: RuleConfig
    train: TrainConfig

    def cells(self) -> list[tuple[int, int, int]]:
        """Every (depth, width, seed), in `pcviz.runs.sweep`'s order."""
        return list(itertools.product(self.depths, self.widths, self.seeds))

    def key(self) -> str:
        """A canonical text of the spec."""
        return json.dumps({**{f: getattr(self, f) for f in ("depths", "widths", "seeds",
                                                             "max_steps")},
                           "model": to_dict(self.model), "rule": to_dict(self.rule),
                           "train": to_dict(self.train)}, sort_keys=True)


def cost(spec: SweepSpec, cell: tuple[int, int, int]) -> float:
    """Relative cost of a cell, for the time estimate: a fixed compile share plus the
    inference work, which grows with depth x T x width."""
    depth, width, _ = cell
    steps = spec.rule.inference_steps(depth)
    return 1.0 + depth * steps * max(width, 16) / 2e5


class Snapshot(NamedTuple):
    """A consistent copy of a job's state."""

    cells: list[SweepCell]
    total: int
    running: bool
    stopped: bool
    error: str | None
    elapsed: float
    remaining: float


class SweepJob:
    """A sweep's results and its background threads (see the module docstring)."""

    def __init__(self, spec: SweepSpec):
        self.spec = spec
        self._lock = threading.Lock()
        self._cells: dict[tuple[int, int, int], SweepCell] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: str | None = None
        self._elapsed = 0.0
        self._started: float | None = None

    def start(self) -> None:
        """Run (or resume) the cells not done yet; no-op while running."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._error = None
            self._started = time.perf_counter()
            self._thread = threading.Thread(target=self._run, name="pcviz-sweep", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Ask the workers to stop after their current cell."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job's thread ends (or `timeout`); True when it has ended."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _run(self) -> None:
        todo = [c for c in self.spec.cells() if c not in self._cells]
        pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="pcviz-sweep-cell")
        try:
            for future in [pool.submit(self._cell, c) for c in todo]:
                future.result()
        except Exception as err:  # noqa: BLE001 - shown to the visitor as a message
            self._stop.set()
            text = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
            with self._lock:
                self._error = text
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            with self._lock:
                self._elapsed += time.perf_counter() - (self._started or time.perf_counter())
                self._started = None

    def _cell(self, cell: tuple[int, int, int]) -> None:
        if self._stop.is_set():
            return
        depth, width, seed = cell
        s = self.spec
        for result in sweep([depth], [width], s.model, s.rule, s.train, seeds=[seed],
                            max_steps=s.max_steps, should_stop=self._stop.is_set):
            with self._lock:
                self._cells[cell] = result

    def snapshot(self) -> Snapshot:
        """The results so far, whether it runs, and a time estimate (seconds)."""
        with self._lock:
            cells = [self._cells[c] for c in self.spec.cells() if c in self._cells]
            running = self._thread is not None and self._thread.is_alive()
            elapsed = self._elapsed + (time.perf_counter() - self._started
                                       if self._started is not None else 0.0)
            error, stopped = self._error, self._stop.is_set()
        done = sum(cost(self.spec, (c.depth, c.width, c.seed)) for c in cells)
        left = sum(cost(self.spec, c) for c in self.spec.cells()) - done
        remaining = elapsed / done * left if done > 0 and running else float("nan")
        return Snapshot(cells, len(self.spec.cells()), running, stopped and not running,
                        error, elapsed, remaining)


@st.cache_resource(max_entries=32, show_spinner=False)
def job_for(key: str, _spec: SweepSpec) -> SweepJob:
    """The one job of a sweep configuration, shared by every visitor and rerun."""
    return SweepJob(_spec)


# --------------------------------------------------------------------------------- widgets


RULE_NAMES = {"bp": "BP", "pc": "PC", "pcalm": "PC-ALM"}


def controls() -> None:
    """The grid's widgets (seeded from the URL, kept across page switches)."""
    params.seed("depths", DEFAULTS["depths"], _text_parser("depths"))
    params.seed("widths", DEFAULTS["widths"], _text_parser("widths"))
    params.seed("sweep_rules", DEFAULTS["sweep_rules"], _rules_parser)
    params.seed("seeds", DEFAULTS["seeds"], _text_parser("seeds"))
    params.seed("cell_steps", DEFAULTS["cell_steps"], params.int_in(*STEPS_RANGE))
    cols = st.columns([1.2, 1.2, 2, 0.8, 1])
    cols[0].text_input("Depths L", key="depths", persist_state="session",
                       help="Comma-separated, at most 8 values from 2 to 256.")
    cols[1].text_input("Widths N", key="widths", persist_state="session",
                       help="Comma-separated, at most 8 values from 1 to 512.")
    cols[2].multiselect("Rules", RULES, key="sweep_rules", format_func=RULE_NAMES.get,
                        persist_state="session", help="Include BP to see the differences.")
    cols[3].text_input("Seeds", key="seeds", persist_state="session",
                       help="Comma-separated, at most 5; accuracies are averaged over seeds.")
    cols[4].number_input("Batches per cell", *STEPS_RANGE, key="cell_steps", step=50,
                         persist_state="session", help="Training steps of every cell.")


def read_spec(model: ModelConfig, rule: RuleConfig, train: TrainConfig) -> SweepSpec | None:
    """The sweep the widgets describe, on the sidebar's configuration; None after an
    `st.error` saying what to change."""
    s = st.session_state
    try:
        depths, widths = parse_list(s["depths"], "depths"), parse_list(s["widths"], "widths")
        seeds = parse_list(s["seeds"], "seeds")
        rules = tuple(r for r in RULES if r in (s["sweep_rules"] or ()))
        if not rules:
            raise ValueError("choose at least one rule (BP, PC or PC-ALM)")
        steps = int(s["cell_steps"])
        cells = len(depths) * len(widths) * len(seeds)
        if cells > MAX_CELLS:
            raise ValueError(f"the grid has {cells} cells; at most {MAX_CELLS} run in the "
                             "browser (use `python -m pcviz sweep` for more)")
        base = with_changes(model, depth=depths[0], width=widths[0])
        train = with_changes(train, rules=rules, epochs=1, seed=0)
        return SweepSpec(depths, widths, seeds, steps, base, rule, train)
    except ValueError as err:
        st.error(plain(f"Cannot run this sweep: {err}."))
        return None


def keep_in_url() -> None:
    """Mirror this page's settings in the address."""
    params.mirror(DEFAULTS)


# ---------------------------------------------------------------------------------- results


def grids(spec: SweepSpec, cells: list[SweepCell]) -> dict[str, np.ndarray]:
    """Rule -> `(depths, widths)` test accuracy, the mean over seeds; NaN where not run."""
    out = {}
    for rule in spec.train.rules:
        total = np.zeros((len(spec.depths), len(spec.widths)))
        count = np.zeros_like(total)
        for c in cells:
            value = c.accuracy.get(rule, float("nan"))
            i, j = spec.depths.index(c.depth), spec.widths.index(c.width)
            if np.isfinite(value):
                total[i, j] += value
                count[i, j] += 1
        with np.errstate(invalid="ignore"):
            out[rule] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out


def progress_text(snap: Snapshot) -> str:
    """"3 of 6 cells · 12 s elapsed · about 20 s left"."""
    text = f"{len(snap.cells)} of {snap.total} cells · {snap.elapsed:.0f} s elapsed"
    if snap.running and np.isfinite(snap.remaining):
        text += f" · about {snap.remaining:.0f} s left (estimate)"
    elif snap.running:
        text += " · estimating time left after the first cell"
    return text


def cells_csv(cells: list[SweepCell]) -> str:
    """One row per (cell, rule): depth, width, seed, rule, accuracy, status, seconds."""
    lines = ["depth,width,seed,rule,test_accuracy,status,cell_seconds"]
    for c in cells:
        lines += [f"{c.depth},{c.width},{c.seed},{rule},{float(acc)!r},{c.status[rule]},"
                  f"{c.seconds:.3f}" for rule, acc in c.accuracy.items()]
    return "\n".join(lines) + "\n"


def cells_json(spec: SweepSpec, cells: list[SweepCell]) -> str:
    """The spec and every cell as JSON (NaN accuracies, i.e. diverged, as null)."""
    def clean(x: float):
        return float(x) if np.isfinite(x) else None

    return json.dumps({"spec": json.loads(spec.key()), "cells": [
        {"depth": c.depth, "width": c.width, "seed": c.seed, "seconds": c.seconds,
         "accuracy": {r: clean(a) for r, a in c.accuracy.items()}, "status": c.status}
        for c in cells]})
