"""The run store on SQLite and PostgreSQL: every field round trips, curves, checkpoints,
filters and concurrent writers lose nothing (opening the store and its faults:
`test_store_faults.py`)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from _postgres import fresh_database

from pcviz.store import CurvePoint, RunStore, versions

ROOT = Path(__file__).resolve().parents[1]
NAN = math.nan


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.needs_postgres)])
def store_url(request, tmp_path):
    """The URL of an empty store, on each back end."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'runs.sqlite'}"
        return
    url, drop = fresh_database()
    yield url
    drop()


@pytest.fixture
def store(store_url):
    store = RunStore(store_url)
    yield store
    store.close()


def _point(rule, step, loss=1.0, accuracy=0.5, test=NAN, seconds=0.01):
    return CurvePoint(rule, step, loss, accuracy, test, seconds)


# -- records ------------------------------------------------------------------------------------

def test_a_run_round_trips_every_field(store):
    config = {"model": {"depth": 8, "width": 16}, "rules": ["bp", "pcalm"], "lr": 1e-3}
    run_id = store.new_run(kind="cell", config=config, parent="sweep1", label="L=8",
                           status="paused")
    store.update(run_id, status="failed", step=42, error="boom",
                 metrics={"pc": {"loss": 0.25, "test_accuracy": NAN}}, label="renamed")
    record = store.get(run_id)
    assert (record.run_id, record.kind, record.parent) == (run_id, "cell", "sweep1")
    assert (record.label, record.status, record.step, record.error) == \
        ("renamed", "failed", 42, "boom")
    assert record.config == config
    assert record.metrics == {"pc": {"loss": 0.25, "test_accuracy": None}}  # NaN -> None
    assert record.versions == versions() and record.versions["jax"]
    assert record.created <= record.updated
    assert store.get("no-such-run") is None


def test_update_changes_only_what_is_given(store):
    run_id = store.new_run(kind="train", config={}, label="a")
    store.update(run_id, step=3)
    store.update(run_id, metrics={"bp": {"loss": 1.5}})
    record = store.get(run_id)
    assert (record.label, record.status, record.step) == ("a", "running", 3)
    assert record.metrics == {"bp": {"loss": 1.5}}
    store.update("no-such-run", status="finished")  # changes nothing, raises nothing
    assert store.get("no-such-run") is None


def test_new_run_with_an_existing_id_leaves_it_unchanged(store):
    run_id = store.new_run(kind="cell", config={"a": 1}, run_id="cell-1", parent="s")
    store.update(run_id, status="finished", step=7)
    again = store.new_run(kind="cell", config={"a": 2}, run_id="cell-1", parent="s")
    record = store.get(again)
    assert again == "cell-1" and record.config == {"a": 1}
    assert (record.status, record.step) == ("finished", 7)


def test_bad_kind_status_or_config_are_value_errors(store):
    with pytest.raises(ValueError, match=r"kind='nope'.*lab"):
        store.new_run(kind="nope", config={})
    with pytest.raises(ValueError, match=r"status='done'.*finished"):
        store.new_run(kind="lab", config={}, status="done")
    with pytest.raises(ValueError, match="config cannot be stored"):
        store.new_run(kind="lab", config={"x": object()})


def test_runs_filter_and_come_newest_first(store):
    ids = [store.new_run(kind=kind, config={"i": i}, parent=parent)
           for i, (kind, parent) in enumerate([("sweep", None), ("cell", "s1"), ("cell", "s1"),
                                               ("cell", "s2"), ("lab", None)])]
    store.update(ids[2], status="finished")
    assert [r.run_id for r in store.runs()] == ids[::-1]
    assert [r.run_id for r in store.runs(kind="cell")] == ids[3:0:-1]
    assert [r.run_id for r in store.runs(parent="s1")] == [ids[2], ids[1]]
    assert [r.run_id for r in store.runs(kind="cell", status="finished")] == [ids[2]]
    assert [r.run_id for r in store.runs(limit=2)] == ids[::-1][:2]
    assert store.children_finished("s1") == {ids[2]}
    assert store.children_finished("s2") == set()


def test_delete_removes_a_run_with_its_points_checkpoint_and_children(store):
    sweep = store.new_run(kind="sweep", config={})
    cell = store.new_run(kind="cell", config={}, parent=sweep)
    other = store.new_run(kind="lab", config={})
    for run_id in (sweep, cell, other):
        store.add_points(run_id, [_point("bp", 1)])
        store.save_checkpoint(run_id, 1, b"weights")
    store.delete(sweep)
    assert store.get(sweep) is None and store.get(cell) is None
    assert store.curves(cell) == {} and store.checkpoint(cell) is None
    assert store.checkpoint(sweep) is None
    assert store.get(other) is not None and store.checkpoint(other) == (1, b"weights")
    assert list(store.curves(other)["bp"]["step"]) == [1]


# -- curves -------------------------------------------------------------------------------------

