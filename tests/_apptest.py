"""Helpers shared by the AppTest suites: read the Plotly figures a page drew."""

from __future__ import annotations

import base64
import json

import numpy as np
from streamlit.testing.v1 import AppTest


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly figures on the page, by the chart's key (its id ends with the key)."""
    return {c.proto.id.split("-", 2)[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def array(value) -> np.ndarray:
    """A trace array from a figure spec (a plain list, or plotly's base64 `bdata`)."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return flat.reshape([int(s) for s in str(shape).split(",")]) if shape else flat
    return np.asarray(value)
