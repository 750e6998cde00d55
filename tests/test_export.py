"""CSV and JSON downloads of telemetry and training histories."""

import csv
import io
import json
from types import SimpleNamespace

import numpy as np
import pytest

from pcviz import export

T, N = 3, 2  # inference steps, hidden layers (L = 3)


def fake_telemetry(offset: float = 0.0) -> SimpleNamespace:
    grid = offset + np.arange(T * N, dtype=np.float64).reshape(T, N)
    return SimpleNamespace(
        credit=grid,
        error=grid + 100,
        multiplier=grid + 200,
        energy=np.arange(T * (N + 1), dtype=np.float64).reshape(T, N + 1) + 300,
        alignment=np.full((T, N), 0.5),
        bp_adjoint=np.array([1.5, 2.5]),
    )


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_records_long_format_one_based_with_output_layer():
    records = export.telemetry_records({"bp": None, "pcalm": fake_telemetry()})
    assert len(records) == 4 * T * N + T * (N + 1)  # bp (None) skipped
    assert records[0] == {"rule": "pcalm", "quantity": "credit", "step": 1, "layer": 1,
                          "value": 0.0}
    last_credit = [r for r in records if r["quantity"] == "credit"][-1]
    assert (last_credit["step"], last_credit["layer"], last_credit["value"]) == (T, N, 5.0)
    energy = [r for r in records if r["quantity"] == "energy"]
    assert [r["layer"] for r in energy[: N + 1]] == [1, 2, "output"]
    assert energy[N]["value"] == 300.0 + N  # row 0, last column: the output loss
    assert [r["quantity"] for r in records[:: T * N]][:4] == list(export.FIELDS[:4])


def test_csv_header_and_row_count():
    text = export.telemetry_csv({"pc": fake_telemetry(), "pcalm": fake_telemetry(1.0)})
    lines = text.splitlines()
    assert lines[0] == "rule,quantity,step,layer,value"
    assert len(lines) == 1 + 2 * (4 * T * N + T * (N + 1))
    table = rows(text)
    assert {r["rule"] for r in table} == {"pc", "pcalm"}
    first = table[2 * (4 * T * N + T * (N + 1)) // 2]
    assert (first["rule"], first["quantity"], first["step"], first["value"]) == (
        "pcalm", "credit", "1", "1.0"
    )


def test_csv_writes_nan_and_skips_missing_fields():
    tel = fake_telemetry()
    tel.credit = np.full((T, N), np.nan)
    tel.multiplier = None
    table = rows(export.telemetry_csv({"pc": tel}))
    assert len(table) == 3 * T * N + T * (N + 1)
    assert all(np.isnan(float(r["value"])) for r in table if r["quantity"] == "credit")
    assert "multiplier" not in {r["quantity"] for r in table}


def test_json_round_trips_with_null_for_nan():
    tel = fake_telemetry()
    tel.error = tel.error.copy()
    tel.error[1, 0] = np.nan
    tel.alignment = np.full((T, N), np.inf)
    text = export.telemetry_json({"bp": None, "pc": tel})

    def no_constants(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    doc = json.loads(text, parse_constant=no_constants)  # strict JSON: no NaN/Infinity
    assert list(doc["rules"]) == ["pc"]
    pc = doc["rules"]["pc"]
    assert set(pc) == {*export.FIELDS, "bp_adjoint"}
    np.testing.assert_array_equal(pc["credit"], tel.credit)
    assert pc["error"][1][0] is None and pc["error"][1][1] == tel.error[1, 1]
    assert pc["alignment"] == [[None] * N] * T
    assert np.asarray(pc["energy"]).shape == (T, N + 1)
    assert pc["bp_adjoint"] == [1.5, 2.5]


def test_json_accepts_a_telemetry_namedtuple():
    from pcviz import Telemetry

    tel = Telemetry(**vars(fake_telemetry()))
    doc = json.loads(export.telemetry_json({"pcalm": tel}))
    assert doc["rules"]["pcalm"]["multiplier"][0] == [200.0, 201.0]


def test_history_csv_long_format():
    curves = {
        "bp": {"loss": ([0, 10], [1.0, 0.5]), "accuracy": ([0, 10], [0.1, 0.6])},
        "pc": {"loss": (np.array([0, 10, 20]), np.array([1.0, np.nan, 0.4]))},
    }
    text = export.history_csv(curves)
    assert text.splitlines()[0] == "rule,series,step,value"
    table = rows(text)
    assert len(table) == 7
    assert table[2] == {"rule": "bp", "series": "accuracy", "step": "0", "value": "0.1"}
    assert table[5]["value"] == "nan" and table[6]["step"] == "20"


def test_history_csv_rejects_ragged_series():
    with pytest.raises(ValueError, match="curves\\['pc'\\]\\['loss'\\]"):
        export.history_csv({"pc": {"loss": ([0, 1], [1.0])}})


RUN = {"run_id": "3f9c2a", "config": {"model": {"depth": 4}, "lr": float("nan")}, "step": 12}


def test_csv_files_start_with_their_run():
    for text in (export.telemetry_csv({"pc": fake_telemetry()}, **RUN),
                 export.history_csv({"bp": {"loss": ([0], [1.0])}}, **RUN)):
        first, header = text.splitlines()[:2]
        assert first.startswith("# pcviz run 3f9c2a step 12 config {")
        assert json.loads(first.split(" config ", 1)[1]) == {"model": {"depth": 4}, "lr": None}
        assert header.startswith("rule,")
        table = list(csv.DictReader(line for line in io.StringIO(text) if line[0] != "#"))
        assert table and table[0]["rule"] in ("pc", "bp")


def test_json_and_html_carry_their_run():
    doc = json.loads(export.telemetry_json({"pc": fake_telemetry()}, **RUN))
    assert doc["run"] == {"id": "3f9c2a", "step": 12, "config": {"model": {"depth": 4},
                                                                  "lr": None}}
    assert "rules" in doc
    import plotly.graph_objects as go

    page = export.figure_html(go.Figure(), **RUN)
    assert "<title>pcviz run 3f9c2a step 12</title>" in page
    assert 'name="pcviz-run"' in page and 'class="pcviz-run"' in page


def test_without_a_run_the_files_are_unchanged():
    tel = {"pc": fake_telemetry()}
    assert export.telemetry_csv(tel) == export.telemetry_csv(tel, run_id=None)
    assert "run" not in json.loads(export.telemetry_json(tel))


def test_sweep_files_one_row_per_cell_and_rule():
    cell = SimpleNamespace(depth=4, width=8, seed=0, seconds=1.5, run_id="c1", state="finished",
                           error=None, accuracy={"bp": 0.9, "pc": float("nan")},
                           status={"bp": "ok", "pc": "diverged at step 3"})
    text = export.sweep_csv([cell], **RUN)
    lines = text.splitlines()
    assert lines[0].startswith("# pcviz run 3f9c2a") and len(lines) == 4
    assert lines[1] == "depth,width,seed,rule,test_accuracy,status,cell_seconds"
    doc = json.loads(export.sweep_json([cell], **RUN, accuracy={"bp": np.ones((1, 1))}))
    assert doc["run"]["id"] == "3f9c2a" and doc["accuracy"] == {"bp": [[1.0]]}
    assert doc["cells"][0]["accuracy"] == {"bp": 0.9, "pc": None}
    assert doc["cells"][0]["run_id"] == "c1"
