r"""Sweep cells of one shape trained as one batched computation: a seed axis over the rule axis.

A session stacks its rules along a leading axis and steps them with one `jax.vmap`
(`pcviz._steps`). A sweep cell (depth $L$, width $N$) is trained for several seeds, and the
seeds differ only in their data: initial weights $W^{(s)}_0 \sim$ `PRNGKey(s)`, batch order
(`Batches(seed=s)`), probe batch and so the automatic activity step
$\eta^{(s)} = 1/\lambda_{\max}(A_s^\top A_s)$. `train_cell` stacks the seeds along a second,
outer axis and maps the existing rule-stacked steps over it:

$$(W, \text{opt})_{s,r} \leftarrow \text{step}_r\big((W, \text{opt})_{s,r};\ x_s, y_s,
\eta^{(s)}\big) \quad \text{for all } s, r \text{ in one compiled program,}$$

so every member sees exactly the batches, weights and step size it would see in a `Session`
of its own seed (each seed its own batch order: $x$ is mapped too), and the results equal the
per-seed sessions' to float tolerance. Telemetry is not recorded (a sweep reports accuracy).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _steps
from .config import INFERENCE_RULES, ModelConfig, RuleConfig, TrainConfig, with_changes
from .data import Batches, Dataset, fixed_batch, load_dataset
from .model import init_model
from .rules import auto_eta

__all__ = ["SeedResult", "seed_bp_step", "seed_evaluate", "seed_inference_step", "train_cell"]


@partial(jax.jit, static_argnames=("optimizer",))
def seed_bp_step(models, opt_states, active, x, y, lr, *, optimizer: str):
    """`_steps.bp_step` mapped over a leading seed axis.

    **Arguments:** `models`, `opt_states`, `active` with leading axes `(seeds, 1)`; `x`
    `(seeds, B, D)`, `y` `(seeds, B, K)`; `lr` a scalar shared by the seeds.

    **Returns:** `(models, opt_states, StepMetrics)`, each with leading axes `(seeds, 1)`.
    """
    step = partial(_steps.bp_step, optimizer=optimizer)
    return jax.vmap(step, in_axes=(0, 0, 0, 0, 0, None))(models, opt_states, active, x, y, lr)


@partial(jax.jit, static_argnames=("steps", "optimizer"))
def seed_inference_step(models, opt_states, alphas, active, x, y, eta, rho, lr, *, steps: int,
                        optimizer: str):
    """`_steps.inference_step` (telemetry off) mapped over a leading seed axis.

    **Arguments:** `models`, `opt_states`, `active` with leading axes `(seeds, rules)`;
    `alphas` `(rules,)` shared; `x` `(seeds, B, D)`, `y` `(seeds, B, K)`; `eta` `(seeds,)`,
    one activity step per seed; `rho`, `lr` shared scalars.

    **Returns:** `(models, opt_states, StepMetrics)` with leading axes `(seeds, rules)`.
    """
    step = partial(_steps.inference_step, steps=steps, record=False, optimizer=optimizer)
    models, states, metrics, _ = jax.vmap(step, in_axes=(0, 0, None, 0, 0, 0, 0, None, None))(
        models, opt_states, alphas, active, x, y, eta, rho, lr)
    return models, states, metrics


@jax.jit
def seed_evaluate(models, x, labels):
    """`_steps.evaluate` mapped over a leading seed axis (one test set for every seed).

    **Returns:** `(accuracy, mean loss)`, each `(seeds, rules)`.
    """
    return jax.vmap(_steps.evaluate, in_axes=(0, None, None))(models, x, labels)


class SeedResult(NamedTuple):
    """One seed of a trained cell.

    **Fields:** `seed`; per rule `accuracy` (test accuracy, NaN when diverged), `status`
    (`"ok"` or `"diverged at step k"`), `loss` and `train_accuracy` (`(steps,)` per training
    step, on the batch before the update; NaN from the divergence on); `eta` (the activity
    step used); `seconds` (wall time of the batched computation that trained this seed with
    its siblings, shared by them); `steps` (training steps).
    """

    seed: int
    accuracy: dict[str, float]
    status: dict[str, str]
    loss: dict[str, np.ndarray]
    train_accuracy: dict[str, np.ndarray]
    eta: float
    seconds: float
    steps: int


def _groups(rules: Sequence[str], batch_rules: bool) -> list[list[str]]:
    """The rule groups of a session (`Session._make_groups`): BP alone, the inference rules
    stacked (or each alone)."""
    inference = [r for r in rules if r in INFERENCE_RULES]
    if batch_rules and inference:
        return [["bp"]] * ("bp" in rules) + [inference]
    return [[r] for r in rules]


def _stack_seeds(initials, lr: float, members: list[str], optimizer: str):
    per_seed = [_steps.init_group(m, lr, count=len(members), optimizer=optimizer)
                for m in initials]
    return _steps.stack([p[0] for p in per_seed]), _steps.stack([p[1] for p in per_seed])


def _make_groups(initials, rule: RuleConfig, train: TrainConfig, lr: float) -> list[dict]:
    """A session's rule groups, each with a leading seed axis over its rule axis."""
    groups = []
    for members in _groups(train.rules, train.batch_rules):
        models, states = _stack_seeds(initials, lr, members, train.optimizer)
        alphas = jnp.asarray([with_changes(rule, rule=m).dual_step for m in members])
        groups.append({"rules": members, "models": models, "opt_states": states,
                       "alphas": alphas})
    return groups


