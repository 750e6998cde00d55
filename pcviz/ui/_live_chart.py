"""A Plotly chart updated in place: the live lab's figures.

`st.plotly_chart` gives every new figure a new identity, so the browser builds a new chart for
each update; several times a second that blinks (the chart is blank until laid out) and costs
the browser a full draw. `live_chart` mounts one chart per key and sends only the new figure,
which the page applies with `Plotly.react` (live_chart.js). plotly.js itself comes from the
dashboard's own route `PLOTLY_ROUTE` (see app.py), from the installed plotly package.
"""

from __future__ import annotations

import json
from pathlib import Path

import plotly
import plotly.graph_objects as go
import streamlit as st

PLOTLY_ROUTE = "/pcviz/plotly.min.js"
"""Where the dashboard serves plotly.js (the installed plotly package's own copy)."""
PLOTLY_JS = Path(plotly.__file__).with_name("package_data") / "plotly.min.js"

_component = st.components.v2.component(
    "pcviz_live_chart",
    js=Path(__file__).with_name("live_chart.js").read_text(),
    isolate_styles=False,
)


def live_chart(figure: go.Figure, *, key: str, config: dict | None = None) -> None:
    """Draw `figure` (with Plotly's `config`) in the chart `key`, updating it in place when it
    is already on the page."""
    payload = f'{{"figure": {figure.to_json()}, "config": {json.dumps(config or {})}}}'
    _component(key=key, data=payload, width="stretch", height="content")
