"""The sidebar's widgets as data, read from `pcviz.config_fields.FIELDS` (the fields with a
`Widget`): which field each widget key shows, what the browser accepts, the widget values that
show a configuration and the configuration that widget values make.

No streamlit here: `_state` moves these values between the URL and `st.session_state`,
`_presets` sets them, `_sidebar` draws the widgets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..config import ModelConfig, RuleConfig, TrainConfig, with_changes
from ..config_fields import FIELDS, Field, Float, Int, Subset

SIDEBAR_FIELDS: tuple[Field, ...] = tuple(f for f in FIELDS if f.widget is not None)
"""The fields the sidebar shows, in its order."""

WIDGETS: dict[str, Field] = {f.sidebar_widget.key: f for f in SIDEBAR_FIELDS}
"""Widget key (`cfg_depth`) -> the field it shows."""

UI_LIMITS: dict[str, tuple[float, float]] = {
    f.name: f.sidebar_widget.limits for f in SIDEBAR_FIELDS if f.sidebar_widget.limits is not None}
"""What the browser accepts (inside `pcviz.config`'s ranges): deeper, wider or longer runs
belong on the command line, where they do not block a page."""


def optional(f: Field) -> bool:
    """Whether the widget of `f` may be empty (`None`, or the field's word such as `auto`)."""
    return f.none is not None or getattr(f.kind, "word", None) is not None


def _clamp(f: Field, value: Any, warnings: list[str]) -> Any:
    """`value` within the browser's limits for `f` (with a warning when moved)."""
    if f.sidebar_widget.limits is None or value is None or isinstance(value, str):
        return value
    lo, hi = f.sidebar_widget.limits
    if lo <= value <= hi:
        return value
    safe = type(value)(min(max(value, lo), hi))
    warnings.append(f"{f.name}={value:g} is outside what the browser runs interactively "
                    f"({lo:g} to {hi:g}): using {safe:g}. The command line takes the full range.")
    return safe


def widget_value(f: Field, value: Any) -> Any:
    """The widget's value showing the field's `value`: empty for `None` and for the field's
    word (`auto`), a list for a tuple."""
    if isinstance(value, str) and value == getattr(f.kind, "word", None):
        return None
    return list(value) if isinstance(value, tuple) else value


def widget_values(model: ModelConfig, rule: RuleConfig, train: TrainConfig,
                  warnings: list[str] | None = None) -> dict[str, Any]:
    """The sidebar widgets' values showing these configurations (clamped to `UI_LIMITS`)."""
    warnings = [] if warnings is None else warnings
    sources = {"model": model, "inference": rule, "train": train}
    return {key: _clamp(f, widget_value(f, getattr(sources[f.config], f.name)), warnings)
            for key, f in WIDGETS.items()}


def _sig(value: float) -> float:
    """A float typed in the browser, rounded to 6 significant digits (0.30000000000000004)."""
    return float(f"{value:.6g}") if math.isfinite(value) else value


def config_value(f: Field, value: Any) -> Any:
    """The field's value that the widget's `value` shows: empty is `None` or the field's word,
    numbers typed (floats to 6 significant digits), a selection in the options' order."""
    if value is None:
        return getattr(f.kind, "word", None)
    if isinstance(f.kind, Int):
        return int(value)
    if isinstance(f.kind, Float):
        return _sig(float(value))
    if isinstance(f.kind, Subset):
        return tuple(option for option in f.kind.options if option in value)
    return value


def configs_from_values(values: Mapping[str, Any],
                        base: tuple[ModelConfig, RuleConfig, TrainConfig],
                        ) -> tuple[ModelConfig, RuleConfig, TrainConfig]:
    """`base` with the fields that the widgets' `values` (by key) show; raises `ValueError`
    on a bad mix (naming the field), or when no rule is chosen."""
    changes: dict[str, dict[str, Any]] = {"model": {}, "inference": {}, "train": {}}
    for key, f in WIDGETS.items():
        changes[f.config][f.name] = config_value(f, values[key])
    if not changes["train"]["rules"]:
        raise ValueError("Choose at least one learning rule to compare (BP, PC or PC-ALM).")
    if changes["model"]["param"] == "mupc":
        changes["model"]["skip"] = True  # muPC needs its skips; only sp may turn them off
    model, rule, train = base
    return (with_changes(model, **changes["model"]), with_changes(rule, **changes["inference"]),
            with_changes(train, **changes["train"]))
