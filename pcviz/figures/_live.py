"""Live-lab figures: training curves, per-layer gradient alignment, wall time per step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ._style import (
    color,
    diverged_notes,
    empty,
    figure_of,
    finite,
    is_dead,
    label,
    log_axis,
    note_spec,
    panel_row,
    set_log_axis,
    style_layout,
)

Curve = tuple[np.ndarray, np.ndarray]


def _legend_name(rule: str, step: int | None) -> str:
    return label(rule) if step is None else f"{label(rule)} (diverged at step {step})"


def _divergence_marker(rule: str, k: int, curve: Curve | None,
                       step: int) -> tuple[list[dict], list[dict]]:
    """A dotted line in both panels at the step where `rule` diverged, and an x on its last
    finite loss."""
    lines = [dict(type="line", x0=step, x1=step, xref=f"x{ref}", y0=0, y1=1,
                  yref=f"y{ref} domain", line=dict(color=color(rule, k), dash="dot", width=1))
             for ref in ("", "2")]
    if curve is None:
        return lines, []
    steps, values = finite(curve[0]).ravel(), finite(curve[1]).ravel()
    before = np.isfinite(values) & (steps <= step)
    if not before.any():
        return lines, []
    return lines, [dict(
        type="scatter", x=[step], y=[values[before][-1]], mode="markers", legendgroup=rule,
        showlegend=False, name=f"{label(rule)} diverged",
        marker=dict(symbol="x", size=13, color=color(rule, k)),
        hovertemplate=f"diverged at step {step}<extra>{label(rule)}</extra>",
        xaxis="x", yaxis="y",
    )]


def _style_keys(with_test: bool) -> list[dict]:
    keys = [("train", "solid", "lines")]
    if with_test:
        keys.append(("test", "dash", "lines+markers"))
    return [dict(type="scatter", x=[None], y=[None], mode=mode, name=name, legendgroup="style",
                 line=dict(color="#888888", dash=dash), xaxis="x2", yaxis="y2")
            for name, dash, mode in keys]


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
    layout = panel_row(("training loss", "accuracy"), spacing=0.1, shared_y=False)
    data: list[dict] = []
    shapes: list[dict] = []
    for k, rule in enumerate(dict.fromkeys([*loss, *accuracy, *test_accuracy])):
        candidates = [(loss.get(rule), "", "", "solid", "lines"),
                      (accuracy.get(rule), "2", " train", "solid", "lines"),
                      (test_accuracy.get(rule), "2", " test", "dash", "lines+markers")]
        series = [(curve, ref, suffix, dash, mode)
                  for curve, ref, suffix, dash, mode in candidates if curve is not None]
        for i, (curve, ref, suffix, dash, mode) in enumerate(series):
            name = _legend_name(rule, diverged.get(rule)) if i == 0 else label(rule) + suffix
            data.append(dict(
                type="scatter", x=finite(curve[0]), y=finite(curve[1]), mode=mode, name=name,
                legendgroup=rule, showlegend=i == 0,
                line=dict(color=color(rule, k), dash=dash, width=2), marker=dict(size=6),
                xaxis=f"x{ref}", yaxis=f"y{ref}",
            ))
        step = diverged.get(rule)
        if step is not None:
            lines, marker = _divergence_marker(rule, k, loss.get(rule), int(step))
            shapes.extend(lines)
            data.extend(marker)
    data.extend(_style_keys(bool(test_accuracy)))
    dead = [r for r, c in loss.items() if diverged.get(r) is None and is_dead(c[1])]
    layout["annotations"].extend(diverged_notes(dead))
    if shapes:
        layout["shapes"] = shapes
    for ref in ("", "2"):
        layout[f"xaxis{ref}"]["title"] = dict(text="training step")
    layout["yaxis"].update(log_axis(*(t["y"] for t in data if t["yaxis"] == "y"
                                      and t["y"] is not None)),
                           title=dict(text="loss ½‖ŷ − y‖² (log scale)"))
    layout["yaxis2"].update(title=dict(text="accuracy (%)"), tickformat=".0%", range=[0, 1.02])
    style_layout(layout, title="Training curves (same initial weights and batches)",
                 uirevision="training-curves", legend_title="rule")
    return figure_of(data, layout)


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
        for key, ref, suffix in (("loss", "", ""), ("accuracy", "2", " train"),
                                 ("test_accuracy", "2", " test")):
            values = np.asarray(series.get(key, ()), dtype=float)
            keep = np.isfinite(values)
            if not keep.any():
                continue
            fig.add_scatter(
                x=steps[keep], y=values[keep], mode="lines", name=f"{name} {label(rule)}",
                legendgroup=name, showlegend=key == "loss", opacity=0.75,
                line=dict(color=color(rule, k), dash="dot", width=1.5),
                hovertemplate=f"{name} {label(rule)}{suffix}: %{{y:.3g}} at step %{{x}}"
                              "<extra></extra>", xaxis=f"x{ref}", yaxis=f"y{ref}",
            )
    set_log_axis(fig, "y")  # the loss axis now also shows the earlier run
    return fig


def _ratio_traces(norm_ratios: Mapping[str, np.ndarray]) -> list[dict]:
    traces = []
    for k, rule in enumerate(norm_ratios):
        arr = finite(norm_ratios[rule]).ravel()
        if arr.size < 2 or is_dead(arr):
            continue
        traces.append(dict(
            type="scatter", x=np.arange(1, arr.size), y=arr[:-1], mode="lines+markers",
            legendgroup=rule, name=f"{label(rule)} size", showlegend=False,
            line=dict(color=color(rule, k), width=2, dash="dot" if rule == "bp" else "solid"),
            hovertemplate="weight layer %{x}<br>‖g‖ / ‖g<sub>BP</sub>‖ %{y:.3g}"
                          "<extra>%{fullData.name}</extra>", xaxis="x2", yaxis="y2",
        ))
    return traces


def _level(y: float, ref: str) -> dict:
    """A dotted horizontal line at `y` across panel `ref`'s axes (`""`, `"2"`)."""
    return dict(type="line", x0=0, x1=1, xref=f"x{ref} domain", y0=y, y1=y, yref=f"y{ref}",
                line=dict(color="#999999", width=1, dash="dot"))


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
    layout = panel_row(("direction: cosine to BP's gradient", "size relative to BP's gradient"),
                       spacing=0.12, shared_y=False) if norm_ratios else {}
    on = dict(xaxis="x", yaxis="y") if norm_ratios else {}
    data: list[dict] = []
    notes = layout.setdefault("annotations", [])
    longest = 0
    for k, rule in enumerate(cosines):
        arr = finite(cosines[rule]).ravel()
        longest = max(longest, arr.size - 1)
        if arr.size < 2 or is_dead(arr):
            notes.append(note_spec(f"{label(rule)} diverged", y=0.15 + 0.1 * k))
            continue
        overall = f"{arr[-1]:.2f}" if np.isfinite(arr[-1]) else "n/a"
        data.append(dict(
            type="scatter", x=np.arange(1, arr.size), y=arr[:-1], mode="lines+markers",
            legendgroup=rule, name=f"{label(rule)} (overall {overall})",
            line=dict(color=color(rule, k), width=2),
            hovertemplate="weight layer %{x}<br>cosine %{y:.3f}<extra>%{fullData.name}</extra>",
            **on,
        ))
    layout["shapes"] = [_level(0.0, "")]
    x_axis: dict = dict(title=dict(text="weight layer (1 = input weights, L = readout)"),
                        rangemode="tozero")
    if longest <= 10:
        x_axis["dtick"] = 1
    for ref in ("", "2") if norm_ratios else ("",):
        layout.setdefault(f"xaxis{ref}", {}).update(x_axis)
    layout.setdefault("yaxis", {}).update(title=dict(text="cosine to BP gradient"),
                                          range=[-1.05, 1.05])
    if norm_ratios:
        ratios = _ratio_traces(norm_ratios)
        data.extend(ratios)
        layout["shapes"].append(_level(1.0, "2"))
        layout["yaxis2"].update(log_axis(*(t["y"] for t in ratios)),
                                title=dict(text="‖g‖ / ‖g<sub>BP</sub>‖ (log scale)"))
    if not notes:
        del layout["annotations"]
    style_layout(layout, title="Weight-gradient alignment with BP per layer",
                 uirevision="layer-alignment", legend_title="rule (overall cosine)")
    return figure_of(data, layout)


