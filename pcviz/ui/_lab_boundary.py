"""The live lab's view of a run on 2-D data: the data and each rule's decision regions side
by side, and a compact diagram of the network with the layers each rule's credit reached.

Shown only when the data set is a planar one (`pcviz.boundary.PLANAR_DATASETS`). A fragment
reruns every `BOUNDARY_SECONDS` while the run plays (at the server's pace when that is
slower), its charts updated in place (`live_chart`). On each rerun it asks the run's actor
for the regions at its current weights when the run has moved since the last answer
(`LiveRunClient.boundary`: computed beside training, never in its way) and draws the latest
answer. The diagram is read from the run's latest view.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from .. import figures
from ..boundary import (
    GRID_SIZE,
    SAMPLE_POINTS,
    DecisionGrid,
    boundary_csv,
    credit_reach,
    is_planar,
)
from ..service import RunGone
from . import _figs
from ._lab_state import LabState, lab_state, live_area, paused_seconds
from ._live_chart import live_chart
from ._widgets import show_downloads

_STATE = "pcviz_lab_boundary"
BOUNDARY_SECONDS = 1.0
"""Interval of the decision regions' fragment while playing."""
ASK_SECONDS = 20.0
"""Longest wait for the run's answer (the first compiles the grid's program)."""

ABOUT = (
    "Each panel is one rule's network at the run's current weights, evaluated on a "
    f"{GRID_SIZE} × {GRID_SIZE} grid over the data: the colour is the class it predicts, "
    "deeper where it is surer (outputs clipped to [0, 1] and renormalised as class "
    f"probabilities). The dots are {SAMPLE_POINTS} training points, coloured by their true "
    "class. All rules start from the same weights and see the same batches, so the panels "
    "differ only by how each rule assigns credit."
)
NETWORK = (
    "The network, input on the left, output on the right; a block's height grows with its "
    "width. A hidden layer is coloured when the rule's credit reached it during the latest "
    "batch's inference: at least half of BP's error signal there, as for the arrival front "
    "above. Grey layers received less than half of it. BP's backward pass delivers the exact "
    "signal to every layer."
)


@dataclass
class BoundaryState:
    """The latest decision regions a visitor received: for which run, as of which step of
    the run's view they were asked."""

    run_id: str | None = None
    asked_at: int = -1
    grid: DecisionGrid | None = None


def _state() -> BoundaryState:
    if _STATE not in st.session_state:
        st.session_state[_STATE] = BoundaryState()
    return st.session_state[_STATE]


def _ask(lab: LabState, seen: BoundaryState) -> None:
    """Ask the run for its regions when it has moved since the last answer (a slow or lost
    answer keeps the previous regions; the training fragment reports the run's errors)."""
    view = lab.view
    if lab.client is None or view is None or view.error is not None:
        return
    if seen.run_id == lab.run_id and seen.asked_at == view.step_count:
        return
    try:
        grid = lab.client.boundary(timeout=ASK_SECONDS)
    except (TimeoutError, RunGone, ValueError, RuntimeError, MemoryError):
        return
    seen.run_id, seen.asked_at, seen.grid = lab.run_id, view.step_count, grid


def _regions(grid: DecisionGrid):
    return figures.decision_regions(grid.probabilities, grid.predicted, x1=grid.x1, x2=grid.x2,
                                    points=grid.points, labels=grid.labels,
                                    accuracy=grid.accuracy, step=grid.step)


def _network(view):
    model = view.model_config
    return figures.network_diagram(
        credit_reach(view.records, layers=model.depth - 1), depth=model.depth,
        width=model.width, input_dim=model.input_dim, output_dim=model.output_dim,
        steps=view.steps)


def _current(lab: LabState, seen: BoundaryState) -> DecisionGrid | None:
    return seen.grid if seen.run_id == lab.run_id else None


def _boundary_frame() -> None:
    lab, seen = lab_state(), _state()
    _ask(lab, seen)
    view, grid = lab.view, _current(lab, seen)
    if view is None or view.model_config is None:
        st.caption("The decision regions appear once the run has started.")
        return
    with st.container(key="live_boundary"):
        answer = None if grid is None else (seen.run_id, seen.asked_at)
        live_chart(lambda: _figs.placeholder("Computing the decision regions...")
                   if grid is None else _regions(grid), key="lab_boundary",
                   config=_figs.CONFIG, content=answer)
    with st.container(key="live_network"):
        live_chart(lambda: _network(view), key="lab_network", config=_figs.CONFIG,
                   content=_figs.figure_key(view))


def _downloads(lab: LabState, seen: BoundaryState) -> None:
    """The regions as CSV and both figures as HTML, built on click from the latest answer."""
    view = lab.view
    if view is None or view.model_config is None:
        return

    def regions_csv() -> str:
        grid = _current(lab, seen)
        if grid is None:
            return "# no decision regions yet: press Step or Play\n"
        return boundary_csv(grid, run_id=lab.run_id, config=_figs.provenance(view)["config"])

    def regions_figure():
        grid = _current(lab, seen)
        return _regions(grid) if grid is not None else _figs.placeholder("No regions yet.")

    with st.expander("Download the decision regions (CSV) and these figures (HTML, offline)"):
        st.caption("The CSV holds, per rule, every grid point's predicted class and class "
                   "probabilities (kind = grid) and every drawn training point's label and "
                   "predicted class (kind = data), with the run's id, configuration and step.")
        show_downloads(name="lab-boundary", run=_figs.provenance(view),
                       files={"lab-boundary.csv": regions_csv}, figure=regions_figure)
        show_downloads(name="lab-network", run=_figs.provenance(view),
                       figure=lambda: _network(lab.view))


def _boundary_area() -> None:
    """The regions' fragment, at its interval for the playing state (a Play or a Pause
    reruns this one, `live_area`)."""
    lab = lab_state()
    every = max(BOUNDARY_SECONDS, lab.interval) if lab.playing else paused_seconds()
    st.fragment(_boundary_frame, run_every=every, key="frag_boundary")()


def lab_boundary(lab: LabState) -> None:
    """For 2-D data only: the data and each rule's decision regions side by side, and the
    network with the layers its credit reached, updating live while the run plays; then
    their downloads. Draws nothing for other data sets."""
    if lab.configs is None or not is_planar(lab.configs[2].dataset):
        return
    st.subheader("The data, each rule's decision regions, and how far its credit reached")
    st.caption(ABOUT)
    st.fragment(_boundary_area, key=live_area("frag_boundary_area"))()
    st.caption(NETWORK)
    _downloads(lab, _state())
