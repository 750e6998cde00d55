"""The lecture, measured in a real browser: a warm server's Play to first heatmap for every
lecture preset, the seconds from Play to a visible gap between the rules with the defaults,
and how often the live heatmap is blank or faded while a run plays.

    python bench/bench_lecture.py              # about four minutes
    python bench/bench_lecture.py --settle 120 # wait longer for the start-up compiles

How: `streamlit run app.py` headless on a free port, driven by Debian's Chromium through
Playwright (`/usr/bin/chromium`). The server compiles the default run and every preset as it
starts; the bench waits `--settle` seconds for that, then opens each preset's address as a new
visitor, presses Play (at once, and in a second visitor once the page shows the run built and
the heatmaps' empty frame drawn) and times the first heatmap drawn, by the page's own clock
(from the click to the chart in the page: Playwright's own looks would add their wait behind
the page's drawing). With the
defaults it then plays until PC is 10 points of accuracy behind both BP and PC-ALM on the
page's own metrics, and samples the heatmap every 250 ms (80 samples). The load average is
printed: browser and server share the machine's cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from _browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    gap_between_rules,
    open_lab,
    play_to_heatmap,
    press,
    rule_accuracies,
    sample_frames,
    serve,
)

TIMEOUT_MS = 180_000


def preset_addresses() -> dict[str, str]:
    """Preset name -> its query string."""
    from pcviz.config import encode
    from pcviz.ui._presets import PRESETS, preset_configs

    return {name: urlencode(encode(*preset_configs(name))) for name in PRESETS}


def play_to_gap(browser, url: str, limit: float) -> tuple[float, dict[str, float], object]:
    """Seconds from Play to PC 10 points behind BP and PC-ALM (inf past `limit`), the
    accuracies then, and the heatmap's frames sampled afterwards."""
    page = open_lab(browser.new_context(viewport=VIEWPORT), url)
    start = time.perf_counter()
    press(page, "Play", shows="Pause")
    seen, seconds = {}, float("inf")
    while time.perf_counter() - start < limit:
        seen = rule_accuracies(page)
        if gap_between_rules(seen):
            seconds = time.perf_counter() - start
            break
        page.wait_for_timeout(500)
    frames = sample_frames(page, "lab_heatmaps")
    press(page, "Pause", shows="Play")
    page.context.close()
    return seconds, seen, frames


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle", type=float, default=90.0,
                        help="seconds to let the server compile the presets after it starts")
    parser.add_argument("--limit", type=float, default=180.0,
                        help="longest wait for the gap between the rules")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, serve() as server:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        time.sleep(args.settle)
        heatmap = {name: (play_to_heatmap(browser, f"{server.url}/?{query}", when_ready=False),
                          play_to_heatmap(browser, f"{server.url}/?{query}", when_ready=True))
                   for name, query in preset_addresses().items()}
        gap, accuracy, frames = play_to_gap(browser, server.url + "/", args.limit)
        browser.close()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (1, 5, 15 min)")
    print(f"Play -> first heatmap on a warm server (started {args.settle:.0f} s before; "
          "by the page's clock; target < 2 s):")
    print(f"  {'preset':<32} {'at once':>8} {'when ready':>11}")
    for name, (at_once, ready) in heatmap.items():
        print(f"  {name:<32} {at_once.seconds:6.2f} s {ready.seconds:9.2f} s   (longest page "
              f"task {at_once.longest_task:.2f} s; {ready.longest_task:.2f} s)")
    print("  (at once: Play pressed as soon as the page shows it, while the run is still being"
          "\n   built; when ready: once the page shows the run built and compiled and the heatmaps'"
          "\n   empty frame drawn; longest page task: the longest task of the page's main thread"
          "\n   between the click and the heatmap, which the click waited behind)")
    shown = ", ".join(f"{k} {v:.1f} %" for k, v in accuracy.items())
    print(f"Play -> PC 10 points behind BP and PC-ALM, defaults (target < 60 s): {gap:.1f} s "
          f"({shown})")
    print(f"heatmap over 80 samples at 250 ms while playing: {frames.blank} blank, "
          f"{frames.dimmed} faded, {frames.stale} redrawing (drawn in full), "
          f"{frames.shown} shown")


if __name__ == "__main__":
    main()
