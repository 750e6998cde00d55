"""Running a sweep: its cells as tasks on the run service, each recorded in the run store as
soon as its task ends, resumable from the store.

A sweep is one store run of kind `"sweep"` and one run of kind `"cell"` per (depth, width,
setting, seed). The cells already `finished` in the store are yielded from it (marked
`skipped`), and only the others are trained. All the unfinished cells of one (depth, width),
every seed and every point of the hyperparameter grid, are one task
(`pcviz._cells.train_cell`, one batched computation with every rule; one CPU on the run
service; a task whose worker dies runs again elsewhere). A task that raises marks its cells
`failed` with the message, and the sweep goes on.

While it runs, the sweep's run says which process drives it (`metrics["driver"]`: host and
process id) and is touched every `HEARTBEAT_SECONDS`; `orphaned_sweeps` finds the sweeps left
`running` by a driver that went away (a server restarted), to resume them.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from .._cells import Setting, train_cell
from .._json import json_ready
from ..config import to_dict, with_changes
from ..data import load_dataset
from ._grids import cost
from ._spec import CellKey, SweepCell, SweepSpec, cell_id, spec_from_config, sweep_id

if TYPE_CHECKING:
    from ..service import Job

_Task = tuple[list[CellKey], list[str]]
"""What a submitted task of cells is recorded against: the cells' keys and their run ids."""

__all__ = ["HEARTBEAT_SECONDS", "SweepPlan", "SweepState", "orphaned_sweeps", "plan_sweep",
           "run_sweep", "sweep_state", "train_cells"]

_LOG = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
"""How often a running sweep touches its store run (so that others see it is alive)."""


class SweepPlan(NamedTuple):
    """A sweep about to run: its `sweep_id`, `spec`, the cells already finished (`done`) and
    the cells still to train (`todo`)."""

    sweep_id: str
    spec: SweepSpec
    done: tuple[SweepCell, ...]
    todo: tuple[CellKey, ...]


def _setting(config: dict) -> Setting:
    return Setting(*config["setting"]) if config.get("setting") else Setting()


def _from_record(record) -> SweepCell:
    cfg, metrics = record.config, record.metrics or {}
    accuracy = {r: (math.nan if a is None else float(a))
                for r, a in (metrics.get("accuracy") or {}).items()}
    return SweepCell(int(cfg["depth"]), int(cfg["width"]), int(cfg["seed"]), accuracy,
                     dict(metrics.get("status") or {}), float(metrics.get("seconds") or 0.0),
                     record.run_id, record.status, record.error or None, False, _setting(cfg))


def _cell_records(store, sweep: str, count: int) -> list:
    return store.runs(kind="cell", parent=sweep, limit=max(200, 2 * count))


def plan_sweep(spec: SweepSpec, *, store) -> SweepPlan:
    """Record the sweep in `store` (idempotent) and find which of its cells are finished."""
    sid = store.new_run(kind="sweep", config=spec.config(), run_id=sweep_id(spec),
                        label=f"sweep {len(spec.cells())} cells")
    finished = {r.run_id: r for r in _cell_records(store, sid, len(spec.cells()))
                if r.status == "finished"}
    done, todo = [], []
    for key in spec.cells():
        record = finished.get(cell_id(sid, *key))
        if record is not None:
            done.append(_from_record(record)._replace(skipped=True))
        else:
            todo.append(key)
    return SweepPlan(sid, spec, tuple(done), tuple(todo))


class SweepState(NamedTuple):
    """A sweep as the store knows it: `spec`, its run's `status`, every cell recorded
    (finished or failed, in grid order), `updated` (the run's last change, Unix seconds) and
    `driver` (the process that last ran it: `{"host", "pid"}`, or `{}`)."""

    sweep_id: str
    spec: SweepSpec
    status: str
    cells: list[SweepCell]
    updated: Any
    driver: dict


def _state_of(store, record) -> SweepState:
    spec = spec_from_config(record.config)
    order = {c: i for i, c in enumerate(spec.cells())}
    cells = [_from_record(r) for r in _cell_records(store, record.run_id, len(order))
             if r.status in ("finished", "failed")]
    cells = sorted((c for c in cells if c.key in order), key=lambda c: order[c.key])
    driver = (record.metrics or {}).get("driver") or {}
    return SweepState(record.run_id, spec, record.status, cells, record.updated, driver)


def sweep_state(store, sweep: str) -> SweepState | None:
    """What the store holds of the sweep `sweep` (None when it has no such sweep)."""
    record = store.get(sweep)
    if record is None or record.kind != "sweep":
        return None
    return _state_of(store, record)