def test_curves_round_trip_with_nan_sorted_by_step(store):
    run_id = store.new_run(kind="lab", config={})
    store.add_points(run_id, [_point("pc", 3, loss=0.3, test=0.9), _point("pc", 1, loss=NAN),
                              _point("bp", 2, loss=0.2, seconds=NAN),
                              _point("pc", 2, loss=math.inf)])
    curves = store.curves(run_id)
    assert set(curves) == {"pc", "bp"}
    pc = curves["pc"]
    assert set(pc) == {"step", "loss", "accuracy", "test_accuracy", "step_seconds"}
    np.testing.assert_array_equal(pc["step"], [1, 2, 3])
    np.testing.assert_array_equal(pc["loss"], [NAN, NAN, 0.3])  # NaN and inf -> NULL -> NaN
    np.testing.assert_array_equal(pc["test_accuracy"], [NAN, NAN, 0.9])
    np.testing.assert_array_equal(pc["accuracy"], [0.5, 0.5, 0.5])
    assert pc["step"].dtype == np.int64 and pc["loss"].dtype == np.float64
    np.testing.assert_array_equal(curves["bp"]["step_seconds"], [NAN])
    assert store.curves("no-such-run") == {}


def test_a_point_at_an_existing_step_replaces_it(store):
    run_id = store.new_run(kind="lab", config={})
    store.add_points(run_id, [_point("pc", 1, loss=1.0), _point("pc", 2, loss=2.0)])
    store.add_points(run_id, [_point("pc", 2, loss=20.0, test=0.7), _point("pc", 3, loss=3.0),
                              _point("pc", 3, loss=30.0)])  # the last of two is kept
    pc = store.curves(run_id)["pc"]
    np.testing.assert_array_equal(pc["step"], [1, 2, 3])
    np.testing.assert_array_equal(pc["loss"], [1.0, 20.0, 30.0])
    np.testing.assert_array_equal(pc["test_accuracy"], [NAN, 0.7, NAN])
    store.add_points(run_id, [])  # nothing to do


def test_drop_points_after_keeps_the_earlier_ones(store):
    run_id, other = store.new_run(kind="lab", config={}), store.new_run(kind="lab", config={})
    for rid in (run_id, other):
        store.add_points(rid, [_point(rule, s) for rule in ("bp", "pc") for s in range(1, 6)])
    store.drop_points_after(run_id, 3)
    curves = store.curves(run_id)
    assert {rule: list(c["step"]) for rule, c in curves.items()} == \
        {"bp": [1, 2, 3], "pc": [1, 2, 3]}
    assert list(store.curves(other)["pc"]["step"]) == [1, 2, 3, 4, 5]
    store.drop_points_after(run_id, 0)
    assert store.curves(run_id) == {}


# -- checkpoints --------------------------------------------------------------------------------

def test_only_the_latest_checkpoint_is_kept(store):
    run_id = store.new_run(kind="lab", config={})
    assert store.checkpoint(run_id) is None
    store.save_checkpoint(run_id, 10, b"first")
    blob = bytes(range(256)) * 1000  # every byte value, 256 kB
    store.save_checkpoint(run_id, 20, blob)
    assert store.checkpoint(run_id) == (20, blob)
    store.save_checkpoint(run_id, 5, b"older step, newer save")
    assert store.checkpoint(run_id) == (5, b"older step, newer save")


# -- several writers ----------------------------------------------------------------------------

def test_threads_on_two_store_objects_lose_nothing(store_url):
    stores = [RunStore(store_url), RunStore(store_url)]
    run_id = stores[0].new_run(kind="lab", config={})
    errors, made = [], []

    def write(worker: int) -> None:
        store = stores[worker % 2]
        try:
            for k in range(10):
                cell = store.new_run(kind="cell", config={"w": worker}, parent=run_id)
                made.append(cell)
                store.add_points(run_id, [_point(f"r{worker}", 10 * k + j) for j in range(10)])
                store.save_checkpoint(run_id, k, f"{worker}:{k}".encode())
                store.update(cell, status="finished")
        except Exception as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    curves = stores[1].curves(run_id)
    assert {rule: len(c["step"]) for rule, c in curves.items()} == \
        {f"r{w}": 100 for w in range(6)}
    assert stores[0].children_finished(run_id) == set(made) and len(made) == 60
    assert stores[0].checkpoint(run_id)[0] == 9
    for store in stores:
        store.close()


_WRITER = """
import sys
from pcviz.store import CurvePoint, RunStore
url, name, parent = sys.argv[1:]
store = RunStore(url)
store.new_run(kind="sweep", config={}, run_id=parent)  # both create it: one wins, none fails
print("ready", flush=True)
sys.stdin.readline()
for k in range(20):
    cell = store.new_run(kind="cell", config={"k": k}, parent=parent, run_id=f"{name}-{k}")
    store.add_points(parent, [CurvePoint(name, 10 * k + j, 1.0, 0.5, 0.0, 0.1)
                              for j in range(10)])
    store.update(cell, status="finished", step=k)
print("done", flush=True)
"""


def test_two_processes_writing_at_once_lose_nothing(store_url):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, store_url, name, "sweep-x"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
               for name in ("a", "b")]
    try:
        for writer in writers:
            assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
        for writer in writers:  # start both together
            writer.stdin.write("go\n")
            writer.stdin.flush()
        outputs = [writer.communicate(timeout=120) for writer in writers]
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
    assert [w.returncode for w in writers] == [0, 0], [err for _, err in outputs]
    store = RunStore(store_url)
    curves = store.curves("sweep-x")
    assert {rule: list(c["step"]) for rule, c in curves.items()} == \
        {"a": list(range(200)), "b": list(range(200))}
    assert store.children_finished("sweep-x") == {f"{n}-{k}" for n in "ab" for k in range(20)}
    store.close()
