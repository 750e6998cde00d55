"""The run store: every run's configuration, versions, curves, metrics and checkpoint.

Built on SQLAlchemy Core, the same tables on SQLite (the embedded default: a file in the
user's data folder, nothing to install) and PostgreSQL (a shared deployment: every dashboard
replica, worker and command line writes one database). `PCVIZ_STORE` names either: a path, or
a URL (`sqlite:///...`, `postgresql://user:password@host/db`).

Tables: `runs` (one row per run: id, kind, parent sweep, label, configuration, versions,
status, step, metrics, error, times), `points` (per run, rule and training step: loss,
accuracy, test accuracy, seconds per step) and `checkpoints` (per run, the latest one).
Every database error becomes a `StoreError` whose message says what went wrong and how to
fix it, with any password masked.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import make_url

KINDS = ("lab", "train", "probe", "sweep", "cell", "theory")
STATUSES = ("running", "paused", "finished", "failed", "interrupted")
_CURVE_FIELDS = ("loss", "accuracy", "test_accuracy", "step_seconds")


class StoreError(RuntimeError):
    """The run store could not be opened, read or written (the message says how to fix it)."""


class RunRecord(NamedTuple):
    """One run as stored. `kind`: one of `KINDS`; `parent`: a sweep cell's sweep id;
    `status`: one of `STATUSES`; `created`, `updated`: Unix seconds."""

    run_id: str
    kind: str
    parent: str | None
    label: str
    config: dict
    versions: dict
    status: str
    step: int
    metrics: dict
    error: str | None
    created: float
    updated: float


class CurvePoint(NamedTuple):
    """One rule's numbers at one training step (NaN where not measured)."""

    rule: str
    step: int
    loss: float
    accuracy: float
    test_accuracy: float
    step_seconds: float


_META = sa.MetaData()
_RUNS = sa.Table(
    "runs", _META,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False, index=True),
    sa.Column("parent", sa.String(64), index=True),
    sa.Column("label", sa.Text, nullable=False, default=""),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("versions", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("step", sa.Integer, nullable=False, default=0),
    sa.Column("metrics", sa.Text, nullable=False, default="{}"),
    sa.Column("error", sa.Text),
    sa.Column("created", sa.Float, nullable=False, index=True),
    sa.Column("updated", sa.Float, nullable=False),
)
_POINTS = sa.Table(
    "points", _META,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("rule", sa.String(16), primary_key=True),
    sa.Column("step", sa.Integer, primary_key=True),
    *(sa.Column(name, sa.Float) for name in _CURVE_FIELDS),
)
_CHECKPOINTS = sa.Table(
    "checkpoints", _META,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("blob", sa.LargeBinary, nullable=False),
    sa.Column("saved", sa.Float, nullable=False),
)


def default_store_url() -> str:
    """`PCVIZ_STORE` (a path or a URL), else `runs.sqlite` in the user's data folder
    (`$XDG_DATA_HOME/pcviz`, else `~/.local/share/pcviz`)."""
    value = os.environ.get("PCVIZ_STORE", "").strip()
    if not value:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        value = str(Path(base) / "pcviz" / "runs.sqlite")
    return _as_url(value)


def _as_url(value: str) -> str:
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    if value.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    return value


def masked(url: str) -> str:
    """`url` with its password shown as `***`."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: show it as given
        return url


def new_run_id() -> str:
    """A fresh run id: 12 lowercase letters and digits."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def versions() -> dict[str, str]:
    """What computed a run: pcviz, JAX, jaxlib, Equinox and Python versions, the device."""
    import platform

    import equinox
    import jax
    import jaxlib

    from . import __version__

    device = jax.devices()[0]
    return {"pcviz": __version__, "jax": jax.__version__, "jaxlib": jaxlib.__version__,
            "equinox": equinox.__version__, "python": platform.python_version(),
            "device": f"{device.platform}: {device.device_kind}",
            "devices": str(jax.device_count())}


def _json(value: Any) -> str:
    return json.dumps(_plain(value), allow_nan=False, sort_keys=True)


