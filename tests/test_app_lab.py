"""AppTests of the live lab (the page `app.py` opens) and of the shared sidebar and URL.

Each test opens the app in a simulated session (`AppTest`), presses the lab's buttons or sets
widgets, and reads the page's elements, the Plotly figures' JSON specs, `st.session_state`
and the query parameters.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from _apptest import SMALL, array, charts, click, lab, metric, open_app, rerun_until, shown

from pcviz.ui._sidebar_fields import SIDEBAR_FIELDS

pytestmark = pytest.mark.usefixtures("run_service")


def test_controls_exist():
    at = open_app()
    assert {"lab_play", "lab_step", "lab_reset"} <= {b.key for b in at.button}
    assert at.button(key="lab_play").label == "Play"
    assert at.select_slider(key="lab_speed").value == "auto"
    assert at.toggle(key="lecture").value is False and at.title
    assert metric(at, "Training step") == "0"
    inputs = {w.key: w for w in at.number_input}
    assert {"cfg_depth", "cfg_width", "cfg_steps", "cfg_eta", "cfg_rho", "cfg_alpha",
            "cfg_batch", "cfg_lr", "cfg_seed"} <= set(inputs)
    assert inputs["cfg_depth"].max == 256 and inputs["cfg_width"].max == 512
    assert inputs["cfg_steps"].max == 2048 and inputs["cfg_batch"].max == 1024
    assert inputs["cfg_steps"].value is None and inputs["cfg_eta"].value is None  # 2L, auto
    assert at.multiselect(key="cfg_rules").value == ["bp", "pc", "pcalm"]
    assert {"cfg_dataset", "cfg_activation", "cfg_param", "cfg_preset"} <= {
        w.key for w in at.selectbox}
    assert not at.error and not at.warning
    for f in SIDEBAR_FIELDS:  # each widget as the table of fields declares it
        if f.widget.limits is not None:
            shown_input = inputs[f.widget.key]
            assert (shown_input.min, shown_input.max) == f.widget.limits, f.name
            assert shown_input.label == f.widget.label and f.help in shown_input.help
    assert any("Depth L ≤ 256" in c.value for c in at.caption)
    assert any(r"\mathcal{L}_\rho" in e.value for e in at.latex)  # the PC-ALM Lagrangian
    assert any("Ballistic" in m.value for m in at.markdown)


def test_before_the_first_step_the_heatmaps_frame_says_press_play():
    """The heatmaps' chart is there before any step, with the run's panels and axes and no
    colour yet, so that the first heatmaps fill it in place."""
    at = open_app(**SMALL)
    heat = charts(at)["lab_heatmaps"]
    maps = [t for t in heat["data"] if t["type"] == "heatmap"]
    assert [t["name"] for t in maps] == ["PC", "PC-ALM"]
    assert all(array(t["z"]).shape == (7, 16) and np.isnan(array(t["z"])).all() for t in maps)
    assert heat["layout"]["xaxis"]["range"] == [0.5, 16.5]  # T = 2L inference steps
    assert any("Press Play" in a["text"] for a in heat["layout"]["annotations"])


def test_step_trains_one_batch_and_draws_the_figures():
    at = click(open_app(**SMALL), "lab_step")
    assert metric(at, "Training step") == "1"
    session = lab(at).session
    assert session.step_count == 1 and at.query_params["run"] == lab(at).run_id
    figs = charts(at)
    heat = figs["lab_heatmaps"]
    maps = [t for t in heat["data"] if t["type"] == "heatmap"]
    assert [t["name"] for t in maps] == ["PC", "PC-ALM"]
    assert all(t["coloraxis"] == "coloraxis" for t in maps)  # one shared colour scale
    assert array(maps[0]["z"]).shape == (7, 16)  # L-1 hidden layers x T = 2L steps
    assert "PC-ALM arrival front" in [t.get("name") for t in heat["data"]]
    curve_names = {t.get("name") for t in figs["lab_curves"]["data"]}
    assert {"BP", "PC", "PC-ALM", "PC-ALM train", "PC-ALM test"} <= curve_names
    alignment = figs["lab_alignment"]["data"]  # cosine, and beside it the norm ratio (y2)
    assert [t.get("yaxis", "y") for t in alignment] == ["y"] * 3 + ["y2"] * 3
    assert all(len(array(t["y"])) == 8 for t in alignment)  # L layers
    bars = figs["lab_times"]["data"]
    assert [t["name"] for t in bars] == ["BP", "PC", "PC-ALM"] and all(t["type"] == "bar"
                                                                        for t in bars)


def test_the_lecture_layout_is_kept_in_the_address():
    at = open_app(lecture="1", **SMALL)
    assert at.toggle(key="lecture").value is True
    assert not at.title  # the title and the introduction go below the figures
    assert at.selectbox(key="lab_quantity").value == "credit"  # on the controls' row
    at = click(at, "lab_step")
    heat, curves = charts(at)["lab_heatmaps"], charts(at)["lab_curves"]
    assert heat["layout"]["font"]["size"] >= 18 and heat["layout"]["height"] >= 400
    assert min(t["line"]["width"] for t in curves["data"] if t.get("line", {}).get("width"))\
        >= 4
    at.toggle(key="lecture").set_value(False).run()
    assert "lecture" not in at.query_params and at.title
    bad = open_app(lecture="maybe", **SMALL)
    assert bad.toggle(key="lecture").value is False
    assert "lecture" not in bad.query_params  # the address is corrected


def test_play_trains_until_pause():
    at = click(open_app(**SMALL), "lab_play")
    assert lab(at).playing and at.button(key="lab_pause").label == "Pause"
    first = lab(at).session.step_count
    rerun_until(at, lambda: lab(at).session.step_count > first + 2)  # the run trains on
    at = click(at, "lab_pause")
    assert not lab(at).playing and at.button(key="lab_play").label == "Play"
    # The run finishes the update under way, then stands still (playing, it moves every
    # few hundredths of a second).
    stopped_at = settled_step(at)
    time.sleep(1.5)
    at.run()
    assert lab(at).session.step_count == stopped_at


def settled_step(at) -> int:
    """Rerun the page until its run's step stays the same over three reruns (a run that
    plays moves every few hundredths of a second); that step."""
    seen: list[int] = []
    rerun_until(at, lambda: seen.append(lab(at).session.step_count) or
                (len(seen) >= 3 and len(set(seen[-3:])) == 1))
    return seen[-1]


def test_fast_forward_trains_500_batches_and_pause_stops_it():
    at = click(open_app(), "lab_fast")  # the default net: 500 batches take several seconds
    assert lab(at).playing and at.button(key="lab_pause").label == "Pause"
    rerun_until(at, lambda: lab(at).session.step_count >= 500 and not lab(at).playing,
                timeout=240)
    assert lab(at).session.step_count == 500  # exactly what was asked, then it stops
    assert at.button(key="lab_play").label == "Play"
    at = click(click(at, "lab_fast"), "lab_pause")
    stopped_at = settled_step(at)
    assert stopped_at < 1000  # Pause stopped the second fast-forward


def test_a_reload_reattaches_to_the_same_run_at_its_step():
    at = click(click(open_app(**SMALL), "lab_step"), "lab_step")
    run_id = lab(at).run_id
    again = open_app(**dict(at.query_params))  # the same address in a new tab
    assert lab(again).run_id == run_id and metric(again, "Training step") == "2"
    again = click(again, "lab_step")
    at.run()
    assert lab(at).session.step_count == 3  # both tabs drive one run


def test_a_run_id_with_another_configuration_starts_a_new_run():
    at = click(open_app(**SMALL), "lab_step")
    query = dict(at.query_params, width="8")
    other = open_app(**query)
    assert lab(other).run_id != lab(at).run_id and metric(other, "Training step") == "0"
    assert any("another configuration" in shown(i) for i in other.info)
    hostile = open_app(run="../../x;drop", **SMALL)
    assert any("Ignored run='../../x;drop'" in shown(i) for i in hostile.info)


@pytest.mark.parametrize("query", [
    {"depth": "1e9", "act": "<script>alert(1)</script>", "rules": "bp,zz", "lr": "nan"},
    {"seed": "-3", "eta": "inf", "rho": "0", "batch": "4096", "width": "2.5"},
    {"depth": "999", "steps": "1e6", "dataset": "../../etc/passwd", "param": "sp", "skip": "x"},
    {"depth": "", "rules": "", "alpha": "-1", "optimizer": "sgd;rm", "evil": "1" * 5000},
])
def test_bad_query_parameters_warn_and_use_safe_values(query):
    at = open_app(**query)
    assert at.warning, "every hostile value must be reported"
    inputs = {w.key: w.value for w in at.number_input}
    assert 2 <= inputs["cfg_depth"] <= 256 and 1 <= inputs["cfg_batch"] <= 1024
    assert inputs["cfg_seed"] >= 0
    assert not at.error
    assert metric(at, "Training step") == "0"


def test_markdown_in_the_address_is_shown_as_typed_not_as_a_link_or_formula():
    typed = "[Log in here](https://example.com/x) **now** $x^2$"
    at = open_app(act=typed, **SMALL)
    warning = next(w for w in at.warning if "act=" in shown(w))
    assert typed in shown(warning)
    assert "[Log in here](https" not in warning.value and "**now**" not in warning.value


def test_url_mirrors_changed_widgets():
    at = open_app()
    assert not any(k in at.query_params for k in ("depth", "lr"))  # defaults stay implicit
    at.number_input(key="cfg_depth").set_value(24).run()
    assert at.query_params["depth"] == "24"
    at.selectbox(key="cfg_activation").set_value("tanh").run()
    at.multiselect(key="cfg_rules").unselect("bp").run()
    assert at.query_params["act"] == "tanh" and at.query_params["rules"] == "pc,pcalm"
    at.number_input(key="cfg_depth").set_value(16).run()
    assert "depth" not in at.query_params


def test_shared_link_reopens_the_same_run():
    query = {"depth": "12", "width": "16", "act": "tanh", "seed": "7", "rules": "pc,pcalm",
             "steps": "30", "eta": "0.2", "alpha": "0.5", "batch": "32", "lr": "0.002"}
    at = open_app(**query)
    assert not at.warning
    inputs = {w.key: w.value for w in at.number_input}
    assert (inputs["cfg_depth"], inputs["cfg_width"], inputs["cfg_seed"]) == (12, 16, 7)
    assert (inputs["cfg_steps"], inputs["cfg_eta"], inputs["cfg_lr"]) == (30, 0.2, 0.002)
    session = lab(at).session
    assert session.model_config.activation == "tanh" and session.steps == 30
    assert tuple(session.records) == ("pc", "pcalm") and session.train_config.seed == 7
    assert {k: at.query_params[k] for k in query} == query


def test_learning_rate_changes_without_reset_and_structure_resets():
    at = click(open_app(**SMALL), "lab_step")
    run_id = lab(at).run_id
    at.number_input(key="cfg_lr").set_value(0.005).run()
    assert lab(at).run_id == run_id and lab(at).session.step_count == 1
    assert lab(at).session.learning_rate == pytest.approx(0.005)
    assert at.query_params["lr"] == "0.005"
    at.number_input(key="cfg_width").set_value(8).run()
    assert lab(at).run_id != run_id and lab(at).session.step_count == 0
    assert metric(at, "Training step") == "0"


def test_preset_sets_the_widgets_and_the_url():
    at = open_app()
    at.selectbox(key="cfg_preset").set_value("Linear nets: exact BP").run()
    assert not at.exception
    assert at.selectbox(key="cfg_activation").value == "linear"
    assert at.number_input(key="cfg_depth").value == 12
    assert at.query_params["act"] == "linear" and at.query_params["dataset"] == "teacher"
    assert lab(at).session.model_config.depth == 12
    at.selectbox(key="cfg_preset").set_value("The ballistic wave").run()
    assert at.multiselect(key="cfg_rules").value == ["pc", "pcalm"]
    assert lab(at).session.steps == 256


def test_divergence_is_reported_and_a_safe_setting_recovers():
    at = click(open_app(eta="10", **SMALL), "lab_step")  # an activity step far too large
    at = click(at, "lab_step")
    assert any("PC diverged at step 1" in w.value for w in at.warning)
    assert any("PC-ALM diverged at step 1" in w.value for w in at.warning)
    assert lab(at).session.step_count == 2  # BP went on
    assert len(lab(at).session.record("bp").loss.values) == 2
    at.number_input(key="cfg_eta").set_value(0.2).run()  # a stable activity step
    at = click(at, "lab_step")
    assert lab(at).session.step_count == 1 and not at.warning


def test_missing_data_set_is_an_error_with_the_fix():
    at = open_app(**SMALL)
    at.selectbox(key="cfg_dataset").set_value("mnist").run()
    assert not at.exception
    if lab(at).session.error is None:
        pytest.skip("MNIST is installed here")
    assert at.error and "PCVIZ_DATA" in at.error[0].value
    assert at.button(key="lab_play").disabled


def test_bp_alone_says_there_is_no_inference_to_show():
    at = click(open_app(rules="bp", **SMALL), "lab_step")
    assert any("BP alone" in i.value for i in at.info)
    assert "lab_heatmaps" not in charts(at)


def test_downloads_are_offered():
    at = click(open_app(**SMALL), "lab_step")
    labels = [d.label for d in at.get("download_button")]
    assert any("lab-telemetry.csv" in label for label in labels)
    assert any("lab-heatmaps.html" in label for label in labels)


def test_without_fashion_mnist_the_default_runs_and_the_selector_says_how_to_add_it(
        monkeypatch, tmp_path):
    from pcviz.data import _idx
    from pcviz.ui._sidebar import _available

    monkeypatch.setenv("PCVIZ_DATA", str(tmp_path))  # an empty folder, and no system copy
    spec = _idx.IDX_SETS["fashion-mnist"]
    monkeypatch.setitem(_idx.IDX_SETS, "fashion-mnist", spec._replace(system_dir=None))
    _available.clear()
    try:
        at = open_app(dataset="fashion-mnist", **SMALL)
        assert any("fashion-mnist is not installed" in shown(w) for w in at.warning)
        assert at.selectbox(key="cfg_dataset").value == "synthetic-mnist"
        hint = "apt-get install dataset-fashion-mnist"
        assert any(hint in c.value for c in at.caption)
        assert hint in at.selectbox(key="cfg_dataset").help
        at = click(at, "lab_step")
        assert lab(at).session.step_count == 1 and not at.error
    finally:
        _available.clear()


def test_earlier_runs_are_listed_and_one_overlays_its_curves():
    first = click(click(open_app(alpha="0.5", **SMALL), "lab_step"), "lab_step")
    earlier = lab(first).run_id
    at = click(open_app(**SMALL), "lab_step")
    table = at.dataframe[0].value
    assert earlier in list(table["run"]) and "α=0.5" in " ".join(table["setting"])
    at.selectbox(key="lab_overlay").set_value(earlier).run()
    at.run()  # the curves fragment draws the choice
    names = [t.get("name") for t in charts(at)["lab_curves"]["data"]]
    assert f"run {earlier} PC-ALM" in names
    dotted = [t for t in charts(at)["lab_curves"]["data"]
              if t.get("legendgroup") == f"run {earlier}"]
    assert dotted and all(t["line"]["dash"] == "dot" for t in dotted)
