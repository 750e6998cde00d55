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


def predictions(
    model: ResidualMLP, first: Float[Array, "batch width"], h: States
) -> States:
    """Every hidden layer's prediction $f_i(h_{i-1})$, `(L-1, B, N)`, given $f_1(x)$ (`first`,
    which does not change during inference): one batched contraction."""
    return jnp.concatenate([first[None], model.hidden_predictions(h[:-1])], axis=0)


def residuals(model: ResidualMLP, x: Float[Array, "batch input"], h: States) -> States:
    """Prediction errors $r_i = h_i - f_i(h_{i-1})$, shape `(L-1, B, N)`."""
    return h - predictions(model, model.first_hidden(x), h)


def incoming_weights(model: ResidualMLP) -> Float[Array, "layers width width"]:
    """The hidden weights indexed by the state they feed, `(L-1, N, N)`: entry $i$ is the
    $W$ that predicts hidden state $i$ from state $i-1$, and entry 0 (fed by the input) is
    zero. Indexed this way, the credit every layer passes down comes from one contraction of
    the whole credit array, with no copy of a slice of it."""
    return jnp.concatenate([jnp.zeros_like(model.w_hidden[:1]), model.w_hidden], axis=0)


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


def activation_slope(model: ResidualMLP, h: States) -> States:
    """$\\phi'(h)$ elementwise (one forward-mode product, fused with its use)."""
    return jax.jvp(model.phi, (h,), (jnp.ones_like(h),))[1]


def state_gradient(
    model: ResidualMLP,
    h: States,
    y: Float[Array, "batch output"],
    credit: States,
    *,
    incoming: Float[Array, "layers width width"] | None = None,
) -> States:
    r"""Per-sample gradient of $\mathcal L_\rho$ with respect to the states.

    $$\frac{\partial \mathcal L_\rho}{\partial h_i} = e_i - J_{i+1}^\top e_{i+1}
      \quad (i < L-1), \qquad
      \frac{\partial \mathcal L_\rho}{\partial h_{L-1}}
      = e_{L-1} + \frac{\partial\ell}{\partial h_{L-1}}$$

    with $e_i = \lambda_i + \rho r_i$ (`credit`), $J_{i+1}^\top e_{i+1} = s\,e_{i+1}
    + a_h\,\phi'(h_i) \odot W_{i+1}^\top e_{i+1}$ and
    $\partial\ell/\partial h_{L-1} = a_L\,\phi'(h_{L-1}) \odot W_L^\top(\hat y - y)$.
    Every $W^\top e$ comes from one batched contraction of the whole credit array with
    `incoming_weights(model)` (pass it to reuse it across inference steps).

    **Returns:** `(L-1, B, N)`, the gradient of the *summed* (not averaged) batch energy, so
    that a step size `eta` is per sample.
    """
    incoming = incoming_weights(model) if incoming is None else incoming
    slope = activation_slope(model, h)
    from_above = jnp.einsum("lnm,lbn->lbm", incoming, credit)[1:]
    passed_down = model.scale_hidden * slope[:-1] * from_above
    if model.skip:
        passed_down = passed_down + credit[1:]
    yhat = model.readout(h[-1])
    loss_grad = model.scale_out * slope[-1] * ((yhat - y) @ model.w_out)
    below = jnp.pad(passed_down, ((0, 1), (0, 0), (0, 0)))
    top = jnp.pad(loss_grad[None], ((h.shape[0] - 1, 0), (0, 0), (0, 0)))
    return credit - below + top
