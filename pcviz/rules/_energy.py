"""Energies and their state gradients, every layer at once (the bottom of the engine).

Notation (docs/science.md, "Notation"): states $h_i$, predictions $f_i(h_{i-1})$, prediction
errors $r_i = h_i - f_i(h_{i-1})$, multipliers $\\lambda_i$, composite credit
$e_i = \\lambda_i + \\rho r_i$.
Arrays of states, errors, multipliers and credit have shape `(L-1, B, N)`; index 0 is the first
hidden layer. Everything here is local: given the states, each layer's quantities depend only on
its own weights and the layer below, and all of them come from one batched contraction.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..model import ResidualMLP, mse_loss

States = Float[Array, "layers batch width"]


def residuals(model: ResidualMLP, x: Float[Array, "batch input"], h: States) -> States:
    """Prediction errors $r_i = h_i - f_i(h_{i-1})$, shape `(L-1, B, N)`."""
    return h.at[0].add(-model.first_hidden(x)).at[1:].add(-model.hidden_predictions(h[:-1]))


def output_loss(model: ResidualMLP, h: States, y: Float[Array, "batch output"]) -> Array:
    """Per-sample loss $\\ell(\\hat y(h_{L-1}), y)$, shape `(B,)`."""
    return mse_loss(model.readout(h[-1]), y)


def lagrangian(
    model: ResidualMLP,
    x: Float[Array, "batch input"],
    y: Float[Array, "batch output"],
    h: States,
    multiplier: States,
    rho: float | Array,
) -> Array:
    r"""The augmented Lagrangian, averaged over the batch.

    $$\mathcal L_\rho = \ell + \sum_i \lambda_i^\top r_i + \frac{\rho}{2}\sum_i \|r_i\|^2$$

    With `multiplier` zero it is PC's energy $F = \ell + \frac\rho2\sum_i\|r_i\|^2$.

    **Arguments:** `model`; `x` `(B, D)`; one-hot `y` `(B, K)`; states `h` and `multiplier`
    `(L-1, B, N)`; `rho` ($\rho$).

    **Returns:** a scalar.
    """
    r = residuals(model, x, h)
    constraint = jnp.sum(multiplier * r + 0.5 * rho * r**2, axis=(0, 2))
    return jnp.mean(output_loss(model, h, y) + constraint)


def layer_energies(
    model: ResidualMLP,
    h: States,
    y: Float[Array, "batch output"],
    credit_sq: Float[Array, "layers batch"],
    rho: float | Array,
) -> Float[Array, " layers_plus_one"]:
    r"""Per-layer energy, batch means: $\frac{\rho}{2}\|r_i + \lambda_i/\rho\|^2 = \|e_i\|^2/2\rho$
    for the $L-1$ hidden layers, then the output loss $\ell$; shape `(L,)`.

    `credit_sq` holds the per-sample $\|e_i\|^2$, `(L-1, B)`. The sum is
    $\mathcal L_\rho + \sum_i \|\lambda_i\|^2 / 2\rho$ (the Lagrangian up to a term constant in
    the states).
    """
    hidden = jnp.mean(credit_sq, axis=-1) / (2.0 * rho)
    return jnp.concatenate([hidden, jnp.mean(output_loss(model, h, y))[None]])


def state_gradient(
    model: ResidualMLP,
    h: States,
    y: Float[Array, "batch output"],
    credit: States,
) -> States:
    r"""Per-sample gradient of $\mathcal L_\rho$ with respect to the states.

    $$\frac{\partial \mathcal L_\rho}{\partial h_i} = e_i - J_{i+1}^\top e_{i+1}
      \quad (i < L-1), \qquad
      \frac{\partial \mathcal L_\rho}{\partial h_{L-1}} = e_{L-1} + \frac{\partial\ell}{\partial h_{L-1}}$$

    with $e_i = \lambda_i + \rho r_i$ (`credit`) and $J_{i+1} = \partial f_{i+1}/\partial h_i$.
    All $J^\top e$ products come from one vector-Jacobian product of the batched predictions.

    **Returns:** `(L-1, B, N)`, the gradient of the *summed* (not averaged) batch energy, so
    that a step size `eta` is per sample.
    """
    yhat, readout_vjp = jax.vjp(model.readout, h[-1])
    (loss_grad,) = readout_vjp(yhat - y)
    _, predict_vjp = jax.vjp(model.hidden_predictions, h[:-1])
    (passed_down,) = predict_vjp(credit[1:])
    return credit.at[:-1].add(-passed_down).at[-1].add(loss_grad)
