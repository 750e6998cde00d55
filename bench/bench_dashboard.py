"""Dashboard benchmarks (issue 3, point 8), measured in a real browser.

    python bench/bench_dashboard.py             # both measurements, about two minutes
    python bench/bench_dashboard.py --seconds 20 --depth 32

How: `streamlit run app.py` headless on a free port, driven by Debian's Chromium through
Playwright (`/usr/bin/chromium`, no browser download), exactly as a visitor would.

1. **Play to first heatmap** (target < 3 s, default configuration, compilation included): open
   the lab, wait until the page has finished loading, press Play at once, and time until the
   first heatmap image is drawn in the browser. Three cases: the first visitor of a server
   started with an *empty* JAX compilation cache (everything compiles: the server starts
   compiling the run's programs in the background as the page loads, and Play waits for what
   is left); a second visitor of that server (programs compiled in memory); the first visitor
   of a restarted server that finds the programs in the persistent cache (`~/.cache/pcviz/jax`).
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
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
HEATMAP = ".js-plotly-plot .heatmaplayer image"
TIMEOUT_MS = 120_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(cache_dir: str):
    """A headless server on a free port with JAX's persistent cache in `cache_dir`."""
    port = _free_port()
    env = dict(os.environ, PCVIZ_JAX_CACHE=cache_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the streamlit server did not start")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def step_count(page) -> int:
    metric = page.get_by_test_id("stMetric").filter(has_text="Training step")
    return int(metric.get_by_test_id("stMetricValue").inner_text().replace(",", ""))


def open_lab(browser, url: str):
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(url, timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Play").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=TIMEOUT_MS)
    return page


def play_to_heatmap(browser, url: str) -> float:
    """Seconds from the click on Play to the first heatmap drawn in the browser."""
    page = open_lab(browser, url)
    start = time.perf_counter()
    page.get_by_role("button", name="Play").click()
    page.locator(HEATMAP).first.wait_for(timeout=TIMEOUT_MS)
    seconds = time.perf_counter() - start
    page.get_by_role("button", name="Pause").click()
    page.close()
    return seconds


def updates_per_second(browser, url: str, seconds: float) -> tuple[float, str]:
    """Step-counter rate seen in the browser at one batch per update, and the server's own
    count from the page's status line."""
    page = open_lab(browser, url)
    page.get_by_role("button", name="Play").click()
    page.locator(HEATMAP).first.wait_for(timeout=TIMEOUT_MS)
    page.get_by_text("Weight-gradient alignment").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)
    first, start = step_count(page), time.perf_counter()
    page.wait_for_timeout(seconds * 1000)
    rate = (step_count(page) - first) / (time.perf_counter() - start)
    line = page.get_by_text(re.compile(r"updates/s")).first.inner_text()
    server = re.search(r"([\d.]+) updates/s", line)
    page.get_by_role("button", name="Pause").click()
    page.close()
    return rate, server.group(1) if server else "n/a"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=32, help="depth for updates per second")
    parser.add_argument("--seconds", type=float, default=12.0, help="counting window")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="pcviz-jax-cache-") as cache, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        with serve(cache) as url:
            cold = play_to_heatmap(browser, url)
            second = play_to_heatmap(browser, url)
        with serve(cache) as url:
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
