r"""The float64 exactness experiment of the linear theory: in a real linear muPC net, PC-ALM's
weight gradient reaches BP's as the number of inference steps $T$ grows, PC's does not.

$$e_{\text{rule}}(T) = \frac{\|g_{\text{rule}}(T) - g_{\mathrm{BP}}\|}{\|g_{\mathrm{BP}}\|}$$

Each $T$ compiles its own inference loop, so the page and the command line run one
`exactness_point` per $T$ as a task of the run service (`submit_exactness`) and
`gather_exactness` the results;
`exactness` runs the whole curve in this process. Re-exported by `pcviz.theory`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

EXACTNESS_NET = {"width": 16, "input_dim": 16, "output_dim": 4, "batch": 16}
"""The exactness experiment's linear muPC net and batch (its depth is chosen)."""
EXACTNESS_RULES = ("pc", "pcalm")


class ExactnessPoint(NamedTuple):
    r"""One number of steps $T$: the relative error of each rule's weight gradient to BP's,
    $\|g - g_{\mathrm{BP}}\| / \|g_{\mathrm{BP}}\|$ (`errors`, rule -> float), and the
    activity step `eta` used."""

    steps: int
    eta: float
    errors: dict[str, float]


class Exactness(NamedTuple):
    """The exactness curve: `depth`, `eta`, `(n,)` `steps` $T$ and rule -> `(n,)` `errors`."""

    depth: int
    eta: float
    steps: np.ndarray
    errors: dict[str, np.ndarray]


def exactness_steps(depth: int, *, points: int = 8, steps_per_layer: int = 2000) -> np.ndarray:
    r"""Up to `points` whole numbers of steps $T$ from 1 to `steps_per_layer` $\cdot L$, evenly
    spaced in $\log T$ (duplicates after rounding removed)."""
    if depth < 2 or points < 1 or steps_per_layer < 1:
        raise ValueError(f"depth={depth!r} must be at least 2 and points={points!r}, "
                         f"steps_per_layer={steps_per_layer!r} at least 1.")
    top = np.log10(steps_per_layer * depth)
    return np.unique(np.round(np.logspace(0, top, points)).astype(int))


def _linear_problem(depth: int):
    """A linear muPC net and a random batch in float64 (call inside `jax.enable_x64`); drawn
    on the host, so that building it compiles nothing."""
    import jax
    import jax.numpy as jnp

    from .config import ModelConfig
    from .model import init_model

    net = EXACTNESS_NET
    cfg = ModelConfig(depth=depth, width=net["width"], activation="linear", param="mupc",
                      input_dim=net["input_dim"], output_dim=net["output_dim"])
    model = init_model(cfg, jax.random.PRNGKey(0))
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.standard_normal((net["batch"], net["input_dim"])), dtype=jnp.float64)
    labels = rng.integers(0, net["output_dim"], net["batch"])
    y = jnp.asarray(np.eye(net["output_dim"])[labels], dtype=jnp.float64)
    return model, x, y


def _relative_error(grads, reference) -> float:
    import equinox as eqx
    import jax

    a = jax.tree_util.tree_leaves(eqx.filter(grads, eqx.is_array))
    b = jax.tree_util.tree_leaves(eqx.filter(reference, eqx.is_array))
    num = sum(float(np.sum((np.asarray(u) - np.asarray(v)) ** 2)) for u, v in zip(a, b))
    den = sum(float(np.sum(np.asarray(v) ** 2)) for v in b)
    return float(np.sqrt(num / den)) if den > 0 else float("nan")


