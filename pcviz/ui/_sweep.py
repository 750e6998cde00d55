r"""Streamlit side of the depth x width sweep page: the sweep runs on the run service.

The grid is `pcviz.sweeps.run_sweep` (cells as tasks on the service, each written to the run
store as it finishes). A `SweepJob` (one per sweep id, shared by every visitor of this server
through `st.cache_resource`) iterates it in a background thread and only records progress;
the results shown come from the store, so a reload, another tab, another replica or a
restarted server shows the same sweep (its id is in the page's address, `sweep=<id>`). A sweep
left `running` in the store by a server that went away is resumed when its page is opened.
Nothing here computes.
"""

from __future__ import annotations

import datetime
import math
import threading
import time
from typing import Any, NamedTuple

import streamlit as st

from .. import sweeps
from ..config import RULES, ModelConfig, RuleConfig, TrainConfig, with_changes
from ..sweeps import CellResult, SweepSpec, SweepState
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
ORPHANED_AFTER = 6 * sweeps.HEARTBEAT_SECONDS
"""A sweep `running` in the store but untouched this long has lost its server: resume it."""


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


class Progress(NamedTuple):
    """What this server's job knows: whether it runs, was stopped, its error, the seconds
    spent and the cells computed (not read from the store) in this run."""

    running: bool
    stopped: bool
    error: str | None
    elapsed: float
    computed: tuple[tuple[int, int, int], ...]


class SweepJob:
    """One sweep's background thread on this server (see the module docstring)."""

    def __init__(self, spec: SweepSpec):
        self.spec = spec
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: str | None = None
        self._elapsed, self._started = 0.0, None
        self._computed: list[tuple[int, int, int]] = []

    def start(self) -> None:
        """Run (or resume) the cells not finished in the store; no-op while running."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._error, self._started, self._computed = None, time.perf_counter(), []
            self._thread = threading.Thread(target=self._run, name="pcviz-sweep", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Cancel the running cells (they stay unfinished, to run on the next start)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job's thread ends (or `timeout`); True when it has ended."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _run(self) -> None:
        try:
            store = open_store()
            plan = sweeps.plan_sweep(self.spec, store=store)
            for cell in sweeps.run_sweep(plan, store=store, store_url=store_url(),
                                         should_stop=self._stop.is_set):
                if not cell.skipped:
                    with self._lock:
                        self._computed.append((cell.depth, cell.width, cell.seed))
        except Exception as err:  # noqa: BLE001 - shown to the visitor as a message
            text = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
            with self._lock:
                self._error = text
        finally:
            with self._lock:
                self._elapsed += time.perf_counter() - (self._started or time.perf_counter())
                self._started = None

    def progress(self) -> Progress:
        """A consistent copy of the job's state."""
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
            elapsed = self._elapsed + (time.perf_counter() - self._started
                                       if self._started is not None else 0.0)
            return Progress(running, self._stop.is_set() and not running, self._error, elapsed,
                            tuple(self._computed))


@st.cache_resource(max_entries=32, show_spinner=False)
def job_for(sweep_id: str, _spec: SweepSpec) -> SweepJob:
    """The one job of a sweep on this server, shared by every visitor and rerun."""
    return SweepJob(_spec)


@st.cache_resource(show_spinner=False)
def _store_handle(url: str | None):
    from ..store import open_store as open_

    return open_(url)


def store_url() -> str | None:
    """The run store's address (`PCVIZ_STORE` or the user's data folder)."""
    from ..store import default_store_url

    return default_store_url()


def open_store():
    """The run store, opened once per server (`StoreError` when it cannot be)."""
    return _store_handle(store_url())


def _age(updated: Any) -> float:
    if isinstance(updated, datetime.datetime):
        now = datetime.datetime.now(updated.tzinfo) if updated.tzinfo else datetime.datetime.now()
        return (now - updated).total_seconds()
    try:
        return time.time() - float(updated)
    except (TypeError, ValueError):
        return math.inf


def resume_if_orphaned(job: SweepJob, state: SweepState | None) -> bool:
    """Start `job` when the store says its sweep is running but nobody has touched it for
    `ORPHANED_AFTER` seconds (its server went away); True when resumed."""
    if state is None or state.status != "running" or job.progress().running:
        return False
    if _age(state.updated) < ORPHANED_AFTER:
        return False
    job.start()
    return True


