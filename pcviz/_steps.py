"""Jitted training steps for a group of rules, built from the public rule API only.

A group is either BP alone or several inference rules (PC, PC-ALM) whose models are stacked
along a leading rule axis and stepped as one batched computation (`jax.vmap`): the rules differ
only in their dual step `alpha`, which is traced, so PC and PC-ALM share one compiled program.
Each function is jitted once per static configuration and cached by JAX across sessions.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple, TypeAlias

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
from jaxtyping import Array, Bool, Float, Int

from . import _devices
from .model import ResidualMLP, mse_loss
from .rules import Telemetry, bp_grads, inference_weight_grads

Scalar: TypeAlias = float | Float[Array, ""]
"""A step size or rate: a Python number or a traced scalar."""
OptState: TypeAlias = optax.OptState
"""An optax optimiser state (a pytree; stacked along the rule axis where the models are)."""

_OPTIMISERS = {
    "adam": optax.adam,
    "adamw": optax.adamw,
    "sgd": optax.sgd,
    "momentum": partial(optax.sgd, momentum=0.9),
    "rmsprop": optax.rmsprop,
    "lamb": optax.lamb,
}


def make_optimizer(name: str, learning_rate: Scalar) -> optax.GradientTransformation:
    """An optax optimiser by name whose learning rate (alone) lives in its state, so that it
    can change between steps without recompiling."""
    factory = _OPTIMISERS[name]
    return optax.inject_hyperparams(lambda learning_rate: factory(learning_rate))(
        learning_rate=learning_rate
    )


class StepMetrics(NamedTuple):
    """Per rule, on the batch just used (before the update): `loss`, `accuracy`, and
    `finite` (False when the loss or the updated weights are NaN/Inf)."""

    loss: Float[Array, "*rules"]
    accuracy: Float[Array, "*rules"]
    finite: Bool[Array, "*rules"]


def _accuracy(yhat: Float[Array, "batch output"],
              y: Float[Array, "batch output"]) -> Float[Array, ""]:
    return jnp.mean(jnp.argmax(yhat, -1) == jnp.argmax(y, -1))


def _all_finite(tree: ResidualMLP) -> Bool[Array, ""]:
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


def _apply(optimizer: str, grads: ResidualMLP, opt_state: OptState, model: ResidualMLP,
           lr: Scalar, active: Bool[Array, ""]) -> tuple[ResidualMLP, OptState, Bool[Array, ""]]:
    """One optimiser step; a rule that is inactive or would become non-finite keeps its state."""
    opt_state = opt_state._replace(hyperparams={**opt_state.hyperparams, "learning_rate": lr})
    with jax.numpy_dtype_promotion("standard"):  # optax raises int counters to float powers
        updates, new_state = make_optimizer(optimizer, lr).update(grads, opt_state, model)
    new_model = optax.apply_updates(model, updates)
    keep = active & _all_finite(new_model)
    pick = partial(jax.tree_util.tree_map, lambda new, old: jnp.where(keep, new, old))
    return pick(new_model, model), pick(new_state, opt_state), keep


def _one_bp_step(model: ResidualMLP, opt_state: OptState, active: Bool[Array, ""],
                 x: Float[Array, "batch input"], y: Float[Array, "batch output"], lr: Scalar,
                 opt: str) -> tuple[ResidualMLP, OptState, StepMetrics]:
    grads, loss = bp_grads(model, x, y)
    model_new, state_new, keep = _apply(opt, grads, opt_state, model, lr, active)
    metrics = StepMetrics(loss, _accuracy(model(x), y), keep & jnp.isfinite(loss))
    return model_new, state_new, metrics


@partial(jax.jit, static_argnames=("optimizer",))
def bp_step(models: ResidualMLP, opt_states: OptState, active: Bool[Array, " rules"],
            x: Float[Array, "batch input"], y: Float[Array, "batch output"], lr: Scalar, *,
            optimizer: str) -> tuple[ResidualMLP, OptState, StepMetrics]:
    """One BP training step of stacked models (a leading rule axis of size 1).

    **Returns:** `(models, opt_states, StepMetrics)`.
    """
    one = partial(_one_bp_step, x=x, y=y, lr=lr, opt=optimizer)
    return jax.vmap(one)(models, opt_states, active)


def _one_inference_step(
    model: ResidualMLP, opt_state: OptState, alpha: Scalar, active: Bool[Array, ""],
    x: Float[Array, "batch input"], y: Float[Array, "batch output"], eta: Scalar, rho: Scalar,
    lr: Scalar, steps: int, record: bool, opt: str, batch_axis: str | None = None,
) -> tuple[ResidualMLP, OptState, StepMetrics, Telemetry | None]:
    """One rule's step. With `batch_axis` (inside `jax.shard_map`, the batch split over that
    axis), the weight gradient, loss and accuracy are averaged over the whole batch."""
    grads, _, telemetry = inference_weight_grads(
        model, x, y, steps=steps, eta=eta, rho=rho, alpha=alpha, record=record,
        batch_axis=batch_axis)
    yhat = model(x)
    loss, accuracy = jnp.mean(mse_loss(yhat, y)), _accuracy(yhat, y)
    if batch_axis is not None:
        loss, accuracy = jax.lax.pmean((loss, accuracy), batch_axis)
    model_new, state_new, keep = _apply(opt, grads, opt_state, model, lr, active)
    metrics = StepMetrics(loss, accuracy, keep & jnp.isfinite(loss))
    return model_new, state_new, metrics, telemetry


def stacked_inference_step(
    models: ResidualMLP, opt_states: OptState, alphas: Float[Array, " rules"],
    active: Bool[Array, " rules"], x: Float[Array, "batch input"],
    y: Float[Array, "batch output"], eta: Scalar, rho: Scalar, lr: Scalar, *, steps: int,
    record: bool, optimizer: str, batch_axis: str | None = None,
) -> tuple[ResidualMLP, OptState, StepMetrics, Telemetry | None]:
    """`inference_step`'s computation on one device's share: every stacked rule (`vmap`) on
    this device's samples, averaged over `batch_axis` when the batch is split over it."""
    one = partial(
        _one_inference_step, x=x, y=y, eta=eta, rho=rho, lr=lr, steps=steps, record=record,
        opt=optimizer, batch_axis=batch_axis,
    )
    return jax.vmap(one)(models, opt_states, alphas, active)


