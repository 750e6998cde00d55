"""Figures against hand-built telemetry: orientation, shared scales, fronts, NaN, HTML export."""

from html.parser import HTMLParser

import numpy as np
import plotly.graph_objects as go
import pytest
from _logaxes import tick_number

from pcviz import analysis, figures, theory
from pcviz.figures._heatmap import LOG_DECADES
from pcviz.figures._style import figure_of

T, N = 12, 5  # inference steps, hidden layers (L = 6)


def wave(speed: float = 0.5, low: float = 0.1) -> np.ndarray:
    """(T, L-1) credit: 1 once a front from the output (speed layers/step) has passed, else low."""
    step = np.arange(1, T + 1)[:, None]
    distance = np.arange(N, 0, -1)[None, :]
    return np.where(speed * step >= distance, 1.0, low)


def heatmaps(fig: go.Figure) -> list:
    return [trace for trace in fig.data if trace.type == "heatmap"]


def annotations(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def trace(fig: go.Figure, name: str):
    (found,) = [t for t in fig.data if t.name == name]
    return found


# ---------------------------------------------------------------- inference heatmaps


def test_the_heatmaps_frame_has_their_panels_and_axes_and_no_colour():
    values = {"pc": wave(0.2), "pcalm": wave(0.5)}
    arrivals = {rule: analysis.arrival_steps(v, np.ones(N)) for rule, v in values.items()}
    full = figures.inference_heatmaps(values, arrivals=arrivals)
    frame = figures.heatmap_frame({rule: v.shape for rule, v in values.items()}, fronts=True,
                                  message="Press Play")
    assert [(t.type, t.name) for t in frame.data] == [(t.type, t.name) for t in full.data]
    assert all(np.isnan(np.asarray(t.z, dtype=float)).all() for t in heatmaps(frame))
    assert all(np.asarray(t.z).shape == (N, T) for t in heatmaps(frame))
    for axis in ("xaxis", "xaxis2", "yaxis"):
        assert frame.layout[axis].range == full.layout[axis].range
        assert frame.layout[axis].tickvals == full.layout[axis].tickvals
    assert "Press Play" in annotations(frame)


def test_heatmap_layer_one_is_the_bottom_row():
    credit = wave()
    fig = figures.inference_heatmaps({"pcalm": credit})
    (hm,) = heatmaps(fig)
    z = np.asarray(hm.z)
    assert z.shape == (N, T)
    np.testing.assert_allclose(z[0], credit[:, 0])  # row 0 of z = layer 1 = next to the input
    np.testing.assert_array_equal(hm.y, np.arange(1, N + 1))
    np.testing.assert_array_equal(hm.x, np.arange(1, T + 1))
    yaxis = fig.layout.yaxis
    assert tuple(yaxis.range) == (0.5, N + 0.5)  # increasing upwards: layer 1 at the bottom
    assert yaxis.autorange is False
    assert "1 = next to input" in yaxis.title.text
    assert fig.layout.xaxis.title.text == "inference step t"
    assert fig.layout.template.layout.paper_bgcolor == "white"  # plotly_white
    assert fig.layout.uirevision


def test_heatmaps_share_one_colour_axis_from_zero_to_the_largest_value():
    fig = figures.inference_heatmaps({"pc": 0.5 * wave(), "pcalm": 3.0 * wave()})
    assert [hm.coloraxis for hm in heatmaps(fig)] == ["coloraxis", "coloraxis"]
    assert fig.layout.coloraxis.cmin == 0.0
    assert fig.layout.coloraxis.cmax == pytest.approx(3.0)
    assert "credit" in fig.layout.coloraxis.colorbar.title.text
    fixed = figures.inference_heatmaps({"pc": wave(), "pcalm": wave()}, zmax=0.25)
    assert fixed.layout.coloraxis.cmax == pytest.approx(0.25)


def test_log_option_plots_floored_log10():
    credit = wave(low=1e-9)
    fig = figures.inference_heatmaps({"pcalm": credit}, log=True)
    floor = 1.0 * 10.0**-LOG_DECADES
    np.testing.assert_allclose(heatmaps(fig)[0].z, np.log10(np.maximum(credit, floor)).T)
    assert fig.layout.coloraxis.cmax == pytest.approx(0.0)
    assert fig.layout.coloraxis.cmin == pytest.approx(-LOG_DECADES)
    assert "log scale" in fig.layout.coloraxis.colorbar.title.text
    bar = fig.layout.coloraxis.colorbar  # ticks at the logs, labelled with the values
    assert [tick_number(t) for t in bar.ticktext] == pytest.approx([10.0**v for v in bar.tickvals])


def test_alignment_uses_a_fixed_diverging_scale_and_ignores_log():
    cosines = 2.0 * wave() - 1.0
    fig = figures.inference_heatmaps({"pcalm": cosines}, quantity="alignment", log=True)
    axis = fig.layout.coloraxis
    assert (axis.cmin, axis.cmax) == (-1.0, 1.0)
    assert "cosine" in axis.colorbar.title.text
    np.testing.assert_allclose(heatmaps(fig)[0].z, cosines.T)


def test_energy_puts_the_output_loss_on_the_top_row():
    energy = np.concatenate([wave(), np.full((T, 1), 7.0)], axis=1)  # (T, L)
    fig = figures.inference_heatmaps({"pcalm": energy}, quantity="energy")
    z = np.asarray(heatmaps(fig)[0].z)
    assert z.shape == (N + 1, T)
    np.testing.assert_allclose(z[-1], 7.0)
    yaxis = fig.layout.yaxis
    assert yaxis.ticktext[-1] == "output" and yaxis.tickvals[-1] == N + 1
    assert tuple(yaxis.range) == (0.5, N + 1.5)


def test_arrival_front_follows_the_given_arrivals_and_skips_never():
    credit = wave()
    arrival = analysis.arrival_steps(credit, np.ones(N))
    arrival[0] = -1
    fig = figures.inference_heatmaps({"pcalm": credit}, arrivals={"pcalm": arrival})
    front = trace(fig, "PC-ALM arrival front")
    np.testing.assert_array_equal(front.x, arrival[1:])
    np.testing.assert_array_equal(front.y, np.arange(2, N + 1))
    np.testing.assert_array_equal(front.x, [8, 6, 4, 2])  # 0.5 layers per step


def test_diverged_rule_is_noted_not_drawn():
    dead = np.full((T, N), np.nan)
    fig = figures.inference_heatmaps({"pc": dead, "pcalm": 2.0 * wave()}, step=4)
    assert len(heatmaps(fig)) == 1
    assert "PC diverged" in annotations(fig)
    assert fig.layout.coloraxis.cmax == pytest.approx(2.0)
    assert [shape.x0 for shape in fig.layout.shapes] == [4, 4]  # the step line in both panels


def test_inf_is_a_gap_and_all_dead_gives_a_unit_scale():
    credit = wave()
    credit[3, 2] = np.inf
    fig = figures.inference_heatmaps({"pc": credit})
    assert np.isnan(np.asarray(heatmaps(fig)[0].z)[2, 3])
    assert fig.layout.coloraxis.cmax == pytest.approx(1.0)
    dead = figures.inference_heatmaps({"pc": np.full((T, N), np.inf)}, log=True)
    assert heatmaps(dead) == [] and "PC diverged" in annotations(dead)


def test_one_step_one_layer():
    fig = figures.inference_heatmaps(
        {"pc": np.ones((1, 1))}, arrivals={"pc": np.array([1])}, step=1
    )
    assert np.asarray(heatmaps(fig)[0].z).shape == (1, 1)
    assert tuple(fig.layout.yaxis.range) == (0.5, 1.5)


def test_bad_quantity_is_rejected_by_name():
    with pytest.raises(ValueError, match="quantity='loss'"):
        figures.inference_heatmaps({"pc": wave()}, quantity="loss")


# ---------------------------------------------------------------- live lab


def test_training_curves_one_loss_and_one_accuracy_trace_per_rule():
    steps = np.arange(10)
    loss = {r: (steps, np.exp(-steps / s)) for r, s in (("bp", 3), ("pc", 6), ("pcalm", 4))}
    acc = {r: (steps, 1 - v / 2) for r, (_, v) in loss.items()}
    fig = figures.training_curves(loss, acc, diverged={"pc": 7, "bp": None})
    lines = [t for t in fig.data if t.mode == "lines" and t.x[0] is not None]
    assert [t.name for t in lines if t.xaxis == "x"] == ["BP", "PC (diverged at step 7)", "PC-ALM"]
    assert [t.name for t in lines if t.xaxis == "x2"] == ["BP train", "PC train", "PC-ALM train"]
    colors = [t.line.color for t in lines if t.xaxis == "x"]
    assert colors == [figures.RULE_COLORS[r] for r in loss]
    marker = trace(fig, "PC diverged")
    assert marker.x == (7,) and marker.marker.symbol == "x"
    assert fig.layout.yaxis.type == "log"
    assert not any(t.name == "test" for t in fig.data)  # no test key without test data


def test_training_curves_note_a_loss_with_no_finite_value():
    steps = np.arange(4)
    fig = figures.training_curves(
        {"pc": (steps, np.full(4, np.nan)), "bp": (steps, np.ones(4))},
        {"pc": (steps, np.full(4, np.nan)), "bp": (steps, np.ones(4))},
    )
    assert "PC diverged" in annotations(fig) and "BP diverged" not in annotations(fig)


def test_training_curves_test_accuracy_is_dashed_with_markers():
    steps = np.arange(5)
    curve = {"pcalm": (steps, np.linspace(0.2, 0.8, 5))}
    fig = figures.training_curves(curve, curve, test_accuracy=curve)
    test = trace(fig, "PC-ALM test")
    assert test.line.dash == "dash" and "markers" in test.mode and test.xaxis == "x2"


def test_layer_alignment_legend_and_values():
    cos = np.array([0.5, 0.8, 0.9, 0.93])  # L = 3 weight layers, then overall
    fig = figures.layer_alignment({"pcalm": cos, "pc": np.full(4, np.nan)})
    line = trace(fig, "PC-ALM (overall 0.93)")
    np.testing.assert_array_equal(line.x, [1, 2, 3])
    np.testing.assert_allclose(line.y, cos[:3])
    assert "PC diverged" in annotations(fig)
    assert tuple(fig.layout.yaxis.range) == (-1.05, 1.05)


def test_step_times_bars_and_shared_group():
    fig = figures.step_times({"bp": 0.004, "pc": 0.02, "pcalm": 0.02}, shared=[("pc", "pcalm")])
    assert [t.x[0] for t in fig.data] == pytest.approx([4.0, 20.0, 20.0])
    assert trace(fig, "PC-ALM").text == ("20.0 ms",)
    assert annotations(fig) == ["stepped together"]
    alone = figures.step_times({"bp": 0.004, "pc": 0.02}, shared=[("pc", "pcalm")])
    assert annotations(alone) == []


# ---------------------------------------------------------------- credit propagation


def test_credit_profile_threshold_and_title():
    adjoint = np.linspace(1.0, 2.0, N)
    fig = figures.credit_profile({"pcalm": wave()[5]}, adjoint, step=6, fraction=0.25)
    assert fig.layout.title.text == "Credit at inference step 6"
    threshold = trace(fig, "arrival threshold 0.25·‖δ<sub>i</sub>‖")
    np.testing.assert_allclose(threshold.y, 0.25 * adjoint)
    symbols = list(trace(fig, "PC-ALM").marker.symbol)
    assert symbols == ["circle-open", "circle-open", "circle", "circle", "circle"]


def test_arrival_plot_legend_slope_matches_fit_front():
    arrival = np.array([-1, 40, 20, 10, 5])  # distances 5..1; layer 1 never reached
    fit = analysis.fit_front(arrival)
    fig = figures.arrival_plot({"pc": arrival}, alpha=1.0, eta=0.25)
    name = f"PC: slope {fit.slope:.2f}, 4/5 layers"
    points = trace(fig, name)
    np.testing.assert_array_equal(points.x, [4, 3, 2, 1])
    np.testing.assert_array_equal(points.y, arrival[1:])
    theory_line = trace(fig, "wave theory, speed √(αη) = 0.50 layers/step")
    np.testing.assert_allclose(theory_line.y, np.arange(1, N + 1) / 0.5)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"


def test_arrival_plot_counts_layers_never_reached():
    fig = figures.arrival_plot({"pc": np.array([-1, -1, -1, 9, 3])}, alpha=0.0, eta=0.25)
    assert [t.name for t in fig.data] == ["PC: no fit, 2/5 layers"]  # no theory for alpha = 0


def test_energy_plot_total_is_the_row_sum():
    energy = np.arange(1.0, 1.0 + T * (N + 1)).reshape(T, N + 1)
    fig = figures.energy_plot({"pcalm": energy, "pc": np.full_like(energy, np.nan)})
    np.testing.assert_allclose(trace(fig, "PC-ALM total").y, energy.sum(axis=1))
    np.testing.assert_allclose(trace(fig, "PC-ALM output loss").y, energy[:, -1])
    assert fig.layout.yaxis.type == "log" and "PC diverged" in annotations(fig)


def test_alignment_vs_step_mean_and_bottom_layer():
    cos = 2.0 * wave() - 1.0
    cos[0, 1] = np.nan
    fig = figures.alignment_vs_step({"pcalm": cos})
    expected = np.array([np.nanmean(row) for row in cos])
    np.testing.assert_allclose(trace(fig, "PC-ALM (mean over layers)").y, expected)
    np.testing.assert_allclose(trace(fig, "PC-ALM (layer 1, next to input)").y, cos[:, 0])


# ---------------------------------------------------------------- linear theory


def test_exactness_plot_is_log_log():
    fig = figures.exactness_plot(np.array([10, 100]), {"pcalm": np.array([1e-1, 1e-9])})
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    np.testing.assert_allclose(trace(fig, "PC-ALM").y, [1e-1, 1e-9])


@pytest.mark.parametrize(("point", "stable"), [((0.25, 1.0), True), ((0.5, 2.0), False)])
def test_stability_plot_point_and_boundary(point, stable):
    etas, alphas = np.linspace(0.05, 0.6, 12), np.linspace(0.0, 3.0, 7)
    region = theory.stability_region(etas, alphas, rho=1.0, sigma_max=2.0)
    fig = figures.stability_plot(etas, alphas, region, point=point, rho=1.0, sigma_max=2.0)
    np.testing.assert_array_equal(heatmaps(fig)[0].z, region.astype(float))
    (mark,) = [t for t in fig.data if t.name.startswith("your setting")]
    assert mark.marker.color == ("#009E73" if stable else "#D55E00")
    boundary = next(t for t in fig.data if t.name.startswith("boundary"))
    np.testing.assert_allclose(boundary.x, 4.0 / (4.0 * (2.0 + np.asarray(boundary.y))))
    assert {t.name for t in fig.data} >= {"stable", "unstable"}


def test_eigenvalue_plot_colours_by_sigma_with_equal_axes():
    sigmas = theory.chain_singular_values(6)
    mu = theory.transient_eigenvalues(sigmas, eta=0.25, rho=1.0, alpha=1.0)
    fig = figures.eigenvalue_plot(mu, eta=0.25, rho=1.0, sigmas=sigmas)
    points = trace(fig, "eigenvalues μ<sub>±</sub>(σ)")
    np.testing.assert_allclose(points.marker.color, np.repeat(sigmas, 2))
    np.testing.assert_allclose(points.x, mu.ravel().real)
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert "√(1 − η<sub>h</sub>ρσ²)" in fig.layout.title.text


def test_dispersion_plot_small_k_line():
    k = np.linspace(0.05, np.pi, 20)
    pc = theory.dispersion(k, eta=0.25, rho=1.0, alpha=0.0)
    pcalm = theory.dispersion(k, eta=0.25, rho=1.0, alpha=1.0)
    fig = figures.dispersion_plot(pc, pcalm, alpha=1.0, eta=0.25)
    (line,) = [t for t in fig.data if t.name.startswith("small-k")]
    np.testing.assert_allclose(line.y, 0.5 * k)
    assert {t.xaxis for t in fig.data} == {"x", "x2"}


# ---------------------------------------------------------------- sweep


def test_sweep_difference_panels_are_accuracy_differences_in_points():
    acc = {
        "bp": np.array([[0.8, 0.85], [0.82, 0.86], [0.8, 0.84]]),
        "pc": np.array([[0.7, 0.8], [0.5, np.nan], [0.2, 0.3]]),
        "pcalm": np.array([[0.79, 0.85], [0.81, 0.87], [0.8, 0.83]]),
    }
    fig = figures.sweep_heatmaps([8, 16, 32], [8, 32], acc)
    maps = heatmaps(fig)
    assert [m.coloraxis for m in maps] == ["coloraxis"] * 3 + ["coloraxis2"] * 2
    np.testing.assert_allclose(maps[3].z, 100 * (acc["pc"] - acc["bp"]))
    np.testing.assert_allclose(maps[4].z, 100 * (acc["pcalm"] - acc["bp"]))
    assert list(maps[1].text[1]) == ["50.0%", ""]  # the gap has no text
    assert maps[4].text[1][1] == "+1.0"
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)
    span = fig.layout.coloraxis2.cmax
    assert fig.layout.coloraxis2.cmin == -span and span == pytest.approx(30.0)  # fixed scale
    assert list(maps[0].x) == ["8", "32"] and fig.layout.xaxis.type == "category"
    assert "PC-ALM − BP" in annotations(fig)


