"""Decision regions on 2-D data and the network diagram: the library (`pcviz.boundary`), the
figures, the live run's actor, and the lab page with and without a planar data set."""

from __future__ import annotations

import io
import math
import time
from types import SimpleNamespace

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from pcviz import ModelConfig, RuleConfig, TrainConfig, figures
from pcviz import boundary as bd
from pcviz.data import load_dataset
from pcviz.model import ResidualMLP, init_model
from pcviz.rules import Telemetry


def _sign_model() -> ResidualMLP:
    """A linear depth-2 net with outputs (x1, -x1): class 0 right of the x2 axis, 1 left."""
    return ResidualMLP(
        w_in=jnp.eye(2, dtype=jnp.float32), w_hidden=jnp.zeros((0, 2, 2), jnp.float32),
        w_out=jnp.asarray([[1.0, 0.0], [-1.0, 0.0]], jnp.float32), scale_in=1.0,
        scale_hidden=1.0, scale_out=1.0, activation="linear", skip=False)


def _random_model(seed: int, classes: int = 3) -> ResidualMLP:
    import jax

    cfg = ModelConfig(depth=4, width=8, input_dim=2, output_dim=classes, activation="tanh")
    return init_model(cfg, jax.random.PRNGKey(seed))


def _blobs(n: int = 300, classes: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, (n, 2)).astype(np.float32), rng.integers(0, classes, n).astype(
        np.int32)


# -- library -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["spirals", "circles", "xor", "gaussians", "teacher",
                                  "synthetic-mnist"])
def test_planar_data_sets_are_exactly_those_with_two_features(name):
    data = load_dataset(name, seed=0)
    assert bd.is_planar(name) == (data.input_dim == 2) == bd.is_planar(data)


def test_outputs_are_read_as_clipped_renormalised_probabilities():
    out = np.array([[1.2, -0.3], [0.25, 0.75], [-1.0, -2.0], [np.nan, 0.0], [0.2, 0.6]])
    probs = bd.class_probabilities(out)
    np.testing.assert_allclose(probs[:3], [[1, 0], [0.25, 0.75], [0.5, 0.5]], atol=1e-7)
    np.testing.assert_allclose(probs[4], [0.25, 0.75], atol=1e-6)
    assert np.isnan(probs[3]).all()
    assert bd.predicted_class(out).tolist() == [0, 1, 0, -1, 1]


def test_the_box_holds_every_point_with_a_margin_and_the_grid_spans_it():
    points = np.array([[-1.0, 2.0], [3.0, 4.0], [0.0, 3.0]])
    (lo1, hi1), (lo2, hi2) = bd.data_box(points, margin=0.1)
    assert (lo1, hi1) == pytest.approx((-1.4, 3.4)) and (lo2, hi2) == pytest.approx((1.8, 4.2))
    x1, x2 = bd.grid_axes(((lo1, hi1), (lo2, hi2)), 5)
    assert x1[0] == lo1 and x1[-1] == hi1 and len(x2) == 5
    with pytest.raises(ValueError):
        bd.data_box(np.zeros((3, 3)))


def test_the_grid_is_laid_out_rows_along_x2_columns_along_x1():
    x, y = _blobs(classes=2)
    grid = bd.decision_grid({"bp": _sign_model()}, x, y, num_classes=2, size=9, sample=50)
    pred = grid.predicted["bp"]
    assert pred.shape == (9, 9) and grid.probabilities["bp"].shape == (9, 9, 2)
    want = np.where(grid.x1 > 0, 0, 1)  # the class depends on the column (x1) alone
    inside = np.abs(grid.x1) > 1e-6
    assert (pred[:, inside] == want[inside]).all()
    np.testing.assert_allclose(grid.probabilities["bp"][:, grid.x1 > 0, 0], 1.0)


