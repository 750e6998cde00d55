"""Several visitors at once on one server, in real browser contexts.

One server with the default settings (a local run service on every core) and a short idle
time for unread runs (`PCVIZ_IDLE_SECONDS=30`). Four visitors, each with its own
configuration, press Play: every one sees heatmaps within 60 s of the click (by the page's
own clock), every run progresses (fair share: nobody waits in line), and the server redraws
each page less often than a lone visitor's (its pace adapts to the load). A reload
reattaches to the same run at its step. Closed tabs' runs are checkpointed and closed. A
thread asks `/_stcore/health` four times a second all along. Bigger settings: `bench/bench_load.py`.
"""

from __future__ import annotations

import re
import time

import pytest
from _browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HEATMAP,
    VIEWPORT,
    WAIT_MS,
    HealthProbe,
    clock_in_page,
    explain_failure,
    nice_browsers,
    no_exception,
    open_lab,
    play_and_heatmap,
    press,
    require_chromium,
    run_caption,
    seen_in_page,
    serve,
    step_count,
    wait_until,
)

from pcviz.service import PAGE_FLOOR, Pacer

pytestmark = [pytest.mark.needs_chromium, pytest.mark.slow]

DEPTHS = (4, 5, 6, 7)
"""One configuration per visitor: the depth tells them apart."""
IDLE = 30


def lone_interval() -> float:
    """A lone visitor's redraw interval (seconds), as the dashboard's pacer sets it."""
    pace = Pacer(floor=PAGE_FLOOR)
    pace.record("lone", 0.0)
    return pace.interval()


FASTEST = lone_interval()


def paced(page) -> tuple[int, float]:
    """What the page says of the server's pace: runs playing, and seconds between redraws."""
    line = page.get_by_text(re.compile("redrawn every")).first.inner_text()
    found = re.search(r"(\d+) live runs? playing, redrawn every ([\d.]+) s", line)
    assert found, line
    return int(found.group(1)), float(found.group(2))


def lab_url(base: str, depth: int) -> str:
    return f"{base}/?depth={depth}&width=16&batch=32&rules=bp,pcalm&seed={depth}"


@pytest.fixture(scope="module")
def load_server(tmp_path_factory):
    require_chromium()
    folder = tmp_path_factory.mktemp("streamlit")
    env = {"PCVIZ_IDLE_SECONDS": str(IDLE), "PCVIZ_STORE": str(folder / "runs.sqlite")}
    # A closed tab's session is dropped after 3 s (Streamlit keeps it 120 s by default).
    with serve("--server.disconnectedSessionTTL", "3", env=env,
               log=folder / "server.log") as running:
        yield running.url, folder / "server.log", env["PCVIZ_STORE"]