def test_sweep_without_bp_has_no_difference_row_and_checks_shapes():
    fig = figures.sweep_heatmaps([8], [8, 32], {"pc": np.array([[0.5, 0.6]])})
    assert len(heatmaps(fig)) == 1 and "coloraxis2" not in fig.layout.to_plotly_json()
    with pytest.raises(ValueError, match="accuracy\\['pc'\\]"):
        figures.sweep_heatmaps([8, 16], [8], {"pc": np.zeros((1, 1))})


# ---------------------------------------------------------------- all figures


def _every_figure() -> list[go.Figure]:
    k = np.linspace(0.1, 3.0, 8)
    sig = np.array([1.0, 2.0])
    return [
        figures.inference_heatmaps({"pc": wave()}),
        figures.training_curves({"pc": ([0, 1], [1.0, 0.5])}, {"pc": ([0, 1], [0.1, 0.2])}),
        figures.layer_alignment({"pc": np.array([0.1, 0.2, 0.15])}),
        figures.step_times({"pc": 0.01}),
        figures.credit_profile({"pc": wave()[0]}, np.ones(N), step=1),
        figures.arrival_plot({"pc": np.array([5, 4, 3, 2, 1])}, alpha=1.0, eta=0.25),
        figures.energy_plot({"pc": np.ones((T, N + 1))}),
        figures.alignment_vs_step({"pc": wave()}),
        figures.exactness_plot(np.array([1, 2]), {"pc": np.array([0.5, 0.4])}),
        figures.stability_plot(np.array([0.1, 0.2]), np.array([0.0, 1.0]),
                               np.ones((2, 2), bool), point=(0.1, 0.0), rho=1.0, sigma_max=2.0),
        figures.eigenvalue_plot(theory.transient_eigenvalues(sig, eta=0.25, rho=1.0, alpha=1.0),
                                eta=0.25, rho=1.0, sigmas=sig),
        figures.dispersion_plot(theory.dispersion(k, eta=0.25, rho=1.0, alpha=0.0),
                                theory.dispersion(k, eta=0.25, rho=1.0, alpha=1.0),
                                alpha=1.0, eta=0.25),
        figures.sweep_heatmaps([8], [8], {"bp": np.array([[0.9]]), "pc": np.array([[0.8]])}),
    ]


