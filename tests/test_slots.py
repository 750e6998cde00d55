"""The server-wide cap on training runs: first come, first served, silent holders expire."""

import threading

from pcviz.slots import TrainingSlots


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_cap_and_queue_in_arrival_order():
    slots = TrainingSlots(2, clock=Clock())
    assert [slots.request(o) for o in ("a", "b", "c", "d")] == [0, 0, 1, 2]
    assert slots.request("c") == 1 and slots.request("d") == 2  # renewing keeps the place
    slots.release("a")
    assert slots.request("d") == 1  # d may not jump the queue: the free slot is c's
    assert slots.request("c") == 0
    assert slots.request("d") == 1
    assert slots.busy() == (2, 1)


def test_silent_holder_loses_its_slot():
    clock = Clock()
    slots = TrainingSlots(1, ttl=10, clock=clock)
    assert slots.request("a") == 0
    assert slots.request("b") == 1
    clock.now = 5
    assert slots.request("b") == 1  # a is still within its ttl
    clock.now = 12
    assert slots.request("b") == 0  # a stopped renewing (tab closed)


def test_threads_never_exceed_the_cap():
    slots = TrainingSlots(3)
    granted, lock = [], threading.Lock()

    def visitor(name):
        if slots.request(name) == 0:
            with lock:
                granted.append(name)

    threads = [threading.Thread(target=visitor, args=(f"v{i}",)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 3 and slots.busy() == (3, 37)


class _Run:
    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True


def test_open_runs_close_only_after_the_grace_period_of_a_disconnected_visitor():
    from pcviz.ui._visitors import OpenRuns

    now = [0.0]
    runs = OpenRuns(grace=120.0, clock=lambda: now[0])
    a, b = _Run(), _Run()
    runs.add("a", a)
    runs.add("b", b)
    connected = {"a": True, "b": False}
    now[0] = 100.0
    assert runs.sweep(connected.get) == 0 and len(runs) == 2  # b may still reconnect
    now[0] = 121.0
    assert runs.sweep(connected.get) == 1 and b.closed and not a.closed and len(runs) == 1
    connected["a"] = False  # a left at 121 s: seen then, kept for another 120 s
    now[0] = 200.0
    assert runs.sweep(connected.get) == 0 and not a.closed
    now[0] = 242.0
    assert runs.sweep(connected.get) == 1 and a.closed and len(runs) == 0