def test_four_visitors_all_train_at_once_a_reload_reattaches_and_closed_tabs_free_their_runs(
        load_server, tmp_path):
    from playwright.sync_api import sync_playwright

    from pcviz.store import open_store

    url, log, store = load_server
    probe = HealthProbe(url)
    probe.start()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            with explain_failure(browser, tmp_path, log):
                pages = []
                for depth in DEPTHS:
                    # The browsers stand in for the visitors' own machines: they take the
                    # cores only when the server does not need them (nice 10).
                    nice_browsers()
                    context = browser.new_context(viewport=VIEWPORT)
                    clock_in_page(context)
                    pages.append(open_lab(context, lab_url(url, depth)))
                    nice_browsers()
                pressed = []
                for page in pages:
                    pressed.append(time.time())
                    press(page, "Play", shows="Pause", seconds=60)
                for page in pages:
                    page.locator(HEATMAP).first.wait_for(timeout=2 * WAIT_MS)
                # Each visitor's wait, by the page's own clock: from the click on Play to the
                # first heatmap drawn. (Playwright's own look at a page queues behind the
                # page's drawing here, where four browsers share the server's two cores, and
                # would add seconds per look that no visitor on a machine of their own sees.)
                clocked = [play_and_heatmap(page, at) for page, at in zip(pages, pressed)]
                waits = [heatmap - play for play, heatmap in clocked]
                spread = max(heatmap for _, heatmap in clocked) - min(play for play, _ in clocked)
                print("\nfour visitors pressed Play: first heatmap after "
                      + ", ".join(f"{w:.1f}" for w in waits) + f" s; {spread:.1f} s from the "
                      "first press to the last visitor's heatmap")
                assert max(waits) < 60, waits
                # All progressing at once, each on its own configuration.
                start, before = time.monotonic(), [step_count(p) for p in pages]
                for page, first in zip(pages, before):
                    wait_until(page, lambda p=page, f=first: step_count(p) >= f + 5, 90,
                               "every visitor's run to progress")
                rates = [(step_count(p) - b) / (time.monotonic() - start)
                         for p, b in zip(pages, before)]
                print("steps/s of the four visitors:", " ".join(f"{r:.1f}" for r in rates))
                # The server's pace adapts to the load: with four runs playing, each page is
                # redrawn less often than a lone visitor's (the fastest interval). A page
                # that has not redrawn for the pacer's `ttl` (its browser held up on these
                # shared cores) is left out of the count until it redraws: wait for all four.
                shown = []

                def all_counted() -> bool:
                    shown.append(paced(pages[0]))
                    return shown[-1][0] == len(DEPTHS)

                wait_until(pages[0], all_counted, 60, "the server to count all four pages")
                playing, every = shown[-1]
                print(f"the server redraws each page every {every:.2f} s ({playing} playing)")
                assert playing == len(DEPTHS) and every > FASTEST
                for page, depth in zip(pages, DEPTHS):
                    assert f"depth L = {depth}," in run_caption(page)
                    assert re.search(rf"[?&]depth={depth}\b", page.url)
                    assert re.search(r"[?&]run=[a-z0-9]+", page.url)

                # A reload reattaches to the same run, still playing, at its step or later.
                run_id = re.search(r"run=([a-z0-9]+)", pages[0].url).group(1)
                step = step_count(pages[0])
                reloaded, reloaded_at = time.monotonic(), time.time()
                pages[0].reload(timeout=WAIT_MS)
                nice_browsers()
                pages[0].get_by_role("button", name="Pause").wait_for(timeout=2 * WAIT_MS)
                # The reloaded page builds itself behind three other pages' redraws and four
                # runs on the same two cores: by its own clock 40-73 s here (printed below).
                wait_until(pages[0], lambda: step_count(pages[0]) >= step, 120, "the reattach")
                pages[0].locator(HEATMAP).first.wait_for(timeout=WAIT_MS)
                shown = seen_in_page(pages[0]).get("heatmap", float("nan")) - reloaded_at
                print(f"reload to reattached: its heatmap drawn after {shown:.2f} s by the "
                      f"page's clock, seen by the test after {time.monotonic() - reloaded:.2f} s")
                assert f"run={run_id}" in pages[0].url

                # Closed tabs' runs are checkpointed and closed once nobody reads them.
                for page in pages[1:]:
                    page.context.close()
                closed = [re.search(r"run=([a-z0-9]+)", p.url).group(1) for p in pages[1:]]

                def checkpointed() -> bool:
                    records = [open_store(store).get(r) for r in closed]
                    return all(r is not None and r.status == "paused" and r.step > 0
                               for r in records)

                try:
                    wait_until(pages[0], checkpointed, 150, "the closed tabs' runs to be saved")
                except TimeoutError as err:
                    found = [open_store(store).get(r) for r in closed]
                    raise TimeoutError(f"{err}; the store has " + ", ".join(
                        f"{r}: {f.status if f else None} at step {f.step if f else None}"
                        for r, f in zip(closed, found))) from None
                no_exception(pages[0])
        finally:
            browser.close()
            probe.stop()
    assert probe.samples and not probe.failures, probe.failures
    worst = max(lat for _, lat in probe.samples)
    slow = sorted(probe.samples, key=lambda s: -s[1])[:3]
    ordered = sorted(lat for _, lat in probe.samples)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(f"health: {len(probe.samples)} answers, 95th percentile {p95:.3f} s, max {worst:.3f} s;"
          " slowest at " + ", ".join(f"{t - probe.samples[0][0]:.0f} s ({lat:.2f} s)"
                                     for t, lat in slow))
    # Target: every answer within 1 s. The browsers share the server's two cores here, so a
    # page load can hold an answer up: 95 % within 1 s, none past 5 s.
    assert p95 < 1.0 and worst < 5.0
