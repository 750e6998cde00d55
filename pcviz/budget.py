"""Resource guard: estimate a configuration's memory and time per step before allocating it.

A configuration whose estimate exceeds the budget is refused with a `BudgetError` that says
which knob to turn. The limits come from the environment (`PCVIZ_MAX_GIB`,
`PCVIZ_MAX_STEP_SECONDS`, `PCVIZ_FLOPS`) or keyword arguments.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from .config import INFERENCE_RULES, ModelConfig, RuleConfig, TrainConfig

_BYTES = 4  # float32
_CPU_FLOPS = 2e10  # sustained FLOP/s of the engine on a 2-core CPU (bench/bench_engine.py)
_GPU_FLOPS = 2e12


class BudgetError(ValueError):
    """A configuration too large for the budget; the message names the knob to turn."""


class Estimate(NamedTuple):
    """Predicted peak memory in bytes and wall seconds of one training step (all rules)."""

    bytes: float
    step_seconds: float
    weight_bytes: float
    activation_bytes: float


def _default_flops() -> float:
    if "PCVIZ_FLOPS" in os.environ:
        return float(os.environ["PCVIZ_FLOPS"])
    import jax

    return _GPU_FLOPS if jax.default_backend() == "gpu" else _CPU_FLOPS


def estimate(
    model: ModelConfig,
    rule: RuleConfig,
    train: TrainConfig,
    *,
    flops_per_second: float | None = None,
) -> Estimate:
    r"""Estimate a session's memory and time per training step, allocating nothing.

    Weights $P = ND + (L-2)N^2 + KN$ live with gradients and two optimiser moments per rule;
    inference keeps about ten `(L-1, B, N)` arrays per inference rule; one inference step costs
    $\approx 4(L-2)BN^2$ FLOPs (predictions and their transpose), one BP step $6(L-2)BN^2$.
    """
    n, depth, batch = model.width, model.depth, train.batch_size
    params = n * model.input_dim + (depth - 2) * n * n + model.output_dim * n
    rules = len(train.rules)
    inference = sum(r in INFERENCE_RULES for r in train.rules)
    steps = rule.inference_steps(depth)
    weight_bytes = 4.0 * params * rules * _BYTES
    states = (depth - 1) * batch * n * _BYTES
    activation_bytes = states * (10 * inference + 4 * (rules - inference)) + (
        batch * model.input_dim * _BYTES
    ) + 6 * steps * depth * inference * _BYTES
    layer_flops = 2.0 * batch * (n * n * (depth - 2) + n * (model.input_dim + model.output_dim))
    flops = inference * steps * 2 * layer_flops + (rules - inference) * 3 * layer_flops
    speed = flops_per_second or _default_flops()
    return Estimate(weight_bytes + activation_bytes, flops / speed, weight_bytes, activation_bytes)


def _gib(value: float) -> str:
    return f"{value / 2**30:.2f} GiB" if value >= 2**28 else f"{value / 2**20:.0f} MiB"


def check_budget(
    model: ModelConfig,
    rule: RuleConfig,
    train: TrainConfig,
    *,
    max_bytes: float | None = None,
    max_step_seconds: float | None = None,
    flops_per_second: float | None = None,
) -> Estimate:
    """Return the estimate, or raise `BudgetError` naming what to reduce.

    **Arguments:** the three configurations; `max_bytes` (default `PCVIZ_MAX_GIB`, 4 GiB),
    `max_step_seconds` (default `PCVIZ_MAX_STEP_SECONDS`, 30 s), `flops_per_second`.
    """
    if max_bytes is None:
        max_bytes = float(os.environ.get("PCVIZ_MAX_GIB", 4)) * 2**30
    if max_step_seconds is None:
        max_step_seconds = float(os.environ.get("PCVIZ_MAX_STEP_SECONDS", 30))
    est = estimate(model, rule, train, flops_per_second=flops_per_second)
    if est.bytes > max_bytes:
        knob = (
            f"width (weights grow as depth x width^2: {_gib(est.weight_bytes)})"
            if est.weight_bytes >= est.activation_bytes
            else f"batch size or depth (inference states: {_gib(est.activation_bytes)})"
        )
        raise BudgetError(
            f"This configuration needs about {_gib(est.bytes)} of memory, over the limit of "
            f"{_gib(max_bytes)}. Reduce the {knob}, or compare fewer rules (the limit is "
            "PCVIZ_MAX_GIB)."
        )
    if est.step_seconds > max_step_seconds:
        raise BudgetError(
            f"One training step would take about {est.step_seconds:.0f} s here, over the limit of "
            f"{max_step_seconds:.0f} s. Reduce the inference steps T "
            f"({rule.inference_steps(model.depth)}), "
            "the width, the depth or the batch size (the limit is PCVIZ_MAX_STEP_SECONDS)."
        )
    return est
