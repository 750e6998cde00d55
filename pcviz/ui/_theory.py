r"""Streamlit side of the linear theory page: exactness in a small linear net, and the
per-mode theory of the joint (h, λ) iteration (stability, eigenvalues, dispersion).

Exactness runs `pcviz.weight_grads` in float64 (`jax.enable_x64`) on a log grid of T up to
2000 L. Each T compiles its own inference loop, so the grid points run on a small thread pool
and land in a process-wide memo (`st.cache_resource`): a second visit is instant.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import streamlit as st

from .. import theory
from ..config import ModelConfig, RuleConfig
from ..model import init_model
from ..rules import auto_eta, weight_grads
from . import _page as params

DEFAULTS: dict[str, Any] = {"theory_depth": 8, "sigma": "chain"}
"""Page settings in the URL."""

DEPTH_RANGE = (3, 16)
GRID_POINTS = 8
STEPS_PER_LAYER = 2000
WIDTH, INPUT, OUTPUT, BATCH = 16, 16, 4, 16
WORKERS = 2
MEMO_SIZE = 32


class Exactness(NamedTuple):
    """Relative error of each rule's weight gradient to BP's, per number of steps T."""

    depth: int
    eta: float
    steps: np.ndarray
    errors: dict[str, np.ndarray]


class Point(NamedTuple):
    """The configuration's point in the theory: its step sizes and worst singular value."""

    eta: float
    rho: float
    alpha: float
    sigma_max: float
    eta_note: str


@st.cache_resource
def _memo() -> tuple[threading.Lock, OrderedDict]:
    return threading.Lock(), OrderedDict()


def exactness_steps(depth: int) -> np.ndarray:
    """`GRID_POINTS` values of T from 1 to 2000 L, evenly spaced in log."""
    top = np.log10(STEPS_PER_LAYER * depth)
    return np.unique(np.round(np.logspace(0, top, GRID_POINTS)).astype(int))


def _problem(depth: int):
    """A linear muPC net and a random batch, in float64 (call inside `enable_x64`); drawn on
    the host, so that building it compiles nothing."""
    cfg = ModelConfig(depth=depth, width=WIDTH, activation="linear", param="mupc",
                      input_dim=INPUT, output_dim=OUTPUT)
    model = init_model(cfg, jax.random.PRNGKey(0))
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.standard_normal((BATCH, INPUT)), dtype=jnp.float64)
    y = jnp.asarray(np.eye(OUTPUT)[rng.integers(0, OUTPUT, BATCH)], dtype=jnp.float64)
    return model, x, y


def _relative_error(grads, reference) -> float:
    a = jax.tree_util.tree_leaves(eqx.filter(grads, eqx.is_array))
    b = jax.tree_util.tree_leaves(eqx.filter(reference, eqx.is_array))
    num = sum(float(jnp.sum((u - v) ** 2)) for u, v in zip(a, b))
    den = sum(float(jnp.sum(v**2)) for v in b)
    return float(np.sqrt(num / den)) if den > 0 else float("nan")


def _errors_at(depth: int, steps: int, eta: float, rho: float, alpha: float) -> dict[str, float]:
    with jax.enable_x64(True):
        model, x, y = _problem(depth)
        reference, _ = weight_grads(model, x, y, RuleConfig(rule="bp"))
        out = {}
        for rule in ("pc", "pcalm"):
            cfg = RuleConfig(rule=rule, steps=int(steps), eta=eta, rho=rho, alpha=alpha,
                             record=False)
            grads, _ = weight_grads(model, x, y, cfg)
            out[rule] = _relative_error(grads, reference)
        return out


def _auto_eta(depth: int) -> float:
    with jax.enable_x64(True):
        model, x, _ = _problem(depth)
        return float(auto_eta(model, x))


def exactness(depth: int, rule: RuleConfig) -> Exactness | None:
    """PC and PC-ALM against BP in a linear net of `depth` layers, with the configuration's
    η_h (auto: 1/λ_max on this net), ρ and α; a progress bar while it computes. None after
    an `st.error` if it fails."""
    try:
        return _exactness(depth, rule)
    except Exception as err:  # noqa: BLE001 - the visitor sees a message, never a traceback
        st.error(f"The exactness check failed ({type(err).__name__}: {err}). Try a smaller "
                 "depth L or the default η_h, ρ, α.")
        return None


def _exactness(depth: int, rule: RuleConfig) -> Exactness:
    lock, memo = _memo()
    key = (depth, rule.eta, rule.rho, rule.alpha)
    with lock:
        if key in memo:
            memo.move_to_end(key)
            return memo[key]
    eta = _auto_eta(depth) if rule.eta == "auto" else float(rule.eta)
    steps = exactness_steps(depth)
    bar = st.progress(0.0, text=f"Running {len(steps)} inference lengths T in float64…")
    rows: dict[int, dict[str, float]] = {}
    with ThreadPoolExecutor(WORKERS) as pool:
        jobs = {pool.submit(_errors_at, depth, int(t), eta, rule.rho, rule.alpha): int(t)
                for t in steps}
        for done in as_completed(jobs):
            rows[jobs[done]] = done.result()
            bar.progress(len(rows) / len(steps), text=f"T = {jobs[done]} done "
                         f"({len(rows)} of {len(steps)})")
    bar.empty()
    errors = {r: np.array([rows[int(t)][r] for t in steps]) for r in ("pc", "pcalm")}
    result = Exactness(depth, eta, steps, errors)
    with lock:
        memo[key] = result
        while len(memo) > MEMO_SIZE:
            memo.popitem(last=False)
    return result