def _driver() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _process_gone(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (OSError, TypeError, ValueError):  # not ours to signal, or no pid: not known gone
        return False
    return False


def orphaned_sweeps(store, *, stale_after: float, now: float | None = None) -> list[SweepState]:
    """The sweeps that the store says are `running` but whose driver is gone: a process of
    this host that no longer exists (a server that was restarted), or any driver that has not
    touched the sweep for `stale_after` seconds (one elsewhere that stopped beating). A sweep
    its user stopped is `interrupted`, not `running`, and is left alone."""
    now = time.time() if now is None else now
    host, out = socket.gethostname(), []
    for record in store.runs(kind="sweep", status="running", limit=1000):
        driver = (record.metrics or {}).get("driver") or {}
        here_and_gone = (driver.get("host") == host and driver.get("pid") != os.getpid()
                         and _process_gone(driver.get("pid")))
        if here_and_gone or now - float(record.updated) >= stale_after:
            try:
                out.append(_state_of(store, record))
            except ValueError as err:
                _LOG.warning("pcviz: sweep %s cannot be resumed: %s", record.run_id, err)
    return out


# ------------------------------------------------------------------------------ the task


def _steps_per_cell(spec: SweepSpec, data) -> int:
    total = (data.num_train // spec.train.batch_size) * spec.train.epochs
    return min(total, spec.max_steps) if spec.max_steps else total


def train_cells(spec: SweepSpec, depth: int, width: int, cells: Sequence[tuple[int, Setting]],
                *, store_url: str | None = None, run_ids: Sequence[str] = ()) -> list[dict]:
    """The service task of one (depth, width): train its `cells` (`(seed, setting)` pairs) as
    one batched computation (every seed with every setting asked for; the cells asked for
    are returned).

    Marks its cells' runs with this worker (`worker_pid`, `host`) when `store_url` is given
    (best effort), so that a sweep's runs say where each cell runs.

    **Returns:** per cell, in the order of `cells`, a dict of `SeedResult`'s fields plus
    `worker_pid` and `host`.
    """
    where = {"worker_pid": os.getpid(), "host": socket.gethostname()}
    if store_url is not None and run_ids:
        try:
            from ..store import open_store

            store = open_store(store_url)
            for rid in run_ids:
                store.update(rid, status="running", metrics=where)
        except Exception as err:  # the driver records the results
            _LOG.warning("pcviz: could not mark the sweep cells %s as running here: %s",
                         ", ".join(run_ids), err)
    data = load_dataset(spec.train.dataset, seed=spec.train.seed)
    seeds = list(dict.fromkeys(int(s) for s, _ in cells))
    settings = list(dict.fromkeys(Setting(*g) for _, g in cells))
    results = train_cell(with_changes(spec.model, depth=depth, width=width), spec.rule,
                         spec.train, seeds=seeds, steps=_steps_per_cell(spec, data),
                         dataset=data, settings=settings)
    by_cell = {(r.seed, r.setting): r for r in results}
    return [{**by_cell[(int(s), Setting(*g))]._asdict(), **where} for s, g in cells]


def _record_cell(store, rid: str, key: CellKey, out: dict) -> SweepCell:
    from ..store import CurvePoint

    rules, steps = list(out["status"]), int(out["steps"])
    per_step = out["seconds"] / max(steps, 1)
    points = [CurvePoint(r, k + 1, float(out["loss"][r][k]), float(out["train_accuracy"][r][k]),
                         out["accuracy"][r] if k == steps - 1 else math.nan, per_step)
              for r in rules for k in range(steps)]
    store.add_points(rid, points)
    diverged = [f"{r} {s}" for r, s in out["status"].items() if s != "ok"]
    error = "; ".join(diverged) or None
    metrics = {"accuracy": json_ready(out["accuracy"]),
               "status": out["status"], "seconds": out["seconds"], "eta": out["eta"],
               "alpha": out["alpha"], "learning_rate": out["learning_rate"], "steps": steps,
               "worker_pid": out["worker_pid"], "host": out["host"]}
    store.update(rid, status="finished", step=steps, metrics=metrics, error=error or "")
    return SweepCell(key.depth, key.width, key.seed, dict(out["accuracy"]), dict(out["status"]),
                     out["seconds"], rid, "finished", error, False, key.setting)


def _record_failure(store, rid: str, key: CellKey, err: BaseException,
                    rules: Sequence[str]) -> SweepCell:
    message = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
    store.update(rid, status="failed", error=message)
    return SweepCell(key.depth, key.width, key.seed, dict.fromkeys(rules, math.nan),
                     dict.fromkeys(rules, "failed"), 0.0, rid, "failed", message, False,
                     key.setting)


def _groups(spec: SweepSpec,
            todo: Sequence[CellKey]) -> list[tuple[int, int, list[CellKey]]]:
    """Cells of the same shape, `(depth, width, cells)`, the costliest shape first (`cost`):
    of tasks on a few workers, the longest first end soonest together."""
    out: dict[tuple[int, int], list[CellKey]] = {}
    for key in todo:
        out.setdefault((key.depth, key.width), []).append(key)
    groups = [(d, w, keys) for (d, w), keys in out.items()]
    return sorted(groups, key=lambda g: -sum(cost(spec, k) for k in g[2]))


def _finish(store, plan: SweepPlan, *, stopped: bool) -> None:
    states = {r.run_id: r for r in _cell_records(store, plan.sweep_id, len(plan.spec.cells()))}
    ids = [cell_id(plan.sweep_id, *c) for c in plan.spec.cells()]
    finished = sum(states[i].status == "finished" for i in ids if i in states)
    failed = [states[i] for i in ids if i in states and states[i].status == "failed"]
    metrics = {"cells": len(ids), "finished": finished, "failed": len(failed)}
    if finished == len(ids):
        store.update(plan.sweep_id, status="finished", step=finished, metrics=metrics)
    elif stopped or not failed:
        store.update(plan.sweep_id, status="interrupted", step=finished, metrics=metrics)
    else:
        store.update(plan.sweep_id, status="failed", step=finished, metrics=metrics,
                     error=f"{len(failed)} of {len(ids)} cells failed: {failed[0].error}")


def _cell_config(plan: SweepPlan, key: CellKey) -> dict:
    spec = plan.spec
    rule, train = key.setting.apply(spec.rule, with_changes(spec.train, seed=key.seed))
    config = {"sweep": plan.sweep_id, "depth": key.depth, "width": key.width, "seed": key.seed,
              "max_steps": spec.max_steps,
              "model": to_dict(with_changes(spec.model, depth=key.depth, width=key.width)),
              "rule": to_dict(rule), "train": to_dict(train)}
    if key.setting != Setting():
        config["setting"] = list(key.setting)
    return config


def _label(key: CellKey) -> str:
    text = f"L={key.depth} N={key.width} seed={key.seed}"
    names = ("eta", "alpha", "lr")
    return text + "".join(f" {n}={v}" for n, v in zip(names, key.setting) if v is not None)


def _submit(store, plan: SweepPlan, group: tuple[int, int, list[CellKey]],
            store_url) -> tuple[Job, _Task]:
    """Create the runs of one (depth, width)'s cells and submit their task."""
    from .. import service

    d, w, keys = group
    ids = [cell_id(plan.sweep_id, *key) for key in keys]
    for key, rid in zip(keys, ids):
        store.new_run(kind="cell", parent=plan.sweep_id, run_id=rid, label=_label(key),
                      config=_cell_config(plan, key))
        store.update(rid, status="running")
    cells = [(key.seed, tuple(key.setting)) for key in keys]
    job = service.submit(train_cells, plan.spec, d, w, cells, store_url=store_url,
                         run_ids=ids, label=f"sweep cell L={d} N={w}")
    return job, (keys, ids)


def _collect(store, job: Job, task: _Task, rules: Sequence[str]) -> list[SweepCell]:
    """Record the cells of an ended task: its results, or its failure for each cell."""
    keys, ids = task
    try:
        outs = job.result()
        return [_record_cell(store, rid, key, out) for out, key, rid in zip(outs, keys, ids)]
    except Exception as err:  # recorded as the cells' failure
        return [_record_failure(store, rid, key, err, rules) for key, rid in zip(keys, ids)]


def run_sweep(
    plan: SweepPlan,
    *,
    store,
    store_url: str | None = None,
    workers: int | None = None,
    max_cells: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    poll: float = 0.25,
) -> Iterator[SweepCell]:
    """Run a planned sweep on the service and yield every cell as it is known.

    The cells already finished (`plan.done`, `skipped=True`) come first; then each (depth,
    width) with its unfinished cells is one task, the costliest first, at most `workers`
    tasks at once (default: the cluster's CPUs), and its cells are recorded and yielded as
    soon as it ends. Stopping
    (`should_stop()` true, checked every `poll` seconds, or closing the generator) cancels
    the tasks still running; their cells stay unfinished, to run on the next call.

    **Arguments:**

    - `plan`: from `plan_sweep`. `store`: the open store it was planned in; `store_url`:
      the same store's address for the workers to mark their cells (optional).
    - `workers`, `max_cells` (train at most this many cells now), `should_stop`, `poll`.

    **Returns:** an iterator of `SweepCell`.
    """
    from .. import service

    yield from plan.done
    todo = plan.todo[:max_cells] if max_cells is not None else plan.todo
    if not todo:
        _finish(store, plan, stopped=max_cells is not None)
        return
    service.ensure()
    cap = max(1, workers or service.status().cpus or 1)
    queue, stopped, beat = _groups(plan.spec, todo), False, time.monotonic()
    pending: dict[Job, _Task] = {}
    store.update(plan.sweep_id, status="running", metrics={"driver": _driver()})
    try:
        while queue or pending:
            if should_stop():
                stopped = True
                return
            while queue and len(pending) < cap:
                job, task = _submit(store, plan, queue.pop(0), store_url)
                pending[job] = task
            ready = [job for job in pending if job.done()]
            if ready:  # every cell of the ended tasks is recorded before any is yielded
                cells = [c for job in ready
                         for c in _collect(store, job, pending.pop(job), plan.spec.train.rules)]
                yield from cells
                continue
            if time.monotonic() - beat > HEARTBEAT_SECONDS:
                store.update(plan.sweep_id, status="running")
                beat = time.monotonic()
            time.sleep(poll)
    finally:
        for job, (_, ids) in pending.items():
            job.cancel()
            for rid in ids:
                store.update(rid, status="interrupted")
        _finish(store, plan, stopped=stopped or bool(pending) or max_cells is not None)
