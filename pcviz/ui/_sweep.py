r"""Streamlit side of the depth x width sweep page: the sweep runs on the run service.

The grid is `pcviz.sweeps.run_sweep` (cells as tasks on the service, each written to the run
store as it finishes), driven by this server's `SweepJob` for the sweep (`_sweep_jobs`); the
results shown come from the store, so a reload, another tab, another replica or a restarted
server shows the same sweep (its id is in the page's address, `sweep=<id>`). A restarted
server resumes the sweeps it left running as it starts (`_sweep_jobs.start_resuming`); a sweep
left `running` by a server elsewhere that stopped beating is also resumed when its page is
opened. The page's defaults are `pcviz.sweeps.DEFAULT_SWEEP`. Nothing here computes.
"""

from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

import streamlit as st

from .. import export, figures, sweeps
from ..config import DATASETS, RULES, ModelConfig, RuleConfig, TrainConfig
from ..config_fields import rule_label
from ..sweeps import DEFAULT_SWEEP, Setting, SweepCell, SweepSpec
from . import _page as params
from ._sidebar import DATASET_NAMES
from ._sweep_jobs import ORPHANED_AFTER, SweepJob, open_store
from ._sweep_jobs import job_for as job_for
from ._sweep_jobs import store_url as store_url
from ._widgets import plain


def _listed(values) -> str:
    return ", ".join(map(str, values))


DEFAULTS: dict[str, Any] = {"depths": _listed(DEFAULT_SWEEP.depths),
                            "widths": _listed(DEFAULT_SWEEP.widths),
                            "sweep_rules": list(DEFAULT_SWEEP.rules),
                            "seeds": _listed(DEFAULT_SWEEP.seeds),
                            "cell_steps": DEFAULT_SWEEP.steps,
                            "sweep_data": sweeps.default_dataset(),
                            "sweep_lr": DEFAULT_SWEEP.learning_rate}
"""Page settings in the URL (the text fields are kept as typed): `pcviz.sweeps.DEFAULT_SWEEP`,
the grid that shows the paper's claim in about two minutes."""

SWEEP_DEFAULTS_TEXT = (
    f"Fashion-MNIST (the paper's data set; where it is not installed, the generated "
    f"MNIST-like digits, noisier), depths {_listed(DEFAULT_SWEEP.depths)}, widths "
    f"{_listed(DEFAULT_SWEEP.widths)}, seeds {_listed(DEFAULT_SWEEP.seeds)}, "
    f"{DEFAULT_SWEEP.steps} batches of {DEFAULT_SWEEP.batch_size} per cell and one learning "
    f"rate, {DEFAULT_SWEEP.learning_rate:g}, for every depth: the smallest grid that shows the "
    "claim in about two minutes on two CPU cores. One step of a 32-layer net (T = 64) costs "
    "about 64 times the inference work of a 4-layer net's (T = 8), so deeper nets do not fit "
    "that time. With one learning rate at every depth BP learns about equally well at every "
    "depth, so a difference to BP measures the rule's credit, not a slower learning rate; "
    "three seeds give the spread that a difference must exceed to mean something."
)
"""The page's words on its defaults and why they were chosen."""

LIMITS = {"depths": (2, 256, 8), "widths": (1, 512, 8), "seeds": (0, 2**31 - 1, 5)}
"""Per list: smallest value, largest value, most values."""
STEPS_RANGE = (1, 5000)
LR_RANGE = (1e-5, 1.0)
MAX_CELLS = 64


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


def _lr_parser(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"it must be a number from {LR_RANGE[0]:g} to {LR_RANGE[1]:g}") from None
    if not LR_RANGE[0] <= value <= LR_RANGE[1]:
        raise ValueError(f"it must be a number from {LR_RANGE[0]:g} to {LR_RANGE[1]:g}")
    return value


def _age(updated: Any) -> float:
    try:
        return time.time() - float(updated)
    except (TypeError, ValueError):
        return math.inf


def resume_if_orphaned(job: SweepJob, sweep_id: str) -> bool:
    """Start `job`, the job of sweep `sweep_id`, when the store says the sweep is running but
    nobody has touched it for `ORPHANED_AFTER` seconds (its server went away); True when
    resumed."""
    state = sweeps.sweep_state(open_store(), sweep_id)
    if state is None or state.status != "running" or job.progress().running:
        return False
    if _age(state.updated) < ORPHANED_AFTER:
        return False
    job.start()
    return True


