"""The dashboard served headless and driven by Debian's Chromium: helpers shared by the
browser tests and the browser benchmarks in `bench/`.

`serve()` starts `streamlit run app.py` on a free port and always stops it; Playwright drives
`/usr/bin/chromium` (no browser download). Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SERVER_START_SECONDS = 90
WAIT_MS = 60_000
VIEWPORT = {"width": 1440, "height": 1000}
HEATMAP = ".js-plotly-plot .heatmaplayer image"
HEATMAP_FRAME = ".st-key-live_heatmaps .js-plotly-plot .xtick"
"""The live heatmaps' axes, drawn before the first step (the heatmaps fill them in)."""


class Server(NamedTuple):
    """A running dashboard: its base URL and process (for its memory, say)."""

    url: str
    process: subprocess.Popen


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def health_seconds(url: str, timeout: float = 10.0) -> float:
    """Seconds `/_stcore/health` takes to answer 200 (raises if it does not)."""
    start = time.perf_counter()
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as reply:
        if reply.status != 200:
            raise OSError(f"health check answered {reply.status}")
    return time.perf_counter() - start


def _probe_health(url: str, period: float, timeout: float, halt, replies) -> None:
    """The body of `HealthProbe`'s process: ask every `period` s until `halt` is set, then
    send the samples and the failures back through `replies`."""
    samples: list[tuple[float, float]] = []
    failures: list[str] = []
    while not halt.wait(period):
        start = time.monotonic()  # one clock for every process on Linux
        try:
            samples.append((start, health_seconds(url, timeout=timeout)))
        except OSError as err:
            failures.append(repr(err))
    replies.send((samples, failures))


class HealthProbe:
    """Asks `/_stcore/health` every `period` seconds from a process of its own (a thread of
    the test's process would wait for the test's own Python work, Playwright's messages
    included, and count that as the server's) until `stop`; then holds `(time, latency)`
    samples, in `time.monotonic()`'s seconds, and the failures' messages."""

    def __init__(self, url: str, period: float = 0.25, timeout: float = 10.0):
        import multiprocessing

        self.url, self.period, self.timeout = url, period, timeout
        self.samples: list[tuple[float, float]] = []
        self.failures: list[str] = []
        context = multiprocessing.get_context("spawn")
        self.halt = context.Event()
        self._replies, replies = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_probe_health, args=(url, period, timeout, self.halt, replies), daemon=True)

    def start(self) -> None:
        self._process.start()

    def stop(self) -> None:
        self.halt.set()
        try:
            if not self._replies.poll(self.timeout + 15):
                raise EOFError
            self.samples, self.failures = self._replies.recv()
        except EOFError:
            self.failures.append("the health probe's process ended without its samples")
        self._process.join(timeout=5)


