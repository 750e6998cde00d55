"""The server-wide redraw pacing: few watchers redraw at the fastest interval, many stretch
it so that all redraws together keep within their share of one core; every section of a
page counts. A live run's page never waits for the run's session, and the server's heap
built at start-up is out of the garbage collector's full passes."""

import gc
import threading

import pytest

from pcviz import ModelConfig, RuleConfig, TrainConfig
from pcviz.service import PAGE_FLOOR, LiveRun, Pacer, settle_heap
from pcviz.store import new_run_id


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_interval_grows_with_the_watchers_and_their_redraw_cost():
    clock = Clock()
    pace = Pacer(base=0.15, share=0.5, ttl=10, clock=clock)
    assert pace.interval() == 0.15 and pace.watchers() == 0
    pace.record("a", 0.02)
    assert pace.interval() == 0.15  # one cheap page: the fastest interval
    seen = [pace.interval()]
    for visitor in "bcdefghij":
        pace.record(visitor, 0.02)
        seen.append(pace.interval())
    assert seen == sorted(seen) and seen[-1] > seen[0]  # never shorter with more watchers
    assert pace.watchers() == 10 and abs(pace.interval() - 10 * 0.02 / 0.5) < 1e-9


def test_every_section_of_a_page_counts_and_the_interval_has_a_ceiling():
    clock = Clock()
    pace = Pacer(base=0.15, slowest=5.0, share=0.5, ttl=10, clock=clock)
    for visitor in "abcd":
        pace.record(visitor, 0.05)  # status and heatmaps
    heatmaps_only = pace.interval()
    for visitor in "abcd":
        pace.record(visitor, 0.05, section="curves")
        pace.record(visitor, 0.08, section="alignment")
    assert pace.watchers() == 4  # sections are not visitors
    assert abs(heatmaps_only - 4 * 0.05 / 0.5) < 1e-9
    assert abs(pace.interval() - 4 * 0.18 / 0.5) < 1e-9
    for visitor in range(100):
        pace.record(str(visitor), 0.2)
    assert pace.interval() == 5.0  # a page still redraws now and then


def test_a_slowed_page_redraws_its_curves_and_alignment_less_often_than_its_heatmaps():
    """At a lone visitor's pace the curves redraw every second and the alignment every two;
    where the pace slows (a deep net, many visitors), every second and fourth redraw of the
    heatmaps, so that the browser's drawing goes to the live view."""
    from pcviz.ui._lab import section_intervals

    pace = Pacer(base=0.15, share=0.5, floor=PAGE_FLOOR)
    pace.record("lone", 0.01)
    lone = pace.interval()  # 0.4 s, the dashboard's pace for one visitor
    assert section_intervals(lone) == (lone, 1.0, 2.0)
    assert section_intervals(1.1) == pytest.approx((1.1, 2.2, 4.4))
    for interval in (0.15, 0.4, 0.8, 1.1, 3.0, 10.0):
        heatmaps, curves, alignment = section_intervals(interval)
        assert heatmaps == interval < curves < alignment
        assert curves >= 2 * interval and alignment >= 4 * interval


def test_each_watcher_counts_at_least_the_floor():
    """The visitor's browser draws every update too: a page whose server-side redraw is cheap
    still counts for `floor`, so that pages are not asked to redraw faster than a browser
    draws (what the dashboard's pacer assumes, `PAGE_FLOOR`)."""
    clock = Clock()
    pace = Pacer(base=0.15, share=0.5, floor=0.2, ttl=10, clock=clock)
    pace.record("a", 0.02)
    pace.record("a", 0.01, section="curves")
    assert abs(pace.interval() - 0.2 / 0.5) < 1e-9  # one cheap page: the floor, not base
    for visitor in "bcd":
        pace.record(visitor, 0.02)
    assert abs(pace.interval() - 4 * 0.2 / 0.5) < 1e-9
    pace.record("e", 0.3, section="main")
    pace.record("e", 0.1, section="curves")  # above the floor: its own cost counts
    assert abs(pace.interval() - (4 * 0.2 + 0.4) / 0.5) < 1e-9
    assert PAGE_FLOOR > 0


