"""The live lab's logic: the visitor's live run on the run service, named in the address.

State: a `LabState` in `st.session_state` holds the run's id, a client for its actor
(`pcviz.service.LiveRunClient`) and the latest `RunView` drawn. The run trains in the run
service, not in this process: the page sends commands and draws what the run reports.

`sync_lab` (every full run) reattaches to the run named in the address (`run=<id>`) when its
configuration is the address's, so a reload, a second tab or another machine opening the
address sees the same run at its current step (a run whose actor has gone reopens from its
last checkpoint); otherwise, and whenever the structure of the configuration changes
(anything but the learning rate), it starts a new run and writes its id in the address. A new
learning rate is passed on without a reset. The buttons send commands in callbacks.
`lab_live` draws three `st.fragment`s that rerun while playing, at the interval the server's
`Pacer` sets from what every playing visitor's three sections cost to redraw: status and
heatmaps, training curves, alignment with BP and wall times.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import streamlit as st

from .. import service
from ..config import ModelConfig, RuleConfig, TrainConfig, encode, with_changes
from ..service import RunGone, RunView
from . import _lab_view as view
from ._lab_controls import send_learning_rate
from ._lab_state import LabState, lab_state, live_area, paused_seconds
from ._lab_state import live_client as live_client
from ._live_chart import preload_plotly
from ._visitors import pacer, visitor_id

LIVE_CSS = Path(__file__).with_name("live.css")
"""Styles of the live sections (figures are not faded while they redraw)."""
RUN_PARAM = "run"
"""The query parameter holding the live run's id."""
RUN_ID = re.compile(r"^[a-z0-9]{6,32}$")
CURVE_SECONDS = 1.0
"""Shortest interval of the training curves' fragment while playing."""
SLOW_SECONDS = 2.0
"""Shortest interval of the third fragment (alignment with BP, one more inference; wall
times) while playing."""
CURVE_REDRAWS = 2
"""While playing, the curves redraw at most once per this many redraws of the heatmaps, and
the third fragment once per twice as many: where the server's pace slows the page (a deep
net, many visitors) the visitor's browser spends its drawing on the live heatmaps (at depth
128 on a 2-core machine it drew the curves and the alignment at a fifth of a core when they
redrew as often as the heatmaps, `bench/bench_dashboard.py`), and each redraw of the curves
still adds a few steps."""
ALIGNMENT_SECONDS = 10.0
"""Longest wait of a paused page for the alignment with BP."""
PACE_SLACK = 2.0
"""A playing page is redrawn at a new pace once the server's differs from its own by more
than this factor."""
START_SECONDS = 90.0
"""Longest wait for a new run's actor to build its network and data."""
FIRST_UPDATE_SECONDS = 3.0
"""After Play, the page's next redraw waits up to this long for the run's first update (it
draws it in the rerun the click caused, rather than one redraw later)."""


def _same_structure(url: dict[str, str], model, rule, train) -> bool:
    want = encode(model, rule, train)
    return {k: v for k, v in url.items() if k != "lr"} == \
        {k: v for k, v in want.items() if k != "lr"}


def _known_run(run_id: str, model, rule, train) -> tuple[bool | None, RunView | None]:
    """Whether run `run_id` exists with this structure (True), exists with another (False),
    or is unknown to the live service and the store (None); and its view when it is live."""
    client = service.find_live_run(run_id) if service.ready(0) else None
    if client is not None:
        try:
            seen = client.view(timeout=10)
        except (TimeoutError, RunGone):
            seen = None
        if seen is not None and seen.built:
            same = _same_structure(encode(*seen.configs), model, rule, train)
            return same, seen if same else None
    from ..store import StoreError, open_store

    try:
        record = open_store().get(run_id)
    except StoreError:
        return None, None
    if record is None:
        return None, None
    return record.kind == "lab" and _same_structure(record.config.get("url", {}), model,
                                                    rule, train), None


def _choose_run(lab: LabState, model, rule, train) -> str:
    """The address's run when it has this configuration, else a new run's id (a spare
    run's, already started, when one stands by)."""
    wanted = str(st.query_params.get(RUN_PARAM, ""))[:64]
    if lab.structure is None and not lab.fresh and wanted:
        if not RUN_ID.match(wanted):
            lab.notice = (f"Ignored run={wanted!r} in the address: a run id is 6 to "
                          "32 lowercase letters and digits. This is a new run.")
        else:
            known, lab.view = _known_run(wanted, model, rule, train)
            if known is not False:
                return wanted
            lab.notice = (f"The run {wanted} has another configuration than the address's: "
                          "this is a new run with the address's configuration.")
    return service.new_live_run_id((model, rule, train))


def _connect(lab: LabState) -> None:
    """Open the client of the visitor's run once the run service is up."""
    if lab.client is not None or lab.run_id is None or lab.error is not None:
        return
    if not service.ready(0):
        return
    try:
        lab.client = service.open_live_run(lab.run_id, *lab.chosen_configs)
    except service.ClusterUnavailable as err:
        lab.error = str(err)


