"""Figures for a lecture hall: the same figure, readable from the back of the room."""

from __future__ import annotations

import plotly.graph_objects as go

LECTURE_FONT = 18
"""Base font size (px) of a figure shown in the lecture layout."""
LECTURE_LINE = 4
"""Line width (px) of curves in the lecture layout."""


def for_lecture(fig: go.Figure, *, height: int | None = None,
                legend_on_top: bool = False) -> go.Figure:
    """`fig` restyled in place for a lecture: base font `LECTURE_FONT` px (titles, ticks,
    legends and colour bars follow), curves `LECTURE_LINE` px wide, markers larger, `height`
    when given, and the legend in one row above the plots when `legend_on_top` (a narrow
    column). Returns `fig`."""
    fig.update_layout(font=dict(size=LECTURE_FONT), title_font_size=LECTURE_FONT + 2,
                      legend_font_size=LECTURE_FONT - 2, hoverlabel_font_size=LECTURE_FONT - 2)
    for axis in fig.select_xaxes():
        axis.update(title_font_size=LECTURE_FONT, tickfont_size=LECTURE_FONT - 2)
    for axis in fig.select_yaxes():
        axis.update(title_font_size=LECTURE_FONT, tickfont_size=LECTURE_FONT - 2)
    for note in fig.layout.annotations or ():
        note.font.size = max(note.font.size or 0, LECTURE_FONT)
    for trace in fig.data:
        if trace.type == "scatter":
            if trace.line is not None and "lines" in (trace.mode or "lines"):
                trace.line.width = max(trace.line.width or 0, LECTURE_LINE)
            if trace.marker is not None and "markers" in (trace.mode or ""):
                trace.marker.size = max(trace.marker.size or 6, 9)
        elif trace.type == "heatmap" and trace.colorbar is not None:
            trace.colorbar.tickfont.size = LECTURE_FONT - 2
            trace.colorbar.title.font.size = LECTURE_FONT - 2
    if height is not None:
        fig.update_layout(height=height)
    if legend_on_top:
        fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", y=1.02,
                                      yanchor="bottom", title_text=""),
                          margin=dict(t=90, r=10))
    return fig