def test_the_grid_and_the_points_are_the_networks_own_predictions():
    x, y = _blobs()
    models = {"bp": _random_model(1), "pc": _random_model(2)}
    grid = bd.decision_grid(models, x, y, num_classes=3, size=16, sample=100, seed=3,
                            dataset="blobs", step=7)
    assert (grid.dataset, grid.step, grid.num_classes) == ("blobs", 7, 3)
    chosen = bd.sample_points(100, len(x), seed=3)
    np.testing.assert_array_equal(grid.points, x[chosen])
    np.testing.assert_array_equal(grid.labels, y[chosen])
    for rule, model in models.items():
        i, j = 5, 11
        out = bd.network_outputs(model, np.array([[grid.x1[j], grid.x2[i]]], np.float32))
        np.testing.assert_allclose(grid.probabilities[rule][i, j],
                                   bd.class_probabilities(out)[0], atol=1e-5)
        at_points = bd.predicted_class(bd.network_outputs(model, grid.points))
        np.testing.assert_array_equal(grid.point_predicted[rule], at_points)
        assert grid.accuracy[rule] == pytest.approx(np.mean(at_points == grid.labels))
    assert not np.array_equal(grid.predicted["bp"], grid.predicted["pc"])


def test_the_grid_program_is_compiled_once_per_shape():
    x, y = _blobs()
    bd.decision_grid({"bp": _random_model(1)}, x, y, num_classes=3, size=12, sample=40)
    compiled = bd._outputs._cache_size()
    bd.decision_grid({"bp": _random_model(5), "pc": _random_model(6)}, x, y, num_classes=3,
                     size=12, sample=40)
    assert bd._outputs._cache_size() == compiled


def test_a_diverged_network_gives_no_classes():
    model = _sign_model()
    broken = ResidualMLP(model.w_in * jnp.nan, model.w_hidden, model.w_out, 1.0, 1.0, 1.0,
                         "linear", False)
    x, y = _blobs(classes=2)
    grid = bd.decision_grid({"pc": broken}, x, y, num_classes=2, size=4, sample=10)
    assert (grid.predicted["pc"] == -1).all() and np.isnan(grid.probabilities["pc"]).all()
    assert grid.accuracy["pc"] == 0.0


def test_a_session_on_planar_data_has_a_grid_and_other_data_none():
    from pcviz.train import Session

    small = ModelConfig(depth=4, width=8)
    session = Session(small, RuleConfig(), TrainConfig(batch_size=16, dataset="gaussians"))
    session.step(2)
    models, step = bd.run_models(session)
    grid = bd.session_grid(session, models, step)
    assert step == 2 and grid.step == 2 and grid.dataset == "gaussians"
    assert set(grid.probabilities) == {"bp", "pc", "pcalm"}
    assert grid.probabilities["pc"].shape == (bd.GRID_SIZE, bd.GRID_SIZE, 4)
    assert grid.points.shape == (bd.SAMPLE_POINTS, 2)
    x = session.data.x_train
    assert grid.x1[0] < x[:, 0].min() and grid.x2[-1] > x[:, 1].max()
    other = Session(small, RuleConfig(), TrainConfig(batch_size=16, dataset="teacher"))
    assert bd.session_grid(other, *bd.run_models(other)) is None


def _record(credit=None, bp=None, diverged_at=None):
    telemetry = None if credit is None else Telemetry(
        credit=np.asarray(credit, float), error=None, multiplier=None, energy=None,
        alignment=None, bp_adjoint=np.asarray(bp, float))
    return SimpleNamespace(telemetry=telemetry, diverged_at=diverged_at)


def test_credit_reach_is_the_arrival_step_per_layer():
    # 3 hidden layers, 4 inference steps; BP's adjoint norms 1 everywhere: the credit reaches
    # half of it at the output layer at step 1, the middle at step 3, never the first layer.
    credit = [[0.0, 0.1, 0.6], [0.0, 0.2, 0.9], [0.1, 0.5, 1.0], [0.2, 0.7, 1.0]]
    reach = bd.credit_reach({"bp": _record(), "pc": _record(credit, [1, 1, 1]),
                             "pcalm": _record()}, layers=3)
    assert reach["bp"].tolist() == [0, 0, 0]
    assert reach["pc"].tolist() == [-1, 3, 1]
    assert reach["pcalm"] is None  # no step yet
    gone = bd.credit_reach({"pc": _record(credit, [1, 1, 1], diverged_at=4)}, layers=3)
    assert gone["pc"] is None


