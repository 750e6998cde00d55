"""Sweep throughput: cells per hour, seeds batched against one after another, and on the run
service with 1 and 2 workers (scaling efficiency); `--paper` for the paper-sized sweep.

```
python bench/bench_sweep.py            # a small grid, a few minutes on 2 CPU cores
python bench/bench_sweep.py --default  # the sweep page's default sweep, its way
python bench/bench_sweep.py --paper    # the paper's grid, timed in about 10 minutes
```

`--default`: the sweep page's default sweep (`pcviz.sweeps.default_spec()`) the page's way, a
`SweepJob` of `pcviz.ui._sweep_jobs` on the run service into a throw-away store: the seconds
from the run service's start to ready, from Run to the last cell, and each rule's difference
to BP by depth with its seed spread.

Small grid:

1. In this process, every (depth, width) of the grid with all its seeds: `train_cell` with
   the seeds as one batched computation, against `train_cell` once per seed. Each variant runs
   twice; the first pass includes compiling, the second is the steady rate.
2. On the run service (a local Ray cluster of `max(2, cores)` CPUs), the whole sweep through
   `pcviz.sweeps.run_sweep` into a throw-away store, with `workers=1` and `workers=2`: one
   warm-up pass of each (worker processes started, programs compiled), then two passes of
   each, interleaved; the median rate of each, and the scaling efficiency
   rate(2) / (2 rate(1)).

`--paper`: the paper's grid, depths 8, 16, 32, 64, 128 x widths 16, 32, 64, BP, PC and
PC-ALM, one epoch of Fashion-MNIST per cell (937 batches of 64; one seed per cell unless
`--seeds` says more). Training it takes hours, so each of its 15 shapes is timed as a task on
the run service and the epoch is extrapolated:

- a task trains its shape three times with `train_cell`: 1 batch (compiling: `t_first`),
  1 batch again (`t_one`: set-up, one step and the test evaluation) and `1 + m` batches
  (`t_m`, `m` chosen to take about `--seconds-per-shape` seconds); a step takes
  `s = (t_m - t_one) / m`, and a one-epoch cell `t_first + (E - 1) s` for `E` batches;
- a warm-up task on each worker first (processes started, JAX and the data loaded);
- shape by shape, with 1 worker (the task alone) and then with 2 workers (the task twice at
  once: two cells of the same shape side by side, so that each step is timed while the
  other worker is busy too), so that a load from other work drifts alike for both;
- cells per hour: 1 worker, the 15 extrapolated cells one after another; 2 workers, the same
  cells with the 2-worker times, placed longest first on 2 workers (the grid's makespan), and
  at steady state (both workers always busy); the scaling efficiency rate(2) / (2 rate(1)).

The machine is shared: the script prints the load average (`os.getloadavg`) before and after.
"""

from __future__ import annotations

import argparse
import heapq
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pcviz._cells import train_cell
from pcviz._jaxcache import enable_compilation_cache
from pcviz.config import ModelConfig, RuleConfig, TrainConfig, with_changes
from pcviz.data import load_dataset

PAPER_DEPTHS = (8, 16, 32, 64, 128)
PAPER_WIDTHS = (16, 32, 64)


def _spec(paper: bool, seeds: tuple[int, ...], depths=PAPER_DEPTHS, widths=PAPER_WIDTHS):
    from pcviz import sweeps

    if paper:
        train = TrainConfig(rules=("bp", "pc", "pcalm"), dataset="fashion-mnist", epochs=1)
        return sweeps.SweepSpec(tuple(depths), tuple(widths), seeds, None,
                                ModelConfig(depth=8, width=16), RuleConfig(), train)
    train = TrainConfig(rules=("bp", "pc", "pcalm"), dataset="teacher", batch_size=32)
    return sweeps.SweepSpec((4, 8), (8, 16), seeds, 300, ModelConfig(depth=4, width=8),
                            RuleConfig(), train)


def _steps(spec, data) -> int:
    total = data.num_train // spec.train.batch_size * spec.train.epochs
    return min(total, spec.max_steps) if spec.max_steps else total


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def in_process(spec) -> None:
    """Seeds batched against one after another, cells per hour (first pass, second pass)."""
    data = load_dataset(spec.train.dataset, seed=spec.train.seed)
    steps = _steps(spec, data)
    cells = len(spec.cells())

    def batched():
        for d in spec.depths:
            for w in spec.widths:
                train_cell(with_changes(spec.model, depth=d, width=w), spec.rule, spec.train,
                           seeds=spec.seeds, steps=steps, dataset=data)

    def one_by_one():
        for d in spec.depths:
            for w in spec.widths:
                for s in spec.seeds:
                    train_cell(with_changes(spec.model, depth=d, width=w), spec.rule,
                               spec.train, seeds=[s], steps=steps, dataset=data)

    print(f"in this process: {cells} cells ({len(spec.seeds)} seeds per shape), {steps} steps "
          "each")
    for name, fn in (("seeds batched", batched), ("one after another", one_by_one)):
        rates = []
        for _ in range(2):
            start = time.perf_counter()
            fn()
            rates.append(cells / (time.perf_counter() - start) * 3600)
        print(f"  {name:18s} {rates[0]:9.0f} cells/h (compiling), {rates[1]:9.0f} cells/h "
              "(compiled)", flush=True)


