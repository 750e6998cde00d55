"""Whole experiments built from sessions and rules: a one-batch probe and a depth x width sweep,
and how a session's or a probe's results are written to the run store.

Plain functions (no printing, no streamlit) shared by the command line and the pages. The
sweep that runs on the service and resumes from the store is `pcviz.sweeps`; `sweep` here is
the same grid in this process, one cell after another, yielding the same `SweepCell`s;
`train_cell` trains the seeds of one cell as one batched computation.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._cells import SeedResult, train_cell
from ._json import json_ready
from .analysis import FrontFit, arrival_steps, fit_front
from .budget import check_budget
from .config import (
    INFERENCE_RULES,
    ModelConfig,
    RuleConfig,
    TrainConfig,
    to_dict,
    with_changes,
)
from .data import Dataset, fixed_batch, load_dataset
from .model import ResidualMLP, init_model
from .rules import Telemetry, resolve_eta, weight_grads
from .sweeps import SweepCell
from .train import Session

__all__ = ["ProbeResult", "SeedResult", "SweepCell", "probe", "probe_model", "record_probe",
           "record_session", "session_points", "sweep", "train_cell"]


class ProbeResult(NamedTuple):
    """One batch, one inference run per rule.

    **Fields:** `eta` (the activity step used), `steps` ($T$), and per inference rule its
    `telemetry` (numpy `Telemetry`), `arrivals` `(L-1,)` (first step whose credit reaches half
    the BP adjoint, -1 never) and `fits` (`FrontFit` of arrival against distance).
    """

    eta: float
    steps: int
    telemetry: dict[str, Telemetry]
    arrivals: dict[str, np.ndarray]
    fits: dict[str, FrontFit]


def probe_model(
    model: ResidualMLP,
    x: np.ndarray,
    labels: np.ndarray,
    rule: RuleConfig,
    rules: Sequence[str],
) -> ProbeResult:
    """Run inference once per rule in `rules` (inference rules only) on the batch `(x, labels)`
    from the weights `model`, sharing one activity step (`rule.eta`, or auto on this batch)."""
    batch = jnp.asarray(x)
    eta = resolve_eta(rule.eta, model, batch)
    telemetry, arrivals, fits = {}, {}, {}
    for name in (r for r in rules if r in INFERENCE_RULES):
        cfg = with_changes(rule, rule=name, eta=eta, record=True)
        _, on_device = weight_grads(model, batch, jnp.asarray(labels), cfg)
        tel = jax.tree.map(np.asarray, jax.device_get(on_device))  # a Telemetry of NumPy arrays
        telemetry[name] = tel
        arrivals[name] = arrival_steps(tel.credit, tel.bp_adjoint)
        fits[name] = fit_front(arrivals[name])
    return ProbeResult(eta, rule.inference_steps(model.depth), telemetry, arrivals, fits)


def probe(
    model: ModelConfig,
    rule: RuleConfig,
    train: TrainConfig,
    *,
    dataset: Dataset | None = None,
) -> ProbeResult:
    """The telemetry of one batch at initialisation (`PRNGKey(train.seed)`), per rule in
    `train.rules`, on the fixed probe batch of `train.dataset`."""
    data = dataset if dataset is not None else load_dataset(train.dataset, seed=train.seed)
    model = with_changes(model, input_dim=int(data.x_train.shape[1]), output_dim=data.num_classes)
    check_budget(model, rule, with_changes(train, rules=tuple(
        r for r in train.rules if r in INFERENCE_RULES) or ("bp",)))
    x, labels = fixed_batch(data, min(train.batch_size, data.num_test), seed=train.seed)
    weights = init_model(model, jax.random.PRNGKey(train.seed))
    return probe_model(weights, x, labels, rule, train.rules)


def sweep(
    depths: Sequence[int],
    widths: Sequence[int],
    model: ModelConfig,
    rule: RuleConfig,
    train: TrainConfig,
    *,
    seeds: Sequence[int] = (0,),
    max_steps: int | None = None,
    dataset: Dataset | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[SweepCell]:
    """Train every (depth, width, seed) cell with all of `train.rules` and yield each result.

    A generator, so that a caller can show progress and stop early (`should_stop`). Each cell
    runs `train.epochs` epochs, or `max_steps` batches when given. $T$ defaults to $2L$ per
    depth unless `rule.steps` is set.
    """
    data = dataset if dataset is not None else load_dataset(train.dataset, seed=train.seed)
    for depth, width, seed in itertools.product(depths, widths, seeds):
        if should_stop():
            return
        start = time.perf_counter()
        session = Session(
            with_changes(model, depth=depth, width=width),
            rule,
            with_changes(train, seed=seed),
            dataset=data,
        )
        total = session.batches.steps_per_epoch * train.epochs
        session.step(min(total, max_steps) if max_steps else total)
        accuracy = session.evaluate()
        status = {name: rec.status for name, rec in session.records.items()}
        accuracy = {k: (v if status[k] == "ok" else float("nan")) for k, v in accuracy.items()}
        yield SweepCell(depth, width, seed, accuracy, status, time.perf_counter() - start)


def session_points(session: Session) -> list:
    """A session's curves as store points: per rule and recorded step, the training loss and
    accuracy (on the batch before the update), the test accuracy where evaluated (NaN
    elsewhere) and the mean seconds per training step."""
    from .store import CurvePoint

    points = []
    for name, rec in session.records.items():
        test = dict(zip(rec.test_accuracy.steps, rec.test_accuracy.values))
        seconds = 1.0 / rec.steps_per_second if rec.steps_per_second > 0 else float("nan")
        steps = sorted(set(rec.loss.steps) | set(test))
        train = {s: (l, a) for s, l, a in zip(rec.loss.steps, rec.loss.values,
                                              rec.accuracy.values)}
        points += [CurvePoint(name, int(s), *train.get(s, (float("nan"), float("nan"))),
                              test.get(s, float("nan")), seconds) for s in steps]
    return points


def record_session(store, run_id: str, session: Session, *, metrics: dict,
                   checkpoint: bool = True) -> None:
    """Write a finished session to the store: its curves (`session_points`), its final
    `metrics` and status `finished`, and (with `checkpoint`) its weights and optimiser states
    (`pcviz.checkpoint.save_session`) at its current step."""
    store.add_points(run_id, session_points(session))
    if checkpoint:
        from .checkpoint import save_session

        store.save_checkpoint(run_id, session.step_count, save_session(session))
    store.update(run_id, status="finished", step=session.step_count, metrics=metrics)


def recorded_probe(store, model: ModelConfig, rule: RuleConfig, train: TrainConfig, *,
                   command: str) -> tuple[str, ProbeResult]:
    """`probe` recorded in `store` as a run of kind `"probe"` made by the command `command`
    (its configuration, a label `"{command} L=.. N=.."`, then `record_probe`).

    **Returns:** `(run_id, result)`. A probe that fails is recorded as failed, with its
    error, and the error raised again."""
    config = {"command": command, "model": to_dict(model), "rule": to_dict(rule),
              "train": to_dict(train)}
    run_id = store.new_run(kind="probe", config=config,
                           label=f"{command} L={model.depth} N={model.width}")
    try:
        result = probe(model, rule, train)
    except Exception as err:
        store.update(run_id, status="failed", error=f"{type(err).__name__}: {err}")
        raise
    record_probe(store, run_id, result)
    return run_id, result


def record_probe(store, run_id: str, result: ProbeResult) -> None:
    r"""Write a probe to the store: per rule and inference step $t$ the output loss
    $\ell_t$ (the energy's last column) as the `loss` curve; the activity step, $T$, the
    arrival times and front fits as metrics; status `finished`."""
    from .store import CurvePoint

    nan = float("nan")
    points = [CurvePoint(name, t + 1, float(tel.energy[t, -1]), nan, nan, nan)
              for name, tel in result.telemetry.items() for t in range(tel.energy.shape[0])]
    store.add_points(run_id, points)
    metrics = {"eta": result.eta, "inference_steps": result.steps,
               "arrivals": {n: [int(a) for a in arr] for n, arr in result.arrivals.items()},
               "fits": {n: json_ready({k: float(v) for k, v in fit._asdict().items()})
                        for n, fit in result.fits.items()}}
    store.update(run_id, status="finished", step=result.steps, metrics=metrics)
