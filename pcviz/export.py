"""Downloads of the data behind the figures: telemetry and training histories as CSV or JSON.

Pure functions from host arrays to strings; no streamlit, no plotly. Telemetry arguments are
any objects with the fields of `pcviz.Telemetry` (`credit`, `error`, `multiplier`, `energy`,
`alignment`, `bp_adjoint`; numpy or jax arrays), keyed by rule name; a `None` telemetry (BP)
is skipped. Steps and layers are 1-based in every output: step `t` is the state after
inference step `t`, layer 1 the hidden layer next to the input, and the energy's last column
is the layer `"output"` (the output loss).

Every function takes keyword-only `run_id`, `config` and `step`: when a run id is given the
file carries the run it came from. CSV files then start with one comment line
`# pcviz run <id> step <k> config {...}` (read them with `pandas.read_csv(..., comment="#")`
or skip lines starting with `#`), JSON documents get a `"run": {"id", "step", "config"}` field
block, and standalone HTML figures a `<meta name="pcviz-run">` tag, the id in the title and a
visible caption.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._json import json_ready

__all__ = [
    "csv_header",
    "figure_html",
    "history_csv",
    "provenance",
    "telemetry_csv",
    "telemetry_json",
    "telemetry_records",
]

FIELDS = ("credit", "error", "multiplier", "energy", "alignment")
"""Telemetry fields written per (step, layer), in this order."""

_RECORD_KEYS = ("rule", "quantity", "step", "layer", "value")
_HISTORY_KEYS = ("rule", "series", "step", "value")


def provenance(run_id: str | None, config: Mapping[str, Any] | None = None,
               step: int | None = None) -> dict | None:
    """The field block naming the run a file came from: `{"id", "step", "config"}`, or `None`
    without a run id. NaN in `config` becomes `null`."""
    if run_id is None:
        return None
    return {"id": str(run_id), "step": None if step is None else int(step),
            "config": json_ready(dict(config or {}))}


def csv_header(run_id: str | None, config: Mapping[str, Any] | None = None,
               step: int | None = None) -> str:
    """The CSV comment line `# pcviz run <id> step <k> config {...}` (with its newline), or
    `""` without a run id. The configuration is compact JSON on the same line."""
    block = provenance(run_id, config, step)
    if block is None:
        return ""
    text = json.dumps(block["config"], sort_keys=True, separators=(",", ":"))
    return f"# pcviz run {block['id']} step {block['step']} config {text}\n"


def _with_run(doc: dict, run_id, config, step) -> dict:
    block = provenance(run_id, config, step)
    return doc if block is None else {"run": block, **doc}


def figure_html(fig: Any, *, run_id: str | None = None, config: Mapping[str, Any] | None = None,
                step: int | None = None) -> str:
    """A standalone HTML page of a Plotly figure (`pcviz.figures.figure_html`: plotly.js
    inlined, works offline) that names its run.

    **Arguments:**

    - `fig`: a Plotly figure.
    - `run_id`, `config`, `step` (keyword-only): the run; without `run_id` the page is the
      plain figure.

    **Returns:**

    The HTML text: with a run, `<title>pcviz run <id> step <k></title>`, a
    `<meta name="pcviz-run" content="{json}">` tag holding the `provenance` block, and a
    visible caption above the figure.
    """
    from .figures import figure_html as plain_html

    page = plain_html(fig)
    block = provenance(run_id, config, step)
    if block is None:
        return page
    title = f"pcviz run {block['id']} step {block['step']}"
    meta = html.escape(json.dumps(block, sort_keys=True), quote=True)
    config_text = html.escape(json.dumps(block["config"], sort_keys=True))
    head = (f"<title>{html.escape(title)}</title>\n"
            f'<meta name="pcviz-run" content="{meta}">\n')
    caption = (f'<p class="pcviz-run" style="font:12px sans-serif;color:#555">'
               f"{html.escape(title)} · config {config_text}</p>\n")
    page = page.replace("<head>", "<head>\n" + head, 1)
    return page.replace("<body>", "<body>\n" + caption, 1)


def _field(telemetry: Any, name: str) -> np.ndarray | None:
    value = getattr(telemetry, name, None)
    return None if value is None else np.asarray(value, dtype=np.float64)


def _layer_names(field: str, columns: int) -> list[int | str]:
    names: list[int | str] = list(range(1, columns + 1))
    if field == "energy" and columns:
        names[-1] = "output"
    return names


def telemetry_records(telemetry: Mapping[str, Any]) -> list[dict]:
    """The telemetry of several rules in long format, one record per (field, step, layer).

    **Arguments:**

    - `telemetry`: rule -> telemetry (fields `(T, L-1)`, energy `(T, L)`) or `None`.

    **Returns:**

    A list of dicts `{rule, quantity, step, layer, value}`: `quantity` one of `FIELDS`,
    `step` 1-based, `layer` 1-based (int) or `"output"` for the energy's last column, `value`
    a float (NaN and inf kept). Ordered by rule, field, step, layer.
    """
    records: list[dict[str, Any]] = []
    for rule, tel in telemetry.items():
        if tel is None:
            continue
        for field in FIELDS:
            arr = _field(tel, field)
            if arr is None or arr.size == 0:
                continue
            arr = arr.reshape(arr.shape[0], -1) if arr.ndim else arr.reshape(1, 1)
            layers = _layer_names(field, arr.shape[1])
            for t, row in enumerate(arr, start=1):
                records.extend(
                    {"rule": rule, "quantity": field, "step": t, "layer": layer, "value": float(v)}
                    for layer, v in zip(layers, row)
                )
    return records


def _csv(header: Sequence[str], rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def telemetry_csv(telemetry: Mapping[str, Any], *, run_id: str | None = None,
                  config: Mapping[str, Any] | None = None, step: int | None = None) -> str:
    """The telemetry of several rules as one long-format CSV table.

    **Arguments:**

    - `telemetry`: rule -> telemetry or `None`, as in `telemetry_records`.
    - `run_id`, `config`, `step` (keyword-only): the run, written as the first line
      (`csv_header`) when `run_id` is given.

    **Returns:**

    CSV text with the header `rule,quantity,step,layer,value` and one row per record;
    non-finite values are written `nan`, `inf`, `-inf`.
    """
    return csv_header(run_id, config, step) + _csv(_RECORD_KEYS, telemetry_records(telemetry))


def telemetry_json(telemetry: Mapping[str, Any], *, run_id: str | None = None,
                   config: Mapping[str, Any] | None = None, step: int | None = None) -> str:
    """The telemetry of several rules as a JSON document of nested lists.

    **Arguments:**

    - `telemetry`: rule -> telemetry or `None` (skipped), as in `telemetry_records`.
    - `run_id`, `config`, `step` (keyword-only): the run, as a leading `"run"` field block
      (`provenance`) when `run_id` is given.

    **Returns:**

    JSON text `{"conventions": {...}, "rules": {rule: {field: [[...], ...], "bp_adjoint":
    [...]}}}`: fields `(T, L-1)` (energy `(T, L)`), row `t` after inference step `t+1`, column
    0 next to the input. NaN and inf are written as `null`, so the document is strict JSON.
    """
    rules = {}
    for rule, tel in telemetry.items():
        if tel is None:
            continue
        arrays = {name: _field(tel, name) for name in (*FIELDS, "bp_adjoint")}
        rules[rule] = {name: json_ready(arr) for name, arr in arrays.items() if arr is not None}
    doc = {
        "conventions": {
            "rows": "row t is the state after inference step t+1",
            "columns": "column 0 is the hidden layer next to the input",
            "energy": "last column is the output loss",
            "null": "not a finite number (diverged)",
        },
        "rules": rules,
    }
    return json.dumps(_with_run(doc, run_id, config, step), allow_nan=False)


Points = Sequence[float] | np.ndarray
"""A curve's steps or values: a sequence of numbers or a 1-D array."""


