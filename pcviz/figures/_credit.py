r"""Credit propagation figures: one inference run, read across layers and steps."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from ..analysis import (
    ProfileFrames,
    distance_from_output,
    fit_front,
    front_speed,
    predicted_arrival,
)
from ._style import (
    LAYER_AXIS,
    STEP_AXIS,
    color,
    diverged_note,
    empty,
    finite,
    is_dead,
    label,
    layer_ticks,
    row_mean,
    set_log_axis,
    style,
)

_CREDIT = "credit ‖λ<sub>i</sub> + ρ r<sub>i</sub>‖ (rms over batch)"


def credit_profile(
    credit: Mapping[str, np.ndarray],
    bp_adjoint: np.ndarray,
    *,
    step: int,
    fraction: float = 0.5,
) -> go.Figure:
    r"""Credit per hidden layer at one inference step, against BP's adjoint and the threshold.

    A layer has been reached once $\|\lambda_i + \rho r_i\| \ge f\,\|\delta_i\|$: its marker
    is filled, otherwise open.

    **Arguments:**

    - `credit`: rule -> `(L-1,)` credit norms at that step (row `step-1` of `Telemetry.credit`).
    - `bp_adjoint`: `(L-1,)` BP adjoint norms $\|\delta_i\|$.
    - `step`: keyword-only, the 1-based inference step shown in the title.
    - `fraction`: keyword-only arrival threshold $f$ (default 0.5).

    **Returns:**

    A `go.Figure`: x = hidden layer (input left), one line per rule plus dashed
    $\|\delta_i\|$ and dotted $f\|\delta_i\|$.
    """
    adjoint = finite(bp_adjoint).ravel()
    layers = np.arange(1, adjoint.size + 1)
    fig = go.Figure()
    dead = [rule for rule in credit if is_dead(credit[rule])]
    for k, rule in enumerate(r for r in credit if r not in dead):
        values = finite(credit[rule]).ravel()
        reached = values >= fraction * adjoint
        fig.add_scatter(
            x=layers, y=values, mode="lines+markers", name=label(rule),
            line=dict(color=color(rule, k), width=2),
            marker=dict(size=7, symbol=np.where(reached, "circle", "circle-open")),
        )
    fig.add_scatter(x=layers, y=adjoint, mode="lines", name="BP adjoint ‖δ<sub>i</sub>‖",
                    line=dict(color=color("bp"), dash="dash"))
    fig.add_scatter(x=layers, y=fraction * adjoint, mode="lines",
                    name=f"arrival threshold {fraction:g}·‖δ<sub>i</sub>‖",
                    line=dict(color=color("bp"), dash="dot", width=1.5))
    diverged_note(fig, dead)
    fig.update_xaxes(title_text=LAYER_AXIS, **layer_ticks(adjoint.size))
    fig.update_yaxes(title_text=_CREDIT, rangemode="tozero")
    return style(fig, title=f"Credit at inference step {step}", uirevision="credit-profile",
                 legend_title="rule (filled = arrived)")


def _fit_line(rule: str, k: int, arrival: np.ndarray) -> list[go.Scatter]:
    fit = fit_front(arrival)
    n = arrival.size
    d = distance_from_output(n + 1)
    reached = arrival >= 1
    slope = f"slope {fit.slope:.2f}" if np.isfinite(fit.slope) else "no fit"
    name = f"{label(rule)}: {slope}, {fit.num_layers_reached}/{n} layers"
    traces = [go.Scatter(
        x=d[reached], y=arrival[reached], mode="markers", name=name, legendgroup=rule,
        marker=dict(color=color(rule, k), size=7),
        hovertemplate="distance %{x}<br>arrival step %{y}<extra>" + label(rule) + "</extra>",
    )]
    if np.isfinite(fit.slope):
        xs = np.array([d[reached].min(), d[reached].max()], dtype=np.float64)
        traces.append(go.Scatter(
            x=xs, y=np.exp(fit.intercept) * xs**fit.slope, mode="lines", legendgroup=rule,
            showlegend=False, name=f"{label(rule)} fit", hoverinfo="skip",
            line=dict(color=color(rule, k), width=2),
        ))
    return traces


def arrival_plot(arrivals: Mapping[str, np.ndarray], *, alpha: float, eta: float) -> go.Figure:
    r"""Arrival step against distance from the output, log-log, with power-law fits.

    $$t_i \propto d_i^{\,p}: \quad p = 1 \text{ (wave, PC-ALM)}, \quad p = 2 \text{ (heat, PC)};
      \qquad t(d) = d / \sqrt{\alpha\eta_h} \text{ (wave theory)}$$

    **Arguments:**

    - `arrivals`: rule -> `(L-1,)` 1-based arrival steps (`-1` = never reached; counted in the
      legend as reached/total layers).
    - `alpha`: keyword-only dual step $\alpha$ of the theory line (omitted if $\alpha\eta_h \le 0$).
    - `eta`: keyword-only activity step $\eta_h$.

    **Returns:**

    A `go.Figure`; legend entries read "PC-ALM: slope 0.98, 63/63 layers".
    """
    title = "Arrival of credit against distance from the output"
    if not arrivals:
        return empty(title, "arrival-plot")
    fig = go.Figure()
    longest = 1
    for k, rule in enumerate(arrivals):
        arrival = np.asarray(arrivals[rule]).astype(np.int64).ravel()
        longest = max(longest, arrival.size)
        fig.add_traces(_fit_line(rule, k, arrival))
    if alpha * eta > 0:
        d = np.arange(1, longest + 1, dtype=np.float64)
        speed = f"{front_speed(alpha, eta):.2f}"
        fig.add_scatter(
            x=d, y=predicted_arrival(d, alpha, eta), mode="lines",
            line=dict(color="#555555", dash="dash", width=2.5),
            name=f"wave theory, speed √(αη) = {speed} layers/step",
        )
    set_log_axis(fig, "x", title_text="distance from output d (layers)")
    set_log_axis(fig, "y", title_text="arrival step t (inference steps)")
    return style(fig, title=title + " (log-log: slope 1 = wave, 2 = heat)",
                 uirevision="arrival-plot", legend_title="rule: fitted power law")


def _solid_and_dashed(series: Mapping[str, np.ndarray], *, solid, dashed) -> go.Figure:
    """Per rule, two lines against inference step: `solid` and `dashed` are `(name, reduce)`
    pairs mapping a `(T, ...)` array to `(T,)`; diverged (all-NaN) rules get a note."""
    fig = go.Figure()
    dead = [rule for rule in series if is_dead(series[rule])]
    for k, rule in enumerate(r for r in series if r not in dead):
        arr = finite(series[rule])
        steps = np.arange(1, arr.shape[0] + 1)
        line = dict(color=color(rule, k), width=2)
        for (name, reduce), style_ in ((solid, line), (dashed, dict(line, dash="dash"))):
            fig.add_scatter(x=steps, y=reduce(arr), mode="lines", name=f"{label(rule)} {name}",
                            legendgroup=rule, line=style_)
    diverged_note(fig, dead)
    fig.update_xaxes(title_text=STEP_AXIS)
    return fig


def energy_plot(energies: Mapping[str, np.ndarray]) -> go.Figure:
    r"""Total energy and output loss against inference step, log y.

    $$F_t = \sum_i \tfrac{\rho}{2}\|r_i + \lambda_i/\rho\|^2 + \ell$$

    **Arguments:**

    - `energies`: rule -> `(T, L)` per-layer energies with the output loss in the last column
      (`Telemetry.energy`).

    **Returns:**

    A `go.Figure` with a solid total and a dashed output-loss line per rule.
    """
    fig = _solid_and_dashed(energies, solid=("total", lambda a: a.sum(axis=1)),
                            dashed=("output loss", lambda a: a[:, -1]))
    set_log_axis(fig, "y", title_text="energy (batch mean, log scale)")
    return style(fig, title="Energy during inference", uirevision="energy-plot",
                 legend_title="rule and term")


def alignment_vs_step(alignments: Mapping[str, np.ndarray]) -> go.Figure:
    r"""Cosine of the credit with BP's adjoint $-\delta_i$ against inference step.

    **Arguments:**

    - `alignments`: rule -> `(T, L-1)` per-layer cosines (`Telemetry.alignment`).

    **Returns:**

    A `go.Figure`: the mean over layers (solid) and layer 1, next to the input (dashed).
    """
    fig = _solid_and_dashed(alignments, solid=("(mean over layers)", row_mean),
                            dashed=("(layer 1, next to input)", lambda a: a[:, 0]))
    fig.add_hline(y=0, line=dict(color="#999999", width=1, dash="dot"))
    fig.update_xaxes(title_text=STEP_AXIS)
    fig.update_yaxes(title_text="cosine to BP adjoint −δ<sub>i</sub>", range=[-1.05, 1.05])
    return style(fig, title="Credit alignment with BP during inference",
                 uirevision="alignment-vs-step", legend_title="rule and layers")


def with_step_line(fig: go.Figure, step: int) -> go.Figure:
    """`fig` with a dashed grey vertical line at inference step `step` (changed in place and
    returned)."""
    fig.add_vline(x=step, line=dict(dash="dash", color="#888888", width=1.5))
    return fig


def _animation_controls(names: list[str]) -> dict:
    slider = dict(active=0, x=0.08, len=0.9, y=-0.12, currentvalue=dict(prefix="step t = "),
                  steps=[dict(label=n, method="animate", args=[[n], dict(
                      mode="immediate", frame=dict(duration=0, redraw=True))]) for n in names])
    play = dict(label="▶ Play", method="animate", args=[None, dict(
        frame=dict(duration=120, redraw=True), fromcurrent=True, transition=dict(duration=0))])
    pause = dict(label="❚❚ Pause", method="animate", args=[[None], dict(
        mode="immediate", frame=dict(duration=0, redraw=True))])
    menu = dict(type="buttons", direction="left", x=0.0, y=-0.12, xanchor="right",
                yanchor="top", showactive=False, buttons=[play, pause])
    return dict(updatemenus=[menu], sliders=[slider])


def animated_credit_profile(frames: ProfileFrames, bp_adjoint: np.ndarray) -> go.Figure:
    r"""`credit_profile` with one Plotly frame per step of `frames` (`pcviz.analysis.
    profile_frames`), a step slider and Play / Pause buttons: played in the browser, with a
    fixed credit axis $[0, \text{top}]$.

    **Arguments:**

    - `frames`: a `ProfileFrames`.
    - `bp_adjoint`: `(L-1,)` BP adjoint norms.

    **Returns:**

    A `go.Figure` with `frames`, `updatemenus` and `sliders`.
    """
    first = int(frames.steps[0])
    base = credit_profile({r: a[0] for r, a in frames.credit.items()}, bp_adjoint, step=first)
    names = {label(r): r for r in frames.credit}
    index = [i for i, trace in enumerate(base.data) if trace.name in names]
    rules = [names[base.data[i].name] for i in index]
    title = base.layout.title.to_plotly_json()  # the whole title: a frame replaces it
    text = title.get("text", "")
    fig = go.Figure(base)
    fig.frames = [go.Frame(
        name=str(int(s)), traces=index,
        layout=dict(title={**title, "text": text.replace(f"step {first}", f"step {int(s)}")}),
        data=[dict(type="scatter", y=frames.credit[r][k], marker=dict(
            symbol=np.where(frames.reached[r][k], "circle", "circle-open"))) for r in rules],
    ) for k, s in enumerate(frames.steps)]
    fig.update_yaxes(range=[0, frames.top], autorange=False)
    fig.update_layout(margin=dict(b=150),
                      **_animation_controls([str(int(s)) for s in frames.steps]))
    return fig
