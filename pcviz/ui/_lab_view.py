"""What the live lab draws: status, heatmaps, curves, alignment, timing, text and downloads.

Every function reads a `LabState` (`_lab_state`) and draws; none of them trains.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import streamlit as st

from .. import figures
from ..config import INFERENCE_RULES
from ..history import RunSummary, overlay_label
from . import _figs, _text
from ._lab_state import LabState
from ._live_chart import live_chart
from ._sidebar import DATASET_NAMES
from ._visitors import server_load
from ._widgets import plain as plain
from ._widgets import show_downloads


def starting(message: str) -> None:
    """The run is not there yet (the run service or the run's worker is starting)."""
    st.info(message, icon=":material/hourglass_top:")


def status(lab: LabState, *, compact: bool = False) -> None:
    """Step counter, epoch, accuracy per rule, the run's numbers, its id, and problems; in
    one large line when `compact` (the lecture layout)."""
    session = lab.session
    if session.error is not None:
        st.error(session.error, icon=":material/error:")
    if session.notice is not None:
        st.info(plain(session.notice), icon=":material/info:")
    if session.store_problem is not None:
        st.warning(plain(session.store_problem), icon=":material/cloud_off:")
    if session.compiling:
        st.info(_text.COMPILING, icon=":material/hourglass_top:")
    if session.model_config is None:
        return
    records = session.records
    shown = {rule: _accuracy_text(rec) for rule, rec in records.items()}
    if compact:
        accuracies = " · ".join(f"{_figs.label(r)} **{text}**" for r, (text, _) in shown.items())
        kind = next((k for _, k in shown.values()), "test")
        st.markdown(f"##### Step **{session.step_count:,}** · {kind}: {accuracies}")
        _diverged(records)
        return
    columns = st.columns(2 + len(records))
    columns[0].metric("Training step", f"{session.step_count:,}")
    columns[1].metric("Epoch", f"{session.epoch:.2f}")
    for column, (rule, (text, kind)) in zip(columns[2:], shown.items()):
        column.metric(f"{_figs.label(rule)} {kind} accuracy", text)
    _, rule_config, train = lab.chosen_configs
    rate = lab.updates_per_second
    st.caption(
        f"Run {lab.run_id} · {DATASET_NAMES.get(session.dataset, session.dataset)}; "
        f"depth L = {session.model_config.depth}, width N = {session.model_config.width}; "
        f"T = {session.steps} inference steps; "
        f"η_h = {session.eta:.3g} ({_text.eta_origin(auto=rule_config.eta_is_auto)}); "
        f"learning rate {session.learning_rate:.2e}; batch {train.batch_size}"
        + (f" · {rate:.1f} updates/s" if lab.playing and np.isfinite(rate) else "")
        + f"  \n{server_load()}"
    )
    _diverged(records)


TRAIN_BATCHES_SHOWN = 20
"""Batches whose train accuracy the metric averages until the test accuracy is measured (one
batch's swings by several points)."""


def _accuracy_text(rec) -> tuple[str, str]:
    """A rule's latest accuracy as shown (test when measured, else train over the last
    `TRAIN_BATCHES_SHOWN` batches), and which."""
    test = rec.test_accuracy.last()
    value = rec.accuracy.recent_mean(TRAIN_BATCHES_SHOWN) if np.isnan(test) else test
    kind = "train" if np.isnan(test) else "test"
    text = "diverged" if rec.diverged_at else "–" if np.isnan(value) else f"{value:.1%}"
    return text, kind


def _diverged(records) -> None:
    for name, rec in records.items():
        if rec.diverged_at is not None:
            st.warning(_text.DIVERGED.format(rule=_figs.label(name), step=rec.diverged_at),
                       icon=":material/warning:")


LECTURE_HEIGHT = 470
"""Height (px) of the heatmaps and of the curves in the lecture layout."""


def heatmap_options(*, compact: bool = False) -> None:
    """Which quantity the heatmaps show, the log scale and the arrival front (a menu and
    short labels when `compact`, for the lecture layout's row of controls)."""
    st.session_state.setdefault("lab_quantity", "credit")
    st.session_state.setdefault("lab_front", True)
    left, mid, right = st.columns([2, 1, 1] if compact else [3, 1, 1],
                                  vertical_alignment="bottom")
    if compact:
        left.selectbox("Heatmaps show", list(_figs.QUANTITY_NAMES), key="lab_quantity",
                       format_func=_figs.QUANTITY_NAMES.__getitem__)
    else:
        left.segmented_control("Quantity", list(_figs.QUANTITY_NAMES), key="lab_quantity",
                               format_func=_figs.QUANTITY_NAMES.__getitem__, required=True)
    mid.toggle("Log" if compact else "Log scale", key="lab_log",
               help="log10 of the values, over 4 decades.")
    right.toggle("Front" if compact else "Arrival front", key="lab_front",
                 help="The arrival front: the first step at which a layer's credit reaches "
                      "half of BP's.")


def heatmaps(lab: LabState, *, lecture: bool = False) -> None:
    """PC beside PC-ALM, inference step x layer, of the latest batch, and their options (on
    the controls' row in the `lecture` layout, where the figure is in large type)."""
    if not lecture:
        st.subheader("Inside one training step: credit per layer and inference step")
        heatmap_options()
    session = lab.session
    if not any(r in INFERENCE_RULES for r in session.rules):
        st.info("BP alone has no inference to show: add PC or PC-ALM in the sidebar.")
        return
    drawn = session.step_count > 0
    options = {k: st.session_state[k] for k in ("lab_quantity", "lab_log", "lab_front")
               if k in st.session_state}

    def figure():
        fig = (_figs.heatmaps(session, options, live=True) if drawn  # one chart: the
               else _figs.heatmap_frame(session, options, _text.PAUSED))  # frame fills in
        return figures.for_lecture(fig, height=LECTURE_HEIGHT) if lecture else fig

    shown = _figs.figure_key(session) if drawn else (session.run_id, session.steps,
                                                      session.model_config is not None)
    live_chart(figure, key="lab_heatmaps", config=_figs.CONFIG,
               content=(shown, tuple(options.items()), lecture))
    if drawn and lab.play_clicked is not None and lab.play_latency is None:
        lab.play_latency = time.perf_counter() - lab.play_clicked


def heatmap_text() -> None:
    """How to read the heatmaps: diffusive against ballistic credit (static)."""
    st.caption(_text.HEATMAPS)
    diffusive, ballistic = st.columns(2)
    with diffusive:
        st.markdown(_text.DIFFUSIVE)
        st.latex(_text.DIFFUSIVE_EQ)
    with ballistic:
        st.markdown(_text.BALLISTIC)
        st.latex(_text.BALLISTIC_EQ)


def curves(lab: LabState, *, lecture: bool = False) -> None:
    """Loss and accuracy of every rule on one chart (with an earlier run's, dotted, when one
    is chosen below), and what they show; in large type in the `lecture` layout."""
    overlay = lab.overlay
    if lab.session.step_count > 0 or overlay is not None:
        def figure():
            fig = _figs.curves(lab.session)
            if overlay is not None:
                figures.overlay_curves(fig, overlay[1], name=f"run {overlay[0]}")
            if lecture:
                figures.for_lecture(fig, height=LECTURE_HEIGHT + 40, legend_on_top=True)
                fig.update_layout(title=None, yaxis2_title=None)  # the panel's title says it
            return fig

        live_chart(figure, key="lab_curves", config=_figs.CONFIG,
                   content=(_figs.figure_key(lab.session), overlay and overlay[0], lecture))
        st.caption(_text.CURVES + (f" Dotted: the earlier run {overlay[0]}." if overlay else ""))


def history(lab: LabState, runs: list[RunSummary] | None, problem: str | None) -> None:
    """Earlier runs from the run store, and the choice of one to overlay on the curves."""
    with st.expander("Earlier runs (from the run store): compare one with this run"):
        if problem is not None:
            st.warning(plain(problem), icon=":material/cloud_off:")
            return
        if not runs:
            st.caption("No earlier run is recorded yet: every run you train is kept here.")
            return
        rules = sorted({r for s in runs for r in s.accuracy})
        st.dataframe(
            [{"run": s.run_id, "started": s.started, "setting": s.setting, "steps": s.step,
              "status": s.status, **{f"{r} test %": s.accuracy.get(r) for r in rules}}
             for s in runs],
            hide_index=True, width="stretch", height=min(36 * (len(runs) + 1) + 2, 300),
            column_config={f"{r} test %": st.column_config.NumberColumn(format="%.1f")
                           for r in rules},
        )
        labels = {s.run_id: overlay_label(s) for s in runs if s.run_id != lab.run_id}
        st.selectbox("Overlay an earlier run's curves on this run's (dotted)",
                     [None, *labels], key="lab_overlay",
                     format_func=lambda r: "none" if r is None else labels.get(r, r),
                     help="Compare settings: alpha = 1 against alpha = 0.5, say.")


def alignment_and_times(lab: LabState) -> None:
    """Per-layer gradient cosine with BP, beside the wall time per step of each rule."""
    comparison = lab.alignment
    if lab.session.step_count == 0 or comparison is None:
        return
    left, right = st.columns(2)
    with left:
        live_chart(lambda: _figs.alignment(comparison), key="lab_alignment",
                   config=_figs.CONFIG, content=(lab.run_id, lab.aligned_step))
        st.caption(f"{_text.ALIGNMENT} {_text.alignment_note(comparison)}")
        st.latex(_text.ALIGNMENT_EQ)
    with right:
        live_chart(lambda: _figs.times(lab.session), key="lab_times", config=_figs.CONFIG,
                   content=_figs.figure_key(lab.session))
        st.caption(_text.TIMES)


def intro() -> None:
    """What the page shows, and the three rules with their equations, side by side."""
    st.markdown(_text.INTRO)
    for column, (name, (words, equation)) in zip(st.columns(3), _text.RULES.items()):
        with column.container(border=True):
            st.markdown(f"**{name}**: {words}")
            st.latex(equation)


def downloads(lab: LabState) -> None:
    """Downloads of the latest telemetry, the histories and the figures, built on click;
    every file names the run, its configuration and step."""
    options = {k: st.session_state[k] for k in ("lab_quantity", "lab_log", "lab_front")
               if k in st.session_state}
    session = lab.view
    if session is None or session.model_config is None:
        return
    run = _figs.provenance(session)
    with st.expander("Download the data (CSV, JSON) and the figures (HTML, offline)"):
        st.caption(f"Files hold run {lab.run_id} as it is when you click: the telemetry of the "
                   "latest batch (every rule, step and layer) and the whole training history, "
                   "with the run's id, configuration and step.")
        def data_file(name: str) -> Callable[[], str]:
            return lambda: _figs.downloads(lab.view).get(name, "")

        names = ("lab-telemetry.csv", "lab-telemetry.json", "lab-history.csv")
        show_downloads(name="lab-data", files={n: data_file(n) for n in names})
        show_downloads(name="lab-heatmaps", run=run,
                       figure=lambda: _figs.heatmaps(lab.session, options))
        show_downloads(name="lab-curves", run=run, figure=lambda: _figs.curves(lab.session))
        show_downloads(name="lab-step-times", run=run, figure=lambda: _figs.times(lab.session))
