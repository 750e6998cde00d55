"""Faults in the live lab, as a visitor meets them (AppTest): each gives a clear message, the
run can be reset, and nothing raises into the page.

A truncated data file and a missing optional package (kaleido, which the dashboard never needs:
figures download as standalone HTML, and the chart toolbar saves PNG in the visitor's own
browser).
"""

from __future__ import annotations

import builtins
import gzip

import pytest
from _apptest import SMALL, click, lab, open_app
from test_data import write_split

pytestmark = pytest.mark.usefixtures("run_service")


@pytest.fixture
def fresh_data_caches():
    from pcviz.ui._compute import dataset
    from pcviz.ui._sidebar import _available

    dataset.clear()
    _available.clear()
    yield
    dataset.clear()
    _available.clear()


def test_a_truncated_data_file_is_an_error_with_the_fix_and_reset_recovers(
        tmp_path, monkeypatch, fresh_data_caches):
    monkeypatch.setenv("PCVIZ_DATA", str(tmp_path))
    paths = write_split(tmp_path / "fashion-mnist")
    good = paths["train-images"].read_bytes()
    paths["train-images"].write_bytes(gzip.compress(gzip.decompress(good)[:-100]))

    at = open_app(dataset="fashion-mnist", **SMALL)
    message = at.error[0].value
    assert "could not be loaded" in message and "is truncated" in message
    assert str(paths["train-images"]) in message and "fresh" in message
    assert at.button(key="lab_play").disabled and at.button(key="lab_step").disabled

    paths["train-images"].write_bytes(good)  # the visitor (or admin) replaces the file
    at = click(at, "lab_reset")
    at = click(at, "lab_step")
    assert not at.error and lab(at).session.step_count == 1
    assert lab(at).session.dataset == "fashion-mnist"


def test_without_kaleido_the_downloads_still_work(monkeypatch):
    real_import = builtins.__import__

    def no_kaleido(name, *args, **kwargs):
        if name.split(".")[0] == "kaleido":
            raise ModuleNotFoundError("No module named 'kaleido'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_kaleido)
    at = click(open_app(**SMALL), "lab_step")
    labels = [d.label for d in at.get("download_button")]
    assert any(label.endswith(".html") for label in labels) and not at.error