def test_the_csv_holds_every_grid_point_and_point_per_rule_with_the_run():
    x, y = _blobs()
    grid = bd.decision_grid({"bp": _random_model(1), "pc": _random_model(2)}, x, y,
                            num_classes=3, size=6, sample=20, step=9)
    text = bd.boundary_csv(grid, run_id="abc123", config={"dataset": "blobs"})
    assert text.startswith("# pcviz run abc123 step 9 config {\"dataset\":\"blobs\"}\n")
    table = pd.read_csv(io.StringIO(text), comment="#")
    assert list(table.columns) == ["kind", "rule", "x1", "x2", "label", "predicted", "p_0",
                                   "p_1", "p_2"]
    assert len(table) == 2 * (36 + 20)
    cells = table[(table.kind == "grid") & (table.rule == "pc")]
    np.testing.assert_allclose(cells[["p_0", "p_1", "p_2"]].sum(axis=1), 1.0, atol=1e-3)
    np.testing.assert_array_equal(cells.predicted.to_numpy().reshape(6, 6),
                                  grid.predicted["pc"])
    dots = table[(table.kind == "data") & (table.rule == "bp")]
    np.testing.assert_array_equal(dots.label.to_numpy(), grid.labels)
    assert dots[["p_0", "p_1", "p_2"]].isna().all().all()


# -- figures -------------------------------------------------------------------------------


def test_region_values_put_each_class_in_its_band_deeper_when_surer():
    probs = np.array([[[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.1, 0.2, 0.7]]])
    pred = np.array([[0, 1, 2]])
    values = figures._boundary.region_values(probs, pred)
    assert values[0, 0] == pytest.approx(0.999) and values[0, 1] == pytest.approx(1.0)
    assert 2.0 < values[0, 2] < 2.999
    assert np.isnan(figures._boundary.region_values(probs, np.array([[-1, 0, 0]]))[0, 0])


def test_decision_regions_draw_one_panel_per_rule_on_the_same_axes():
    x, y = _blobs()
    grid = bd.decision_grid({"bp": _random_model(1), "pc": _random_model(2),
                             "pcalm": _random_model(3)}, x, y, num_classes=3, size=10,
                            sample=60, step=12)
    fig = figures.decision_regions(grid.probabilities, grid.predicted, x1=grid.x1, x2=grid.x2,
                                   points=grid.points, labels=grid.labels,
                                   accuracy=grid.accuracy, step=grid.step)
    maps = [t for t in fig.data if t.type == "heatmap"]
    assert [t.name for t in maps] == ["BP", "PC", "PC-ALM"]
    assert [t.xaxis for t in maps] == ["x", "x2", "x3"]
    assert fig.layout.yaxis2.matches == fig.layout.yaxis3.matches == "y"  # one y axis
    assert all(t.zmin == 0 and t.zmax == 3 for t in maps)
    dots = [t for t in fig.data if t.type == "scatter"]
    assert [t.name for t in dots if t.showlegend] == ["class 0", "class 1", "class 2"]
    assert sum(len(t.x) for t in dots) == 3 * 60
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0] == f"BP: {grid.accuracy['bp']:.0%} of the points right"
    assert "after 12 training steps" in fig.layout.title.text
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert fig.layout.xaxis2.range == fig.layout.xaxis.range


def test_a_diverged_rule_gets_a_note_instead_of_regions():
    probs = {"bp": np.full((4, 4, 2), 0.5, np.float32), "pc": np.full((4, 4, 2), np.nan)}
    pred = {"bp": np.zeros((4, 4), np.int16), "pc": np.full((4, 4), -1, np.int16)}
    fig = figures.decision_regions(probs, pred, x1=np.arange(4.0), x2=np.arange(4.0),
                                   points=np.zeros((2, 2)), labels=np.array([0, 1]))
    assert [t.name for t in fig.data if t.type == "heatmap"] == ["BP"]
    assert any(a.text == "PC diverged" for a in fig.layout.annotations)


