"""One visitor's live-lab state: the run's id, its client and the latest view drawn.

`LabState` lives in `st.session_state` (`lab_state()`); the lab's commands (`_lab_controls`),
its live sections (`_lab`) and the other pages (`live_client`) read it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import streamlit as st

from ..config import ModelConfig, RuleConfig, TrainConfig
from ..service import LiveRunClient, RunView, idle_seconds

if TYPE_CHECKING:
    from ..train import GradientComparison

_STATE = "pcviz_lab"
CONFIRM_SECONDS = 60.0
"""Longest time the page shows Play or Pause as asked before the run confirms it."""

REDRAW_SECONDS = {"main": 0.15, "curves": 0.1, "alignment": 0.05}
"""A page's redraw times per live section before it has measured its own (seconds of CPU, about
what the default run's take on a 2-core machine)."""

Configs: TypeAlias = tuple[ModelConfig, RuleConfig, TrainConfig]
"""A run's model, rule and training configurations."""


class LabNotReady(LookupError):
    """The lab was read before `sync_lab` chose its run, or before the run's first view."""


@dataclass
class LabState:
    """One visitor's view of a live run: its id, the client, the latest view, and what the
    page measured."""

    run_id: str | None = None
    client: LiveRunClient | None = None
    structure: Configs | None = None
    """The configurations but the learning rate: a change here starts a new run."""
    configs: Configs | None = None
    view: RunView | None = None
    error: str | None = None
    notice: str | None = None
    fresh: bool = False
    alignment: GradientComparison | None = None
    aligned_step: int = -1
    alignment_asked: tuple[int, Any] | None = None
    """While playing: the step at which the page asked for the alignment, and the handle of
    the answer it has not taken yet (`LiveRunClient.answer`)."""
    play_clicked: float | None = None
    play_latency: float | None = None
    interval: float = 0.15
    redraw_seconds: dict[str, float] = dataclasses.field(
        default_factory=lambda: dict(REDRAW_SECONDS))
    """Live section -> CPU seconds of its redraw, as last measured (kept while paused: the
    page paces itself with them from its Play on)."""
    areas: list[str] = dataclasses.field(default_factory=list)
    """The keys of the page's fragments that follow the run's playing state (the Play button,
    the live sections): a Play or a Pause reruns these, not the whole page (`rerun_areas`)."""
    first_after: tuple[int, Any] | None = None
    """The step at which Play or a fast-forward was pressed, and the handle of the command
    sent (`LiveRunClient.send`): the next refresh waits for the command to reach the run, then
    for the first update past that step."""
    overlay: tuple[str, dict] | None = None
    expect: bool | None = None
    expect_since: float = 0.0
    shown_playing: bool = False

    def reset(self, **fields: Any) -> None:
        """Every field back to its default, then `fields` (the state of a new run)."""
        fresh = LabState(**fields)
        for spec in dataclasses.fields(self):
            setattr(self, spec.name, getattr(fresh, spec.name))

    @property
    def chosen_run_id(self) -> str:
        """The run's id (`LabNotReady` before `sync_lab` chose it)."""
        if self.run_id is None:
            raise LabNotReady("The lab has no run yet: sync_lab chooses it.")
        return self.run_id

    @property
    def chosen_configs(self) -> Configs:
        """The run's configurations as the page last set them, the learning rate included
        (`LabNotReady` before `sync_lab` set them)."""
        if self.configs is None:
            raise LabNotReady("The lab has no configuration yet: sync_lab sets it.")
        return self.configs

    @property
    def session(self) -> RunView:
        """The latest view, shaped like a `Session` for the figure helpers (`LabNotReady`
        before the run's first view)."""
        if self.view is None:
            raise LabNotReady("The lab has no view of its run yet.")
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


def paused_seconds() -> float:
    """Interval of a paused page's live fragments: it still looks in now and then, so that
    its run is not closed as unread while the tab is open (and sees what another tab did).
    A fragment rerun cannot take a timer away, only set another: paused sections get this
    long one."""
    return min(30.0, idle_seconds() / 3)


def live_area(key: str) -> str:
    """Note `key` among the fragments a Play or a Pause reruns; returns it."""
    areas = lab_state().areas
    if key not in areas:
        areas.append(key)
    return key


def rerun_areas() -> None:
    """From a callback: rerun the fragments that follow the playing state (`live_area`)
    instead of the whole page, when the page has drawn them."""
    areas = lab_state().areas
    if areas:
        st.rerun(list(areas))


def lab_state() -> LabState:
    """This visitor's `LabState` (created on first use)."""
    if _STATE not in st.session_state:
        st.session_state[_STATE] = LabState()
    return st.session_state[_STATE]


def live_client() -> LiveRunClient | None:
    """The client of this visitor's live run (for other pages), or `None`."""
    lab = st.session_state.get(_STATE)
    return None if lab is None else lab.client
