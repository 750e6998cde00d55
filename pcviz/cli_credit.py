r"""The `credit` command: what the credit propagation page shows of one batch, headless.

`python -m pcviz credit --depth 16` runs one inference per rule (PC and PC-ALM by default) on
the fixed probe batch at initialisation (`pcviz.runs.probe`, in this process), and prints,
per rule, the page's metrics row at inference step $t$ (`--step`, default the middle of the
run, as the page): layers reached by $t$, the front's log-log slope, its fitted speed against
the wave theory's $c = \sqrt{\alpha\eta_h}$, and the heat reach $\sqrt{\rho\eta_h t}$
(`pcviz.claims.front_readings`). The JSON document (`--out`) also holds each rule's whole-run
front (`front_summary`), the energy and alignment trends the page's text quotes, the rules
that diverged, and the profile animation's frames (`pcviz.analysis.profile_frames`,
`--frames` of them). The probe is recorded in the run store (`--store`) as `probe` does.

Registered in `pcviz.cli` by `add_credit_command(subparsers, configs=...)`, which returns the
parser for `pcviz.cli` to add its model and rule options to; the handler is `run_credit`.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

import numpy as np

from ._cli_options import whole_number
from .analysis import diverged_rules, profile_frames
from .claims import alignment_trends, energy_trends, front_readings, front_summary
from .config import RULE_LABELS, to_dict

MAX_FRAMES = 100
"""The animation's frames by default, as on the page."""


def add_credit_command(subparsers, *, configs: Callable) -> argparse.ArgumentParser:
    """Add `credit` to `subparsers` (from `ArgumentParser.add_subparsers`), handled by
    `run_credit`; `configs(args)` turns the parsed options into `(ModelConfig, RuleConfig,
    TrainConfig)`. Returns the parser, to which the caller adds the model and rule options."""
    p = subparsers.add_parser(
        "credit", help="the credit page's fronts of one batch at initialisation",
        description="One inference run per rule on one batch at initialisation: layers "
        "reached by step t, front slope, front speed against the wave theory, heat reach, "
        "and the credit profile's animation frames in the JSON document.")
    p.add_argument("--step", type=whole_number, default=None,
                   help="inference step t of the metrics (default: the middle of the run)")
    p.add_argument("--frames", type=whole_number, default=MAX_FRAMES,
                   help=f"frames of the profile animation (default {MAX_FRAMES})")
    p.set_defaults(handler=run_credit, configs=configs)
    return p


def _cell(value: float, spec: str = ".3g") -> str:
    return format(value, spec) if math.isfinite(value) else "-"


def run_credit(args: argparse.Namespace) -> dict:
    """`credit`: the probe's front readings at step t (a table on stdout) and the JSON
    document. Raises `ValueError` for a configuration the budget refuses or a `--step`
    beyond the run, `DataError` for a data set that cannot be read."""
    from .runs import recorded_probe
    from .store import open_store

    model, rule, train = args.configs(args)
    store = open_store(args.store)  # one that cannot be used fails before any work
    run_id, result = recorded_probe(store, model, rule, train, command="credit")
    config = {"command": "credit", "model": to_dict(model), "rule": to_dict(rule),
              "train": to_dict(train)}
    if args.step is not None and args.step > result.steps:
        raise ValueError(f"--step {args.step} is beyond the run's T = {result.steps} steps")
    step = args.step or max(1, result.steps // 2)
    telemetry = result.telemetry
    readings = front_readings(result.arrivals, step=step, eta=result.eta, rho=rule.rho,
                              alpha=rule.alpha)
    credit = {r: np.asarray(t.credit) for r, t in telemetry.items()}
    adjoint = np.asarray(next(iter(telemetry.values())).bp_adjoint)
    frames = profile_frames(credit, adjoint, max_frames=args.frames)
    diverged = diverged_rules(credit)
    header = ["rule", f"reached by t={step}", "front slope", "speed", "theory c", "of c",
              "heat reach"]
    rows = [[RULE_LABELS[r], f"{f.reached}/{f.total}", _cell(f.slope), _cell(f.speed),
             _cell(f.theory_speed), _cell(f.speed_ratio, ".0%"), _cell(f.heat_reach)]
            for r, f in readings.items()]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    print(f"T = {result.steps}, eta = {result.eta:.4g}, rho = {rule.rho:g}, "
          f"alpha = {rule.alpha:g}" + (f"; diverged: {', '.join(diverged)}" if diverged else ""))
    print(f"run id: {run_id}")
    return {**config, "run_id": run_id, "eta": result.eta, "inference_steps": result.steps,
            "step": step, "fronts": {r: f._asdict() for r, f in readings.items()},
            "whole_run": {r: front_summary(a)._asdict() for r, a in result.arrivals.items()},
            "energy": {r: t._asdict() for r, t in energy_trends(
                {r: np.asarray(t.energy) for r, t in telemetry.items()}).items()},
            "alignment": {r: t._asdict() for r, t in alignment_trends(
                {r: np.asarray(t.alignment) for r, t in telemetry.items()}).items()},
            "diverged": diverged,
            "animation": {"steps": frames.steps, "credit": frames.credit,
                          "reached": frames.reached, "top": frames.top,
                          "bp_adjoint": adjoint}}