def exactness_csv(result: Exactness) -> str:
    """`T,pc,pcalm` rows of relative errors."""
    lines = ["T,pc_relative_error,pcalm_relative_error"]
    lines += [f"{int(t)},{float(p)!r},{float(a)!r}" for t, p, a in
              zip(result.steps, result.errors["pc"], result.errors["pcalm"])]
    return "\n".join(lines) + "\n"


def exactness_json(result: Exactness) -> str:
    """The exactness curve with its settings, as JSON (non-finite values as null)."""
    import json

    def clean(values):
        return [float(v) if np.isfinite(v) else None for v in values]

    return json.dumps({
        "depth": result.depth, "width": WIDTH, "activation": "linear", "param": "mupc",
        "eta": result.eta, "steps": [int(t) for t in result.steps],
        "relative_error": {r: clean(v) for r, v in result.errors.items()},
    })


# ---------------------------------------------------------------------------- mode theory


def controls() -> str:
    """Seed the page's settings (the depth of the exactness net, the choice of σ_max) from
    the URL; returns the σ_max choice, `"chain"` or `"limit"`."""
    params.seed("theory_depth", DEFAULTS["theory_depth"], params.int_in(*DEPTH_RANGE))
    params.seed("sigma", DEFAULTS["sigma"], params.one_of(("chain", "limit")))
    return st.session_state["sigma"]


def sigma_labels(depth: int) -> dict[str, str]:
    """How the σ_max choices read for a net of `depth` layers."""
    chain = float(theory.chain_singular_values(depth)[0])
    return {"chain": f"of an identity residual chain of depth L = {depth} (σ_max = {chain:.4f})",
            "limit": "its deep limit σ_max = 2"}


def point(depth: int, rule: RuleConfig, sigma: str) -> Point:
    """The configuration's (η_h, ρ, α) and σ_max: of an identity residual chain of `depth`
    layers (`sigma="chain"`) or its deep limit 2 (`"limit"`); `eta="auto"` is 1/σ_max²."""
    sigma_max = float(theory.chain_singular_values(depth)[0]) if sigma == "chain" else 2.0
    if rule.eta == "auto":
        eta = 1.0 / sigma_max**2
        note = f"η_h = auto, taken as 1/σ_max² = {eta:.3g}"
    else:
        eta, note = float(rule.eta), f"η_h = {float(rule.eta):g}"
    return Point(eta, float(rule.rho), float(rule.alpha), sigma_max, note)


def region(p: Point) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(etas, alphas, stable)` on a grid wide enough to show the point and the boundary."""
    eta_top = max(2.2 / (p.rho * p.sigma_max**2), 1.3 * p.eta)
    etas = np.linspace(eta_top / 240, eta_top, 240)
    alphas = np.linspace(0.0, max(4.0, 1.3 * p.alpha), 161)
    return etas, alphas, theory.stability_region(etas, alphas, rho=p.rho, sigma_max=p.sigma_max)


def eigenvalues(depth: int, p: Point) -> tuple[np.ndarray, np.ndarray]:
    """`(sigmas, mu)`: the chain's singular values and both eigenvalues of each mode."""
    sigmas = theory.chain_singular_values(depth)
    return sigmas, theory.transient_eigenvalues(sigmas, eta=p.eta, rho=p.rho, alpha=p.alpha)


def dispersions(p: Point) -> tuple[theory.Dispersion, theory.Dispersion, float]:
    """PC's and PC-ALM's dispersion; PC-ALM uses α = 1 when the configuration's α is 0.

    Wavenumbers run up to where η_hρσ²(k) = 0.9 (or π): past η_hρσ² = 1 PC's factor turns
    negative, a sign flip every step that would read as a phase of π."""
    reach = np.sqrt(0.9 / (4.0 * p.eta * p.rho))
    top = 2.0 * np.arcsin(reach) if reach < 1 else np.pi
    k = np.linspace(top / 200, top, 200)
    alpha = p.alpha if p.alpha > 0 else 1.0
    return (theory.dispersion(k, eta=p.eta, rho=p.rho, alpha=0.0),
            theory.dispersion(k, eta=p.eta, rho=p.rho, alpha=alpha), alpha)


def eigenvalues_csv(sigmas: np.ndarray, mu: np.ndarray) -> str:
    """`sigma,re_plus,im_plus,re_minus,im_minus,modulus` per mode."""
    lines = ["sigma,mu_plus_re,mu_plus_im,mu_minus_re,mu_minus_im,max_modulus"]
    rows = [(s, m[0].real, m[0].imag, m[1].real, m[1].imag, np.abs(m).max())
            for s, m in zip(sigmas, mu)]
    lines += [",".join(repr(float(v)) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def keep_in_url() -> None:
    """Mirror this page's settings in the address."""
    params.mirror(DEFAULTS)
