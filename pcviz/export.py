"""Downloads of the data behind the figures: telemetry and training histories as CSV or JSON.

Pure functions from host arrays to strings; no streamlit, no plotly. Telemetry arguments are
any objects with the fields of `pcviz.Telemetry` (`credit`, `error`, `multiplier`, `energy`,
`alignment`, `bp_adjoint`; numpy or jax arrays), keyed by rule name; a `None` telemetry (BP)
is skipped. Steps and layers are 1-based in every output: step `t` is the state after
inference step `t`, layer 1 the hidden layer next to the input, and the energy's last column
is the layer `"output"` (the output loss).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["history_csv", "telemetry_csv", "telemetry_json", "telemetry_records"]

FIELDS = ("credit", "error", "multiplier", "energy", "alignment")
"""Telemetry fields written per (step, layer), in this order."""

_RECORD_KEYS = ("rule", "quantity", "step", "layer", "value")
_HISTORY_KEYS = ("rule", "series", "step", "value")


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
    records = []
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


def telemetry_csv(telemetry: Mapping[str, Any]) -> str:
    """The telemetry of several rules as one long-format CSV table.

    **Arguments:**

    - `telemetry`: rule -> telemetry or `None`, as in `telemetry_records`.

    **Returns:**

    CSV text with the header `rule,quantity,step,layer,value` and one row per record;
    non-finite values are written `nan`, `inf`, `-inf`.
    """
    return _csv(_RECORD_KEYS, telemetry_records(telemetry))


def _nested(arr: np.ndarray) -> Any:
    if arr.ndim == 0:
        value = float(arr)
        return value if math.isfinite(value) else None
    return [_nested(sub) for sub in arr]


def telemetry_json(telemetry: Mapping[str, Any]) -> str:
    """The telemetry of several rules as a JSON document of nested lists.

    **Arguments:**

    - `telemetry`: rule -> telemetry or `None` (skipped), as in `telemetry_records`.

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
        rules[rule] = {name: _nested(arr) for name, arr in arrays.items() if arr is not None}
    doc = {
        "conventions": {
            "rows": "row t is the state after inference step t+1",
            "columns": "column 0 is the hidden layer next to the input",
            "energy": "last column is the output loss",
            "null": "not a finite number (diverged)",
        },
        "rules": rules,
    }
    return json.dumps(doc, allow_nan=False)


def history_csv(curves: Mapping[str, Mapping[str, tuple[Sequence, Sequence]]]) -> str:
    """Training histories of several rules as one long-format CSV table.

    **Arguments:**

    - `curves`: rule -> series name (e.g. `"loss"`, `"accuracy"`, `"test_accuracy"`) ->
      `(steps, values)` of equal length.

    **Returns:**

    CSV text with the header `rule,series,step,value`, one row per point, in the order given.
    """
    rows = []
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
    return _csv(_HISTORY_KEYS, rows)


def _scalar(x: Any) -> int | float:
    value = np.asarray(x).item()
    return value if isinstance(value, int) else float(value)
