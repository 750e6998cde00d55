r"""Linear-theory figures: exactness, stability region, transient eigenvalues, dispersion."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..theory import Dispersion, is_stable
from ._style import (
    BAD,
    GOOD,
    color,
    diverged_note,
    finite,
    is_dead,
    label,
    set_log_axis,
    style,
)

_STABLE, _UNSTABLE = "#cfe3f2", "#fbe0c8"


def exactness_plot(steps: np.ndarray, errors: Mapping[str, np.ndarray]) -> go.Figure:
    r"""Relative error of each rule's weight gradient to BP's against the number of steps T.

    $$\varepsilon(T) = \frac{\|g(T) - g^{\mathrm{BP}}\|}{\|g^{\mathrm{BP}}\|}$$

    In a linear net PC-ALM's error falls to float precision; PC's levels off.

    **Arguments:**

    - `steps`: `(n,)` numbers of inference steps $T$.
    - `errors`: rule -> `(n,)` relative errors at those $T$.

    **Returns:**

    A log-log `go.Figure`, one line per rule.
    """
    x = finite(steps).ravel()
    fig = go.Figure()
    dead = [rule for rule in errors if is_dead(errors[rule])]
    for k, rule in enumerate(r for r in errors if r not in dead):
        fig.add_scatter(x=x, y=finite(errors[rule]).ravel(), mode="lines+markers",
                        name=label(rule), line=dict(color=color(rule, k), width=2))
    diverged_note(fig, dead)
    set_log_axis(fig, "x", title_text="inference steps T")
    set_log_axis(fig, "y",
                 title_text="relative error ‖g − g<sub>BP</sub>‖ / ‖g<sub>BP</sub>‖")
    return style(fig, title="Exactness: weight gradient against BP's as T grows (linear net)",
                 uirevision="exactness-plot", legend_title="rule")


def _edges(centres: np.ndarray) -> tuple[float, float]:
    if centres.size < 2:
        return float(centres[0]) - 0.5, float(centres[0]) + 0.5
    first = 1.5 * centres[0] - 0.5 * centres[1]
    return float(first), float(1.5 * centres[-1] - 0.5 * centres[-2])


def _region_traces(etas: np.ndarray, alphas: np.ndarray, region: np.ndarray) -> list:
    scale = [[0.0, _UNSTABLE], [0.5, _UNSTABLE], [0.5, _STABLE], [1.0, _STABLE]]
    cells = go.Heatmap(
        x=etas, y=alphas, z=np.asarray(region, dtype=np.float64), zmin=0, zmax=1,
        colorscale=scale, showscale=False, name="region",
        hovertemplate="η<sub>h</sub> %{x:.3g}<br>α %{y:.3g}<extra></extra>",
    )
    keys = [
        go.Scatter(x=[None], y=[None], mode="markers", name=name, marker=dict(
            symbol="square", size=14, color=fill, line=dict(color="#999999", width=1)))
        for name, fill in (("stable", _STABLE), ("unstable", _UNSTABLE))
    ]
    return [cells, *keys]


def stability_plot(
    etas: np.ndarray,
    alphas: np.ndarray,
    region: np.ndarray,
    *,
    point: tuple[float, float],
    rho: float,
    sigma_max: float,
) -> go.Figure:
    r"""Where the joint (h, λ) iteration is stable, in the $(\eta_h, \alpha)$ plane.

    $$\eta_h\sigma_{\max}^2(2\rho + \alpha) < 4 \quad\text{and}\quad \eta_h\rho\sigma_{\max}^2 < 2$$

    **Arguments:**

    - `etas`: `(n_eta,)` activity steps $\eta_h$ (x axis).
    - `alphas`: `(n_alpha,)` dual steps $\alpha$ (y axis).
    - `region`: `(n_alpha, n_eta)` bool from `pcviz.theory.stability_region`.
    - `point`: keyword-only `(eta, alpha)` of the current configuration: a green circle if
      stable, a red cross if not.
    - `rho`: keyword-only penalty $\rho$.
    - `sigma_max`: keyword-only largest singular value of the constraint Jacobian.

    **Returns:**

    A `go.Figure` with the region, the boundary $\eta_h = 4/(\sigma_{\max}^2(2\rho+\alpha))$ and
    the point.
    """
    etas, alphas = finite(etas).ravel(), finite(alphas).ravel()
    eta, alpha = float(point[0]), float(point[1])
    fig = go.Figure(_region_traces(etas, alphas, region))
    a = np.linspace(*_edges(alphas), 200)
    s2 = float(sigma_max) ** 2
    fig.add_scatter(x=4.0 / (s2 * (2.0 * rho + a)), y=a, mode="lines",
                    line=dict(color="#222222", width=2),
                    name="boundary η<sub>h</sub> = 4 / (σ<sub>max</sub>²(2ρ + α))")
    stable = bool(is_stable(sigma_max, eta=eta, rho=rho, alpha=alpha))
    product = eta * s2 * (2.0 * rho + alpha)
    fig.add_scatter(
        x=[eta], y=[alpha], mode="markers",
        name="your setting " + ("(stable)" if stable else "(unstable)"),
        marker=dict(size=15, symbol="circle" if stable else "x", color=GOOD if stable else BAD,
                    line=dict(color="#222222", width=1.5)),
        hovertemplate=f"η<sub>h</sub> = {eta:g}, α = {alpha:g}<br>η<sub>h</sub>σ²(2ρ+α) = "
        f"{product:.3g} (stable below 4)<extra>{'stable' if stable else 'unstable'}</extra>",
    )
    x0, x1 = _edges(etas)
    y0, y1 = _edges(alphas)
    fig.update_xaxes(title_text="activity step η<sub>h</sub>", range=[min(x0, eta), max(x1, eta)])
    fig.update_yaxes(title_text="dual step α", range=[min(y0, alpha), max(y1, alpha)])
    title = f"Stability of inference (ρ = {rho:g}, σ<sub>max</sub> = {sigma_max:.3g})"
    return style(fig, title=title, uirevision="stability-plot", height=460,
                 legend_title="region")


def eigenvalue_plot(
    eigenvalues: np.ndarray, *, eta: float, rho: float, sigmas: np.ndarray
) -> go.Figure:
    r"""Transient eigenvalues of the per-mode 2x2 map in the complex plane.

    $$|\mu_\pm| = \sqrt{1 - \eta_h\rho\sigma^2} \text{ for a complex pair}$$

    ($\alpha$ only rotates them.)

    **Arguments:**

    - `eigenvalues`: `(modes, 2)` complex, from `pcviz.theory.transient_eigenvalues`.
    - `eta`: keyword-only activity step $\eta_h$ (title).
    - `rho`: keyword-only penalty $\rho$ (title).
    - `sigmas`: keyword-only `(modes,)` singular values: the points' colour.

    **Returns:**

    A `go.Figure` with equal axis scaling, the points coloured by $\sigma$, and the unit circle.
    """
    mu = np.asarray(eigenvalues, dtype=np.complex128)
    mu = mu[:, None] if mu.ndim == 1 else mu
    sig = np.asarray(sigmas, dtype=np.float64).ravel()
    if mu.shape[0] != sig.size:
        raise ValueError(f"eigenvalues must be (modes, 2) with modes = len(sigmas) = {sig.size}; "
                         f"got shape {mu.shape}.")
    sig = np.repeat(sig[:, None], mu.shape[1], axis=1).ravel()
    mu = mu.ravel()
    keep = np.isfinite(mu) & np.isfinite(sig)
    mu, sig = mu[keep], sig[keep]
    theta = np.linspace(0.0, 2.0 * np.pi, 361)
    fig = go.Figure()
    fig.add_scatter(x=np.cos(theta), y=np.sin(theta), mode="lines", name="unit circle |μ| = 1",
                    line=dict(color="#888888", dash="dash", width=1.5), hoverinfo="skip")
    fig.add_scatter(
        x=mu.real, y=mu.imag, mode="markers", name="eigenvalues μ<sub>±</sub>(σ)",
        customdata=np.stack([sig, np.abs(mu)], axis=-1),
        marker=dict(
            size=8, color=sig, colorscale="Viridis", line=dict(color="white", width=0.5),
            colorbar=dict(title=dict(text="singular value σ", side="right"), thickness=14),
        ),
        hovertemplate="μ = %{x:.3f} %{y:+.3f}i<br>σ = %{customdata[0]:.3f}<br>|μ| = "
        "%{customdata[1]:.3f}<extra></extra>",
    )
    reach = max(1.1, 1.05 * float(np.abs(mu).max(initial=0.0)))
    fig.update_xaxes(title_text="Re μ", range=[-reach, reach], constrain="domain")
    fig.update_yaxes(title_text="Im μ", range=[-reach, reach], scaleanchor="x", scaleratio=1)
    title = (f"Transient eigenvalues (η<sub>h</sub> = {eta:g}, ρ = {rho:g}): "
             "complex pairs lie on |μ| = √(1 − η<sub>h</sub>ρσ²)")
    fig = style(fig, title=title, uirevision="eigenvalue-plot", height=520,
                legend_title="per singular mode")
    fig.update_layout(legend=dict(orientation="h", x=0.0, y=-0.15, xanchor="left", yanchor="top"))
    return fig


def dispersion_plot(pc: Dispersion, pcalm: Dispersion, *, alpha: float, eta: float) -> go.Figure:
    r"""Dispersion of inference on a long chain: PC-ALM's wave against PC's heat.

    $$\arg\mu(k) \approx \sqrt{\alpha\eta_h}\,k \ (\text{PC-ALM}), \qquad \arg\mu = 0,\
      -\log|\mu| \approx \eta_h\rho k^2 \ (\text{PC})$$

    **Arguments:**

    - `pc`, `pcalm`: `pcviz.theory.dispersion` of PC ($\alpha = 0$) and of PC-ALM.
    - `alpha`, `eta`: keyword-only $\alpha$, $\eta_h$ of the small-k line $\sqrt{\alpha\eta_h}\,k$.

    **Returns:**

    A `go.Figure` of two subplots: phase per step and decay per step against wavenumber.
    """
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("phase per step: PC-ALM travels", "decay per step"))
    for rule, disp in (("pcalm", pcalm), ("pc", pc)):
        line = dict(color=color(rule), width=2)
        name = label(rule) + (" (wave)" if rule == "pcalm" else " (heat, ≈ η<sub>h</sub>ρk²)")
        k = finite(disp.wavenumber)
        fig.add_scatter(x=k, y=finite(disp.phase_per_step), mode="lines", name=name, line=line,
                        legendgroup=rule, row=1, col=1)
        fig.add_scatter(x=k, y=finite(disp.decay_per_step), mode="lines", name=name, line=line,
                        legendgroup=rule, showlegend=False, row=1, col=2)
    k = finite(pcalm.wavenumber)
    speed = float(np.sqrt(max(alpha * eta, 0.0)))
    fig.add_scatter(x=k, y=speed * k, mode="lines", row=1, col=1,
                    name=f"small-k wave √(αη<sub>h</sub>)·k = {speed:.2f}·k",
                    line=dict(color="#555555", dash="dash", width=2.5))
    fig.update_xaxes(title_text="wavenumber k (rad/layer)")
    fig.update_yaxes(title_text="phase |arg μ| (rad/step)", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="decay −log|μ| (per step)", rangemode="tozero", row=1, col=2)
    return style(fig, title="Dispersion of inference on a long chain: wave against heat",
                 uirevision="dispersion-plot", legend_title="rule")