def exactness_point(
    depth: int, steps: int, *, eta: float | str, rho: float, alpha: float
) -> ExactnessPoint:
    r"""PC's and PC-ALM's weight gradients after $T$ = `steps` inference steps against BP's,
    in float64, in the linear muPC net of `EXACTNESS_NET` with `depth` layers.

    $$e_{\text{rule}}(T) = \frac{\|g_{\text{rule}}(T) - g_{\mathrm{BP}}\|}{\|g_{\mathrm{BP}}\|}$$

    A task of the run service (each $T$ compiles its own inference loop).

    **Arguments:**

    - `depth`: $L \ge 2$; `steps`: $T \ge 1$.
    - `eta`, `rho`, `alpha`: keyword-only step sizes; `eta="auto"` is $1/\lambda_{\max}$ of
      this net's constraint Jacobian.

    **Returns:**

    An `ExactnessPoint`. Raises `ValueError` for a configuration the rules refuse.
    """
    import jax

    from .config import RuleConfig
    from .rules import resolve_eta, weight_grads

    if depth < 2 or steps < 1:
        raise ValueError(f"depth={depth!r} must be at least 2 and steps={steps!r} at least 1.")
    with jax.enable_x64(True):
        model, x, y = _linear_problem(depth)
        value = resolve_eta(eta, model, x)
        reference, _ = weight_grads(model, x, y, RuleConfig(rule="bp"))
        errors = {}
        for rule in EXACTNESS_RULES:
            cfg = RuleConfig(rule=rule, steps=int(steps), eta=value, rho=rho, alpha=alpha,
                             record=False)
            grads, _ = weight_grads(model, x, y, cfg)
            errors[rule] = _relative_error(grads, reference)
    return ExactnessPoint(int(steps), value, errors)


def submit_exactness(depth: int, steps, *, eta: float | str, rho: float, alpha: float) -> list:
    """One task of the run service per number of steps $T$ in `steps` (e.g.
    `exactness_steps`), each running `exactness_point` with these step sizes; returns the
    `pcviz.service.Job`s, whose results `gather_exactness` puts in order. Shared by the
    theory page (which polls them) and `python -m pcviz theory` (which waits)."""
    from . import service

    return [service.submit(exactness_point, depth, int(t), eta=eta, rho=rho, alpha=alpha,
                           label=f"exactness L={depth} T={int(t)}") for t in steps]


def gather_exactness(depth: int, points: list[ExactnessPoint]) -> Exactness:
    """The curve of `exactness_point` results (any order) for a net of `depth` layers."""
    if not points:
        raise ValueError("no exactness points to gather.")
    points = sorted(points, key=lambda p: p.steps)
    errors = {r: np.array([p.errors[r] for p in points]) for r in EXACTNESS_RULES}
    return Exactness(depth, points[0].eta, np.array([p.steps for p in points]), errors)


def exactness(depth: int, *, eta: float | str, rho: float, alpha: float,
              points: int = 8, steps_per_layer: int = 2000) -> Exactness:
    """The whole exactness curve in this process, one $T$ after another (`exactness_steps`
    then `exactness_point`); the page and the command line run the points as tasks."""
    grid = exactness_steps(depth, points=points, steps_per_layer=steps_per_layer)
    return gather_exactness(depth, [exactness_point(depth, int(t), eta=eta, rho=rho,
                                                    alpha=alpha) for t in grid])


def exactness_csv(result: Exactness) -> str:
    """`T,pc_relative_error,pcalm_relative_error` rows, as CSV text."""
    lines = ["T,pc_relative_error,pcalm_relative_error"]
    lines += [f"{int(t)},{float(p)!r},{float(a)!r}" for t, p, a in
              zip(result.steps, result.errors["pc"], result.errors["pcalm"])]
    return "\n".join(lines) + "\n"


def exactness_json(result: Exactness, **fields) -> str:
    """The exactness curve with its net and step sizes as JSON (non-finite values as null);
    `fields` (e.g. `rho`, `alpha`) are added at the top level."""
    import json

    from ._json import json_ready

    net = EXACTNESS_NET
    return json.dumps({
        "depth": result.depth, "width": net["width"], "batch": net["batch"],
        "activation": "linear", "param": "mupc", "dtype": "float64", "eta": result.eta,
        **fields, "steps": [int(t) for t in result.steps],
        "relative_error": {r: json_ready([float(e) for e in v]) for r, v in result.errors.items()},
    })
