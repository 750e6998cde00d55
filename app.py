"""pcviz dashboard: `streamlit run app.py`.

The entrypoint only routes: page settings, the shared sidebar (the whole configuration, kept in
the URL) and the four pages (`pcviz.ui.app_pages`). The live lab opens by default.

`app` is the same dashboard as an ASGI application (`st.App`), which `streamlit run app.py`
serves: as the server starts, it begins compiling the default run's programs in the
background, so that the first visitor's Play does not wait for the compiler; it also serves
plotly.js for the live charts, which update in place.
"""

import gzip
from contextlib import asynccontextmanager
from functools import cache

import streamlit as st


@asynccontextmanager
async def _warm_start(_app):
    """Server start-up: compile the default live run in a background thread."""
    from pcviz.ui import warm_up_default

    warm_up_default()
    yield


def _plotly_js(request):
    """plotly.js for the live charts (`pcviz.ui.PLOTLY_JS`: its cartesian bundle), cached a
    day by the browser, compressed once per server rather than on every page load."""
    from starlette.responses import Response

    headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(_plotly_bytes(True), media_type="text/javascript",
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(_plotly_bytes(False), media_type="text/javascript", headers=headers)


@cache
def _plotly_bytes(compressed: bool) -> bytes:
    from pathlib import Path

    from pcviz.ui import PLOTLY_JS

    raw = Path(PLOTLY_JS).read_bytes()
    return gzip.compress(raw, compresslevel=6) if compressed else raw


if __name__ != "__main__":  # imported by the server, not run as a visitor's script
    from starlette.routing import Route

    from pcviz.ui import PLOTLY_ROUTE

    app = st.App(__file__, lifespan=_warm_start, routes=[Route(PLOTLY_ROUTE, _plotly_js)])


def run() -> None:
    """Set up the page, draw the shared sidebar and run the chosen page."""
    import pcviz.ui

    st.set_page_config(page_title="pcviz: how credit travels", page_icon=pcviz.ui.ICON,
                       layout="wide", initial_sidebar_state="collapsed"
                       if pcviz.ui.lecture_in_address() else "auto")
    page = st.navigation(pcviz.ui.app_pages())
    pcviz.ui.sidebar_config()
    pcviz.ui.run_page(page)


if __name__ == "__main__":
    run()
