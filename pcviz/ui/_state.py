"""The shared configuration: decoded from the URL once per visit, edited in the sidebar, and
written back to the URL after every change, so that a shared link reopens the same run.

Flow of one full run (`sidebar_config`, called by `app.py` before the page):

1. first run of a visit: `decode` the query parameters (never raises), clamp to the browser's
   limits, and seed the widgets' state (`cfg_*` keys); every problem becomes a warning;
2. draw the sidebar widgets (`_sidebar.draw`);
3. build validated configurations from the widgets (a bad combination: `st.error`, and the
   last good configuration is kept);
4. mirror them in `st.query_params` (only the configuration's keys; other keys are left).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import streamlit as st

from ..config import (
    _RULE_FIELDS_IN_URL,
    RULES,
    ModelConfig,
    RuleConfig,
    TrainConfig,
    _url_name,
    decode,
    encode,
    with_changes,
)
from ..data import install_hint, is_available
from ._widgets import plain

_KEY = "pcviz_config"
_BASE = "pcviz_url_config"
_WARNINGS = "pcviz_url_warnings"

DEFAULT_DATASET = TrainConfig().dataset

UI_LIMITS: dict[str, tuple[float, float]] = {
    "depth": (2, 256),
    "width": (1, 512),
    "steps": (1, 2048),
    "batch_size": (1, 1024),
    "eta": (1e-4, 10.0),
    "rho": (0.01, 100.0),
    "alpha": (0.0, 100.0),
    "learning_rate": (1e-6, 1.0),
    "seed": (0, 2**31 - 1),
}
"""What the browser accepts (inside `pcviz.config`'s ranges): deeper, wider or longer runs
belong on the command line, where they do not block a page."""

WIDGETS: dict[str, tuple[str, str]] = {
    "cfg_dataset": ("train", "dataset"),
    "cfg_depth": ("model", "depth"),
    "cfg_width": ("model", "width"),
    "cfg_activation": ("model", "activation"),
    "cfg_param": ("model", "param"),
    "cfg_rules": ("train", "rules"),
    "cfg_steps": ("rule", "steps"),
    "cfg_eta": ("rule", "eta"),
    "cfg_rho": ("rule", "rho"),
    "cfg_alpha": ("rule", "alpha"),
    "cfg_batch": ("train", "batch_size"),
    "cfg_lr": ("train", "learning_rate"),
    "cfg_seed": ("train", "seed"),
    "cfg_optimizer": ("train", "optimizer"),
}
"""Widget key -> (configuration, field). The widgets live in the sidebar drawn by `app.py`."""

CONFIG_KEYS: frozenset[str] = frozenset(
    _url_name(f.name)
    for cls, names in ((ModelConfig, None), (RuleConfig, _RULE_FIELDS_IN_URL), (TrainConfig, None))
    for f in dataclasses.fields(cls)
    if names is None or f.name in names
)
"""Query parameters that belong to the configuration (the pages may add their own)."""


def _clamp(name: str, value: Any, warnings: list[str]) -> Any:
    """`value` within the browser's limits for field `name` (with a warning when moved)."""
    if name not in UI_LIMITS or value is None or isinstance(value, str):
        return value
    lo, hi = UI_LIMITS[name]
    if lo <= value <= hi:
        return value
    safe = type(value)(min(max(value, lo), hi))
    warnings.append(f"{name}={value:g} is outside what the browser runs interactively "
                    f"({lo:g} to {hi:g}): using {safe:g}. The command line takes the full range.")
    return safe


def widget_values(model: ModelConfig, rule: RuleConfig, train: TrainConfig,
                  warnings: list[str] | None = None) -> dict[str, Any]:
    """The sidebar widgets' values showing these configurations (clamped to `UI_LIMITS`)."""
    warnings = [] if warnings is None else warnings
    sources = {"model": model, "rule": rule, "train": train}
    values = {}
    for key, (section, name) in WIDGETS.items():
        value = getattr(sources[section], name)
        if name == "eta" and value == "auto":
            value = None
        if name == "rules":
            value = list(value)
        values[key] = _clamp(name, value, warnings)
    return values


def _load_url() -> None:
    """First run of a visit: configuration from the URL into the widgets' state."""
    model, rule, train, warnings = decode(st.query_params.to_dict())
    if not is_available(train.dataset):
        warnings.append(f"The data set {train.dataset} is not installed here: using "
                        f"{DEFAULT_DATASET}. {install_hint(train.dataset)}")
        train = with_changes(train, dataset=DEFAULT_DATASET)
    st.session_state.update(widget_values(model, rule, train, warnings))
    st.session_state[_BASE] = (model, rule, train)
    st.session_state[_WARNINGS] = (warnings, None)


def _sig(value: float) -> float:
    """A float typed in the browser, rounded to 6 significant digits (0.30000000000000004)."""
    return float(f"{value:.6g}") if math.isfinite(value) else value


def configs_from_widgets() -> tuple[ModelConfig, RuleConfig, TrainConfig]:
    """Validated configurations from the widgets' state; raises `ValueError` on a bad mix."""
    s = st.session_state
    model, rule, train = s[_BASE]
    model = with_changes(
        model, depth=int(s.cfg_depth), width=int(s.cfg_width), activation=s.cfg_activation,
        param=s.cfg_param, skip=True if s.cfg_param == "mupc" else model.skip,
    )
    rule = with_changes(
        rule, steps=None if s.cfg_steps is None else int(s.cfg_steps),
        eta="auto" if s.cfg_eta is None else _sig(s.cfg_eta),
        rho=_sig(s.cfg_rho), alpha=_sig(s.cfg_alpha),
    )
    rules = tuple(r for r in RULES if r in (s.cfg_rules or ()))
    if not rules:
        raise ValueError("Choose at least one learning rule to compare (BP, PC or PC-ALM).")
    train = with_changes(
        train, rules=rules, dataset=s.cfg_dataset, batch_size=int(s.cfg_batch),
        seed=int(s.cfg_seed), optimizer=s.cfg_optimizer,
        learning_rate=None if s.cfg_lr is None else _sig(s.cfg_lr),
    )
    return model, rule, train


def write_url(model: ModelConfig, rule: RuleConfig, train: TrainConfig) -> None:
    """Mirror the configuration in the query parameters, touching only what changed."""
    want = encode(model, rule, train)
    current = st.query_params.to_dict()
    for key in CONFIG_KEYS & set(current) - set(want):
        del st.query_params[key]
    for key, value in want.items():
        if current.get(key) != value:
            st.query_params[key] = value


def sidebar_config() -> tuple[ModelConfig, RuleConfig, TrainConfig]:
    """Draw the shared sidebar (called by `app.py` before the page runs) and return the
    validated configurations; the URL's query parameters always mirror them.

    Problems with the URL are shown once as warnings; an invalid combination of widget
    values is shown as an error and the last valid configuration stays in force.
    """
    from ._compute import warm_up_default
    from ._sidebar import draw

    warm_up_default()  # started by the server's start-up already (app.py), else by this visit
    if _BASE not in st.session_state:
        _load_url()
    notices = st.container()
    draw()
    try:
        configs = configs_from_widgets()
    except ValueError as err:
        st.sidebar.error(str(err))
        configs = st.session_state.get(_KEY, st.session_state[_BASE])
    warnings = st.session_state.get(_WARNINGS)
    if warnings and warnings[1] in (None, configs):  # until the visitor changes something
        st.session_state[_WARNINGS] = (warnings[0], configs)
        for text in warnings[0]:
            notices.warning(plain(text), icon=":material/warning:")
    st.session_state[_KEY] = configs
    write_url(*configs)
    return configs


def current_config() -> tuple[ModelConfig, RuleConfig, TrainConfig]:
    """The configurations chosen in the shared sidebar, for a page to read."""
    from ._navigation import route_through_app

    route_through_app()
    if _KEY not in st.session_state:
        return sidebar_config()
    return st.session_state[_KEY]
