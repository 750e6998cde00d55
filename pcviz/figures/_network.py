"""A compact diagram of the network: input, hidden layers and output as blocks, one row per
rule, the hidden layers its credit has reached in its rule's colour."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from ._style import color, label, layer_ticks, style

UNREACHED = "#e1e1e1"
"""Colour of a hidden layer the credit has not reached."""
ENDS = "#8c8c8c"
"""Colour of the input and output blocks."""
_BAR = 0.72
"""Width of a block, in layers."""


def block_height(size: int, largest: int) -> float:
    """Height of a layer's block, `0.25 + 0.6 sqrt(size / largest)` of a row: every layer
    visible, a wider one taller."""
    return 0.25 + 0.6 * float(np.sqrt(max(size, 1) / max(largest, 1)))


def _hidden_text(arrival: np.ndarray | None, hidden: int, steps: int | None) -> list[str]:
    """What each hidden layer's hover says of the credit's arrival."""
    if arrival is None:
        return ["no inference yet (press Step or Play)"] * hidden
    out = []
    for t in np.asarray(arrival):
        if t == 0:
            out.append("exact adjoint (backward pass)")
        elif t >= 1:
            out.append(f"credit reached at inference step {int(t)}")
        else:
            out.append("credit not reached" + (f" in T = {steps} steps" if steps else ""))
    return out


def reach_summary(arrival: np.ndarray | None) -> str:
    """"12/15 layers" (hidden layers with an arrival step of 0 or more), or "no step yet"."""
    if arrival is None:
        return "no step yet"
    arrival = np.asarray(arrival)
    return f"{int((arrival >= 0).sum())}/{arrival.size} layers"


def network_diagram(
    arrival: Mapping[str, np.ndarray | None],
    *,
    depth: int,
    width: int,
    input_dim: int,
    output_dim: int,
    steps: int | None = None,
) -> go.Figure:
    r"""The network as a row of blocks per rule: the input ($D$ features), the $L-1$ hidden
    layers of width $N$, the output ($K$ classes); a block's height grows with its size. A
    hidden layer is drawn in the rule's colour where the rule's credit reached it.

    **Arguments:**

    - `arrival`: rule -> `(L-1,)` inference step at which the credit reached each hidden
      layer (`pcviz.boundary.credit_reach`: -1 never, 0 exact as for BP), or `None` before
      the rule's first step (every layer drawn unreached).
    - `depth` ($L$), `width` ($N$), `input_dim` ($D$), `output_dim` ($K$): keyword-only.
    - `steps`: keyword-only, $T$ (in the hover text of unreached layers).

    **Returns:**

    A `go.Figure` of bars (x: 0 input, 1..L-1 hidden layers, L output; y: one row per rule,
    the first on top, labelled "PC-ALM<br>12/15 layers"): per rule a trace "<label>
    reached" of its reached layers and "<label> not reached" of the others, and one
    "input / output" trace.
    """
    rules = list(arrival)
    hidden = depth - 1
    largest = max(width, input_dim, output_dim)
    h_in, h_mid, h_out = (block_height(n, largest) for n in (input_dim, width, output_dim))
    fig = go.Figure()
    for k, rule in enumerate(rules):
        _hidden_blocks(fig, rule, k, arrival[rule], hidden=hidden, row=len(rules) - 1 - k,
                       height=h_mid, width=width, steps=steps)
    rows = np.arange(len(rules))
    fig.add_bar(x=np.tile([0, depth], len(rules)), y=np.tile([h_in, h_out], len(rules)),
                base=np.repeat(rows, 2) - np.tile([h_in / 2, h_out / 2], len(rules)),
                width=_BAR, name="input / output", showlegend=False, marker=dict(color=ENDS),
                customdata=[f"input: {input_dim} features", f"output: {output_dim} classes"]
                * len(rules), hovertemplate="%{customdata}<extra></extra>")
    fig.update_xaxes(**_layer_axis(depth), range=[-0.7, depth + 0.7],
                     title_text="layer (credit enters at the output and travels left)",
                     showgrid=False, zeroline=False)
    fig.update_yaxes(tickmode="array", tickvals=list(rows[::-1]),
                     ticktext=[f"{label(r)}<br>{reach_summary(arrival[r])}" for r in rules],
                     range=[-0.6, len(rules) - 0.4], showgrid=False, zeroline=False)
    style(fig, title=f"The network: depth L = {depth}, {hidden} hidden layers of width {width};"
          " coloured where the credit reached", uirevision="network", height=110 + 75 * len(rules))
    fig.update_layout(barmode="overlay", margin=dict(l=110, r=30, t=60, b=55))
    return fig


def _hidden_blocks(fig: go.Figure, rule: str, k: int, arrival: np.ndarray | None, *,
                   hidden: int, row: int, height: float, width: int, steps: int | None) -> None:
    """A rule's `hidden` layers on row `row`: one trace of those its credit reached (in the
    rule's colour), one of the others."""
    texts = np.array(_hidden_text(arrival, hidden, steps), dtype=object)
    reached = np.zeros(hidden, bool) if arrival is None else np.asarray(arrival) >= 0
    layers = np.arange(1, hidden + 1)
    edge = 0 if hidden > 100 else 0.5 if hidden > 40 else 1
    for state, mask, fill in (("reached", reached, color(rule, k)),
                              ("not reached", ~reached, UNREACHED)):
        fig.add_bar(
            x=layers[mask], y=np.full(mask.sum(), height), base=row - height / 2, width=_BAR,
            name=f"{label(rule)} {state}", showlegend=False,
            marker=dict(color=fill, line=dict(color="white", width=edge)),
            customdata=texts[mask], hovertemplate=f"hidden layer %{{x}} (width {width}): "
                                                  f"%{{customdata}}<extra>{label(rule)}</extra>")


def _layer_axis(depth: int) -> dict:
    """Ticks "input", a few hidden layers' numbers (none crowding the ends), "output"."""
    ticks = layer_ticks(depth - 1)
    room = 0 if depth - 1 <= 12 else depth / 12
    inner = [(v, t) for v, t in zip(ticks["tickvals"], ticks["ticktext"])
             if room < v < depth - room]
    return dict(tickmode="array", tickvals=[0, *(v for v, _ in inner), depth],
                ticktext=["input", *(t for _, t in inner), "output"], tickangle=0)
