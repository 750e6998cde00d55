"""What the live lab's figures cost the server per redraw: built as plain dicts (what pcviz
does, `pcviz.figures._style.figure_of`) against the same figures put through plotly.py's
checks of every property (`go.Figure(figure.to_dict())`), each serialised to the JSON a
page receives.

    python bench/bench_figures.py              # under a minute
    python bench/bench_figures.py --depth 128 --rounds 20
    python bench/bench_figures.py --against PATH   # and an earlier checkout's figures

Figures (the default live run's, at `--depth`): the inference heatmaps of PC and PC-ALM
(T = 2L steps by L - 1 layers, arrival fronts, redrawn with every update), the training
curves of three rules over 2,000 steps (redrawn every second), the alignment with BP (redrawn
as it is measured, every two seconds or so). The two ways alternate round by
round; medians of milliseconds per figure and their ratio are printed with the load average
(the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

# the pcviz timed: this checkout's, or with --against, in a sample's process, the other's
sys.path.insert(0, os.environ.get("PCVIZ_CHECKOUT", str(Path(__file__).resolve().parents[1])))

import numpy as np
import plotly.graph_objects as go

from pcviz import analysis, figures

RULES = ("bp", "pc", "pcalm")
HISTORY = 2000


def live_figures(depth: int) -> dict[str, Callable[[], go.Figure]]:
    """Name -> a function building one of the lab's live figures at `depth`."""
    rng = np.random.default_rng(0)
    steps, layers = 2 * depth, depth - 1
    credit = {rule: rng.random((steps, layers)) for rule in ("pc", "pcalm")}
    arrivals = {rule: analysis.arrival_steps(c, np.full(layers, 0.5))
                for rule, c in credit.items()}
    step = np.arange(HISTORY)
    loss = {r: (step, rng.random(HISTORY) + 0.01) for r in RULES}
    accuracy = {r: (step, rng.random(HISTORY)) for r in RULES}
    tested = {r: (step[::50], rng.random(HISTORY // 50)) for r in RULES}
    cosines = {r: rng.random(depth + 1) for r in ("pc", "pcalm")}
    sizes = {r: rng.random(depth + 1) + 0.01 for r in ("pc", "pcalm")}
    return {
        f"heatmaps (T = {steps}, L - 1 = {layers})":
            lambda: figures.inference_heatmaps(credit, arrivals=arrivals),
        f"training curves ({len(RULES)} rules x {HISTORY} steps)":
            lambda: figures.training_curves(loss, accuracy, test_accuracy=tested),
        f"alignment with BP ({depth} weight layers, cosines and sizes)":
            lambda: figures.layer_alignment(cosines, norm_ratios=sizes),
    }


def milliseconds(build: Callable[[], str], repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        build()
    return 1000 * (time.perf_counter() - started) / repeat


def sample(depth: int, repeat: int) -> dict[str, float]:
    """Milliseconds per figure (built and serialised), each live figure after one unmeasured
    build."""
    out = {}
    for name, build in live_figures(depth).items():
        build().to_json()
        out[name] = milliseconds(lambda build=build: build().to_json(), repeat)
    return out


def sample_of(checkout: str, depth: int, repeat: int) -> dict[str, float]:
    """`sample` of the pcviz in `checkout`, in a process of its own."""
    found = subprocess.run(
        [sys.executable, __file__, "--sample", "--depth", str(depth), "--repeat", str(repeat)],
        env={**os.environ, "PCVIZ_CHECKOUT": checkout}, capture_output=True, text=True,
        check=True)
    return json.loads(found.stdout.splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="figures per sample")
    parser.add_argument("--against", metavar="PATH",
                        help="a checkout of another pcviz version (an earlier commit, say): "
                             "its figures are timed too, in processes of their own, "
                             "alternating with this checkout's")
    parser.add_argument("--sample", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sample:  # one process's sample, for --against
        print(json.dumps(sample(args.depth, args.repeat)))
        return
    print(f"machine: {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name, build in live_figures(args.depth).items():
        ways = {"dicts": lambda build=build: build().to_json(),
                "checked": lambda build=build: go.Figure(build().to_dict()).to_json()}
        for way in ways.values():
            way()  # warm
        times: dict[str, list[float]] = {way: [] for way in ways}
        for round_ in range(args.rounds):
            for way in sorted(ways, reverse=round_ % 2 == 1):
                times[way].append(milliseconds(ways[way], args.repeat))
        fast, checked = (statistics.median(times[w]) for w in ("dicts", "checked"))
        print(f"{name}: as dicts {fast:.1f} ms, through plotly.py's checks {checked:.1f} ms "
              f"(the checks' extra work included): ratio {fast / checked:.2f}")
    if args.against:
        here = str(Path(__file__).resolve().parents[1])
        samples: dict[str, list[dict[str, float]]] = {"here": [], "there": []}
        for round_ in range(max(3, args.rounds // 2)):
            for where in sorted(samples, reverse=round_ % 2 == 1):
                checkout = here if where == "here" else args.against
                samples[where].append(sample_of(checkout, args.depth, args.repeat))
        for name in samples["here"][0]:
            mine, theirs = (statistics.median(s[name] for s in samples[w] if name in s)
                            for w in ("here", "there"))
            print(f"{name}: this checkout {mine:.1f} ms, {args.against} {theirs:.1f} ms: "
                  f"ratio {mine / theirs:.2f}")


if __name__ == "__main__":
    main()
