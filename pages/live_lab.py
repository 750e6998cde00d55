"""Live lab: BP, PC and PC-ALM trained side by side, with the inference inside each step."""

import streamlit as st

import pcviz.ui as ui

lecture = ui.lecture_layout()
if not lecture:
    st.title("Live lab: how credit travels in a deep net")
    ui.lab_intro()
lab = ui.sync_lab(*ui.current_config())
ui.lab_controls(lab, lecture=lecture)
ui.lab_live(lab, lecture=lecture)
ui.lab_boundary(lab)
ui.lab_history(lab)
ui.lab_downloads(lab)
if lecture:  # what the page shows, after the figures
    ui.lab_intro()