def test_every_figure_has_title_template_uirevision_and_titled_key():
    revisions = set()
    for fig in _every_figure():
        layout = fig.layout
        assert layout.title.text and layout.height and layout.uirevision
        assert layout.template.layout.paper_bgcolor == "white"
        assert layout.xaxis.title.text and (layout.yaxis.title.text or layout.yaxis2.title.text)
        scatters = [t for t in fig.data if t.type == "scatter"]
        bars = [layout.coloraxis.colorbar.title.text]
        bars += [t.marker.colorbar.title.text for t in scatters if t.marker.colorbar]
        assert layout.legend.title.text or any(bars)
        revisions.add(layout.uirevision)
    assert len(revisions) == 13


def test_every_figure_is_valid_plotly():
    """Figures built as plain dicts (`figure_of`, unchecked on the way in, for speed) hold
    only what Plotly's schema allows: plotly.py's checks reject a misspelt property."""
    values = {"pc": wave(0.2), "pcalm": wave(0.5)}
    energy = {rule: np.c_[v, np.ones(T)] for rule, v in values.items()}
    built = [
        *_every_figure(),
        figures.inference_heatmaps(values, log=True, step=3),
        figures.inference_heatmaps(energy, quantity="energy"),
        figures.inference_heatmaps({"pc": np.full((T, N), np.nan), "pcalm": wave()}),
        figures.heatmap_frame({rule: v.shape for rule, v in values.items()}, fronts=True,
                              message="Press Play"),
    ]
    for fig in built:
        go.Figure(fig.to_dict())  # raises on anything the schema lacks
    misspelt = figure_of([{"type": "heatmap", "z": [[1.0]]}], {"xaxis": {"titel": "t"}})
    with pytest.raises(ValueError, match="titel"):
        go.Figure(misspelt.to_dict())