def history_csv(curves: Mapping[str, Mapping[str, tuple[Points, Points]]], *,
                run_id: str | None = None, config: Mapping[str, Any] | None = None,
                step: int | None = None) -> str:
    """Training histories of several rules as one long-format CSV table.

    **Arguments:**

    - `curves`: rule -> series name (e.g. `"loss"`, `"accuracy"`, `"test_accuracy"`) ->
      `(steps, values)` of equal length.
    - `run_id`, `config`, `step` (keyword-only): the run, written as the first line
      (`csv_header`) when `run_id` is given.

    **Returns:**

    CSV text with the header `rule,series,step,value`, one row per point, in the order given.
    """
    rows: list[dict[str, Any]] = []
    for rule, series in curves.items():
        for name, (steps, values) in series.items():
            if len(steps) != len(values):
                raise ValueError(
                    f"curves[{rule!r}][{name!r}] has {len(steps)} steps but {len(values)} values."
                )
            rows.extend(
                {"rule": rule, "series": name, "step": _scalar(s), "value": _scalar(v)}
                for s, v in zip(steps, values)
            )
    return csv_header(run_id, config, step) + _csv(_HISTORY_KEYS, rows)


def _scalar(x: Any) -> int | float:
    value = np.asarray(x).item()
    return value if isinstance(value, int) else float(value)


