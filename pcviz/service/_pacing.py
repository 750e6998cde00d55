"""How often each visitor's live page redraws, so that the server never falls behind.

Training runs in the run service's workers; what the dashboard's own process spends per
update is drawing (building figures, sending them). `Pacer` keeps, per visitor watching a
playing run and per live section of the page (status and heatmaps, curves, alignment), the
CPU time its last redraw took (not the wall time, which waiting for a busy machine's cores
would inflate), and spaces redraws so that all of them together use at most `share` of one
core of the dashboard's process:

$$ \\Delta t = \\max\\Big(\\Delta t_0,\\; \\min\\Big(\\Delta t_{\\max},\\;
   \\frac{1}{s} \\sum_w \\max\\big(f,\\; \\textstyle\\sum_k r_{w,k}\\big)\\Big)\\Big) $$

with $r_{w,k}$ the redraw time of section $k$ of watcher $w$ (every section counted as if it
redrew every $\\Delta t$: the curves and the alignment redraw less often, so this errs on
the side of the server), $s$ the share, $\\Delta t_0$ the fastest interval,
$\\Delta t_{\\max}$ the slowest, and $f$ the least a watcher's redraw counts for: the
visitor's browser draws every update too, at several times the server's cost (a Plotly
redraw of the heatmaps and Streamlit's of the page), which the server cannot measure; on a
machine the browsers share with the server, pages asked to redraw faster than that fall
behind. With few visitors each redraws every $\\max(\\Delta t_0, f/s)$; with
many, each redraws less often, and the health check and every click are still answered at
once.

`settle_heap` freezes the objects the server built as it started (modules, the page's code)
out of the garbage collector's reach: a full collection then scans only what visitors
allocate since, instead of pausing every thread of the server, its health check included,
for a tenth of a second or more.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Mapping

PAGE_FLOOR = 0.2
"""The dashboard's `Pacer(floor=...)`: the seconds a watcher's redraw counts for at least. One
visitor then redraws at most every 0.4 s, four every 1.6 s (share 0.5). A Chromium page on a
2-core AMD EPYC took 0.48 s of CPU per redraw of the depth-32 lab, the server 0.085 s
(`bench/bench_dashboard.py`)."""


class Pacer:
    """Server-wide redraw pacing (thread-safe).

    **Arguments:** `base`, the fastest interval $\\Delta t_0$ in seconds; `slowest`, the
    longest interval $\\Delta t_{\\max}$; `share`, the fraction of one core that redraws may
    use; `floor`, the seconds $f$ a watcher's redraw counts for at least; `ttl`, seconds after
    which a visitor that stopped redrawing no longer counts; `clock` (for tests).
    """

    def __init__(self, *, base: float = 0.15, slowest: float = 10.0, share: float = 0.5,
                 floor: float = 0.0, ttl: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        self.base, self.slowest, self.share, self.floor = base, slowest, share, floor
        self.ttl, self.clock = ttl, clock
        self._lock = threading.Lock()
        # visitor -> section -> (seconds, seen)
        self._redraws: dict[str, dict[str, tuple[float, float]]] = {}

    def record(self, visitor: str, seconds: float, *, section: str = "main") -> None:
        """Section `section` of visitor `visitor`'s page took `seconds` to redraw (a moving
        average is kept per section)."""
        with self._lock:
            now = self.clock()
            sections = self._redraws.setdefault(visitor, {})
            old = sections.get(section, (seconds, now))[0]
            sections[section] = (0.7 * old + 0.3 * seconds, now)

    def forget(self, visitor: str) -> None:
        """Visitor `visitor` stopped watching a playing run."""
        with self._lock:
            self._redraws.pop(visitor, None)

    def _live(self) -> dict[str, dict[str, tuple[float, float]]]:
        now = self.clock()
        for visitor, sections in list(self._redraws.items()):
            for section in [k for k, (_, seen) in sections.items() if now - seen > self.ttl]:
                del sections[section]
            if not sections:
                del self._redraws[visitor]
        return self._redraws

    def watchers(self) -> int:
        """Visitors watching a playing run now."""
        with self._lock:
            return len(self._live())

    def cost(self) -> float:
        """Seconds of one redraw of every watcher's every section, each watcher at least the
        `floor` ($\\sum_w \\max(f, \\sum_k r_{w,k})$)."""
        with self._lock:
            return sum(max(self.floor, sum(seconds for seconds, _ in sections.values()))
                       for sections in self._live().values())

    def join(self, visitor: str, sections: Mapping[str, float]) -> None:
        """Visitor `visitor` starts watching a playing run: its sections count at once with
        the redraw times `sections` (section -> seconds, what its page measured last time),
        those already recorded kept. A page that joins at its full cost sets its pace once;
        joining section by section as each first redraws would move it, and the page with it,
        several times."""
        with self._lock:
            now = self.clock()
            mine = self._redraws.setdefault(visitor, {})
            for section, seconds in sections.items():
                mine.setdefault(section, (float(seconds), now))

    def sections(self, visitor: str) -> dict[str, float]:
        """Section -> the redraw time recorded for `visitor` (empty: not watching)."""
        with self._lock:
            return {k: seconds for k, (seconds, _) in self._live().get(visitor, {}).items()}

    def interval(self) -> float:
        """Seconds between two redraws of each watcher's page ($\\Delta t$ above)."""
        return max(self.base, min(self.slowest, self.cost() / self.share))


def settle_heap() -> int:
    """Move every object alive now into the garbage collector's permanent generation
    (`gc.freeze`), after collecting what is already garbage; returns how many were frozen.
    Call it once the server has imported its modules: later full collections then skip
    them."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
