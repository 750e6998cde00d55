"""The pages' computations from the command line: `python -m pcviz credit` reads the same
fronts as the credit page's metrics row, and `pcviz.claims.front_readings` against hand-built
arrival steps."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pcviz.claims import front_readings
from pcviz.cli import main


def _run(args, tmp_path, capsys):
    out = tmp_path / "out.json"
    status = main([*args, "--out", str(out), "--store", str(tmp_path / "runs.db")])
    captured = capsys.readouterr()
    return status, json.loads(out.read_text()) if out.exists() else None, captured


def test_front_readings_of_a_wave_and_of_heat():
    # 8 hidden layers; arrival step of layer i (0 next to the input), distance d = 8 - i:
    # PC-ALM's front moves one layer every 2 steps, PC's reaches 3 layers, at d^2
    wave = np.array([16, 14, 12, 10, 8, 6, 4, 2])
    heat = np.array([-1, -1, -1, -1, -1, 9, 4, 1])
    read = front_readings({"pc": heat, "pcalm": wave}, step=9, eta=0.25, rho=1.0, alpha=1.0)
    assert read["pcalm"].reached == 4 and read["pcalm"].total == 8
    assert read["pcalm"].speed == pytest.approx(0.5)
    assert read["pcalm"].theory_speed == pytest.approx(0.5)  # sqrt(alpha eta)
    assert read["pcalm"].speed_ratio == pytest.approx(1.0)
    assert read["pcalm"].slope == pytest.approx(1.0)  # arrival proportional to distance
    assert read["pc"].reached == 3 and read["pc"].slope == pytest.approx(2.0)
    assert math.isnan(read["pc"].theory_speed) and math.isnan(read["pc"].speed_ratio)
    assert read["pc"].heat_reach == pytest.approx(1.5)  # sqrt(rho eta t) = sqrt(2.25)
    still = front_readings({"pcalm": wave}, step=9, eta=0.25, rho=1.0, alpha=0.0)["pcalm"]
    assert math.isnan(still.theory_speed)  # alpha = 0: PC-ALM is PC, no wave


def test_credit_prints_the_pages_fronts(tmp_path, capsys):
    status, doc, captured = _run(["credit", "--depth", "12", "--width", "16", "--steps", "30",
                                  "--dataset", "teacher", "--step", "20", "--frames", "7"],
                                 tmp_path, capsys)
    assert status == 0
    assert doc["step"] == 20 and doc["inference_steps"] == 30
    pc, pcalm = doc["fronts"]["pc"], doc["fronts"]["pcalm"]
    assert pcalm["reached"] > pc["reached"] and pcalm["total"] == 11
    assert pcalm["theory_speed"] == pytest.approx(math.sqrt(doc["eta"]))  # alpha = 1
    assert pc["theory_speed"] is None  # NaN: no wave for PC
    assert pc["heat_reach"] == pytest.approx(math.sqrt(doc["eta"] * 20))
    assert doc["whole_run"]["pcalm"]["reached"] >= pcalm["reached"]
    animation = doc["animation"]
    assert animation["steps"][0] == 1 and animation["steps"][-1] == 30
    assert len(animation["steps"]) == 7 and len(animation["credit"]["pcalm"]) == 7
    assert len(animation["credit"]["pcalm"][0]) == 11 and animation["top"] > 0
    assert doc["diverged"] == [] and set(doc["energy"]) == {"pc", "pcalm"}
    assert "reached by t=20" in captured.out and "PC-ALM" in captured.out
    assert f"run id: {doc['run_id']}" in captured.out


def test_credit_step_beyond_the_run_is_a_usage_error(tmp_path, capsys):
    status, doc, captured = _run(["credit", "--depth", "4", "--width", "8", "--dataset", "xor",
                                  "--batch-size", "8", "--step", "99"], tmp_path, capsys)
    assert status == 2 and doc is None
    assert "--step 99 is beyond the run's T = 8 steps" in captured.err


def test_export_sweep_reads_a_stored_sweep_as_the_page_does(run_service, tmp_path, capsys):
    from pcviz import sweeps
    from pcviz.store import open_store

    status, ran, _ = _run(["sweep", "--depths", "2,3", "--widths", "4", "--seeds", "0,1",
                           "--rules", "bp,pcalm", "--dataset", "xor", "--max-steps", "3"],
                          tmp_path, capsys)
    assert status == 0
    csv = tmp_path / "sweep.csv"
    status, doc, captured = _run(["export-sweep", ran["run_id"], "--csv", str(csv)],
                                 tmp_path, capsys)
    assert status == 0
    state = sweeps.sweep_state(open_store(str(tmp_path / "runs.db")), ran["run_id"])
    page = sweeps.sweep_files(state.spec, state.cells, sweep_id=state.sweep_id)
    assert csv.read_text() == page["sweep.csv"]  # the page's download, byte for byte
    assert doc["accuracy"] == ran["accuracy"] == json.loads(page["sweep.json"])["accuracy"]
    assert doc["finished_cells"] == doc["total_cells"] == 4 and doc["failed_cells"] == 0
    assert len(doc["cells"]) == 4 and doc["run"]["id"] == ran["run_id"]
    ends = doc["trend_ends"]["pcalm"]
    assert (ends["first_depth"], ends["last_depth"]) == (2, 3)
    assert ends["last"] == pytest.approx(doc["difference_by_depth"]["mean"]["pcalm"][-1])
    assert "PC-ALM - BP" in captured.out and "4 of 4 cells finished" in captured.out


def test_export_sweep_of_an_unknown_sweep_is_a_usage_error(tmp_path, capsys):
    status, doc, captured = _run(["export-sweep", "sweep-nothere"], tmp_path, capsys)
    assert status == 2 and doc is None
    assert "no sweep 'sweep-nothere' in the run store" in captured.err
