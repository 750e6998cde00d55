"""Shared look of every pcviz figure: rule names and colours, layout defaults, NaN handling."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import plotly.graph_objects as go

from ..config import RULE_LABELS

RULE_COLORS: dict[str, str] = {"bp": "#3d3d3d", "pc": "#E69F00", "pcalm": "#0072B2"}
"""Line colour of each rule (Okabe-Ito: colour-blind safe; BP dark grey, PC orange, PC-ALM blue)."""

_EXTRA_COLORS = ("#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
TEMPLATE = "plotly_white"
LAYER_AXIS = "hidden layer (1 = next to input)"
STEP_AXIS = "inference step t"
GOOD, BAD = "#009E73", "#D55E00"


def label(rule: str) -> str:
    """Display name of a rule; unknown rules are shown upper-cased."""
    return RULE_LABELS.get(rule, rule.upper())


def color(rule: str, index: int = 0) -> str:
    """Colour of a rule; unknown rules take colours from a colour-blind-safe spare palette."""
    return RULE_COLORS.get(rule, _EXTRA_COLORS[index % len(_EXTRA_COLORS)])


def finite(values) -> np.ndarray:
    """`values` as a float64 array with every inf replaced by NaN (drawn as a gap)."""
    out = np.array(values, dtype=np.float64, copy=True)
    out[np.isinf(out)] = np.nan
    return out


def is_dead(values) -> bool:
    """Whether an array has no finite value at all (a diverged or empty run)."""
    arr = np.asarray(values, dtype=np.float64)
    return arr.size == 0 or not np.isfinite(arr).any()


def max_finite(arrays: Iterable[np.ndarray], default: float = 1.0) -> float:
    """Largest finite value over several arrays; `default` when there is none or it is <= 0."""
    best = -np.inf
    for arr in arrays:
        arr = np.asarray(arr, dtype=np.float64)
        good = arr[np.isfinite(arr)]
        if good.size:
            best = max(best, float(good.max()))
    return best if np.isfinite(best) and best > 0 else default


def row_mean(values: np.ndarray) -> np.ndarray:
    """Mean of the finite entries of each row of a 2-D array; NaN for a row with none."""
    arr = np.asarray(values, dtype=np.float64)
    good = np.isfinite(arr)
    count = good.sum(axis=1)
    total = np.where(good, arr, 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def style(
    fig: go.Figure,
    *,
    title: str,
    uirevision: str,
    height: int = 420,
    legend_title: str | None = None,
) -> go.Figure:
    """Apply the pcviz defaults (template, title, height, uirevision, legend title) in place."""
    fig.update_layout(
        template=TEMPLATE,
        title=dict(text=title, x=0.01, xanchor="left", font=dict(size=16)),
        height=height,
        uirevision=uirevision,
        margin=dict(l=70, r=30, t=80, b=60),
        hoverlabel=dict(namelength=-1),
    )
    if legend_title is not None:
        fig.update_layout(legend=dict(title=dict(text=legend_title)))
    return fig


def note(fig: go.Figure, text: str, *, x: float = 0.5, y: float = 0.5, xref: str = "paper",
         yref: str = "paper") -> None:
    """Add a boxed, centred message (e.g. "PC diverged") at a paper or axis-domain position."""
    fig.add_annotation(
        text=text, x=x, y=y, xref=xref, yref=yref, showarrow=False,
        font=dict(size=14, color=BAD), bgcolor="rgba(255,255,255,0.85)",
        bordercolor=BAD, borderwidth=1, borderpad=4,
    )


def diverged_note(fig: go.Figure, rules: Iterable[str]) -> None:
    """Stack one "X diverged" note per rule near the top of a single-panel figure."""
    for k, rule in enumerate(rules):
        note(fig, f"{label(rule)} diverged", y=0.92 - 0.1 * k)


def empty(title: str, uirevision: str, message: str = "no data") -> go.Figure:
    """A styled figure that only says there is nothing to draw."""
    fig = style(go.Figure(), title=title, uirevision=uirevision, height=300)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    note(fig, message)
    return fig


def layer_ticks(count: int, *, output: bool = False) -> dict:
    """Axis settings for hidden layers `1..count` (and an "output" row above them).

    At most about nine ticks on round numbers; layer 1 is always labelled.
    """
    step = next((s for s in (1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 200, 256)
                 if count / s <= 8), max(1, count // 8))
    vals = sorted({1, *range(step, count + 1, step)})
    text = [str(v) for v in vals]
    top = count + 1 if output else count
    if output:
        vals, text = [*vals, top], [*text, "output"]
    return dict(tickmode="array", tickvals=vals, ticktext=text, range=[0.5, top + 0.5],
                autorange=False)