def _step_groups(groups, diverged, x, y, eta, lr: float, rule: RuleConfig, steps: int,
                 optimizer: str) -> list:
    """One training step of every group on the seeds' batches `x`, `y`; the metrics."""
    lr_x, metrics = jnp.asarray(lr, x.dtype), []
    for g in groups:
        active = jnp.asarray([[diverged[r][i] is None for r in g["rules"]]
                              for i in range(x.shape[0])])
        if g["rules"] == ["bp"]:
            out = seed_bp_step(g["models"], g["opt_states"], active, x, y, lr_x,
                               optimizer=optimizer)
        else:
            out = seed_inference_step(g["models"], g["opt_states"], g["alphas"], active, x, y,
                                      eta.astype(x.dtype), jnp.asarray(rule.rho, x.dtype), lr_x,
                                      steps=steps, optimizer=optimizer)
        g["models"], g["opt_states"] = out[0], out[1]
        metrics.append(out[2])
    return metrics


def _record(groups, metrics, k: int, diverged, loss, acc) -> None:
    """Write step `k`'s host metrics into the per-rule `(seeds, steps)` histories; a rule
    whose loss or weights became non-finite is marked diverged at step `k + 1`."""
    for g, m in zip(groups, metrics):
        for j, r in enumerate(g["rules"]):
            for i in range(len(diverged[r])):
                if diverged[r][i] is not None:
                    continue
                if not bool(m.finite[i, j]):
                    diverged[r][i] = k + 1
                    continue
                loss[r][i, k], acc[r][i, k] = m.loss[i, j], m.accuracy[i, j]


def _next_batches(streams, num_classes: int):
    batch = [next(b) for b in streams]
    x = jnp.asarray(np.stack([b[0] for b in batch]))
    y = jax.nn.one_hot(jnp.asarray(np.stack([b[1] for b in batch])), num_classes, dtype=x.dtype)
    return x, y


def _test_accuracy(groups, data, max_samples: int = 10_000) -> dict[str, np.ndarray]:
    x, labels = jnp.asarray(data.x_test[:max_samples]), jnp.asarray(data.y_test[:max_samples])
    out = {}
    for g in groups:
        accuracy, _ = jax.device_get(seed_evaluate(g["models"], x, labels))
        out.update({r: accuracy[:, j] for j, r in enumerate(g["rules"])})
    return out


def train_cell(
    model: ModelConfig,
    rule: RuleConfig,
    train: TrainConfig,
    *,
    seeds: Sequence[int],
    steps: int,
    dataset: Dataset | None = None,
) -> list[SeedResult]:
    """Train every seed of one (depth, width) cell with all of `train.rules`, batched.

    Seed $s$ is the `Session(model, rule, with_changes(train, seed=s), dataset=dataset)`
    stepped `steps` times, then evaluated on the test split (at most 10,000 samples).

    **Arguments:**

    - `model`, `rule`, `train`: validated configurations (input/output sizes are taken from
      the data set; `train.seed` is unused except for loading the data).
    - `seeds`: the seeds to train, one batched member each.
    - `steps`: training steps (batches) per seed.
    - `dataset`: the loaded data (default: `train.dataset` loaded with `train.seed`).

    **Returns:** one `SeedResult` per seed, in the order of `seeds`.
    """
    data = dataset if dataset is not None else load_dataset(train.dataset, seed=train.seed)
    mcfg = with_changes(model, input_dim=int(data.x_train.shape[1]), output_dim=data.num_classes)
    lr = train.resolved_learning_rate(mcfg)
    start = time.perf_counter()
    initials = [init_model(mcfg, jax.random.PRNGKey(s)) for s in seeds]
    probe_size = min(train.batch_size, data.num_test)
    etas = [float(auto_eta(m, jnp.asarray(fixed_batch(data, probe_size, seed=s)[0])))
            if rule.eta == "auto" else float(rule.eta) for m, s in zip(initials, seeds)]
    streams = [Batches(data, train.batch_size, seed=s) for s in seeds]
    groups = _make_groups(initials, rule, train, lr)
    del initials
    loss = {r: np.full((len(seeds), steps), np.nan) for r in train.rules}
    acc = {r: np.full((len(seeds), steps), np.nan) for r in train.rules}
    diverged = {r: [None] * len(seeds) for r in train.rules}
    eta, inference_steps = jnp.asarray(etas, jnp.float32), rule.inference_steps(mcfg.depth)
    for k in range(steps):
        x, y = _next_batches(streams, data.num_classes)
        metrics = _step_groups(groups, diverged, x, y, eta, lr, rule, inference_steps,
                               train.optimizer)
        _record(groups, jax.device_get(metrics), k, diverged, loss, acc)  # one transfer
    test = _test_accuracy(groups, data)
    seconds = time.perf_counter() - start
    results = []
    for i, s in enumerate(seeds):
        status = {r: "ok" if diverged[r][i] is None else f"diverged at step {diverged[r][i]}"
                  for r in train.rules}
        accuracy = {r: float(test[r][i]) if status[r] == "ok" else math.nan for r in train.rules}
        results.append(SeedResult(int(s), accuracy, status, {r: loss[r][i] for r in train.rules},
                                  {r: acc[r][i] for r in train.rules}, etas[i], seconds, steps))
    return results
