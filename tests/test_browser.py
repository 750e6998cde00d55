"""The dashboard in a real browser: `streamlit run app.py` driven by Debian's Chromium.

The server runs headless on a free port; Playwright drives `/usr/bin/chromium` (no browser
download). The lab test presses Play, waits for a heatmap and a moving step counter, changes
the depth, and opens the shared address in a new page; every page is opened once. Screenshots
go to `tests/artifacts/screenshots/`, or with `PCVIZ_SCREENSHOTS=docs/screenshots` to the
README's pictures. Every wait is bounded, and the server
is stopped in the fixture's teardown.
"""

from __future__ import annotations

import os
import re
import time

import pytest
from _browser import (
    HEATMAP,
    HEATMAP_FRAME,
    ROOT,
    VIEWPORT,
    WAIT_MS,
    gap_between_rules,
    no_exception,
    open_lab,
    press,
    rule_accuracies,
    run_caption,
    sample_frames,
    serve,
    step_count,
    wait_idle,
    wait_until,
)

# Screenshots go to tests/artifacts/ (ignored by git); PCVIZ_SCREENSHOTS=docs/screenshots
# refreshes the README's pictures.
SHOTS = ROOT / os.environ.get("PCVIZ_SCREENSHOTS", "tests/artifacts/screenshots")

pytestmark = [pytest.mark.needs_chromium, pytest.mark.slow]


