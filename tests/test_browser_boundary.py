"""The decision regions and the network diagram in a real browser: `streamlit run app.py`
driven by Debian's Chromium, on the spirals (a planar data set) and on the linear teacher (32
features). The regions must be drawn before Play (the untrained networks' classes), then
follow the run while it plays, redrawn in place (one chart, never blank or faded).
Screenshots go to `tests/artifacts/screenshots/`, or with `PCVIZ_SCREENSHOTS=docs/screenshots`
to the README's pictures."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from _browser import (
    ROOT,
    WAIT_MS,
    no_exception,
    press,
    sample_frames,
    step_count,
    wait_idle,
    wait_until,
)

SHOTS = ROOT / os.environ.get("PCVIZ_SCREENSHOTS", "tests/artifacts/screenshots")
REGIONS = ".st-key-live_boundary .js-plotly-plot .heatmaplayer image"
NETWORK_BLOCKS = ".st-key-live_network .js-plotly-plot .bars path"
TITLE = ".st-key-live_boundary .js-plotly-plot .gtitle"
CHARTS_IN_BOX = "document.querySelectorAll('.st-key-live_boundary .js-plotly-plot').length"

pytestmark = [pytest.mark.needs_chromium, pytest.mark.slow]


def regions_step(page) -> int:
    """The training step the drawn regions belong to, from the figure's title (-1: none)."""
    title = page.evaluate("(sel) => document.querySelector(sel)?.textContent ?? ''", TITLE)
    found = re.search(r"after ([\d,]+) training step", title)
    return int(found.group(1).replace(",", "")) if found else -1


def test_spirals_show_their_regions_before_play_and_they_follow_the_run(page, server):
    page.goto(server + "/?dataset=spirals&depth=8&width=16&batch=16", timeout=WAIT_MS)
    page.get_by_role("button", name="Play").wait_for(timeout=WAIT_MS)
    page.locator(REGIONS).first.wait_for(timeout=WAIT_MS)
    assert page.locator(REGIONS).count() == 3  # BP, PC, PC-ALM side by side
    assert page.locator(NETWORK_BLOCKS).count() >= 3 * 9  # input, 7 hidden, output per rule
    assert regions_step(page) == 0  # the untrained networks' classes, before Play
    press(page, "Play", shows="Pause")
    wait_until(page, lambda: regions_step(page) >= 5, 90, "the regions of step 5 or later")
    seen = regions_step(page)
    # While the run plays the regions are redrawn in place: one chart, never blank or faded.
    frames = sample_frames(page, "live_boundary", samples=40)
    assert frames.blank == frames.dimmed == 0, frames
    assert page.evaluate(CHARTS_IN_BOX) == 1 and page.locator(REGIONS).count() == 3
    assert regions_step(page) > seen, "the regions did not follow the run"
    assert step_count(page) >= seen
    press(page, "Pause", shows="Play")
    wait_idle(page)
    no_exception(page)
    check_the_csv_download(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    box = page.locator(".st-key-live_boundary")
    box.scroll_into_view_if_needed()
    page.mouse.move(5, 5)
    page.wait_for_timeout(1000)
    box.screenshot(path=str(SHOTS / "lab_boundary.png"))
    page.locator(".st-key-live_network").screenshot(path=str(SHOTS / "lab_network.png"))


def check_the_csv_download(page) -> None:
    """The regions' CSV names the page's run and holds a grid row per rule and point."""
    import csv
    import io

    page.get_by_text("Download the decision regions").click()
    with page.expect_download(timeout=WAIT_MS) as caught:
        page.get_by_role("button", name=re.compile("lab-boundary.csv")).click()
    text = Path(caught.value.path()).read_text(encoding="utf-8")
    run_id = re.search(r"[?&]run=([a-z0-9]+)", page.url).group(1)
    assert text.startswith(f"# pcviz run {run_id} step ")
    rows = list(csv.DictReader(io.StringIO(text.split("\n", 1)[1])))
    grid = [r for r in rows if r["kind"] == "grid"]
    assert {r["rule"] for r in grid} == {"bp", "pc", "pcalm"} and len(grid) == 3 * 64 * 64
    assert abs(float(grid[0]["p_0"]) + float(grid[0]["p_1"]) - 1) < 1e-3


def test_data_that_are_not_planar_show_no_regions(page, server):
    page.goto(server + "/?dataset=teacher&depth=8&width=16&batch=16", timeout=WAIT_MS)
    page.get_by_role("button", name="Play").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    page.get_by_role("button", name="Step", exact=True).click()
    wait_until(page, lambda: step_count(page) >= 1, 90, "one training step")
    wait_idle(page)
    assert page.locator(".st-key-live_boundary").count() == 0
    assert page.locator(".st-key-live_network").count() == 0
    assert page.get_by_text("decision regions").count() == 0
    no_exception(page)