def require_chromium() -> None:
    """Skip (or, with `PCVIZ_REQUIRE_RESOURCES=1` as in CI, fail) without Debian's Chromium."""
    import pytest

    if CHROMIUM.exists():
        return
    reason = "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
    if os.environ.get("PCVIZ_REQUIRE_RESOURCES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _wait_healthy(url: str, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with status {proc.returncode}")
        try:
            health_seconds(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer {url}/_stcore/health in {seconds} s")


def _stat(pid: int) -> tuple[int, int] | None:
    """Process `pid`'s parent and start time (Linux `/proc`), `None` when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[19])


def descendants(pid: int) -> list[tuple[int, int]]:
    """The processes `pid` started, and theirs, now: each `(pid, start time)`."""
    children: dict[int, list[tuple[int, int]]] = {}
    for proc in Path("/proc").iterdir():
        found = _stat(int(proc.name)) if proc.name.isdigit() else None
        if found is not None:
            children.setdefault(found[0], []).append((int(proc.name), found[1]))
    result, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            result.append(child)
            todo.append(child[0])
    return result


def end_processes(processes: list[tuple[int, int]], seconds: float = 10.0) -> None:
    """Ask the `processes` (`descendants`) still running to end; kill those that have not
    after `seconds`. A process is matched by its start time too, never a reused pid."""
    def running() -> list[int]:
        return [pid for pid, start in processes if (_stat(pid) or (0, -1))[1] == start]

    for signum in (signal.SIGTERM, signal.SIGKILL):
        for pid in running():
            with contextlib.suppress(OSError):  # gone meanwhile
                os.kill(pid, signum)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and running():
            time.sleep(0.2)


@contextmanager
def serve(*options: str, env: dict[str, str] | None = None,
          log: Path | None = None) -> Iterator[Server]:
    """`streamlit run app.py` headless on a free port (extra command-line `options`, extra
    environment `env`); yields a `Server` and always stops it."""
    port = free_port()
    out = log.open("w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", *options],
        cwd=ROOT, env=dict(os.environ, **(env or {})), stdout=out, stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc, SERVER_START_SECONDS)
        yield Server(url, proc)
    finally:
        # The server's local Ray cluster (its raylet, its workers: live runs that may still
        # be training) would outlive it for a while, orphaned, on the cores the next tests use.
        started = descendants(proc.pid)
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        end_processes(started)
        if log:
            out.close()


def rss_mib(pid: int) -> float:
    """Resident memory of process `pid` in MiB (Linux `/proc`)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise OSError(f"no VmRSS for process {pid}")


def nice_browsers(niceness: int = 10) -> int:
    """Lower the CPU priority of every Chromium process (Linux), so that browsers sharing this
    machine's cores with the server stand in for visitors' own machines. A niceness belongs to
    a thread on Linux: every thread of each process is changed (threads started later inherit
    it). Chromium starts new renderers as it goes: call this again after opening pages.
    Returns how many threads it changed."""
    changed = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            # /usr/bin/chromium is a script that starts /usr/lib/chromium/chromium
            if CHROMIUM.name not in Path(os.readlink(proc / "exe")).parts:
                continue
            for thread in (proc / "task").iterdir():
                tid = int(thread.name)
                if os.getpriority(os.PRIO_PROCESS, tid) < niceness:
                    os.setpriority(os.PRIO_PROCESS, tid, niceness)
                    changed += 1
        except OSError:
            continue  # gone, or not ours
    return changed


def js_heap_mib(page) -> float:
    """The page's used JavaScript heap in MiB (Chromium's `performance.memory`)."""
    return page.evaluate("performance.memory.usedJSHeapSize") / 2**20


def step_count(page) -> int:
    metric = page.get_by_test_id("stMetric").filter(has_text="Training step")
    return int(metric.get_by_test_id("stMetricValue").inner_text().replace(",", ""))


def run_caption(page) -> str:
    """The lab's line on the run: data set, depth, width, T, eta, learning rate, batch."""
    return page.get_by_text(re.compile(r"depth L = \d+")).first.inner_text()


def wait_until(page, predicate, seconds: float, what: str) -> None:
    """Poll `predicate` (letting Playwright process the page's events) for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        page.wait_for_timeout(250)
    raise TimeoutError(f"gave up after {seconds} s waiting for {what}")


def reload_if_blank(page) -> bool:
    """Reload `page` if Streamlit's front end has gone blank, as a person would; says so with
    the page's errors. Returns whether it did.

    Streamlit 1.67's front end can, rarely, fail on a delta ("Bad delta path index") when a
    full rerun and the page's timed fragment reruns cross, and then shows nothing at all. The
    reload opens a new session on the same address; the old one is freed like a closed tab's.
    """
    if page.inner_text("body").strip():
        return False
    print(f"\nthe page went blank; its errors: {PAGE_ERRORS.get(page, [])[-2:]}; reloading")
    page.reload(timeout=WAIT_MS)
    page.get_by_role("button", name="Reset", exact=True).wait_for(timeout=WAIT_MS)
    return True


def press(page, name: str, *, shows: str, seconds: float = 60) -> None:
    """Click the button `name` until the button `shows` appears (Play until Pause shows, say).

    Streamlit's front end can drop a click that lands while the page's timed fragment reruns
    are in flight (rarely, on a loaded machine); a person then clicks again, and so does this.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    target = page.get_by_role("button", name=shows, exact=True)
    deadline, wait_ms = time.monotonic() + seconds, WAIT_MS
    while True:
        try:
            if not reload_if_blank(page):
                page.get_by_role("button", name=name, exact=True).click(timeout=wait_ms)
        except PlaywrightTimeout:
            pass  # gone: the click before took effect late
        try:
            target.wait_for(timeout=5_000)
            return
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"pressing {name!r} did not show {shows!r} in {seconds} s") from None
            print(f"\n{name!r} did not show {shows!r} within 5 s: pressing again")
        wait_ms = 5_000


