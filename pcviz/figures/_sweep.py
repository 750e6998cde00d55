"""Depth x width sweep: test accuracy per rule and each rule's difference to BP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ._style import empty, finite, label, style


def _cell_text(values: np.ndarray, fmt: str) -> list[list[str]]:
    return [[fmt.format(v) if np.isfinite(v) else "" for v in row] for row in values]


def _grid(
    depths: Sequence[int], widths: Sequence[int], accuracy: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    shape = (len(depths), len(widths))
    grids = {}
    for rule, values in accuracy.items():
        arr = finite(values)
        if arr.shape != shape:
            raise ValueError(f"accuracy[{rule!r}] must have shape (len(depths), len(widths)) = "
                             f"{shape}; got {arr.shape}.")
        grids[rule] = arr
    return grids


def _panel(fig, row, col, x, y, z, text, axis, hover) -> None:
    fig.add_trace(
        go.Heatmap(x=x, y=y, z=z, text=text, texttemplate="%{text}", coloraxis=axis,
                   hovertemplate=f"depth %{{y}}, width %{{x}}<br>{hover}<extra></extra>",
                   xgap=2, ygap=2),
        row=row, col=col,
    )


def sweep_heatmaps(
    depths: Sequence[int], widths: Sequence[int], accuracy: Mapping[str, np.ndarray]
) -> go.Figure:
    r"""Test accuracy over the depth x width grid, one panel per rule, and differences to BP.

    $$\Delta = 100\,(\mathrm{acc}_{\mathrm{rule}} - \mathrm{acc}_{\mathrm{BP}})
      \text{ percentage points}$$

    **Arguments:**

    - `depths`: the depths $L$ of the grid rows.
    - `widths`: the widths $N$ of the grid columns.
    - `accuracy`: rule -> `(len(depths), len(widths))` test accuracy as a fraction; NaN (not
      run or diverged) is drawn as an empty cell.

    **Returns:**

    A `go.Figure`: top row one panel per rule on `coloraxis` (0..1); when `"bp"` is present a
    second row "PC − BP", "PC-ALM − BP" in percentage points on `coloraxis2` (diverging, 0 at
    the centre). Cells show their values.
    """
    if not accuracy:
        return empty("Test accuracy over depth and width", "sweep-heatmaps")
    grids = _grid(depths, widths, accuracy)
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
        _panel(fig, 1, col, x, y, grids[rule], text, "coloraxis", "test accuracy %{z:.1%}")
    diffs = {rule: 100.0 * (grids[rule] - grids["bp"]) for rule in others}
    for col, rule in enumerate(others, start=1):
        _panel(fig, 2, col, x, y, diffs[rule], _cell_text(diffs[rule], "{:+.1f}"), "coloraxis2",
               "difference %{z:+.1f} pp")
    for col in range(len(others) + 1, cols + 1) if others else []:
        fig.update_xaxes(visible=False, row=2, col=col)  # an unused panel
        fig.update_yaxes(visible=False, row=2, col=col)
    _layout(fig, diffs, two_rows=bool(others))
    return style(fig, title="Test accuracy over depth and width", uirevision="sweep-heatmaps",
                 height=380 if not others else 700)


def _layout(fig: go.Figure, diffs: Mapping[str, np.ndarray], *, two_rows: bool) -> None:
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
        finite_diffs = [np.abs(d[np.isfinite(d)]) for d in diffs.values()]
        span = max([float(d.max()) for d in finite_diffs if d.size] + [1.0])
        fig.update_layout(coloraxis2=dict(
            cmin=-span, cmax=span, colorscale="RdBu",
            colorbar=dict(title=dict(text="difference to BP (pp)", side="right"), thickness=14,
                          len=0.42, y=0.21, yanchor="middle"),
        ))
