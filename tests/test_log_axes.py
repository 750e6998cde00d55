"""Readable log axes: every figure kind with a log axis or a log colour bar shows its ticks
as plain numbers (0.1, 0.2, 0.5; 1, 2, 5, 10) in order, or as powers of ten over many
decades."""

import numpy as np
import plotly.graph_objects as go
import pytest
from _logaxes import assert_readable_log_axes

from pcviz import figures
from pcviz.figures._style import log_ticks

T, N = 12, 5  # inference steps, hidden layers (L = 6)


@pytest.mark.parametrize(("low", "high", "labels"), [
    (0.08, 0.7, ["0.1", "0.2", "0.5"]),  # was "7, 6, ... 2, 0.1, 9, 8"
    (1.0, 126.0, ["1", "2", "5", "10", "20", "50", "100"]),  # was "2, 5, 10, 2, 5, 100"
    (0.61, 0.83, ["0.65", "0.7", "0.75", "0.8"]),  # less than a decade: round steps
    (4e-5, 0.9, ["10<sup>-4</sup>", "0.001", "0.01", "0.1"]),  # many decades: powers of ten
    (1e-15, 1.0, ["10<sup>-14</sup>", "10<sup>-12</sup>", "10<sup>-10</sup>", "10<sup>-8</sup>",
                  "10<sup>-6</sup>", "10<sup>-4</sup>", "0.01", "1"]),
])
def test_log_ticks_read_as_plain_numbers(low, high, labels):
    from pcviz.figures._style import _tick_text

    assert [_tick_text(t) for t in log_ticks(low, high)] == labels


def _log_figures() -> dict[str, go.Figure]:
    """Every figure kind with a log axis or a log colour bar, on values that span the ranges
    the pages show (a few hundredths to one, one to a hundred layers, 1e-8 to 2)."""
    d = np.arange(1, 64)
    arrival = np.concatenate([[-1] * 40, (2 * d[:23][::-1]).astype(int)])
    front = 0.5 * np.arange(1, T + 1)[:, None] >= np.arange(N, 0, -1)[None, :]
    credit = np.where(front, 1.0, 1e-6) * np.linspace(0.08, 0.7, N)  # a wave
    steps, loss = np.arange(1, 200), np.linspace(0.7, 0.08, 199)
    curves = figures.training_curves({"pc": (steps, loss)}, {"pc": (steps, loss)})
    cos = np.linspace(0.9, 1.0, 17)
    ratio = np.geomspace(2e-8, 1.7, 17)
    return {
        "arrival": figures.arrival_plot({"pcalm": 2 * d, "pc": arrival}, alpha=1.0, eta=0.25),
        "energy": figures.energy_plot({"pcalm": np.linspace(0.1, 0.2, T)[:, None]
                                       * np.ones((T, N + 1)), "pc": np.ones((T, N + 1))}),
        "curves": curves,
        "curves with an earlier run": figures.overlay_curves(
            curves, {"pc": {"step": steps, "loss": loss / 100, "accuracy": loss}}, name="run"),
        "exactness": figures.exactness_plot(np.array([1, 10, 100, 16000]),
                                            {"pc": np.array([0.9, 0.5, 0.3, 0.3]),
                                             "pcalm": np.array([0.9, 0.1, 1e-5, 5e-15])}),
        "log heatmap": figures.inference_heatmaps({"pc": credit}, log=True),
        "alignment with norm ratio": figures.layer_alignment(
            {"pc": cos}, norm_ratios={"pc": ratio, "bp": np.ones(17)}),
    }


@pytest.mark.parametrize("name", list(_log_figures()))
def test_every_log_axis_has_plain_number_ticks_in_order(name):
    fig = _log_figures()[name]
    assert assert_readable_log_axes(fig, name) >= 1


def test_overlay_widens_the_log_axis_to_the_earlier_run():
    fig = _log_figures()["curves with an earlier run"]
    low, _ = fig.layout.yaxis.range
    assert 10.0**low <= 0.08 / 100  # the earlier run's smallest loss is inside the axis
