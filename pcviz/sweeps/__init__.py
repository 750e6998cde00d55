"""Depth x width sweeps on the run service, recorded in the run store and resumable.

- `_spec`: what a sweep is: `SweepSpec` (depths, widths, seeds, steps per cell, the
  configurations, and optional grids of eta_h, alpha and learning rate, each combination a
  `Setting`), its ids (`sweep_id`, `cell_id`), one trained cell (`SweepCell`), and the
  dashboard's default sweep (`DEFAULT_SWEEP`, `default_spec`).
- `_run`: running it: every unfinished cell of one (depth, width), all seeds and settings,
  is one batched task on the run service (`train_cells`); cells are written to the store as
  their task ends; a rerun skips the finished ones; `orphaned_sweeps` finds the sweeps a
  restarted server left running.
- `_grids`: the cells as grids: mean and spread over seeds, the paired difference to BP and
  its spread, the difference by depth, the time left.
- `_summary`: what the sweep page and `python -m pcviz export-sweep` show at one grid point
  (`summarise`, `trend_ends`), the cells still to run (`unfinished`) and the CSV and JSON
  files (`sweep_files`).

No streamlit, no printing: the command line and the sweep page iterate `run_sweep`.
"""

from ._defaults import DEFAULT_SWEEP, SweepDefaults, default_dataset, default_spec
from ._grids import (
    DepthTrend,
    cost,
    depth_trend,
    difference_spreads,
    grids,
    noise_level,
    spreads,
    time_left,
)
from ._run import (
    HEARTBEAT_SECONDS,
    SweepPlan,
    SweepState,
    orphaned_sweeps,
    plan_sweep,
    run_sweep,
    sweep_state,
    train_cells,
)
from ._spec import CellKey, Setting, SweepCell, SweepSpec, cell_id, spec_from_config, sweep_id
from ._summary import SweepSummary, TrendEnds, summarise, sweep_files, trend_ends, unfinished

__all__ = ["DEFAULT_SWEEP", "HEARTBEAT_SECONDS", "CellKey", "DepthTrend", "Setting",
           "SweepCell", "SweepDefaults", "SweepPlan", "SweepSpec", "SweepState", "SweepSummary",
           "TrendEnds", "cell_id", "cost", "default_dataset", "default_spec", "depth_trend",
           "difference_spreads", "grids", "noise_level", "orphaned_sweeps", "plan_sweep",
           "run_sweep", "spec_from_config", "spreads", "summarise", "sweep_files", "sweep_id",
           "sweep_state", "time_left", "train_cells", "trend_ends", "unfinished"]
