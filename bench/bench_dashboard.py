"""Dashboard benchmarks (issue 3, point 8), measured in a real browser.

    python bench/bench_dashboard.py             # both measurements, about two minutes
    python bench/bench_dashboard.py --seconds 20 --depth 32,128 --rates-only

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
2. **Updates per second** (`--depth 32,128`; targets: >= 8 at depth 32, >= 2 at depth 128):
   `?depth=N` with the default rules (BP, PC, PC-ALM) and speed ("auto"); once the first
   heatmap and the alignment plot are drawn (background compilation finished), on a server
   left `--settle` seconds to its start-up compiles (the spare runs'), count how far
   the step counter moves in the browser over `--seconds` (training steps per second a
   visitor sees), and how often it changes (page redraws per second); meanwhile, the cores
   the browser, the dashboard's server, the run service's workers and Ray's own processes
   used, and the browser's and the server's CPU per page redraw.

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
    nice_browsers,
    open_lab,
    play_to_heatmap,
    press,
    serve,
    step_count,
)

TIMEOUT_MS = 120_000


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _kind(command: str) -> str:
    """Which part of the set-up a process belongs to, from its command line."""
    if "chromium" in command:
        return "browser"
    if "streamlit" in command:
        return "dashboard"
    if command.startswith("ray::"):
        return "runs"  # the run service's workers: the visitor's run, spares, idle ones
    return "Ray's own" if "ray" in command else "other"


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) so far of every process on the machine, by `_kind`."""
    spent: dict[str, float] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone
        kind = _kind(command)
        spent[kind] = spent.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return spent


def updates_per_second(browser, url: str, seconds: float) -> tuple[float, float, str, dict]:
    """Training steps per second seen in the browser (the step counter's rate), how often the
    page showed a new step (redraws per second, sampled every 100 ms), the server's own
    count from the page's status line, and the cores each part of the set-up used meanwhile
    (`cpu_seconds` over the window; a process that ended in it is left out)."""
    page = open_lab(browser.new_context(viewport=VIEWPORT), url)
    nice_browsers()  # the browser stands in for the visitor's own machine, as in bench_load
    press(page, "Play", shows="Pause")
    page.locator(HEATMAP).first.wait_for(timeout=TIMEOUT_MS)
    page.get_by_text("Weight-gradient alignment").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)
    first, start, spent = step_count(page), time.perf_counter(), cpu_seconds()
    last, redraws = first, 0
    while time.perf_counter() - start < seconds:
        page.wait_for_timeout(100)
        now = step_count(page)
        redraws, last = redraws + (now != last), now
    took = time.perf_counter() - start
    cores = {kind: (total - spent.get(kind, 0.0)) / took
             for kind, total in cpu_seconds().items()}
    line = page.get_by_text(re.compile(r"updates/s")).first.inner_text()
    server = re.search(r"([\d.]+) updates/s", line)
    press(page, "Pause", shows="Play")
    page.context.close()
    return (last - first) / took, redraws / took, server.group(1) if server else "n/a", cores


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", default="32",
                        help="depths for updates per second, comma separated (e.g. 32,128)")
    parser.add_argument("--seconds", type=float, default=12.0, help="counting window")
    parser.add_argument("--rates-only", action="store_true",
                        help="skip the Play-to-first-heatmap measurements")
    parser.add_argument("--settle", type=float, default=90.0,
                        help="seconds the server is left to its start-up compiles before the "
                             "updates per second are counted")
    args = parser.parse_args(argv)
    depths = [int(d) for d in args.depth.split(",")]
    from playwright.sync_api import sync_playwright

    starts, rates = {}, {}
    with tempfile.TemporaryDirectory(prefix="pcviz-jax-cache-") as cache, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        if not args.rates_only:
            with serve(env={"PCVIZ_JAX_CACHE": cache}) as (url, _):
                starts["first visitor, fresh server, empty compilation cache"] = \
                    play_to_heatmap(browser, url).seconds
                starts["second visitor of that server"] = play_to_heatmap(browser, url).seconds
        with serve(env={"PCVIZ_JAX_CACHE": cache}) as (url, _):
            if not args.rates_only:
                starts["first visitor after a restart (persistent cache)"] = \
                    play_to_heatmap(browser, url).seconds
            time.sleep(args.settle)  # the spare runs build the default run and the presets
            for depth in depths:
                rates[depth] = updates_per_second(browser, f"{url}/?depth={depth}",
                                                  args.seconds)
        browser.close()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (1, 5, 15 min)")
    if starts:
        print("Play -> first heatmap, default config, by the page's clock (target < 3 s):")
        for name, took in starts.items():
            print(f"  {name + ':':<54}{took:.2f} s")
    for depth, (steps, redraws, server, cores) in rates.items():
        target = 2 if depth >= 128 else 8 if depth >= 32 else 4
        print(f"depth {depth}, BP + PC + PC-ALM: {steps:.1f} training steps/s in the browser "
              f"(target >= {target}), page redraws {redraws:.1f}/s, server {server} updates/s")
        print("  cores used while counting: " + ", ".join(
            f"{kind} {used:.2f}" for kind, used in sorted(cores.items(), key=lambda k: -k[1])))
        per = ", ".join(f"{kind} {1000 * cores[kind] / redraws:.0f} ms"
                        for kind in ("browser", "dashboard") if kind in cores)
        print(f"  CPU per page redraw: {per}" if redraws else "  no page redraw counted")


if __name__ == "__main__":
    main()
