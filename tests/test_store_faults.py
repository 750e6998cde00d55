"""Opening the run store (its default place, one store per URL, run ids, versions) and its
faults: each a `StoreError` that says how to fix it without showing a password."""

from __future__ import annotations

import os
import sqlite3
import threading

import numpy as np
import pytest
from _postgres import PASSWORD, USER, free_port, fresh_database

from pcviz.store import (
    RunStore,
    StoreError,
    default_store_url,
    new_run_id,
    open_store,
    versions,
)
from pcviz.store._errors import explain

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
