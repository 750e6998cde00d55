"""pcviz dashboard: `streamlit run app.py`.

The entrypoint only routes: page settings, the shared sidebar (the whole configuration, kept in
the URL) and the four pages. The live lab opens by default.
"""

import streamlit as st

import pcviz.ui


def run() -> None:
    """Set up the page, draw the shared sidebar and run the chosen page."""
    st.set_page_config(page_title="pcviz: how credit travels", page_icon=":material/waves:",
                       layout="wide")
    page = st.navigation([
        st.Page("pages/live_lab.py", title="Live lab", icon=":material/science:",
                url_path="lab", default=True),
        st.Page("pages/credit.py", title="Credit propagation", icon=":material/waves:",
                url_path="credit"),
        st.Page("pages/theory.py", title="Linear theory", icon=":material/functions:",
                url_path="theory"),
        st.Page("pages/sweep.py", title="Depth × width sweep", icon=":material/grid_on:",
                url_path="sweep"),
    ])
    pcviz.ui.sidebar_config()
    page.run()


run()