def _start_service():
    os.environ.setdefault("PCVIZ_WORKERS", str(max(2, os.cpu_count() or 1)))
    from pcviz import service

    service.ensure()
    return service


def on_service(spec) -> None:
    """The sweep on the run service with 1 and 2 workers."""
    from pcviz import sweeps
    from pcviz.store import open_store

    service = _start_service()
    cells = len(spec.cells())
    print(f"on the run service ({service.status().cpus} CPUs): {cells} cells, "
          f"{len(spec.depths) * len(spec.widths)} tasks")
    with tempfile.TemporaryDirectory() as folder:
        rates: dict[int, list[float]] = {1: [], 2: []}
        for i, workers in enumerate((2, 1, 1, 2, 1, 2)):  # the first two warm up
            path = str(Path(folder) / f"runs{i}.sqlite")
            store = open_store(path)
            start = time.perf_counter()
            plan = sweeps.plan_sweep(spec, store=store)
            done = list(sweeps.run_sweep(plan, store=store, store_url=path, workers=workers))
            rate = len(done) / (time.perf_counter() - start) * 3600
            if i >= 2:
                rates[workers].append(rate)
            print(f"  workers={workers}: {rate:9.0f} cells/h" + (" (warm-up)" if i < 2 else ""),
                  flush=True)
        one, two = (statistics.median(rates[k]) for k in (1, 2))
        print(f"  median: workers=1 {one:.0f} cells/h, workers=2 {two:.0f} cells/h; scaling "
              f"efficiency {two / (2 * one):.2f}")


# ------------------------------------------------------------------------- the paper's grid


def time_shape(spec, depth: int, width: int, seconds: float) -> dict:
    """A task: time one shape of `spec` (see the module docstring); runs on a worker."""
    data = load_dataset(spec.train.dataset, seed=spec.train.seed)
    model = with_changes(spec.model, depth=depth, width=width)

    def run(steps: int) -> float:
        start = time.perf_counter()
        train_cell(model, spec.rule, spec.train, seeds=spec.seeds, steps=steps, dataset=data)
        return time.perf_counter() - start

    first, one = run(1), run(1)
    probe = run(3)  # two more steps than `one`: a first guess at a step's time
    guess = max((probe - one) / 2, probe / 20)  # never a tiny guess from two noisy times
    extra = max(2, min(200, round(seconds / guess)))
    many = run(1 + extra)
    step = max((many - one) / extra, 1e-6)
    return {"depth": depth, "width": width, "first": first, "one": one, "step": step,
            "steps_timed": extra}


def _cell_seconds(timing: dict, epoch_steps: int, compile_seconds: float | None = None) -> float:
    """One epoch of a cell: the first call (compiling) and the remaining steps."""
    first = timing["first"] if compile_seconds is None else timing["one"] + compile_seconds
    return first + (epoch_steps - 1) * timing["step"]


def _makespan(durations: list[float], workers: int) -> float:
    """Longest first on `workers` workers, each task to the first free worker."""
    free = [0.0] * workers
    for d in sorted(durations, reverse=True):
        heapq.heapreplace(free, free[0] + d)
    return max(free)


def _time_shape(spec, service, d: int, w: int, seconds: float, twins: int) -> dict:
    """One shape's timing, `twins` copies of its task at once (the mean of the copies)."""
    jobs = [service.submit(time_shape, spec, d, w, seconds, label=f"time L={d} N={w}")
            for _ in range(twins)]
    results = [job.result() for job in jobs]
    out = {k: statistics.fmean(r[k] for r in results) for k in ("first", "one", "step")}
    print(f"  {twins} worker{'s' if twins > 1 else ' '}: L={d:<3} N={w:<3} first call "
          f"{out['first']:6.2f} s, a step {1000 * out['step']:8.1f} ms (over "
          f"{results[0]['steps_timed']} steps)", flush=True)
    return out


