"""The live lab's logic: one training session per visitor, stepped chunk by chunk in a fragment.

State: a `LabState` in `st.session_state` holds the visitor's `Session` and the play flags.
`sync_lab` (every full run) rebuilds the session when the structure of the configuration
changes (anything but the learning rate), passes a new learning rate on without a reset, and
starts compiling the run's programs in the background (`_compute.warm_up`), so that Play
does not wait for the compiler. The buttons only flip flags in callbacks. `lab_live` draws
three `st.fragment`s that rerun on their own while playing (`run_every`, never a loop): one
trains `speed` batches and redraws the status and heatmaps, one the training curves, one the
alignment with BP and the wall times.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from ..config import ModelConfig, RuleConfig, TrainConfig, with_changes
from ..data import DataError
from ..train import Session
from . import _lab_view as view
from ._compute import EVAL_SAMPLES, new_session, warm_up
from ._visitors import register, training_slots

_STATE = "pcviz_lab"
SESSION_KEY = "pcviz_session"
"""Where the other pages find the live run's `Session` (e.g. the credit page's live probe)."""
SPEEDS = (1, 2, 5, 10, 20, 50)
FRAME_SECONDS = 0.15
"""Interval of the training fragment's reruns while playing. Requests that arrive during a
run are merged, so runs never overlap; the interval leaves the browser time to draw each
update, so that updates never queue up in it and a click on Pause is served at once."""
CURVE_SECONDS = 1.0
"""Interval of the training curves' fragment while playing."""
SLOW_SECONDS = 2.0
"""Interval of the second fragment (alignment with BP, one more inference; wall times)."""
EVAL_EVERY = 25
"""Training steps between two test evaluations while playing."""
WARM_UP_WAIT = 60.0


@dataclass
class LabState:
    """One visitor's live run: the session, the play flags, and what the page measured."""

    session: Session | None = None
    structure: tuple | None = None
    configs: tuple | None = None
    playing: bool = False
    pending: int = 0
    error: str | None = None
    alignment: dict[str, np.ndarray] | None = None
    aligned_step: int = -1
    evaluated_step: int = 0
    play_clicked: float | None = None
    play_latency: float | None = None
    queued: int = 0
    frames: deque = field(default_factory=lambda: deque(maxlen=20))
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)

    def pause(self) -> None:
        """Stop playing and give the training slot back."""
        self.playing = False
        training_slots().release(self.owner)

    def close(self) -> None:
        """Free the run of a visitor who left: the training slot and the device arrays."""
        self.pause()
        if self.session is not None:
            self.session.close()

    @property
    def updates_per_second(self) -> float:
        """Rate of the latest training updates drawn while playing (NaN when unknown)."""
        if len(self.frames) < 2 or self.frames[-1] <= self.frames[0]:
            return float("nan")
        return (len(self.frames) - 1) / (self.frames[-1] - self.frames[0])


def lab_state() -> LabState:
    """This visitor's `LabState` (created on first use)."""
    if _STATE not in st.session_state:
        st.session_state[_STATE] = LabState()
        register(st.session_state[_STATE])
    return st.session_state[_STATE]


def _message(err: Exception) -> str:
    if isinstance(err, DataError):
        return f"The data set could not be loaded. {err}"
    if isinstance(err, ValueError):
        return f"This configuration cannot run: {err} Change it in the sidebar."
    return (f"The computation failed ({type(err).__name__}: {str(err)[:300]}). A smaller depth, "
            "width, T or batch size usually fits; press Reset to try again.")


def _rebuild(lab: LabState, structure: tuple, configs: tuple) -> None:
    training_slots().release(lab.owner)
    lab.__init__(owner=lab.owner)
    lab.structure, lab.configs = structure, configs
    st.session_state[SESSION_KEY] = None
    warm_up(*configs)  # compiles while the session below is built and the page loads
    try:
        with st.spinner("Building the network and its data..."):
            lab.session = new_session(*configs)
    except (ValueError, RuntimeError, MemoryError) as err:
        lab.error = _message(err)
        return
    st.session_state[SESSION_KEY] = lab.session


def sync_lab(model: ModelConfig, rule: RuleConfig, train: TrainConfig) -> LabState:
    """Bring the visitor's run in line with the configuration and return its state.

    A structural change (anything but the learning rate) starts a new run, paused; a new
    learning rate applies from the next step, keeping the weights and the optimiser's state.
    """
    lab = lab_state()
    structure = (model, rule, with_changes(train, learning_rate=None))
    if structure != lab.structure:
        _rebuild(lab, structure, (model, rule, train))
    elif lab.session is not None:
        lab.configs = (model, rule, train)
        lab.session.learning_rate = train.resolved_learning_rate(lab.session.model_config)
    return lab


def _play() -> None:
    lab = lab_state()
    if lab.playing or lab.session is None or lab.error is not None:
        return
    lab.playing = True
    lab.play_clicked, lab.play_latency = time.perf_counter(), None
    lab.frames.clear()


def _pause() -> None:
    lab_state().pause()


def _step_once() -> None:
    lab = lab_state()
    lab.playing = False
    lab.pending += 1


