"""The run service's local cluster starts without stalling the server that starts it.

The dashboard starts its Ray cluster in a background thread while its pages and its health
check answer. Python runs one thread at a time: a call that holds the interpreter's lock
while it waits (as Ray's driver registration did, about a second, until the raylet had
started a worker per CPU) stops every other thread of the server for as long. A fresh
process starts the cluster the way the dashboard does while a thread that wakes every 5 ms
records the longest gap between its wake-ups.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = textwrap.dedent("""
    import json, threading, time
    gaps = []
    def tick():
        last = time.monotonic()
        while True:
            time.sleep(0.005)
            now = time.monotonic()
            gaps.append(now - last)
            last = now
    threading.Thread(target=tick, daemon=True).start()
    time.sleep(0.1)
    import ray  # imported before timing: the server has it loaded by then
    from pcviz.service import _cluster
    started = time.monotonic()
    gaps.clear()
    _cluster.start()
    _cluster.ensure()
    print(json.dumps({"seconds": time.monotonic() - started, "longest_gap": max(gaps),
                      "status": _cluster.status().message}))
""")


def test_starting_the_local_cluster_never_holds_up_the_servers_other_threads():
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PCVIZ_WORKERS"] = "2"
    done = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\nlocal cluster ready in {found['seconds']:.1f} s; longest stall of another "
          f"thread {found['longest_gap'] * 1000:.0f} ms ({found['status']})")
    assert "ready" in found["status"]
    # Holding the lock through the driver's registration stalled the others 0.9-1.1 s on an
    # idle machine; what remains is the scheduler's and Ray's brief work (about 0.1 s).
    assert found["longest_gap"] < 0.5
