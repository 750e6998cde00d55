"""The store's records and tables, and how values travel to and from their columns.

JSON columns (`config`, `versions`, `metrics`) are kept as text written by `json.dumps`, the
same on SQLite and PostgreSQL. NaN and infinities in them are stored as null and read back as
`None` (JSON has no NaN); curve numbers are stored as SQL NULL and read back as NaN.
"""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

import numpy as np
import sqlalchemy as sa

from .._json import json_ready

KINDS = ("lab", "train", "probe", "sweep", "cell", "theory")
STATUSES = ("running", "paused", "finished", "failed", "interrupted")
CURVE_FIELDS = ("loss", "accuracy", "test_accuracy", "step_seconds")


class RunRecord(NamedTuple):
    """One run as stored. `kind`: one of `KINDS`; `parent`: a sweep cell's sweep id;
    `status`: one of `STATUSES`; `metrics`: NaN read back as `None`; `created`, `updated`:
    Unix seconds."""

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


METADATA = sa.MetaData()
RUNS = sa.Table(
    "runs", METADATA,
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
POINTS = sa.Table(
    "points", METADATA,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("rule", sa.String(16), primary_key=True),
    sa.Column("step", sa.Integer, primary_key=True),
    *(sa.Column(name, sa.Float) for name in CURVE_FIELDS),
)
CHECKPOINTS = sa.Table(
    "checkpoints", METADATA,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("blob", sa.LargeBinary, nullable=False),
    sa.Column("saved", sa.Float, nullable=False),
)


def check_choice(*, kind: str | None = None, status: str | None = None) -> None:
    """`ValueError` unless `kind` is one of `KINDS` and `status` one of `STATUSES` (`None`:
    not checked)."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not a kind of run: choose one of {', '.join(KINDS)}.")
    if status is not None and status not in STATUSES:
        raise ValueError(f"status={status!r} is not a run status: choose one of "
                         f"{', '.join(STATUSES)}.")


def to_json(value: Any, *, name: str) -> str:
    """`value` as JSON text for the column `name`.

    Raises `ValueError` (naming the column) for a value JSON cannot hold.
    """
    try:
        return json.dumps(json_ready(value), allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as err:
        raise ValueError(f"The run's {name} cannot be stored ({err}): give plain numbers, "
                         "strings, lists and dicts.") from None


def number(value: Any) -> float | None:
    """A curve number for its column: a float, or `None` for NaN and infinities."""
    return json_ready(float(value))


def to_record(row) -> RunRecord:
    """A `runs` row as a `RunRecord`."""
    return RunRecord(row.run_id, row.kind, row.parent, row.label, json.loads(row.config),
                     json.loads(row.versions), row.status, int(row.step),
                     json.loads(row.metrics), row.error, float(row.created), float(row.updated))


def point_row(run_id: str, point: CurvePoint) -> dict[str, Any]:
    """A `CurvePoint` as a `points` row."""
    return {"run_id": run_id, "rule": str(point.rule), "step": int(point.step),
            **{name: number(getattr(point, name)) for name in CURVE_FIELDS}}


def to_curves(rows) -> dict[str, dict[str, np.ndarray]]:
    """`points` rows sorted by rule and step -> rule -> `{"step", *CURVE_FIELDS}` arrays
    (NULL read back as NaN)."""
    out: dict[str, dict[str, list]] = {}
    for row in rows:
        series = out.setdefault(row.rule, {"step": [], **{k: [] for k in CURVE_FIELDS}})
        series["step"].append(row.step)
        for name in CURVE_FIELDS:
            value = getattr(row, name)
            series[name].append(math.nan if value is None else value)
    return {rule: {k: np.asarray(v, dtype=np.int64 if k == "step" else np.float64)
                   for k, v in series.items()} for rule, series in out.items()}