def _reset() -> None:
    lab_state().structure = None  # the next `sync_lab` builds a fresh session


def lab_controls(lab: LabState) -> None:
    """Play / Pause, Step, Reset and the speed (batches per update)."""
    st.session_state.setdefault("lab_speed", 1)
    play, step, reset, speed, _ = st.columns([1, 1, 1, 3, 2], vertical_alignment="bottom")
    idle = lab.session is None or lab.error is not None
    # Two buttons with their own keys, not one toggle: a click that reaches the server twice
    # (a timer's rerun can carry it again) must not pause and play again.
    if lab.playing:
        play.button("Pause", key="lab_pause", type="primary", icon=":material/pause:",
                    on_click=_pause, width="stretch", help="Stop after the current update.")
    else:
        play.button("Play", key="lab_play", type="primary", icon=":material/play_arrow:",
                    on_click=_play, disabled=idle, width="stretch",
                    help="Train continuously; the figures follow every update.")
    step.button("Step", key="lab_step", on_click=_step_once, disabled=idle, width="stretch",
                icon=":material/skip_next:",
                help="Train every rule on one more batch.")
    reset.button("Reset", key="lab_reset", on_click=_reset, width="stretch",
                 icon=":material/restart_alt:",
                 help="New weights from the seed, step 0; recovers from divergence.")
    speed.select_slider("Batches per update", SPEEDS, key="lab_speed",
                        help="Training steps between two redraws while playing.")


def _compiled(lab: LabState, *, wait: bool) -> bool:
    """Whether the background compilation of this run's programs has finished (`wait`: wait
    for it). Waiting avoids compiling the same program twice, once in each thread."""
    warm = warm_up(*lab.configs)
    if wait:
        warm.thread.join(timeout=WARM_UP_WAIT)
    return not warm.busy()


def _train(lab: LabState, batches: int) -> None:
    """Train `batches` steps; evaluate on the test set when due."""
    session = lab.session
    if session.step_count == 0:
        warm_up(*lab.configs).stepped.wait(timeout=WARM_UP_WAIT)  # the step is compiled
    session.step(batches)
    if lab.playing:
        lab.frames.append(time.perf_counter())
    due = session.step_count - lab.evaluated_step >= EVAL_EVERY or not lab.playing
    if due and _compiled(lab, wait=not lab.playing):
        session.evaluate(max_samples=EVAL_SAMPLES)
        lab.evaluated_step = session.step_count


def _advance(lab: LabState) -> None:
    """The fragment's training chunk: `speed` batches while playing, else pending steps."""
    batches = int(st.session_state.get("lab_speed", 1)) if lab.playing else lab.pending
    if batches <= 0:
        return
    lab.pending = 0
    lab.queued = training_slots().request(lab.owner)
    if lab.queued:
        return  # the server is busy: while playing, the next update asks again
    try:
        _train(lab, batches)
    except (ValueError, RuntimeError, MemoryError) as err:
        lab.error = _message(err)
        lab.pause()  # gives the slot back now, not after the slot's time-out
        st.rerun()  # the whole page: the Play button shows the pause
    if not lab.playing:
        training_slots().release(lab.owner)
    records = lab.session.records.values()
    if lab.playing and all(rec.diverged_at is not None for rec in records):
        lab.pause()
        st.rerun()


def _usable(lab: LabState) -> bool:
    return lab.session is not None and lab.error is None


def _train_frame() -> None:
    lab = lab_state()
    if lab.error is not None:
        st.error(lab.error, icon=":material/error:")
    elif lab.session is not None:
        _advance(lab)
        view.status(lab)
        view.heatmaps(lab)


def _curves_frame() -> None:
    lab = lab_state()
    if _usable(lab):
        view.curves(lab)


def _slow_frame() -> None:
    lab = lab_state()
    session = lab.session
    if not _usable(lab) or session.step_count == 0:
        return
    if lab.aligned_step != session.step_count and _compiled(lab, wait=not lab.playing):
        try:
            lab.alignment = session.gradient_alignment()
        except (ValueError, RuntimeError, MemoryError):
            lab.alignment = None  # the training fragment reports errors
        lab.aligned_step = session.step_count
    view.alignment_and_times(lab)


def lab_live(lab: LabState) -> None:
    """The live part of the page, three fragments that rerun on their own while playing:
    training with the status and heatmaps every `FRAME_SECONDS`, the training curves every
    `CURVE_SECONDS`, the alignment with BP and the wall times every `SLOW_SECONDS`. The text
    on diffusive and ballistic credit between them is static: drawn once, not at every
    update."""
    st.fragment(_train_frame, run_every=FRAME_SECONDS if lab.playing else None,
                key="frag_train")()
    view.heatmap_text()
    st.fragment(_curves_frame, run_every=CURVE_SECONDS if lab.playing else None,
                key="frag_curves")()
    st.fragment(_slow_frame, run_every=SLOW_SECONDS if lab.playing else None, key="frag_slow")()


def lab_intro() -> None:
    """What the page shows, and the three rules with their equations, side by side."""
    view.intro()


def lab_downloads(lab: LabState) -> None:
    """Downloads of the latest telemetry, the histories and the figures, built on click."""
    view.downloads(lab)
