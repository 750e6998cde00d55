"""The server-wide redraw pacing: few watchers redraw at the fastest interval, many stretch
it so that all redraws together keep within their share of one core."""

from pcviz.service import Pacer


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
    for visitor in "bcdefghij":
        pace.record(visitor, 0.02)
    assert pace.watchers() == 10 and abs(pace.interval() - 10 * 0.02 / 0.5) < 1e-9


def test_visitors_who_pause_or_leave_stop_counting():
    clock = Clock()
    pace = Pacer(base=0.1, share=0.5, ttl=10, clock=clock)
    for visitor in "abcd":
        pace.record(visitor, 0.1)
    assert abs(pace.interval() - 0.8) < 1e-9
    pace.forget("a")
    assert abs(pace.interval() - 0.6) < 1e-9
    clock.now = 11.0  # the others stopped redrawing (closed tabs)
    pace.record("e", 0.01)
    assert pace.watchers() == 1 and pace.interval() == 0.1
