"""The inference loop shared by PC and PC-ALM, its telemetry, BP adjoints and the auto step."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..config import AUTO_ETA
from ..model import ResidualMLP, mse_loss
from . import _fused
from ._energy import States, incoming_weights, output_loss, predictions, state_gradient

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
    - `energy` `(T, L)`: $\\frac\\rho2\\|r_i + \\lambda_i/\\rho\\|^2$ per hidden layer and
      the output loss in the last column (batch means).
    - `alignment` `(T, L-1)`: cosine of layer $i$'s credit with its BP adjoint $-\\delta_i$.
    - `bp_adjoint` `(L-1,)`: $\\|\\delta_i\\|$ of BP's per-sample adjoints
      $\\delta_i = \\partial\\ell/\\partial h_i$.
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


class TelemetrySums(NamedTuple):
    """Per inference step, sums over the batch (of this device's samples, when the batch is
    split) from which `Telemetry` is finished once, after the loop: `(T, L-1)` each, and the
    summed output loss `(T,)`. Sums, not means, so that shards of a batch add up."""

    credit_sq: Float[Array, "steps layers"]
    error_sq: Float[Array, "steps layers"]
    multiplier_sq: Float[Array, "steps layers"]
    credit_against_adjoint: Float[Array, "steps layers"]
    loss: Float[Array, " steps"]


def _layer_sum(v: States) -> Float[Array, " layers"]:
    return jnp.sum(v, axis=(1, 2))


def bp_adjoints(
    model: ResidualMLP, x: Float[Array, "batch input"], y: Float[Array, "batch output"]
) -> States:
    """BP's per-sample adjoints $\\delta_i = \\partial \\ell / \\partial h_i$, `(L-1, B, N)`."""
    # zeros shaped (and, inside `shard_map`, split) like the states, so that each device
    # differentiates with respect to its own samples' shifts
    first = model.first_hidden(x)
    shift = jnp.zeros_like(jnp.broadcast_to(first, (model.depth - 1, *first.shape)))
    return jax.grad(lambda s: jnp.sum(mse_loss(model.readout(model.states(x, s)[-1]), y)))(shift)


def _sums(state: InferenceState, rho, adjoint, loss) -> TelemetrySums:
    """One row of `TelemetrySums`: four reductions over the states, and the output loss."""
    credit = state.multiplier + rho * state.error
    return TelemetrySums(
        _layer_sum(credit**2),
        _layer_sum(state.error**2),
        _layer_sum(state.multiplier**2),
        -_layer_sum(credit * adjoint),
        loss,
    )


