"""Sweeps: the seeds and grid points of one shape batched, cells recorded in the store,
resumed (by a rerun and by a restarted server), robust to a worker killed mid-sweep. The
default sweep's claim, its figures and the page: `test_sweep_figures.py`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

from pcviz import sweeps
from pcviz._cells import Setting, train_cell
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
            record = session.record(rule)
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


def _same_member(a, b):
    assert (a.seed, a.setting, a.status) == (b.seed, b.setting, b.status)
    assert a.eta == pytest.approx(b.eta, rel=1e-6)
    assert (a.alpha, a.learning_rate) == pytest.approx((b.alpha, b.learning_rate))
    for rule in a.accuracy:
        np.testing.assert_allclose(a.loss[rule], b.loss[rule], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(a.train_accuracy[rule], b.train_accuracy[rule])
        assert a.accuracy[rule] == pytest.approx(b.accuracy[rule], abs=1e-6)


def test_a_grid_of_eta_alpha_and_learning_rate_is_one_computation_equal_to_each_alone():
    data = load_dataset("xor", seed=0)
    settings = [Setting(eta=eta, alpha=alpha, learning_rate=lr) for eta in ("auto", 0.1)
                for alpha in (0.5, 1.0) for lr in (1e-3, 3e-3)]
    batched = train_cell(MODEL, RULE, TRAIN, seeds=[0, 1], steps=4, dataset=data,
                         settings=settings)
    assert [(r.setting, r.seed) for r in batched] == [(g, s) for g in settings for s in (0, 1)]
    for result in batched[::3]:  # every third member, trained alone
        (alone,) = train_cell(MODEL, RULE, TRAIN, seeds=[result.seed], steps=4, dataset=data,
                              settings=[result.setting])
        _same_member(result, alone)
    member = batched[-1]  # eta 0.1, alpha 1, lr 3e-3, seed 1: also a session of its own
    rule, train = member.setting.apply(RULE, with_changes(TRAIN, seed=1))
    session = Session(MODEL, rule, train, dataset=data)
    session.step(4)
    for name in TRAIN.rules:
        np.testing.assert_allclose(member.loss[name], session.record(name).loss.values,
                                   rtol=1e-5)
    by = {(r.setting, r.seed): r for r in batched}
    low, high = Setting("auto", 0.5, 1e-3), Setting("auto", 1.0, 1e-3)
    assert by[(low, 0)].eta == by[(high, 0)].eta != by[(low, 1)].eta  # auto: per seed
    np.testing.assert_array_equal(by[(low, 0)].loss["pc"], by[(high, 0)].loss["pc"])
    np.testing.assert_array_equal(by[(low, 0)].loss["bp"], by[(high, 0)].loss["bp"])
    assert not np.allclose(by[(low, 0)].loss["pcalm"][1:], by[(high, 0)].loss["pcalm"][1:])
    fast = Setting("auto", 0.5, 3e-3)
    assert not np.allclose(by[(low, 0)].loss["bp"][1:], by[(fast, 0)].loss["bp"][1:])


def test_spec_grids_are_settings_and_keep_the_ids_of_a_spec_without():
    spec = sweeps.SweepSpec((2,), (4,), (0, 1), 3, MODEL, RULE, TRAIN)
    assert spec.settings() == [Setting()] and "alphas" not in spec.config()
    assert sweeps.cell_id("s", 2, 4, 0) == sweeps.cell_id("s", 2, 4, 0, Setting())
    grid = spec._replace(alphas=(0.5, 1.0), learning_rates=(1e-3,))
    assert grid.settings() == [Setting(None, 0.5, 1e-3), Setting(None, 1.0, 1e-3)]
    assert len(grid.cells()) == 4 and sweeps.spec_from_config(grid.config()) == grid
    assert sweeps.sweep_id(grid) != sweeps.sweep_id(spec)
    assert sweeps.cell_id("s", 2, 4, 0, grid.settings()[0]) != sweeps.cell_id("s", 2, 4, 0)


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


def _patch_task(monkeypatch, task):
    monkeypatch.setattr(sweeps._run, "train_cells", task)


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
    assert list(again.todo) == [(3, 4, 0, Setting()), (3, 4, 1, Setting())]
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
    assert [c.key for c in rest] == list(again.todo)


def test_a_failing_cell_is_recorded_and_the_sweep_goes_on(run_service, store, monkeypatch):
    store, url = store
    real = sweeps.train_cells

    def flaky(spec, depth, width, cells, **kwargs):  # sent to the workers by value
        if depth == 2:
            raise ValueError("this cell is made to fail")
        return real(spec, depth, width, cells, **kwargs)

    _patch_task(monkeypatch, flaky)
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

    def held_on_first_try(spec, depth, width, cells, **kwargs):  # sent to the workers by value
        held = not first_try.exists()  # the first try cannot end before the kill lands
        first_try.touch()
        out = real(spec, depth, width, cells, **kwargs)
        if held:
            time.sleep(120)
        return out

    _patch_task(monkeypatch, held_on_first_try)
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


# ------------------------------------------------------------- grids of eta, alpha and lr


def test_a_sweep_with_an_alpha_grid_trains_each_shape_once(run_service, store):
    store, url = store
    spec = GRID._replace(depths=(3,), alphas=(0.5, 1.0))
    plan = sweeps.plan_sweep(spec, store=store)
    cells = list(sweeps.run_sweep(plan, store=store, store_url=url))
    assert sorted((c.seed, c.setting.alpha) for c in cells) == [(0, 0.5), (0, 1.0), (1, 0.5),
                                                                (1, 1.0)]
    records = [store.get(c.run_id) for c in cells]
    assert len({r.metrics["worker_pid"] for r in records}) == 1  # one task
    assert len({r.metrics["seconds"] for r in records}) == 1  # one batched computation
    assert {r.config["rule"]["alpha"] for r in records} == {0.5, 1.0}
    alone = train_cell(with_changes(MODEL, depth=3), RULE, spec.train, seeds=[1], steps=3,
                       settings=[Setting(alpha=0.5)])[0]
    (cell,) = [c for c in cells if (c.seed, c.setting.alpha) == (1, 0.5)]
    curves = store.curves(cell.run_id)  # computed on a worker: equal to float tolerance
    for rule in spec.train.rules:
        np.testing.assert_allclose(curves[rule]["loss"], alone.loss[rule], rtol=1e-4)
    assert sweeps.plan_sweep(spec, store=store).todo == ()  # every grid point recorded
    half = sweeps.grids(spec, cells, setting=spec.settings()[0])
    assert half["pcalm"][0, 0] == pytest.approx(np.mean(
        [c.accuracy["pcalm"] for c in cells if c.setting.alpha == 0.5]))


def test_the_command_line_takes_grids(run_service, tmp_path, capsys):
    from pcviz.cli import main

    out = tmp_path / "sweep.json"
    status = main(["sweep", "--depths", "2", "--widths", "4", "--rules", "bp,pcalm",
                   "--dataset", "xor", "--max-steps", "3", "--alphas", "0.5,1", "--lrs", "0.01",
                   "--store", str(tmp_path / "runs.sqlite"), "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    doc = json.loads(out.read_text())
    assert [s["setting"]["alpha"] for s in doc["settings"]] == [0.5, 1.0]
    assert len(doc["cells"]) == 2 and {c["setting"]["learning_rate"] for c in doc["cells"]} == {
        0.01}
    assert len({c["seconds"] for c in doc["cells"]}) == 1
    assert "alpha" in captured.out.splitlines()[1] and "lr" in captured.out.splitlines()[1]
    assert main(["sweep", "--depths", "2", "--alphas", "0.5,-1", "--dataset", "xor"]) == 2


# ------------------------------------------------------------ a restarted server resumes


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_restarted_server_resumes_the_sweeps_left_running(run_service, store):
    from pcviz.ui import _sweep_jobs

    store, url = store
    plan = sweeps.plan_sweep(GRID, store=store)
    first = list(sweeps.run_sweep(plan, store=store, store_url=url, max_cells=2))
    done_before = {c.run_id: store.get(c.run_id).updated for c in first}
    # the server that drove it was killed while it ran: its record still says running
    store.update(plan.sweep_id, status="running",
                 metrics={"driver": {"host": os.uname().nodename, "pid": _dead_pid()}})
    stopped = sweeps.plan_sweep(GRID._replace(max_steps=2), store=store)  # stopped by its user
    assert store.get(stopped.sweep_id).status == "running"
    store.update(stopped.sweep_id, status="interrupted")

    assert _sweep_jobs.resume_orphaned(url=url) == [plan.sweep_id]  # at once: its pid is gone
    job = _sweep_jobs.job_for(plan.sweep_id, None)
    assert job.wait(120)
    progress = job.progress()
    assert progress.error is None
    skipped = {c.key for c in first}
    assert sorted(progress.computed) == [k for k in plan.todo if k not in skipped]
    assert store.get(plan.sweep_id).status == "finished"
    assert {rid: store.get(rid).updated for rid in done_before} == done_before
    assert store.get(stopped.sweep_id).status == "interrupted"
    assert _sweep_jobs.resume_orphaned(url=url) == []


def test_a_sweep_another_live_server_drives_is_left_to_it(store):
    store, _ = store
    plan = sweeps.plan_sweep(GRID, store=store)
    alive = {"driver": {"host": os.uname().nodename, "pid": os.getppid()}}
    store.update(plan.sweep_id, status="running", metrics=alive)
    assert sweeps.orphaned_sweeps(store, stale_after=60.0) == []
    late = time.time() + 61.0  # until it stops beating for a minute
    assert [s.sweep_id for s in sweeps.orphaned_sweeps(store, stale_after=60.0, now=late)] == [
        plan.sweep_id]

