"""AppTests of the credit propagation, linear theory and sweep pages (through `app.py`).

Each test opens the app, switches to a page with small settings in the query string, and
reads the page's widgets and the Plotly figures' JSON specs.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from _apptest import array, charts, rerun_until
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120


def open_page(page: str, **query: str) -> AppTest:
    """The app at `page` (e.g. `"pages/credit.py"`) with `query` in its address, run once."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query)
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def names(spec: dict) -> list[str]:
    return [trace.get("name", "") for trace in spec["data"]]


# ------------------------------------------------------------------------------- credit


CREDIT = {"depth": "8", "width": "16", "batch": "16"}


def _probe_shown(at: AppTest) -> AppTest:
    """Rerun the credit page until the probe, computed on the run service, is drawn."""
    return rerun_until(at, lambda: "credit-heatmaps" in charts(at) or bool(at.error),
                       timeout=TIMEOUT)


@pytest.fixture(scope="module")
def credit_page(run_service) -> AppTest:
    return _probe_shown(open_page("pages/credit.py", **CREDIT))


def test_credit_controls_and_figures(credit_page):
    at = credit_page
    assert not at.error
    assert at.slider(key="t").max == 16  # T = 2L
    assert {"source", "show"} <= {w.key for w in (*at.radio, *at.selectbox)}
    assert {"log", "animate"} <= {w.key for w in at.toggle}
    figs = charts(at)
    heat = figs["credit-heatmaps"]
    kinds = [(t["type"], t.get("name")) for t in heat["data"]]
    assert ("heatmap", "PC") in kinds and ("heatmap", "PC-ALM") in kinds
    assert "PC-ALM arrival front" in names(heat)
    assert array(heat["data"][0]["z"]).shape == (7, 16)  # L-1 layers x T steps
    assert {"PC", "PC-ALM"} <= set(names(figs["credit-profile"]))
    assert any("wave theory" in n for n in names(figs["credit-arrival"]))
    assert any("total" in n for n in names(figs["credit-energy"]))
    assert any("mean over layers" in n for n in names(figs["credit-alignment"]))
    labels = [m.label for m in at.metric]
    assert any("front slope" in label for label in labels)
    assert any("front speed" in label for label in labels)
    assert len(at.get("download_button")) >= 3


def test_scrubbing_moves_the_line_not_the_probe(credit_page):
    from pcviz.ui import _credit

    at = credit_page
    before = _credit.PROBE_RUNS["count"]
    for step in (3, 11):
        at.slider(key="t").set_value(step).run()
        assert not at.exception
        figs = charts(at)
        lines = [s for s in figs["credit-heatmaps"]["layout"]["shapes"] if s.get("x0") is not None]
        assert lines and all(s["x0"] == step for s in lines)
        assert f"step {step}" in figs["credit-profile"]["layout"]["title"]["text"]
        assert at.query_params.get("t") in (str(step), [str(step)])
    assert _credit.PROBE_RUNS["count"] == before


def test_credit_animation_has_frames(credit_page):
    at = credit_page
    at.toggle(key="animate").set_value(True).run()
    spec = charts(at)["credit-profile-animated"]
    assert len(spec["frames"]) == 16
    assert spec["layout"]["updatemenus"][0]["buttons"][0]["method"] == "animate"
    at.toggle(key="animate").set_value(False).run()


# ------------------------------------------------------------------------------- theory


def _exactness_shown(at: AppTest) -> AppTest:
    """Rerun the theory page until the exactness curve, computed on the run service, shows."""
    return rerun_until(at, lambda: "theory-exactness" in charts(at) or bool(at.error),
                       timeout=TIMEOUT)


def test_theory_page_figures(run_service):
    at = open_page("pages/theory.py", depth="8")  # default: a linear net of depth 8
    assert not at.error
    assert at.slider(key="theory_depth").value == 8
    assert at.radio(key="sigma").value == "chain"
    figs = charts(at)  # the mode theory is drawn at once, the exactness curve when computed
    assert any("your setting (stable)" in n for n in names(figs["theory-stability"]))
    assert any("eigenvalues" in n for n in names(figs["theory-eigenvalues"]))
    assert any("PC-ALM (wave)" in n for n in names(figs["theory-dispersion"]))
    _exactness_shown(at)
    assert not at.error
    exact = charts(at)["theory-exactness"]
    errors = {t["name"]: array(t["y"]) for t in exact["data"]}
    assert errors["PC-ALM"][-1] < 1e-6 < 1e-2 < errors["PC"][-1]
    assert at.success and not at.warning
    assert len(at.latex) >= 5
    assert {"⬇ exactness.csv", "⬇ exactness.json"} <= {b.label for b in
                                                      at.get("download_button")}


