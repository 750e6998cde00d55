r"""Depth x width sweeps on the run service, recorded in the run store and resumable.

A sweep is one store run of kind `"sweep"` (its config: depths, widths, seeds, the model /
rule / train configurations, the steps per cell) and one run of kind `"cell"` per
(depth, width, seed). Both ids are derived from the configuration,

$$\text{sweep id} = \mathrm{sha1}(\text{canonical JSON of the spec}),\qquad
  \text{cell id} = \mathrm{sha1}(\text{sweep id}, L, N, \text{seed}),$$

so running the same sweep again finds the same runs: the cells already `finished` in the store
are yielded from it (marked `skipped`), and only the others are trained. The seeds of one
(depth, width) train as one batched computation (`pcviz._cells.train_cell`), one task on the
run service (`pcviz.service.submit`, one CPU; a task whose worker dies runs again elsewhere).
Each cell is written to the store (curves, final metrics) as soon as its task ends; a task that
raises marks its cells `failed` with the message, and the sweep goes on.

No streamlit, no printing: the command line and the sweep page iterate `run_sweep`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from ._cells import train_cell
from .config import ModelConfig, RuleConfig, TrainConfig, to_dict, with_changes
from .data import load_dataset

__all__ = ["CellResult", "SweepPlan", "SweepSpec", "SweepState", "cell_id", "cost", "grids",
           "plan_sweep", "run_sweep", "spec_from_config", "sweep_id", "sweep_state",
           "time_left", "train_cells"]

_LOG = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
"""How often a running sweep touches its store run (so that others see it is alive)."""


class SweepSpec(NamedTuple):
    """Everything that decides a sweep's results. `max_steps`: training steps per cell
    (`None`: `train.epochs` epochs)."""

    depths: tuple[int, ...]
    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    max_steps: int | None
    model: ModelConfig
    rule: RuleConfig
    train: TrainConfig

    def cells(self) -> list[tuple[int, int, int]]:
        """Every (depth, width, seed), depth-major."""
        return list(itertools.product(self.depths, self.widths, self.seeds))

    def config(self) -> dict[str, Any]:
        """The spec as a JSON-ready dict (the sweep run's config)."""
        return {"depths": list(self.depths), "widths": list(self.widths),
                "seeds": list(self.seeds), "max_steps": self.max_steps,
                "model": to_dict(self.model), "rule": to_dict(self.rule),
                "train": to_dict(self.train)}


def spec_from_config(config: dict[str, Any]) -> SweepSpec:
    """The inverse of `SweepSpec.config` (`ValueError` on a malformed configuration)."""
    try:
        train = dict(config["train"], rules=tuple(config["train"]["rules"]))
        return SweepSpec(tuple(config["depths"]), tuple(config["widths"]),
                         tuple(config["seeds"]), config.get("max_steps"),
                         ModelConfig(**config["model"]), RuleConfig(**config["rule"]),
                         TrainConfig(**train))
    except (KeyError, TypeError) as err:
        raise ValueError(f"not a sweep configuration ({err})") from None


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()[:20]


def sweep_id(spec: SweepSpec) -> str:
    """The sweep's run id: a digest of its canonical configuration."""
    return "sweep-" + _digest(spec.config())


def cell_id(sweep: str, depth: int, width: int, seed: int) -> str:
    """A cell's run id: a digest of its sweep's id and its coordinates."""
    return "cell-" + _digest([sweep, int(depth), int(width), int(seed)])


class CellResult(NamedTuple):
    """One cell: test `accuracy` and `status` per rule (`"ok"`, `"diverged at step k"`), wall
    `seconds` (of the batched task that trained it with its sibling seeds), its `run_id`, its
    store `state` (`"finished"` or `"failed"`), `error` (the failure's message, or which rules
    diverged), and `skipped` (read from the store, not computed now)."""

    depth: int
    width: int
    seed: int
    accuracy: dict[str, float]
    status: dict[str, str]
    seconds: float
    run_id: str = ""
    state: str = "finished"
    error: str | None = None
    skipped: bool = False


class SweepPlan(NamedTuple):
    """A sweep about to run: its `sweep_id`, `spec`, the cells already finished (`done`) and
    the (depth, width, seed) still to train (`todo`)."""

    sweep_id: str
    spec: SweepSpec
    done: tuple[CellResult, ...]
    todo: tuple[tuple[int, int, int], ...]


def _from_record(record) -> CellResult:
    cfg, metrics = record.config, record.metrics or {}
    accuracy = {r: (math.nan if a is None else float(a))
                for r, a in (metrics.get("accuracy") or {}).items()}
    return CellResult(int(cfg["depth"]), int(cfg["width"]), int(cfg["seed"]), accuracy,
                      dict(metrics.get("status") or {}), float(metrics.get("seconds") or 0.0),
                      record.run_id, record.status, record.error or None)


def _cell_records(store, sweep: str, count: int) -> list:
    return store.runs(kind="cell", parent=sweep, limit=max(200, 2 * count))


def plan_sweep(spec: SweepSpec, *, store) -> SweepPlan:
    """Record the sweep in `store` (idempotent) and find which of its cells are finished."""
    sid = store.new_run(kind="sweep", config=spec.config(), run_id=sweep_id(spec),
                        label=f"sweep {len(spec.cells())} cells")
    finished = {r.run_id: r for r in _cell_records(store, sid, len(spec.cells()))
                if r.status == "finished"}
    done, todo = [], []
    for d, w, s in spec.cells():
        record = finished.get(cell_id(sid, d, w, s))
        if record is not None:
            done.append(_from_record(record)._replace(skipped=True))
        else:
            todo.append((d, w, s))
    return SweepPlan(sid, spec, tuple(done), tuple(todo))


class SweepState(NamedTuple):
    """A sweep as the store knows it: `spec`, its run's `status`, every cell recorded
    (finished or failed, in grid order), and `updated` (the run's last change)."""

    sweep_id: str
    spec: SweepSpec
    status: str
    cells: list[CellResult]
    updated: Any


def sweep_state(store, sweep: str) -> SweepState | None:
    """What the store holds of the sweep `sweep` (None when it has no such sweep)."""
    record = store.get(sweep)
    if record is None or record.kind != "sweep":
        return None
    spec = spec_from_config(record.config)
    order = {c: i for i, c in enumerate(spec.cells())}
    cells = [_from_record(r) for r in _cell_records(store, sweep, len(order))
             if r.status in ("finished", "failed")]
    cells = sorted((c for c in cells if (c.depth, c.width, c.seed) in order),
                   key=lambda c: order[(c.depth, c.width, c.seed)])
    return SweepState(sweep, spec, record.status, cells, record.updated)


# ------------------------------------------------------------------------------ the task


def _steps_per_cell(spec: SweepSpec, data) -> int:
    total = (data.num_train // spec.train.batch_size) * spec.train.epochs
    return min(total, spec.max_steps) if spec.max_steps else total


def train_cells(spec: SweepSpec, depth: int, width: int, seeds: Sequence[int], *,
                store_url: str | None = None, run_ids: Sequence[str] = ()) -> list[dict]:
    """The service task of one (depth, width): train its `seeds` batched.

    Marks its cells' runs with this worker (`worker_pid`, `host`) when `store_url` is given
    (best effort), so that a sweep's runs say where each cell runs.

    **Returns:** per seed a dict of `SeedResult`'s fields plus `worker_pid` and `host`.
    """
    where = {"worker_pid": os.getpid(), "host": socket.gethostname()}
    if store_url is not None and run_ids:
        try:
            from .store import open_store

            store = open_store(store_url)
            for rid in run_ids:
                store.update(rid, status="running", metrics=where)
        except Exception as err:  # noqa: BLE001 - the driver records the results
            _LOG.warning("pcviz: could not mark the sweep cells %s as running here: %s",
                         ", ".join(run_ids), err)
    data = load_dataset(spec.train.dataset, seed=spec.train.seed)
    results = train_cell(with_changes(spec.model, depth=depth, width=width), spec.rule,
                         spec.train, seeds=seeds, steps=_steps_per_cell(spec, data),
                         dataset=data)
    return [{**r._asdict(), **where} for r in results]


def _record_cell(store, rid: str, depth: int, width: int, out: dict) -> CellResult:
    from .store import CurvePoint

    rules, steps = list(out["status"]), int(out["steps"])
    per_step = out["seconds"] / max(steps, 1)
    points = [CurvePoint(r, k + 1, float(out["loss"][r][k]), float(out["train_accuracy"][r][k]),
                         out["accuracy"][r] if k == steps - 1 else math.nan, per_step)
              for r in rules for k in range(steps)]
    store.add_points(rid, points)
    diverged = [f"{r} {s}" for r, s in out["status"].items() if s != "ok"]
    error = "; ".join(diverged) or None
    metrics = {"accuracy": {r: (None if math.isnan(a) else a) for r, a in out["accuracy"].items()},
               "status": out["status"], "seconds": out["seconds"], "eta": out["eta"],
               "steps": steps, "worker_pid": out["worker_pid"], "host": out["host"]}
    store.update(rid, status="finished", step=steps, metrics=metrics, error=error or "")
    return CellResult(depth, width, out["seed"], dict(out["accuracy"]), dict(out["status"]),
                      out["seconds"], rid, "finished", error)


def _record_failure(store, rid: str, cell: tuple[int, int, int], err: BaseException,
                    rules: Sequence[str]) -> CellResult:
    message = str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}"
    store.update(rid, status="failed", error=message)
    d, w, s = cell
    return CellResult(d, w, s, {r: math.nan for r in rules}, {r: "failed" for r in rules},
                      0.0, rid, "failed", message)


def _groups(todo: Sequence[tuple[int, int, int]]) -> list[tuple[int, int, list[int]]]:
    """Cells of the same shape, in order: `(depth, width, seeds)`."""
    out: dict[tuple[int, int], list[int]] = {}
    for d, w, s in todo:
        out.setdefault((d, w), []).append(s)
    return [(d, w, seeds) for (d, w), seeds in out.items()]


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


def _submit(store, plan: SweepPlan, group: tuple[int, int, list[int]], store_url):
    """Create the runs of one (depth, width)'s cells and submit their task."""
    from . import service

    (d, w, seeds), sid, spec = group, plan.sweep_id, plan.spec
    ids = [cell_id(sid, d, w, s) for s in seeds]
    for s, rid in zip(seeds, ids):
        config = {"sweep": sid, "depth": d, "width": w, "seed": s, "max_steps": spec.max_steps,
                  "model": to_dict(with_changes(spec.model, depth=d, width=w)),
                  "rule": to_dict(spec.rule), "train": to_dict(with_changes(spec.train, seed=s))}
        store.new_run(kind="cell", parent=sid, run_id=rid, label=f"L={d} N={w} seed={s}",
                      config=config)
        store.update(rid, status="running")
    job = service.submit(train_cells, spec, d, w, seeds, store_url=store_url, run_ids=ids,
                         label=f"sweep cell L={d} N={w}")
    return job, (d, w, seeds, ids)


def _collect(store, job, task, rules: Sequence[str]) -> list[CellResult]:
    """Record the cells of an ended task: its results, or its failure for each cell."""
    d, w, seeds, ids = task
    try:
        outs = job.result()
        return [_record_cell(store, rid, d, w, out) for out, rid in zip(outs, ids)]
    except Exception as err:  # noqa: BLE001 - recorded as the cells' failure
        return [_record_failure(store, rid, (d, w, s), err, rules) for s, rid in zip(seeds, ids)]


def run_sweep(
    plan: SweepPlan,
    *,
    store,
    store_url: str | None = None,
    workers: int | None = None,
    max_cells: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    poll: float = 0.25,
) -> Iterator[CellResult]:
    """Run a planned sweep on the service and yield every cell as it is known.

    The cells already finished (`plan.done`, `skipped=True`) come first; then each (depth,
    width) with its unfinished seeds is one task, at most `workers` tasks at once (default:
    the cluster's CPUs), and its cells are recorded and yielded as soon as it ends. Stopping
    (`should_stop()` true, checked every `poll` seconds, or closing the generator) cancels
    the tasks still running; their cells stay unfinished, to run on the next call.

    **Arguments:**

    - `plan`: from `plan_sweep`. `store`: the open store it was planned in; `store_url`:
      the same store's address for the workers to mark their cells (optional).
    - `workers`, `max_cells` (train at most this many cells now), `should_stop`, `poll`.

    **Returns:** an iterator of `CellResult`.
    """
    from . import service

    yield from plan.done
    todo = plan.todo[:max_cells] if max_cells is not None else plan.todo
    if not todo:
        _finish(store, plan, stopped=max_cells is not None)
        return
    service.ensure()
    cap = max(1, workers or service.status().cpus or 1)
    queue, pending, stopped, beat = _groups(todo), {}, False, time.monotonic()
    store.update(plan.sweep_id, status="running")
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
        for job, (_, _, _, ids) in pending.items():
            job.cancel()
            for rid in ids:
                store.update(rid, status="interrupted")
        _finish(store, plan, stopped=stopped or bool(pending) or max_cells is not None)


# --------------------------------------------------------------------------- aggregation


def grids(spec: SweepSpec, cells: Sequence[CellResult]) -> dict[str, np.ndarray]:
    r"""Rule -> `(len(depths), len(widths))` test accuracy, the mean over seeds of the
    finite values, $\bar a_{LN} = \frac1{|S|}\sum_{s \in S} a_{LNs}$; NaN where no seed has
    one (not run, diverged or failed)."""
    out = {}
    for rule in spec.train.rules:
        total = np.zeros((len(spec.depths), len(spec.widths)))
        count = np.zeros_like(total)
        for c in cells:
            value = c.accuracy.get(rule, math.nan)
            if c.depth in spec.depths and c.width in spec.widths and np.isfinite(value):
                i, j = spec.depths.index(c.depth), spec.widths.index(c.width)
                total[i, j] += value
                count[i, j] += 1
        with np.errstate(invalid="ignore"):
            out[rule] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out


def cost(spec: SweepSpec, cell: tuple[int, int, int]) -> float:
    """Relative cost of a cell for the time estimate: a fixed compile share plus the
    inference work, which grows as $L \\cdot T \\cdot \\max(N, 16)$."""
    depth, width, _ = cell
    return 1.0 + depth * spec.rule.inference_steps(depth) * max(width, 16) / 2e5


def time_left(spec: SweepSpec, *, computed: Sequence[tuple[int, int, int]],
              remaining: Sequence[tuple[int, int, int]], elapsed: float) -> float:
    """Seconds left: `elapsed` (spent computing the cells `computed`) extrapolated to the
    cells `remaining` by their share of `cost`; NaN before the first computed cell."""
    spent = sum(cost(spec, c) for c in computed)
    return elapsed / spent * sum(cost(spec, c) for c in remaining) if spent > 0 else math.nan