def sync_lab(model: ModelConfig, rule: RuleConfig, train: TrainConfig) -> LabState:
    """Bring the visitor's run in line with the configuration and return its state.

    A structural change (anything but the learning rate) starts a new run, paused (the old
    one pauses, and stays in the store); a new learning rate applies from the next step,
    keeping the weights and the optimiser's state.
    """
    service.start()
    lab = lab_state()
    lab.areas.clear()  # the page registers them anew as it draws (`live_area`)
    structure = (model, rule, with_changes(train, learning_rate=None))
    if structure != lab.structure:
        if lab.client is not None:
            lab.client.send(play=False)
        run_id = _choose_run(lab, model, rule, train)
        seen = lab.view if lab.view is not None and lab.view.run_id == run_id else None
        lab.reset(run_id=run_id, structure=structure, configs=(model, rule, train),
                  notice=lab.notice, view=seen)  # a reattached run shows at once
    elif lab.configs != (model, rule, train):
        lab.configs = (model, rule, train)
        send_learning_rate(_learning_rate(lab))
    st.query_params[RUN_PARAM] = lab.chosen_run_id
    _connect(lab)
    return lab


def _learning_rate(lab: LabState) -> float:
    model, _, train = lab.chosen_configs
    current = lab.view.model_config if lab.view and lab.view.model_config else model
    return float(train.resolved_learning_rate(current))


def _refresh(lab: LabState, *, timeout: float) -> None:
    """Fetch the run's latest view (waiting at most `timeout` s; a slow answer keeps the
    previous view). A run whose actor has gone is reopened from its checkpoint."""
    if lab.client is None:
        return
    (after, sent), lab.first_after = lab.first_after or (None, None), None  # one per press
    wait = FIRST_UPDATE_SECONDS if after is not None else 0.0
    try:
        lab.view = lab.client.view(after_step=after, wait=wait, sent=sent,
                                   timeout=timeout + wait)
    except TimeoutError:
        return
    except RunGone:
        playing = lab.playing  # as the visitor last saw or asked for it
        lab.client = None
        lab.notice = "The run's worker had stopped: it was reopened from its last checkpoint."
        _connect(lab)
        if lab.client is not None and playing:
            lab.client.send(play=True)


def _train_frame(lecture: bool) -> None:
    lab = lab_state()
    started, first = time.thread_time(), lab.view is None  # the server's own work
    if lab.error is None and lab.client is None:
        _connect(lab)
    if lab.error is not None:
        st.error(lab.error, icon=":material/error:")
        return
    if lab.client is None:
        view.starting(service.status().message)
        return
    if lab.view is None:
        with st.spinner("Starting the run: building the network and its data..."):
            _refresh(lab, timeout=START_SECONDS)
    else:
        _refresh(lab, timeout=max(2.0, 4 * lab.interval))
    lab.confirm()
    if lab.view is None:
        view.starting("The run is still starting...")
        return
    # Two keyed boxes in a fixed order: whatever the status shows (a notice, a warning), the
    # heatmaps keep their place, so the browser updates the chart instead of rebuilding it.
    with st.container(key="live_status"):
        view.status(lab, compact=lecture)
    with st.container(key="live_heatmaps"):
        view.heatmaps(lab, lecture=lecture)
    _pace(lab, time.thread_time() - started, first)


def _pace(lab: LabState, seconds: float, first: bool) -> None:
    """Record this redraw's cost; rerun the whole page when the buttons show another state
    than the run's (it stopped or started on its own: divergence, another tab, a reload), on
    the run's `first` view, or when the server's pace moved more than `PACE_SLACK` times
    away from ours (a whole rerun costs several redraws: small moves are left alone)."""
    pace = pacer()
    if lab.playing:
        _count(lab, "main", seconds)
    else:
        pace.forget(visitor_id())
    interval = pace.interval()
    moved = not lab.interval / PACE_SLACK <= interval <= lab.interval * PACE_SLACK
    if first or lab.shown_playing != lab.playing or (lab.playing and moved):
        st.rerun(scope="app")


def _count(lab: LabState, section: str, seconds: float) -> None:
    """Count `seconds` of CPU for this redraw of `section` in the server's pace, and keep the
    page's measured costs for its next Play (`Pacer.join`)."""
    pace, me = pacer(), visitor_id()
    pace.record(me, seconds, section=section)
    lab.redraw_seconds = pace.sections(me)


def _record(section: str, started: float) -> None:
    """Count the CPU time this section's redraw took since `started` (`time.thread_time`)
    in the server's pace while the visitor's run plays."""
    lab = lab_state()
    if lab.playing:
        _count(lab, section, time.thread_time() - started)


def _curves_frame(lecture: bool) -> None:
    lab, started = lab_state(), time.thread_time()
    if lab.view is not None and lab.view.error is None:
        with st.container(key="live_curves"):
            view.curves(lab, lecture=lecture)
    _record("curves", started)


def _slow_frame() -> None:
    lab, started = lab_state(), time.thread_time()
    seen = lab.view
    if lab.client is None or seen is None or seen.error is not None or seen.step_count == 0:
        return
    if lab.aligned_step != seen.step_count:
        _align(lab, seen.step_count)
    with st.container(key="live_alignment"):
        view.alignment_and_times(lab)
    _record("alignment", started)


