"""Small reusable widgets: downloads, explanations, and messages quoting what a visitor typed."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeAlias

import plotly.graph_objects as go
import streamlit as st

Content: TypeAlias = str | bytes | Callable[[], str | bytes]
"""A download's content, or a function computing it when the button is clicked."""

_MIME = {"csv": "text/csv", "json": "application/json", "html": "text/html",
         "png": "image/png", "txt": "text/plain"}


_MARKDOWN = re.compile(r"([!-/:-@\[-`{-~])")


def plain(text: str) -> str:
    """`text` with every ASCII punctuation character backslash-escaped, so that Streamlit's
    Markdown shows it as typed: a value from the address or a text box never becomes a link,
    an image, emphasis or a formula. (Raw HTML is never rendered in any case.)"""
    return _MARKDOWN.sub(r"\\\1", text)


def _mime(filename: str) -> str:
    return _MIME.get(filename.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def show_downloads(*, name: str, figure: go.Figure | Callable[[], go.Figure] | None = None,
                   files: Mapping[str, Content] | None = None,
                   run: Mapping | None = None) -> None:
    """Download buttons in one row: each of `files` (`{"credit.csv": text}`; a value may be a
    function returning the text, called only when clicked) and `figure` as standalone HTML
    (`{name}.html`, plotly.js embedded, built only when clicked; `figure` may be a function
    returning the figure; `run`: `run_id`, `config` and `step` written into it). Clicking
    downloads without rerunning the page."""
    from ..export import figure_html

    items = dict(files or {})
    if figure is not None:
        items[f"{name}.html"] = lambda: figure_html(figure() if callable(figure) else figure,
                                                    **(run or {}))
    if not items:
        return
    columns = st.columns(len(items))
    for column, (filename, content) in zip(columns, items.items()):
        column.download_button(f"⬇ {filename}", content, file_name=filename, mime=_mime(filename),
                               key=f"download-{name}-{filename}", on_click="ignore")


def explain(markdown: str, *equations: str) -> None:
    """A short explanation beside a figure: Markdown text and display equations."""
    with st.expander("What am I looking at?", expanded=False):
        st.markdown(markdown)
        for equation in equations:
            st.latex(equation)
