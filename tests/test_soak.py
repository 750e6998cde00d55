"""A long run keeps host memory flat: bounded histories, only the latest telemetry kept."""

import resource

from pcviz.config import ModelConfig, RuleConfig, TrainConfig
from pcviz.train import Session


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_two_thousand_steps_keep_memory_flat():
    session = Session(ModelConfig(depth=8, width=64), RuleConfig(steps=8),
                      TrainConfig(dataset="spirals", batch_size=16))
    session.step(200)  # compile and warm up allocator pools
    start = _rss_mib()
    samples = []
    for _ in range(9):
        session.step(200)
        samples.append(_rss_mib())
    assert session.step_count == 2000
    growth = samples[-1] - start
    print(f"RSS {start:.0f} MiB after warm-up, {samples[-1]:.0f} MiB after 2000 steps")
    assert growth < 40, f"RSS grew {growth:.1f} MiB over 1800 steps: {samples}"
    for record in session.records.values():
        assert len(record.loss.steps) <= 2000 and record.loss.steps[-1] == 2000
