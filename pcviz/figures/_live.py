"""Live-lab figures: training curves, per-layer gradient alignment, wall time per step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ._style import (
    color,
    diverged_note,
    empty,
    finite,
    is_dead,
    label,
    note,
    set_log_axis,
    style,
)

Curve = tuple[np.ndarray, np.ndarray]


def _legend_name(rule: str, step: int | None) -> str:
    return label(rule) if step is None else f"{label(rule)} (diverged at step {step})"


def _divergence_marker(fig: go.Figure, rule: str, k: int, curve: Curve | None, step: int) -> None:
    fig.add_vline(x=step, line=dict(color=color(rule, k), dash="dot", width=1))
    if curve is None:
        return
    steps, values = finite(curve[0]).ravel(), finite(curve[1]).ravel()
    before = np.isfinite(values) & (steps <= step)
    if before.any():
        fig.add_scatter(
            x=[step], y=[values[before][-1]], mode="markers", legendgroup=rule,
            showlegend=False, name=f"{label(rule)} diverged",
            marker=dict(symbol="x", size=13, color=color(rule, k)),
            hovertemplate=f"diverged at step {step}<extra>{label(rule)}</extra>", row=1, col=1,
        )


def _style_keys(fig: go.Figure, with_test: bool) -> None:
    keys = [("train", "solid", "lines")]
    if with_test:
        keys.append(("test", "dash", "lines+markers"))
    for name, dash, mode in keys:
        fig.add_scatter(x=[None], y=[None], mode=mode, name=name, legendgroup="style",
                        line=dict(color="#888888", dash=dash), row=1, col=2)


def training_curves(
    loss: Mapping[str, Curve],
    accuracy: Mapping[str, Curve],
    *,
    test_accuracy: Mapping[str, Curve] | None = None,
    diverged: Mapping[str, int | None] | None = None,
) -> go.Figure:
    r"""Training loss (log y) and accuracy (train solid, test dashed) against training step.

    **Arguments:**

    - `loss`: rule -> `(steps, values)` of the mini-batch loss $\tfrac12\|\hat y - y\|^2$.
    - `accuracy`: rule -> `(steps, values)` of the training accuracy, a fraction in [0, 1].
    - `test_accuracy`: keyword-only, rule -> `(steps, values)` of the test accuracy.
    - `diverged`: keyword-only, rule -> training step at which it diverged (or `None`): an x
      marker there and the legend text "PC (diverged at step k)". A rule whose loss has no
      finite value and no such step gets a "PC diverged" note.

    **Returns:**

    A `go.Figure` of two subplots; trace names are the rule label (loss, in the legend),
    "<label> train" and "<label> test" (accuracy, grouped with the loss in the legend).
    """
    test_accuracy, diverged = test_accuracy or {}, diverged or {}
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("training loss", "accuracy"))
    for k, rule in enumerate(dict.fromkeys([*loss, *accuracy, *test_accuracy])):
        candidates = [(loss.get(rule), 1, "", "solid", "lines"),
                      (accuracy.get(rule), 2, " train", "solid", "lines"),
                      (test_accuracy.get(rule), 2, " test", "dash", "lines+markers")]
        series = [(curve, col, suffix, dash, mode)
                  for curve, col, suffix, dash, mode in candidates if curve is not None]
        for i, (curve, col, suffix, dash, mode) in enumerate(series):
            name = _legend_name(rule, diverged.get(rule)) if i == 0 else label(rule) + suffix
            fig.add_scatter(
                x=finite(curve[0]), y=finite(curve[1]), mode=mode, name=name, legendgroup=rule,
                showlegend=i == 0, line=dict(color=color(rule, k), dash=dash, width=2),
                marker=dict(size=6), row=1, col=col,
            )
        step = diverged.get(rule)
        if step is not None:
            _divergence_marker(fig, rule, k, loss.get(rule), int(step))
    _style_keys(fig, bool(test_accuracy))
    diverged_note(fig, [r for r, c in loss.items() if diverged.get(r) is None and is_dead(c[1])])
    fig.update_xaxes(title_text="training step")
    set_log_axis(fig, "y", title_text="loss ½‖ŷ − y‖² (log scale)")
    fig.update_yaxes(title_text="accuracy (%)", tickformat=".0%", range=[0, 1.02], row=1, col=2)
    return style(fig, title="Training curves (same initial weights and batches)",
                 uirevision="training-curves", legend_title="rule")


def overlay_curves(fig: go.Figure, curves: Mapping[str, Mapping[str, np.ndarray]], *,
                   name: str) -> go.Figure:
    """Add an earlier run's loss and accuracy to a `training_curves` figure, dotted, for
    comparison (alpha = 1 against alpha = 0.5, say).

    **Arguments:**

    - `fig`: a figure from `training_curves`.
    - `curves`: rule -> `{"step", "loss", "accuracy", "test_accuracy"}` arrays, as the run
      store's `curves` gives them.
    - `name`: keyword-only, how the legend names the earlier run.

    **Returns:** `fig`, with traces named "<name> <rule label>" in the legend group `name`.
    """
    for k, (rule, series) in enumerate(curves.items()):
        steps = np.asarray(series["step"], dtype=float)
        for key, col, suffix in (("loss", 1, ""), ("accuracy", 2, " train"),
                                 ("test_accuracy", 2, " test")):
            values = np.asarray(series.get(key, ()), dtype=float)
            keep = np.isfinite(values)
            if not keep.any():
                continue
            fig.add_scatter(
                x=steps[keep], y=values[keep], mode="lines", name=f"{name} {label(rule)}",
                legendgroup=name, showlegend=key == "loss", opacity=0.75,
                line=dict(color=color(rule, k), dash="dot", width=1.5),
                hovertemplate=f"{name} {label(rule)}{suffix}: %{{y:.3g}} at step %{{x}}"
                              "<extra></extra>", row=1, col=col,
            )
    set_log_axis(fig, "y")  # the loss axis now also shows the earlier run
    return fig


def _ratio_traces(fig: go.Figure, norm_ratios: Mapping[str, np.ndarray]) -> None:
    for k, rule in enumerate(norm_ratios):
        arr = finite(norm_ratios[rule]).ravel()
        if arr.size < 2 or is_dead(arr):
            continue
        fig.add_scatter(
            x=np.arange(1, arr.size), y=arr[:-1], mode="lines+markers", legendgroup=rule,
            name=f"{label(rule)} size", showlegend=False,
            line=dict(color=color(rule, k), width=2, dash="dot" if rule == "bp" else "solid"),
            hovertemplate="weight layer %{x}<br>‖g‖ / ‖g<sub>BP</sub>‖ %{y:.3g}"
                          "<extra>%{fullData.name}</extra>", row=1, col=2,
        )
    fig.add_hline(y=1, line=dict(color="#999999", width=1, dash="dot"), row=1, col=2)
    set_log_axis(fig, "y", "y2", title_text="‖g‖ / ‖g<sub>BP</sub>‖ (log scale)")


def layer_alignment(
    cosines: Mapping[str, np.ndarray],
    *,
    norm_ratios: Mapping[str, np.ndarray] | None = None,
) -> go.Figure:
    r"""Each rule's weight gradient against BP's, per weight layer: its direction (cosine)
    and, with `norm_ratios`, beside it its size relative to BP's (log scale).

    $$\cos_\ell = \frac{g_\ell \cdot g^{\mathrm{BP}}_\ell}{\|g_\ell\|\,\|g^{\mathrm{BP}}_\ell\|},
      \qquad n_\ell = \frac{\|g_\ell\|}{\|g^{\mathrm{BP}}_\ell\|}$$

    A cosine near 1 says nothing of the size: a layer the credit has barely reached can
    point BP's way with a gradient a million times smaller.

    **Arguments:**

    - `cosines`: rule -> `(L+1,)`: the cosine for weight layers 1..L (input first), then the
      overall cosine of the whole gradient last.
    - `norm_ratios`: keyword-only, rule -> `(L+1,)` norm ratios laid out the same way
      (`Session.gradient_comparison`); drawn as a second panel on a log axis.

    **Returns:**

    A `go.Figure`, cosine in [-1, 1]; legend entries read "PC-ALM (overall 0.93)". With
    `norm_ratios`, two subplots, the ratios on `yaxis2`, traces named "PC-ALM size".
    """
    if norm_ratios:
        fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=(
            "direction: cosine to BP's gradient", "size relative to BP's gradient"))
    else:
        fig = go.Figure()
    panel = dict(row=1, col=1) if norm_ratios else {}
    longest = 0
    for k, rule in enumerate(cosines):
        arr = finite(cosines[rule]).ravel()
        longest = max(longest, arr.size - 1)
        if arr.size < 2 or is_dead(arr):
            note(fig, f"{label(rule)} diverged", y=0.15 + 0.1 * k)
            continue
        overall = f"{arr[-1]:.2f}" if np.isfinite(arr[-1]) else "n/a"
        fig.add_scatter(
            x=np.arange(1, arr.size), y=arr[:-1], mode="lines+markers", legendgroup=rule,
            name=f"{label(rule)} (overall {overall})", line=dict(color=color(rule, k), width=2),
            hovertemplate="weight layer %{x}<br>cosine %{y:.3f}<extra>%{fullData.name}</extra>",
            **panel,
        )
    fig.add_hline(y=0, line=dict(color="#999999", width=1, dash="dot"), **panel)
    if norm_ratios:
        _ratio_traces(fig, norm_ratios)
    fig.update_xaxes(title_text="weight layer (1 = input weights, L = readout)",
                     rangemode="tozero", dtick=None if longest > 10 else 1)
    fig.update_yaxes(title_text="cosine to BP gradient", range=[-1.05, 1.05], **panel)
    return style(fig, title="Weight-gradient alignment with BP per layer",
                 uirevision="layer-alignment", legend_title="rule (overall cosine)")


def _ms_text(ms: float) -> str:
    return f"{ms:,.1f} ms" if ms >= 1 else f"{ms:.2g} ms"


def _shared_brackets(fig: go.Figure, order: list[str], shared: Sequence[Sequence[str]]) -> None:
    for group in shared:
        rows = sorted(order.index(rule) for rule in group if rule in order)
        if len(rows) < 2:
            continue
        fig.add_shape(type="line", xref="paper", yref="y", x0=1.02, x1=1.02,
                      y0=rows[0] - 0.35, y1=rows[-1] + 0.35, line=dict(color="#555555", width=2))
        fig.add_annotation(text="stepped together", xref="paper", yref="y", x=1.03,
                           y=(rows[0] + rows[-1]) / 2, xanchor="left", showarrow=False)


def step_times(seconds: Mapping[str, float], *, shared: Sequence[Sequence[str]] = ()) -> go.Figure:
    """Wall milliseconds per training step for each rule, as horizontal bars.

    **Arguments:**

    - `seconds`: rule -> wall seconds per training step (NaN = not measured).
    - `shared`: keyword-only groups of rules stepped together as one computation (they share
      one timing); each group of two or more present rules is bracketed "stepped together".

    **Returns:**

    A `go.Figure`, first rule on top, each bar labelled with its value in ms.
    """
    if not seconds:
        return empty("Wall time per training step", "step-times")
    order = list(seconds)
    fig = go.Figure()
    for k, rule in enumerate(order):
        ms = 1000.0 * float(seconds[rule])
        good = np.isfinite(ms)
        fig.add_bar(
            y=[label(rule)], x=[ms if good else 0.0], orientation="h", name=label(rule),
            marker_color=color(rule, k), text=[_ms_text(ms) if good else "n/a"],
            textposition="outside", cliponaxis=False,
        )
    _shared_brackets(fig, order, shared)
    top = max([1000.0 * float(s) for s in seconds.values() if np.isfinite(s)], default=0.0)
    top = top if top > 0 else 1.0
    fig.update_xaxes(title_text="wall time per training step (ms)", range=[0, 1.25 * top])
    fig.update_yaxes(title_text="rule", autorange="reversed", type="category")
    fig = style(fig, title="Wall time per training step", uirevision="step-times",
                height=160 + 55 * len(order), legend_title="rule")
    fig.update_layout(margin=dict(r=150), bargap=0.35, barmode="overlay", legend=dict(
        orientation="h", x=1.0, y=1.02, xanchor="right", yanchor="bottom"))
    return fig