_SEEN_JS = """(() => {
  const seen = window.__pcvizSeen = {};
  const mark = (what) => { if (!(what in seen)) seen[what] = Date.now() / 1000; };
  document.addEventListener('click', (event) => {
    const button = event.target.closest && event.target.closest('button');
    if (button && /(^|\\s)Play$/.test(button.innerText.trim())) mark('play');
  }, true);
  seen.tasks = [];  // the page's long tasks (>50 ms of its main thread): [start, seconds]
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        seen.tasks.push([(performance.timeOrigin + e.startTime) / 1000, e.duration / 1000]);
    }).observe({type: 'longtask', buffered: true});
  } catch (err) {}  // a browser without long-task timing
  const watch = new MutationObserver(() => {
    if (document.querySelector('HEATMAP')) { mark('heatmap'); watch.disconnect(); }
  });
  watch.observe(document, {subtree: true, childList: true});
})();""".replace("HEATMAP", HEATMAP)


def clock_in_page(context) -> None:
    """Have every page of `context` note, by its own clock, when the visitor first clicked
    Play and when its first heatmap was drawn (read them with `seen_in_page`).

    Playwright reaches a page through the page's main thread: on a loaded machine its
    queries wait seconds behind the page's own drawing, so a test that asks "is the heatmap
    there?" learns it late. The page's own clock says when the visitor saw it."""
    context.add_init_script(_SEEN_JS)


def seen_in_page(page) -> dict:
    """What `clock_in_page` noted on `page`: `"play"` and `"heatmap"`, each in seconds since
    the epoch (`time.time()`'s clock), for those that happened, and `"tasks"`, the page's
    long tasks as `[start, seconds]`."""
    return page.evaluate("window.__pcvizSeen || {}")


def longest_task(page, start: float, end: float) -> float:
    """Seconds of the longest task of `page`'s main thread that ran between `start` and `end`
    (epoch seconds; 0 when none took over 50 ms): what a click in that time waited behind."""
    tasks = seen_in_page(page).get("tasks", [])
    return max((seconds for began, seconds in tasks
                if began < end and began + seconds > start), default=0.0)


def play_and_heatmap(page, pressed: float) -> tuple[float, float]:
    """When the visitor clicked Play on `page` and when its first heatmap was drawn, by the
    page's own clock (`clock_in_page`); `pressed`, the `time.time()` just before the press,
    stands in for a click the page did not note (it reloaded since)."""
    seen = seen_in_page(page)
    return seen.get("play", pressed), seen["heatmap"]


def wait_idle(page, seconds: float = 60) -> None:
    """Until the script has finished running (Streamlit's status widget is gone)."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=seconds * 1000)


PAGE_ERRORS: dict[object, list[str]] = {}
"""Page -> the JavaScript errors it raised and the errors it logged, for failure reports."""


def open_lab(context, url: str):
    """A new page of `context` on the lab at `url`, loaded and idle."""
    page = context.new_page()
    errors = PAGE_ERRORS.setdefault(page, [])
    page.on("pageerror", lambda err: errors.append(f"uncaught: {err}"))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("crash", lambda _: errors.append("the page crashed"))
    page.goto(url, timeout=WAIT_MS)
    page.get_by_role("button", name="Play").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    return page


def busiest_processes(lines: int = 15) -> str:
    """The machine's load and its busiest processes over one second, with their niceness
    (`top`'s second frame: the first counts each process's whole life)."""
    try:
        frames = subprocess.run(["top", "-b", "-n", "2", "-d", "1", "-w", "160"],
                                capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError) as failed:
        return f"(top failed: {failed!r})"
    last = frames[frames.rfind("top - "):].splitlines()
    return "\n".join(last[:7 + lines])


@contextmanager
def explain_failure(browser, folder: Path, log: Path | None = None) -> Iterator[None]:
    """On an exception inside the block, add to it what held the machine's cores, save a
    screenshot of each page still open in `browser` to `folder` and add what each page
    showed and the end of the server's `log`: a failure on a CI machine explains itself."""
    try:
        yield
    except Exception as err:
        err.add_note("--- the machine when it failed:\n" + busiest_processes())
        open_pages = [page for context in browser.contexts for page in context.pages]
        for number, page in enumerate(open_pages):
            try:
                shot = folder / f"page{number}.png"
                page.screenshot(path=shot, full_page=True, timeout=10_000)
                text = page.inner_text("body", timeout=10_000)
                err.add_note(f"--- page {number} ({page.url}), screenshot {shot}:\n{text[:1500]}")
                logged = PAGE_ERRORS.get(page, [])
                err.add_note(f"--- page {number}'s errors ({len(logged)}, last 10):\n"
                             + "\n".join(m[:500] for m in logged[-10:]))
            except Exception as failed:  # closed, crashed
                err.add_note(f"--- page {number}: no screenshot ({failed!r})")
        if log is not None and log.exists():
            err.add_note("--- server log, last lines:\n"
                         + "\n".join(log.read_text().splitlines()[-40:]))
        raise


