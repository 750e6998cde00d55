r"""Streamlit side of the linear theory page: the exactness experiment on the run service,
and the per-mode theory of the joint (h, λ) iteration (stability, eigenvalues, dispersion).

Exactness runs `pcviz.theory.exactness_point` in float64 as one task of the run service per
number of steps T (`pcviz.theory.submit_exactness`, as `python -m pcviz theory` does; each T
compiles its own inference loop). The tasks are shared by every visitor with the same
(L, η_h, ρ, α) (`_pending.shared_task`): a rerun or a second visitor finds them running or
done. The page never waits for them: a fragment polls them and the
page draws the curve on the rerun after the last one. The mode theory is cheap and drawn at
once (`pcviz.theory.theory_point` and friends).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from .. import theory
from ..config import RuleConfig
from . import _page as params
from ._pending import Task, forget, service_ready, shared_task, wait_for

DEFAULTS: dict[str, Any] = {"theory_depth": 8, "sigma": "chain"}
"""Page settings in the URL."""

THEORY_DEPTHS = (3, 16)
GRID_POINTS = 8
STEPS_PER_LAYER = 2000


def exactness_steps(depth: int):
    """The page's `GRID_POINTS` values of T from 1 to `STEPS_PER_LAYER` L."""
    return theory.exactness_steps(depth, points=GRID_POINTS, steps_per_layer=STEPS_PER_LAYER)


def _start(depth: int, rule: RuleConfig) -> Task:
    jobs = theory.submit_exactness(depth, exactness_steps(depth), eta=rule.eta, rho=rule.rho,
                                   alpha=rule.alpha)
    return Task(jobs, label="exactness")


def _failed(err: BaseException, key: tuple) -> None:
    if isinstance(err, ValueError):
        st.error(f"The exactness check cannot run with these settings: {err} Change η_h, ρ "
                 "or α in the sidebar.", icon=":material/error:")
    else:
        st.error(f"The exactness check failed on the run service ({type(err).__name__}: "
                 f"{str(err)[:300]}). Try a smaller depth L or the default η_h, ρ, α, or try "
                 "again.", icon=":material/error:")
        st.button("Try again", key="theory-retry", on_click=forget, args=(key,))


def theory_exactness(depth: int, rule: RuleConfig) -> theory.Exactness | None:
    """PC and PC-ALM against BP in a linear net of `depth` layers with the configuration's
    η_h (auto: 1/λ_max on this net), ρ and α, computed on the run service. None while it
    computes (a progress bar that polls, then reruns the page) or after an `st.error`."""
    key = ("exactness", depth, rule.eta, rule.rho, rule.alpha)
    if not service_ready():
        return None
    task = shared_task(key, lambda: _start(depth, rule))
    if task.poll():
        if task.error is not None:
            _failed(task.error, key)
            return None
        return theory.gather_exactness(depth, task.collected())

    def check() -> tuple[bool, str, float | None]:
        over, total = task.poll(), len(task.jobs)
        return over, (f"Computing on the run service: {total} inference lengths T in "
                      f"float64, {task.done} of {total} done…"), task.done / total

    wait_for(check, key="theory-exactness-wait")
    return None


# ---------------------------------------------------------------------------- mode theory


def theory_controls() -> str:
    """Seed the page's settings (the depth of the exactness net, the choice of σ_max) from
    the URL; returns the σ_max choice, `"chain"` or `"limit"`."""
    params.seed("theory_depth", DEFAULTS["theory_depth"], params.int_in(*THEORY_DEPTHS))
    params.seed("sigma", DEFAULTS["sigma"], params.one_of(("chain", "limit")))
    return st.session_state["sigma"]


def sigma_labels(depth: int) -> dict[str, str]:
    """How the σ_max choices read for a net of `depth` layers."""
    chain = theory.theory_point(depth, eta=1.0, rho=1.0, alpha=1.0).sigma_max
    return {"chain": f"of an identity residual chain of depth L = {depth} (σ_max = {chain:.4f})",
            "limit": "its deep limit σ_max = 2"}


def theory_point(depth: int, rule: RuleConfig, sigma: str) -> theory.TheoryPoint:
    """The configuration's place in the theory (`pcviz.theory.theory_point`)."""
    return theory.theory_point(depth, eta=rule.eta, rho=rule.rho, alpha=rule.alpha,
                               sigma=sigma)


def eta_note(p: theory.TheoryPoint, *, depth: int, sigma: str) -> str:
    """How η_h reads in the page's messages: with auto, what it was computed from (the mode
    theory's own chain, not the network of the live lab)."""
    if not p.eta_auto:
        return f"η_h = {p.eta:g}"
    chain = (f"the identity residual chain of depth L = {depth}" if sigma == "chain"
             else "the deep limit σ_max = 2")
    return (f"η_h = auto, taken here as 1/σ_max² = {p.eta:.3g} of {chain}; the live lab "
            "and the credit page compute theirs from the actual network, 1/λ_max(AᵀA) at its "
            "initial weights")


def exactness_note(exact: theory.Exactness, rule: RuleConfig) -> str:
    """The line under the exactness curve: precision, step sizes, and what an auto η_h was
    computed from (this small linear net, not the sidebar's)."""
    net = theory.EXACTNESS_NET
    eta = (f"η_h = auto: 1/λ_max(AᵀA) of this linear net (L = {exact.depth}, width "
           f"{net['width']}, batch {net['batch']}) = {exact.eta:.3g}" if rule.eta_is_auto
           else f"η_h = {exact.eta:.3g}")
    return f"float64, {eta}, ρ = {rule.rho:g}, α = {rule.alpha:g}."


def theory_keep_in_url() -> None:
    """Mirror this page's settings in the address."""
    params.mirror(DEFAULTS)