def paper(spec, seconds: float) -> None:
    """Cells per hour of the paper-sized sweep with 1 and 2 workers, extrapolated."""
    data = load_dataset(spec.train.dataset, seed=spec.train.seed)
    epoch = _steps(spec, data)
    service = _start_service()
    shapes = len(spec.depths) * len(spec.widths)
    print(f"paper-sized sweep: depths {spec.depths} x widths {spec.widths}, rules "
          f"{', '.join(spec.train.rules)}, {len(spec.seeds)} seed(s) per shape batched, one "
          f"epoch of {spec.train.dataset} = {epoch} batches of {spec.train.batch_size}; "
          f"{service.status().cpus} CPUs on the run service")
    print(f"before: {_load()}")
    start = time.perf_counter()
    warm = [service.submit(time_shape, spec._replace(depths=(2,), widths=(4,)), 2, 4, 0.0,
                           label="warm-up") for _ in range(2)]
    [job.result() for job in warm]  # both workers started, JAX and the data loaded
    one, two = {}, {}
    for d in spec.depths:  # 1 then 2 workers shape by shape: the load drifts alike for both
        for w in spec.widths:
            one[(d, w)] = _time_shape(spec, service, d, w, seconds, twins=1)
            two[(d, w)] = _time_shape(spec, service, d, w, seconds, twins=2)
    compiles = {k: max(t["first"] - t["one"], 0.0) for k, t in one.items()}
    cells1 = [_cell_seconds(t, epoch) for t in one.values()]
    # compiled once per shape (in 1-worker order); the 2-worker step times
    cells2 = [_cell_seconds(t, epoch, compiles[k]) for k, t in two.items()]
    cells = len(spec.cells())
    rate1 = cells / sum(cells1) * 3600
    rate2 = cells / _makespan(cells2, 2) * 3600
    steady2 = 2 * cells / sum(cells2) * 3600
    print(f"after: {_load()}; timing took {time.perf_counter() - start:.0f} s")
    print("EXTRAPOLATED from the timed steps to one epoch per cell (not a full run):")
    print(f"  one epoch per cell: {min(cells1) / 60:.1f} to {max(cells1) / 60:.1f} min with 1 "
          f"worker; the whole grid {sum(cells1) / 3600:.2f} h on 1 worker, "
          f"{_makespan(cells2, 2) / 3600:.2f} h on 2")
    print(f"  1 worker:  {rate1:6.2f} cells/h ({shapes} shapes x {len(spec.seeds)} seed(s))")
    print(f"  2 workers: {rate2:6.2f} cells/h (this grid, longest cell first), "
          f"{steady2:6.2f} cells/h at steady state (both workers always busy)")
    print(f"  scaling efficiency rate(2) / (2 rate(1)): {rate2 / (2 * rate1):.2f} for this "
          f"grid, {steady2 / (2 * rate1):.2f} at steady state; a step is "
          f"{statistics.fmean(t['step'] / one[k]['step'] for k, t in two.items()):.2f}x as "
          "long with both workers busy")


def default_sweep() -> None:
    """The page's default sweep, timed along the page's own path."""
    import numpy as np

    os.environ["PCVIZ_STORE"] = str(Path(tempfile.mkdtemp()) / "runs.sqlite")
    from pcviz import sweeps
    from pcviz.ui import _sweep_jobs

    start = time.perf_counter()
    _start_service()
    ready = time.perf_counter()
    spec = sweeps.default_spec()
    print(f"default sweep: {spec.train.dataset}, depths {spec.depths} x widths {spec.widths}, "
          f"seeds {spec.seeds}, {spec.max_steps} batches of {spec.train.batch_size}, lr "
          f"{spec.train.learning_rate:g}; {len(spec.cells())} cells")
    print(f"before: {_load()}")
    job = _sweep_jobs.SweepJob(spec)
    job.start()
    job.wait()
    done = time.perf_counter()
    state = sweeps.sweep_state(_sweep_jobs.open_store(), sweeps.sweep_id(spec))
    print(f"after: {_load()}")
    print(f"run service ready after {ready - start:.1f} s; Run -> every cell {done - ready:.1f} s "
          f"({state.status}, {len(state.cells)} cells, error {job.progress().error})")
    trend = sweeps.depth_trend(spec, state.cells)
    for rule, mean in trend.mean.items():
        print(f"  {rule} - bp by depth {spec.depths}: {np.round(mean, 1).tolist()} points, "
              f"seed spread {np.round(trend.spread[rule], 1).tolist()}")
    print(f"  typical seed spread of one cell's difference: "
          f"{sweeps.noise_level(spec, state.cells):.2f} points")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default", action="store_true",
                        help="the sweep page's default sweep, the page's way (~2 minutes)")
    parser.add_argument("--paper", action="store_true",
                        help="the paper's grid, extrapolated from timed steps (~10 minutes)")
    parser.add_argument("--seeds", default=None,
                        help="seeds per cell (default 0,1,2; with --paper, 0)")
    parser.add_argument("--seconds-per-shape", type=float, default=6.0,
                        help="--paper: seconds of steady training timed per shape and worker")
    parser.add_argument("--depths", default=",".join(map(str, PAPER_DEPTHS)),
                        help="--paper: the depths (default: the paper's)")
    parser.add_argument("--widths", default=",".join(map(str, PAPER_WIDTHS)),
                        help="--paper: the widths (default: the paper's)")
    parser.add_argument("--skip-service", action="store_true", help="only the in-process part")
    args = parser.parse_args()
    enable_compilation_cache()
    if args.default:
        default_sweep()
        return
    seeds = tuple(int(s) for s in (args.seeds or ("0" if args.paper else "0,1,2")).split(","))
    spec = _spec(args.paper, seeds, [int(d) for d in args.depths.split(",")],
                 [int(w) for w in args.widths.split(",")])
    if args.paper:
        paper(spec, args.seconds_per_shape)
        return
    in_process(spec)
    if not args.skip_service:
        on_service(spec)


if __name__ == "__main__":
    main()
