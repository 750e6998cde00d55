"""How often each visitor's live page redraws, so that the server never falls behind.

Training runs in the run service's workers; what the dashboard's own process spends per
update is drawing (building figures, sending them). `Pacer` keeps, per visitor watching a
playing run, the CPU time its last redraw took (not the wall time, which waiting for a busy
machine's cores would inflate), and spaces redraws so that all of them together
use at most `share` of one core of the dashboard's process:

$$ \\Delta t_v = \\max\\Big(\\Delta t_0,\\; \\frac{\\sum_w r_w}{s}\\Big) $$

with $r_w$ the redraw time of each watcher $w$, $s$ the share and $\\Delta t_0$ the fastest
interval. With few visitors each redraws every $\\Delta t_0$; with many, each redraws less
often, and the health check and every click are still answered at once.
"""

from __future__ import annotations

import threading
import time
from typing import Callable


class Pacer:
    """Server-wide redraw pacing (thread-safe).

    **Arguments:** `base`, the fastest interval $\\Delta t_0$ in seconds; `share`, the
    fraction of one core that redraws may use; `ttl`, seconds after which a visitor that
    stopped redrawing no longer counts; `clock` (for tests).
    """

    def __init__(self, *, base: float = 0.15, share: float = 0.5, ttl: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        self.base, self.share, self.ttl, self.clock = base, share, ttl, clock
        self._lock = threading.Lock()
        self._redraws: dict[str, tuple[float, float]] = {}  # visitor -> (seconds, seen)

    def record(self, visitor: str, seconds: float) -> None:
        """Visitor `visitor`'s latest redraw took `seconds` (a moving average is kept)."""
        with self._lock:
            now = self.clock()
            old = self._redraws.get(visitor, (seconds, now))[0]
            self._redraws[visitor] = (0.7 * old + 0.3 * seconds, now)

    def forget(self, visitor: str) -> None:
        """Visitor `visitor` stopped watching a playing run."""
        with self._lock:
            self._redraws.pop(visitor, None)

    def _live(self) -> dict[str, tuple[float, float]]:
        now = self.clock()
        for visitor in [v for v, (_, seen) in self._redraws.items() if now - seen > self.ttl]:
            del self._redraws[visitor]
        return self._redraws

    def watchers(self) -> int:
        """Visitors watching a playing run now."""
        with self._lock:
            return len(self._live())

    def interval(self) -> float:
        """Seconds between two redraws of each watcher's page ($\\Delta t_v$ above)."""
        with self._lock:
            total = sum(seconds for seconds, _ in self._live().values())
        return max(self.base, total / self.share)
