"""The lecture layout: Play, the PC and PC-ALM heatmaps and the curves on one screen.

On (`lecture=1` in the address, or the switch beside the controls), the lab drops its title and
introduction to the end of the page, puts the heatmaps' options on the controls' row, draws the
heatmaps beside the training curves in large type with thick lines (`pcviz.figures.for_lecture`)
and tightens the page's margins (lecture.css), so that everything fits one 1920x1080 screen at
150 % zoom. The sidebar starts folded (app.py reads `lecture_in_address`).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ._page import mirror, seed, yes_no

LECTURE_KEY = "lecture"
"""The query parameter (and widget key) of the lecture layout."""
LECTURE_CSS = Path(__file__).with_name("lecture.css")


def lecture_in_address() -> bool:
    """Whether the address asks for the lecture layout (a bad value means no)."""
    try:
        return yes_no(str(st.query_params.get(LECTURE_KEY, "0"))[:8])
    except ValueError:
        return False


def lecture_layout() -> bool:
    """Whether this visit shows the lecture layout (seeded from the address once, then the
    switch's value); applies its styles when it does."""
    seed(LECTURE_KEY, False, yes_no)
    on = bool(st.session_state[LECTURE_KEY])
    if on:
        st.html(LECTURE_CSS)
    return on


def lecture_toggle() -> None:
    """The lecture layout's switch, kept in the address."""
    st.toggle("Lecture", key=LECTURE_KEY,
              help="The lecture layout: controls, heatmaps and curves on one screen, in "
                   "large type.")
    mirror({LECTURE_KEY: False})
