"""The run store on SQLite and PostgreSQL: every field round trips, curves, checkpoints,
filters, concurrent writers lose nothing, and every fault is a `StoreError` that says how to
fix it without showing a password."""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from _postgres import PASSWORD, USER, free_port, fresh_database

from pcviz.store import (
    CurvePoint,
    RunStore,
    StoreError,
    default_store_url,
    new_run_id,
    open_store,
    versions,
)
from pcviz.store._errors import explain

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


# -- opening, URLs ------------------------------------------------------------------------------

def test_default_store_url_honours_pcviz_store_as_path_or_url(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PCVIZ_STORE", "~/stores/runs.sqlite")
    assert default_store_url() == f"sqlite:///{tmp_path / 'stores' / 'runs.sqlite'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PCVIZ_STORE", "relative.sqlite")
    assert default_store_url() == f"sqlite:///{tmp_path.resolve() / 'relative.sqlite'}"
    monkeypatch.setenv("PCVIZ_STORE", "sqlite:////srv/pcviz/runs.sqlite")
    assert default_store_url() == "sqlite:////srv/pcviz/runs.sqlite"
    for scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        monkeypatch.setenv("PCVIZ_STORE", f"{scheme}://u:p@db:5432/pcviz")
        assert default_store_url() == "postgresql+psycopg://u:p@db:5432/pcviz"


def test_default_store_url_is_in_the_users_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("PCVIZ_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_store_url() == f"sqlite:///{tmp_path / 'xdg' / 'pcviz' / 'runs.sqlite'}"
    assert (tmp_path / "xdg" / "pcviz").is_dir()
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".local" / "share" / "pcviz"
    assert default_store_url() == f"sqlite:///{expected / 'runs.sqlite'}"
    assert expected.is_dir()


def test_open_store_keeps_one_store_per_url_across_threads(tmp_path):
    path = tmp_path / "shared.sqlite"
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(open_store(str(path))))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and all(s is seen[0] for s in seen)
    assert open_store(f"sqlite:///{path}") is seen[0]
    assert seen[0].url == f"sqlite:///{path}"


def test_new_run_ids_are_short_random_and_url_safe():
    ids = {new_run_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 12 and i.isalnum() and i == i.lower() and i.isascii() for i in ids)


def test_versions_name_the_software_and_the_device():
    import jax

    found = versions()
    assert {"pcviz", "jax", "jaxlib", "equinox", "python", "device", "platform"} <= set(found)
    assert found["jax"] == jax.__version__
    assert found["device"] == jax.devices()[0].device_kind
    assert found["platform"] == jax.devices()[0].platform


# -- faults -------------------------------------------------------------------------------------

def test_an_unreachable_server_is_a_clear_error_without_the_password():
    url = f"postgresql://pcviz:{PASSWORD}@127.0.0.1:{free_port()}/pcviz"
    with pytest.raises(StoreError) as caught:
        RunStore(url)
    message = str(caught.value)
    assert message.startswith("The run store at postgresql+psycopg://pcviz:***@127.0.0.1:")
    assert "cannot be reached" in message and "Connection refused" in message
    assert "Check that the database server is running and that PCVIZ_STORE names it." in message
    assert PASSWORD not in message
    with pytest.raises(StoreError, match="cannot be reached"):
        open_store(url)


@pytest.mark.needs_postgres
def test_a_wrong_password_is_a_clear_error_without_the_password():
    from sqlalchemy.engine import make_url

    url, drop = fresh_database()
    drop()  # the password is checked before the database is looked for
    good = make_url(url)
    wrong = good.set(password="not-the-Password-42").render_as_string(hide_password=False)
    with pytest.raises(StoreError) as caught:
        RunStore(wrong)
    message = str(caught.value)
    assert "refused the user name or password" in message
    assert "Check the credentials in PCVIZ_STORE" in message
    assert f"{USER}:***@" in message and "not-the-Password-42" not in message


@pytest.mark.needs_postgres
def test_a_database_lost_while_open_is_a_clear_error_on_the_next_call():
    url, drop = fresh_database()
    store = RunStore(url)
    run_id = store.new_run(kind="lab", config={})
    drop()  # ends the store's connections too
    with pytest.raises(StoreError) as caught:
        store.get(run_id)
    message = str(caught.value)
    assert "names a database the server does not have" in message and "createdb" in message
    assert PASSWORD not in message and ":***@" in message
    store.close()


def test_a_read_only_file_is_a_clear_error(tmp_path):
    path = tmp_path / "runs.sqlite"
    run_id = RunStore(str(path)).new_run(kind="lab", config={})
    # As root, file permissions do not stop writes, so the file is opened read-only by SQLite.
    store = RunStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert store.get(run_id).run_id == run_id  # reading still works
    with pytest.raises(StoreError) as caught:
        store.update(run_id, step=1)
    assert str(caught.value) == (f"The run store {path} is read-only. Give the server write "
                                 "access to it, or point PCVIZ_STORE at a writable file.")
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()
    with pytest.raises(StoreError, match="is read-only"):
        RunStore(f"sqlite:///file:{empty}?mode=ro&uri=true")  # cannot even create the tables


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes files whatever their permissions")
def test_a_file_without_write_permission_is_a_clear_error(tmp_path):
    path = tmp_path / "runs.sqlite"
    RunStore(str(path)).close()
    path.chmod(0o444)
    with pytest.raises(StoreError, match=f"The run store {path} is read-only"):
        RunStore(str(path))


def test_a_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "runs.sqlite"
    path.write_bytes(np.random.default_rng(0).bytes(8192))
    with pytest.raises(StoreError) as caught:
        RunStore(str(path))
    assert str(caught.value) == (f"{path} is not a pcviz run store (file is not a database). "
                                 "Move it away, or point PCVIZ_STORE elsewhere.")


def test_a_full_disk_and_an_unusable_url_are_clear_errors(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    full = sqlite3.OperationalError("database or disk is full")
    store_path = tmp_path / "runs.sqlite"
    assert explain(url, full).startswith(f"The disk holding the run store {store_path} is full")
    assert "Free some space" in explain(url, full)
    pg = "postgresql+psycopg://u:hunter2@db/x"
    message = explain(pg, OSError("could not extend file: No space left on device"))
    assert "run out of disk space" in message and "hunter2" not in message
    with pytest.raises(StoreError, match=r"mysql://u:\*\*\*@db/x is not a run store pcviz can use"):
        RunStore("mysql://u:hunter2@db/x")


def test_a_driver_message_quoting_the_password_is_masked():
    url = "postgresql+psycopg://pcviz:hunter2@db:5432/pcviz"
    message = explain(url, RuntimeError("connection to db failed for password hunter2"))
    assert "hunter2" not in message and "***" in message
