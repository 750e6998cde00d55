"""Live runs on the run service: named actors that train, are recorded in the store, reattach,
reopen from their checkpoint, and survive faults with a clear message and nothing lost."""

from __future__ import annotations

import threading
import time

from _runs import SMALL
from _runs import wait_for as _wait

from pcviz.service import LiveRun, find_live_run, open_live_run
from pcviz.store import new_run_id, open_store


def test_a_live_run_trains_is_recorded_and_a_second_client_reattaches(run_service):
    run_id = new_run_id()
    client = open_live_run(run_id, *SMALL)
    view = client.control(step=3)
    assert view.step_count == 3 and set(view.records) == {"bp", "pc", "pcalm"}
    assert len(view.records["pc"].loss.values) == 3
    again = find_live_run(run_id)  # a reload, another tab or another replica
    assert again is not None and again.view().step_count == 3
    record = _wait(lambda: (r := open_store().get(run_id)) and r.step == 3 and r)
    assert record.kind == "lab" and record.config["model"]["depth"] == 4
    assert record.versions["jax"] and record.status == "paused"
    curves = open_store().curves(run_id)
    assert list(curves["pcalm"]["step"]) == [1, 2, 3]
    client.close()


def test_play_trains_until_pause(run_service):
    client = open_live_run(new_run_id(), *SMALL)
    client.control(play=True, speed=2)
    seen = _wait(lambda: (v := client.view()).step_count >= 6 and v)
    assert seen.playing
    paused = client.control(play=False)
    time.sleep(0.5)
    assert not paused.playing and client.view().step_count <= paused.step_count + 2
    client.close()


def test_a_run_whose_actor_died_reopens_from_its_checkpoint(run_service):
    import ray

    run_id = new_run_id()
    client = open_live_run(run_id, *SMALL)
    client.control(step=5)
    _wait(lambda: (cp := open_store().checkpoint(run_id)) and cp[0] == 5)
    ray.kill(client.handle, no_restart=True)  # a killed worker, a restarted server
    _wait(lambda: find_live_run(run_id) is None, timeout=30)
    reopened = open_live_run(run_id, *SMALL)
    view = reopened.view()
    assert view.step_count == 5 and "checkpoint at step 5" in view.notice
    assert len(view.records["pcalm"].loss.values) == 5  # the curves came back too
    assert reopened.control(step=1).step_count == 6
    reopened.close()


def test_a_corrupt_checkpoint_starts_the_run_again_with_a_message(run_service):
    run_id = new_run_id()
    store = open_store()
    store.new_run(kind="lab", config={}, run_id=run_id)
    store.save_checkpoint(run_id, 40, b"not a checkpoint at all")
    client = open_live_run(run_id, *SMALL)
    view = client.view()
    assert view.step_count == 0 and view.error is None
    assert "damaged" in view.notice or "checkpoint" in view.notice
    assert client.control(step=1).step_count == 1
    client.close()


def test_two_tabs_driving_one_run_stay_consistent(run_service):
    run_id = new_run_id()
    tabs = [open_live_run(run_id, *SMALL), find_live_run(run_id)]
    tabs[0].view()
    errors = []

    def drive(tab, n):
        try:
            for i in range(n):
                tab.control(step=1) if i % 3 else tab.control(play=i % 2 == 0)
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=drive, args=(tab, 12)) for tab in tabs]
    [t.start() for t in threads]
    [t.join(120) for t in threads]
    assert not errors
    final = tabs[0].control(play=False)
    time.sleep(0.3)
    view = tabs[1].view()
    assert view.error is None and view.step_count >= 16  # every queued step was trained
    steps = view.records["pc"].loss.steps
    assert steps == sorted(set(steps)) and final.run_id == run_id
    tabs[0].close()


def test_an_unreachable_store_keeps_the_run_going_and_says_so(run_service):
    client = open_live_run(new_run_id(), *SMALL, store_url="postgresql://pcviz:secret@127.0.0.1:9/x")
    view = client.control(step=2)
    assert view.step_count == 2 and view.error is None
    assert "not being saved" in view.store_problem and "secret" not in view.store_problem
    client.close()


def test_a_run_nobody_reads_is_checkpointed_and_closed(run_service):
    run_id = new_run_id()
    client = open_live_run(run_id, *SMALL, idle=5)
    client.control(step=2)
    _wait(lambda: find_live_run(run_id) is None, timeout=60, every=0.5)
    assert open_store().checkpoint(run_id)[0] == 2


def test_a_run_paused_just_after_a_checkpoint_is_stored_as_paused(tmp_path):
    """A pause (or a closed tab) right after a playing run's periodic checkpoint, with no
    step in between, still changes the stored status from running to paused."""
    store_url = str(tmp_path / "runs.sqlite")
    run_id = new_run_id()
    run = LiveRun(run_id, *SMALL, store_url=store_url, idle=600)
    try:
        run.control(play=True)
        _wait(lambda: run.session.step_count >= 2)
        with run._lock:  # between two chunks
            run._checkpoint(run.session)  # the periodic one, while playing
            assert open_store(store_url).get(run_id).status == "running"
            run.playing = False  # paused before the next step
        run._wake.set()
        _wait(lambda: open_store(store_url).get(run_id).status == "paused", timeout=30)
    finally:
        run.close()


