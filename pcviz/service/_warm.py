"""Warm-up: compile a live run's programs before anyone presses Play.

`warm_up` is a task of the run service: on a worker it builds a throw-away session of the
configuration and runs the programs asked for once, so that they land in JAX's persistent
compilation cache (which the live runs' actors then load instead of compiling) and in the
worker's own memory (a live run's actor warms itself up this way).
"""

from __future__ import annotations

from ..config import ModelConfig, RuleConfig, TrainConfig, with_changes
from ..data import Dataset
from ._live import EVAL_SAMPLES

PROGRAMS = ("recorded", "lean", "evaluation")
"""What a live run compiles: the training step that records telemetry (every chunk's last
batch: the first heatmap needs only this one), the step without it (a chunk's other
batches), and the alignment with BP and the test evaluation."""


def warm_up(model: ModelConfig, rule: RuleConfig, train: TrainConfig, *,
            dataset: Dataset | None = None, programs: tuple[str, ...] = PROGRAMS) -> int:
    """Compile the `programs` (a part of `PROGRAMS`) of a live run of this configuration;
    returns the training steps taken.

    `eta` is an argument of the compiled step, not part of it: a fixed value skips the power
    iteration of `eta="auto"`.
    """
    from ..train import Session

    unknown = set(programs) - set(PROGRAMS)
    if unknown:
        raise ValueError(f"unknown programs {sorted(unknown)}; choose from {PROGRAMS}")
    fixed = with_changes(rule, eta=0.25) if rule.eta_is_auto else rule
    session = Session(model, fixed, train, dataset=dataset)
    steps = 0
    if "recorded" in programs:
        session.step(1)
        steps += 1
    if "lean" in programs:
        session.step(2, record_last_only=True)  # one batch without telemetry, one with
        steps += 2
    if "evaluation" in programs:
        session.gradient_alignment()
        session.evaluate(max_samples=EVAL_SAMPLES)
    session.close()
    return steps
