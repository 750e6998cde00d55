"""Streamlit glue shared by the pages: configuration in the URL and sidebar, downloads, text,
and the live lab.

The only part of pcviz that imports streamlit. Pages hold layout only and reach the engine
through the names in `__all__` and `pcviz.figures`, never a private module. Private modules:
`_state` (configuration <-> URL <-> widgets), `_sidebar` (the widgets), `_presets`,
`_compute` (shared data sets, compilation cache, warm-up), `_lab_state` (a visitor's
`LabState`), `_lab_controls` (the lab's buttons), `_lab` (the live lab's run and fragments),
`_lab_view` (what the lab draws), `_live_chart` (charts updated in place), `_navigation` (the
pages and their routing), `_lecture` (the one-screen lecture layout), `_figs` (session ->
figures and files), `_text` (the lab's words and equations), `_widgets` (downloads,
explanations); `_credit`, `_theory`, `_sweep` and `_page` serve the other three pages, their
functions named after their page (`credit_probe`, `theory_exactness`, `sweep_snapshot`...).
`ICON` is the dashboard's icon, a file served by the server itself, so that a browser with no
internet connection still shows it.
"""

import sys
from pathlib import Path

# Plotly and Streamlit import pandas on first use; two visitors' first figures importing it at
# once, from two script threads, can meet a half-initialised module. Import it here, once.
import pandas  # noqa: F401

from ._compute import enable_compilation_cache as enable_compilation_cache
from ._compute import warm_up_also
from ._compute import warm_up_default as warm_up_default
from ._credit import CreditRun as CreditRun
from ._credit import credit_animation as credit_animation
from ._credit import credit_arrival_text as credit_arrival_text
from ._credit import credit_controls as credit_controls
from ._credit import credit_data_files as credit_data_files
from ._credit import credit_energy_text as credit_energy_text
from ._credit import credit_keep_in_url as credit_keep_in_url
from ._credit import credit_live_source as credit_live_source
from ._credit import credit_metrics as credit_metrics
from ._credit import credit_probe as credit_probe
from ._credit import credit_settings_text as credit_settings_text
from ._credit import credit_step_slider as credit_step_slider
from ._credit import warn_if_diverged as warn_if_diverged
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
from ._page import figure_files as figure_files
from ._presets import PRESETS as PRESETS
from ._presets import preset_configs
from ._state import UI_LIMITS as UI_LIMITS
from ._state import current_config as current_config
from ._state import sidebar_config as sidebar_config
from ._sweep import SWEEP_DEFAULTS_TEXT as SWEEP_DEFAULTS_TEXT
from ._sweep import choose_sweep_setting as choose_sweep_setting
from ._sweep import finished_count as finished_count
from ._sweep import job_for as job_for
from ._sweep import learning_rate_text as learning_rate_text
from ._sweep import pinned_sweep_spec as pinned_sweep_spec
from ._sweep import read_sweep_spec as read_sweep_spec
from ._sweep import resume_if_orphaned as resume_if_orphaned
from ._sweep import seed_sweep_widgets as seed_sweep_widgets
from ._sweep import sweep_controls as sweep_controls
from ._sweep import sweep_download_files as sweep_download_files
from ._sweep import sweep_keep_in_url as sweep_keep_in_url
from ._sweep import sweep_progress_text as sweep_progress_text
from ._sweep import sweep_snapshot as sweep_snapshot
from ._sweep import sweep_trend_text as sweep_trend_text
from ._theory import THEORY_DEPTHS as THEORY_DEPTHS
from ._theory import eta_note as eta_note
from ._theory import exactness_note as exactness_note
from ._theory import sigma_labels as sigma_labels
from ._theory import theory_controls as theory_controls
from ._theory import theory_exactness as theory_exactness
from ._theory import theory_keep_in_url as theory_keep_in_url
from ._theory import theory_point as theory_point
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
    "SWEEP_DEFAULTS_TEXT",
    "THEORY_DEPTHS",
    "UI_LIMITS",
    "CreditRun",
    "LabState",
    "app_pages",
    "choose_sweep_setting",
    "credit_animation",
    "credit_arrival_text",
    "credit_controls",
    "credit_data_files",
    "credit_energy_text",
    "credit_keep_in_url",
    "credit_live_source",
    "credit_metrics",
    "credit_probe",
    "credit_settings_text",
    "credit_step_slider",
    "current_config",
    "enable_compilation_cache",
    "eta_note",
    "exactness_note",
    "explain",
    "figure_files",
    "finished_count",
    "job_for",
    "lab_boundary",
    "lab_controls",
    "lab_downloads",
    "lab_history",
    "lab_intro",
    "lab_live",
    "learning_rate_text",
    "lecture_in_address",
    "lecture_layout",
    "pinned_sweep_spec",
    "read_sweep_spec",
    "resume_if_orphaned",
    "run_page",
    "seed_sweep_widgets",
    "show_downloads",
    "sidebar_config",
    "sigma_labels",
    "sweep_controls",
    "sweep_download_files",
    "sweep_keep_in_url",
    "sweep_progress_text",
    "sweep_snapshot",
    "sweep_trend_text",
    "sync_lab",
    "theory_controls",
    "theory_exactness",
    "theory_keep_in_url",
    "theory_point",
    "warm_up_default",
    "warn_if_diverged",
]
