"""A training session to bytes and back, so that a run resumes exactly where it was.

Layout of a checkpoint: the magic bytes `PCVIZCK1` (the last one is the format version), the
length of the rest (8 bytes, big endian), its SHA-256 (32 bytes), then a JSON header (its
length in 8 bytes, then the text) and the arrays: every group's stacked weights and optimiser
states, written with `equinox.tree_serialise_leaves`. The header holds the step, the batch
stream's position, the learning rate, the activity step $\\eta_h$ and every rule's record
(curves with their stride, divergence, timing). The latest telemetry is not kept: it comes
back with the next step.

Restoring reads the arrays against the fresh session's own as the template, so a checkpoint
of another configuration (other rules, depth, width, optimiser) is refused instead of being
silently mis-read, and a refused checkpoint leaves the session as it was.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from typing import Any

import equinox as eqx

from ._json import json_ready
from .train import History, RuleRecord, Session

MAGIC = b"PCVIZCK1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be restored (damaged, or made for another configuration)."""


def _history(history: History) -> dict[str, Any]:
    return {"capacity": history.capacity, "stride": history.stride,
            "steps": list(history.steps), "values": json_ready([float(v) for v in history.values])}


def _record(rec: RuleRecord) -> dict[str, Any]:
    return {"loss": _history(rec.loss), "accuracy": _history(rec.accuracy),
            "test_accuracy": _history(rec.test_accuracy), "diverged_at": rec.diverged_at,
            "step_seconds": json_ready(float(rec.step_seconds)),
            "first_step_seconds": json_ready(float(rec.first_step_seconds)),
            "total_seconds": rec.total_seconds, "timed_steps": rec.timed_steps}


def _arrays(session: Session) -> list:
    return [(group.models, group.opt_states) for group in session.groups]


def save_session(session: Session) -> bytes:
    """The session's state as bytes.

    **Arguments:**

    - `session`: a live (not closed) `Session`, at any step.

    **Returns:**

    The checkpoint (see the module docstring), for `restore_session`. Raises `ValueError`
    for a closed session, whose weights are gone.
    """
    if session.closed:
        raise ValueError("This run was closed, so its weights are gone: save its checkpoint "
                         "before closing it.")
    header = {
        "format": 1, "step_count": session.step_count, "batch_step": session.batches.step,
        "learning_rate": session.learning_rate, "eta": session.eta,
        "groups": [list(rules) for rules in session.rule_groups],
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
    """The header and the array bytes of `blob`, checked against its length and checksum."""
    blob = bytes(blob)
    if blob[:7] != MAGIC[:7]:
        raise _damaged("not a pcviz checkpoint")
    if blob[7:8] != MAGIC[7:8]:
        raise _damaged(f"format {blob[7:8]!r}, this version reads {MAGIC[7:8]!r}")
    if len(blob) < 48:
        raise _damaged(f"cut short at {len(blob)} bytes")
    size = int.from_bytes(blob[8:16], "big")
    body = blob[48:]
    if len(body) != size:
        raise _damaged(f"{len(body)} of {size} bytes")
    if hashlib.sha256(body).digest() != blob[16:48]:
        raise _damaged("its checksum does not match")
    length = int.from_bytes(body[:8], "big")
    try:
        if 8 + length > len(body):
            raise ValueError
        header = json.loads(body[8:8 + length])
        if not isinstance(header, dict):
            raise ValueError
    except ValueError:
        raise _damaged("unreadable header") from None
    return header, body[8 + length:]


def _restore_history(data: dict[str, Any]) -> History:
    history = History(int(data["capacity"]))
    history.stride = int(data["stride"])
    history.steps = [int(s) for s in data["steps"]]
    history.values = [math.nan if v is None else float(v) for v in data["values"]]
    if len(history.steps) != len(history.values):
        raise ValueError("a curve's steps and values differ in length")
    return history


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _restore_record(name: str, data: dict[str, Any]) -> RuleRecord:
    rec = RuleRecord(name)
    for key in ("loss", "accuracy", "test_accuracy"):
        setattr(rec, key, _restore_history(data[key]))
    diverged = data["diverged_at"]
    rec.diverged_at = None if diverged is None else int(diverged)
    rec.step_seconds = _float(data["step_seconds"])
    rec.first_step_seconds = _float(data["first_step_seconds"])
    rec.total_seconds, rec.timed_steps = float(data["total_seconds"]), int(data["timed_steps"])
    return rec


def _not_this_configuration(why: str) -> CheckpointError:
    return CheckpointError(f"This run's checkpoint was made for another configuration ({why}); "
                           "the run starts again from step 0.")


def _load_arrays(session: Session, arrays: bytes) -> list:
    stream = io.BytesIO(arrays)
    try:
        loaded = eqx.tree_deserialise_leaves(stream, _arrays(session))
    except Exception as err:  # shapes of another depth or width, a cut stream
        raise _not_this_configuration(str(err).strip().splitlines()[0][:200]) from None
    if stream.tell() != len(arrays):
        raise _not_this_configuration(f"{len(arrays) - stream.tell()} bytes of arrays left over")
    return loaded


def restore_session(session: Session, blob: bytes) -> None:
    """Put the state saved in `blob` into `session`.

    **Arguments:**

    - `session`: a fresh `Session` built from the same configurations as the saved one.
    - `blob`: what `save_session` returned.

    Raises `CheckpointError` for a damaged blob (cut short, altered, not a checkpoint) or one
    made for another configuration; `session` is then left as it was and can train from
    where it is.
    """
    header, arrays = _read(blob)
    groups = [list(rules) for rules in session.rule_groups]
    if header.get("format") != 1:
        raise _damaged(f"header format {header.get('format')!r}")
    if header.get("groups") != groups or set(header.get("records", {})) != set(session.rules):
        raise _not_this_configuration(f"rules {header.get('groups')}, this run has {groups}")
    try:
        records = {name: _restore_record(name, data)
                   for name, data in header["records"].items()}
        step_count, batch_step = int(header["step_count"]), int(header["batch_step"])
        learning_rate, eta = float(header["learning_rate"]), float(header["eta"])
    except (KeyError, TypeError, ValueError) as err:
        raise _damaged(f"header without a readable {err}") from None
    loaded = _load_arrays(session, arrays)
    session.restore(step_count=step_count, batch_step=batch_step, learning_rate=learning_rate,
                    eta=eta, records=records, weights=loaded)
