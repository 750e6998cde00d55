"""Shared look of every pcviz figure: rule names and colours, layout defaults, NaN handling."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import get_colorscale

from ..config_fields import RULE_LABELS as RULE_LABELS
from ..config_fields import rule_label

RULE_COLORS: dict[str, str] = {"bp": "#3d3d3d", "pc": "#E69F00", "pcalm": "#0072B2"}
"""Line colour of each rule (Okabe-Ito: colour-blind safe; BP dark grey, PC orange, PC-ALM blue)."""

_EXTRA_COLORS = ("#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
TEMPLATE = "plotly_white"
LAYER_AXIS = "hidden layer (1 = next to input)"
STEP_AXIS = "inference step t"
GOOD, BAD = "#009E73", "#D55E00"


def label(rule: str) -> str:
    """Display name of a rule (`pcviz.config_fields.rule_label`)."""
    return rule_label(rule)


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
    fig.update_layout(template=TEMPLATE, **_house(title, uirevision, height))
    if legend_title is not None:
        fig.update_layout(legend=dict(title=dict(text=legend_title)))
    return fig


def style_layout(layout: dict, *, title: str, uirevision: str, height: int = 420,
                 legend_title: str | None = None) -> dict:
    """`style` for a figure built as a plain `layout` dict (in place; returns it)."""
    layout.update(template=_template(), **_house(title, uirevision, height))
    if legend_title is not None:
        layout.setdefault("legend", {})["title"] = dict(text=legend_title)
    return layout


def _house(title: str, uirevision: str, height: int) -> dict:
    """The layout settings every pcviz figure shares, the template aside."""
    return dict(title=dict(text=title, x=0.01, xanchor="left", font=dict(size=16)),
                height=height, uirevision=uirevision, margin=dict(l=70, r=30, t=80, b=60),
                hoverlabel=dict(namelength=-1))


@functools.cache
def _template() -> dict:
    """`TEMPLATE` as Plotly's JSON (read once)."""
    return pio.templates[TEMPLATE].to_plotly_json()


@functools.cache
def colorscale(name: str) -> tuple[tuple[float, str], ...]:
    """A named colour scale as the `(position, colour)` stops plotly.py sends for it."""
    return tuple((float(at), str(rgb)) for at, rgb in get_colorscale(name))


def figure_of(data: list[dict], layout: dict) -> go.Figure:
    """A figure from plain trace and layout dicts, in Plotly's JSON schema, without plotly.py
    checking every property on the way in (which costs a live figure a hundred times what
    building it does: the tests check that every figure built so is valid)."""
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def panel_row(titles: Sequence[str], *, spacing: float, shared_y: bool = True) -> dict:
    """The layout of one row of panels titled `titles`, `spacing` (a fraction of the width)
    apart, sharing their y axis when `shared_y`: what `make_subplots(rows=1,
    cols=len(titles), shared_yaxes=shared_y, ...)` lays out. Panel `k` (from 1) draws on
    axes `x{k}`, `y{k}` (`"x"`, `"y"` for the first)."""
    width = (1.0 - spacing * (len(titles) - 1)) / len(titles)
    layout: dict = {"annotations": []}
    for k, text in enumerate(titles):
        low, ref = k * (width + spacing), axis_suffix(k + 1)
        layout[f"xaxis{ref}"] = {"anchor": f"y{ref}", "domain": [low, low + width]}
        layout[f"yaxis{ref}"] = {"anchor": f"x{ref}", "domain": [0.0, 1.0]}
        if k and shared_y:
            layout[f"yaxis{ref}"].update(matches="y", showticklabels=False)
        layout["annotations"].append(dict(
            font=dict(size=16), showarrow=False, text=text, x=low + width / 2,
            xanchor="center", xref="paper", y=1.0, yanchor="bottom", yref="paper"))
    return layout


def axis_suffix(panel: int) -> str:
    """The suffix of panel `panel`'s axes (from 1): `""` for the first, then `"2"`, `"3"`."""
    return "" if panel == 1 else str(panel)


def note_spec(text: str, *, x: float = 0.5, y: float = 0.5, xref: str = "paper",
              yref: str = "paper") -> dict:
    """A boxed, centred message (e.g. "PC diverged") at a paper or axis-domain position, as
    an annotation dict."""
    return dict(text=text, x=x, y=y, xref=xref, yref=yref, showarrow=False,
                font=dict(size=14, color=BAD), bgcolor="rgba(255,255,255,0.85)",
                bordercolor=BAD, borderwidth=1, borderpad=4)


def note(fig: go.Figure, text: str, *, x: float = 0.5, y: float = 0.5, xref: str = "paper",
         yref: str = "paper") -> None:
    """Add a boxed, centred message (e.g. "PC diverged") at a paper or axis-domain position."""
    fig.add_annotation(**note_spec(text, x=x, y=y, xref=xref, yref=yref))


def diverged_notes(rules: Iterable[str]) -> list[dict]:
    """One "X diverged" note per rule, stacked near the top of the figure, as annotation
    dicts."""
    return [note_spec(f"{label(rule)} diverged", y=0.92 - 0.1 * k)
            for k, rule in enumerate(rules)]


def diverged_note(fig: go.Figure, rules: Iterable[str]) -> None:
    """Stack one "X diverged" note per rule near the top of a single-panel figure."""
    for spec in diverged_notes(rules):
        fig.add_annotation(**spec)


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


