"""The default sweep shows the paper's claim (PC falling behind BP as depth grows, PC-ALM
tracking BP); its figures on a fixed, symmetric scale with the seed spread; the sweep page."""

from __future__ import annotations

import numpy as np
import pytest

from pcviz import figures, sweeps
from pcviz.config import ModelConfig, RuleConfig, TrainConfig

# --------------------------------------------------------------- the default sweep's claim


@pytest.mark.slow
def test_the_default_sweep_shows_pc_falling_behind_with_depth_and_pcalm_tracking_bp(
        run_service, tmp_path):
    """The page's default sweep (its data set, learning rate, steps, seeds), on fewer
    shapes, through the page's own path: a `SweepJob` on the run service."""
    from pcviz.store import open_store
    from pcviz.ui import _sweep, _sweep_jobs

    url = str(tmp_path / "runs.sqlite")
    store = open_store(url)
    spec = sweeps.default_spec(depths=(4, 16, 32), widths=(16,))
    assert spec.train.dataset == _sweep.DEFAULTS["sweep_data"]
    assert spec.max_steps == _sweep.DEFAULTS["cell_steps"]
    assert spec.train.learning_rate == _sweep.DEFAULTS["sweep_lr"]
    job = _sweep_jobs.SweepJob(spec, url=url)
    job.start()
    assert job.wait(600) and job.progress().error is None
    state = sweeps.sweep_state(store, sweeps.sweep_id(spec))
    assert state.status == "finished" and len(state.cells) == 9
    trend = sweeps.depth_trend(spec, state.cells)
    pc, pcalm = trend.mean["pc"], trend.mean["pcalm"]
    noise = sweeps.noise_level(spec, state.cells)
    print(f"PC - BP by depth {np.round(pc, 1)}, PC-ALM - BP {np.round(pcalm, 1)}, "
          f"seed spread {noise:.1f} points")
    assert pc[-1] < pc[0] - 5.0 and pc[-1] < pc[1] < pc[0] + noise  # PC falls with depth
    assert abs(pcalm[-1]) < abs(pc[-1]) / 3  # PC-ALM tracks BP where PC does not
    assert pc[-1] < -2 * trend.spread["pc"][-1]  # the gap is beyond the seed noise


# ------------------------------------------------------------------------------ figures


def test_difference_maps_have_a_fixed_symmetric_scale_and_show_the_seed_spread():
    acc = {"bp": np.array([[0.8], [0.8]]), "pc": np.array([[0.79], [0.5]]),
           "pcalm": np.array([[0.81], [0.78]])}
    spread = {r: np.full((2, 1), 0.01) for r in acc}
    diff_spread = {"pc": np.array([[0.9], [2.5]]), "pcalm": np.array([[0.7], [1.0]])}
    fig = figures.sweep_heatmaps([4, 32], [16], acc, spread=spread,
                                 difference_spread=diff_spread)
    axis = fig.layout.coloraxis2
    assert (axis.cmin, axis.cmax) == (-30.0, 30.0)
    assert axis.colorscale[2] == (0.5, "#ffffff")  # zero is white
    small = figures.sweep_heatmaps([4, 32], [16], {"bp": acc["bp"], "pc": acc["bp"] + 0.03})
    assert (small.layout.coloraxis2.cmin, small.layout.coloraxis2.cmax) == (-30.0, 30.0)
    maps = [t for t in fig.data if t.type == "heatmap"]
    pc_diff = maps[3]
    np.testing.assert_allclose(np.asarray(pc_diff.z, float), [[-1.0], [-30.0]], atol=1e-9)
    assert pc_diff.text[1][0] == "-30.0<br>±2.5"
    np.testing.assert_allclose(np.asarray(pc_diff.customdata, float), diff_spread["pc"])
    assert "customdata" in pc_diff.hovertemplate and "std over seeds" in pc_diff.hovertemplate
    assert "customdata" in maps[0].hovertemplate


def test_depth_trend_draws_each_difference_with_its_spread_and_the_noise_band():
    fig = figures.sweep_depth_trend([4, 16, 32], {"pc": np.array([0.5, -3.0, -15.0]),
                                                  "pcalm": np.array([0.2, -0.5, np.nan])},
                                    {"pc": np.array([0.7, 1.5, 2.0]),
                                     "pcalm": np.array([0.5, 0.6, np.nan])}, noise=1.2)
    (band,) = [t for t in fig.data if t.name.startswith("seed spread")]
    assert max(band.y) == pytest.approx(1.2) and min(band.y) == pytest.approx(-1.2)
    (pc,) = [t for t in fig.data if t.name == "PC − BP"]
    assert list(pc.y) == [0.5, -3.0, -15.0] and list(pc.error_y.array) == [0.7, 1.5, 2.0]
    assert fig.layout.xaxis.type == "log" and list(fig.layout.xaxis.ticktext) == ["4", "16", "32"]
    assert fig.layout.yaxis.range[0] <= -30.0