def test_empty_mappings_give_a_message_not_an_error():
    for fig in (figures.inference_heatmaps({}), figures.arrival_plot({}, alpha=1, eta=1),
                figures.step_times({}), figures.sweep_heatmaps([8], [8], {})):
        assert annotations(fig) == ["no data"]


def test_rule_labels_and_colours():
    assert figures.RULE_LABELS == {"bp": "BP", "pc": "PC", "pcalm": "PC-ALM"}
    assert set(figures.RULE_COLORS) == {"bp", "pc", "pcalm"}
    assert len(set(figures.RULE_COLORS.values())) == 3


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.sources: list[str] = []
        self.script = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.sources += [value for key, value in attrs if tag == "script" and key == "src"]

    def handle_data(self, data):
        if self.tags and self.tags[-1] == "script":
            self.script = max(self.script, len(data))


def test_figure_html_embeds_plotly_js_and_parses():
    html = figures.figure_html(figures.inference_heatmaps({"pc": wave()}))
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "plotly.js v" in html
    # The bundle mentions cdn.plot.ly only as the default topojson URL of geo maps; no script
    # is loaded from the network.
    assert '<script src="https://cdn.plot.ly' not in html
    parser = _Tags()
    parser.feed(html)
    parser.close()
    assert {"html", "body", "div", "script"} <= set(parser.tags)
    assert parser.sources == []
    assert parser.script > 1_000_000  # the library itself, inlined
    assert "Plotly.newPlot" in html


def test_layer_alignment_draws_the_norm_ratio_beside_the_cosine():
    cos = np.array([0.97, 0.98, 0.99, 0.6])
    ratio = np.array([4e-5, 1e-2, 0.9, 0.5])
    fig = figures.layer_alignment({"pc": cos}, norm_ratios={"pc": ratio})
    size = trace(fig, "PC size")
    assert size.yaxis == "y2" and fig.layout.yaxis2.type == "log"
    np.testing.assert_allclose(size.y, ratio[:3])  # the overall ratio is not a layer
    np.testing.assert_array_equal(size.x, [1, 2, 3])
    assert trace(fig, "PC (overall 0.60)").yaxis == "y"
