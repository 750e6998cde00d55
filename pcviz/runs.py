"""Whole experiments built from sessions and rules: a one-batch probe and a depth x width sweep.

Both are plain functions (no printing, no streamlit) shared by the command line and the pages.
"""

from __future__ import annotations

import itertools
import time
from typing import Callable, Iterator, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .budget import check_budget
from .analysis import FrontFit, arrival_steps, fit_front
from .config import INFERENCE_RULES, ModelConfig, RuleConfig, TrainConfig, with_changes
from .data import Dataset, fixed_batch, load_dataset
from .model import ResidualMLP, init_model
from .rules import Telemetry, auto_eta, weight_grads
from .train import Session


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
    x = jnp.asarray(x)
    eta = float(auto_eta(model, x)) if rule.eta == "auto" else float(rule.eta)
    telemetry, arrivals, fits = {}, {}, {}
    for name in (r for r in rules if r in INFERENCE_RULES):
        cfg = with_changes(rule, rule=name, eta=eta, record=True)
        _, tel = weight_grads(model, x, jnp.asarray(labels), cfg)
        tel = Telemetry(*(np.asarray(a) for a in jax.device_get(tel)))
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


class SweepCell(NamedTuple):
    """One trained grid cell: test `accuracy` and `status` per rule, and wall `seconds`."""

    depth: int
    width: int
    seed: int
    accuracy: dict[str, float]
    status: dict[str, str]
    seconds: float


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
