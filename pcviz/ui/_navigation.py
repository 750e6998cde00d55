"""The dashboard's pages and the one way into them: `app.py`'s navigation.

`app.py` routes every visit: `st.navigation(app_pages())`, then the shared sidebar, then the
chosen page inside `run_page`. Streamlit also serves a `pages/` folder beside the entrypoint
as a legacy multipage app until some session has called `st.navigation` (from then on the
folder is ignored, in every session). So on a fresh server, the first visit straight to
`/credit` runs `pages/credit.py` on its own, without `app.py`'s page settings and sidebar.
Every page calls `route_through_app` first: a page run outside `run_page` calls
`st.navigation` itself, which ends the legacy mode for the whole server, and reruns; the
rerun goes through `app.py` to the same page (a page's URL path is its file's name in both
modes).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import streamlit as st


class AppPage(NamedTuple):
    """One page of the dashboard: its script (relative to `app.py`), title, icon, URL path."""

    script: str
    title: str
    icon: str
    url_path: str


PAGES = (
    AppPage("pages/live_lab.py", "Live lab", ":material/science:", "lab"),
    AppPage("pages/credit.py", "Credit propagation", ":material/waves:", "credit"),
    AppPage("pages/theory.py", "Linear theory", ":material/functions:", "theory"),
    AppPage("pages/sweep.py", "Depth × width sweep", ":material/grid_on:", "sweep"),
)
"""The dashboard's pages in the navigation's order; the first opens by default."""

_routed = threading.local()  # a visitor's script runs in a thread of its own


def app_pages() -> list:
    """`st.Page`s of `PAGES` (new ones on every call: a page object runs once)."""
    return [st.Page(p.script, title=p.title, icon=p.icon, url_path=p.url_path,
                    default=number == 0) for number, p in enumerate(PAGES)]


@contextmanager
def _page_running() -> Iterator[None]:
    _routed.page = True
    try:
        yield
    finally:
        _routed.page = False


def run_page(page) -> None:
    """Run `page`, the one `st.navigation` chose, as routed by `app.py`."""
    with _page_running():
        page.run()


def route_through_app() -> None:
    """Rerun through `app.py` when this page runs without it (Streamlit's legacy `pages/`
    mode, before any session has called `st.navigation`); nothing otherwise."""
    if getattr(_routed, "page", False):
        return
    st.navigation(app_pages(), position="hidden")  # the server leaves the legacy mode
    st.rerun()
