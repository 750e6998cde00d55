"""Checks that a figure's log axes (and log colour bars) read as plain numbers in order."""

from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go


def tick_number(text: str) -> float:
    """The number a tick label shows: "0.08", "20", "10<sup>-5</sup>", "2×10<sup>-5</sup>";
    anything else (a lone digit of a minor tick is still a number) raises `ValueError`."""
    match = re.fullmatch(r"(?:([0-9.]+)×)?10<sup>(-?[0-9]+)</sup>", text)
    if match is None:
        return float(text)
    return float(match.group(1) or 1.0) * 10.0 ** int(match.group(2))


def log_axes(fig: go.Figure) -> dict[str, object]:
    """Every log axis of `fig` by layout name (`"xaxis"`, `"yaxis2"`, ...)."""
    layout = fig.layout.to_plotly_json()
    return {name: fig.layout[name] for name in layout
            if re.fullmatch(r"[xy]axis[0-9]*", name) and layout[name].get("type") == "log"}


def _assert_in_order(where: str, labels, values, low: float, high: float) -> None:
    numbers = [tick_number(t) for t in labels]
    assert len(numbers) >= 2, f"{where}: fewer than two tick labels ({labels})"
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), (where, labels)
    np.testing.assert_allclose(numbers, values, rtol=1e-6, err_msg=where)
    assert all(low <= v <= high for v in values), (where, values, low, high)


def assert_readable_log_axes(fig: go.Figure, name: str = "figure") -> int:
    """Assert that every log axis of `fig` has explicit tick labels that are plain numbers,
    increasing, at the tick values, inside the axis range; the same for a colour bar whose
    colour axis holds log10 of the values (title "log scale"). Returns how many it checked."""
    checked = 0
    for axis_name, axis in log_axes(fig).items():
        where = f"{name} {axis_name}"
        assert axis.tickmode == "array" and axis.ticktext, f"{where}: no explicit tick labels"
        low, high = (10.0**v for v in axis.range)
        _assert_in_order(where, axis.ticktext, list(axis.tickvals), low, high)
        checked += 1
    axis = fig.layout.coloraxis
    if axis.colorbar.title.text and "log scale" in axis.colorbar.title.text:
        where = f"{name} colour bar"
        assert axis.colorbar.ticktext, f"{where}: no explicit tick labels"
        values = [10.0**v for v in axis.colorbar.tickvals]
        _assert_in_order(where, axis.colorbar.ticktext, values, 10.0**axis.cmin,
                         10.0**axis.cmax)
        checked += 1
    return checked
