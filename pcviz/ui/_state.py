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

import streamlit as st

from ..config import URL_KEYS, ModelConfig, RuleConfig, TrainConfig, decode, encode, with_changes
from ..data import install_hint, is_available
from ._compute import warm_up_default
from ._sidebar import draw
from ._sidebar_fields import UI_LIMITS as UI_LIMITS
from ._sidebar_fields import WIDGETS, configs_from_values, widget_values
from ._widgets import plain

_KEY = "pcviz_config"
_BASE = "pcviz_url_config"
_WARNINGS = "pcviz_url_warnings"

DEFAULT_DATASET = TrainConfig().dataset

CONFIG_KEYS: frozenset[str] = URL_KEYS
"""Query parameters that belong to the configuration (the pages may add their own)."""


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


def configs_from_widgets() -> tuple[ModelConfig, RuleConfig, TrainConfig]:
    """Validated configurations from the widgets' state; raises `ValueError` on a bad mix."""
    state = st.session_state
    return configs_from_values({key: state[key] for key in WIDGETS}, state[_BASE])


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
