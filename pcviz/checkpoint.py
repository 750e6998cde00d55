"""A training session to bytes and back, so that a run resumes exactly where it was.

Layout of a checkpoint: the magic bytes `PCVIZCK1`, the length of the rest (8 bytes, big
endian), its SHA-256 (32 bytes), then a JSON header (its length in 8 bytes, then the text)
and the arrays: every group's stacked weights and optimiser states, written with
`equinox.tree_serialise_leaves`. The header holds the step, the batch stream's position,
the learning rate, the activity step and every rule's record (curves, divergence, timing).
Restoring reads the arrays against the fresh session's own as the template, so a
checkpoint of another configuration is refused instead of silently mis-read.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from typing import Any

import equinox as eqx

from .train import History, RuleRecord, Session

MAGIC = b"PCVIZCK1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be restored (damaged, or made for another configuration)."""


def _history(history: History) -> dict[str, Any]:
    return {"capacity": history.capacity, "stride": history.stride,
            "steps": list(history.steps), "values": [_number(v) for v in history.values]}


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _record(rec: RuleRecord) -> dict[str, Any]:
    return {"loss": _history(rec.loss), "accuracy": _history(rec.accuracy),
            "test_accuracy": _history(rec.test_accuracy), "diverged_at": rec.diverged_at,
            "step_seconds": _number(rec.step_seconds),
            "first_step_seconds": _number(rec.first_step_seconds),
            "total_seconds": rec.total_seconds, "timed_steps": rec.timed_steps}


def _arrays(session: Session) -> list:
    return [(group["models"], group["opt_states"]) for group in session.groups]


def save_session(session: Session) -> bytes:
    """The session's state as bytes (see the module docstring)."""
    header = {
        "format": 1, "step_count": session.step_count, "batch_step": session.batches.step,
        "learning_rate": session.learning_rate, "eta": session.eta,
        "groups": [list(group["rules"]) for group in session.groups],
        "records": {name: _record(rec) for name, rec in session.records.items()},
    }
    text = json.dumps(header).encode()
    arrays = io.BytesIO()
    eqx.tree_serialise_leaves(arrays, _arrays(session))
    body = len(text).to_bytes(8, "big") + text + arrays.getvalue()
    return MAGIC + len(body).to_bytes(8, "big") + hashlib.sha256(body).digest() + body


def _damaged(why: str) -> CheckpointError:
    return CheckpointError(f"This run's checkpoint is damaged ({why}); the run starts again "
                           "from step 0.")


def _read(blob: bytes) -> tuple[dict[str, Any], bytes]:
    if len(blob) < 48 or blob[:8] != MAGIC:
        raise _damaged("not a pcviz checkpoint")
    size = int.from_bytes(blob[8:16], "big")
    body = blob[48:]
    if len(body) != size:
        raise _damaged(f"{len(body)} of {size} bytes")
    if hashlib.sha256(body).digest() != blob[16:48]:
        raise _damaged("its checksum does not match")
    length = int.from_bytes(body[:8], "big")
    try:
        header = json.loads(body[8:8 + length])
    except ValueError:
        raise _damaged("unreadable header") from None
    return header, body[8 + length:]


def _restore_history(data: dict[str, Any]) -> History:
    history = History(int(data["capacity"]))
    history.stride = int(data["stride"])
    history.steps = [int(s) for s in data["steps"]]
    history.values = [math.nan if v is None else float(v) for v in data["values"]]
    return history


def _restore_record(name: str, data: dict[str, Any]) -> RuleRecord:
    rec = RuleRecord(name)
    for key in ("loss", "accuracy", "test_accuracy"):
        setattr(rec, key, _restore_history(data[key]))
    rec.diverged_at = data["diverged_at"]
    rec.step_seconds = math.nan if data["step_seconds"] is None else data["step_seconds"]
    first = data["first_step_seconds"]
    rec.first_step_seconds = math.nan if first is None else first
    rec.total_seconds, rec.timed_steps = data["total_seconds"], data["timed_steps"]
    return rec


def restore_session(session: Session, blob: bytes) -> None:
    """Put the state saved in `blob` into `session`, a fresh `Session` built from the same
    configurations.

    Raises `CheckpointError` (leaving `session` as it was) for a damaged blob or one made
    for another configuration.
    """
    header, arrays = _read(blob)
    groups = [list(group["rules"]) for group in session.groups]
    if header.get("format") != 1 or header.get("groups") != groups or \
            set(header.get("records", {})) != set(session.records):
        raise CheckpointError("This run's checkpoint belongs to another configuration (other "
                              "rules); the run starts again from step 0.")
    try:
        loaded = eqx.tree_deserialise_leaves(io.BytesIO(arrays), _arrays(session))
        records = {name: _restore_record(name, data)
                   for name, data in header["records"].items()}
    except Exception as err:  # shapes of another depth or width, a cut stream
        raise CheckpointError(f"This run's checkpoint does not fit this configuration ({err}); "
                              "the run starts again from step 0.") from None
    for group, (models, opt_states) in zip(session.groups, loaded):
        group["models"], group["opt_states"] = models, opt_states
    session.records = {name: records[name] for name in session.records}
    session.step_count = int(header["step_count"])
    session.batches.step = int(header["batch_step"])
    session.learning_rate = float(header["learning_rate"])
    session.eta = float(header["eta"])