def test_theory_exactness_is_shared_and_never_blocks(run_service):
    from pcviz.ui import _pending

    query = {"theory_depth": "5", "rho": "0.9"}
    first = open_page("pages/theory.py", **query)
    assert not first.error
    if "theory-exactness" not in charts(first):  # still computing: a status, not a wait
        assert "Computing on the run service" in first.get("progress")[0].proto.text
    lock, memo = _pending._memo()
    with lock:
        tasks = {k: t for k, t in memo.items() if k[:2] == ("exactness", 5) and k[3] == 0.9}
    assert len(tasks) == 1
    _exactness_shown(first)
    started = time.monotonic()
    second = open_page("pages/theory.py", **query)  # another visitor: read, not recomputed
    assert "theory-exactness" in charts(second) and time.monotonic() - started < 30
    with lock:
        assert [t for k, t in memo.items() if k in tasks] == list(tasks.values())


def test_theory_failure_is_an_error_not_a_traceback(run_service, monkeypatch):
    from pcviz.ui import _theory

    # T = 0 is refused by the task on the worker (ValueError): the page says what to change
    monkeypatch.setattr(_theory, "exactness_steps", lambda depth: np.array([0, 1]))
    at = open_page("pages/theory.py", theory_depth="4", alpha="0.7")
    _exactness_shown(at)
    assert not at.exception
    assert at.error and "cannot run with these settings" in at.error[0].value
    assert "steps=0" in at.error[0].value and "Traceback" not in at.error[0].value
    assert "theory-stability" in charts(at)  # the rest of the page is drawn


def test_theory_unstable_point_is_flagged(run_service):
    at = open_page("pages/theory.py", theory_depth="3", eta="2.0")
    assert at.warning and "unstable" in at.warning[0].value
    assert any("(unstable)" in n for n in names(charts(at)["theory-stability"]))


# -------------------------------------------------------------------------------- sweep


SWEEP = {"depths": "2,3", "widths": "4", "cell_steps": "3", "sweep_rules": "bp,pcalm",
         "dataset": "xor", "batch": "8"}


