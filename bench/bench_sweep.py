"""Sweep throughput: cells per hour, seeds batched against one after another, and on the run
service with 1 and 2 workers (scaling efficiency).

```
python bench/bench_sweep.py            # a small grid, a few minutes on 2 CPU cores
python bench/bench_sweep.py --paper    # the paper's grid: depths 8-128, widths 16-64, one
                                       # epoch of Fashion-MNIST per cell (hours on a CPU)
```

1. In this process, every (depth, width) of the grid with all its seeds: `train_cell` with
   the seeds as one batched computation, against `train_cell` once per seed. Each variant runs
   twice; the first pass includes compiling, the second is the steady rate.
2. On the run service (a local Ray cluster of `max(2, cores)` CPUs), the whole sweep through
   `pcviz.sweeps.run_sweep` into a throw-away store, with `workers=1` and `workers=2`: one
   warm-up pass of each (worker processes started, programs compiled), then two passes of
   each, interleaved; the median rate of each, and the scaling efficiency
   rate(2) / (2 rate(1)).
"""

from __future__ import annotations

import argparse
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


def _spec(paper: bool, seeds: tuple[int, ...]):
    from pcviz import sweeps

    if paper:
        train = TrainConfig(rules=("bp", "pc", "pcalm"), dataset="fashion-mnist", epochs=1)
        return sweeps.SweepSpec((8, 16, 32, 64, 128), (16, 32, 64), seeds, None,
                                ModelConfig(depth=8, width=16), RuleConfig(), train)
    train = TrainConfig(rules=("bp", "pc", "pcalm"), dataset="teacher", batch_size=32)
    return sweeps.SweepSpec((4, 8), (8, 16), seeds, 300, ModelConfig(depth=4, width=8),
                            RuleConfig(), train)


def _steps(spec, data) -> int:
    total = data.num_train // spec.train.batch_size * spec.train.epochs
    return min(total, spec.max_steps) if spec.max_steps else total


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


def on_service(spec) -> None:
    """The sweep on the run service with 1 and 2 workers."""
    os.environ.setdefault("PCVIZ_WORKERS", str(max(2, os.cpu_count() or 1)))
    from pcviz import service, sweeps
    from pcviz.store import open_store

    service.ensure()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper", action="store_true", help="the paper's grid (hours)")
    parser.add_argument("--seeds", default="0,1,2", help="seeds per cell (default 0,1,2)")
    parser.add_argument("--skip-service", action="store_true", help="only the in-process part")
    args = parser.parse_args()
    enable_compilation_cache()
    spec = _spec(args.paper, tuple(int(s) for s in args.seeds.split(",")))
    in_process(spec)
    if not args.skip_service:
        on_service(spec)


if __name__ == "__main__":
    main()
