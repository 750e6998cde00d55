"""The command line end to end: JSON documents, progress on stderr, usage errors."""

import json
import os
import subprocess
import sys

import pytest

from pcviz.cli import main
from pcviz.config import RuleConfig
from pcviz.data import is_available


def _run(args, tmp_path, capsys):
    out = tmp_path / "out.json"
    status = main([*args, "--out", str(out)])
    captured = capsys.readouterr()
    return status, json.loads(out.read_text()) if out.exists() else None, captured


def test_train_writes_a_report_per_rule(tmp_path, capsys):
    status, doc, captured = _run(["train", "--dataset", "spirals", "--depth", "4", "--width", "8",
                                  "--max-steps", "12"], tmp_path, capsys)
    assert status == 0
    assert set(doc["results"]) == {"bp", "pc", "pcalm"}
    for result in doc["results"].values():
        assert 0.0 <= result["test_accuracy"] <= 1.0
        assert -1.0 <= result["grad_cosine"] <= 1.0 + 1e-6
        assert len(result["grad_cosine_per_layer"]) == 4
        assert result["wall_seconds"] > 0 and result["status"] == "ok"
    assert doc["training_steps"] == 12 and doc["inference_steps"] == 8
    assert "12/12" in captured.err  # the progress bar
    assert "PC-ALM" in captured.out


def test_probe_reports_telemetry_and_arrivals(tmp_path, capsys):
    status, doc, _ = _run(["probe", "--depth", "12", "--width", "16", "--steps", "30",
                           "--dataset", "teacher"], tmp_path, capsys)
    assert status == 0
    assert set(doc["telemetry"]) == {"pc", "pcalm"}
    credit = doc["telemetry"]["pcalm"]["credit"]
    assert len(credit) == 30 and len(credit[0]) == 11
    assert len(doc["arrivals"]["pcalm"]) == 11
    assert doc["fits"]["pcalm"]["num_layers_reached"] > doc["fits"]["pc"]["num_layers_reached"]


def test_sweep_fills_the_grid(run_service, tmp_path, capsys):
    status, doc, captured = _run(["sweep", "--depths", "3,5", "--widths", "4", "--rules",
                                  "bp,pcalm", "--dataset", "xor", "--max-steps", "5"],
                                 tmp_path, capsys)
    assert status == 0
    assert len(doc["cells"]) == 2
    assert [len(row) for row in doc["accuracy"]["pcalm"]] == [1, 1]
    assert "2/2" in captured.err
    assert f"run id: {doc['run_id']}" in captured.out


def _store(path):
    from pcviz.store import open_store

    return open_store(str(path))


def test_theory_runs_on_the_service_and_pcalm_reaches_bp(run_service, tmp_path, capsys):
    status, doc, captured = _run(["theory", "--depth", "4", "--points", "3"], tmp_path, capsys)
    assert status == 0 and "PC-ALM" in captured.out
    text = json.dumps(doc)
    assert "e-1" in captured.out and ("e-15" in captured.out or "e-14" in captured.out), text[:300]


def test_train_and_probe_are_recorded_with_a_checkpoint(tmp_path, capsys):
    path = tmp_path / "runs.sqlite"
    status, doc, captured = _run(["train", "--dataset", "xor", "--depth", "3", "--width", "4",
                                  "--max-steps", "6", "--rules", "bp,pcalm", "--store",
                                  str(path)], tmp_path, capsys)
    assert status == 0 and f"run id: {doc['run_id']}" in captured.out
    store = _store(path)
    record = store.get(doc["run_id"])
    assert record.kind == "train" and record.status == "finished" and record.step == 6
    assert record.config["model"]["depth"] == 3 and record.config["train"]["rules"] == [
        "bp", "pcalm"]
    assert record.metrics["pcalm"]["status"] == "ok"
    curves = store.curves(doc["run_id"])
    assert set(curves) == {"bp", "pcalm"} and len(curves["bp"]["loss"]) == 6
    step, blob = store.checkpoint(doc["run_id"])
    assert step == 6 and len(blob) > 0
    status, doc, captured = _run(["probe", "--dataset", "xor", "--depth", "4", "--width", "4",
                                  "--store", str(path)], tmp_path, capsys)
    record = store.get(doc["run_id"])
    assert status == 0 and record.kind == "probe" and record.status == "finished"
    assert record.metrics["fits"]["pcalm"]["num_layers_reached"] == 3
    assert set(store.curves(doc["run_id"])) == {"pc", "pcalm"}


