r"""Sweep cells of one shape trained as one batched computation.

A sweep cell is a network of depth $L$ and width $N$ trained with every rule for one seed $s$
and one point (`Setting`) of the sweep's hyperparameter grid: the activity step $\eta_h$, the
dual step $\alpha$ and the learning rate. Cells of one shape differ only in numbers: initial
weights $W^{(s)}_0 \sim$ `PRNGKey(s)`, batch order (`Batches(seed=s)`), the automatic activity
step $\eta^{(s)} = 1/\lambda_{\max}(A_s^\top A_s)$ on seed $s$'s probe batch, and the grid's
values. `train_cell` trains every (setting, seed) member of one shape together.

Each rule group (BP; the inference rules PC and PC-ALM, PC being PC-ALM with $\alpha = 0$)
has one flat axis of *units*, one per distinct thing to train:

$$u_{\mathrm{BP}} = (s, \mathrm{lr}), \qquad
  u_{\mathrm{PC}} = (s, \eta_h, \mathrm{lr}, 0), \qquad
  u_{\mathrm{PC\text{-}ALM}} = (s, \eta_h, \mathrm{lr}, \alpha),$$

so members that share a unit (BP under two values of $\alpha$, PC under two values of
$\alpha$) train it once, and a grid of $\alpha$ costs PC-ALM's work only. One `jax.vmap` over
the unit axis of the session's own step (`pcviz._steps`) updates every unit in one compiled
program per group:

$$(W, \text{opt})_u \leftarrow \text{step}\big((W, \text{opt})_u;\ x_{s(u)}, y_{s(u)},
  \eta_u, \alpha_u, \mathrm{lr}_u\big) \quad \text{for every unit } u,$$

so every member sees exactly the weights, batches and steps it would see in a `Session` of its
own seed and setting, and its results equal that session's, or `train_cell` of that member
alone, to float tolerance. Telemetry is not recorded (a sweep reports accuracy).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from functools import cache, partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
from jaxtyping import Array, Bool, Float, Int

from . import _devices, _steps
from ._steps import OptState, Scalar, StepMetrics
from .config import INFERENCE_RULES, Eta, ModelConfig, RuleConfig, TrainConfig, with_changes
from .data import Batches, Dataset, fixed_batch, load_dataset
from .model import ResidualMLP, init_model
from .rules import resolve_eta

__all__ = ["SeedResult", "Setting", "train_cell", "unit_bp_step", "unit_evaluate",
           "unit_inference_step"]


class Setting(NamedTuple):
    """One point of a sweep's hyperparameter grid: the activity step `eta` (a number or
    `"auto"`), the dual step `alpha` and the `learning_rate`; `None`: the configuration's own
    value."""

    eta: float | str | None = None
    alpha: float | None = None
    learning_rate: float | None = None

    def apply(self, rule: RuleConfig, train: TrainConfig) -> tuple[RuleConfig, TrainConfig]:
        """`rule` and `train` with this setting's values (validated: `ValueError` when out
        of range)."""
        changes = {k: v for k, v in (("eta", self.eta), ("alpha", self.alpha)) if v is not None}
        rule = with_changes(rule, **changes) if changes else rule
        if self.learning_rate is not None:
            train = with_changes(train, learning_rate=float(self.learning_rate))
        return rule, train


BP_WORK_STEPS = 2
"""A BP step's contractions (forward, and the backward pass's two) in inference steps' worth."""


def _unit_mesh(models: ResidualMLP, x: Float[Array, "units batch input"],
               steps: int) -> Mesh | None:
    """The mesh a step of these units is laid over (`pcviz._devices.step_mesh`); `steps` is
    the inference steps of one (`BP_WORK_STEPS` for BP)."""
    work = _devices.step_work(models.w_hidden.shape, steps=steps, batch=x.shape[1])
    return _devices.step_mesh(x.shape[0], work=work)


def _over_devices(body: Callable[..., Any], mesh: Mesh | None, specs: Any, *args: Any) -> Any:
    """`body(*args)` split over `mesh` with the given input specs (outputs split by unit)."""
    if mesh is None:
        return body(*args)
    with _devices.threads_per_device(mesh):
        return jax.shard_map(body, mesh=mesh, in_specs=specs,
                             out_specs=P(_devices.LEAD))(*args)