def no_exception(page) -> None:
    assert page.get_by_test_id("stException").count() == 0


_FRAME_JS = """(key) => {
  const box = document.querySelector('.st-key-' + key);
  if (!box) return 'blank';
  if (!box.querySelector('.heatmaplayer image')) return 'blank';
  for (let el = box; el && el !== document.body; el = el.parentElement) {
    if (Number(getComputedStyle(el).opacity) < 0.95) return 'dimmed';
  }
  return box.getAttribute('data-stale') === 'true' ? 'stale' : 'shown';
}"""


class Frames(NamedTuple):
    """What `sample_frames` saw: how many samples showed the chart blank, dimmed (it or an
    element around it drawn faded), marked stale by Streamlit while being redrawn but drawn in
    full, or shown."""

    blank: int
    dimmed: int
    stale: int
    shown: int


def sample_frames(page, key: str, *, samples: int = 80, period_ms: int = 250) -> Frames:
    """Look at the chart with widget key `key` every `period_ms` ms, `samples` times: blank
    (no heatmap image in it), dimmed (it or an element around it is drawn faded), stale
    (marked so, drawn in full) or shown."""
    seen = {"blank": 0, "dimmed": 0, "stale": 0, "shown": 0}
    for _ in range(samples):
        seen[page.evaluate(_FRAME_JS, key)] += 1
        page.wait_for_timeout(period_ms)
    return Frames(**seen)


def rule_accuracies(page) -> dict[str, float]:
    """The lab's accuracy metric of each rule, in percent (NaN while it shows none)."""
    out = {}
    for metric in page.get_by_test_id("stMetric").all():
        label = metric.get_by_test_id("stMetricLabel").inner_text()
        if "accuracy" in label:
            value = metric.get_by_test_id("stMetricValue").inner_text().rstrip("%")
            try:
                out[label.split()[0]] = float(value)
            except ValueError:
                out[label.split()[0]] = float("nan")
    return out


def gap_between_rules(accuracy: dict[str, float], points: float = 10.0) -> bool:
    """Whether PC is at least `points` behind both BP and PC-ALM (the lab's lesson in one
    line)."""
    pc, bp, alm = (accuracy.get(k, float("nan")) for k in ("PC", "BP", "PC-ALM"))
    return bp - pc >= points and alm - pc >= points


class PlayTiming(NamedTuple):
    seconds: float
    """From the click on Play to the first heatmap drawn, by the page's own clock."""
    longest_task: float
    """The longest task of the page's main thread in that time (what the click waited
    behind, when it is most of `seconds`)."""


def play_to_heatmap(browser, url: str, *, when_ready: bool = False) -> PlayTiming:
    """The seconds from the click on Play to the first heatmap drawn, by the page's own clock
    (`clock_in_page`), and the page's longest task meanwhile: Play pressed as soon as the
    button shows, or (`when_ready`) once the page shows the run built and compiled and the
    heatmaps' empty frame drawn (what a visitor sees as ready)."""
    context = browser.new_context(viewport=VIEWPORT)
    clock_in_page(context)
    page = open_lab(context, url)
    if when_ready:
        page.get_by_text(re.compile(r"depth L = \d+")).first.wait_for(timeout=WAIT_MS * 3)
        page.get_by_text("Compiling this configuration").wait_for(state="hidden",
                                                                 timeout=WAIT_MS * 3)
        page.locator(HEATMAP_FRAME).first.wait_for(timeout=WAIT_MS)
    pressed = time.time()
    press(page, "Play", shows="Pause")
    page.locator(HEATMAP).first.wait_for(timeout=WAIT_MS * 3)
    play, heatmap = play_and_heatmap(page, pressed)
    timing = PlayTiming(heatmap - play, longest_task(page, play, heatmap))
    press(page, "Pause", shows="Play")
    page.context.close()
    return timing
