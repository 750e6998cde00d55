"""Reload to reattached, as the server sees it: a page reopening a live run's address.

    python bench/bench_reattach.py            # 5 reloads of a playing run
    python bench/bench_reattach.py --reloads 10

How: a live run (depth 8, width 16, batch 16) is opened through the dashboard's own page
(Streamlit's AppTest: the page's script in this process, the run on the local run service)
and set playing; then, `--reloads` times, a new page opens the same address (a reload, a
second tab) and the time until it has drawn the run's current state is measured, together
with the step the reload shows against the step the run had reached. The browser's own page
load (fetching and starting Streamlit's front end) comes on top: see bench/bench_load.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _apptest import SMALL, click, lab, open_app


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reloads", type=int, default=5)
    args = parser.parse_args(argv)
    from pcviz import service

    service.ensure()
    first = click(open_app(**SMALL), "lab_play")
    address = dict(first.query_params)
    time.sleep(5)  # the run compiles and trains
    seconds, lags = [], []
    for _ in range(args.reloads):
        start = time.perf_counter()
        again = open_app(**address)
        seconds.append(time.perf_counter() - start)
        view = lab(again).session
        assert lab(again).run_id == address["run"] and view.playing
        lags.append(view.step_count)
        time.sleep(1)
    print(f"reload to reattached (server side, {args.reloads} reloads of a playing run): "
          f"median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s; "
          f"steps shown: {', '.join(map(str, lags))}")


if __name__ == "__main__":
    main()
