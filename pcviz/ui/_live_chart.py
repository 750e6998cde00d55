"""A Plotly chart updated in place: the live lab's figures.

`st.plotly_chart` gives every new figure a new identity, so the browser builds a new chart for
each update; several times a second that blinks (the chart is blank until laid out) and costs
the browser a full draw. `live_chart` mounts one chart per key and sends only the new figure,
which the page applies with `Plotly.react` (live_chart.js). plotly.js itself comes from the
dashboard's own route `PLOTLY_ROUTE` (see app.py): plotly.js's cartesian bundle, shipped beside
this module (`PLOTLY_CARTESIAN`), which has every trace the live charts draw (heatmap, scatter,
bar) at a third of the full library's size, so that a page loads and compiles it in less than
half the time (bench/bench_plotly_load.py). Should the installed plotly package carry another
plotly.js version than that bundle, the package's own full copy is served instead, so that
figures and library always match.

A chart is drawn again on every rerun of its fragment, several times a second while a run
plays, but its figure only changes with the run. `live_chart` takes the figure's `content`
(what it shows: the run's version and the options, say) and builds the figure only when that
changes; otherwise it sends the chart's last message again, byte for byte, which Streamlit
passes to the browser as a reference to the copy it already holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable
from pathlib import Path

import plotly
import plotly.graph_objects as go
import streamlit as st

PLOTLY_ROUTE = "/pcviz/plotly.min.js"
"""Where the dashboard serves plotly.js (`PLOTLY_JS`)."""
PLOTLY_CARTESIAN = Path(__file__).with_name("plotly-cartesian.min.js")
"""plotly.js's cartesian bundle (npm package `plotly.js-cartesian-dist-min`, MIT licence)."""
PLOTLY_FULL = Path(plotly.__file__).with_name("package_data") / "plotly.min.js"
"""The installed plotly package's full plotly.js."""


def plotly_js_version(path: Path) -> str | None:
    """The plotly.js version a bundle states in its header (`v4.1.1`), or None."""
    with open(path, encoding="utf-8", errors="replace") as file:
        found = re.search(r"plotly\.js[^\n]* v(\d+\.\d+\.\d+)", file.read(400))
    return found.group(1) if found else None


PLOTLY_JS = PLOTLY_CARTESIAN if PLOTLY_CARTESIAN.is_file() and \
    plotly_js_version(PLOTLY_CARTESIAN) == plotly_js_version(PLOTLY_FULL) else PLOTLY_FULL
"""The plotly.js the live charts load: the cartesian bundle when it matches the installed
plotly package's version, else that package's full copy."""

_component = st.components.v2.component(
    "pcviz_live_chart",
    js=Path(__file__).with_name("live_chart.js").read_text(),
    isolate_styles=False,
)


_DRAWN = "pcviz_live_charts"
"""Session state: chart key -> `(content, message)` of the figure it shows."""


PRELOAD_KEY = "pcviz_plotly_preload"


def preload_plotly() -> None:
    """Start loading plotly.js now, with nothing drawn: a cold page compiles it in a second
    or two of the browser's time, which should be spent while the visitor's run is being
    built rather than after a click on Play. Call it early on a page with live charts."""
    _component(key=PRELOAD_KEY, data="", width="stretch", height="content")


def chart_message(figure: go.Figure, config: dict | None = None) -> str:
    """What the page's script receives for one chart: the figure and Plotly's `config`."""
    return f'{{"figure": {figure.to_json()}, "config": {json.dumps(config or {})}}}'


def live_chart(figure: go.Figure | Callable[[], go.Figure], *, key: str,
               config: dict | None = None, content: Hashable = None) -> None:
    """Draw `figure` (with Plotly's `config`) in the chart `key`, updating it in place when it
    is already on the page. With `content` (a key of what the figure shows), `figure` may be a
    function that builds it: it is called only when `content` differs from the chart's last,
    else the last message goes out again unchanged."""
    drawn = st.session_state.setdefault(_DRAWN, {})
    last = drawn.get(key)
    if content is None or last is None or last[0] != content:
        built = figure() if callable(figure) else figure
        last = drawn[key] = (content, chart_message(built, config))
    _component(key=key, data=last[1], width="stretch", height="content")
