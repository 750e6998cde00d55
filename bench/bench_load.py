"""Many visitors on one server with the default settings, measured in real browser contexts.

    python bench/bench_load.py                       # 4 visitors, 30 s of playing
    python bench/bench_load.py --visitors 8 --seconds 60

How: `streamlit run app.py` headless on a free port with the defaults (a local run service
on every core, no cap on visitors; a fresh run store, and no watching of the source files,
as in production), `--visitors` browser contexts in Debian's Chromium, each
on its own configuration (depths 4, 5, 6, ..., width 16, batch 32, BP and PC-ALM). All press
Play; the time until every one shows its first heatmap is printed (as this script saw it, and
by each page's own clock from the click to the heatmap drawn); then, over `--seconds`, the
training steps per second (each step counter at the start and the end), and page updates
per second: how often each visitor's step counter changed on the page, counted in the page
itself (a `MutationObserver`, so that the count does not depend on how fast this script can
poll four busy browsers). A thread asks `/_stcore/health`
four times a second from the first page load to the end. The browsers run at a lower CPU
priority (nice 10): they stand in for the visitors' own machines. A reload of the first page
at the end measures reload-to-reattached (the run's id is in the address).

Printed: per visitor its steps and updates per second, the slowest run's steps per second
over the fastest's, the redraw interval the server chose for that load (read off the page),
the health latency (median, 95th percentile, maximum; target: every answer within 1 s)
during the start and while playing, and the reload-to-reattached time.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
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
    HealthProbe,
    clock_in_page,
    nice_browsers,
    open_lab,
    play_and_heatmap,
    press,
    rss_mib,
    serve,
    step_count,
)

COUNT_UPDATES_JS = """() => {
  const read = () => {
    for (const metric of document.querySelectorAll('[data-testid="stMetric"]')) {
      if (metric.innerText.includes('Training step')) {
        const value = metric.querySelector('[data-testid="stMetricValue"]');
        return value ? value.innerText : null;
      }
    }
    return null;
  };
  window.pcvizUpdates = 0;
  let last = read();
  new MutationObserver(() => {
    const now = read();
    if (now !== null && now !== last) { last = now; window.pcvizUpdates += 1; }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""
"""Counts, in the page, every change of the step counter shown (`window.pcvizUpdates`)."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` and its threads so far (Linux `/proc`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(latencies: list[float]) -> str:
    if not latencies:
        return "no samples"
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    late = sum(x > 1.0 for x in latencies)
    return (f"{len(latencies)} answers, median {statistics.median(ordered) * 1e3:.0f} ms, "
            f"p95 {p95 * 1e3:.0f} ms, max {ordered[-1] * 1e3:.0f} ms, {late} over 1 s")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0, help="playing window")
    parser.add_argument("--cold", action="store_true",
                        help="a fresh, empty compilation cache (a newly installed server)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="pcviz-bench-load-"))
    env = {"PCVIZ_STORE": str(folder / "runs.sqlite")}
    if args.cold:
        env["PCVIZ_JAX_CACHE"] = str(folder / "jax-cache")
    with serve("--server.fileWatcherType", "none", env=env) as server, \
            sync_playwright() as playwright:
        probe = HealthProbe(server.url, timeout=30)
        probe.start()
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        depths = [4 + i for i in range(args.visitors)]
        pages = []
        for d in depths:
            nice_browsers()
            context = browser.new_context(viewport=VIEWPORT)
            clock_in_page(context)
            pages.append(open_lab(context, f"{server.url}/?depth={d}&width=16&batch=32"
                                           f"&rules=bp,pcalm&seed={d}"))
            nice_browsers()  # each new page gets a renderer at normal priority
        pressed, pressed_at = time.monotonic(), []
        for page in pages:
            pressed_at.append(time.time())
            press(page, "Play", shows="Pause")
        shown: dict[int, float] = {}
        while len(shown) < len(pages) and time.monotonic() - pressed < 180:
            for i, page in enumerate(pages):
                if i not in shown and page.locator(HEATMAP).first.is_visible():
                    shown[i] = time.monotonic() - pressed
            pages[0].wait_for_timeout(250)
        for page in pages:
            page.locator(HEATMAP).first.wait_for(timeout=60_000)
        first_heatmaps = time.monotonic() - pressed
        clocked = [play_and_heatmap(page, at) for page, at in zip(pages, pressed_at)]
        waits = [heatmap - play for play, heatmap in clocked]
        spread = max(heatmap for _, heatmap in clocked) - min(play for play, _ in clocked)
        start, before = time.monotonic(), [step_count(p) for p in pages]
        cpu_start = cpu_seconds(server.process.pid)
        for page in pages:
            page.evaluate(COUNT_UPDATES_JS)
        while time.monotonic() - start < args.seconds:
            pages[0].wait_for_timeout(500)
        changes = [page.evaluate("window.pcvizUpdates") for page in pages]
        took = time.monotonic() - start
        seen = [step_count(p) for p in pages]
        rates = [(s - b) / took for s, b in zip(seen, before)]
        updates = [c / took for c in changes]
        paced = re.search(r"(\d+) live runs? playing, redrawn every ([\d.]+) s",
                          pages[0].get_by_text(re.compile("redrawn every")).first.inner_text())
        rss = rss_mib(server.process.pid)
        cpu = (cpu_seconds(server.process.pid) - cpu_start) / took
        step, reloaded = step_count(pages[0]), time.monotonic()
        pages[0].reload()
        pages[0].get_by_role("button", name="Pause").wait_for(timeout=60_000)
        controls = time.monotonic() - reloaded
        while step_count(pages[0]) < step:
            pages[0].wait_for_timeout(50)
        reattach = time.monotonic() - reloaded
        # The same address in a browser at normal priority, as on a visitor's own machine
        # (the niced browser above shares its cores with the other visitors' pages).
        own = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        step, opened = step_count(pages[0]), time.monotonic()
        elsewhere = own.new_context(viewport=VIEWPORT).new_page()
        elsewhere.goto(pages[0].url)
        elsewhere.get_by_role("button", name="Pause").wait_for(timeout=60_000)
        while step_count(elsewhere) < step:
            elsewhere.wait_for_timeout(50)
        another = time.monotonic() - opened
        own.close()
        browser.close()
        probe.stop()

    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (1, 5, 15 min)")
    cache = "an empty compilation cache" if args.cold else "the compilation cache as it is"
    print(f"{args.visitors} visitors pressed Play ({cache}): every heatmap shown after "
          f"{first_heatmaps:.1f} s (target: within 60 s); each visitor's: "
          + ", ".join(f"{shown[i]:.1f}" for i in sorted(shown)) + " s")
    print("  by the pages' own clocks (click on Play to the first heatmap drawn): "
          + ", ".join(f"{w:.1f}" for w in waits) + f" s; first click to last heatmap "
          f"{spread:.1f} s")
    print(f"over {took:.0f} s of playing (steps/s, page updates/s counted in each page):")
    for depth, rate, update in zip(depths, rates, updates):
        print(f"  depth {depth:3d}: {rate:6.2f} steps/s, {update:4.2f} updates/s")
    pace = f"every {paced.group(2)} s ({paced.group(1)} runs playing)" if paced else "?"
    print(f"slowest run over fastest: {min(rates) / max(max(rates), 1e-9):.2f}; the server "
          f"redraws each page {pace}")
    print(f"training at once: {sum(r > 0 for r in rates)}; total {sum(rates):.1f} steps/s; "
          f"server memory {rss:.0f} MiB; the server used {cpu:.2f} of the {os.cpu_count()} cores")
    print(f"reload to reattached (same run, same step or later): {reattach:.2f} s "
          f"(the run's controls drawn after {controls:.2f} s); the address opened in a browser "
          f"at normal priority: {another:.2f} s")
    early = [lat for t, lat in probe.samples if t < start]
    late = [lat for t, lat in probe.samples if t >= start]
    print(f"health while loading and compiling: {summary(early)}")
    print(f"health while playing:               {summary(late)}  (target: all within 1 s)")
    if probe.failures:
        print(f"health checks unanswered within 30 s: {len(probe.failures)}")


if __name__ == "__main__":
    main()