def pinned_sweep_spec(url_id: str | None, computed: SweepSpec | None) -> SweepSpec | None:
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


def seed_sweep_widgets(url_id: str | None) -> None:
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
    s.setdefault("sweep_data", spec.train.dataset)
    s.setdefault("sweep_lr", float(spec.train.learning_rate or DEFAULTS["sweep_lr"]))


# --------------------------------------------------------------------------------- widgets


def sweep_controls() -> None:
    """The grid's widgets and the sweep's own data set and learning rate (seeded from the
    URL, kept across page switches)."""
    params.seed("depths", DEFAULTS["depths"], _text_parser("depths"))
    params.seed("widths", DEFAULTS["widths"], _text_parser("widths"))
    params.seed("sweep_rules", DEFAULTS["sweep_rules"], _rules_parser)
    params.seed("seeds", DEFAULTS["seeds"], _text_parser("seeds"))
    params.seed("cell_steps", DEFAULTS["cell_steps"], params.int_in(*STEPS_RANGE))
    params.seed("sweep_data", DEFAULTS["sweep_data"], params.one_of(DATASETS))
    params.seed("sweep_lr", DEFAULTS["sweep_lr"], _lr_parser)
    cols = st.columns([1.2, 1.2, 2, 0.8])
    cols[0].text_input("Depths L", key="depths", persist_state="session",
                       help="Comma-separated, at most 8 values from 2 to 256.")
    cols[1].text_input("Widths N", key="widths", persist_state="session",
                       help="Comma-separated, at most 8 values from 1 to 512.")
    cols[2].multiselect("Rules", RULES, key="sweep_rules",
                        format_func=rule_label,
                        persist_state="session", help="Include BP to see the differences.")
    cols[3].text_input("Seeds", key="seeds", persist_state="session",
                       help="Comma-separated, at most 5; accuracies are averaged over seeds, "
                            "and their spread is the noise of the differences.")
    cols = st.columns([2, 1.2, 1])
    cols[0].selectbox("Data set (this page's)", DATASETS, key="sweep_data",
                      format_func=lambda n: DATASET_NAMES.get(n, n), persist_state="session",
                      help="The sweep's own data set; the sidebar's is the live lab's.")
    cols[1].number_input("Learning rate (every depth)", *LR_RANGE, key="sweep_lr",
                         format="%.4g", step=0.001, persist_state="session",
                         help="One learning rate for every cell (Adam, or the sidebar's "
                              "optimiser), so that BP learns equally well at every depth.")
    cols[2].number_input("Batches per cell", *STEPS_RANGE, key="cell_steps", step=50,
                         persist_state="session",
                         help=f"Training steps of every cell, batches of "
                              f"{DEFAULT_SWEEP.batch_size}.")


def read_sweep_spec(model: ModelConfig, rule: RuleConfig, train: TrainConfig) -> SweepSpec | None:
    """The sweep the widgets describe: its grid, data set and learning rate from this page,
    the activation, parameterisation, inference settings (T, eta_h, rho, alpha) and optimiser
    from the sidebar; None after an `st.error` saying what to change."""
    s = st.session_state
    try:
        depths, widths = parse_list(s["depths"], "depths"), parse_list(s["widths"], "widths")
        seeds = parse_list(s["seeds"], "seeds")
        rules = tuple(r for r in RULES if r in (s["sweep_rules"] or ()))
        if not rules:
            raise ValueError("choose at least one rule (BP, PC or PC-ALM)")
        cells = len(depths) * len(widths) * len(seeds)
        if cells > MAX_CELLS:
            raise ValueError(f"the grid has {cells} cells; at most {MAX_CELLS} run in the "
                             "browser (use `python -m pcviz sweep` for more)")
        return sweeps.default_spec(model=model, rule=rule, train=train, depths=depths,
                                   widths=widths, seeds=seeds, rules=rules,
                                   steps=int(s["cell_steps"]), dataset=s["sweep_data"],
                                   learning_rate=float(s["sweep_lr"]))
    except ValueError as err:
        st.error(plain(f"Cannot run this sweep: {err}."))
        return None


def sweep_keep_in_url(spec: SweepSpec | None) -> None:
    """Mirror this page's settings, and the shown sweep's id (`sweep=<id>`), in the address."""
    params.mirror(DEFAULTS)
    if spec is not None:
        sid = sweeps.sweep_id(spec)
        if st.query_params.get("sweep") != sid:
            st.query_params["sweep"] = sid


