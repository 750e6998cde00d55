"""The live lab's commands: Play / Pause, Step, Fast-forward, Reset, the speed, and the
layout switch.

Play, Pause and the speed are sent to the run's actor without waiting (a click never blocks
the page; a run still starting obeys once it is up) and shown as asked until the run confirms
them; Step waits for its update. Reset marks the run to be replaced by `sync_lab`.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from ..service import RunGone
from . import _lab_view as view
from ._lab_state import LabState, lab_state, live_area, rerun_areas
from ._lecture import lecture_toggle
from ._visitors import pacer, visitor_id

SPEEDS = ("auto", 1, 2, 5, 10, 20, 50)
"""Batches per update: "auto" lets the run choose (about four updates a second)."""


def _command(**commands: Any) -> None:
    """Send commands and wait for the run's new view."""
    lab = lab_state()
    lab.notice = None
    if lab.client is None:
        return
    try:
        lab.view = lab.client.control(**commands)
    except (TimeoutError, RunGone):
        st.toast("The run did not answer; try again in a moment.", icon=":material/hourglass_top:")


def _send(**commands: Any) -> None:
    """Send commands without waiting for the run. A play, a pause or a fast-forward (shown as
    playing until the run is done; Pause stops it) is shown at once, as asked."""
    lab = lab_state()
    lab.notice = None
    if lab.client is None:
        return
    sent = lab.client.send(**commands)
    if "play" in commands or commands.get("forward"):
        lab.expect, lab.expect_since = bool(commands.get("play", True)), time.monotonic()
    if lab.expect and lab.view is not None:
        lab.first_after = (lab.view.step_count, sent)  # the page draws the first update at once


def speed_setting() -> int | str:
    """The chosen batches per update, as the run takes it (`"auto"` or a count)."""
    return st.session_state.get("lab_speed", "auto")


def _play() -> None:
    lab = lab_state()
    lab.play_clicked, lab.play_latency = time.perf_counter(), None
    _send(play=True, speed=speed_setting())
    rerun_areas()


def _pause() -> None:
    _send(play=False)
    pacer().forget(visitor_id())
    rerun_areas()


def _step_once() -> None:
    _command(step=1)


FAST_FORWARD = 500
"""Batches one click on Fast-forward trains."""


def _fast_forward() -> None:
    _send(forward=FAST_FORWARD)
    rerun_areas()


def _speed() -> None:
    _send(speed=speed_setting())


def _reset() -> None:
    lab = lab_state()
    if lab.client is not None:
        lab.client.send(play=False)
    lab.structure, lab.fresh = None, True  # the next `sync_lab` starts a fresh run


def send_learning_rate(rate: float) -> None:
    """A new learning rate for the run, from its next step (weights and optimiser kept)."""
    _command(learning_rate=rate)


PLAY_FRAGMENT = "frag_play"


def _play_button(idle: bool) -> None:
    """Play, or Pause while the run plays, in a fragment of its own: a click reruns it and the
    live sections (`rerun_areas`), not the whole page."""
    lab = lab_state()
    # Two buttons with their own keys, not one toggle: a click that reaches the server twice
    # must not pause and play again.
    lab.shown_playing = lab.playing
    if lab.playing:
        st.button("Pause", key="lab_pause", type="primary", icon=":material/pause:",
                  on_click=_pause, width="stretch", help="Stop after the current update.")
    else:
        st.button("Play", key="lab_play", type="primary", icon=":material/play_arrow:",
                  on_click=_play, disabled=idle, width="stretch",
                  help="Train continuously; the figures follow every update.")


def lab_controls(lab: LabState, *, lecture: bool = False) -> None:
    """Play / Pause, Step, Reset, the speed (batches per update) and the lecture layout's
    switch; in the lecture layout, the heatmaps' options too, on the same row."""
    st.session_state.setdefault("lab_speed", "auto")
    widths = [1, 1, 1, 1, 2, 4, 1.3] if lecture else [1, 1, 1, 1, 3, 2.4, 1.3]
    play, step, fast, reset, speed, options, layout = st.columns(widths,
                                                               vertical_alignment="bottom")
    idle = lab.client is None or lab.error is not None or (lab.view is not None and
                                                           lab.view.error is not None)
    with play:
        st.fragment(_play_button, key=live_area(PLAY_FRAGMENT))(idle)
    step.button("Step", key="lab_step", on_click=_step_once, disabled=idle, width="stretch",
                icon=":material/skip_next:", help="Train every rule on one more batch.")
    fast.button(f"+{FAST_FORWARD}", key="lab_fast", on_click=_fast_forward, disabled=idle,
                width="stretch", icon=":material/fast_forward:",
                help=f"Fast-forward: train {FAST_FORWARD} batches as fast as the machine "
                     "allows (the figures follow about once a second; Pause stops it).")
    reset.button("Reset", key="lab_reset", on_click=_reset, width="stretch",
                 icon=":material/restart_alt:",
                 help="A new run: new weights from the seed, step 0; recovers from divergence.")
    speed.select_slider("Batches per update", SPEEDS, key="lab_speed", on_change=_speed,
                        help="Training steps between two redraws while playing. auto: as "
                             "many as fit in a quarter of a second, so that a run learns "
                             "fast and the figures still move four times a second.")
    if lecture:
        with options:
            view.heatmap_options(compact=True)
    with layout:
        lecture_toggle()