def _align(lab: LabState, step: int) -> None:
    """Bring `lab.alignment` up to the run's `step`. While the run plays the page never waits
    for it (the computation takes the run's session between two chunks, a second or more at
    depth, and every section of this page would wait with it): it asks, and takes the answer
    on a later redraw. Paused, it waits (at most `ALIGNMENT_SECONDS`)."""
    client = lab.client
    if client is None:
        return
    try:
        if not lab.playing:
            lab.alignment_asked = None
            asked, done, comparison = step, True, client.alignment(timeout=ALIGNMENT_SECONDS)
        else:
            if lab.alignment_asked is None:
                lab.alignment_asked = (step, client.ask_alignment())
            asked, handle = lab.alignment_asked
            done, comparison = client.answer(handle)
    except (TimeoutError, RunGone, ValueError, RuntimeError, MemoryError):
        # the training fragment reports errors
        lab.alignment, lab.aligned_step, lab.alignment_asked = None, step, None
        return
    if done:
        lab.alignment_asked = None
        # None: not compiled yet, or the run's time for it not yet due: the last one stays,
        # and the page asks again next time
        if comparison is not None:
            lab.alignment, lab.aligned_step = comparison, asked


def lab_live(lab: LabState, *, lecture: bool = False) -> None:
    """The live part of the page, three fragments that rerun on their own while playing:
    training status and heatmaps at the server's pace, the training curves every
    `CURVE_SECONDS` (at least every `CURVE_REDRAWS` of the heatmaps' intervals), the
    alignment with BP and the wall times every `SLOW_SECONDS` (at least every twice as
    many; `section_intervals`). The text on diffusive and ballistic credit is static. In the
    `lecture` layout the heatmaps and the curves share one row, in large type, and the text
    follows the figures.

    The three sit in a fragment of their own (`LIVE_FRAGMENT`), which a Play or a Pause
    reruns instead of the whole page: it sets their intervals anew."""
    st.html(LIVE_CSS)
    preload_plotly()  # while the run is being built
    if lab.notice:  # until the visitor's next command
        st.info(view.plain(lab.notice), icon=":material/info:")
    _overlay(lab)  # the choice below, made on the previous run of the page
    st.fragment(_live_sections, key=live_area(LIVE_FRAGMENT))(lecture)


LIVE_FRAGMENT = "frag_live"


def _live_sections(lecture: bool) -> None:
    lab = lab_state()
    if lab.playing:  # counted at its full cost at once (`Pacer.join`)
        pacer().join(visitor_id(), lab.redraw_seconds)
    lab.interval = pacer().interval()
    waiting = lab.client is None and lab.error is None
    unsure = waiting or lab.view is None or lab.expect is not None
    rarely = paused_seconds()
    if lab.playing:
        every, curves_every, slow_every = section_intervals(lab.interval)
    else:
        every, curves_every, slow_every = 1.0 if unsure else rarely, rarely, rarely
    train = st.fragment(_train_frame, run_every=every, key="frag_train")
    curves = st.fragment(_curves_frame, run_every=curves_every, key="frag_curves")
    if lecture:
        left, right = st.columns([4, 3])
        with left:
            train(lecture)
        with right:
            curves(lecture)
        view.heatmap_text()
    else:
        train(lecture)
        view.heatmap_text()
        curves(lecture)
    st.fragment(_slow_frame, run_every=slow_every, key="frag_slow")()


def section_intervals(interval: float) -> tuple[float, float, float]:
    """While playing at the server's `interval`: the seconds between redraws of the status
    and heatmaps, of the curves and of the alignment and wall times (`CURVE_REDRAWS`)."""
    return (interval, max(CURVE_SECONDS, CURVE_REDRAWS * interval),
            max(SLOW_SECONDS, 2 * CURVE_REDRAWS * interval))


def lab_intro() -> None:
    """What the page shows, and the three rules with their equations, side by side."""
    view.intro()


def _overlay(lab: LabState) -> None:
    """Load the chosen earlier run's curves (once per choice)."""
    from ..store import StoreError, open_store

    chosen = st.session_state.get("lab_overlay")
    if chosen is None:
        lab.overlay = None
    elif lab.overlay is None or lab.overlay[0] != chosen:
        try:
            lab.overlay = (chosen, open_store().curves(chosen))
        except StoreError as err:
            lab.overlay = None
            st.warning(view.plain(str(err)), icon=":material/cloud_off:")


def lab_history(lab: LabState) -> None:
    """Earlier runs from the run store, one of which can be overlaid on the curves."""
    from ..history import summarise
    from ..store import StoreError, open_store

    try:
        runs, problem = summarise(open_store().runs(kind="lab", limit=50)), None
    except StoreError as err:
        runs, problem = None, str(err)
    view.history(lab, runs, problem)


def lab_downloads(lab: LabState) -> None:
    """Downloads of the latest telemetry, the histories and the figures, built on click."""
    view.downloads(lab)