def _plain(value: Any) -> Any:
    """NaN and infinities -> None, numpy scalars -> Python, tuples -> lists (for JSON)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _explain(url: str, err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err).strip().splitlines()[0][:300]
    where, lower = masked(url), text.lower()
    if url.startswith("sqlite"):
        path = make_url(url).database or ""
        if "readonly" in lower or "read-only" in lower:
            return (f"The run store {path} is read-only. Give the server write access to it, "
                    "or point PCVIZ_STORE at a writable file.")
        if "not a database" in lower or "malformed" in lower or "corrupt" in lower:
            return (f"{path} is not a pcviz run store ({text}). Move it away, or point "
                    "PCVIZ_STORE elsewhere.")
        if "disk" in lower and "full" in lower:
            return f"The disk holding the run store {path} is full. Free some space."
        return (f"The run store {path} cannot be opened ({text}). Check the folder exists and "
                "is writable, or point PCVIZ_STORE elsewhere.")
    if "password" in lower or "authentication" in lower:
        return (f"The run store at {where} refused the user name or password. Check the "
                "credentials in PCVIZ_STORE.")
    return (f"The run store at {where} cannot be reached ({text}). Check that the database "
            "server is running and that PCVIZ_STORE names it.")


class RunStore:
    """A run store at `url` (see the module docstring); thread-safe. Use `open_store`."""

    def __init__(self, url: str):
        self.url, self._raw = masked(url), url
        try:
            self._engine = self._make_engine(url)
            _META.create_all(self._engine)
        except (sa.exc.SQLAlchemyError, sqlite3.Error, OSError) as err:
            raise StoreError(_explain(url, err)) from None

    @staticmethod
    def _make_engine(url: str) -> sa.Engine:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            return sa.create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4,
                                    connect_args={"connect_timeout": 5})
        path = parsed.database
        if path and path != ":memory:" and "mode=" not in url:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            if Path(path).exists() and not os.access(path, os.W_OK):
                raise sqlite3.OperationalError("attempt to write a readonly database")
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(connection, _record):
            cursor = connection.cursor()
            cursor.execute("PRAGMA busy_timeout=30000")
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:  # a read-only file: reads still work
                pass
            cursor.close()

        return engine

    def _do(self, work: Callable[[sa.Connection], Any]) -> Any:
        """Run `work` in one transaction; database errors become `StoreError`."""
        try:
            with self._engine.begin() as connection:
                return work(connection)
        except (sa.exc.SQLAlchemyError, sqlite3.Error, OSError) as err:
            raise StoreError(_explain(self._raw, err)) from None

    # -- runs ---------------------------------------------------------------------------------

    def new_run(self, *, kind: str, config: dict, parent: str | None = None,
                run_id: str | None = None, label: str = "", status: str = "running") -> str:
        """Record a new run and return its id (`run_id`, else a fresh one). A run that
        already exists is left as it is (so a sweep's cells can be recorded idempotently).

        Raises `ValueError` for a `kind` or `status` not in `KINDS`/`STATUSES`.
        """
        if kind not in KINDS or status not in STATUSES:
            raise ValueError(f"kind={kind!r} / status={status!r}: kinds are {', '.join(KINDS)}; "
                             f"statuses {', '.join(STATUSES)}.")
        run_id = run_id or new_run_id()
        now, meta = time.time(), versions()

        def work(c: sa.Connection) -> None:
            if c.execute(sa.select(_RUNS.c.run_id).where(_RUNS.c.run_id == run_id)).first():
                return
            c.execute(_RUNS.insert().values(
                run_id=run_id, kind=kind, parent=parent, label=label, config=_json(config),
                versions=_json(meta), status=status, step=0, metrics="{}", error=None,
                created=now, updated=now))

        self._do(work)
        return run_id

    @staticmethod
    def _record(row) -> RunRecord:
        return RunRecord(row.run_id, row.kind, row.parent, row.label, json.loads(row.config),
                         json.loads(row.versions), row.status, int(row.step),
                         json.loads(row.metrics), row.error, float(row.created),
                         float(row.updated))

    def get(self, run_id: str) -> RunRecord | None:
        """The run `run_id`, or `None`."""
        row = self._do(lambda c: c.execute(
            sa.select(_RUNS).where(_RUNS.c.run_id == run_id)).first())
        return None if row is None else self._record(row)

    def update(self, run_id: str, *, status: str | None = None, step: int | None = None,
               metrics: dict | None = None, error: str | None = None,
               label: str | None = None) -> None:
        """Change a run's status, step, metrics (NaN stored as null), error or label."""
        values: dict[str, Any] = {"updated": time.time()}
        for name, value in (("status", status), ("step", step), ("error", error),
                            ("label", label)):
            if value is not None:
                values[name] = value
        if metrics is not None:
            values["metrics"] = _json(metrics)
        self._do(lambda c: c.execute(_RUNS.update().where(_RUNS.c.run_id == run_id)
                                     .values(**values)))

    def runs(self, *, kind: str | None = None, parent: str | None = None,
             status: str | None = None, limit: int = 200) -> list[RunRecord]:
        """Runs matching every filter given, newest first, at most `limit`."""
        query = sa.select(_RUNS).order_by(_RUNS.c.created.desc()).limit(int(limit))
        for column, value in (("kind", kind), ("parent", parent), ("status", status)):
            if value is not None:
                query = query.where(_RUNS.c[column] == value)
        return [self._record(row) for row in self._do(lambda c: c.execute(query).all())]

    def children_finished(self, parent: str) -> set[str]:
        """Ids of the finished runs whose parent is `parent` (a sweep's finished cells)."""
        query = sa.select(_RUNS.c.run_id).where(_RUNS.c.parent == parent,
                                                _RUNS.c.status == "finished")
        return {row.run_id for row in self._do(lambda c: c.execute(query).all())}

    def delete(self, run_id: str) -> None:
        """Remove a run with its points, its checkpoint and its children."""
        def work(c: sa.Connection) -> None:
            ids = [run_id] + [r.run_id for r in c.execute(
                sa.select(_RUNS.c.run_id).where(_RUNS.c.parent == run_id)).all()]
            for table in (_POINTS, _CHECKPOINTS, _RUNS):
                c.execute(table.delete().where(table.c.run_id.in_(ids)))

        self._do(work)

    # -- curves ---------------------------------------------------------------------------------

    def add_points(self, run_id: str, points: Sequence[CurvePoint]) -> None:
        """Record curve points in one transaction; a point at an existing (run, rule, step)
        replaces it."""
        if not points:
            return
        rows = {(p.rule, int(p.step)): {"run_id": run_id, "rule": p.rule, "step": int(p.step),
                                        **{k: _number(getattr(p, k)) for k in _CURVE_FIELDS}}
                for p in points}

        def work(c: sa.Connection) -> None:
            for rule in {rule for rule, _ in rows}:
                steps = [step for r, step in rows if r == rule]
                c.execute(_POINTS.delete().where(_POINTS.c.run_id == run_id,
                                                 _POINTS.c.rule == rule,
                                                 _POINTS.c.step.in_(steps)))
            c.execute(_POINTS.insert(), list(rows.values()))

        self._do(work)

    def drop_points_after(self, run_id: str, step: int) -> None:
        """Forget a run's points after `step` (it is being reopened from there)."""
        self._do(lambda c: c.execute(_POINTS.delete().where(_POINTS.c.run_id == run_id,
                                                            _POINTS.c.step > int(step))))

    def curves(self, run_id: str) -> dict[str, dict[str, np.ndarray]]:
        """Rule -> `{"step", "loss", "accuracy", "test_accuracy", "step_seconds"}` arrays,
        sorted by step (NaN where not measured)."""
        query = sa.select(_POINTS).where(_POINTS.c.run_id == run_id).order_by(
            _POINTS.c.rule, _POINTS.c.step)
        out: dict[str, dict[str, list]] = {}
        for row in self._do(lambda c: c.execute(query).all()):
            series = out.setdefault(row.rule, {"step": [], **{k: [] for k in _CURVE_FIELDS}})
            series["step"].append(row.step)
            for name in _CURVE_FIELDS:
                value = getattr(row, name)
                series[name].append(math.nan if value is None else value)
        return {rule: {k: np.asarray(v, dtype=np.int64 if k == "step" else float)
                       for k, v in series.items()} for rule, series in out.items()}

    # -- checkpoints ------------------------------------------------------------------------------

    def save_checkpoint(self, run_id: str, step: int, blob: bytes) -> None:
        """Keep `blob` as the run's checkpoint at `step`, replacing the previous one in the
        same transaction (a failure leaves the previous one)."""
        def work(c: sa.Connection) -> None:
            c.execute(_CHECKPOINTS.delete().where(_CHECKPOINTS.c.run_id == run_id))
            c.execute(_CHECKPOINTS.insert().values(run_id=run_id, step=int(step),
                                                   blob=bytes(blob), saved=time.time()))

        self._do(work)

    def checkpoint(self, run_id: str) -> tuple[int, bytes] | None:
        """`(step, blob)` of the run's latest checkpoint, or `None`."""
        row = self._do(lambda c: c.execute(sa.select(_CHECKPOINTS.c.step, _CHECKPOINTS.c.blob)
                                           .where(_CHECKPOINTS.c.run_id == run_id)).first())
        return None if row is None else (int(row.step), bytes(row.blob))

    def close(self) -> None:
        """Close the store's connections."""
        self._engine.dispose()


_lock = threading.Lock()
_open: dict[str, RunStore] = {}


def open_store(url: str | None = None) -> RunStore:
    """The `RunStore` at `url` (a path or a URL; `None`: `default_store_url()`), one per URL
    per process. Raises `StoreError` when it cannot be opened."""
    url = _as_url(url) if url else default_store_url()
    with _lock:
        if url not in _open:
            _open[url] = RunStore(url)
        return _open[url]
