"""The shared sidebar: one widget per field of `pcviz.config_fields.FIELDS` that has a
`Widget`, each with `key=` (`cfg_*`), drawn section by section in the table's order.

A field's kind picks the widget: a number input for `Int` and `Float` (empty where the field
may be `None` or a word such as `auto`), a selectbox for `Choice`, a multiselect for `Subset`.
The widgets take their values from `st.session_state` (seeded from the URL or a preset by
`_state`); ranges are the table's browser limits (`UI_LIMITS`). Each widget also passes its
current value as its default (`value=`, `index=`, `default=`; a keyed widget's identity does
not depend on it), so the browser shows the right value even when it missed the one update
that set it, as it can when a new rerun interrupts the visit's first.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import streamlit as st

from ..config import LR_SCALE
from ..config_fields import (
    DATASET_LABELS,
    PARAM_LABELS,
    RULE_LABELS,
    SECTIONS,
    Choice,
    Field,
    Subset,
)
from ..data import install_hint, is_available
from ._presets import mark_custom, preset_selector
from ._sidebar_fields import SIDEBAR_FIELDS, optional

RULE_NAMES = RULE_LABELS
DATASET_NAMES = DATASET_LABELS
PARAM_NAMES = PARAM_LABELS


@st.cache_data(ttl=300, show_spinner=False)
def _available(name: str) -> bool:
    return is_available(name)


def _dataset_label(name: str) -> str:
    text = DATASET_NAMES.get(name, name)
    return text if _available(name) else f"{text}: not installed"


def _help(f: Field) -> str:
    empty = f.none if f.none is not None else getattr(f.kind, "word", None)
    parts = [f.help, f"Empty: {empty}." if empty is not None else None, f.sidebar_widget.note]
    return " ".join(p for p in parts if p)


def _placeholders() -> dict[str, float]:
    """What an empty widget's placeholder may name: `two_l` (2L) and `auto_lr`."""
    depth = st.session_state.get("cfg_depth") or 2
    width = st.session_state.get("cfg_width") or 1
    return {"two_l": 2 * depth, "auto_lr": LR_SCALE * math.sqrt(width / depth)}


def _number(f: Field, limits: tuple[float, float]) -> None:
    """A number input for `f` between the browser's `limits`."""
    w = f.sidebar_widget
    lo, hi = limits
    value = st.session_state.get(w.key, None if optional(f) else lo)
    placeholder = w.placeholder.format(**_placeholders()) if w.placeholder else None
    st.number_input(w.label, min_value=lo, max_value=hi, value=value, step=w.step,
                    format=w.fmt, key=w.key, help=_help(f), placeholder=placeholder,
                    on_change=mark_custom)


def _options(f: Field) -> tuple[str, ...]:
    """The options of a `Choice` or `Subset` field; `TypeError` for another kind."""
    if not isinstance(f.kind, Choice | Subset):
        raise TypeError(f"{f.name} is a {type(f.kind).__name__}, not a choice")
    return f.kind.options


def _label(f: Field) -> Callable[[str], str]:
    """How the widget of a `Choice` or `Subset` field names an option: its label, else itself."""
    labels = getattr(f.kind, "labels", None) or {}
    return lambda option: labels.get(option, option)


def _select(f: Field) -> None:
    options, key = _options(f), f.sidebar_widget.key
    current = st.session_state.get(key)
    index = options.index(current) if current in options else 0
    st.selectbox(f.sidebar_widget.label, options, index=index, key=key, on_change=mark_custom,
                 format_func=_label(f), help=_help(f))


def _multiselect(f: Field) -> None:
    key = f.sidebar_widget.key
    st.multiselect(f.sidebar_widget.label, _options(f), default=st.session_state.get(key),
                   key=key, format_func=_label(f), on_change=mark_custom, help=_help(f))


def _dataset(f: Field) -> None:
    """The data set, with how to install each IDX set that is not here."""
    current = st.session_state.get(f.sidebar_widget.key)
    options = _options(f)
    st.selectbox(f.sidebar_widget.label, options, key=f.sidebar_widget.key, on_change=mark_custom,
                 index=options.index(current) if current in options else 0,
                 format_func=_dataset_label,
                 help=f"{f.help} Fashion-MNIST: {install_hint('fashion-mnist')} MNIST: "
                      f"{install_hint('mnist')}")
    for name in dict.fromkeys(n for n in ("fashion-mnist", current) if n in DATASET_NAMES):
        if not _available(name):
            st.caption(f"**{DATASET_NAMES[name]}** is not installed. {install_hint(name)}")


_OWN_DRAWING: dict[str, Callable[[Field], None]] = {"cfg_dataset": _dataset}
"""Widgets drawn their own way (by key)."""


def _widget(f: Field) -> None:
    if f.sidebar_widget.key in _OWN_DRAWING:
        _OWN_DRAWING[f.sidebar_widget.key](f)
    elif f.sidebar_widget.limits is not None:
        _number(f, f.sidebar_widget.limits)
    elif isinstance(f.kind, Subset):
        _multiselect(f)
    else:
        _select(f)


def _rows(fields: list[Field]) -> list[list[Field]]:
    """The fields in rows: two `half` fields in a row share it, any other field has its own."""
    rows: list[list[Field]] = []
    for f in fields:
        pairs = rows and len(rows[-1]) == 1 and rows[-1][0].sidebar_widget.half
        if f.sidebar_widget.half and pairs:
            rows[-1].append(f)
        else:
            rows.append([f])
    return rows


def _section(name: str) -> None:
    st.subheader(name)
    fields = [f for f in SIDEBAR_FIELDS if f.sidebar_widget.section == name]
    for row in _rows([f for f in fields if not f.sidebar_widget.more]):
        if len(row) == 1:
            _widget(row[0])
            continue
        for column, f in zip(st.columns(len(row)), row):
            with column:
                _widget(f)
    more = [f for f in fields if f.sidebar_widget.more]
    if more:
        with st.expander("More"):
            for f in more:
                _widget(f)


def limits_caption() -> str:
    """The browser's limits on the whole numbers that make a run long, in words."""
    capped = [f"{f.sidebar_widget.label} ≤ {f.sidebar_widget.limits[1]}" for f in SIDEBAR_FIELDS
              if f.sidebar_widget.limits and f.sidebar_widget.limits[1] < getattr(f.kind, "hi", 0)
              and isinstance(f.sidebar_widget.limits[1], int)]
    return (f"The browser keeps runs interactive: {', '.join(capped)}. The command line "
            "(`python -m pcviz`) takes the full ranges. Every setting is in the page's address: "
            "copy it to share this run.")


def draw() -> None:
    """Draw every configuration widget in the sidebar."""
    with st.sidebar:
        preset_selector()
        for name in SECTIONS:
            _section(name)
        st.caption(limits_caption())