def test_the_network_diagram_colours_the_layers_the_credit_reached():
    arrival = {"bp": np.zeros(7, int), "pc": np.array([-1, -1, -1, -1, -1, -1, 2]),
               "pcalm": None}
    fig = figures.network_diagram(arrival, depth=8, width=16, input_dim=2, output_dim=4,
                                  steps=16)
    bars = {t.name: t for t in fig.data}
    assert len(bars["BP reached"].x) == 7 and len(bars["BP not reached"].x) == 0
    assert list(bars["PC reached"].x) == [7] and len(bars["PC not reached"].x) == 6
    assert bars["PC reached"].marker.color == figures.RULE_COLORS["pc"]
    assert len(bars["PC-ALM reached"].x) == 0 and len(bars["PC-ALM not reached"].x) == 7
    assert list(bars["input / output"].x) == [0, 8] * 3
    assert list(fig.layout.yaxis.ticktext) == ["BP<br>7/7 layers", "PC<br>1/7 layers",
                                               "PC-ALM<br>no step yet"]
    assert "not reached in T = 16 steps" in bars["PC not reached"].customdata[0]
    assert fig.layout.xaxis.ticktext[0] == "input" and fig.layout.xaxis.ticktext[-1] == "output"
    assert "depth L = 8, 7 hidden layers of width 16" in fig.layout.title.text
    wide = bars["PC reached"].y[0]
    assert wide > bars["input / output"].y[0]  # width 16 drawn taller than 2 inputs


# -- the live run and the page ---------------------------------------------------------------


def test_the_live_run_answers_its_regions_while_it_trains(run_service):
    from pcviz.service import open_live_run
    from pcviz.store import new_run_id

    small = (ModelConfig(depth=4, width=8), RuleConfig())
    client = open_live_run(new_run_id(), *small, TrainConfig(batch_size=16, dataset="xor"))
    try:
        first = client.boundary()
        assert first.step == 0 and first.dataset == "xor"  # the data before any training
        client.control(play=True)
        deadline = time.monotonic() + 60
        while (grid := client.boundary()).step < 3:
            assert time.monotonic() < deadline, "the run did not train"
        assert grid.probabilities["pcalm"].shape == (bd.GRID_SIZE, bd.GRID_SIZE, 2)
        assert all(math.isfinite(a) for a in grid.accuracy.values())
    finally:
        client.close()
    other = open_live_run(new_run_id(), *small, TrainConfig(batch_size=16, dataset="teacher"))
    try:
        assert other.boundary() is None
    finally:
        other.close()


@pytest.mark.usefixtures("run_service")
def test_a_planar_data_set_shows_its_regions_and_the_network():
    from _apptest import SMALL, array, charts, click, open_app, rerun_until

    at = open_app(dataset="spirals", **SMALL)
    rerun_until(at, lambda: any(t.get("type") == "heatmap" for t in
                                charts(at).get("lab_boundary", {}).get("data", [])))
    assert any("decision regions" in h.value for h in at.subheader)
    at = click(at, "lab_step")
    rerun_until(at, lambda: "after 1 training step" in
                charts(at)["lab_boundary"]["layout"]["title"]["text"])
    figs = charts(at)
    maps = [t for t in figs["lab_boundary"]["data"] if t["type"] == "heatmap"]
    assert [t["name"] for t in maps] == ["BP", "PC", "PC-ALM"]
    assert array(maps[0]["z"]).shape == (bd.GRID_SIZE, bd.GRID_SIZE)
    dots = [t for t in figs["lab_boundary"]["data"] if t["type"] == "scatter"]
    assert sum(len(array(t["x"])) for t in dots) == 3 * bd.SAMPLE_POINTS
    about = next(c.value for c in at.caption if "grid over the data" in c.value)
    # the caption states the grid and the points the figure draws
    assert f"{bd.GRID_SIZE} × {bd.GRID_SIZE} grid" in about
    assert f"The dots are {bd.SAMPLE_POINTS} training points" in about
    rows = figs["lab_network"]["layout"]["yaxis"]["ticktext"]
    assert rows[0] == "BP<br>7/7 layers" and all(r.endswith("/7 layers") for r in rows)
    keys = {b.proto.id for b in at.get("download_button")}
    assert any(k.endswith("download-lab-boundary-lab-boundary.csv") for k in keys)


@pytest.mark.usefixtures("run_service")
def test_other_data_sets_show_no_regions_and_no_network():
    from _apptest import SMALL, charts, click, open_app

    at = click(open_app(dataset="teacher", **SMALL), "lab_step")
    assert "lab_heatmaps" in charts(at)
    assert not {"lab_boundary", "lab_network"} & set(charts(at))
    assert not any("decision regions" in h.value for h in at.subheader)
