"""Training sessions: several rules stepped in lockstep from the same weights on the same batches.

A `Session` is a plain object that a web page or the command line steps a few batches at a
time. The inference rules (PC, PC-ALM) are stacked and stepped as one batched computation
(`TrainConfig.batch_rules`) or one after another; BP is its own computation. There is one
device-to-host transfer per training step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from . import _steps
from .budget import check_budget
from .config import INFERENCE_RULES, ModelConfig, RuleConfig, TrainConfig, with_changes
from .data import Batches, Dataset, fixed_batch, load_dataset
from .model import ResidualMLP, init_model
from .rules import Telemetry, resolve_eta

HISTORY_POINTS = 2000


class History:
    """A bounded series of `(step, value)`: past `capacity` points, every other point is
    dropped, so memory stays flat while the curve keeps its shape over the whole run."""

    def __init__(self, capacity: int = HISTORY_POINTS):
        self.capacity = capacity
        self.stride = 1
        self.steps: list[int] = []
        self.values: list[float] = []

    def append(self, step: int, value: float) -> None:
        """Record `value` at `step` (kept when `step` falls on the current stride)."""
        if step % self.stride:
            return
        self.steps.append(step)
        self.values.append(value)
        if len(self.steps) > self.capacity:
            self.stride *= 2
            keep = [i for i, s in enumerate(self.steps) if s % self.stride == 0]
            self.steps = [self.steps[i] for i in keep]
            self.values = [self.values[i] for i in keep]

    def last(self) -> float:
        """The latest value (NaN when empty)."""
        return self.values[-1] if self.values else math.nan

    def recent_mean(self, points: int) -> float:
        """The mean of the latest `points` finite values (NaN when there are none): a batch's
        accuracy, averaged over the last batches, steady enough to tell rules apart."""
        recent = [v for v in self.values[-points:] if math.isfinite(v)]
        return sum(recent) / len(recent) if recent else math.nan


@dataclass
class RuleRecord:
    """What a session knows of one rule: histories, latest telemetry, timing, divergence."""

    rule: str
    loss: History = field(default_factory=History)
    accuracy: History = field(default_factory=History)
    test_accuracy: History = field(default_factory=History)
    telemetry: Telemetry | None = None
    diverged_at: int | None = None
    step_seconds: float = math.nan
    first_step_seconds: float = math.nan
    total_seconds: float = 0.0
    timed_steps: int = 0

    @property
    def status(self) -> str:
        """`"diverged at step k"` or `"ok"`."""
        return f"diverged at step {self.diverged_at}" if self.diverged_at is not None else "ok"

    @property
    def steps_per_second(self) -> float:
        """Training steps per second after the first (compiling) step."""
        return self.timed_steps / self.total_seconds if self.total_seconds > 0 else math.nan

    def timed(self, seconds: float, first: bool) -> None:
        """Record the wall time of one step."""
        self.step_seconds = seconds
        if first:
            self.first_step_seconds = seconds
        else:
            self.total_seconds += seconds
            self.timed_steps += 1


class RuleGroup(NamedTuple):
    """Rules a session steps as one computation (BP alone, or the inference rules stacked):
    their names, and their weights, optimiser states and dual steps stacked along a leading
    rule axis in that order."""

    rules: tuple[str, ...]
    models: ResidualMLP
    opt_states: Any
    alphas: Float[Array, " rules"]

    @property
    def is_bp(self) -> bool:
        """Whether this is BP's group (stepped by `jax.grad`, no inference)."""
        return self.rules == ("bp",)


class GradientComparison(NamedTuple):
    """Rule -> `(L + 1,)` per weight layer (input first), then of the whole gradient: the
    `cosine` of its weight gradient with BP's and the `norm_ratio` of their norms (rule / BP)."""

    cosine: dict[str, np.ndarray]
    norm_ratio: dict[str, np.ndarray]


class OutOfMemory(MemoryError):
    """The device ran out of memory during a training step."""


