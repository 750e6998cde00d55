"""Earlier runs, as the lab lists them: one line per run from the run store.

Pure functions over `pcviz.store.RunRecord`s (no streamlit): what the lab's history table
shows, and the label of a run in the overlay's choice.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import NamedTuple

from .config_fields import rule_label


class RunSummary(NamedTuple):
    """One earlier run: `run_id`, `started` (local time, "YYYY-MM-DD HH:MM"), `setting` (the
    configuration in a few words), `step` (training steps recorded), `status`, and `accuracy`
    (rule label -> last test accuracy in %, or NaN)."""

    run_id: str
    started: str
    setting: str
    step: int
    status: str
    accuracy: dict[str, float]


def _setting(config: dict) -> str:
    model, rule, train = (config.get(k, {}) for k in ("model", "rule", "train"))
    if not model:
        return "(configuration not recorded)"
    parts = [f"L={model.get('depth')}", f"N={model.get('width')}", str(model.get("activation")),
             str(train.get("dataset")), f"α={rule.get('alpha')}", f"η={rule.get('eta')}"]
    if rule.get("steps") is not None:
        parts.append(f"T={rule['steps']}")
    parts.append("+".join(rule_label(r) for r in train.get("rules", ())))
    return ", ".join(parts)


def _accuracy(metrics: dict) -> dict[str, float]:
    out = {}
    for rule, values in (metrics or {}).items():
        value = values.get("test_accuracy") if isinstance(values, dict) else None
        out[rule_label(rule)] = 100 * value if isinstance(value, (int, float)) \
            and math.isfinite(value) else math.nan
    return out


def summarise(records: Sequence) -> list[RunSummary]:
    """One `RunSummary` per store record (newest first, as given)."""
    return [RunSummary(r.run_id, time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created)),
                       _setting(r.config), int(r.step), r.status, _accuracy(r.metrics))
            for r in records]


def overlay_label(summary: RunSummary) -> str:
    """How the overlay's choice and the figure's legend name a run."""
    return f"{summary.run_id} · {summary.setting} · step {summary.step:,}"