@partial(jax.jit, static_argnames=("optimizer", "mesh"))
def unit_bp_step(
    models: ResidualMLP, opt_states: OptState, active: Bool[Array, "units 1"],
    x: Float[Array, "units batch input"], y: Float[Array, "units batch output"],
    lr: Float[Array, " units"], *, optimizer: str, mesh: Mesh | None,
) -> tuple[ResidualMLP, OptState, StepMetrics]:
    """`_steps.bp_step` mapped over a leading unit axis, the units split over `mesh`
    (`_unit_mesh`; `None`: one device).

    **Arguments:** `models`, `opt_states`, `active` with leading axes `(units, 1)`; `x`
    `(units, B, D)`, `y` `(units, B, K)`; `lr` `(units,)`.

    **Returns:** `(models, opt_states, StepMetrics)`, each with leading axes `(units, 1)`.
    """
    body = jax.vmap(partial(_steps.bp_step, optimizer=optimizer))
    return _over_devices(body, mesh, P(_devices.LEAD), models, opt_states, active, x, y, lr)


@partial(jax.jit, static_argnames=("steps", "optimizer", "mesh"))
def unit_inference_step(
    models: ResidualMLP, opt_states: OptState, alphas: Float[Array, "units 1"],
    active: Bool[Array, "units 1"], x: Float[Array, "units batch input"],
    y: Float[Array, "units batch output"], eta: Float[Array, " units"], rho: Scalar,
    lr: Float[Array, " units"], *, steps: int, optimizer: str, mesh: Mesh | None,
) -> tuple[ResidualMLP, OptState, StepMetrics]:
    """`_steps.stacked_inference_step` (telemetry off) mapped over a leading unit axis, the
    units split over `mesh` (`_unit_mesh`; `None`: one device).

    **Arguments:** `models`, `opt_states`, `alphas`, `active` with leading axes `(units, 1)`;
    `x` `(units, B, D)`, `y` `(units, B, K)`; `eta`, `lr` `(units,)`; `rho` a shared scalar.

    **Returns:** `(models, opt_states, StepMetrics)` with leading axes `(units, 1)`.
    """
    step = partial(_steps.stacked_inference_step, steps=steps, record=False, optimizer=optimizer)
    body = jax.vmap(step, in_axes=(0, 0, 0, 0, 0, 0, 0, None, 0))
    lead, same = P(_devices.LEAD), P()
    specs = (lead, lead, lead, lead, lead, lead, lead, same, lead)
    models, states, metrics, _ = _over_devices(body, mesh, specs, models, opt_states, alphas,
                                               active, x, y, eta, rho, lr)
    return models, states, metrics


@jax.jit
def unit_evaluate(
    models: ResidualMLP, x: Float[Array, "test input"], labels: Int[Array, " test"],
) -> tuple[Float[Array, "units 1"], Float[Array, "units 1"]]:
    """`_steps.evaluate` mapped over a leading unit axis (one test set for every unit).

    **Returns:** `(accuracy, mean loss)`, each `(units, 1)`.
    """
    return jax.vmap(_steps.evaluate, in_axes=(0, None, None))(models, x, labels)


class SeedResult(NamedTuple):
    """One member (seed and setting) of a trained shape.

    **Fields:** `seed`; per rule `accuracy` (test accuracy, NaN when diverged), `status`
    (`"ok"` or `"diverged at step k"`), `loss` and `train_accuracy` (`(steps,)` per training
    step, on the batch before the update; NaN from the divergence on); `eta` (the activity
    step used); `seconds` (wall time of the batched computation that trained this member with
    its siblings, shared by them); `steps` (training steps); `setting` (the grid point asked
    for), `alpha` and `learning_rate` (the values used).
    """

    seed: int
    accuracy: dict[str, float]
    status: dict[str, str]
    loss: dict[str, np.ndarray]
    train_accuracy: dict[str, np.ndarray]
    eta: float
    seconds: float
    steps: int
    setting: Setting = Setting()
    alpha: float = math.nan
    learning_rate: float = math.nan


class _Member(NamedTuple):
    seed: int
    eta: float
    alpha: float
    lr: float


