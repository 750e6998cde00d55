"""The headless command line: `python -m pcviz train | probe | sweep | theory | credit |
export-sweep`.

Each command prints a short table on stdout, a progress bar on stderr, and writes one JSON
document with `--out`. `train`, `probe`, `credit` and `sweep` record their run(s) in the run
store (`--store`, default `PCVIZ_STORE` or the user's data folder) and print the run id;
`train` also saves a checkpoint of its final weights. `sweep` runs its cells on the run
service (Ray), writes each cell to the store as it finishes and, run again, skips the cells
already finished; `export-sweep` reads a stored sweep as the sweep page shows it.

Exit status: 0 on success, 2 for bad arguments or data, 1 when the store or the run service
cannot be used (one line saying how to fix it) or a sweep cell failed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from typing import Any

from . import __version__, sweeps
from ._cli_options import add_config_options, configs_from_args, whole_number
from ._jaxcache import enable_compilation_cache
from ._json import json_ready
from .cli_credit import add_credit_command, run_credit
from .cli_export import add_export_command, run_export_sweep
from .cli_theory import add_theory_command, run_theory
from .config import RULE_LABELS, ModelConfig, RuleConfig, TrainConfig, to_dict, with_changes
from .config_fields import FIELD
from .data import DataError
from .runs import record_session, recorded_probe
from .train import Session


class Progress:
    """A one-line progress bar on stderr with rate and time left."""

    def __init__(self, total: int, label: str, *, stream=None, done: int = 0):
        self.total, self.label, self.done, self.first = max(total, 1), label, done, done
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()

    def advance(self, count: int = 1, note: str = "") -> None:
        """Move the bar by `count` and redraw it."""
        self.done += count
        elapsed = time.perf_counter() - self.start
        rate = (self.done - self.first) / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else math.nan
        filled = int(30 * self.done / self.total)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total}"
            f" {rate:.1f}/s, {left:.0f} s left {note}   "
        )
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        self.stream.write("\n")
        self.stream.flush()


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers") from None


def _float_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers") from None


def _eta_list(text: str) -> tuple[float | str, ...]:
    try:
        return tuple(FIELD["eta"].parse(part) for part in text.split(",") if part.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _add_common_options(p: argparse.ArgumentParser, command: str) -> None:
    """The configuration's options (`pcviz.config_fields`), then where the result goes."""
    add_config_options(p, command)
    p.add_argument("--out", help="write the JSON document to this file")
    p.add_argument("--store", default=None, metavar="PATH_OR_URL",
                   help="run store to record in: a SQLite file or a database URL "
                        "(default: PCVIZ_STORE, else the user's data folder)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pcviz", description=__doc__)
    parser.add_argument("--version", action="version", version=f"pcviz {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train rules side by side and report accuracy")
    _add_common_options(train, "train")
    train.add_argument("--max-steps", type=int, default=None, help="stop after this many batches")
    probe_cmd = commands.add_parser("probe", help="telemetry of one batch at initialisation")
    _add_common_options(probe_cmd, "probe")
    sweep_cmd = commands.add_parser("sweep", help="test accuracy over a depth x width grid")
    sweep_cmd.add_argument("--depths", type=_int_list, default=[8, 16, 32, 64])
    sweep_cmd.add_argument("--widths", type=_int_list, default=[8, 32])
    sweep_cmd.add_argument("--seeds", type=_int_list, default=[0])
    _add_common_options(sweep_cmd, "sweep")
    sweep_cmd.add_argument("--max-steps", type=int, default=None)
    sweep_cmd.add_argument("--workers", type=whole_number, default=None,
                           help="cells trained at once (default: the cluster's CPUs)")
    sweep_cmd.add_argument("--max-cells", type=whole_number, default=None,
                           help="train at most this many unfinished cells, then stop")
    sweep_cmd.add_argument("--etas", type=_eta_list, default=(), metavar="ETA,...",
                           help="a grid of activity steps (numbers or 'auto'), in place of --eta")
    sweep_cmd.add_argument("--alphas", type=_float_list, default=(), metavar="ALPHA,...",
                           help="a grid of dual steps, in place of --alpha")
    sweep_cmd.add_argument("--lrs", type=_float_list, default=(), metavar="LR,...",
                           help="a grid of learning rates, in place of the default rule; the "
                                "cells of one depth and width, every seed and grid point, "
                                "train as one batched computation")
    add_theory_command(commands)
    _add_common_options(add_credit_command(commands, configs=_configs), "credit")
    add_export_command(commands)
    return parser


def _configs(args: argparse.Namespace) -> tuple[ModelConfig, RuleConfig, TrainConfig]:
    return configs_from_args(args, args.command)