def test_grids_spreads_and_trend_from_cells():
    spec = sweeps.SweepSpec((4, 32), (16,), (0, 1), 3, ModelConfig(depth=3, width=4),
                            RuleConfig(), TrainConfig(dataset="xor", batch_size=8))

    def cell(depth, seed, bp, pc, pcalm):
        return sweeps.SweepCell(depth, 16, seed, {"bp": bp, "pc": pc, "pcalm": pcalm},
                                {}, 1.0)

    cells = [cell(4, 0, 0.80, 0.81, 0.80), cell(4, 1, 0.70, 0.70, 0.71),
             cell(32, 0, 0.80, 0.60, 0.79), cell(32, 1, 0.76, 0.52, 0.76)]
    grid = sweeps.grids(spec, cells)
    np.testing.assert_allclose(grid["pc"][:, 0], [0.755, 0.56])
    np.testing.assert_allclose(sweeps.spreads(spec, cells)["bp"][:, 0],
                               [np.std([0.8, 0.7], ddof=1), np.std([0.8, 0.76], ddof=1)])
    paired = sweeps.difference_spreads(spec, cells)["pc"][:, 0]  # of -20 and -24 at L = 32
    np.testing.assert_allclose(paired, [np.std([1.0, 0.0], ddof=1), np.std([-20, -24], ddof=1)])
    trend = sweeps.depth_trend(spec, cells)
    np.testing.assert_allclose(trend.mean["pc"], [0.5, -22.0])
    np.testing.assert_allclose(trend.mean["pcalm"], [0.5, -0.5])
    assert sweeps.noise_level(spec, cells) == pytest.approx(np.median(
        [np.std(p, ddof=1) for p in ([1, 0], [-20, -24], [0, 1], [-1, 0])]))


# ------------------------------------------------------------------------------- the page


def _open_sweep_page(**query: str):
    from _apptest import APP, TIMEOUT
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query)
    at.switch_page("pages/sweep.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_page_opens_on_the_default_sweep_and_says_why():
    at = _open_sweep_page()
    d = sweeps.DEFAULT_SWEEP
    assert at.text_input(key="depths").value == ", ".join(map(str, d.depths))
    assert at.text_input(key="widths").value == ", ".join(map(str, d.widths))
    assert at.text_input(key="seeds").value == ", ".join(map(str, d.seeds))
    assert at.number_input(key="cell_steps").value == d.steps
    assert at.number_input(key="sweep_lr").value == d.learning_rate
    assert at.selectbox(key="sweep_data").value == sweeps.default_dataset()
    text = " ".join(m.value for m in at.markdown)
    assert "The defaults, and why" in text and "about two minutes" in text
    assert not at.error


def test_the_page_shows_the_seed_spread_and_words_true_to_its_data(run_service):
    from _apptest import charts

    from pcviz.ui import _sweep_jobs

    query = {"depths": "2,3", "widths": "4", "seeds": "0,1", "cell_steps": "3",
             "sweep_rules": "bp,pc,pcalm", "sweep_data": "xor"}
    at = _open_sweep_page(**query)
    at.button(key="sweep-run").click().run()
    sweep_id = at.query_params["sweep"]
    sweep_id = sweep_id[0] if isinstance(sweep_id, list) else sweep_id
    assert _sweep_jobs.job_for(sweep_id, None).wait(120)
    at.run()
    assert not at.exception and not at.error
    drawn = charts(at)
    axis = drawn["sweep-heatmaps"]["layout"]["coloraxis2"]
    assert (axis["cmin"], axis["cmax"]) == (-30.0, 30.0)
    assert any(t["name"].startswith("seed spread") for t in drawn["sweep-depth-trend"]["data"])
    state = sweeps.sweep_state(_sweep_jobs.open_store(), sweep_id)
    noise = sweeps.noise_level(state.spec, state.cells)
    (metric,) = [m for m in at.metric if m.label == "Seed spread of a difference to BP"]
    assert metric.value == f"±{noise:.1f} points"
    trend = sweeps.depth_trend(state.spec, state.cells)
    (words,) = [m.value for m in at.markdown if m.value.startswith("Measured in this sweep")]
    for rule, name in (("pc", "PC"), ("pcalm", "PC-ALM")):
        first, last = trend.mean[rule][0], trend.mean[rule][-1]
        assert (f"{name} − BP goes from {first:+.1f} points at L = 2 to {last:+.1f} at L = 3"
                .replace("-", "−").replace("PC−ALM", "PC-ALM")) in words


def test_the_page_shows_a_command_line_sweep_with_grids_one_point_at_a_time(run_service):
    from _apptest import array, charts

    from pcviz.ui import _sweep_jobs

    spec = sweeps.default_spec(depths=(2,), widths=(4,), seeds=(0, 1), steps=3, dataset="xor",
                               rules=("bp", "pcalm"))._replace(alphas=(0.5, 1.0))
    store = _sweep_jobs.open_store()
    plan = sweeps.plan_sweep(spec, store=store)
    cells = list(sweeps.run_sweep(plan, store=store))
    at = _open_sweep_page(sweep=plan.sweep_id)
    grid_point = at.selectbox(key="sweep_setting")
    assert list(grid_point.options) == ["α = 0.5", "α = 1.0"]
    shown = charts(at)["sweep-heatmaps"]["data"][1]["z"]  # PC-ALM at alpha = 0.5
    mean = np.mean([c.accuracy["pcalm"] for c in cells if c.setting.alpha == 0.5])
    assert array(shown).reshape(1, 1)[0, 0] == pytest.approx(mean)
    grid_point.select_index(1).run()
    shown = charts(at)["sweep-heatmaps"]["data"][1]["z"]
    mean = np.mean([c.accuracy["pcalm"] for c in cells if c.setting.alpha == 1.0])
    assert array(shown).reshape(1, 1)[0, 0] == pytest.approx(mean)