class _Group(NamedTuple):
    """A rule group's units (`(seed, eta, alpha, lr)`, alpha 0 for PC, BP's eta and alpha
    0) and, per (member, rule), the unit that trains it."""

    rules: list[str]
    units: list[_Member]
    unit_of: dict[tuple[int, str], int]


def _unit(member: _Member, rule: str) -> _Member:
    if rule == "bp":
        return _Member(member.seed, 0.0, 0.0, member.lr)
    return member._replace(alpha=member.alpha if rule == "pcalm" else 0.0)


def _plan_groups(members: Sequence[_Member], rules: Sequence[str]) -> list[_Group]:
    """BP alone, and the inference rules together, each over its distinct units."""
    inference = [r for r in rules if r in INFERENCE_RULES]
    groups = []
    for names in ([["bp"]] if "bp" in rules else []) + ([inference] if inference else []):
        units: dict[_Member, int] = {}
        unit_of: dict[tuple[int, str], int] = {}
        for m, member in enumerate(members):
            for r in names:
                unit_of[(m, r)] = units.setdefault(_unit(member, r), len(units))
        groups.append(_Group(names, list(units), unit_of))
    return groups


def _init_units(group: _Group, initials: dict, optimizer: str) -> dict:
    """The group's stacked weights and optimiser states, leading axes `(units, 1)`."""
    parts = [_steps.init_group(initials[u.seed], u.lr, count=1, optimizer=optimizer)
             for u in group.units]
    return {"models": _steps.stack([p[0] for p in parts]),
            "opt_states": _steps.stack([p[1] for p in parts])}


def _members(seeds, settings, rule: RuleConfig, train: TrainConfig, mcfg: ModelConfig,
             initials: dict, data: Dataset) -> list[_Member]:
    """Every (setting, seed), setting-major, with its activity step, alpha and learning
    rate resolved (`"auto"`: $1/\\lambda_{\\max}$ on the seed's probe batch)."""
    probe_size = min(train.batch_size, data.num_test)

    @cache
    def eta_of(eta: Eta, seed: int) -> float:  # "auto" found once per seed
        probe = jnp.asarray(fixed_batch(data, probe_size, seed=seed)[0])
        return resolve_eta(eta, initials[seed], probe)

    out = []
    for setting in settings:
        r, t = setting.apply(rule, train)
        for s in seeds:
            out.append(_Member(int(s), eta_of(r.eta, int(s)), float(r.alpha),
                               t.resolved_learning_rate(mcfg)))
    return out


def _next_batches(streams, num_classes: int):
    batch = [next(b) for b in streams]
    x = jnp.asarray(np.stack([b[0] for b in batch]))
    y = jax.nn.one_hot(jnp.asarray(np.stack([b[1] for b in batch])), num_classes, dtype=x.dtype)
    return x, y


class _State:
    """A group's arrays on the device and its per-unit histories on the host."""

    def __init__(self, group: _Group, seeds: list[int], initials: dict, optimizer: str,
                 steps: int):
        self.group = group
        arrays = _init_units(group, initials, optimizer)
        self.models, self.opt_states = arrays["models"], arrays["opt_states"]
        units = group.units
        self.alphas = jnp.asarray([[u.alpha] for u in units], jnp.float32)
        self.eta = jnp.asarray([u.eta for u in units], jnp.float32)
        self.lr = jnp.asarray([u.lr for u in units], jnp.float32)
        self.rows = jnp.asarray([seeds.index(u.seed) for u in units])
        self.loss = np.full((len(units), steps), np.nan)
        self.accuracy = np.full((len(units), steps), np.nan)
        self.diverged: list[int | None] = [None] * len(units)

    def step(self, x, y, rule: RuleConfig, inference_steps: int, optimizer: str):
        """One training step of every unit on its seed's batch; the metrics."""
        x, y = x[self.rows], y[self.rows]
        active = jnp.asarray([[d is None] for d in self.diverged])
        bp = self.group.rules == ["bp"]
        mesh = _unit_mesh(self.models, x, BP_WORK_STEPS if bp else inference_steps)
        if mesh is not None:  # the units' weights stay on their devices between steps
            self.models, self.opt_states = _devices.put_lead((self.models, self.opt_states), mesh)
        if bp:
            out = unit_bp_step(self.models, self.opt_states, active, x, y, self.lr,
                               optimizer=optimizer, mesh=mesh)
        else:
            out = unit_inference_step(self.models, self.opt_states, self.alphas, active, x, y,
                                      self.eta, jnp.asarray(rule.rho, jnp.float32), self.lr,
                                      steps=inference_steps, optimizer=optimizer, mesh=mesh)
        self.models, self.opt_states = out[0], out[1]
        return out[2]

    def record(self, metrics, k: int) -> None:
        """Write step `k`'s host metrics; a unit whose loss or weights became non-finite is
        marked diverged at step `k + 1`."""
        for u in range(len(self.diverged)):
            if self.diverged[u] is not None:
                continue
            if not bool(metrics.finite[u, 0]):
                self.diverged[u] = k + 1
                continue
            self.loss[u, k], self.accuracy[u, k] = metrics.loss[u, 0], metrics.accuracy[u, 0]

    def test_accuracy(self, x, labels) -> np.ndarray:
        """`(units,)` test accuracy."""
        return np.asarray(jax.device_get(unit_evaluate(self.models, x, labels)[0]))[:, 0]


