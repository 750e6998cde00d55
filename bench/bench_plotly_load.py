"""What loading plotly.js costs a page, measured in a real browser: the full library (the
plotly package's `plotly.min.js`) against the cartesian bundle the live charts load
(`pcviz.ui.PLOTLY_JS`), alternating, in fresh browser contexts.

    python bench/bench_plotly_load.py            # about a minute
    python bench/bench_plotly_load.py --rounds 8

How: a local HTTP server serves both files and a blank page; in Debian's Chromium (through
Playwright) the page adds one file as a script and times, by its own clock, the script from
its insertion to its `load` event (fetch, compile, run), then one `Plotly.newPlot` of two
64x128 heatmaps, one on a log axis, as the lab draws them. Medians over the rounds, and their
ratio, are printed; the load average too (the browser shares the machine's cores).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import statistics
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from _browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PAGE = """<html><body><div id="chart" style="width:900px;height:440px"></div><script>
window.timeLoad = (src) => new Promise((done) => {
  const started = performance.now(), script = document.createElement("script");
  script.src = src;
  script.onload = () => {
    const loaded = performance.now(), z = [];
    for (let i = 0; i < 64; i++) z.push(Array.from({length: 128}, () => Math.random()));
    Plotly.newPlot("chart", [{type: "heatmap", z: z},
                             {type: "heatmap", z: z, xaxis: "x2", yaxis: "y2"}],
                   {xaxis: {domain: [0, 0.45]}, xaxis2: {domain: [0.55, 1]},
                    yaxis2: {anchor: "x2", type: "log"}})
      .then(() => done([loaded - started, performance.now() - loaded]));
  };
  document.head.appendChild(script);
});
</script></body></html>"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="loads of each file")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from pcviz.ui import _live_chart

    files = {"full plotly.js": _live_chart.PLOTLY_FULL, "served": _live_chart.PLOTLY_JS}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in files}
    with tempfile.TemporaryDirectory() as folder:
        for i, path in enumerate(files.values()):
            (Path(folder) / f"{i}.js").write_bytes(path.read_bytes())
        (Path(folder) / "page.html").write_text(PAGE)
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(_Quiet, directory=folder))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS)
            for _ in range(args.rounds):
                for i, name in enumerate(files):
                    context = browser.new_context()
                    page = context.new_page()
                    page.goto(f"{base}/page.html")
                    times[name].append(tuple(page.evaluate(f"timeLoad('/{i}.js')")))
                    context.close()
            browser.close()
        server.shutdown()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (1, 5, 15 min)")
    print(f"served to the live charts: {_live_chart.PLOTLY_JS.name}")
    median = {name: [statistics.median(t[k] for t in rows) for k in (0, 1)]
              for name, rows in times.items()}
    for name, path in files.items():
        load_ms, plot_ms = median[name]
        print(f"  {name:<15} {path.stat().st_size / 1e6:5.2f} MB   load+compile "
              f"{load_ms:6.0f} ms   first plot {plot_ms:5.0f} ms   (medians of {args.rounds})")
    full, served = median["full plotly.js"][0], median["served"][0]
    print(f"served / full, load+compile: {served / full:.2f}")


if __name__ == "__main__":
    main()