def test_sweep_run_again_skips_the_finished_cells(run_service, tmp_path, capsys):
    path = tmp_path / "runs.sqlite"
    args = ["sweep", "--depths", "2,3", "--widths", "4", "--rules", "bp,pcalm", "--dataset",
            "xor", "--max-steps", "3", "--store", str(path)]
    status, doc, captured = _run([*args, "--max-cells", "1"], tmp_path, capsys)
    assert status == 0 and [c["state"] for c in doc["cells"]] == ["finished"]
    assert "1 of 2 cells not run yet" in captured.err
    status, doc, captured = _run([*args, "--workers", "1"], tmp_path, capsys)
    assert status == 0 and doc["skipped"] == 1
    assert f"1 of 2 cells already finished in {path}: skipped" in captured.out
    assert [c["skipped"] for c in doc["cells"]] == [True, False]
    status, again, captured = _run(args, tmp_path, capsys)
    assert f"2 of 2 cells already finished in {path}: skipped" in captured.out
    assert again["run_id"] == doc["run_id"] and again["accuracy"] == doc["accuracy"]
    cells = _store(path).runs(kind="cell", parent=doc["run_id"])
    assert len(cells) == 2 and {c.status for c in cells} == {"finished"}


@pytest.mark.parametrize("command", [["train", "--max-steps", "1"], ["probe"],
                                     ["sweep", "--depths", "2", "--widths", "4"]])
def test_a_store_that_cannot_be_written_is_one_clear_line(command, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    status = main([*command, "--dataset", "xor", "--store", str(blocker / "runs.sqlite")])
    err = capsys.readouterr().err
    assert status == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert str(blocker) in err


@pytest.mark.parametrize("args", [
    ["train", "--depth", "0"],
    ["train", "--rules", "bp,hebb"],
    ["probe", "--eta", "fast"],
    ["sweep", "--depths", "8,x"],
    ["frobnicate"],
    ["train", "--width", "1000000000"],
])
def test_wrong_arguments_give_usage_and_exit_2(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        status = main(args)
        raise SystemExit(status)
    assert exit_info.value.code == 2
    assert "usage" in capsys.readouterr().err


OPTIONS_OF_TODAY = {
    "train": "--depth --width --activation --param --rules --steps --eta --rho --alpha --dataset "
             "--batch-size --seed --out --store --epochs --max-steps --optimizer --lr "
             "--batch-rules",
    "probe": "--depth --width --activation --param --rules --steps --eta --rho --alpha --dataset "
             "--batch-size --seed --out --store",
    "sweep": "--depths --widths --seeds --depth --width --activation --param --rules --steps "
             "--eta --rho --alpha --dataset --batch-size --seed --out --store --epochs "
             "--max-steps --workers --max-cells --etas --alphas --lrs",
}


@pytest.mark.parametrize("command", sorted(OPTIONS_OF_TODAY))
def test_the_options_read_from_the_table_keep_their_names_and_defaults(command):
    from pcviz.cli import _configs, _parser

    commands = next(a for a in _parser()._actions if a.dest == "command").choices
    flags = {flag for action in commands[command]._actions for flag in action.option_strings}
    assert set(OPTIONS_OF_TODAY[command].split()) <= flags
    model, rule, train = _configs(_parser().parse_args([command]))
    depth, width, rules = {"train": (32, 32, ("bp", "pc", "pcalm")),
                           "probe": (64, 32, ("pc", "pcalm")),
                           "sweep": (8, 8, ("bp", "pc", "pcalm"))}[command]
    assert (model.depth, model.width, train.rules) == (depth, width, rules)
    assert rule == RuleConfig() and train.batch_rules is False


def test_an_option_parses_and_checks_as_the_configuration_does(capsys):
    from pcviz.cli import _configs, _parser

    args = _parser().parse_args(["train", "--eta", "0.25", "--steps", "1e2", "--rules", "pc,bp",
                                 "--lr", "0.01", "--batch-rules"])
    _, rule, train = _configs(args)
    assert (rule.eta, rule.steps, train.rules) == (0.25, 100, ("pc", "bp"))
    assert train.learning_rate == 0.01 and train.batch_rules is True
    with pytest.raises(SystemExit):
        _parser().parse_args(["probe", "--depth", "1"])
    assert "argument --depth: depth=1 is out of range: it must be from 2 to 1024" in (
        capsys.readouterr().err)


def test_missing_data_gives_one_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PCVIZ_DATA", str(tmp_path))
    assert main(["train", "--dataset", "mnist", "--max-steps", "1"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "Traceback" not in err and "PCVIZ_DATA" in err


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "pcviz", "--version"], capture_output=True,
                            text=True, timeout=120, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert result.returncode == 0 and "pcviz" in result.stdout


@pytest.mark.needs_fashion_mnist
@pytest.mark.skipif(not is_available("fashion-mnist"),
                    reason="needs the Debian package dataset-fashion-mnist")
def test_train_on_fashion_mnist(tmp_path, capsys):
    status, doc, _ = _run(["train", "--dataset", "fashion-mnist", "--depth", "4", "--width", "16",
                           "--max-steps", "30", "--lr", "0.01"], tmp_path, capsys)
    assert status == 0
    assert doc["model"]["input_dim"] == 784 and doc["model"]["output_dim"] == 10
    assert doc["results"]["bp"]["test_accuracy"] > 0.3  # well above chance after 20 batches