_MANTISSAS = ((1, 2, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9))
"""Tick mantissas of a log axis from coarse to fine: 1-2-5, then every integer."""
_MAX_LOG_TICKS = 8


def _tick_text(value: float) -> str:
    """A tick label that reads as a plain number: "0.08", "20", "500", or a power of ten
    "10<sup>-5</sup>" (with a mantissa, "2×10<sup>-5</sup>") outside 0.001 ... 10000."""
    value = float(f"{value:.6g}")
    if 1e-3 <= value < 1e5:
        return np.format_float_positional(value, trim="-")
    exponent = int(np.floor(np.log10(value)))
    mantissa = float(f"{value / 10.0**exponent:.6g}")
    power = f"10<sup>{exponent}</sup>"
    return power if mantissa == 1 else f"{mantissa:g}×{power}"


def _linear_ticks(lo: float, hi: float) -> np.ndarray:
    """Round values (steps of 1, 2 or 5 times a power of ten) inside `[lo, hi]`, 3 to 6."""
    for step in sorted({m * 10.0**e for e in range(-12, 13) for m in (1, 2, 5)}, reverse=True):
        ticks = np.arange(np.ceil(lo / step), np.floor(hi / step) + 1) * step
        if ticks.size >= 3:
            return np.array([float(f"{t:.10g}") for t in ticks if t > 0])
    return np.array([lo, hi])


def log_ticks(lo: float, hi: float) -> np.ndarray:
    r"""Tick values for a log axis over `[lo, hi]` (`0 < lo <= hi`): three to eight round
    numbers that read in order.

    Over many decades, powers of ten ($10^{-6}, 10^{-4}, \dots, 1$, every $k$-th decade);
    over a few, 1-2-5 per decade (0.05, 0.1, 0.2, 0.5); over about one, every integer
    mantissa (0.3, 0.4, ... 0.9); narrower still, evenly spaced round values (0.65, 0.7).
    """
    decades = np.arange(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
    for mantissas in _MANTISSAS:
        values = np.array([m * 10.0**e for e in decades for m in mantissas])
        inside = values[(values >= lo * (1 - 1e-9)) & (values <= hi * (1 + 1e-9))]
        if inside.size > _MAX_LOG_TICKS:
            return log_ticks_every(lo, hi)
        if inside.size >= 3:
            return inside
    return _linear_ticks(lo, hi)


def log_ticks_every(lo: float, hi: float) -> np.ndarray:
    """Powers of ten inside `[lo, hi]`, every `k`-th decade counted down from the highest,
    so that there are at most eight."""
    first, last = int(np.ceil(np.log10(lo) - 1e-9)), int(np.floor(np.log10(hi) + 1e-9))
    every = max(1, int(np.ceil((last - first + 1) / _MAX_LOG_TICKS)))
    return 10.0 ** np.arange(last, first - 1, -every)[::-1].astype(np.float64)


def log_axis(*arrays, pad: float = 0.04) -> dict:
    """Settings of a readable log axis that shows every finite positive value of `arrays`:
    `type="log"`, a range padded by `pad` of its span (in decades), and `log_ticks` of
    that range as `tickvals` with plain-number `ticktext`. Pass them to `update_xaxes` /
    `update_yaxes`; with no positive value the axis is left to Plotly."""
    values = np.concatenate([np.zeros(0), *(np.asarray(a, dtype=np.float64).ravel()
                                            for a in arrays)])
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return dict(type="log")
    low, high = np.log10(values.min()), np.log10(values.max())
    margin = max(pad * (high - low), 0.02)
    low, high = low - margin, high + margin
    ticks = [float(f"{t:.10g}") for t in log_ticks(10.0**low, 10.0**high)]
    return dict(type="log", range=[float(low), float(high)], autorange=False, tickmode="array",
                tickvals=ticks, ticktext=[_tick_text(t) for t in ticks])


def traces_on(fig: go.Figure, axis: str, anchor: str | None = None) -> list[np.ndarray]:
    """The `axis` (`"x"` or `"y"`) values of every trace of `fig` drawn on the axis `anchor`
    (`"y"`, `"y2"`, ...; default: the first axis of that letter)."""
    anchor = anchor or axis
    return [np.asarray(getattr(t, axis), dtype=np.float64) for t in fig.data
            if getattr(t, axis) is not None and (getattr(t, f"{axis}axis") or axis) == anchor]


def set_log_axis(fig: go.Figure, axis: str, anchor: str | None = None, **settings) -> None:
    """Make one axis of `fig` (`axis` `"x"` or `"y"`; `anchor` names which, e.g. `"y2"`) a
    readable log axis over what its traces show (`log_axis`), with extra `settings`."""
    anchor = anchor or axis
    fig.layout[f"{axis}axis{anchor[1:]}"].update(**log_axis(*traces_on(fig, axis, anchor)),
                                                 **settings)


def log_colorbar(low: float, high: float) -> dict:
    """Colour-bar ticks for a colour axis that holds $\\log_{10}$ of the values, from `low` to
    `high` (both log10): `tickvals` at the logs of `log_ticks`, labelled with the values."""
    ticks = [float(f"{t:.10g}") for t in log_ticks(10.0**low, 10.0**high)]
    return dict(tickmode="array", tickvals=[float(np.log10(t)) for t in ticks],
                ticktext=[_tick_text(t) for t in ticks])
