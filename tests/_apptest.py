"""Helpers shared by the AppTest suites: open the app, press its buttons, read the Plotly
figures a page drew."""

from __future__ import annotations

import base64
import functools
import json
import re
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest


@functools.cache
def served_traces() -> frozenset[str]:
    """The trace types the plotly.js that the dashboard serves to its live charts can draw
    (read once: the file is over a megabyte, and every `charts` call checks against it)."""
    from pcviz.ui import PLOTLY_JS

    return frozenset(re.findall(r'moduleType:"trace",name:"(\w+)"', PLOTLY_JS.read_text()))


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly figures on the page, by the chart's key (its id ends with the key): Streamlit's
    own charts and the live lab's charts updated in place (`pcviz.ui.live_chart`), each of
    which is checked to use only traces the served plotly.js has."""
    drawn = {c.proto.id.split("-", 2)[-1]: json.loads(c.proto.spec)
             for c in at.get("plotly_chart")}
    for c in at.get("bidi_component"):
        message = json.loads(c.proto.json) if c.proto.component_name == "pcviz_live_chart" \
            else None
        if message:  # an empty one only loads plotly.js (`preload_plotly`)
            key, figure = c.proto.id.split("-", 2)[-1], json.loads(message)["figure"]
            missing = {t.get("type", "scatter") for t in figure["data"]} - served_traces()
            assert not missing, f"live chart {key} draws {missing}, not in the served plotly.js"
            drawn[key] = figure
    return drawn


def array(value) -> np.ndarray:
    """A trace array from a figure spec (a plain list, or plotly's base64 `bdata`)."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return flat.reshape([int(s) for s in str(shape).split(",")]) if shape else flat
    return np.asarray(value)


APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120
SMALL = {"depth": "8", "width": "16", "batch": "16"}
"""A small configuration (in the URL) that keeps each run short."""


def open_app(**query: str) -> AppTest:
    """The app with `query` in its address, run once, without an exception."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def lab(at: AppTest):
    return at.session_state["pcviz_lab"]


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rerun_until(at: AppTest, condition, *, timeout: float = 60.0) -> AppTest:
    """Rerun the page until `condition()` holds (a live run trains in the run service, not
    in the page); fails after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the page did not get there in time"
        time.sleep(0.2)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def shown(element) -> str:
    """An alert's text as the visitor reads it (without the Markdown escapes of `plain`)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", element.value)
