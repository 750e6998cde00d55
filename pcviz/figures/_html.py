"""Standalone HTML for downloads: the figure with plotly.js embedded, usable offline."""

from __future__ import annotations

import plotly.graph_objects as go


def figure_html(fig: go.Figure) -> str:
    """A complete HTML page that draws `fig` with no network access.

    **Arguments:**

    - `fig`: any Plotly figure (e.g. from `pcviz.figures`).

    **Returns:**

    The HTML document as a string (about 5 MB): plotly.js is inlined
    (`include_plotlyjs=True`, `full_html=True`), so no CDN is contacted.
    """
    return fig.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False})