def learning_rate_text(spec: SweepSpec) -> str:
    """The sweep's learning rate for people: the number, or the default rule."""
    lr = spec.train.learning_rate
    return "the default, ∝ √(N/L)" if lr is None else f"{lr:g}"


def _setting_text(setting: Setting) -> str:
    names = (("η_h", setting.eta), ("α", setting.alpha), ("learning rate", setting.learning_rate))
    return ", ".join(f"{n} = {v}" for n, v in names if v is not None) or "the configuration's"


def choose_sweep_setting(spec: SweepSpec) -> Setting:
    """The grid point to show: a selector when the sweep (from the command line) has grids of
    eta_h, alpha or learning rate; else its only point."""
    settings = spec.settings()
    if len(settings) == 1:
        return settings[0]
    index = st.selectbox("Grid point", range(len(settings)), key="sweep_setting",
                         format_func=lambda i: _setting_text(settings[i]),
                         help="This sweep has grids of η_h, α or learning rate: choose which "
                              "point's maps to show.")
    return settings[index or 0]


# ---------------------------------------------------------------------------------- results


class Snapshot(NamedTuple):
    """A sweep as the page shows it: the cells recorded in the store, and this server's job."""

    cells: list[SweepCell]
    total: int
    running: bool
    stopped: bool
    error: str | None
    elapsed: float
    remaining: float
    status: str


def sweep_snapshot(spec: SweepSpec, job: SweepJob) -> Snapshot:
    """The store's cells of `spec` (finished and failed) and the job's progress, with the
    time left estimated from the cells this job computed."""
    sid = sweeps.sweep_id(spec)
    progress = job.progress()
    state = sweeps.sweep_state(open_store(), sid)
    cells = state.cells if state is not None else []
    left = (sweeps.time_left(spec, computed=progress.computed,
                             remaining=sweeps.unfinished(spec, cells),
                             elapsed=progress.elapsed) if progress.running else math.nan)
    return Snapshot(cells, len(spec.cells()), progress.running, progress.stopped,
                    progress.error, progress.elapsed, left,
                    state.status if state is not None else "new")


def finished_count(snap: Snapshot) -> int:
    """Cells finished (failed ones are shown but run again)."""
    return sum(c.state == "finished" for c in snap.cells)


def sweep_progress_text(snap: Snapshot) -> str:
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


def _points(value: float) -> str:
    return f"{value:+.1f}".replace("-", "−")


def sweep_trend_text(trend: sweeps.DepthTrend, noise: float) -> str:
    """What the difference-by-depth plot shows, in words written from its data: each rule's
    difference to BP at the shallowest and the deepest depth with a value
    (`pcviz.sweeps.trend_ends`), and the seed spread; empty before two depths have one."""
    parts = []
    for rule, ends in sweeps.trend_ends(trend).items():
        noise_note = (f" (± {ends.spread:.1f} over seeds)" if math.isfinite(ends.spread)
                      else "")
        parts.append(f"{rule_label(rule)} − BP goes from {_points(ends.first)} points at "
                     f"L = {ends.first_depth} to {_points(ends.last)} at "
                     f"L = {ends.last_depth}{noise_note}")
    if not parts:
        return ""
    text = "Measured in this sweep: " + "; ".join(parts) + "."
    if math.isfinite(noise):
        text += (f" A difference within about ±{noise:.1f} points (the typical spread over "
                 "seeds of one cell's difference) is noise.")
    return text


def sweep_download_files(spec: SweepSpec, cells: list[SweepCell],
                         setting: Setting) -> dict[str, Any]:
    """The shown grid point's files: CSV and JSON (`pcviz.sweeps.sweep_files`, as
    `python -m pcviz export-sweep` writes them) and the heatmaps as HTML, built on click."""
    sid = sweeps.sweep_id(spec)
    files: dict[str, Any] = sweeps.sweep_files(spec, cells, sweep_id=sid, setting=setting)
    config, step = spec.config(), sum(c.state == "finished" for c in cells)
    grid = sweeps.grids(spec, cells, setting=setting)
    files["sweep.html"] = lambda: export.figure_html(
        figures.sweep_heatmaps(spec.depths, spec.widths, grid), run_id=sid, config=config,
        step=step)
    return files