def pinned_spec(url_id: str | None, computed: SweepSpec | None) -> SweepSpec | None:
    """The sweep to show: the stored one named by the address (`sweep=<id>`) when it differs
    from the one the widgets describe and the visitor has changed nothing since opening the
    page; otherwise `computed`. Seeds the page's widgets from the stored sweep once."""
    s = st.session_state
    computed_id = sweeps.sweep_id(computed) if computed is not None else None
    if "sweep_pin" not in s:
        s["sweep_pin"] = None
        if url_id and url_id != computed_id:
            state = sweeps.sweep_state(open_store(), str(url_id)[:64])
            if state is not None:
                s["sweep_pin"] = (state.sweep_id, computed_id, state.spec)
    pin = s["sweep_pin"]
    if pin is None or pin[1] != computed_id:
        s["sweep_pin"] = None
        return computed
    return pin[2]


def seed_widgets(url_id: str | None) -> None:
    """Before the widgets are drawn: when the address names a stored sweep, give the page's
    widgets its settings (once per visit)."""
    s = st.session_state
    if "sweep_seeded" in s:
        return
    s["sweep_seeded"] = True
    if not url_id:
        return
    state = sweeps.sweep_state(open_store(), str(url_id)[:64])
    if state is None:
        st.warning(plain(f"No sweep {str(url_id)[:64]!r} in the run store: showing the sweep "
                         "of these settings instead."), icon="⚠️")
        return
    spec = state.spec
    s.setdefault("depths", ", ".join(map(str, spec.depths)))
    s.setdefault("widths", ", ".join(map(str, spec.widths)))
    s.setdefault("seeds", ", ".join(map(str, spec.seeds)))
    s.setdefault("sweep_rules", [r for r in RULES if r in spec.train.rules])
    s.setdefault("cell_steps", int(spec.max_steps or DEFAULTS["cell_steps"]))


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


def keep_in_url(spec: SweepSpec | None) -> None:
    """Mirror this page's settings, and the shown sweep's id (`sweep=<id>`), in the address."""
    params.mirror(DEFAULTS)
    if spec is not None:
        sid = sweeps.sweep_id(spec)
        if st.query_params.get("sweep") != sid:
            st.query_params["sweep"] = sid


# ---------------------------------------------------------------------------------- results


class Snapshot(NamedTuple):
    """A sweep as the page shows it: the cells recorded in the store, and this server's job."""

    cells: list[CellResult]
    total: int
    running: bool
    stopped: bool
    error: str | None
    elapsed: float
    remaining: float
    status: str


def snapshot(spec: SweepSpec, job: SweepJob) -> Snapshot:
    """The store's cells of `spec` (finished and failed) and the job's progress, with the
    time left estimated from the cells this job computed."""
    sid = sweeps.sweep_id(spec)
    progress = job.progress()
    state = sweeps.sweep_state(open_store(), sid)
    cells = state.cells if state is not None else []
    finished = {(c.depth, c.width, c.seed) for c in cells if c.state == "finished"}
    remaining = [c for c in spec.cells() if c not in finished]
    left = (sweeps.time_left(spec, computed=progress.computed, remaining=remaining,
                             elapsed=progress.elapsed) if progress.running else math.nan)
    return Snapshot(cells, len(spec.cells()), progress.running, progress.stopped,
                    progress.error, progress.elapsed, left,
                    state.status if state is not None else "new")


def finished_count(snap: Snapshot) -> int:
    """Cells finished (failed ones are shown but run again)."""
    return sum(c.state == "finished" for c in snap.cells)


def progress_text(snap: Snapshot) -> str:
    """"3 of 6 cells · 12 s elapsed · about 20 s left"."""
    text = f"{finished_count(snap)} of {snap.total} cells · {snap.elapsed:.0f} s elapsed"
    failed = sum(c.state == "failed" for c in snap.cells)
    if failed:
        text += f" · {failed} failed"
    if snap.running and math.isfinite(snap.remaining):
        text += f" · about {snap.remaining:.0f} s left (estimate)"
    elif snap.running:
        text += " · estimating time left after the first cell"
    return text
