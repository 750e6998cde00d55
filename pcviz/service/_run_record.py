"""How a live run records itself in the run store: curve points every `FLUSH_SECONDS`, a
checkpoint every `CHECKPOINT_SECONDS` (and when asked), a restore from the latest checkpoint,
and a store that fails turned into a message (`store_problem`) while the run goes on.

`RunRecording` is a part of `LiveRun` (its base class): it reads the run's `session`, `_lock`,
`run_id`, `error`, `playing` and `_flushed` bookkeeping, which `LiveRun` sets.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, TypedDict

from .._json import json_ready

if TYPE_CHECKING:
    from ..store import RunStore
    from ..train import Session

FLUSH_SECONDS = 2.0
"""Interval between two writes of a playing run's curve points to the store."""
CHECKPOINT_SECONDS = 15.0
"""Interval between two checkpoints of a playing run (and one at every pause)."""


class Flushed(TypedDict):
    """What a live run last wrote to the store: the step of its last curve point and of its
    last checkpoint, when (`time.monotonic()`) it last wrote points and a checkpoint, and the
    status it last wrote ("" when unknown)."""

    points: int
    checkpoint: int
    time: float
    saved_at: float
    status: str


class RunNotBuilt(RuntimeError):
    """A live run was asked for its session before it had one (it failed to build)."""


class RunRecording:
    """The run-store side of a live run (see the module docstring)."""

    run_id: str
    session: Session | None
    """The run's session; `None` until built, and for good when it could not be built."""
    error: str | None
    notice: str | None
    store_problem: str | None
    playing: bool
    _lock: threading.RLock
    _store: RunStore | None
    _flushed: Flushed
    _evaluated: int

    def _built_session(self) -> Session:
        """The run's session; `RunNotBuilt` when it has none (its `error` says why)."""
        if self.session is None:
            raise RunNotBuilt(f"The run {self.run_id} has no session: "
                              f"{self.error or 'it has not been built'}")
        return self.session

    def _open_store(self, url: str | None) -> RunStore | None:
        from ..store import StoreError, open_store

        try:
            return open_store(url)
        except StoreError as err:
            self.store_problem = f"This run is not being saved: {err}"
            return None

    def _store_call(self, method: str, *args, **kwargs):
        """Call the store; a failure is kept as `store_problem` (shown to the visitor) and
        the run goes on unsaved until the store answers again."""
        from ..store import StoreError

        if self._store is None:
            return None
        try:
            out = getattr(self._store, method)(*args, **kwargs)
            self.store_problem = None
            return out
        except StoreError as err:
            self.store_problem = f"This run is not being saved right now: {err}"
            return None

    def _restore(self) -> bool:
        from ..checkpoint import CheckpointError, restore_session

        found = self._store_call("checkpoint", self.run_id)
        if found is None:
            return False
        step, blob = found
        try:
            restore_session(self._built_session(), blob)
        except CheckpointError as err:
            self.notice = f"{err}"
            self._store_call("drop_points_after", self.run_id, 0)
            return False
        self._store_call("drop_points_after", self.run_id, step)
        self._flushed["points"] = self._flushed["checkpoint"] = step
        self._evaluated = step
        self.notice = f"Reopened from its checkpoint at step {step:,}."
        return True

    def _save(self, *, force: bool) -> None:
        """Write new curve points (every `FLUSH_SECONDS`) and a checkpoint (every
        `CHECKPOINT_SECONDS`, or now when `force` and the run moved since the last one); when
        `force`, the run's status too, even when it has not moved since its last checkpoint
        (a run paused or closed just after one)."""
        session, now = self.session, time.monotonic()
        if session is None or self._store is None:
            return
        moved = session.step_count != self._flushed["checkpoint"]
        if moved and (force or now - self._flushed["time"] >= FLUSH_SECONDS):
            self._flush_points(session)
            self._flushed["time"] = now
        if moved and (force or now - self._flushed["saved_at"] >= CHECKPOINT_SECONDS):
            self._checkpoint(session)
        elif force and self._flushed["status"] != self._status():
            status = self._status()
            self._store_call("update", self.run_id, status=status)
            if self.store_problem is None:
                self._flushed["status"] = status

    def _status(self) -> str:
        """The run's status as the store keeps it."""
        return "failed" if self.error else "running" if self.playing else "paused"

    def _flush_points(self, session: Session) -> None:
        from ..store import CurvePoint

        with self._lock:
            start, points = self._flushed["points"], []
            for name, rec in session.records.items():
                tests = dict(zip(rec.test_accuracy.steps, rec.test_accuracy.values))
                for step, loss, acc in zip(rec.loss.steps, rec.loss.values, rec.accuracy.values):
                    if step > start:
                        points.append(CurvePoint(name, step, loss, acc,
                                                 tests.get(step, math.nan), rec.step_seconds))
            step = session.step_count
        if self._store_call("add_points", self.run_id, points) is not None or not points:
            self._flushed["points"] = step

    def _checkpoint(self, session: Session) -> None:
        from ..checkpoint import save_session

        with self._lock:
            step = session.step_count
            blob = save_session(session)
            metrics = {name: {"loss": rec.loss.last(), "accuracy": rec.accuracy.last(),
                              "test_accuracy": rec.test_accuracy.last(), "status": rec.status}
                       for name, rec in session.records.items()}
        self._flush_points(session)
        if self._store_call("save_checkpoint", self.run_id, step, blob) is None and \
                self.store_problem is not None:
            return
        status = self._status()
        self._store_call("update", self.run_id, status=status, step=step,
                         metrics=json_ready(metrics))
        if self.store_problem is None:
            self._flushed["status"] = status
        self._flushed["checkpoint"], self._flushed["saved_at"] = step, time.monotonic()
