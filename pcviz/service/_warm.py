"""Warm-up: compile a live run's programs before anyone presses Play.

`warm_up` is a task of the run service: on a worker it builds a throw-away session of the
configuration, steps it once, computes the gradient alignment and one evaluation, so every
program a live run needs lands in JAX's persistent compilation cache, which the live runs'
actors then load instead of compiling.
"""

from __future__ import annotations

from ..config import ModelConfig, RuleConfig, TrainConfig, with_changes
from ..data import Dataset
from ._live import EVAL_SAMPLES


def warm_up(model: ModelConfig, rule: RuleConfig, train: TrainConfig, *,
            dataset: Dataset | None = None, training_only: bool = False) -> int:
    """Compile the programs of a live run of this configuration (returns the steps taken):
    the training step, then (unless `training_only`) the alignment and the evaluation.

    `eta` is an argument of the compiled step, not part of it: a fixed value skips the power
    iteration of `eta="auto"`.
    """
    from ..train import Session

    fixed = with_changes(rule, eta=0.25) if rule.eta_is_auto else rule
    session = Session(model, fixed, train, dataset=dataset)
    session.step(2, record_last_only=True)  # with and without telemetry, as a chunk runs
    if not training_only:
        session.gradient_alignment()
        session.evaluate(max_samples=EVAL_SAMPLES)
    session.close()
    return 2
