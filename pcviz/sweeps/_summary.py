r"""What a sweep shows at one grid point: its grids, spreads, difference by depth and noise
(`summarise`), the ends of each rule's difference by depth (`trend_ends`), the cells still to
run (`unfinished`), and its CSV and JSON files (`sweep_files`).

Shared by the sweep page and `python -m pcviz export-sweep`, so that both read a stored sweep
the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .. import export
from .._cells import Setting
from ._grids import DepthTrend, depth_trend, difference_spreads, grids, noise_level, spreads
from ._spec import CellKey, SweepCell, SweepSpec

__all__ = ["SweepSummary", "TrendEnds", "summarise", "sweep_files", "trend_ends", "unfinished"]


class SweepSummary(NamedTuple):
    """A sweep's cells at grid point `setting`: per rule the `(depths, widths)` mean test
    `accuracy` and its seed `spread` (`grids`, `spreads`), per rule but BP the seed spread of
    the paired difference to BP (`difference_spread`), the difference by depth (`trend`), the
    typical seed spread of a difference (`noise`, accuracy points), and how many of the
    sweep's cells are `finished` and `failed` of `total` (every grid point)."""

    setting: Setting
    accuracy: dict[str, np.ndarray]
    spread: dict[str, np.ndarray]
    difference_spread: dict[str, np.ndarray]
    trend: DepthTrend
    noise: float
    finished: int
    failed: int
    total: int


def summarise(spec: SweepSpec, cells: Sequence[SweepCell], *,
              setting: Setting | None = None) -> SweepSummary:
    """The `SweepSummary` of `cells` at `setting` (default: the grid's first point)."""
    setting = spec.settings()[0] if setting is None else setting
    return SweepSummary(
        setting, grids(spec, cells, setting=setting), spreads(spec, cells, setting=setting),
        difference_spreads(spec, cells, setting=setting),
        depth_trend(spec, cells, setting=setting), noise_level(spec, cells, setting=setting),
        sum(c.state == "finished" for c in cells), sum(c.state == "failed" for c in cells),
        len(spec.cells()))


class TrendEnds(NamedTuple):
    """A rule's difference to BP (accuracy points) at the shallowest depth with one
    (`first_depth`, `first`) and the deepest (`last_depth`, `last`), and the seed spread of
    the deepest (`spread`, NaN with one seed)."""

    first_depth: int
    first: float
    last_depth: int
    last: float
    spread: float


def trend_ends(trend: DepthTrend) -> dict[str, TrendEnds]:
    """Per rule with a finite difference at two depths or more, its `TrendEnds` (what the
    sweep page's words on the difference by depth quote)."""
    out = {}
    for rule, mean in trend.mean.items():
        rows = [i for i, v in enumerate(mean) if math.isfinite(v)]
        if len(rows) < 2:
            continue
        first, last = rows[0], rows[-1]
        out[rule] = TrendEnds(int(trend.depths[first]), float(mean[first]),
                              int(trend.depths[last]), float(mean[last]),
                              float(trend.spread[rule][last]))
    return out


def unfinished(spec: SweepSpec, cells: Sequence[SweepCell]) -> list[CellKey]:
    """The cells of `spec` (every grid point) that `cells` holds no finished result of, in
    grid order: what a run of the sweep still has to train."""
    finished = {c.key for c in cells if c.state == "finished"}
    return [c for c in spec.cells() if c not in finished]


def sweep_files(spec: SweepSpec, cells: Sequence[SweepCell], *, sweep_id: str,
                setting: Setting | None = None) -> dict[str, str]:
    """`{"sweep.csv": ..., "sweep.json": ...}`: the cells of grid point `setting` (default:
    the first) as `pcviz.export.sweep_csv` and `sweep_json` (with the mean accuracy grids),
    headed by the sweep's id, its configuration and how many cells are finished."""
    setting = spec.settings()[0] if setting is None else setting
    config, step = spec.config(), sum(c.state == "finished" for c in cells)
    shown = [c for c in cells if c.setting == setting]
    return {"sweep.csv": export.sweep_csv(shown, run_id=sweep_id, config=config, step=step),
            "sweep.json": export.sweep_json(shown, run_id=sweep_id, config=config, step=step,
                                            accuracy=grids(spec, cells, setting=setting))}