@partial(jax.jit, static_argnames=("mesh", "steps", "record", "optimizer"))
def inference_step_program(*args: Any, mesh: Mesh | None, steps: int, record: bool,
                           optimizer: str) -> tuple[ResidualMLP, OptState, StepMetrics,
                                                    Telemetry | None]:
    """`inference_step`'s compiled program: `stacked_inference_step` over `mesh`'s devices
    (the rules split over its `lead` axis), or on one device when `mesh` is `None`."""
    step = partial(stacked_inference_step, steps=steps, record=record, optimizer=optimizer)
    if mesh is None:
        return step(*args)
    lead, same = P(_devices.LEAD), P()
    split = jax.shard_map(
        step,
        mesh=mesh,
        in_specs=(lead, lead, lead, lead, same, same, same, same, same),
        out_specs=lead,
    )
    with _devices.threads_per_device(mesh):
        return split(*args)


def inference_step(
    models: ResidualMLP,
    opt_states: OptState,
    alphas: Float[Array, " rules"],
    active: Bool[Array, " rules"],
    x: Float[Array, "batch input"],
    y: Float[Array, "batch output"],
    eta: Scalar,
    rho: Scalar,
    lr: Scalar,
    *,
    steps: int,
    record: bool,
    optimizer: str,
) -> tuple[ResidualMLP, OptState, StepMetrics, Telemetry | None]:
    """One training step of every stacked inference rule, batched with `jax.vmap` and laid
    over every device (`pcviz._devices.step_mesh`): PC and PC-ALM on a device (a core) each,
    so that two rules cost about one. One compiled program; on a single device it is the
    plain batched step. The stacked weights and optimiser states stay on their devices from
    one step to the next.

    **Returns:** `(models, opt_states, StepMetrics, Telemetry | None)`, each with a leading
    rule axis.
    """
    mesh = _step_mesh(models, alphas, x, steps)
    if mesh is not None:
        models, opt_states, alphas, active = _devices.put_lead(
            (models, opt_states, alphas, active), mesh)
    return inference_step_program(models, opt_states, alphas, active, x, y, eta, rho, lr,
                                  mesh=mesh, steps=steps, record=record, optimizer=optimizer)


def _step_mesh(models: ResidualMLP, alphas: Float[Array, " rules"],
               x: Float[Array, "batch input"], steps: int) -> Mesh | None:
    work = _devices.step_work(models.w_hidden.shape, steps=steps, batch=len(x))
    return _devices.step_mesh(len(alphas), work=work)


def _lower(models, opt_states, alphas, active, x, y, eta, rho, lr, *, steps, record, optimizer):
    """`inference_step` lowered for these arguments (for compile-time measurements)."""
    return inference_step_program.lower(
        models, opt_states, alphas, active, x, y, eta, rho, lr,
        mesh=_step_mesh(models, alphas, x, steps), steps=steps, record=record,
        optimizer=optimizer)


# the compiled program's introspection, on the step itself (compile-cache checks, lowering)
inference_step._cache_size = inference_step_program._cache_size  # type: ignore[attr-defined]
inference_step.lower = _lower  # type: ignore[attr-defined]


def _layer_sums(a: ResidualMLP, b: ResidualMLP) -> tuple[
        Float[Array, " layers"], Float[Array, " layers"], Float[Array, " layers"]]:
    """Per weight layer (`W_1`, each hidden `W_i`, `W_L`): `(<a, b>, |a|^2, |b|^2)`, each `(L,)`."""

    def parts(m):
        return [m.w_in.reshape(1, -1), m.w_hidden.reshape(m.w_hidden.shape[0], -1),
                m.w_out.reshape(1, -1)]

    dots, na, nb = [], [], []
    for pa, pb in zip(parts(a), parts(b)):
        dots.append(jnp.sum(pa * pb, -1))
        na.append(jnp.sum(pa**2, -1))
        nb.append(jnp.sum(pb**2, -1))
    return jnp.concatenate(dots), jnp.concatenate(na), jnp.concatenate(nb)


