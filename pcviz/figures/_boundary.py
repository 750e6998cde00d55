"""Decision regions on 2-D data: one panel per rule, the data's points over each rule's classes."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ._style import is_dead, label, note, style

CLASS_COLORS = ("#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
"""Colour of each class (Okabe-Ito: colour-blind safe); regions are pale tints of them."""
_PALE, _DEEP = 0.88, 0.45
"""How much white is mixed into a region's colour where the network is unsure / sure."""


def _rgb(hex_color: str) -> np.ndarray:
    return np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def _tint(hex_color: str, white: float) -> str:
    """`hex_color` mixed with a fraction `white` of white, as `rgb(r,g,b)`."""
    r, g, b = np.rint((1 - white) * _rgb(hex_color) + white * 255).astype(int)
    return f"rgb({r},{g},{b})"


def class_color(k: int) -> str:
    """The colour of class `k`."""
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def region_colorscale(num_classes: int) -> list[list]:
    """A colour scale over `[0, K]` in `K` bands: band `k` runs from class `k`'s palest tint
    (the network unsure) to its deepest (sure); see `region_values`."""
    scale = []
    for k in range(num_classes):
        scale += [[k / num_classes, _tint(class_color(k), _PALE)],
                  [(k + 1) / num_classes, _tint(class_color(k), _DEEP)]]
    return scale


def region_values(probabilities: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    r"""The value drawn at each grid point: its predicted class $k$ plus how sure the network
    is, $k + 0.999\,\frac{p_k - 1/K}{1 - 1/K}$ (clipped to the band), so that the colour
    scale of `region_colorscale` shows the class by hue and the certainty by depth. NaN
    where the prediction is not finite (drawn as a gap)."""
    probabilities = np.asarray(probabilities, dtype=float)
    k = probabilities.shape[-1]
    predicted = np.asarray(predicted)
    safe = np.clip(predicted, 0, k - 1)
    chosen = np.take_along_axis(probabilities, safe[..., None], axis=-1)[..., 0]
    sure = np.clip((chosen - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0) if k > 1 else 1.0
    values = safe + 0.999 * sure
    return np.where((predicted >= 0) & np.isfinite(chosen), values, np.nan).astype(np.float32)


def decision_regions(
    probabilities: Mapping[str, np.ndarray],
    predicted: Mapping[str, np.ndarray],
    *,
    x1: np.ndarray,
    x2: np.ndarray,
    points: np.ndarray,
    labels: np.ndarray,
    accuracy: Mapping[str, float] | None = None,
    step: int | None = None,
) -> go.Figure:
    r"""Each rule's decision regions side by side on the same axes, the data's points on top.

    **Arguments:**

    - `probabilities`: rule -> `(G2, G1, K)` class probabilities on the grid (row `i` at
      `x2[i]`, column `j` at `x1[j]`), `predicted`: rule -> `(G2, G1)` predicted class (-1:
      not finite), as `pcviz.boundary.DecisionGrid` holds them.
    - `x1` `(G1,)`, `x2` `(G2,)`: the grid's coordinates.
    - `points` `(S, 2)`, `labels` `(S,)`: the training points drawn, coloured by class.
    - `accuracy`: rule -> fraction of the drawn points classified right (in the panel titles).
    - `step`: the training step of the weights (in the title).

    **Returns:**

    A `go.Figure` with one panel per rule (x axes `x`, `x2`, ...; one shared y axis): a
    heatmap named after the rule whose hue is the predicted class and depth the certainty
    (`region_values`), and one scatter trace per class named "class k" (in the legend once).
    A rule with no finite prediction gets a "<rule> diverged" note.
    """
    rules = list(probabilities)
    accuracy = accuracy or {}
    titles = [label(r) + (f": {accuracy[r]:.0%} of the points right" if r in accuracy
                          and np.isfinite(accuracy[r]) else "") for r in rules]
    fig = make_subplots(rows=1, cols=max(1, len(rules)), shared_yaxes=True,
                        horizontal_spacing=0.03, subplot_titles=titles or None)
    points, labels = np.asarray(points, dtype=np.float32), np.asarray(labels)
    num_classes = max([np.shape(p)[-1] for p in probabilities.values()] or [2])
    for col, rule in enumerate(rules, start=1):
        values = region_values(probabilities[rule], predicted[rule])
        if is_dead(values):
            note(fig, f"{label(rule)} diverged", x=0.5, y=0.5,
                 xref=f"x{'' if col == 1 else col} domain", yref="y domain")
        else:
            fig.add_heatmap(
                x=np.asarray(x1), y=np.asarray(x2), z=values, name=label(rule),
                colorscale=region_colorscale(num_classes), zmin=0, zmax=num_classes,
                showscale=False, customdata=np.asarray(predicted[rule], dtype=np.int8),
                hovertemplate="x₁ %{x:.2f}, x₂ %{y:.2f}: class %{customdata}"
                              f"<extra>{label(rule)}</extra>", row=1, col=col)
        for k in range(num_classes):
            mine = labels == k
            fig.add_scatter(
                x=points[mine, 0], y=points[mine, 1], mode="markers", name=f"class {k}",
                legendgroup=f"class {k}", showlegend=col == 1,
                marker=dict(color=class_color(k), size=5, line=dict(color="white", width=0.6)),
                hovertemplate="x₁ %{x:.2f}, x₂ %{y:.2f}" + f"<extra>class {k}</extra>",
                row=1, col=col)
        fig.update_xaxes(title_text="input x₁ (standardised)", range=[x1[0], x1[-1]],
                         constrain="domain", row=1, col=col)
    fig.update_yaxes(title_text="input x₂ (standardised)", range=[x2[0], x2[-1]], row=1, col=1)
    when = "" if step is None else f" after {step:,} training step{'s' * (step != 1)}"
    style(fig, title=f"Decision regions{when}: shade = class, depth = certainty",
          uirevision="decision-regions", height=420, legend_title="data")
    fig.update_layout(margin=dict(l=70, r=30, t=90, b=60))
    return fig
