"""A straightforward PC / PC-ALM implementation, written for the benchmark only.

What a competent person would write first from docs/science.md: a per-layer Python list of
weights, the energy as a Python loop over layers, `jax.grad` of the energy with respect to the
list of states for each inference step inside one `lax.fori_loop`, then `jax.grad` with
respect to the list of weights; everything under one `jax.jit`. Same maths as the engine
(muPC scalings, identity skips, Algorithm 1: lambda reset to 0, T primal and T-1 dual steps,
weight credit from the multipliers of the last primal step, per-sample activity step).

Not part of pcviz; it imports nothing from it except to convert a `ResidualMLP` into lists.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

_PHI = {"linear": lambda h: h, "tanh": jnp.tanh, "relu": jax.nn.relu, "gelu": jax.nn.gelu}


def weights_from_model(model) -> list:
    """`[W_1, W_2, ..., W_{L-1}, W_L]` as separate arrays (from a `pcviz.ResidualMLP`)."""
    return [model.w_in, *[model.w_hidden[i] for i in range(model.w_hidden.shape[0])], model.w_out]


def statics_from_model(model) -> tuple:
    """The hashable constants the naive functions need: scales, activation, skip."""
    return (model.scale_in, model.scale_hidden, model.scale_out, model.activation, model.skip)


def _predict(ws, statics, x, hs, i):
    """f_i(h_{i-1}) for hidden layer i (0-based; layer 0 is fed by x)."""
    a_in, a_h, _, act, skip = statics
    if i == 0:
        return a_in * x @ ws[0].T
    below = hs[i - 1]
    out = a_h * _PHI[act](below) @ ws[i].T
    return below + out if skip else out


def forward_states(ws, statics, x) -> list:
    """The forward pass's hidden states h_1..h_{L-1} (a Python loop over layers)."""
    hs = []
    for i in range(len(ws) - 1):
        hs.append(_predict(ws, statics, x, hs, i))
    return hs


def residuals(ws, statics, x, hs) -> list:
    """r_i = h_i - f_i(h_{i-1}), one array per hidden layer."""
    return [hs[i] - _predict(ws, statics, x, hs, i) for i in range(len(hs))]


def energy(ws, hs, lams, x, y, statics, rho):
    """Augmented Lagrangian summed over the batch: l + sum_i lam_i.r_i + rho/2 ||r_i||^2."""
    _, _, a_out, act, _ = statics
    yhat = a_out * _PHI[act](hs[-1]) @ ws[-1].T
    total = 0.5 * jnp.sum((yhat - y) ** 2)
    for lam, r in zip(lams, residuals(ws, statics, x, hs)):
        total = total + jnp.sum(lam * r) + 0.5 * rho * jnp.sum(r**2)
    return total


@partial(jax.jit, static_argnames=("statics", "steps"))
def naive_weight_grads(ws, x, y, eta, rho, alpha, *, statics, steps):
    """PC-ALM (alpha = 0: PC) weight gradients, a list like `ws` (batch-mean energy)."""
    batch = x.shape[0]
    grad_h = jax.grad(energy, argnums=1)

    def primal(hs, lams):
        g = grad_h(ws, hs, lams, x, y, statics, rho)  # summed energy: eta is per sample
        return [h - eta * gi for h, gi in zip(hs, g)]

    hs = forward_states(ws, statics, x)
    lams = [jnp.zeros_like(h) for h in hs]
    hs = primal(hs, lams)

    def body(_, carry):
        hs, lams = carry
        rs = residuals(ws, statics, x, hs)
        lams = [lam + alpha * r for lam, r in zip(lams, rs)]
        return primal(hs, lams), lams

    hs, lams = jax.lax.fori_loop(0, steps - 1, body, (hs, lams))
    hs, lams = jax.lax.stop_gradient((hs, lams))
    return jax.grad(lambda w: energy(w, hs, lams, x, y, statics, rho) / batch)(ws)