def _write(document: dict, path: str | None) -> None:
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(json_ready(document), f, indent=1)
        print(f"wrote {path}", file=sys.stderr)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(map(str, header))] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "-" if not math.isfinite(value) else f"{value:.4g}"
    return str(value)


def _store(args: argparse.Namespace):
    """The run store named by `--store` (opened before any work, so that a store that cannot
    be reached fails at once) and how to name it in messages."""
    from .store import default_store_url, open_store

    store = open_store(args.store)
    return store, args.store or default_store_url()


def _session_config(session: Session, args: argparse.Namespace) -> dict:
    return {"command": args.command, "model": to_dict(session.model_config),
            "rule": to_dict(session.rule_config), "train": to_dict(session.train_config),
            "max_steps": args.max_steps, "eta": session.eta, "inference_steps": session.steps}


def run_train(args: argparse.Namespace) -> dict:
    """`train`: every rule from the same weights on the same batches; accuracy, cosine, time."""
    model, rule, train = _configs(args)
    store, _ = _store(args)
    session = Session(model, rule, train)
    run_id = store.new_run(kind="train", config=_session_config(session, args),
                           label=f"train L={model.depth} N={model.width}")
    total = session.batches.steps_per_epoch * train.epochs
    total = min(total, args.max_steps) if args.max_steps else total
    bar, start = Progress(total, "train"), time.perf_counter()
    try:
        while session.step_count < total:
            count = min(20, total - session.step_count)
            session.step(count)
            store.update(run_id, step=session.step_count)
            bar.advance(count, " ".join(f"{r}:{rec.loss.last():.3f}"
                                        for r, rec in session.records.items()))
        bar.close()
        accuracy, cosines = session.evaluate(), session.gradient_alignment()
    except Exception as err:
        store.update(run_id, status="failed", step=session.step_count,
                     error=f"{type(err).__name__}: {err}")
        raise
    results: dict[str, dict[str, Any]] = {
        name: {
            "test_accuracy": accuracy[name] if rec.status == "ok" else math.nan,
            "grad_cosine": float(cosines[name][-1]),
            "grad_cosine_per_layer": cosines[name][:-1],
            "wall_seconds": rec.first_step_seconds + rec.total_seconds,
            "steps_per_second": rec.steps_per_second,
            "status": rec.status,
        }
        for name, rec in session.records.items()
    }
    record_session(store, run_id, session, metrics=json_ready(results))
    print(_table(
        ["rule", "test acc %", "grad cos to BP", "wall s", "steps/s", "status"],
        [[RULE_LABELS[n], 100 * r["test_accuracy"], r["grad_cosine"], r["wall_seconds"],
          r["steps_per_second"], r["status"]] for n, r in results.items()],
    ))
    print(f"{session.step_count} steps of batch {train.batch_size}, T = {session.steps}, "
          f"eta = {session.eta:.4g}, total wall {time.perf_counter() - start:.1f} s")
    print(f"run id: {run_id}")
    return {"command": "train", "run_id": run_id, "model": to_dict(session.model_config),
            "rule": to_dict(rule), "train": to_dict(train), "eta": session.eta,
            "inference_steps": session.steps, "training_steps": session.step_count,
            "results": results, "wall_seconds": time.perf_counter() - start}


def run_probe(args: argparse.Namespace) -> dict:
    """`probe`: one batch at initialisation, telemetry and arrival times per rule."""
    model, rule, train = _configs(args)
    store, _ = _store(args)
    run_id, result = recorded_probe(store, model, rule, train, command="probe")
    print(_table(
        ["rule", "layers reached", "last arrival", "front slope", "r2"],
        [[RULE_LABELS[n], f"{fit.num_layers_reached}/{args.depth - 1}",
          int(result.arrivals[n].max()), fit.slope, fit.r2] for n, fit in result.fits.items()],
    ))
    print(f"T = {result.steps}, eta = {result.eta:.4g}")
    print(f"run id: {run_id}")
    return {"command": "probe", "run_id": run_id, "model": to_dict(model), "rule": to_dict(rule),
            "train": to_dict(train), "eta": result.eta, "inference_steps": result.steps,
            "telemetry": {n: tel._asdict() for n, tel in result.telemetry.items()},
            "arrivals": result.arrivals,
            "fits": {n: fit._asdict() for n, fit in result.fits.items()}}


def _setting_columns(spec: sweeps.SweepSpec) -> list[tuple[str, int]]:
    """The grid's columns: (name, index in `Setting`) for each hyperparameter with a grid."""
    named = (("eta", "etas", 0), ("alpha", "alphas", 1), ("lr", "learning_rates", 2))
    return [(name, i) for name, field, i in named if getattr(spec, field)]