def test_an_idle_run_is_kept_until_the_store_takes_its_checkpoint(tmp_path, monkeypatch):
    """Retiring an idle run saves it first; while the store fails, the run (and its steps)
    stays in memory and the retirement is tried again."""
    from pcviz.store import StoreError

    store_url = str(tmp_path / "runs.sqlite")
    run_id = new_run_id()
    run = LiveRun(run_id, *SMALL, store_url=store_url, idle=600)
    try:
        working = run._store.save_checkpoint

        def refuse(*args, **kwargs):
            raise StoreError("the disk is full")

        # refused from before the steps, so that no checkpoint of them (the pause's, taken
        # as the steps end) can reach the store first
        monkeypatch.setattr(run._store, "save_checkpoint", refuse)
        run.control(step=3)
        _wait(lambda: run.view().step_count == 3)
        assert run._retire() is False and not run._closing.is_set()
        assert "disk is full" in run.store_problem
        monkeypatch.setattr(run._store, "save_checkpoint", working)
        assert run._retire() is True
        stored = open_store(store_url).get(run_id)
        assert (stored.status, stored.step) == ("paused", 3)
        assert open_store(store_url).checkpoint(run_id)[0] == 3
    finally:
        run.close()


def test_a_failing_step_is_a_message_with_the_knobs(monkeypatch):
    import jax

    from pcviz import _steps

    def out_of_memory(*args, **kwargs):
        raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating")

    run = LiveRun(new_run_id(), *SMALL, idle=600)
    monkeypatch.setattr(_steps, "inference_step", out_of_memory)
    view = run.control(step=1)
    assert "ran out of memory" in view.error and "Reduce the width" in view.error
    assert not run.control(play=True).playing  # a failed run does not play on
    run.close()


def test_a_reload_during_a_step_reattaches_and_sees_the_step_land(run_service):
    run_id = new_run_id()
    client = open_live_run(run_id, *SMALL)
    client.view()
    client.handle.control.remote(step=30)  # a long step under way...
    reloaded = find_live_run(run_id)  # ...when the page reloads
    assert reloaded is not None and reloaded.view(timeout=10).error is None
    assert _wait(lambda: reloaded.view().step_count == 30)
    reloaded.close()


def test_a_chunk_lasts_as_long_as_the_pages_take_between_reads(tmp_path):
    """At speed "auto" a chunk (whose last batch records the telemetry) lasts
    `AUTO_CHUNK_SECONDS`, or the pages' time between reads when longer (at most
    `MAX_CHUNK_SECONDS`): telemetry nobody reads is not recorded."""
    run = LiveRun(new_run_id(), *SMALL, store_url=str(tmp_path / "runs.sqlite"), idle=600)
    try:
        run._batch_seconds = 0.0625  # 1/16 s
        assert run._chunk() == 4  # no reads yet: 0.25 s
        now = time.monotonic()
        run._reads = [now - 3.0, now - 2.0, now - 1.0, now]  # a page reading every second
        assert run._chunk() == 16
        run._reads = [now - 5.0, now - 2.5, now]
        assert run._chunk() == 32  # at most MAX_CHUNK_SECONDS
        run._reads = [now - 30.0, now - 20.0, now]  # reads long ago do not count
        assert run._chunk() == 4
        run.control(play=True)
        assert run._reads == [] and run._read_every() == 0.0  # Play starts with a short chunk
    finally:
        run.close()


def test_a_page_that_pressed_play_reads_the_first_update_as_it_comes_out(tmp_path):
    """A read with `after_step` waits for the run's first update past that step while it
    trains (the page draws it at once, not one redraw later); paused, it does not wait."""
    run = LiveRun(new_run_id(), *SMALL, store_url=str(tmp_path / "runs.sqlite"), idle=600)
    try:
        run.control(step=1)
        run.control(play=True)
        seen = run.view(after_step=1, wait=60)
        assert seen.playing and seen.step_count > 1
        run.control(play=False)
        paused = run.view(after_step=10**6, wait=60)  # nothing to wait for
        assert not paused.playing and paused.step_count < 10**6
    finally:
        run.close()


def test_a_read_sent_after_play_waits_for_the_play_to_reach_the_run(run_service):
    """The run's calls run side by side: a Play held up behind the paused page's alignment
    (which holds the session) would be overtaken by the page's next read, which would find
    the run not playing and miss its first update. With the Play's handle the read waits."""
    client = open_live_run(new_run_id(), *SMALL)
    try:
        client.control(step=1)
        client.alignment()  # compiled: the next one only computes
        # paused, each holds the session while it computes
        for _ in range(4):
            client.ask_alignment()
        sent = client.send(play=True, speed=1)
        seen = client.view(after_step=1, wait=60, sent=sent, timeout=120)
        assert seen.playing and seen.step_count > 1
    finally:
        client.close()


def test_while_playing_the_alignment_takes_a_bounded_share_of_the_run(tmp_path):
    run = LiveRun(new_run_id(), *SMALL, store_url=str(tmp_path / "runs.sqlite"), idle=600)
    try:
        run.control(step=1)
        assert run.alignment() is not None and run.alignment() is not None  # paused: always
        run.playing = True
        assert run.alignment() is not None
        assert run.alignment() is None  # asked again at once: not yet due
        run._next_alignment = time.monotonic()
        assert run.alignment() is not None  # due again
    finally:
        run.close()
