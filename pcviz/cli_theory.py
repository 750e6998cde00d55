r"""The `theory` command: PC-ALM's exactness against BP in a float64 linear net, on the run
service.

`python -m pcviz theory --depth 8` runs `pcviz.theory.exactness_point` for every number of
inference steps $T$ of `pcviz.theory.exactness_steps` as a task of the run service, prints one
row per $T$ (relative errors of PC's and PC-ALM's weight gradients to BP's) and the stability
of the setting on its worst mode, and returns the JSON document that `--out` writes.

Registered in `pcviz.cli` by `add_theory_command(subparsers)`; the handler is `run_theory`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from . import theory
from ._cli_options import whole_number


def _eta(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a number nor 'auto'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def add_theory_command(subparsers) -> argparse.ArgumentParser:
    """Add `theory` to `subparsers` (from `ArgumentParser.add_subparsers`), handled by
    `run_theory`; returns its parser."""
    p = subparsers.add_parser(
        "theory", help="PC-ALM's exactness against BP in a float64 linear net",
        description="Relative error of PC's and PC-ALM's weight gradients to BP's as the "
        "number of inference steps T grows, in a linear muPC net of width 16 (float64), each "
        "T a task of the run service.")
    p.add_argument("--depth", type=int, default=8, help="weight layers L (2-64, default 8)")
    p.add_argument("--eta", type=_eta, default="auto", help="activity step, or 'auto'")
    p.add_argument("--rho", type=float, default=1.0)
    p.add_argument("--alpha", type=float, default=1.0)
    p.add_argument("--points", type=whole_number, default=8, help="values of T (default 8)")
    p.add_argument("--steps-per-layer", type=whole_number, default=2000,
                   help="largest T in units of L (default 2000)")
    p.add_argument("--out", help="write the JSON document to this file")
    p.set_defaults(handler=run_theory)
    return p


def _cell(value: float) -> str:
    return f"{value:.3e}" if math.isfinite(value) else "-"


def run_theory(args: argparse.Namespace) -> dict:
    """`theory`: the exactness curve on the run service; prints a table, returns the JSON
    document (`--out`). Raises `ValueError` for settings the theory refuses and
    `pcviz.service.ClusterUnavailable` when the service cannot be had."""
    from . import service

    if not 2 <= args.depth <= 64:
        raise ValueError(f"--depth {args.depth} must be from 2 to 64")
    if not (args.rho > 0 and args.alpha >= 0):
        raise ValueError(f"--rho {args.rho} must be positive and --alpha {args.alpha} "
                         "non-negative")
    steps = theory.exactness_steps(args.depth, points=args.points,
                                   steps_per_layer=args.steps_per_layer)
    jobs = theory.submit_exactness(args.depth, steps, eta=args.eta, rho=args.rho,
                                   alpha=args.alpha)
    points = []
    try:
        for job in service.as_completed(jobs):
            points.append(job.result())
            print(f"\rtheory: {len(points)}/{len(jobs)} values of T", end="", file=sys.stderr)
    finally:
        print(file=sys.stderr)
        for job in jobs:
            if not job.done():
                job.cancel()
    curve = theory.gather_exactness(args.depth, points)
    lines = ["T          PC          PC-ALM", "---------  ----------  ----------"]
    lines += [f"{int(t):<9}  {_cell(p):<10}  {_cell(a)}" for t, p, a in
              zip(curve.steps, curve.errors["pc"], curve.errors["pcalm"])]
    print("\n".join(lines))
    point = theory.theory_point(args.depth, eta=curve.eta, rho=args.rho, alpha=args.alpha)
    stable = bool(theory.is_stable(point.sigma_max, eta=point.eta, rho=point.rho,
                                   alpha=point.alpha))
    print(f"L = {args.depth}, eta = {curve.eta:.4g}, rho = {args.rho:g}, alpha = {args.alpha:g}: "
          f"{'stable' if stable else 'unstable'} on the chain's worst mode "
          f"(sigma_max = {point.sigma_max:.4f})")
    document = json.loads(theory.exactness_json(curve, rho=args.rho, alpha=args.alpha))
    return {"command": "theory", **document, "stable": stable, "sigma_max": point.sigma_max}
