"""A new live run's start, on a fresh actor against one taken from the spare runs.

    python bench/bench_start.py            # 3 runs each way, interleaved
    python bench/bench_start.py --runs 5

How: the run service on a local cluster (as the dashboard starts it), a store in a temporary
folder. Each run opens (`open_live_run`), waits for its first view (the session built), is set
playing, and the time until its first training step is in its view is measured, on a fresh
actor (a new run id: a worker process starts, imports the engine, opens the store, draws the
data) and on a spare (`new_live_run_id`, a worker started ahead with that work done), one
after the other, for the default configuration (which a spare builds ahead) and another;
each spare is given 15 s to stand by again (the pool replaces a spare 10 s after it is
taken). Then, with a spare built for each lecture preset (as the dashboard keeps them) and
`--settle` seconds for them to build, each preset's run is opened on the spare built for
it, twice (the second time on the spare started to replace the first). The page's own
drawing comes on top (bench/bench_lecture.py measures Play to the first heatmap in the
browser).
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


def _first_step(run_id: str, configs) -> tuple[float, float]:
    from pcviz import service

    start = time.perf_counter()
    client = service.open_live_run(run_id, *configs)
    client.view(timeout=120)
    built = time.perf_counter() - start
    client.control(play=True)
    while (view := client.view()) is None or view.step_count == 0:
        time.sleep(0.02)
    stepped = time.perf_counter() - start
    client.close()
    return built, stepped


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=60.0,
                        help="seconds the presets' spares are given to build")
    args = parser.parse_args(argv)
    os.environ.setdefault("PCVIZ_STORE", str(Path(tempfile.mkdtemp()) / "runs.sqlite"))
    from pcviz import service
    from pcviz.config import decode
    from pcviz.store import new_run_id

    service.ensure()
    service.start_spare_runs()
    time.sleep(8)
    times: dict[str, list[tuple[float, float]]] = {}
    for name, address in (("default", {}), ("depth 6, width 16", {"depth": "6", "width": "16"})):
        configs = decode(address)[:3]
        for _ in range(args.runs):
            times.setdefault(f"{name}, a fresh actor", []).append(
                _first_step(new_run_id(), configs))
            times.setdefault(f"{name}, a spare run", []).append(
                _first_step(service.new_live_run_id(), configs))
            time.sleep(15)
    from pcviz.ui._presets import PRESETS, preset_configs

    service.start_spare_runs(prepare=[decode({})[:3], *(preset_configs(n) for n in PRESETS)])
    time.sleep(args.settle)
    for _ in range(2):
        for name in PRESETS:
            configs = preset_configs(name)
            times.setdefault(f"{name}, its spare", []).append(
                _first_step(service.new_live_run_id(configs), configs))
        time.sleep(15)  # the spares taken are replaced after 10 s
    print(f"machine: {os.cpu_count()} CPUs, load average "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"open -> built -> first training step ({args.runs} runs each; a spare builds the "
          "default configuration's run ahead; each preset twice on the spare built for it):")
    for kind, pairs in times.items():
        built = ", ".join(f"{b:.2f}" for b, _ in pairs)
        stepped = ", ".join(f"{s:.2f}" for _, s in pairs)
        median = statistics.median(s for _, s in pairs)
        print(f"  {kind:44s} built after {built} s; first step after {stepped} s "
              f"(median {median:.2f} s)")


if __name__ == "__main__":
    main()