def _out_of_memory_guard(step, *args):
    """Run `step`, turning the device's out-of-memory error into a clear `OutOfMemory`."""
    try:
        return step(*args)
    except jax.errors.JaxRuntimeError as err:
        if "RESOURCE_EXHAUSTED" not in str(err) and "out of memory" not in str(err).lower():
            raise
        raise OutOfMemory(
            "The device ran out of memory during a training step. Reduce the width, the depth, "
            "the batch size or the number of rules compared, then reset the run."
        ) from None


def _new_record(rule: str, history_points: int) -> RuleRecord:
    return RuleRecord(rule, History(history_points), History(history_points),
                      History(history_points))


def _fit_to_data(model: ModelConfig, data: Dataset) -> ModelConfig:
    return with_changes(model, input_dim=int(data.x_train.shape[1]), output_dim=data.num_classes)


class Session:
    """Train the chosen rules side by side.

    **Arguments:**

    - `model`, `rule`, `train`: validated configurations. `rule` supplies $T$, $\\eta_h$,
      $\\rho$, $\\alpha$ for the inference rules (PC uses $\\alpha = 0$); the model's input and
      output sizes are taken from the dataset.
    - `dataset`: a loaded `Dataset` (default: `train.dataset` loaded with `train.seed`).

    Raises `BudgetError` (a `ValueError`, before allocating anything) when the configuration's
    estimated memory or time per step exceeds the budget of `pcviz.budget.check_budget`.

    - `history_points`: keyword-only, the points each curve keeps (`History`'s capacity).

    Every rule starts from the same weights (`PRNGKey(train.seed)`) and sees the same batches.
    What a page reads: `rules`, `record(rule)` (a `RuleRecord`), `records`, `rule_groups`,
    `groups` (`RuleGroup`s), `model(rule)`, `step_count`, `epoch`, `eta`, `steps`.
    """

    def __init__(
        self,
        model: ModelConfig,
        rule: RuleConfig,
        train: TrainConfig,
        *,
        dataset: Dataset | None = None,
        history_points: int = HISTORY_POINTS,
    ):
        self.data = dataset if dataset is not None else load_dataset(train.dataset, seed=train.seed)
        self.model_config = _fit_to_data(model, self.data)
        self.estimate = check_budget(self.model_config, rule, train)
        self.rule_config, self.train_config = rule, train
        self.learning_rate = train.resolved_learning_rate(self.model_config)
        self.batches = Batches(self.data, train.batch_size, seed=train.seed)
        probe_size = min(train.batch_size, self.data.num_test)
        self.probe_x, self.probe_labels = fixed_batch(self.data, probe_size, seed=train.seed)
        probe_x = jnp.asarray(self.probe_x)
        probe_y = jax.nn.one_hot(jnp.asarray(self.probe_labels), self.data.num_classes,
                                 dtype=probe_x.dtype)
        self._probe_batch: tuple[jax.Array, jax.Array] | None = (probe_x, probe_y)
        self._test_sets: dict[int, tuple] = {}  # device copies of the test split, by size
        initial = init_model(self.model_config, jax.random.PRNGKey(train.seed))
        self.eta = resolve_eta(rule.eta, initial, probe_x)
        self.steps = rule.inference_steps(self.model_config.depth)
        self._records = {name: _new_record(name, history_points) for name in train.rules}
        self._groups = self._make_groups(initial)
        self.step_count = 0
        self.closed = False

    @property
    def rules(self) -> tuple[str, ...]:
        """The session's rules, in the order chosen."""
        return tuple(self._records)

    def record(self, rule: str) -> RuleRecord:
        """What the session knows of `rule` (its histories, telemetry, timing, divergence);
        `KeyError` naming the session's rules for another."""
        try:
            return self._records[rule]
        except KeyError:
            raise KeyError(f"rule {rule!r} is not in this session "
                           f"({', '.join(self._records)}).") from None

    @property
    def records(self) -> dict[str, RuleRecord]:
        """Rule -> its `RuleRecord`, in the order chosen (a new dict; the records are the
        session's own)."""
        return dict(self._records)

    @property
    def groups(self) -> tuple[RuleGroup, ...]:
        """The rules stepped together, with their stacked weights (empty once closed)."""
        return tuple(self._groups)

    @property
    def rule_groups(self) -> list[tuple[str, ...]]:
        """The names of the rules stepped together, group by group."""
        return [group.rules for group in self._groups]

    def mark_diverged(self, rule: str, step: int) -> None:
        """Stop `rule` as diverged at `step`: it records and trains no more (what a step does
        when the rule's loss or weights stop being finite)."""
        self.record(rule).diverged_at = int(step)

    def restore(self, *, step_count: int, batch_step: int, learning_rate: float, eta: float,
                records: Mapping[str, RuleRecord],
                weights: list[tuple[ResidualMLP, Any]]) -> None:
        """Put the session where a saved one was (`pcviz.checkpoint.restore_session`): its
        step, the batch stream's position, the learning rate and activity step, every rule's
        record, and each group's stacked `(models, opt_states)` in the order of `groups`."""
        if set(records) != set(self._records) or len(weights) != len(self._groups):
            raise ValueError(f"a saved state of rules {sorted(records)} in {len(weights)} "
                             f"groups does not fit this session's {self.rule_groups}.")
        self._groups = [group._replace(models=models, opt_states=opt_states)
                        for group, (models, opt_states) in zip(self._groups, weights)]
        self._records = {name: records[name] for name in self._records}
        self.step_count, self.batches.step = int(step_count), int(batch_step)
        self.learning_rate, self.eta = float(learning_rate), float(eta)

    def _make_groups(self, initial: ResidualMLP) -> list[RuleGroup]:
        chosen = self.train_config.rules
        inference = [r for r in chosen if r in INFERENCE_RULES]
        if self.train_config.batch_rules and inference:
            names = [["bp"]] * ("bp" in chosen) + [inference]
        else:
            names = [[r] for r in chosen]
        groups = []
        for members in names:
            models, opt_states = _steps.init_group(
                initial, self.learning_rate, count=len(members),
                optimizer=self.train_config.optimizer,
            )
            alphas = [with_changes(self.rule_config, rule=m).dual_step for m in members]
            groups.append(RuleGroup(tuple(members), models, opt_states, jnp.asarray(alphas)))
        return groups

    @property
    def epoch(self) -> float:
        """Epochs completed, fractional."""
        return self.step_count / self.batches.steps_per_epoch

    def active(self, group: RuleGroup) -> Bool[np.ndarray, " rules"]:
        """Which of a group's rules are still training (not diverged)."""
        return np.array([self._records[r].diverged_at is None for r in group.rules])

    def _step_group(self, index: int, x: Float[Array, "batch input"],
                    y: Float[Array, "batch output"], record: bool = True):
        """Step group `index` on one batch (its new weights kept); its metrics and telemetry."""
        group = self._groups[index]
        lr = jnp.asarray(self.learning_rate, x.dtype)
        active = jnp.asarray(self.active(group))
        if group.is_bp:
            models, states, metrics = _steps.bp_step(
                group.models, group.opt_states, active, x, y, lr,
                optimizer=self.train_config.optimizer,
            )
            telemetry = None
        else:
            models, states, metrics, telemetry = _steps.inference_step(
                group.models, group.opt_states, group.alphas, active, x, y,
                self.eta, self.rule_config.rho, lr, steps=self.steps,
                record=self.rule_config.record and record,
                optimizer=self.train_config.optimizer,
            )
        self._groups[index] = group._replace(models=models, opt_states=states)
        return jax.block_until_ready((metrics, telemetry))

    def close(self) -> None:
        """Release the device arrays (weights, optimiser states, cached batches); the records
        stay readable. Stepping a closed session raises `RuntimeError`."""
        self._groups, self._test_sets, self._probe_batch = [], {}, None
        self.closed = True

    def step(self, batches: int = 1, *, record_last_only: bool = False) -> None:
        """Train every rule on the next `batches` mini-batches.

        With `record_last_only`, the inference telemetry is recorded for the last batch only
        (what a page shows after a chunk of batches), which makes the others cheaper; losses,
        accuracies and times are recorded for every batch either way.
        """
        if self.closed:
            raise RuntimeError("This run was closed to free the server's memory. "
                               "Press Reset to start a new one.")
        for done in range(batches):
            record = not record_last_only or done == batches - 1
            x_np, labels = next(self.batches)
            x = jnp.asarray(x_np)
            y = jax.nn.one_hot(jnp.asarray(labels), self.data.num_classes, dtype=x.dtype)
            first = self.step_count == 0
            self.step_count += 1
            outputs, seconds = [], []
            for index in range(len(self._groups)):
                start = time.perf_counter()
                outputs.append(_out_of_memory_guard(self._step_group, index, x, y, record))
                seconds.append(time.perf_counter() - start)
            outputs = jax.device_get(outputs)  # one transfer to the host per training step
            for group, (metrics, telemetry), took in zip(self._groups, outputs, seconds):
                self._record(group, metrics, telemetry, took, first)

    def _record(self, group: RuleGroup, metrics, telemetry, seconds: float,
                first: bool) -> None:
        for i, name in enumerate(group.rules):
            rec = self._records[name]
            if rec.diverged_at is not None:
                continue
            rec.timed(seconds, first)
            if not bool(metrics.finite[i]):
                rec.diverged_at = self.step_count
                continue
            rec.loss.append(self.step_count, float(metrics.loss[i]))
            rec.accuracy.append(self.step_count, float(metrics.accuracy[i]))
            if telemetry is not None:
                rec.telemetry = jax.tree_util.tree_map(lambda a, i=i: a[i], telemetry)

    def model(self, rule: str):
        """The current weights of `rule`."""
        for group in self._groups:
            if rule in group.rules:
                return _steps.unstack(group.models, group.rules.index(rule))
        raise KeyError(f"rule {rule!r} is not in this session ({', '.join(self._records)}).")

    def evaluate(self, *, max_samples: int = 10_000) -> dict[str, float]:
        """Test accuracy of every rule on the held-out split (recorded in its history)."""
        if max_samples not in self._test_sets:
            self._test_sets[max_samples] = (jnp.asarray(self.data.x_test[:max_samples]),
                                            jnp.asarray(self.data.y_test[:max_samples]))
        x, labels = self._test_sets[max_samples]
        out = {}
        for group in self._groups:
            accuracy, _ = jax.device_get(_steps.evaluate(group.models, x, labels))
            for i, name in enumerate(group.rules):
                out[name] = float(accuracy[i])
                self._records[name].test_accuracy.append(self.step_count, out[name])
        return out

    def gradient_comparison(self) -> GradientComparison:
        """Per rule, its weight gradient against BP's at its own weights on the fixed probe
        batch: the cosine and the norm ratio $\\|g_\\ell\\| / \\|g^{BP}_\\ell\\|$, each
        `(L + 1,)`, per weight layer (input first) then of the whole gradient; BP's are ones."""
        if self._probe_batch is None:
            raise RuntimeError("This run was closed to free the server's memory.")
        x, y = self._probe_batch
        cosine, norm_ratio = {}, {}
        for group in self._groups:
            if group.is_bp:
                ones = np.ones(self.model_config.depth + 1)
                cosine["bp"], norm_ratio["bp"] = ones, ones.copy()
                continue
            cos, ratio = jax.device_get(_steps.gradient_comparison(
                group.models, group.alphas, x, y, self.eta, self.rule_config.rho,
                steps=self.steps,
            ))
            for i, name in enumerate(group.rules):
                cosine[name], norm_ratio[name] = np.asarray(cos[i]), np.asarray(ratio[i])
        return GradientComparison(cosine, norm_ratio)

    def gradient_alignment(self) -> dict[str, np.ndarray]:
        """Per rule, cosine of its weight gradient with BP's at its own weights on the fixed
        probe batch: `(L + 1,)`, per weight layer (input first) then overall; BP is all ones
        (the `cosine` of `gradient_comparison`)."""
        return self.gradient_comparison().cosine