def _ms_text(ms: float) -> str:
    return f"{ms:,.1f} ms" if ms >= 1 else f"{ms:.2g} ms"


def _shared_brackets(layout: dict, order: list[str], shared: Sequence[Sequence[str]]) -> None:
    for group in shared:
        rows = sorted(order.index(rule) for rule in group if rule in order)
        if len(rows) < 2:
            continue
        layout.setdefault("shapes", []).append(dict(
            type="line", xref="paper", yref="y", x0=1.02, x1=1.02, y0=rows[0] - 0.35,
            y1=rows[-1] + 0.35, line=dict(color="#555555", width=2)))
        layout.setdefault("annotations", []).append(dict(
            text="stepped together", xref="paper", yref="y", x=1.03,
            y=(rows[0] + rows[-1]) / 2, xanchor="left", showarrow=False))


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
    data = []
    for k, rule in enumerate(order):
        ms = 1000.0 * float(seconds[rule])
        good = np.isfinite(ms)
        data.append(dict(
            type="bar", y=[label(rule)], x=[ms if good else 0.0], orientation="h",
            name=label(rule), marker=dict(color=color(rule, k)),
            text=[_ms_text(ms) if good else "n/a"], textposition="outside", cliponaxis=False,
        ))
    layout: dict = {}
    _shared_brackets(layout, order, shared)
    top = max([1000.0 * float(s) for s in seconds.values() if np.isfinite(s)], default=0.0)
    top = top if top > 0 else 1.0
    layout.update(
        xaxis=dict(title=dict(text="wall time per training step (ms)"), range=[0, 1.25 * top]),
        yaxis=dict(title=dict(text="rule"), autorange="reversed", type="category"),
    )
    style_layout(layout, title="Wall time per training step", uirevision="step-times",
                 height=160 + 55 * len(order), legend_title="rule")
    layout["margin"]["r"] = 150
    layout["legend"].update(orientation="h", x=1.0, y=1.02, xanchor="right", yanchor="bottom")
    layout.update(bargap=0.35, barmode="overlay")
    return figure_of(data, layout)
