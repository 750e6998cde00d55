"""Several visitors at once on one server, in real browser contexts (issue: hardening).

One server with a cap of four simultaneous training runs (`PCVIZ_MAX_RUNS=4`) and a short
grace period for closed tabs (`--server.disconnectedSessionTTL 3`). Four visitors, each with
its own configuration, train at the same time; a fifth is put in line and served when a slot
frees; closed tabs give their runs back. A thread asks `/_stcore/health` four times a second
all along. Bigger settings: `bench/bench_load.py`.
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
    explain_failure,
    no_exception,
    open_lab,
    press,
    reload_if_blank,
    require_chromium,
    run_caption,
    serve,
    step_count,
    wait_until,
)

pytestmark = [pytest.mark.needs_chromium, pytest.mark.slow]

CAP = 4
DEPTHS = (4, 5, 6, 7)
"""One configuration per visitor: the depth tells them apart."""


def lab_url(base: str, depth: int) -> str:
    return f"{base}/?depth={depth}&width=16&batch=32&rules=bp,pcalm&seed={depth}"


def server_line(page) -> str:
    return page.get_by_text(re.compile(r"This server: ")).first.inner_text()


def open_runs(page) -> int:
    return int(re.search(r"This server: (\d+) open run", server_line(page)).group(1))


@pytest.fixture(scope="module")
def load_server(tmp_path_factory):
    require_chromium()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with serve("--server.disconnectedSessionTTL", "3", env={"PCVIZ_MAX_RUNS": str(CAP)},
               log=log) as running:
        yield running.url, log


def test_four_visitors_train_at_once_a_fifth_waits_and_closed_tabs_free_their_runs(
        load_server, tmp_path):
    from playwright.sync_api import sync_playwright

    url, log = load_server
    probe = HealthProbe(url)
    probe.start()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            with explain_failure(browser, tmp_path, log):
                pages = [open_lab(browser.new_context(viewport=VIEWPORT), lab_url(url, d))
                         for d in DEPTHS]
                for page in pages:
                    press(page, "Play", shows="Pause")
                for page in pages:
                    page.locator(HEATMAP).first.wait_for(timeout=2 * WAIT_MS)
                # All progressing at once, each on its own configuration.
                start, before = time.monotonic(), [step_count(p) for p in pages]
                for page, first in zip(pages, before):
                    wait_until(page, lambda p=page, f=first: step_count(p) >= f + 5, 90,
                               "every visitor's run to progress")
                rates = [(step_count(p) - b) / (time.monotonic() - start)
                         for p, b in zip(pages, before)]
                print("\nsteps/s of the four visitors:", " ".join(f"{r:.1f}" for r in rates))
                for page, depth in zip(pages, DEPTHS):
                    assert f"depth L = {depth}," in run_caption(page)
                    assert re.search(rf"[?&]depth={depth}\b", page.url)
                    assert f"{CAP} training (at most {CAP} at once)" in server_line(page)

                # A fifth visitor waits in line, and trains as soon as a slot frees.
                fifth = open_lab(browser.new_context(viewport=VIEWPORT), lab_url(url, 8))
                press(fifth, "Play", shows="Pause")
                fifth.get_by_text("you are number 1 in line").wait_for(timeout=WAIT_MS)
                assert step_count(fifth) == 0
                press(pages[0], "Pause", shows="Play")
                wait_until(fifth, lambda: step_count(fifth) >= 3, 90, "the fifth visitor to train")
                assert fifth.get_by_text("in line").count() == 0

                # Closed tabs give their runs back (after the grace period for reconnection).
                for page in pages[1:] + [fifth]:
                    page.context.close()
                step = pages[0].get_by_role("button", name="Step", exact=True)

                def one_run_left() -> bool:
                    reload_if_blank(pages[0])  # the server must still free the runs
                    step.click()
                    pages[0].wait_for_timeout(500)
                    return open_runs(pages[0]) == 1 and "0 training" in server_line(pages[0])

                wait_until(pages[0], one_run_left, 60, "the closed tabs' runs to be freed")
                no_exception(pages[0])
        finally:
            browser.close()
            probe.stop()
    assert probe.samples and not probe.failures, probe.failures
    print(f"health: {len(probe.samples)} answers, "
          f"max {max(lat for _, lat in probe.samples):.3f} s")
