"""What the live-run tests share: a small configuration and a wait for a condition."""

from __future__ import annotations

import time

from pcviz import ModelConfig, RuleConfig, TrainConfig

SMALL = (ModelConfig(depth=4, width=8), RuleConfig(),
         TrainConfig(batch_size=16, dataset="spirals"))
"""A live run that builds and steps in well under a second."""


def wait_for(predicate, timeout=60.0, every=0.1):
    """`predicate()`'s first true value, asked every `every` s for at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")
