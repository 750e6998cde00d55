"""Helpers shared by the credit, theory and sweep pages: settings kept in the URL, and
figure downloads built on demand.

A page widget with `key=k` is seeded once per visit from the query parameter `k` (a bad value
becomes a warning and the default), persists across page switches
(`persist_state="session"`) and is written back to the URL after every change, so that a shared
link reopens the page as it was. The sidebar's configuration keys (`_state.CONFIG_KEYS`) are
never touched here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from ._widgets import plain

Parser = Callable[[str], Any]

MAX_TEXT = 200
"""Longest query-parameter text read (anything longer is cut)."""


def int_in(lo: int, hi: int) -> Parser:
    """A parser of one whole number in `[lo, hi]` (raises `ValueError` naming the range)."""

    def parse(text: str) -> int:
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"it must be a whole number from {lo} to {hi}") from None
        if not number.is_integer() or not lo <= number <= hi:
            raise ValueError(f"it must be a whole number from {lo} to {hi}")
        return int(number)

    return parse


def one_of(options: tuple[str, ...]) -> Parser:
    """A parser accepting only one of `options`."""

    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"it must be one of {', '.join(options)}")
        return text

    return parse


def yes_no(text: str) -> bool:
    """`"1"`/`"true"`/... -> True, `"0"`/`"false"`/... -> False, else `ValueError`."""
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("it must be 1 (yes) or 0 (no)")


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def seed(key: str, default: Any, parse: Parser) -> None:
    """Before drawing widget `key`: give it a value unless it already has one this session.

    The value comes from the query parameter `key` when present and valid; otherwise a
    warning names the bad value and `default` is used.
    """
    if key in st.session_state:
        return
    value = default
    raw = st.query_params.get(key)
    if raw is not None:
        raw = str(raw)[:MAX_TEXT]
        try:
            value = parse(raw)
        except ValueError as err:
            st.warning(plain(f"Ignored {key}={raw!r} in the address: {err}. Using "
                             f"{_format(default)} instead."), icon="⚠️")
    st.session_state[key] = value


def mirror(defaults: dict[str, Any]) -> None:
    """Write the page widgets' values to the URL; a value equal to its default is removed."""
    current = st.query_params.to_dict()
    for key, default in defaults.items():
        value = st.session_state.get(key, default)
        if value == default or value is None:
            if key in current:
                del st.query_params[key]
        elif current.get(key) != _format(value):
            st.query_params[key] = _format(value)


def figure_files(prefix: str, **figs: go.Figure) -> dict[str, Callable[[], str]]:
    """`{"<prefix>_<name>.html": build}` per figure, for `show_downloads(files=...)`: the
    standalone HTML (plotly.js inlined, about 5 MB) is built only when its button is clicked."""
    from ..figures import figure_html

    return {
        f"{prefix}_{name}.html": functools.partial(figure_html, fig) for name, fig in figs.items()
    }
