"""Sweeps: seeds of one cell batched, cells recorded in the store, resumed, and robust to a
worker killed mid-sweep."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from pcviz import sweeps
from pcviz._cells import train_cell
from pcviz.config import ModelConfig, RuleConfig, TrainConfig, with_changes
from pcviz.data import load_dataset
from pcviz.train import Session

MODEL = ModelConfig(depth=3, width=4)
RULE = RuleConfig()
TRAIN = TrainConfig(dataset="xor", batch_size=8, rules=("bp", "pc", "pcalm"))


def test_batched_seeds_equal_one_session_per_seed():
    data = load_dataset("xor", seed=0)
    seeds = [0, 1, 2]
    batched = train_cell(MODEL, RULE, TRAIN, seeds=seeds, steps=5, dataset=data)
    assert [r.seed for r in batched] == seeds
    for result in batched:
        session = Session(MODEL, RULE, with_changes(TRAIN, seed=result.seed), dataset=data)
        session.step(5)
        accuracy = session.evaluate()
        assert result.eta == pytest.approx(session.eta, rel=1e-6)
        for rule in TRAIN.rules:
            record = session.records[rule]
            np.testing.assert_allclose(result.loss[rule], record.loss.values, rtol=1e-5)
            np.testing.assert_allclose(result.train_accuracy[rule], record.accuracy.values)
            assert result.accuracy[rule] == pytest.approx(accuracy[rule], abs=1e-6)
            assert result.status[rule] == record.status == "ok"
    assert batched[0].loss["pc"][0] != batched[1].loss["pc"][0]  # own weights, own batches


def test_batched_divergence_is_per_seed_and_rule():
    data = load_dataset("spirals", seed=0)
    rule = RuleConfig(steps=40, eta=9.0)  # far past the stable activity step
    train = TrainConfig(dataset="spirals", batch_size=16, rules=("bp", "pcalm"))
    batched = train_cell(MODEL, rule, train, seeds=[0, 1], steps=3, dataset=data)
    for result in batched:
        session = Session(MODEL, rule, with_changes(train, seed=result.seed), dataset=data)
        session.step(3)
        assert result.status == {r: rec.status for r, rec in session.records.items()}
        assert result.status == {"bp": "ok", "pcalm": "diverged at step 1"}
        assert np.isnan(result.accuracy["pcalm"]) and np.isfinite(result.accuracy["bp"])
        assert np.isnan(result.loss["pcalm"]).all() and np.isfinite(result.loss["bp"]).all()


# ------------------------------------------------------------------ sweeps on the service

GRID = sweeps.SweepSpec((2, 3), (4,), (0, 1), 3, MODEL, RULE,
                        with_changes(TRAIN, rules=("bp", "pcalm")))


@pytest.fixture
def store(tmp_path):
    from pcviz.store import open_store

    path = str(tmp_path / "runs.sqlite")
    return open_store(path), path


def _coords(cells):
    return [(c.depth, c.width, c.seed) for c in cells]


def test_ids_follow_the_configuration():
    assert sweeps.sweep_id(GRID) == sweeps.sweep_id(sweeps.spec_from_config(GRID.config()))
    assert sweeps.sweep_id(GRID) != sweeps.sweep_id(GRID._replace(max_steps=4))
    sid = sweeps.sweep_id(GRID)
    assert sweeps.cell_id(sid, 2, 4, 0) == sweeps.cell_id(sid, 2, 4, 0) != sweeps.cell_id(
        sid, 2, 4, 1)


def test_a_rerun_runs_only_the_unfinished_cells(run_service, store):
    store, url = store
    plan = sweeps.plan_sweep(GRID, store=store)
    assert plan.done == () and len(plan.todo) == 4
    first = list(sweeps.run_sweep(plan, store=store, store_url=url, max_cells=2))
    assert _coords(first) == [(2, 4, 0), (2, 4, 1)] and not any(c.skipped for c in first)
    assert store.get(plan.sweep_id).status == "interrupted"
    record = store.get(first[0].run_id)
    assert record.kind == "cell" and record.parent == plan.sweep_id
    assert record.status == "finished" and record.config["depth"] == 2
    assert set(store.curves(first[0].run_id)) == {"bp", "pcalm"}

    again = sweeps.plan_sweep(GRID, store=store)
    assert again.sweep_id == plan.sweep_id and _coords(again.done) == _coords(first)
    second = list(sweeps.run_sweep(again, store=store, store_url=url))
    assert [c.skipped for c in second] == [True, True, False, False]
    assert second[0].accuracy == pytest.approx(first[0].accuracy)
    assert store.get(plan.sweep_id).status == "finished"
    assert sweeps.plan_sweep(GRID, store=store).todo == ()
    grid = sweeps.grids(GRID, second)
    assert grid["bp"].shape == (2, 1) and np.isfinite(grid["bp"]).all()


def test_stopping_keeps_what_finished(run_service, store):
    store, url = store
    plan = sweeps.plan_sweep(GRID, store=store)
    cells = sweeps.run_sweep(plan, store=store, store_url=url, workers=1)
    first = next(cells)
    cells.close()  # the consumer stops: the task still running is cancelled
    assert store.get(plan.sweep_id).status == "interrupted"
    again = sweeps.plan_sweep(GRID, store=store)
    assert (first.depth, first.width, first.seed) in _coords(again.done)
    assert len(again.done) == 2  # the whole first task (both seeds) was recorded
    rest = [c for c in sweeps.run_sweep(again, store=store, store_url=url) if not c.skipped]
    assert _coords(rest) == list(again.todo)


def test_a_failing_cell_is_recorded_and_the_sweep_goes_on(run_service, store, monkeypatch):
    store, url = store
    real = sweeps.train_cells

    def flaky(spec, depth, width, seeds, **kwargs):  # sent to the workers by value
        if depth == 2:
            raise ValueError("this cell is made to fail")
        return real(spec, depth, width, seeds, **kwargs)

    monkeypatch.setattr(sweeps, "train_cells", flaky)
    plan = sweeps.plan_sweep(GRID, store=store)
    cells = list(sweeps.run_sweep(plan, store=store, store_url=url))
    states = {(c.depth, c.seed): c.state for c in cells}
    assert states == {(2, 0): "failed", (2, 1): "failed", (3, 0): "finished", (3, 1): "finished"}
    failed = store.get(cells[0].run_id if cells[0].state == "failed" else cells[-1].run_id)
    assert failed.status == "failed" and "made to fail" in failed.error
    sweep = store.get(plan.sweep_id)
    assert sweep.status == "failed" and "2 of 4 cells failed" in sweep.error
    assert len(sweeps.plan_sweep(GRID, store=store).todo) == 2  # failed cells run again


def _worker_of(store, run_ids):
    for rid in run_ids:
        record = store.get(rid)
        if record is not None and record.status == "running" and (record.metrics or {}).get(
                "worker_pid"):
            return record.metrics["worker_pid"]
    return None


def test_a_killed_worker_reruns_its_cell_elsewhere(run_service, store, monkeypatch, tmp_path):
    store, url = store
    real, first_try = sweeps.train_cells, tmp_path / "first-try"

    def held_on_first_try(spec, depth, width, seeds, **kwargs):  # sent to the workers by value
        held = not first_try.exists()  # the first try cannot end before the kill lands
        first_try.touch()
        out = real(spec, depth, width, seeds, **kwargs)
        if held:
            time.sleep(120)
        return out

    monkeypatch.setattr(sweeps, "train_cells", held_on_first_try)
    spec = GRID._replace(depths=(3,), seeds=(0,), max_steps=60)
    plan = sweeps.plan_sweep(spec, store=store)
    (rid,) = [sweeps.cell_id(plan.sweep_id, *c) for c in spec.cells()]
    out: list = []
    thread = threading.Thread(target=lambda: out.extend(
        sweeps.run_sweep(plan, store=store, store_url=url)), daemon=True)
    thread.start()
    deadline, pid = time.monotonic() + 60, None
    while pid is None and time.monotonic() < deadline and thread.is_alive():
        pid = _worker_of(store, [rid])
        time.sleep(0.05)
    assert pid is not None, "the cell never said which worker runs it"
    os.kill(pid, signal.SIGKILL)
    thread.join(120)
    assert not thread.is_alive()
    assert [c.state for c in out] == ["finished"]
    record = store.get(rid)
    assert record.status == "finished" and record.metrics["worker_pid"] != pid
    assert store.get(plan.sweep_id).status == "finished"