def screenshot(page, name: str, height: int = 1900) -> None:
    """A tall screenshot of the page (Streamlit scrolls its main area, not the window)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(5, 5)
    page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
    page.wait_for_timeout(1500)  # charts redraw at the new size
    page.screenshot(path=str(SHOTS / name))
    page.set_viewport_size(VIEWPORT)


def test_lab_plays_and_its_address_reopens_the_run(page, browser, server):
    # Everything the page loads comes from this server: a lecture hall may have no internet.
    elsewhere = []

    def note_host(request) -> None:
        if not request.url.startswith((server, "data:", "blob:")):
            elsewhere.append(request.url)

    page.on("request", note_host)
    page.goto(server + "/", timeout=WAIT_MS)
    play = page.get_by_role("button", name="Play")
    play.wait_for(timeout=WAIT_MS)
    wait_idle(page)
    assert step_count(page) == 0
    # Before the first step the heatmaps' frame is drawn, without colour; the first
    # heatmaps fill that chart in place.
    page.locator(HEATMAP_FRAME).first.wait_for(timeout=WAIT_MS)
    assert page.locator(HEATMAP).count() == 0
    page.evaluate(f"document.querySelector('{HEATMAP_FRAME}').closest('.js-plotly-plot')"
                  ".__kept = true")
    press(page, "Play", shows="Pause")
    page.locator(HEATMAP).first.wait_for(timeout=WAIT_MS)
    assert page.evaluate(f"!!document.querySelector('{HEATMAP}').closest('.js-plotly-plot')"
                         ".__kept"), "the first heatmaps drew a new chart, not the frame"
    first = step_count(page)
    wait_until(page, lambda: step_count(page) >= first + 3, 60, "the step counter to move")
    wait_until(page, lambda: step_count(page) >= 40, 90, "40 training steps (for the picture)")
    press(page, "Pause", shows="Play")
    wait_idle(page)
    no_exception(page)
    screenshot(page, "lab.png", height=2800)
    assert not elsewhere, f"the page asked other hosts for {elsewhere}"

    depth = page.get_by_role("spinbutton", name="Depth L")
    depth.fill("24")
    depth.press("Enter")
    wait_until(page, lambda: "depth=24" in page.url, 30, "the address to show depth=24")
    # A structural change resets the run: a new network, step 0.
    wait_until(page, lambda: "depth L = 24" in run_caption(page), 60, "the new network")
    wait_until(page, lambda: step_count(page) == 0, 30, "the step counter to restart at 0")
    wait_idle(page)

    shared = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        shared.goto(page.url, timeout=WAIT_MS)
        shared.get_by_role("button", name="Play").wait_for(timeout=WAIT_MS)
        wait_idle(shared)
        assert shared.get_by_role("spinbutton", name="Depth L").input_value() == "24"
        assert "T = 48 inference steps" in run_caption(shared)
        assert re.search(r"[?&]depth=24\b", shared.url)
        no_exception(shared)
    finally:
        shared.context.close()


def test_a_playing_run_never_blinks(page, browser, server):
    """Two visitors play; one page's heatmap, sampled every 250 ms for 20 s (80 samples), is
    never blank (the chart rebuilt) nor faded (drawn as stale) while its run plays; the
    curves keep their chart too."""
    other = open_lab(browser.new_context(viewport=VIEWPORT), server + "/?depth=8&width=16")
    try:
        press(other, "Play", shows="Pause")
        page.goto(server + "/", timeout=WAIT_MS)
        page.get_by_role("button", name="Play").wait_for(timeout=WAIT_MS)
        wait_idle(page)
        press(page, "Play", shows="Pause")
        page.locator(HEATMAP).first.wait_for(timeout=WAIT_MS)
        wait_until(page, lambda: page.locator(".st-key-lab_curves .js-plotly-plot").count(),
                   60, "the training curves")
        page.evaluate("document.querySelector('.st-key-lab_curves .js-plotly-plot')"
                      ".__kept = true")
        frames = sample_frames(page, "lab_heatmaps", samples=80, period_ms=250)
        print(f"\nheatmap over 80 samples while playing: {frames}")
        assert frames.blank == 0 and frames.dimmed == 0, frames
        assert frames.shown + frames.stale == 80
        kept = page.evaluate("!!document.querySelector('.st-key-lab_curves .js-plotly-plot')"
                             "?.__kept")
        assert kept, "the curves' chart was rebuilt instead of updated"
        press(page, "Pause", shows="Play")
        no_exception(page)
    finally:
        other.context.close()


_LAYOUT_JS = """() => {
  const leaves = [...document.querySelectorAll('.stMain [data-testid=stElementContainer]')]
    .filter(e => !e.querySelector('[data-testid=stElementContainer]'))
    .filter(e => !e.closest('details:not([open])') && e.checkVisibility())
    .map(e => e.getBoundingClientRect())
    .filter(r => r.width > 1 && r.height > 1)
    .map(r => [r.left, r.top, r.right, r.bottom]);
  return {width: document.documentElement.scrollWidth, leaves};
}"""


def _overlaps(boxes: list[list[float]]) -> list[tuple]:
    """Pairs of boxes that cover each other by more than 2 px both ways."""
    return [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if min(a[2], b[2]) - max(a[0], b[0]) > 2 and min(a[3], b[3]) - max(a[1], b[1]) > 2]


def test_the_lecture_layout_fits_one_screen_and_a_phone(browser, server):
    """1920x1080 at 150 % zoom (1280x720 CSS pixels): Pause, the PC and PC-ALM heatmaps and
    the curves are all on the first screen. A phone (390x844): nothing runs off the side and
    no two elements overlap."""
    screen = browser.new_context(viewport={"width": 1280, "height": 720},
                                 device_scale_factor=1.5)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=3,
                                is_mobile=True, has_touch=True)
    try:
        page = open_lab(screen, server + "/?lecture=1")
        press(page, "Play", shows="Pause")
        page.locator(HEATMAP).first.wait_for(timeout=WAIT_MS)
        wait_until(page, lambda: page.locator(".st-key-lab_curves .js-plotly-plot").count(),
                   60, "the training curves")
        for key in ("lab_pause", "lab_step", "lab_heatmaps", "lab_curves"):
            box = page.locator(f".st-key-{key}").first.bounding_box()
            assert box is not None, key
            assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, (key, box)
            assert box["y"] >= 0 and box["y"] + box["height"] <= 720, (key, box)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "lab_lecture.png"))
        press(page, "Pause", shows="Play")

        small = open_lab(phone, server + "/")
        press(small, "Play", shows="Pause")
        small.locator(HEATMAP).first.wait_for(timeout=WAIT_MS)
        small.wait_for_timeout(2000)
        layout = small.evaluate(_LAYOUT_JS)
        assert layout["width"] <= 390, f"the page is {layout['width']} px wide on a phone"
        assert all(box[2] <= 391 for box in layout["leaves"]), layout["leaves"]
        assert not _overlaps(layout["leaves"]), _overlaps(layout["leaves"])[:3]
        small.screenshot(path=str(SHOTS / "lab_phone.png"))
        press(small, "Pause", shows="Play")
    finally:
        screen.close()
        phone.close()


def test_the_defaults_show_the_gap_between_the_rules_soon(page, server):
    """With the defaults, Play shows the lesson within 1,500 training steps: PC's accuracy 10
    points behind both BP's and PC-ALM's on the page's own metrics (prints when)."""
    page.goto(server + "/", timeout=WAIT_MS)
    page.get_by_role("button", name="Play").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    started = time.monotonic()
    press(page, "Play", shows="Pause")
    seen: dict[str, float] = {}

    def gap_or_too_late() -> bool:
        seen.update(rule_accuracies(page))
        return gap_between_rules(seen) or step_count(page) > 1500

    wait_until(page, gap_or_too_late, 600, "the gap between the rules or step 1,500")
    steps = step_count(page)
    print(f"\ngap between the rules after {time.monotonic() - started:.1f} s of play, "
          f"step {steps}: {seen}")
    press(page, "Pause", shows="Play")
    assert gap_between_rules(seen), f"no gap by step {steps}: {seen}"