def test_visitors_who_pause_or_leave_stop_counting():
    clock = Clock()
    pace = Pacer(base=0.1, share=0.5, ttl=10, clock=clock)
    for visitor in "abcd":
        pace.record(visitor, 0.1)
        pace.record(visitor, 0.1, section="curves")
    assert abs(pace.interval() - 1.6) < 1e-9
    pace.forget("a")  # every section of a paused page
    assert abs(pace.interval() - 1.2) < 1e-9
    clock.now = 11.0  # the others stopped redrawing (closed tabs)
    pace.record("e", 0.01)
    assert pace.watchers() == 1 and pace.interval() == 0.1


def test_a_page_that_starts_playing_counts_its_whole_cost_at_once():
    """A page pressing Play joins with the redraw times it measured before (all its
    sections), so its pace is set once; what it records later replaces them."""
    clock = Clock()
    pace = Pacer(base=0.15, share=0.5, ttl=10, clock=clock)
    pace.join("a", {"main": 0.2, "curves": 0.1})
    assert abs(pace.interval() - 0.6) < 1e-9 and pace.watchers() == 1
    pace.record("a", 0.3)  # the heatmaps' first redraw: a moving average from 0.2
    assert abs(pace.sections("a")["main"] - 0.23) < 1e-9
    pace.join("a", {"main": 1.0, "curves": 1.0, "alignment": 0.05})  # measured ones stay
    assert pace.sections("a") == pytest.approx({"main": 0.23, "curves": 0.1,
                                                "alignment": 0.05})
    pace.forget("a")
    assert pace.sections("a") == {} and pace.interval() == 0.15


def test_a_page_reading_a_run_never_waits_for_its_session():
    run = LiveRun(new_run_id(), ModelConfig(depth=4, width=8), RuleConfig(),
                  TrainConfig(batch_size=16, dataset="spirals"), idle=600)
    try:
        run.view()
        got = []
        with run._lock:  # a training chunk, an alignment, a checkpoint...
            run._version += 1  # ...that changed the run
            reader = threading.Thread(target=lambda: got.append(run.view()), daemon=True)
            reader.start()
            reader.join(timeout=60)
            assert got and got[0].version < run._version  # the view built last, at once
        assert run.view().version == run._version  # built anew once the session is free
    finally:
        run.close()


def test_the_heap_built_at_start_up_is_out_of_the_collectors_reach():
    kept = [[i] for i in range(1000)]  # containers the collector tracks
    gc.collect()
    assert {id(x) for x in kept} <= {id(x) for x in gc.get_objects(generation=2)}
    try:
        assert settle_heap() >= len(kept)
        assert not {id(x) for x in kept} & {id(x) for x in gc.get_objects(generation=2)}
    finally:
        gc.unfreeze()


def test_background_work_yields_to_runs_and_a_playing_run_to_starting_ones(run_service):
    """Priorities on the cluster's cores (Linux niceness, higher is lower): tasks and live
    runs at the workers' level (not Ray's own default of 19 for every worker), background
    warm-ups at the lowest, and a run that plays steps aside for runs still starting."""
    import os
    import subprocess
    import sys

    from pcviz.service import _cluster

    workers = _cluster.worker_nice()
    assert workers < _cluster.worker_nice() + _cluster.STEP_ASIDE < _cluster.BACKGROUND_NICE
    level = run_service.submit(os.getpriority, os.PRIO_PROCESS, 0).result(timeout=120)
    assert level == workers
    low = run_service.submit(os.getpriority, os.PRIO_PROCESS, 0, background=True)
    assert low.result(timeout=120) == _cluster.BACKGROUND_NICE
    policy = run_service.submit(os.sched_getscheduler, 0, background=True)
    assert policy.result(timeout=120) == os.SCHED_IDLE  # only what the cores leave over
    # every thread of the process, those already running included, steps aside
    script = ("import os, threading, time\n"
              "from pcviz.service import _cluster\n"
              "t = threading.Thread(target=time.sleep, args=(3,)); t.start()\n"
              "_cluster.step_aside()\n"
              "print(sorted({os.getpriority(os.PRIO_PROCESS, int(x))"
              " for x in os.listdir('/proc/self/task')}))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env=dict(os.environ, PCVIZ_WORKER_NICE="10"))
    assert out.stdout.strip() == "[15]"
