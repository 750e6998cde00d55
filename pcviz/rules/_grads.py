"""Weight gradients of the three rules, built from the energy and inference layers."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..config import RuleConfig
from ..model import ResidualMLP, mse_loss
from ._energy import lagrangian
from ._infer import InferenceState, Telemetry, auto_eta, infer


def bp_grads(
    model: ResidualMLP, x: Float[Array, "batch input"], y: Float[Array, "batch output"]
) -> tuple[ResidualMLP, Float[Array, ""]]:
    """BP: `(jax.grad of the batch-mean loss, the loss)`."""
    return jax.value_and_grad(lambda m: jnp.mean(mse_loss(m(x), y)))(model)[::-1]


def energy_weight_grads(
    model: ResidualMLP,
    x: Float[Array, "batch input"],
    y: Float[Array, "batch output"],
    state: InferenceState,
    rho: float | Float[Array, ""],
) -> ResidualMLP:
    r"""$\partial_W \mathcal L_\rho$ at the states and multipliers of `state` (held fixed).

    Per hidden layer this is the local product of the credit $e_i = \lambda_i + \rho r_i$ with the
    presynaptic activity: $-a_h\,\overline{e_i\,\phi(h_{i-1})^\top}$ (batch mean).
    """
    h, multiplier = jax.lax.stop_gradient((state.h, state.multiplier))
    return jax.grad(lagrangian)(model, x, y, h, multiplier, rho)


def inference_weight_grads(
    model: ResidualMLP,
    x: Float[Array, "batch input"],
    y: Float[Array, "batch output"],
    *,
    steps: int,
    eta: float | Float[Array, ""],
    rho: float | Float[Array, ""],
    alpha: float | Float[Array, ""],
    record: bool,
    batch_axis: str | None = None,
) -> tuple[ResidualMLP, InferenceState, Telemetry | None]:
    r"""An inference rule's weight gradient: `infer` for `steps` steps, then
    $\partial_W \mathcal L_\rho$ at its final states and multipliers (`energy_weight_grads`).

    **Arguments:** as `infer` (`alpha = 0` is PC). With `batch_axis` (inside `jax.shard_map`,
    the batch split over that mesh axis) the gradient is the whole batch's: the mean of the
    shards' (`lax.pmean`), as the telemetry is.

    **Returns:** `(grads, state, telemetry)`: the gradient with the model's pytree structure,
    the final `InferenceState`, and `Telemetry` when `record` (else `None`).
    """
    state, telemetry = infer(model, x, y, steps=steps, eta=eta, rho=rho, alpha=alpha,
                             record=record, batch_axis=batch_axis)
    grads = energy_weight_grads(model, x, y, state, rho)
    if batch_axis is not None:
        grads = jax.lax.pmean(grads, batch_axis)
    return grads, state, telemetry


@partial(jax.jit, static_argnames=("steps", "record", "auto"))
def _inference_grads(
    model: ResidualMLP,
    x: Float[Array, "batch input"],
    y: Float[Array, "batch output"],
    eta: float | Float[Array, ""],
    rho: float | Float[Array, ""],
    alpha: float | Float[Array, ""],
    *,
    steps: int,
    record: bool,
    auto: bool,
) -> tuple[ResidualMLP, Telemetry | None]:
    """`inference_weight_grads` compiled, with `eta` found in the program when `auto`."""
    eta = auto_eta(model, x) if auto else eta
    grads, _, telemetry = inference_weight_grads(
        model, x, y, steps=steps, eta=eta, rho=rho, alpha=alpha, record=record
    )
    return grads, telemetry


_bp_grads_jit = jax.jit(bp_grads)
"""`bp_grads` compiled."""


def as_targets(y: Array, num_classes: int) -> Array:
    """One-hot targets from integer labels `(B,)`; one-hot or real targets pass through."""
    y = jnp.asarray(y)
    if y.ndim == 1 and jnp.issubdtype(y.dtype, jnp.integer):
        return jax.nn.one_hot(y, num_classes)
    return y


def weight_grads(
    model: ResidualMLP,
    x: Float[Array, "batch input"],
    y: Array,
    cfg: RuleConfig,
) -> tuple[ResidualMLP, Telemetry | None]:
    r"""A rule's weight gradient on one batch, and its inference telemetry.

    - `"bp"`: $\nabla_W \bar\ell$ by `jax.grad`; no telemetry.
    - `"pc"` / `"pcalm"`: `infer` for $T$ = `cfg.steps` (default $2L$) steps with
      $\alpha$ = `cfg.alpha` (0 for PC), then $\nabla_W \mathcal L_\rho$ at the final states
      and the multipliers of the last primal step.

    **Arguments:**

    - `model`: a `ResidualMLP`; `x`: `(B, D)`; `y`: one-hot `(B, K)` or integer labels `(B,)`.
    - `cfg`: a `RuleConfig`; `eta="auto"` uses $1/\lambda_{\max}(A^\top A)$ on this batch.

    **Returns:** `(grads, telemetry)`; `grads` has the model's pytree structure.
    """
    y = as_targets(y, model.w_out.shape[0]).astype(x.dtype)
    if cfg.rule == "bp":
        grads, _ = _bp_grads_jit(model, x, y)
        return grads, None
    auto = cfg.eta_is_auto
    return _inference_grads(
        model,
        x,
        y,
        0.0 if auto else cfg.eta,
        cfg.rho,
        cfg.dual_step,
        steps=cfg.inference_steps(model.depth),
        record=cfg.record,
        auto=auto,
    )