def test_a_preset_link_shows_the_ballistic_wave(page, server):
    page.goto(server + "/?depth=64&rules=pc,pcalm&steps=256&eta=0.25", timeout=WAIT_MS)
    step = page.get_by_role("button", name="Step", exact=True)
    step.wait_for(timeout=WAIT_MS)
    wait_idle(page)
    step.click()
    page.locator(HEATMAP).first.wait_for(timeout=2 * WAIT_MS)
    wait_idle(page)
    assert step_count(page) == 1
    assert "T = 256 inference steps" in run_caption(page)
    no_exception(page)
    screenshot(page, "lab_wave.png", height=1500)


def test_hostile_address_warns_and_still_runs(page, server):
    page.goto(server + "/?depth=1e9&act=%3Cscript%3E&lr=nan&batch=99999", timeout=WAIT_MS)
    page.get_by_role("button", name="Play").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    assert page.get_by_test_id("stAlertContentWarning").count() >= 3
    assert page.get_by_role("spinbutton", name="Depth L").input_value() == "16"
    no_exception(page)


@pytest.mark.parametrize("path", ["credit?depth=16&width=16", "theory?depth=8&width=8"])
def test_explorer_pages_open(page, server, path):
    page.goto(f"{server}/{path}", timeout=WAIT_MS)
    page.locator(".js-plotly-plot").first.wait_for(timeout=2 * WAIT_MS)
    wait_idle(page, 180)
    no_exception(page)
    screenshot(page, f"{path.split('?')[0]}.png", height=2300)


@pytest.mark.slow
def test_sweep_page_runs_the_default_sweep(page, server):
    """The page's defaults, as a lecturer finds them: about two minutes on two cores (up to
    eight on a busy machine), then the maps, the difference by depth and its words."""
    page.goto(f"{server}/sweep", timeout=WAIT_MS)
    run = page.get_by_role("button", name=re.compile("^Run"))
    run.wait_for(timeout=2 * WAIT_MS)
    wait_idle(page)
    run.click()
    page.locator(".js-plotly-plot").first.wait_for(timeout=8 * WAIT_MS)
    # The page's Stop button, not the one in Streamlit's header that stops a running script.
    stop = page.locator(".st-key-sweep-stop button")
    wait_until(page, lambda: stop.is_disabled(), 480, "the default sweep to finish")
    wait_idle(page)
    no_exception(page)
    assert page.locator(".js-plotly-plot").count() == 2  # the maps and the depth trend
    assert page.get_by_text(re.compile("Measured in this sweep: PC − BP goes from")).count()
    screenshot(page, "sweep.png", height=1700)


def test_a_fresh_server_compiles_the_default_run_before_anyone_visits(tmp_path):
    """`app.py`'s start-up hook: with an empty compilation cache and no visitor at all, the
    default run's training step lands in the cache (so the first Play waits less)."""
    import time

    cache = tmp_path / "jax-cache"
    with serve(env={"PCVIZ_JAX_CACHE": str(cache)}, log=tmp_path / "server.log"):
        # a bound on the wait, not a speed target: it takes 35-50 s on a quiet 2-core machine
        deadline = time.monotonic() + 180
        while not list(cache.glob("jit_inference_step_program-*")) and time.monotonic() < deadline:
            time.sleep(0.5)
        compiled = sorted(p.name.split("-")[0] for p in cache.iterdir())
    assert "jit_inference_step_program" in compiled and "jit_bp_step" in compiled, compiled


APP_PAGES = {"": "Live lab: how credit travels in a deep net", "credit": "Credit propagation",
             "theory": "Linear theory", "sweep": "Depth × width sweep"}
"""URL path -> the heading each page opens with, in the navigation's order."""


def test_a_fresh_servers_first_visit_to_a_page_gets_the_apps_navigation(browser, tmp_path):
    """The very first visit of a fresh server goes straight to /sweep, before any session has
    called `st.navigation` (when Streamlit would serve `pages/` as a legacy multipage app):
    the sidebar's navigation lists exactly the app's pages with their titles, above the
    shared configuration, and each page opens from it."""
    from pcviz.ui._navigation import PAGES

    with serve(log=tmp_path / "server.log") as fresh:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            page.goto(f"{fresh.url}/sweep?depth=8&width=8", timeout=WAIT_MS)
            page.get_by_role("heading", name=APP_PAGES["sweep"]).wait_for(timeout=2 * WAIT_MS)
            wait_idle(page)
            links = page.get_by_test_id("stSidebarNav").get_by_role("link")
            assert links.count() == len(PAGES)
            for link, app_page in zip(links.all(), PAGES):
                assert app_page.title in link.inner_text()
            assert page.get_by_role("spinbutton", name="Depth L").input_value() == "8"
            for (path, heading), app_page in zip(APP_PAGES.items(), PAGES):
                links.filter(has_text=app_page.title).click()
                page.get_by_role("heading", name=heading).wait_for(timeout=2 * WAIT_MS)
                wait_until(page, lambda p=path: page.url.split("?")[0].endswith("/" + p),
                           30, f"the address of /{path}")
                wait_idle(page, 180)
                no_exception(page)
                assert links.count() == len(PAGES)
        finally:
            context.close()
