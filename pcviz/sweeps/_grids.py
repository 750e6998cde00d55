r"""A sweep's cells as grids: the mean over seeds, the seed spread, the difference to BP by
depth, and the time left.

Seeds of one cell are paired: every rule starts from the same weights and sees the same
batches. So the noise of a difference to BP is the spread over seeds of the paired
differences $d_s = 100\,(a^{\text{rule}}_s - a^{\text{BP}}_s)$, smaller than the spread of
either accuracy; the pages show it beside each difference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .._cells import Setting
from ._spec import CellKey, SweepCell, SweepSpec

__all__ = ["DepthTrend", "cost", "depth_trend", "difference_spreads", "grids", "noise_level",
           "spreads", "time_left"]


def _values(spec: SweepSpec, cells: Sequence[SweepCell], setting: Setting | None,
            value) -> np.ndarray:
    """`(depths, widths, seeds)` of `value(cell)` for the cells of `setting` (default: the
    grid's first point); NaN where missing or not finite."""
    setting = spec.settings()[0] if setting is None else setting
    out = np.full((len(spec.depths), len(spec.widths), len(spec.seeds)), np.nan)
    for c in cells:
        if (c.setting != setting or c.depth not in spec.depths or c.width not in spec.widths
                or c.seed not in spec.seeds):
            continue
        v = value(c)
        if np.isfinite(v):
            i, j = spec.depths.index(c.depth), spec.widths.index(c.width)
            out[i, j, spec.seeds.index(c.seed)] = v
    return out


def _mean(values: np.ndarray) -> np.ndarray:
    count = np.isfinite(values).sum(-1)
    total = np.where(np.isfinite(values), values, 0.0).sum(-1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _std(values: np.ndarray) -> np.ndarray:
    """Sample standard deviation over the last axis of the finite values; NaN below two."""
    count = np.isfinite(values).sum(-1)
    mean = _mean(values)[..., None]
    squares = np.where(np.isfinite(values), (values - mean) ** 2, 0.0).sum(-1)
    return np.where(count > 1, np.sqrt(squares / np.maximum(count - 1, 1)), np.nan)


def _accuracy(rule: str):
    return lambda c: c.accuracy.get(rule, math.nan)


def grids(spec: SweepSpec, cells: Sequence[SweepCell], *,
          setting: Setting | None = None) -> dict[str, np.ndarray]:
    r"""Rule -> `(len(depths), len(widths))` test accuracy, the mean over seeds of the
    finite values, $\bar a_{LN} = \frac1{|S|}\sum_{s \in S} a_{LNs}$; NaN where no seed has
    one (not run, diverged or failed). `setting`: the grid point (default: the first)."""
    return {r: _mean(_values(spec, cells, setting, _accuracy(r))) for r in spec.train.rules}


def spreads(spec: SweepSpec, cells: Sequence[SweepCell], *,
            setting: Setting | None = None) -> dict[str, np.ndarray]:
    """Rule -> `(depths, widths)` sample standard deviation of the test accuracy over seeds
    (a fraction); NaN with fewer than two seeds."""
    return {r: _std(_values(spec, cells, setting, _accuracy(r))) for r in spec.train.rules}


def _paired(spec, cells, setting, rule: str) -> np.ndarray:
    def diff(c):
        return 100.0 * (c.accuracy.get(rule, math.nan) - c.accuracy.get("bp", math.nan))

    return _values(spec, cells, setting, diff)


def difference_spreads(spec: SweepSpec, cells: Sequence[SweepCell], *,
                       setting: Setting | None = None) -> dict[str, np.ndarray]:
    r"""Rule (not BP) -> `(depths, widths)` sample standard deviation over seeds of the paired
    difference $d_s = 100\,(a^{\text{rule}}_s - a^{\text{BP}}_s)$, in accuracy points; empty
    without BP."""
    if "bp" not in spec.train.rules:
        return {}
    return {r: _std(_paired(spec, cells, setting, r)) for r in spec.train.rules if r != "bp"}


def noise_level(spec: SweepSpec, cells: Sequence[SweepCell], *,
                setting: Setting | None = None) -> float:
    """The typical seed spread of a difference to BP: the median over cells and rules of
    `difference_spreads` (accuracy points); NaN with one seed or no BP."""
    spreads = [v[np.isfinite(v)] for v in difference_spreads(spec, cells, setting=setting).values()]
    values = np.concatenate(spreads) if spreads else np.array([])
    return float(np.median(values)) if values.size else math.nan


class DepthTrend(NamedTuple):
    """Per rule (not BP), per depth: `mean` difference to BP in accuracy points (over every
    width and seed, paired) and its `spread` (sample standard deviation over the seeds of the
    width-averaged difference; NaN with one seed)."""

    depths: tuple[int, ...]
    mean: dict[str, np.ndarray]
    spread: dict[str, np.ndarray]


def depth_trend(spec: SweepSpec, cells: Sequence[SweepCell], *,
                setting: Setting | None = None) -> DepthTrend:
    r"""How each rule's difference to BP changes with depth:
    $\bar d_L = \frac1{|N||S|}\sum_{N,s} d_{LNs}$ with its spread over seeds."""
    mean, spread = {}, {}
    for rule in (r for r in spec.train.rules if r != "bp" and "bp" in spec.train.rules):
        paired = _paired(spec, cells, setting, rule)  # (depths, widths, seeds)
        mean[rule] = _mean(paired.reshape(len(spec.depths), -1))
        with np.errstate(invalid="ignore"):
            per_seed = _mean(np.moveaxis(paired, 2, 1))  # (depths, seeds): mean over widths
        spread[rule] = _std(per_seed)
    return DepthTrend(tuple(spec.depths), mean, spread)


def cost(spec: SweepSpec, cell: CellKey) -> float:
    r"""Relative cost of a cell, for the order of the tasks and the time estimate: a fixed
    share (start, data, compiled programs) plus the inference work, which grows as
    $L \cdot T \cdot \max(N, 16)$ (below width 16 the cost of a step hardly falls); the
    weights fit the measured CPU time of a cell on a 2-core CPU (the default sweep: 4 s at
    $L = 4$, 46 s at $L = 32$, $N = 32$)."""
    return 1.0 + cell.depth * spec.rule.inference_steps(cell.depth) * max(cell.width, 16) / 5e3


def time_left(spec: SweepSpec, *, computed: Sequence[CellKey], remaining: Sequence[CellKey],
              elapsed: float) -> float:
    """Seconds left: `elapsed` (spent computing the cells `computed`) extrapolated to the
    cells `remaining` by their share of `cost`; NaN before the first computed cell."""
    spent = sum(cost(spec, c) for c in computed)
    return elapsed / spent * sum(cost(spec, c) for c in remaining) if spent > 0 else math.nan