def _wait_for_sweep(at: AppTest, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
        assert not at.exception
        if at.button(key="sweep-stop").disabled:  # not running any more
            return
    pytest.fail("the tiny sweep did not finish within two minutes")


def _sweep_id(at: AppTest) -> str:
    value = at.query_params.get("sweep")
    return value[0] if isinstance(value, list) else value


def test_sweep_runs_on_the_service_and_is_kept_in_the_store(run_service):
    at = open_page("pages/sweep.py", **SWEEP)
    assert {"depths", "widths", "seeds"} <= {w.key for w in at.text_input}
    assert at.multiselect(key="sweep_rules").value == ["bp", "pcalm"]
    assert at.number_input(key="cell_steps").value == 3
    sweep_id = _sweep_id(at)
    assert sweep_id and sweep_id.startswith("sweep-")  # the sweep's id is in the address
    at.button(key="sweep-run").click().run()
    _wait_for_sweep(at)
    assert not at.error
    spec = charts(at)["sweep-heatmaps"]
    heatmaps = [t for t in spec["data"] if t["type"] == "heatmap"]
    assert len(heatmaps) == 3  # BP, PC-ALM, PC-ALM - BP
    assert all(np.isfinite(array(t["z"])).all() for t in heatmaps)
    assert {b.label for b in at.get("download_button")} >= {"⬇ sweep.csv", "⬇ sweep.json",
                                                           "⬇ sweep.html"}
    from pcviz.store import open_store

    record = open_store(None).get(sweep_id)
    assert record.kind == "sweep" and record.status == "finished"
    again = open_page("pages/sweep.py", **SWEEP)  # a second visitor: instant, nothing to run
    assert again.button(key="sweep-run").disabled
    assert "sweep-heatmaps" in charts(again)
    shared = open_page("pages/sweep.py", sweep=sweep_id)  # only the id: read from the store
    assert shared.text_input(key="depths").value == "2, 3"
    assert _sweep_id(shared) == sweep_id and shared.button(key="sweep-run").disabled
    assert len([t for t in charts(shared)["sweep-heatmaps"]["data"]
                if t["type"] == "heatmap"]) == 3


def test_a_sweep_left_running_by_a_stopped_server_resumes(run_service, monkeypatch):
    from pcviz import sweeps
    from pcviz.store import open_store
    from pcviz.ui import _sweep

    query = {**SWEEP, "widths": "5"}
    at = open_page("pages/sweep.py", **query)
    sweep_id = _sweep_id(at)
    store = open_store(None)
    # a server ran the first cell and went away while the sweep was running
    spec = _sweep.job_for(sweep_id, None).spec
    plan = sweeps.plan_sweep(spec, store=store)
    assert len(list(sweeps.run_sweep(plan, store=store, max_cells=1))) == 1
    store.update(sweep_id, status="running")
    monkeypatch.setattr(_sweep, "ORPHANED_AFTER", 0.0)
    at = open_page("pages/sweep.py", **query)
    assert any("resuming" in i.value for i in at.info)
    _wait_for_sweep(at)
    assert store.get(sweep_id).status == "finished"
    assert {c.status for c in store.runs(kind="cell", parent=sweep_id)} == {"finished"}


def test_sweep_bad_input_is_an_error_not_an_exception():
    at = open_page("pages/sweep.py", **SWEEP)
    at.text_input(key="depths").set_value("4, deep").run()
    assert not at.exception
    assert at.error and "depths" in at.error[0].value


# ------------------------------------------------------------------------ query params


@pytest.mark.parametrize("page, query", [
    ("pages/credit.py", {**CREDIT, "t": "abc", "show": "<script>", "log": "maybe"}),
    ("pages/theory.py", {"theory_depth": "999", "sigma": "huge", "rho": "-1"}),
    ("pages/sweep.py", {**SWEEP, "depths": "1e9", "cell_steps": "0", "sweep_rules": "sgd"}),
])
def test_bad_query_parameters_warn(page, query):
    at = open_page(page, **query)
    assert at.warning, "a bad address should be reported"
    assert not at.error


def test_credit_probe_is_shared_and_never_blocks(run_service):
    from pcviz.ui import _credit

    query = {**CREDIT, "seed": "7"}
    before = _credit.PROBE_RUNS["count"]
    first = open_page("pages/credit.py", **query)
    assert not first.error and not first.exception
    if "credit-heatmaps" not in charts(first):  # still computing: a status, not a wait
        assert any("Computing on the run service" in i.value for i in first.info)
    second = open_page("pages/credit.py", **query)  # another visitor, same configuration
    _probe_shown(first)
    _probe_shown(second)
    assert not first.error and not second.error
    assert _credit.PROBE_RUNS["count"] == before + 1  # computed once for both


def test_credit_refused_configuration_is_an_error(run_service):
    # too large for the server's budget: refused by the task, shown with what to change
    at = _probe_shown(open_page("pages/credit.py", depth="256", width="512", batch="1024",
                                steps="2048"))
    assert not at.exception
    assert at.error and "Could not run inference" in at.error[0].value
    assert "Traceback" not in at.error[0].value


def test_credit_at_the_live_runs_weights(run_service):
    from pcviz.config import ModelConfig, RuleConfig, TrainConfig
    from pcviz.store import new_run_id
    from pcviz.ui import LabState

    run_id = new_run_id()
    client = run_service.open_live_run(run_id, ModelConfig(depth=4, width=8), RuleConfig(),
                                       TrainConfig(dataset="xor", batch_size=8,
                                                   rules=("bp", "pcalm")))
    try:
        assert client.control(step=2).step_count == 2
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.query_params.update(source="live")
        at.session_state["pcviz_lab"] = LabState(run_id=run_id, client=client)
        at.switch_page("pages/credit.py")
        at.run()
        assert not at.exception
        _probe_shown(at)
        assert not at.exception and not at.error
        assert at.radio(key="source").value == "live"
        assert "after 2 training steps" in at.caption[0].value
        heat = charts(at)["credit-heatmaps"]
        assert [t["name"] for t in heat["data"] if t["type"] == "heatmap"] == ["PC-ALM"]
        assert at.slider(key="t").max == 8
    finally:
        client.close()


def test_credit_divergence_is_a_warning(run_service):
    at = _probe_shown(open_page("pages/credit.py", **CREDIT, eta="5"))
    assert any("diverged" in w.value for w in at.warning)


# --------------------------------------------------------------------------- navigation


def test_navigation_sends_a_first_visit_to_a_page_through_the_app():
    """AppTest starts every run like a fresh server, before any `st.navigation`, when
    Streamlit would serve `pages/` as a legacy multipage app: the first visit straight to
    /sweep still goes through `app.py`, whose navigation holds exactly the app's pages."""
    from pcviz.ui._navigation import PAGES

    at = open_page("pages/sweep.py", **SWEEP)
    registered = {info.get("url_pathname"): info["page_name"]
                  for info in at._registered_pages.values()}  # the navigation's pages
    assert registered == {"": "Live lab", "credit": "Credit propagation",  # "": the default
                          "theory": "Linear theory", "sweep": "Depth × width sweep"}
    assert [p.title for p in PAGES] == list(registered.values())  # in this order
    assert [t.value for t in at.title] == ["Depth × width sweep"]
    assert at.sidebar.number_input(key="cfg_depth").value == 16  # app.py's sidebar
