"""The inference loop shared by PC and PC-ALM, its telemetry, BP adjoints and the auto step."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..model import ResidualMLP, mse_loss
from ._energy import States, layer_energies, residuals, state_gradient

_TINY = 1e-30


class Telemetry(NamedTuple):
    """What one inference run records, reduced over the batch on the device.

    Row `t` is the state after primal step `t+1`; column `i` is hidden layer `i` (0 nearest
    the input, `L-2` nearest the output). Norms are root-mean-square over the batch of the
    per-sample Euclidean norm.

    **Fields:**

    - `credit` `(T, L-1)`: $\\|\\lambda_i + \\rho r_i\\|$, the credit a layer's weights learn from.
    - `error` `(T, L-1)`: $\\|r_i\\|$.
    - `multiplier` `(T, L-1)`: $\\|\\lambda_i\\|$ (the multipliers used by that primal step).
    - `energy` `(T, L)`: $\\frac\\rho2\\|r_i + \\lambda_i/\\rho\\|^2$ per hidden layer and the output
      loss in the last column (batch means).
    - `alignment` `(T, L-1)`: cosine of layer $i$'s credit with its BP adjoint $-\\delta_i$.
    - `bp_adjoint` `(L-1,)`: $\\|\\delta_i\\|$ of BP's per-sample adjoints $\\delta_i = \\partial\\ell/\\partial h_i$.
    """

    credit: Float[Array, "steps layers"]
    error: Float[Array, "steps layers"]
    multiplier: Float[Array, "steps layers"]
    energy: Float[Array, "steps layers_plus_one"]
    alignment: Float[Array, "steps layers"]
    bp_adjoint: Float[Array, " layers"]


class InferenceState(NamedTuple):
    """The loop's carry: states `h`, their errors `error` and the `multiplier`s, `(L-1, B, N)`."""

    h: States
    error: States
    multiplier: States


def _rms(norms_sq: Float[Array, "layers batch"]) -> Float[Array, " layers"]:
    """Root-mean-square over the batch, from the per-sample squared norms."""
    return jnp.sqrt(jnp.mean(norms_sq, axis=-1))


def _rms_norm(v: States) -> Float[Array, " layers"]:
    return _rms(jnp.sum(v**2, axis=-1))


def bp_adjoints(
    model: ResidualMLP, x: Float[Array, "batch input"], y: Float[Array, "batch output"]
) -> States:
    """BP's per-sample adjoints $\\delta_i = \\partial \\ell / \\partial h_i$, `(L-1, B, N)`."""
    n = model.w_in.shape[0]
    shift = jnp.zeros((model.depth - 1, x.shape[0], n), x.dtype)
    return jax.grad(lambda s: jnp.sum(mse_loss(model.readout(model.states(x, s)[-1]), y)))(shift)


def _record(model, y, state: InferenceState, rho, adjoint, adjoint_sq) -> tuple:
    """One telemetry row; each reduction over the states is done once and shared."""
    credit = state.multiplier + rho * state.error
    credit_sq = jnp.sum(credit**2, axis=-1)
    dot = -jnp.sum(credit * adjoint, axis=(1, 2))
    norms = jnp.sqrt(jnp.sum(credit_sq, axis=-1) * adjoint_sq)
    return (
        _rms(credit_sq),
        _rms_norm(state.error),
        _rms_norm(state.multiplier),
        layer_energies(model, state.h, y, credit_sq, rho),
        jnp.where(norms > _TINY, dot / jnp.maximum(norms, _TINY), 0.0),
    )


def infer(
    model: ResidualMLP,
    x: Float[Array, "batch input"],
    y: Float[Array, "batch output"],
    *,
    steps: int,
    eta: float | Array,
    rho: float | Array,
    alpha: float | Array,
    record: bool = True,
) -> tuple[InferenceState, Telemetry | None]:
    r"""Run PC-ALM inference (Seely & Gould 2026, Algorithm 1); `alpha = 0` is PC.

    Starting from the forward pass with $\lambda = 0$, each of `steps` iterations takes

    $$\lambda \leftarrow \lambda + \alpha\, r \ (\text{from the second iteration on}),\qquad
      h \leftarrow h - \eta\, \partial_h \mathcal L_\rho(h, \lambda)$$

    so that there are $T$ primal and $T-1$ dual steps, and the returned multipliers are those
    of the last primal step (the ones the weight update uses). One `lax.scan`.

    **Arguments:**

    - `model`, `x` `(B, D)`, one-hot `y` `(B, K)`.
    - `steps`: $T$ (static). `eta`, `rho`, `alpha`: $\eta_h$ (per sample), $\rho$, $\alpha$.
    - `record`: also return `Telemetry` (computed in the loop, reduced over the batch).

    **Returns:** `(state, telemetry)`: the final `InferenceState` and `Telemetry` or `None`.
    """
    h0 = model.states(x)
    start = InferenceState(h0, residuals(model, x, h0), jnp.zeros_like(h0))
    adjoint = bp_adjoints(model, x, y) if record else None
    adjoint_sq = jnp.sum(adjoint**2, axis=(1, 2)) if record else None

    def step(state: InferenceState, t):
        multiplier = state.multiplier + jnp.where(t > 0, alpha, 0.0) * state.error
        credit = multiplier + rho * state.error
        h = state.h - eta * state_gradient(model, state.h, y, credit)
        new = InferenceState(h, residuals(model, x, h), multiplier)
        return new, (_record(model, y, new, rho, adjoint, adjoint_sq) if record else None)

    final, rows = jax.lax.scan(step, start, jnp.arange(steps))
    if not record:
        return final, None
    return final, Telemetry(*rows, bp_adjoint=_rms_norm(adjoint))


@partial(jax.jit, static_argnames=("iterations",))
def constraint_spectral_norm(
    model: ResidualMLP, x: Float[Array, "batch input"], *, iterations: int = 64
) -> Array:
    r"""$\lambda_{\max}(A^\top A)$ by power iteration, $A = \partial r / \partial h$ at the forward pass.

    $(Av)_i = v_i - J_i v_{i-1}$ and $(A^\top u)_i = u_i - J_{i+1}^\top u_{i+1}$ come from one
    `jvp` and one `vjp` of the batched predictions; the batch's samples are independent blocks,
    so the result is the largest over the batch.
    """
    h = model.states(x)
    below = h[:-1]
    _, predict_vjp = jax.vjp(model.hidden_predictions, below)

    def apply_a(v):
        _, jv = jax.jvp(model.hidden_predictions, (below,), (v[:-1],))
        return v - jnp.concatenate([jnp.zeros_like(v[:1]), jv])

    def apply_at(u):
        (jtu,) = predict_vjp(u[1:])
        return u - jnp.concatenate([jtu, jnp.zeros_like(u[:1])])

    def body(_, v):
        w = apply_at(apply_a(v))
        return w / jnp.maximum(jnp.linalg.norm(w), _TINY)

    v0 = jax.random.normal(jax.random.PRNGKey(0), h.shape, h.dtype)
    v = jax.lax.fori_loop(0, iterations, body, v0 / jnp.linalg.norm(v0))
    return jnp.sum(apply_a(v) ** 2) / jnp.sum(v**2)


def auto_eta(model: ResidualMLP, x: Float[Array, "batch input"]) -> Array:
    """The default activity step $\\eta_h = 1/\\lambda_{\\max}(A^\\top A)$ (docs/science.md,
    "PC-ALM")."""
    return 1.0 / constraint_spectral_norm(model, x)