def _sweep_table(spec: sweeps.SweepSpec, cells: list) -> tuple[str, list[dict]]:
    """The accuracy table (one row per grid point, depth and width) and the grid of each
    point (`{"setting", "accuracy", "spread"}`)."""
    columns, rules, rows, by_setting = _setting_columns(spec), spec.train.rules, [], []
    for setting in spec.settings():
        grid = sweeps.grids(spec, cells, setting=setting)
        spread = sweeps.spreads(spec, cells, setting=setting)
        by_setting.append({"setting": setting._asdict(), "accuracy": grid, "spread": spread})
        rows += [[*(setting[i] for _, i in columns), d, w, *[100 * grid[n][i, j] for n in rules]]
                 for i, d in enumerate(spec.depths) for j, w in enumerate(spec.widths)]
    header = [name for name, _ in columns] + ["depth", "width"]
    return _table([*header, *[RULE_LABELS[n] + " %" for n in rules]], rows), by_setting


def run_sweep(args: argparse.Namespace) -> dict:
    """`sweep`: test accuracy per rule over the depth x width grid (and the grids of eta,
    alpha and learning rate given), cells on the run service, each recorded in the store as
    it finishes; finished cells are skipped."""
    model, rule, train = _configs(args)
    spec = sweeps.SweepSpec(tuple(args.depths), tuple(args.widths), tuple(args.seeds),
                            args.max_steps, with_changes(model, depth=args.depths[0],
                                                         width=args.widths[0]), rule, train,
                            etas=args.etas, alphas=args.alphas, learning_rates=args.lrs)
    for setting in spec.settings():
        setting.apply(rule, train)  # a grid value out of range: a usage error before any work
    store, where = _store(args)
    plan = sweeps.plan_sweep(spec, store=store)
    total = len(spec.cells())
    print(f"run id: {plan.sweep_id}")
    if plan.done:
        print(f"{len(plan.done)} of {total} cells already finished in {where}: skipped")
    bar, cells = Progress(total, "sweep", done=len(plan.done)), []
    for cell in sweeps.run_sweep(plan, store=store, store_url=where, workers=args.workers,
                                 max_cells=args.max_cells):
        cells.append(cell)
        if not cell.skipped:
            bar.advance(1, f"L={cell.depth} N={cell.width} seed={cell.seed}")
    bar.close()
    table, by_setting = _sweep_table(spec, cells)
    print(table)
    noise = sweeps.noise_level(spec, cells)
    if math.isfinite(noise):
        print(f"seed spread of a difference to BP (median over cells): {noise:.1f} points")
    failed = [c for c in cells if c.state == "failed"]
    for c in failed:
        print(f"pcviz sweep: cell L={c.depth} N={c.width} seed={c.seed} failed: {c.error}",
              file=sys.stderr)
    if len(cells) < total:
        print(f"{total - len(cells)} of {total} cells not run yet: run the same command "
              "again to run them", file=sys.stderr)
    document = {"command": "sweep", "run_id": plan.sweep_id, "model": to_dict(model),
                "rule": to_dict(rule), "train": to_dict(train), "depths": args.depths,
                "widths": args.widths, "seeds": args.seeds,
                "accuracy": by_setting[0]["accuracy"], "spread": by_setting[0]["spread"],
                "cells": [{**c._asdict(), "setting": c.setting._asdict()} for c in cells],
                "skipped": len(plan.done), "failed": len(failed)}
    if len(by_setting) > 1:
        document["settings"] = by_setting
    return document


_COMMANDS = {"train": run_train, "probe": run_probe, "sweep": run_sweep, "theory": run_theory,
             "credit": run_credit, "export-sweep": run_export_sweep}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for bad arguments or data, 1 when the store or
    the run service cannot be used, or a sweep cell failed)."""
    parser = _parser()
    args = parser.parse_args(argv)
    from .service import ClusterUnavailable
    from .store import StoreError

    enable_compilation_cache()
    try:
        document = _COMMANDS[args.command](args)
    except DataError as err:
        print(f"pcviz: {err}", file=sys.stderr)
        return 2
    except (StoreError, ClusterUnavailable) as err:
        print(f"pcviz {args.command}: {err}", file=sys.stderr)
        return 1
    except ValueError as err:
        parser.print_usage(sys.stderr)
        print(f"pcviz {args.command}: error: {err}", file=sys.stderr)
        return 2
    _write(document, args.out)
    return 1 if document.get("failed") else 0