def train_cell(
    model: ModelConfig,
    rule: RuleConfig,
    train: TrainConfig,
    *,
    seeds: Sequence[int],
    steps: int,
    dataset: Dataset | None = None,
    settings: Sequence[Setting] = (Setting(),),
) -> list[SeedResult]:
    """Train every (setting, seed) member of one (depth, width) with all of `train.rules`,
    batched (see the module docstring).

    Member (setting $g$, seed $s$) is `Session(model, *g.apply(rule, with_changes(train,
    seed=s)), dataset=dataset)` stepped `steps` times, then evaluated on the test split (at
    most 10,000 samples).

    **Arguments:**

    - `model`, `rule`, `train`: validated configurations (input/output sizes are taken from
      the data set; `train.seed` is unused except for loading the data).
    - `seeds`: the seeds to train.
    - `steps`: training steps (batches) per member.
    - `dataset`: the loaded data (default: `train.dataset` loaded with `train.seed`).
    - `settings`: the grid points to train each seed with (default: the configurations' own
      values).

    **Returns:** one `SeedResult` per member, setting-major: for each setting, each seed.
    """
    data = dataset if dataset is not None else load_dataset(train.dataset, seed=train.seed)
    mcfg = with_changes(model, input_dim=int(data.x_train.shape[1]), output_dim=data.num_classes)
    start = time.perf_counter()
    unique = list(dict.fromkeys(int(s) for s in seeds))
    initials = {s: init_model(mcfg, jax.random.PRNGKey(s)) for s in unique}
    members = _members(seeds, settings, rule, train, mcfg, initials, data)
    states = [_State(g, unique, initials, train.optimizer, steps)
              for g in _plan_groups(members, train.rules)]
    del initials
    streams = [Batches(data, train.batch_size, seed=s) for s in unique]
    inference_steps = rule.inference_steps(mcfg.depth)
    for k in range(steps):
        x, y = _next_batches(streams, data.num_classes)
        metrics = [s.step(x, y, rule, inference_steps, train.optimizer) for s in states]
        for state, m in zip(states, jax.device_get(metrics)):  # one transfer
            state.record(m, k)
    x_test = jnp.asarray(data.x_test[:10_000])
    labels = jnp.asarray(data.y_test[:10_000])
    tests = [s.test_accuracy(x_test, labels) for s in states]
    seconds = time.perf_counter() - start
    where = {r: (state, test) for state, test in zip(states, tests) for r in state.group.rules}
    results = []
    for m, member in enumerate(members):
        status, accuracy, loss, train_acc = {}, {}, {}, {}
        for r in train.rules:
            state, test = where[r]
            u = state.group.unit_of[(m, r)]
            step = state.diverged[u]
            status[r] = "ok" if step is None else f"diverged at step {step}"
            accuracy[r] = float(test[u]) if step is None else math.nan
            loss[r], train_acc[r] = state.loss[u].copy(), state.accuracy[u].copy()
        setting = settings[m // len(seeds)]
        results.append(SeedResult(member.seed, accuracy, status, loss, train_acc, member.eta,
                                  seconds, steps, setting, member.alpha, member.lr))
    return results
