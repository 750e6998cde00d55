r"""Inference heatmaps: one (inference step x hidden layer) panel per rule, one colour scale."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go

from ._style import (
    LAYER_AXIS,
    STEP_AXIS,
    axis_suffix,
    color,
    colorscale,
    empty,
    figure_of,
    finite,
    is_dead,
    label,
    layer_ticks,
    log_colorbar,
    max_finite,
    note_spec,
    panel_row,
    style_layout,
)

QUANTITIES: dict[str, tuple[str, str]] = {
    "credit": ("credit", "‖λ<sub>i</sub> + ρ r<sub>i</sub>‖"),
    "error": ("prediction error", "‖r<sub>i</sub>‖"),
    "multiplier": ("multiplier", "‖λ<sub>i</sub>‖"),
    "energy": ("energy", "ρ/2‖r<sub>i</sub> + λ<sub>i</sub>/ρ‖²"),
    "alignment": ("cosine to BP adjoint", "−δ<sub>i</sub>"),
}
"""Colour-bar name and symbol of each telemetry field."""

LOG_DECADES = 4
"""With `log=True` values below `zmax * 10**-LOG_DECADES` are drawn at that floor."""


class _Scale(NamedTuple):
    cmin: float
    cmax: float
    colorscale: str
    title: str
    transform: Callable[[np.ndarray], np.ndarray]
    line_color: str
    ticks: dict | None = None
    shows_values: bool = True
    """Whether the colours are the values themselves (`transform` is the identity)."""


def _scale(arrays: list[np.ndarray], quantity: str, log: bool, zmax: float | None) -> _Scale:
    name, symbol = QUANTITIES[quantity]
    if quantity == "alignment":
        return _Scale(-1.0, 1.0, "RdBu", f"{name}<br>{symbol}", lambda v: v, "#222222")
    top = float(zmax) if zmax is not None and zmax > 0 else max_finite(arrays)
    if not log:
        return _Scale(0.0, top, "Viridis", f"{name}<br>{symbol}", lambda v: v, "white")
    floor = top * 10.0**-LOG_DECADES
    low, high = float(np.log10(floor)), float(np.log10(top))
    return _Scale(
        low, high, "Viridis", f"{name}<br>{symbol}<br>(log scale)",
        lambda v: np.log10(np.maximum(v, floor)), "white", log_colorbar(low, high),
        shows_values=False,
    )


def _checked(rule: str, values: np.ndarray) -> np.ndarray:
    arr = finite(values)
    if arr.ndim != 2:
        raise ValueError(f"values[{rule!r}] must be (T, L-1) or (T, L); got shape {arr.shape}.")
    return arr


def _panel(panel: int, rule: str, arr: np.ndarray, scale: _Scale, what: str) -> dict:
    """One rule's heatmap on panel `panel`'s axes, in float32 (what a screen shows; half the
    page's data), with the values for the hover text carried beside the colours only where
    they differ (log)."""
    steps, rows = arr.shape
    shown = "%{z:.3g}" if scale.shows_values else "%{customdata:.3g}"
    trace = dict(
        type="heatmap", x=np.arange(1, steps + 1), y=np.arange(1, rows + 1),
        z=scale.transform(arr).T.astype(np.float32), coloraxis="coloraxis", name=label(rule),
        hovertemplate=f"step %{{x}}<br>layer %{{y}}<br>{what} {shown}"
        f"<extra>{label(rule)}</extra>",
        **_on(panel),
    )
    if not scale.shows_values:
        trace["customdata"] = arr.T.astype(np.float32)
    return trace


def _on(panel: int) -> dict:
    """A trace's axes on panel `panel` (from 1)."""
    ref = axis_suffix(panel)
    return {"xaxis": f"x{ref}", "yaxis": f"y{ref}"}


def _front(panel: int, rule: str, arrival: np.ndarray) -> list[dict]:
    """The arrival front over panel `panel`: a white outline, then the rule's line."""
    arrival = np.asarray(arrival).astype(np.int64).ravel()
    layers = np.arange(1, arrival.size + 1)
    keep = arrival >= 1
    x, y = arrival[keep], layers[keep]
    return [
        dict(type="scatter", x=x, y=y, mode="lines", line=dict(color="white", width=5),
             hoverinfo="skip", showlegend=False, name=f"{label(rule)} arrival front outline",
             **_on(panel)),
        dict(type="scatter", x=x, y=y, mode="lines+markers",
             name=f"{label(rule)} arrival front", line=dict(color=color(rule), width=2),
             marker=dict(size=7, color=color(rule), line=dict(color="white", width=1)),
             hovertemplate="layer %{y} reached at step %{x}<extra>%{fullData.name}</extra>",
             **_on(panel)),
    ]


def inference_heatmaps(
    values: Mapping[str, np.ndarray],
    *,
    quantity: str = "credit",
    log: bool = False,
    arrivals: Mapping[str, np.ndarray] | None = None,
    zmax: float | None = None,
    step: int | None = None,
) -> go.Figure:
    r"""Side-by-side (inference step x hidden layer) heatmaps of one telemetry field per rule.

    x is the inference step $t = 1..T$, y the hidden layer with layer 1 (next to the input) at
    the bottom and the output at the top. All panels share one colour axis, so brightness
    compares across rules: PC-ALM's credit front is a straight diagonal, PC's bends like
    $\sqrt{t}$ and stalls near the output.

    **Arguments:**

    - `values`: rule -> `(T, L-1)` telemetry array (row `t` after step `t+1`, column 0 next
      to the input); for `quantity="energy"` `(T, L)` with the output loss last, drawn as the
      top row "output". An array with no finite value gets a "<rule> diverged" note.
    - `quantity`: keyword-only, one of `"credit"`, `"error"`, `"multiplier"`, `"energy"`,
      `"alignment"` (colour-bar title; alignment uses a diverging scale fixed to [-1, 1]).
    - `log`: keyword-only; plot $\log_{10}$ of the values, floored `LOG_DECADES` decades below
      `zmax` (ignored for alignment).
    - `arrivals`: keyword-only, rule -> `(L-1,)` 1-based arrival steps (`-1` = never), drawn
      as an outlined line over that rule's panel.
    - `zmax`: keyword-only top of the colour scale in the values' units (default: the largest
      finite value over all panels); the bottom is 0 (or the log floor).
    - `step`: keyword-only; a dashed vertical line at this inference step in every panel.

    **Returns:**

    A `go.Figure` with one heatmap per drawable rule on the shared `layout.coloraxis`.
    """
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity={quantity!r} must be one of {sorted(QUANTITIES)}.")
    if not values:
        return empty(_title(quantity), f"heatmaps-{quantity}")
    return figure_of(*_spec(values, quantity=quantity, log=log, arrivals=arrivals, zmax=zmax,
                            step=step))


def _title(quantity: str) -> str:
    name, symbol = QUANTITIES[quantity]
    return f"{name[0].upper()}{name[1:]} {symbol} per hidden layer and inference step"


def _spec(values: Mapping[str, np.ndarray], *, quantity: str, log: bool,
          arrivals: Mapping[str, np.ndarray] | None, zmax: float | None,
          step: int | None) -> tuple[list[dict], dict]:
    """`inference_heatmaps`' traces and layout, as plain dicts."""
    name, title = QUANTITIES[quantity][0], _title(quantity)
    rules = list(values)
    arrays = {rule: _checked(rule, values[rule]) for rule in rules}
    logged = log and quantity != "alignment"
    scale = _scale(list(arrays.values()), quantity, logged, zmax)
    layout = panel_row([label(rule) for rule in rules], spacing=0.03)
    data: list[dict] = []
    for panel, rule in enumerate(rules, start=1):
        if is_dead(arrays[rule]):
            ref = axis_suffix(panel)
            layout["annotations"].append(note_spec(f"{label(rule)} diverged",
                                                   xref=f"x{ref} domain", yref=f"y{ref} domain"))
        else:
            data.append(_panel(panel, rule, arrays[rule], scale, name))
        if arrivals is not None and rule in arrivals:
            data.extend(_front(panel, rule, arrivals[rule]))
    _axes(layout, len(rules), arrays, quantity == "energy", scale)
    if step is not None:
        line = dict(dash="dash", color=scale.line_color, width=1.5)
        layout["shapes"] = [
            dict(type="line", x0=step, x1=step, xref=f"x{ref}", y0=0, y1=1,
                 yref=f"y{ref} domain", line=line)
            for ref in map(axis_suffix, range(1, len(rules) + 1))]
    style_layout(layout, title=title + (" (log scale)" if logged else ""),
                 uirevision=f"heatmaps-{quantity}", height=440, legend_title="arrival front")
    return data, layout


def heatmap_frame(
    shapes: Mapping[str, tuple[int, int]],
    *,
    quantity: str = "credit",
    log: bool = False,
    fronts: bool = False,
    message: str = "",
) -> go.Figure:
    """The frame of `inference_heatmaps` for rule -> `(T, L-1)` arrays of these `shapes`, not
    coloured yet: the same panels, axes, titles and traces, every value missing, `message`
    across the panels. Drawn before the first training step, it lets the first heatmaps
    update the chart in place: no new layout for the browser to build, no jump of the page."""
    if not shapes:
        return empty(_title(quantity), f"heatmaps-{quantity}")
    values = {rule: np.zeros(shape) for rule, shape in shapes.items()}
    arrivals = {rule: np.full(shape[1], -1) for rule, shape in shapes.items()} if fronts \
        else None
    data, layout = _spec(values, quantity=quantity, log=log, arrivals=arrivals, zmax=1.0,
                         step=None)
    for trace in data:
        if trace["type"] == "heatmap":
            trace.pop("customdata", None)
            trace.pop("hovertemplate", None)
            trace.update(z=np.full_like(trace["z"], np.nan), hoverinfo="skip")
    if message:
        layout["annotations"].append(dict(
            text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
            font=dict(size=15, color="#555555"), bgcolor="rgba(255,255,255,0.85)"))
    return figure_of(data, layout)


def _axes(layout: dict, panels: int, arrays: Mapping[str, np.ndarray], energy: bool,
          scale: _Scale) -> None:
    steps = max(arr.shape[0] for arr in arrays.values())
    rows = max(arr.shape[1] for arr in arrays.values()) - int(energy)
    x_axis = dict(title=dict(text=STEP_AXIS), range=[0.5, steps + 0.5], autorange=False)
    if steps <= 10:
        x_axis["dtick"] = 1
    y_axis = layer_ticks(rows, output=energy)
    for ref in map(axis_suffix, range(1, panels + 1)):
        layout[f"xaxis{ref}"].update(x_axis)
        layout[f"yaxis{ref}"].update(y_axis)
    layout["yaxis"]["title"] = dict(text=LAYER_AXIS)
    layout.update(
        coloraxis=dict(
            cmin=scale.cmin, cmax=scale.cmax, colorscale=colorscale(scale.colorscale),
            colorbar=dict(title=dict(text=scale.title, side="right"), thickness=14,
                          **(scale.ticks or {})),
        ),
        legend=dict(orientation="h", x=0.0, y=-0.18, xanchor="left", yanchor="top"),
    )
