r"""The `export-sweep` command: a stored sweep as the sweep page shows and downloads it.

`python -m pcviz export-sweep SWEEP_ID` reads the sweep from the run store (`--store`), prints
its mean test accuracy per depth, width and rule at one grid point (`--setting`, an index
into the sweep's grid of $\eta_h$, $\alpha$ and learning rate; 0 without grids), each rule's
difference to BP at the shallowest and deepest depth and the seed spread of a difference
(`pcviz.sweeps.summarise`, `trend_ends`), writes the page's CSV with `--csv` and returns the
page's JSON document (`pcviz.sweeps.sweep_files`) with the summary, which `--out` writes.
Nothing is trained: run `python -m pcviz sweep` for that.

Registered in `pcviz.cli` by `add_export_command(subparsers)`; the handler is
`run_export_sweep`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from . import sweeps
from .config import RULE_LABELS


def add_export_command(subparsers) -> argparse.ArgumentParser:
    """Add `export-sweep` to `subparsers` (from `ArgumentParser.add_subparsers`), handled by
    `run_export_sweep`; returns its parser."""
    p = subparsers.add_parser(
        "export-sweep", help="a stored sweep's grids, trend and files, as the sweep page has",
        description="Read a sweep from the run store; print its accuracy grid at one grid "
        "point, the difference to BP by depth and the seed spread; write the sweep page's "
        "CSV (--csv) and JSON (--out).")
    p.add_argument("sweep", metavar="SWEEP_ID", help="the sweep's id (printed by `sweep`)")
    p.add_argument("--setting", type=int, default=0,
                   help="index of the grid point of eta, alpha and learning rate (default 0)")
    p.add_argument("--csv", help="write the cells of that grid point as CSV to this file")
    p.add_argument("--out", help="write the JSON document to this file")
    p.add_argument("--store", default=None, metavar="PATH_OR_URL",
                   help="run store to read: a SQLite file or a database URL "
                        "(default: PCVIZ_STORE, else the user's data folder)")
    p.set_defaults(handler=run_export_sweep)
    return p


def _points(value: float) -> str:
    return f"{value:+.1f}" if math.isfinite(value) else "-"


def _grid_lines(spec: sweeps.SweepSpec, summary: sweeps.SweepSummary) -> list[str]:
    rules = list(spec.train.rules)
    lines = ["depth  width  " + "  ".join(f"{RULE_LABELS[r] + ' %':>8}" for r in rules)]
    for i, depth in enumerate(spec.depths):
        for j, width in enumerate(spec.widths):
            values = [100 * summary.accuracy[r][i, j] for r in rules]
            lines.append(f"{depth:<5}  {width:<5}  " + "  ".join(
                f"{v:>8.1f}" if math.isfinite(v) else f"{'-':>8}" for v in values))
    return lines


def run_export_sweep(args: argparse.Namespace) -> dict:
    """`export-sweep`: print the stored sweep's grid and trend, write its CSV; returns the
    JSON document. Raises `ValueError` for an unknown sweep or grid point and
    `pcviz.store.StoreError` when the store cannot be read."""
    from .store import open_store

    state = sweeps.sweep_state(open_store(args.store), args.sweep)
    if state is None:
        raise ValueError(f"no sweep {args.sweep!r} in the run store")
    spec, settings = state.spec, state.spec.settings()
    if not 0 <= args.setting < len(settings):
        raise ValueError(f"--setting {args.setting} must be from 0 to {len(settings) - 1}")
    setting = settings[args.setting]
    summary = sweeps.summarise(spec, state.cells, setting=setting)
    files = sweeps.sweep_files(spec, state.cells, sweep_id=state.sweep_id, setting=setting)
    print(f"sweep {state.sweep_id} ({state.status}): {summary.finished} of {summary.total} "
          f"cells finished, {summary.failed} failed")
    print("\n".join(_grid_lines(spec, summary)))
    ends = sweeps.trend_ends(summary.trend)
    for rule, e in ends.items():
        print(f"{RULE_LABELS[rule]} - BP: {_points(e.first)} points at L = {e.first_depth}, "
              f"{_points(e.last)} at L = {e.last_depth}")
    if math.isfinite(summary.noise):
        print(f"seed spread of a difference to BP (median over cells): {summary.noise:.1f} "
              "points")
    if args.csv:
        with open(args.csv, "w", encoding="utf-8") as f:
            f.write(files["sweep.csv"])
        print(f"wrote {args.csv}", file=sys.stderr)
    return {"command": "export-sweep", **json.loads(files["sweep.json"]),
            "status": state.status, "setting": setting._asdict(),
            "spread": summary.spread, "difference_spread": summary.difference_spread,
            "difference_by_depth": {"depths": summary.trend.depths, "mean": summary.trend.mean,
                                    "spread": summary.trend.spread},
            "trend_ends": {r: e._asdict() for r, e in ends.items()}, "noise": summary.noise,
            "finished_cells": summary.finished, "failed_cells": summary.failed,
            "total_cells": summary.total}