_SWEEP_KEYS = ("depth", "width", "seed", "rule", "test_accuracy", "status", "cell_seconds")


def sweep_csv(cells: Sequence[Any], *, run_id: str | None = None,
              config: Mapping[str, Any] | None = None, step: int | None = None) -> str:
    """A depth x width sweep's cells as one long-format CSV table.

    **Arguments:**

    - `cells`: objects with `depth`, `width`, `seed`, `accuracy` (rule -> test accuracy,
      NaN when diverged), `status` (rule -> `"ok"` or `"diverged at step k"`) and `seconds`
      (e.g. `pcviz.SweepCell`).
    - `run_id`, `config`, `step` (keyword-only): the sweep's run, as the first line.

    **Returns:**

    CSV text with the header `depth,width,seed,rule,test_accuracy,status,cell_seconds`, one
    row per (cell, rule).
    """
    rows = [{"depth": c.depth, "width": c.width, "seed": c.seed, "rule": rule,
             "test_accuracy": float(acc), "status": c.status.get(rule, ""),
             "cell_seconds": round(float(c.seconds), 3)}
            for c in cells for rule, acc in c.accuracy.items()]
    return csv_header(run_id, config, step) + _csv(_SWEEP_KEYS, rows)


def sweep_json(cells: Sequence[Any], *, run_id: str | None = None,
               config: Mapping[str, Any] | None = None, step: int | None = None,
               accuracy: Mapping[str, Any] | None = None) -> str:
    """A sweep's configuration and cells as one JSON document.

    **Arguments:**

    - `cells`: as in `sweep_csv`; a cell's `run_id`, `state` and `error` are written when it
      has them.
    - `run_id`, `config`, `step` (keyword-only): the sweep's run (a `"run"` field block).
    - `accuracy` (keyword-only): rule -> `(depths, widths)` mean test accuracy, written as
      `"accuracy"` when given.

    **Returns:**

    Strict JSON `{"run": {...}, "spec": config, "accuracy": {...}, "cells": [{depth, width,
    seed, seconds, accuracy, status, ...}]}`; NaN (diverged, not run) is `null`.
    """
    out = []
    for c in cells:
        item = {"depth": c.depth, "width": c.width, "seed": c.seed, "seconds": c.seconds,
                "accuracy": dict(c.accuracy), "status": dict(c.status)}
        item.update({k: getattr(c, k) for k in ("run_id", "state", "error") if hasattr(c, k)})
        out.append(item)
    doc = {"spec": dict(config or {}), "cells": out}
    if accuracy is not None:
        doc["accuracy"] = dict(accuracy)
    return json.dumps(json_ready(_with_run(doc, run_id, config, step)), allow_nan=False)
