"""Depth x width sweep: test accuracy per rule, each rule's difference to BP on a fixed scale,
and the difference against depth with its seed spread."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ._style import color, empty, finite, label, style

DIFFERENCE_RANGE = 30.0
"""The difference maps' colour scale: -30 to +30 accuracy points, the same for every sweep,
so that a few points of seed noise stay pale and a real gap is dark."""

DIFFERENCE_SCALE = [[0.0, "#b2182b"], [0.25, "#ef8a62"], [0.5, "#ffffff"], [0.75, "#67a9cf"],
                    [1.0, "#2166ac"]]
"""Red below BP, white at zero, blue above."""


def _cell_text(values: np.ndarray, fmt: str, spread: np.ndarray | None = None,
               spread_fmt: str = "±{:.1f}") -> list[list[str]]:
    def one(v, s):
        if not np.isfinite(v):
            return ""
        text = fmt.format(round(float(v), 1) + 0.0)  # never "-0.0"
        return text + "<br>" + spread_fmt.format(s) if s is not None and np.isfinite(s) else text

    spread = np.full(values.shape, None) if spread is None else spread
    return [[one(v, s) for v, s in zip(row, srow)] for row, srow in zip(values, spread)]


def _grid(depths: Sequence[int], widths: Sequence[int], arrays: Mapping[str, np.ndarray],
          name: str) -> dict[str, np.ndarray]:
    shape = (len(depths), len(widths))
    grids = {}
    for rule, values in arrays.items():
        arr = finite(values)
        if arr.shape != shape:
            raise ValueError(f"{name}[{rule!r}] must have shape (len(depths), len(widths)) = "
                             f"{shape}; got {arr.shape}.")
        grids[rule] = arr
    return grids


def _panel(fig, row, col, x, y, z, text, axis, hover, spread) -> None:
    custom = np.full(z.shape, np.nan) if spread is None else spread
    fig.add_trace(
        go.Heatmap(x=x, y=y, z=z, text=text, texttemplate="%{text}", coloraxis=axis,
                   customdata=custom,
                   hovertemplate=f"depth %{{y}}, width %{{x}}<br>{hover}<extra></extra>",
                   xgap=2, ygap=2),
        row=row, col=col,
    )


def sweep_heatmaps(
    depths: Sequence[int],
    widths: Sequence[int],
    accuracy: Mapping[str, np.ndarray],
    *,
    spread: Mapping[str, np.ndarray] | None = None,
    difference_spread: Mapping[str, np.ndarray] | None = None,
    difference_range: float = DIFFERENCE_RANGE,
) -> go.Figure:
    r"""Test accuracy over the depth x width grid, one panel per rule, and differences to BP.

    $$\Delta = 100\,(\mathrm{acc}_{\mathrm{rule}} - \mathrm{acc}_{\mathrm{BP}})
      \text{ accuracy points}$$

    **Arguments:**

    - `depths`: the depths $L$ of the grid rows.
    - `widths`: the widths $N$ of the grid columns.
    - `accuracy`: rule -> `(len(depths), len(widths))` test accuracy as a fraction (the mean
      over seeds); NaN (not run or diverged) is drawn as an empty cell.
    - `spread` (keyword-only): rule -> the same shape, the standard deviation of the accuracy
      over seeds (a fraction), shown in each cell's hover.
    - `difference_spread` (keyword-only): rule -> the same shape, the standard deviation over
      seeds of the paired difference to BP (points), written under each difference and shown
      in its hover.
    - `difference_range` (keyword-only): the difference maps' fixed colour scale,
      `-difference_range` to `+difference_range` points (beyond it, the end colours).

    **Returns:**

    A `go.Figure`: top row one panel per rule on `coloraxis` (0..1); when `"bp"` is present a
    second row "PC − BP", "PC-ALM − BP" in accuracy points on `coloraxis2` (red below BP,
    white at 0, blue above, fixed). Cells show their values.
    """
    if not accuracy:
        return empty("Test accuracy over depth and width", "sweep-heatmaps")
    grids = _grid(depths, widths, accuracy, "accuracy")
    spread = _grid(depths, widths, spread or {}, "spread")
    difference_spread = _grid(depths, widths, difference_spread or {}, "difference_spread")
    rules = list(grids)
    others = [rule for rule in rules if rule != "bp"] if "bp" in grids else []
    cols = max(len(rules), len(others), 1)
    titles = [label(r) for r in rules] + [""] * (cols - len(rules))
    if others:
        titles += [f"{label(r)} − BP" for r in others] + [""] * (cols - len(others))
    fig = make_subplots(rows=2 if others else 1, cols=cols, subplot_titles=titles,
                        horizontal_spacing=0.05, vertical_spacing=0.18)
    x, y = [str(w) for w in widths], [str(d) for d in depths]
    for col, rule in enumerate(rules, start=1):
        text = _cell_text(100 * grids[rule], "{:.1f}%")
        s = spread.get(rule)
        hover = "test accuracy %{z:.1%}" + (" ± %{customdata:.1%} (std over seeds)"
                                             if s is not None else "")
        _panel(fig, 1, col, x, y, grids[rule], text, "coloraxis", hover, s)
    for col, rule in enumerate(others, start=1):
        diff, s = 100.0 * (grids[rule] - grids["bp"]), difference_spread.get(rule)
        hover = "difference %{z:+.1f} points" + (" ± %{customdata:.1f} (std over seeds)"
                                                  if s is not None else "")
        _panel(fig, 2, col, x, y, diff, _cell_text(diff, "{:+.1f}", s), "coloraxis2", hover, s)
    for col in range(len(others) + 1, cols + 1) if others else []:
        fig.update_xaxes(visible=False, row=2, col=col)  # an unused panel
        fig.update_yaxes(visible=False, row=2, col=col)
    _layout(fig, two_rows=bool(others), span=float(difference_range))
    return style(fig, title="Test accuracy over depth and width", uirevision="sweep-heatmaps",
                 height=380 if not others else 700)


def _layout(fig: go.Figure, *, two_rows: bool, span: float) -> None:
    fig.update_xaxes(type="category", title_text="width N")
    fig.update_yaxes(type="category")
    fig.update_yaxes(title_text="depth L", col=1)
    top = dict(len=0.42, y=0.79, yanchor="middle") if two_rows else {}
    fig.update_layout(coloraxis=dict(
        cmin=0.0, cmax=1.0, colorscale="Viridis",
        colorbar=dict(title=dict(text="test accuracy", side="right"), tickformat=".0%",
                      thickness=14, **top),
    ))
    if two_rows:
        fig.update_layout(coloraxis2=dict(
            cmin=-span, cmax=span, colorscale=DIFFERENCE_SCALE,
            colorbar=dict(title=dict(text="difference to BP (points)", side="right"),
                          thickness=14, len=0.42, y=0.21, yanchor="middle"),
        ))


def sweep_depth_trend(
    depths: Sequence[int],
    mean: Mapping[str, np.ndarray],
    spread: Mapping[str, np.ndarray],
    *,
    noise: float | None = None,
    difference_range: float = DIFFERENCE_RANGE,
) -> go.Figure:
    r"""Each rule's difference to BP against depth, averaged over widths and seeds, with error
    bars of one standard deviation over seeds, and a grey band of the typical seed spread.

    $$\bar\Delta_L = \frac{100}{|N||S|}\sum_{N, s}\big(a^{\text{rule}}_{LNs} -
      a^{\text{BP}}_{LNs}\big)$$

    **Arguments:**

    - `depths`: the depths $L$ (x, log scale, ticks at the depths).
    - `mean`: rule -> `(len(depths),)` mean difference to BP in points (NaN: no cell yet).
    - `spread`: rule -> `(len(depths),)` standard deviation over seeds (NaN: one seed).
    - `noise` (keyword-only): the typical seed spread of one cell's difference (points),
      drawn as a band around zero.
    - `difference_range` (keyword-only): the y range, `-difference_range` to
      `+difference_range` points, widened when a value lies beyond.

    **Returns:** a `go.Figure` with one line per rule.
    """
    title = "Difference to BP against depth"
    lines = {r: finite(v) for r, v in mean.items() if np.isfinite(finite(v)).any()}
    if not lines:
        return empty(title, "sweep-depth-trend")
    fig = go.Figure()
    x = [int(d) for d in depths]
    if noise is not None and np.isfinite(noise):
        fig.add_trace(go.Scatter(x=x + x[::-1], y=[noise] * len(x) + [-noise] * len(x),
                                 fill="toself", fillcolor="rgba(120,120,120,0.18)",
                                 line=dict(width=0), hoverinfo="skip",
                                 name=f"seed spread ±{noise:.1f}"))
    for i, (rule, values) in enumerate(lines.items()):
        errors = finite(spread.get(rule, np.full(len(x), np.nan)))
        fig.add_trace(go.Scatter(
            x=x, y=values, mode="lines+markers", name=f"{label(rule)} − BP",
            line=dict(color=color(rule, i), width=3), marker=dict(size=9),
            error_y=dict(type="data", array=np.nan_to_num(errors), visible=True, thickness=2),
            customdata=errors,
            hovertemplate="depth %{x}: %{y:+.1f} ± %{customdata:.1f} points<extra>"
                          f"{label(rule)} − BP</extra>"))
    fig.add_hline(y=0, line=dict(color="#444", width=1))
    low = min(float(np.nanmin(v)) for v in lines.values())
    high = max(float(np.nanmax(v)) for v in lines.values())
    span = float(difference_range)
    fig.update_yaxes(title_text="difference to BP (points)",
                     range=[min(-span, low - 3.0), max(span / 3, high + 3.0)])
    fig.update_xaxes(type="log", title_text="depth L", tickvals=x, ticktext=[str(d) for d in x])
    return style(fig, title=title, uirevision="sweep-depth-trend", height=380,
                 legend_title="rule")
