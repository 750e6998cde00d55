"""A long run in a real browser (hardening issue, point 2): is memory flat on both sides?

    python bench/soak_dashboard.py                        # 10,000 steps, 10 batches per update
    python bench/soak_dashboard.py --minutes 60 --speed 1 # an hour of one-batch updates
    python bench/soak_dashboard.py --speed auto           # the page's default pace

How: `streamlit run app.py` headless on a free port and one visitor in Debian's Chromium on
the default configuration, playing at `--speed` batches per update until `--steps` training
steps or `--minutes` have passed. Every `--every` seconds it samples the training step, the
reruns the page has asked for (its messages to the server: every timed fragment rerun is
one), the server's resident memory (`/proc`) and the page's used JavaScript heap (Chromium's
`performance.memory`, precise) after a garbage collection of the page.

Printed: the samples, then memory from the first sample after warm-up to the end, and again
from the first sample once the curves' histories are full (`HISTORY_POINTS` steps; they
stop growing there): first and last, range, the change per 1,000 steps. The training curves
are bounded histories and the heatmaps are replaced at every update, so both should stay
flat.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from _browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    HEATMAP,
    VIEWPORT,
    js_heap_mib,
    open_lab,
    press,
    rss_mib,
    serve,
    step_count,
)

from pcviz.train import HISTORY_POINTS  # noqa: E402

SPEEDS = ("auto", 1, 2, 5, 10, 20, 50)
"""The page's 'Batches per update' choices, in the slider's order ("auto" first)."""


def speed(text: str) -> int | str:
    return text if text == "auto" else int(text)


def set_speed(page, speed: int | str) -> None:
    """Move the 'Batches per update' slider to `speed` with the keyboard."""
    thumb = page.get_by_role("slider", name="Batches per update")
    thumb.focus()
    for _ in range(SPEEDS.index(speed)):
        thumb.press("ArrowRight")
    page.wait_for_timeout(1000)


def page_heap(cdp, page) -> float:
    cdp.send("HeapProfiler.collectGarbage")
    return js_heap_mib(page)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--speed", type=speed, default=10, choices=SPEEDS)
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    rows = []
    with serve() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=[*CHROMIUM_ARGS, "--enable-precise-memory-info"])
        page = open_lab(browser.new_context(viewport=VIEWPORT), server.url)
        cdp = page.context.new_cdp_session(page)
        sent = [0]  # the page's messages to the server: its rerun requests, mostly
        page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.__setitem__(
            0, sent[0] + 1)))
        page.reload()  # the listener sees the page's own connection
        page.get_by_role("button", name="Play").wait_for(timeout=120_000)
        set_speed(page, args.speed)
        press(page, "Play", shows="Pause")
        page.locator(HEATMAP).first.wait_for(timeout=120_000)
        start = time.monotonic()
        while True:
            page.wait_for_timeout(args.every * 1000)
            row = (time.monotonic() - start, step_count(page), rss_mib(server.process.pid),
                   page_heap(cdp, page), sent[0])
            rows.append(row)
            print("{:7.0f} s  step {:6d}  server {:6.0f} MiB  page heap {:6.1f} MiB  "
                  "reruns asked {:6d}".format(*row), flush=True)
            if row[1] >= args.steps or row[0] >= args.minutes * 60:
                break
        press(page, "Pause", shows="Play")
        browser.close()
    print(f"\n{rows[-1][1]:,} steps in {rows[-1][0] / 60:.1f} min at {args.speed} batches per "
          f"update; load average {os.getloadavg()[0]:.1f}")
    report(rows[min(1, len(rows) - 1):], "after warm-up")  # the first sample includes warm-up
    full = [r for r in rows if r[1] >= HISTORY_POINTS]
    if len(full) >= 2:
        report(full, f"once the curves' histories are full (step {HISTORY_POINTS:,})")


def report(rows: list[tuple], since: str) -> None:
    """Memory from the first of `rows` to the last: the server's and the page's."""
    first, last = rows[0], rows[-1]
    per_k = 1000 / max(last[1] - first[1], 1)
    server = [r[2] for r in rows]
    print(f"{since}: server memory {first[2]:.0f} MiB at step {first[1]:,}, {last[2]:.0f} MiB "
          f"at step {last[1]:,} ({(last[2] - first[2]) * per_k:+.1f} MiB per 1,000 steps; "
          f"{min(server):.0f}-{max(server):.0f} MiB), {last[4] - first[4]:,} reruns asked; "
          f"page JS heap {first[3]:.1f} -> {last[3]:.1f} MiB "
          f"({(last[3] - first[3]) * per_k:+.2f} MiB per 1,000 steps)")

if __name__ == "__main__":
    main()
