"""One visitor's live-lab state: the run's id, its client and the latest view drawn.

`LabState` lives in `st.session_state` (`lab_state()`); the lab's commands (`_lab_controls`),
its live sections (`_lab`) and the other pages (`live_client`) read it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import streamlit as st

from ..service import LiveRunClient, RunView

_STATE = "pcviz_lab"
CONFIRM_SECONDS = 60.0
"""Longest time the page shows Play or Pause as asked before the run confirms it."""


@dataclass
class LabState:
    """One visitor's view of a live run: its id, the client, the latest view, and what the
    page measured."""

    run_id: str | None = None
    client: LiveRunClient | None = None
    structure: tuple | None = None
    configs: tuple | None = None
    view: RunView | None = None
    error: str | None = None
    notice: str | None = None
    fresh: bool = False
    alignment: dict[str, np.ndarray] | None = None
    aligned_step: int = -1
    play_clicked: float | None = None
    play_latency: float | None = None
    interval: float = 0.15
    overlay: tuple[str, dict] | None = None
    expect: bool | None = None
    expect_since: float = 0.0
    shown_playing: bool = False

    @property
    def session(self) -> RunView | None:
        """The latest view, shaped like a `Session` for the figure helpers."""
        return self.view

    @property
    def playing(self) -> bool:
        """Whether the run is training continuously: as the visitor last asked (until the
        run confirms it, at most `CONFIRM_SECONDS`), else as of the latest view."""
        if self.expect is not None and time.monotonic() - self.expect_since < CONFIRM_SECONDS:
            return self.expect
        return self.view is not None and self.view.playing

    def confirm(self) -> None:
        """Forget the asked-for state once the run reports it (or it is too old)."""
        if self.expect is None:
            return
        old = time.monotonic() - self.expect_since >= CONFIRM_SECONDS
        if old or (self.view is not None and self.view.playing == self.expect):
            self.expect = None

    @property
    def updates_per_second(self) -> float:
        """Training updates per second while playing (NaN when unknown)."""
        return self.view.updates_per_second if self.view is not None else math.nan


def lab_state() -> LabState:
    """This visitor's `LabState` (created on first use)."""
    if _STATE not in st.session_state:
        st.session_state[_STATE] = LabState()
    return st.session_state[_STATE]


def live_client() -> LiveRunClient | None:
    """The client of this visitor's live run (for other pages), or `None`."""
    lab = st.session_state.get(_STATE)
    return None if lab is None else lab.client