def _layer_cosines(a: ResidualMLP, b: ResidualMLP) -> Float[Array, " layers_plus_one"]:
    """Cosine per weight layer (`W_1`, each hidden `W_i`, `W_L`), then overall: `(L + 1,)`."""
    dots, na, nb = _layer_sums(a, b)
    layer = dots / jnp.sqrt(jnp.maximum(na * nb, 1e-30))
    total = jnp.sum(dots) / jnp.sqrt(jnp.maximum(jnp.sum(na) * jnp.sum(nb), 1e-30))
    return jnp.concatenate([layer, total[None]])


def _layer_norm_ratios(a: ResidualMLP, b: ResidualMLP) -> Float[Array, " layers_plus_one"]:
    r"""$\|a_\ell\| / \|b_\ell\|$ per weight layer, then of the whole gradients: `(L + 1,)`."""
    _, na, nb = _layer_sums(a, b)
    layer = jnp.sqrt(na / jnp.maximum(nb, 1e-30))
    total = jnp.sqrt(jnp.sum(na) / jnp.maximum(jnp.sum(nb), 1e-30))
    return jnp.concatenate([layer, total[None]])


@partial(jax.jit, static_argnames=("steps",))
def gradient_comparison(
    models: ResidualMLP, alphas: Float[Array, " rules"], x: Float[Array, "batch input"],
    y: Float[Array, "batch output"], eta: Scalar, rho: Scalar, *, steps: int,
) -> tuple[Float[Array, "rules layers_plus_one"], Float[Array, "rules layers_plus_one"]]:
    r"""Each stacked rule's weight gradient $g$ against BP's $g^{\mathrm{BP}}$ at the same weights.

    $$\cos_\ell = \frac{\langle g_\ell, g^{\mathrm{BP}}_\ell\rangle}
      {\|g_\ell\|\,\|g^{\mathrm{BP}}_\ell\|}, \qquad
      n_\ell = \frac{\|g_\ell\|}{\|g^{\mathrm{BP}}_\ell\|}$$

    **Returns:** `(cosines, norm_ratios)`, each `(rules, L + 1)`: per weight layer (input
    first), then of the whole gradient.
    """

    def one(model, alpha):
        grads, _, _ = inference_weight_grads(model, x, y, steps=steps, eta=eta, rho=rho,
                                             alpha=alpha, record=False)
        reference = bp_grads(model, x, y)[0]
        return _layer_cosines(grads, reference), _layer_norm_ratios(grads, reference)

    return jax.vmap(one)(models, alphas)


def gradient_alignment(
    models: ResidualMLP, alphas: Float[Array, " rules"], x: Float[Array, "batch input"],
    y: Float[Array, "batch output"], eta: Scalar, rho: Scalar, *, steps: int,
) -> Float[Array, "rules layers_plus_one"]:
    """Cosine of each stacked rule's weight gradient with BP's at the same weights (the first
    half of `gradient_comparison`, the same compiled program).

    **Returns:** `(rules, L + 1)`: per weight layer (input first), then overall.
    """
    return gradient_comparison(models, alphas, x, y, eta, rho, steps=steps)[0]


@jax.jit
def evaluate(models: ResidualMLP, x: Float[Array, "test input"],
             labels: Int[Array, " test"]) -> tuple[Float[Array, " rules"], Float[Array, " rules"]]:
    """Stacked models' `(accuracy, mean loss)` on `x` with integer `labels`, each `(rules,)`."""

    def one(model):
        yhat = model(x)
        y = jax.nn.one_hot(labels, yhat.shape[-1], dtype=yhat.dtype)
        return jnp.mean(jnp.argmax(yhat, -1) == labels), jnp.mean(mse_loss(yhat, y))

    return jax.vmap(one)(models)


@partial(jax.jit, static_argnames=("count", "optimizer"))
def init_group(model: ResidualMLP, lr: Scalar, *, count: int,
               optimizer: str) -> tuple[ResidualMLP, OptState]:
    """`count` stacked copies of `model` and their optimiser states, in one compiled program."""
    models = stack([model] * count)
    return models, jax.vmap(make_optimizer(optimizer, lr).init)(models)


def stack(trees: list):
    """Stack pytrees along a new leading axis."""
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *trees)


def unstack(tree, index: int):
    """The `index`-th pytree of a stacked one."""
    return jax.tree_util.tree_map(lambda leaf: leaf[index], tree)


__all__ = [
    "StepMetrics",
    "bp_step",
    "evaluate",
    "gradient_alignment",
    "gradient_comparison",
    "inference_step",
    "init_group",
    "make_optimizer",
    "stack",
    "stacked_inference_step",
    "unstack",
]
