"""Server-wide: the pacing of live pages' redraws, and one line on the server's load.

Live runs live in the run service, not in this process; what the dashboard itself spends per
visitor is drawing. The `Pacer` (one per server) spaces each playing visitor's redraws so that
all of them together keep the server responsive (`pcviz.service.Pacer`).
"""

from __future__ import annotations

import streamlit as st

from .. import service
from ..service import PAGE_FLOOR, Pacer


@st.cache_resource(show_spinner=False)
def pacer() -> Pacer:
    """The server's `Pacer`, made as the first live page draws; the heap the server built up
    to then is frozen out of the garbage collector's full passes (`service.settle_heap`)."""
    service.settle_heap()
    return Pacer(floor=PAGE_FLOOR)


def visitor_id() -> str:
    """This visitor's Streamlit session id ("local" outside a server)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return "local" if ctx is None else ctx.session_id


def server_load() -> str:
    """One line: visitors watching live runs, their redraw interval, and the run service."""
    pace = pacer()
    watching = pace.watchers()
    line = (f"This server: {watching} live run{'s' * (watching != 1)} playing, redrawn every "
            f"{pace.interval():.2f} s. ")
    return line + service.status().message
