"""Live lab: BP, PC and PC-ALM trained side by side, with the inference inside each step."""

import streamlit as st

import pcviz.ui as ui


def live_lab() -> None:
    """Controls, then the live figures (fragments), earlier runs, then the downloads."""
    lab = ui.sync_lab(*ui.current_config())
    ui.lab_controls(lab)
    ui.lab_live(lab)
    ui.lab_boundary(lab)
    ui.lab_history(lab)
    ui.lab_downloads(lab)


st.title("Live lab: how credit travels in a deep net")
ui.lab_intro()
live_lab()
