"""Spare live runs: started ahead, preloaded, given their configuration by the page that
takes one; nothing stored before then; ended when nobody takes them."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from _runs import SMALL
from _runs import wait_for as _wait

from pcviz import ModelConfig, RuleConfig, TrainConfig
from pcviz.service import (
    LiveRun,
    _client,
    _spare,
    find_live_run,
    new_live_run_id,
    open_live_run,
    start_spare_runs,
)
from pcviz.store import open_store


@pytest.fixture
def pool(monkeypatch):
    """An empty pool of spares, one per configuration of its plan, replaced at once."""
    monkeypatch.setenv("PCVIZ_SPARE_RUNS", "1")
    monkeypatch.setattr(_client, "_spares", [])
    monkeypatch.setattr(_client, "_plan", [])
    monkeypatch.setattr(_client, "REFILL_SECONDS", 0)


@contextmanager
def _standing(tmp_path, run_id, **options):
    """A spare run `run_id` in this process with a store in `tmp_path`: `(spare, store_url)`,
    closed afterwards."""
    store_url = str(tmp_path / "runs.sqlite")
    spare = LiveRun(run_id, store_url=store_url, idle=600, **options)
    try:
        yield spare, store_url
    finally:
        spare.close()


def test_a_spare_stores_nothing_until_configured_then_is_a_run_like_any(tmp_path):
    with _standing(tmp_path, "spare0test") as (spare, store_url):
        assert spare.session is None and not spare._built.is_set()
        assert open_store(store_url).get("spare0test") is None  # nothing written yet
        spare._preparing.wait(120)
        prepared = spare._prepared
        spare.configure(*SMALL, store_url=store_url)
        spare.configure(ModelConfig(depth=9), RuleConfig(), TrainConfig())  # ignored: built
        assert spare.session is not prepared  # built ahead for the default configuration
        assert spare._abandoned.is_set() and spare._prepared is None
        view = spare.control(step=2)
        assert view.step_count == 2 and view.model_config.depth == 4
        assert view.train_config.dataset == "spirals"
        _wait(lambda: (r := open_store(store_url).get("spare0test")) and r.step == 2)


def test_a_spare_builds_its_configuration_ahead_and_a_run_of_it_takes_that_session(tmp_path):
    with _standing(tmp_path, "spare3test", ahead=SMALL) as (spare, store_url):
        assert spare._preparing.wait(120)
        prepared = spare._prepared
        assert prepared is not None and prepared.step_count == 0
        assert prepared.train_config == SMALL[2]
        spare.configure(*SMALL, store_url=store_url)
        assert spare.session is prepared and spare._prepared is None
        assert spare._compiled_ahead and spare._lean.wait(10) and spare._evaluable.wait(10)
        assert spare.control(step=1).step_count == 1


def test_a_spare_configured_while_building_ahead_waits_for_that_session(tmp_path):
    with _standing(tmp_path, "spare4test", ahead=SMALL) as (spare, store_url):
        assert not spare._preparing.is_set()  # still building (it compiles three programs)
        spare.configure(*SMALL, store_url=store_url)
        assert spare._preparing.is_set() and spare._compiled_ahead
        assert spare.session.train_config == SMALL[2]


def test_an_untaken_spare_ends_and_a_closed_one_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(_spare, "SPARE_SECONDS", 0.2)
    untaken = LiveRun("spare1test", store_url=str(tmp_path / "runs.sqlite"))
    _wait(untaken._closing.is_set, timeout=10)
    untaken.configure(*SMALL)  # too late: it has ended
    assert untaken.session is None
    closed = LiveRun("spare2test", store_url=str(tmp_path / "runs.sqlite"))
    closed.close()
    assert closed._closing.is_set() and closed.session is None


def test_a_new_run_takes_a_standing_spare_and_the_pool_refills(run_service, pool):
    start_spare_runs()
    standing = _client._spares[0].run_id
    _wait(lambda: find_live_run(standing) is not None)
    run_id = new_live_run_id(SMALL)  # no spare built for it: the default one
    assert run_id == standing and len(_client._spares) == 1  # the next one is starting
    assert _client._spares[0].run_id != run_id
    before = find_live_run(run_id).handle._actor_id
    client = open_live_run(run_id, *SMALL)
    assert client.handle._actor_id == before  # the spare's actor, not a new one
    view = client.control(step=1)
    assert view.step_count == 1 and view.model_config.depth == 4
    assert open_store().get(run_id).config["model"]["depth"] == 4
    client.close()
    find_live_run(_client._spares[0].run_id).close()  # the refill ends too


def test_the_pool_keeps_a_spare_for_each_configuration_of_its_plan(run_service, pool):
    default = _spare.default_configs()
    assert start_spare_runs(prepare=[default, SMALL, default]) == 2
    built_for = {s.ahead == SMALL: s.run_id for s in _client._spares}
    assert new_live_run_id(SMALL) == built_for[True]  # the one built for it
    assert [s.ahead == SMALL for s in _client._spares].count(True) == 1  # refilled
    assert new_live_run_id() == built_for[False]  # the default one
    for spare in _client._spares:
        _wait(lambda s=spare: find_live_run(s.run_id) is not None)
        find_live_run(spare.run_id).close()
    for run_id in built_for.values():
        find_live_run(run_id).close()


def test_a_new_run_takes_the_spare_built_for_it_else_a_default_one_else_any(monkeypatch):
    default, other = _spare.default_configs(), (ModelConfig(depth=5), RuleConfig(),
                                                 TrainConfig())
    monkeypatch.setattr(_client, "_spares", [_client._Spare("a", None, 0.0, SMALL),
                                             _client._Spare("b", None, 0.0, default),
                                             _client._Spare("c", None, 0.0, SMALL)])
    monkeypatch.setattr(_client, "_plan", [default, SMALL])
    assert _client._take_spare(SMALL).run_id == "a"  # built for it
    assert _client._take_spare(other).run_id == "b"  # the default run's
    assert _client._take_spare(other).run_id == "c"  # any
    assert _client._take_spare(other) is None


def test_without_spares_a_new_run_id_has_no_actor(run_service, monkeypatch):
    monkeypatch.setenv("PCVIZ_SPARE_RUNS", "0")
    monkeypatch.setattr(_client, "_spares", [])
    run_id = new_live_run_id()
    assert find_live_run(run_id) is None and not _client._spares


def _niceness(handle) -> set[int]:
    """The niceness of every thread of an actor's process outside Linux's idle policy."""
    import os

    import ray

    pid = ray.get(handle.__ray_call__.remote(lambda _: os.getpid()), timeout=60)
    levels = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            if os.sched_getscheduler(int(task)) != os.SCHED_IDLE:
                levels.add(os.getpriority(os.PRIO_PROCESS, int(task)))
        except OSError:  # the thread has ended
            pass
    return levels


def test_a_spare_stands_by_below_playing_runs_and_its_run_returns_to_the_workers_level(
        run_service, pool):
    import os

    from pcviz.service import _cluster

    start_spare_runs()
    run_id = _client._spares[0].run_id
    handle = _wait(lambda: find_live_run(run_id)).handle
    aside = _cluster.worker_nice() + _cluster.STEP_ASIDE
    _wait(lambda: _niceness(handle) == {aside})  # standing by: below the runs that play
    taken = new_live_run_id()
    client = open_live_run(taken, *SMALL)
    client.view(timeout=120)  # configured (it steps aside again after its first step)
    expected = _cluster.worker_nice() if os.geteuid() == 0 else aside  # CAP_SYS_NICE: root's
    assert taken == run_id and _niceness(handle) == {expected}
    client.close()
    find_live_run(_client._spares[0].run_id).close()
