"""Streamlit glue shared by the pages: configuration in the URL and sidebar, downloads, text,
and the live lab.

The only part of pcviz that imports streamlit. Pages hold layout only and reach the engine
through these functions and `pcviz.figures`. Private modules: `_state` (configuration <-> URL
<-> widgets), `_sidebar` (the widgets), `_presets`, `_compute` (shared data sets, compilation
cache, warm-up), `_lab_state` (a visitor's `LabState`), `_lab_controls` (the lab's
buttons), `_lab` (the live lab's run and fragments), `_lab_view` (what the lab draws),
`_live_chart` (charts updated in place), `_navigation` (the pages and their routing),
`_lecture` (the one-screen lecture layout),
`_figs` (session -> figures and files), `_text` (the lab's words and equations), `_widgets`
(downloads, explanations); `_credit`, `_theory`, `_sweep` and `_page` serve the
other three pages. `ICON` is the dashboard's icon, a file served by the server itself, so that
a browser with no internet connection still shows it.
"""

import sys
from pathlib import Path

# Plotly and Streamlit import pandas on first use; two visitors' first figures importing it at
# once, from two script threads, can meet a half-initialised module. Import it here, once.
import pandas  # noqa: F401

from ._compute import enable_compilation_cache as enable_compilation_cache
from ._compute import warm_up_also
from ._compute import warm_up_default as warm_up_default
from ._lab import LabState as LabState
from ._lab import lab_downloads as lab_downloads
from ._lab import lab_history as lab_history
from ._lab import lab_intro as lab_intro
from ._lab import lab_live as lab_live
from ._lab import sync_lab as sync_lab
from ._lab_boundary import lab_boundary as lab_boundary
from ._lab_controls import lab_controls as lab_controls
from ._lecture import lecture_in_address as lecture_in_address
from ._lecture import lecture_layout as lecture_layout
from ._live_chart import PLOTLY_JS as PLOTLY_JS
from ._live_chart import PLOTLY_ROUTE as PLOTLY_ROUTE
from ._navigation import app_pages as app_pages
from ._navigation import run_page as run_page
from ._presets import PRESETS as PRESETS
from ._presets import preset_configs
from ._state import UI_LIMITS as UI_LIMITS
from ._state import current_config as current_config
from ._state import sidebar_config as sidebar_config
from ._widgets import explain as explain
from ._widgets import show_downloads as show_downloads

ICON = str(Path(__file__).with_name("icon.png"))
"""The page icon (a PNG beside this module): three waves."""

# The server's event loop (pages' messages, the health check) shares the interpreter with the
# visitors' script threads: hand the interpreter over every millisecond, not every five, so
# that it answers at once however many pages are being drawn.
sys.setswitchinterval(0.001)
enable_compilation_cache()
warm_up_also(lambda: [preset_configs(name) for name in PRESETS])  # a lecturer's Play is warm

__all__ = [
    "ICON",
    "PLOTLY_JS",
    "PLOTLY_ROUTE",
    "PRESETS",
    "UI_LIMITS",
    "LabState",
    "app_pages",
    "current_config",
    "enable_compilation_cache",
    "explain",
    "lab_boundary",
    "lab_controls",
    "lab_downloads",
    "lab_history",
    "lab_intro",
    "lab_live",
    "lecture_in_address",
    "lecture_layout",
    "run_page",
    "show_downloads",
    "sidebar_config",
    "sync_lab",
    "warm_up_default",
]
