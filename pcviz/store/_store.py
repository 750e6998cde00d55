"""`RunStore`: runs, their curve points and their latest checkpoint, in SQLite or PostgreSQL."""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from ._errors import StoreError, explain, masked, sqlite_path
from ._schema import (
    CHECKPOINTS,
    CURVE_FIELDS,
    METADATA,
    POINTS,
    RUNS,
    CurvePoint,
    RunRecord,
    check_choice,
    point_row,
    to_curves,
    to_json,
    to_record,
)
from ._urls import as_url, default_store_url

_ERRORS = (sa.exc.SQLAlchemyError, sqlite3.Error, OSError)
_BUSY_MS = 30_000


def new_run_id() -> str:
    """A fresh run id: 12 random lowercase letters and digits (URL-safe)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


@functools.lru_cache(maxsize=1)
def _versions() -> tuple[tuple[str, str], ...]:
    import platform

    import equinox
    import jax
    import jaxlib

    from .. import __version__

    device = jax.devices()[0]
    return (("pcviz", __version__), ("jax", jax.__version__), ("jaxlib", jaxlib.__version__),
            ("equinox", equinox.__version__), ("python", platform.python_version()),
            ("device", str(device.device_kind)), ("platform", str(device.platform)),
            ("devices", str(jax.device_count())), ("os", platform.platform()))


def versions() -> dict[str, str]:
    """What computes runs in this process, recorded with each of them.

    **Returns:**

    `{"pcviz", "jax", "jaxlib", "equinox", "python"}` versions, `"device"` (the first JAX
    device's kind, e.g. `"cpu"` or `"NVIDIA H100 80GB HBM3"`), `"platform"` (JAX's platform:
    `"cpu"`, `"gpu"`, `"tpu"`), `"devices"` (how many) and `"os"`.
    """
    return dict(_versions())


def _sqlite_engine(url: str) -> sa.Engine:
    path = sqlite_path(url)
    if path != ":memory:" and "mode=" not in url:
        folder = Path(path).parent
        folder.mkdir(parents=True, exist_ok=True)
        if (Path(path).exists() and not os.access(path, os.W_OK)) or \
                not os.access(folder, os.W_OK):
            raise sqlite3.OperationalError("attempt to write a readonly database")
    engine = sa.create_engine(url, connect_args={"timeout": _BUSY_MS / 1000,
                                                 "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(connection, _record):
        cursor = connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        # several processes write one file; a read-only file refuses WAL but still reads
        with contextlib.suppress(sqlite3.OperationalError):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return engine


def _make_engine(url: str) -> sa.Engine:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4,
                                connect_args={"connect_timeout": 5})
    raise StoreError(f"PCVIZ_STORE={masked(url)} is not a run store pcviz can use: give a file "
                     "path, a sqlite:/// URL or a postgresql:// URL.")


class RunStore:
    """The run store at `url`: every run's configuration, versions, status, metrics, curve
    points and latest checkpoint. Thread-safe; several processes may share one store.

    Prefer `open_store`, which keeps one `RunStore` per URL. Every method raises `StoreError`
    (with the cause and the fix) when the database cannot be used.

    **Arguments:**

    - `url`: a path, or a `sqlite:///` or `postgresql://` URL (see `default_store_url`).

    `url` (the attribute) is the URL with its password masked, for messages.
    """

    def __init__(self, url: str):
        raw = as_url(url)
        self.url, self._raw = masked(raw), raw
        try:
            self._engine = _make_engine(raw)
            self._create_tables()
        except _ERRORS as err:
            raise StoreError(explain(raw, err)) from None
        self._insert = postgresql.insert if self._engine.dialect.name == "postgresql" \
            else sqlite.insert

    def _create_tables(self) -> None:
        try:
            METADATA.create_all(self._engine)
        except sa.exc.SQLAlchemyError:  # another process created them at the same moment
            METADATA.create_all(self._engine)

    def _do(self, work: Callable[[sa.Connection], Any]) -> Any:
        """Run `work` in one transaction; database errors become `StoreError`."""
        try:
            with self._engine.begin() as connection:
                return work(connection)
        except _ERRORS as err:
            raise StoreError(explain(self._raw, err)) from None

    def __repr__(self) -> str:
        return f"RunStore({self.url!r})"

    # -- runs -------------------------------------------------------------------------------

    def new_run(self, *, kind: str, config: dict, parent: str | None = None,
                run_id: str | None = None, label: str = "", status: str = "running") -> str:
        """Record a new run, with this process's `versions()`.

        **Arguments:**

        - `kind`: one of `KINDS`; `config`: its configuration (JSON-ready; NaN stored as null).
        - `parent`: a sweep cell's sweep id; `label`: a name for people; `status`: one of
          `STATUSES`.
        - `run_id`: the id to record it under (`None`: `new_run_id()`). A run that already
          has this id is left as it is, so recording a sweep's cells again is harmless.

        **Returns:**

        The run's id. Raises `ValueError` for a bad `kind`, `status` or `config`.
        """
        check_choice(kind=kind, status=status)
        run_id = run_id or new_run_id()
        now = time.time()
        row = {"run_id": run_id, "kind": kind, "parent": parent, "label": label,
               "config": to_json(config, name="config"),
               "versions": to_json(versions(), name="versions"), "status": status, "step": 0,
               "metrics": "{}", "error": None, "created": now, "updated": now}
        insert = self._insert(RUNS).values(**row).on_conflict_do_nothing(
            index_elements=[RUNS.c.run_id])
        self._do(lambda c: c.execute(insert))
        return run_id

    def get(self, run_id: str) -> RunRecord | None:
        """The run `run_id`, or `None` when there is none."""
        row = self._do(lambda c: c.execute(
            sa.select(RUNS).where(RUNS.c.run_id == run_id)).first())
        return None if row is None else to_record(row)

    def update(self, run_id: str, *, status: str | None = None, step: int | None = None,
               metrics: dict | None = None, error: str | None = None,
               label: str | None = None) -> None:
        """Change what is given of a run (`None`: left as it is) and its `updated` time.
        `metrics` replaces the previous ones (NaN stored as null, read back as `None`). An
        unknown `run_id` changes nothing. Raises `ValueError` for a bad `status`."""
        check_choice(status=status)
        values: dict[str, Any] = {"updated": time.time()}
        for name, value in (("status", status), ("error", error), ("label", label)):
            if value is not None:
                values[name] = value
        if step is not None:
            values["step"] = int(step)
        if metrics is not None:
            values["metrics"] = to_json(metrics, name="metrics")
        query = RUNS.update().where(RUNS.c.run_id == run_id).values(**values)
        self._do(lambda c: c.execute(query))

    def runs(self, *, kind: str | None = None, parent: str | None = None,
             status: str | None = None, limit: int = 200) -> list[RunRecord]:
        """Runs matching every filter given, newest first, at most `limit` of them."""
        query = sa.select(RUNS).order_by(RUNS.c.created.desc(), RUNS.c.run_id.desc()) \
            .limit(int(limit))
        for column, value in (("kind", kind), ("parent", parent), ("status", status)):
            if value is not None:
                query = query.where(RUNS.c[column] == value)
        return [to_record(row) for row in self._do(lambda c: c.execute(query).all())]

    def children_finished(self, parent: str) -> set[str]:
        """Ids of the finished runs whose parent is `parent` (a sweep's finished cells)."""
        query = sa.select(RUNS.c.run_id).where(RUNS.c.parent == parent,
                                               RUNS.c.status == "finished")
        return {row.run_id for row in self._do(lambda c: c.execute(query).all())}

    def delete(self, run_id: str) -> None:
        """Remove a run with its points, its checkpoint and its children (with theirs)."""
        def work(c: sa.Connection) -> None:
            children = sa.select(RUNS.c.run_id).where(RUNS.c.parent == run_id)
            ids = [run_id, *(row.run_id for row in c.execute(children).all())]
            for table in (POINTS, CHECKPOINTS, RUNS):
                c.execute(table.delete().where(table.c.run_id.in_(ids)))

        self._do(work)

    # -- curves -----------------------------------------------------------------------------

    def add_points(self, run_id: str, points: Sequence[CurvePoint]) -> None:
        """Record curve points in one transaction (NaN stored as NULL); a point at an
        existing (run, rule, step) replaces it, and of several given for one (rule, step)
        the last is kept."""
        rows = list({(row["rule"], row["step"]): row
                     for row in (point_row(run_id, p) for p in points)}.values())
        if not rows:
            return
        insert = self._insert(POINTS)
        upsert = insert.on_conflict_do_update(
            index_elements=[POINTS.c.run_id, POINTS.c.rule, POINTS.c.step],
            set_={name: insert.excluded[name] for name in CURVE_FIELDS})
        self._do(lambda c: c.execute(upsert, rows))

    def drop_points_after(self, run_id: str, step: int) -> None:
        """Forget a run's points after `step` (it is being reopened from a checkpoint there)."""
        query = POINTS.delete().where(POINTS.c.run_id == run_id, POINTS.c.step > int(step))
        self._do(lambda c: c.execute(query))

    def curves(self, run_id: str) -> dict[str, dict[str, np.ndarray]]:
        """A run's curves.

        **Returns:**

        Rule -> `{"step", "loss", "accuracy", "test_accuracy", "step_seconds"}`: arrays
        sorted by step (int64 steps, float64 values, NaN where not measured); `{}` for a run
        without points.
        """
        query = sa.select(POINTS).where(POINTS.c.run_id == run_id).order_by(
            POINTS.c.rule, POINTS.c.step)
        return to_curves(self._do(lambda c: c.execute(query).all()))

    # -- checkpoints ------------------------------------------------------------------------

    def save_checkpoint(self, run_id: str, step: int, blob: bytes) -> None:
        """Keep `blob` as the run's checkpoint at `step`, replacing the previous one in one
        statement (a failure or a crash mid-write leaves the previous one)."""
        insert = self._insert(CHECKPOINTS).values(run_id=run_id, step=int(step),
                                                  blob=bytes(blob), saved=time.time())
        upsert = insert.on_conflict_do_update(
            index_elements=[CHECKPOINTS.c.run_id],
            set_={name: insert.excluded[name] for name in ("step", "blob", "saved")})
        self._do(lambda c: c.execute(upsert))

    def checkpoint(self, run_id: str) -> tuple[int, bytes] | None:
        """`(step, blob)` of the run's latest checkpoint, or `None` when it has none."""
        query = sa.select(CHECKPOINTS.c.step, CHECKPOINTS.c.blob).where(
            CHECKPOINTS.c.run_id == run_id)
        row = self._do(lambda c: c.execute(query).first())
        return None if row is None else (int(row.step), bytes(row.blob))

    def close(self) -> None:
        """Close the store's connections (a later call opens new ones)."""
        self._engine.dispose()


_lock = threading.Lock()
_open: dict[str, RunStore] = {}


def open_store(url: str | None = None) -> RunStore:
    """The run store at `url`, one `RunStore` per URL per process (thread-safe).

    **Arguments:**

    - `url`: a path or a URL (see `default_store_url`); `None`: `default_store_url()`.

    **Returns:**

    The `RunStore`. Raises `StoreError` when it cannot be opened (nothing is kept then, so
    a later call tries again).
    """
    url = as_url(url) if url else default_store_url()
    with _lock:
        if url not in _open:
            _open[url] = RunStore(url)
        return _open[url]