def _finish(sums: TelemetrySums, adjoint_sq, batch, rho) -> Telemetry:
    r"""`Telemetry` from the whole batch's sums: RMS norms $\sqrt{\sum_b \|v_b\|^2 / B}$, energies
    $\sum_b\|e_{i,b}\|^2 / 2\rho B$ and the output loss's batch mean, and the cosine
    $\langle e_i, -\delta_i\rangle / (\|e_i\|\,\|\delta_i\|)$ over the whole batch."""
    norms = jnp.sqrt(sums.credit_sq * adjoint_sq[None])
    return Telemetry(
        credit=jnp.sqrt(sums.credit_sq / batch),
        error=jnp.sqrt(sums.error_sq / batch),
        multiplier=jnp.sqrt(sums.multiplier_sq / batch),
        energy=jnp.concatenate(
            [sums.credit_sq / (2.0 * rho * batch), (sums.loss / batch)[:, None]], axis=1
        ),
        alignment=jnp.where(
            norms > _TINY, sums.credit_against_adjoint / jnp.maximum(norms, _TINY), 0.0
        ),
        bp_adjoint=jnp.sqrt(adjoint_sq / batch),
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
    batch_axis: str | None = None,
    fused: bool | None = None,
) -> tuple[InferenceState, Telemetry | None]:
    r"""Run PC-ALM inference (Seely & Gould 2026, Algorithm 1); `alpha = 0` is PC.

    Starting from the forward pass with $\lambda = 0$, each of `steps` iterations takes

    $$\lambda \leftarrow \lambda + \alpha\, r \ (\text{from the second iteration on}),\qquad
      h \leftarrow h - \eta\, \partial_h \mathcal L_\rho(h, \lambda)$$

    so that there are $T$ primal and $T-1$ dual steps, and the returned multipliers are those
    of the last primal step (the ones the weight update uses). Where it is the faster
    (`pcviz.rules._fused.supports`: a CPU with AVX-512 or AVX2, ReLU or linear units, width
    16, 32 or 64) the loop is one call of the fused kernel, which does each layer's whole step
    while its blocks are in cache; elsewhere it is one `lax.scan` whose body is two batched
    contractions (`state_gradient`, `predictions`) and the elementwise work fused around
    them. Either way the telemetry is four batch sums per step, finished after the loop.

    **Arguments:**

    - `model`, `x` `(B, D)`, one-hot `y` `(B, K)`.
    - `steps`: $T$ (static). `eta`, `rho`, `alpha`: $\eta_h$ (per sample), $\rho$, $\alpha$.
    - `record`: also return `Telemetry` (computed in the loop, reduced over the batch).
    - `batch_axis`: inside `jax.shard_map` with the batch split over that mesh axis, the name
      of the axis: the telemetry then covers the whole batch (one `psum` after the loop).
    - `fused`: run the fused CPU kernel (`True`), the `lax.scan` (`False`), or the kernel
      where it is the faster of the two (`None`, the default: `pcviz.rules._fused.supports`).

    **Returns:** `(state, telemetry)`: the final `InferenceState` and `Telemetry` or `None`.
    """
    first = model.first_hidden(x)
    incoming = incoming_weights(model)
    h0 = model.states(x)
    start = InferenceState(h0, h0 - predictions(model, first, h0), jnp.zeros_like(h0))

    def loss(h: States) -> Array:
        return jnp.sum(output_loss(model, h, y))

    sums: TelemetrySums | None
    adjoint_sq: Array | None
    if _fused.supports(model, h0.dtype) if fused is None else fused:
        out = _fused.fused_infer(model, first, start.h, start.error, incoming, y, steps=steps,
                                 eta=eta, rho=rho, alpha=alpha, record=record)
        final = InferenceState(out.h, out.error, out.multiplier)
        sums = TelemetrySums(out.credit_sq, out.error_sq, out.multiplier_sq,
                             out.credit_against_adjoint, out.loss)
        adjoint_sq = out.adjoint_sq
    else:
        adjoint = bp_adjoints(model, x, y) if record else None
        final, sums = _scan(model, first, incoming, y, start, steps=steps, eta=eta, rho=rho,
                            alpha=alpha, adjoint=adjoint, loss=loss)
        adjoint_sq = None if adjoint is None else _layer_sum(adjoint**2)
    if not record or sums is None or adjoint_sq is None:
        return final, None
    sums = sums._replace(loss=jnp.concatenate([sums.loss[1:], loss(final.h)[None]]))
    totals = (sums, adjoint_sq, x.shape[0])
    if batch_axis is not None:
        totals = jax.lax.psum(totals, batch_axis)
    return final, _finish(*totals, rho)


def _scan(model: ResidualMLP, first, incoming, y, start: InferenceState, *, steps: int, eta,
          rho, alpha, adjoint, loss) -> tuple[InferenceState, TelemetrySums | None]:
    """`infer`'s loop as XLA's `lax.scan`: the final state and the per-step sums (or
    `None` without an `adjoint` to record against)."""

    def step(state: InferenceState, t):
        multiplier = state.multiplier + jnp.where(t > 0, alpha, 0.0) * state.error
        credit = multiplier + rho * state.error
        h = state.h - eta * state_gradient(model, state.h, y, credit, incoming=incoming)
        new = InferenceState(h, h - predictions(model, first, h), multiplier)
        # the loss of the state this step starts from shares state_gradient's readout; it is
        # the previous row's, shifted into place after the loop
        return new, (None if adjoint is None else _sums(new, rho, adjoint, loss(state.h)))

    return jax.lax.scan(step, start, jnp.arange(steps))


@partial(jax.jit, static_argnames=("iterations",))
def constraint_spectral_norm(
    model: ResidualMLP, x: Float[Array, "batch input"], *, iterations: int = 64
) -> Array:
    r"""$\lambda_{\max}(A^\top A)$ by power iteration, $A = \partial r / \partial h$ at the
    forward pass.

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


def auto_eta(model: ResidualMLP, x: Float[Array, "batch input"]) -> Float[Array, ""]:
    """The default activity step $\\eta_h = 1/\\lambda_{\\max}(A^\\top A)$ (docs/science.md,
    "PC-ALM")."""
    return 1.0 / constraint_spectral_norm(model, x)


def resolve_eta(eta: float | str, model: ResidualMLP, x: Float[Array, "batch input"]) -> float:
    """The activity step $\\eta_h$ a configuration's `eta` stands for: a number is itself,
    `"auto"` is `auto_eta(model, x)` on the batch `x` (`(B, D)`) at the weights `model`."""
    return float(auto_eta(model, x)) if eta == AUTO_ETA else float(eta)
