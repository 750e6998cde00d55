"""Dashboard benchmarks (issue 3, point 8), measured in a real browser.

    python bench/bench_dashboard.py             # both measurements, about two minutes
    python bench/bench_dashboard.py --seconds 20 --depth 32

How: `streamlit run app.py` headless on a free port, driven by Debian's Chromium through
Playwright (`/usr/bin/chromium`, no browser download), exactly as a visitor would.

1. **Play to first heatmap** (target < 3 s, default configuration, compilation included): open
   the lab, wait until the page has finished loading, press Play at once, and time until the
   first heatmap image is drawn in the browser. Three cases: the first visitor of a server
   started with an *empty* JAX compilation cache (everything compiles: the server starts
   compiling the default run's programs in the background as it starts, `app.py`'s lifespan
   hook, and Play waits for what is left); a second visitor of that server (programs compiled
   in memory); the first visitor of a restarted server that finds the programs in the
   persistent cache (`~/.cache/pcviz/jax`).
2. **Updates per second at depth 32** (target >= 4): `?depth=32`, one batch per update; once
   the first heatmap and the alignment plot are drawn (background compilation finished), count
   how far the step counter moves in the browser over `--seconds`. Each update trains one
   batch and redraws the status and the heatmaps; the curves redraw every second, the
   alignment and timing every two.

The machine's load average is printed with the figures: browser and server share its cores.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HEATMAP,
    VIEWPORT,
    open_lab,
    play_to_heatmap,
    press,
    serve,
    step_count,
)

TIMEOUT_MS = 120_000


def updates_per_second(browser, url: str, seconds: float) -> tuple[float, str]:
    """Step-counter rate seen in the browser at one batch per update, and the server's own
    count from the page's status line."""
    page = open_lab(browser.new_context(viewport=VIEWPORT), url)
    press(page, "Play", shows="Pause")
    page.locator(HEATMAP).first.wait_for(timeout=TIMEOUT_MS)
    page.get_by_text("Weight-gradient alignment").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)
    first, start = step_count(page), time.perf_counter()
    page.wait_for_timeout(seconds * 1000)
    rate = (step_count(page) - first) / (time.perf_counter() - start)
    line = page.get_by_text(re.compile(r"updates/s")).first.inner_text()
    server = re.search(r"([\d.]+) updates/s", line)
    press(page, "Pause", shows="Play")
    page.context.close()
    return rate, server.group(1) if server else "n/a"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=32, help="depth for updates per second")
    parser.add_argument("--seconds", type=float, default=12.0, help="counting window")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="pcviz-jax-cache-") as cache, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        with serve(env={"PCVIZ_JAX_CACHE": cache}) as (url, _):
            cold = play_to_heatmap(browser, url)
            second = play_to_heatmap(browser, url)
        with serve(env={"PCVIZ_JAX_CACHE": cache}) as (url, _):
            cached = play_to_heatmap(browser, url)
            rate, server_rate = updates_per_second(browser, f"{url}/?depth={args.depth}",
                                                   args.seconds)
        browser.close()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (1, 5, 15 min)")
    print("Play -> first heatmap, default config (target < 3 s):")
    print(f"  first visitor, fresh server, empty compilation cache: {cold:.2f} s")
    print(f"  second visitor of that server:                        {second:.2f} s")
    print(f"  first visitor after a restart (persistent cache):     {cached:.2f} s")
    print(f"updates per second at depth {args.depth} (1 batch per update): {rate:.1f} in the "
          f"browser, {server_rate} on the server (target >= 4)")


if __name__ == "__main__":
    main()
