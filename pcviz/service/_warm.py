"""Warm-up: compile a live run's programs before anyone presses Play.

`warm_up` is a task of the run service: on a worker it builds a throw-away session of the
configuration and runs the programs asked for once, so that they land in JAX's persistent
compilation cache (which the live runs' actors then load instead of compiling) and in the
worker's own memory. `RunWarmUp` is how a live run's actor warms itself up: its recording
step before Play, the rest in a thread while the run may already train.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

from ..config import ModelConfig, RuleConfig, TrainConfig, with_changes
from ..data import Dataset

if TYPE_CHECKING:
    from ..train import Session

EVAL_SAMPLES = 2000
"""Test samples per evaluation (a fixed shape: compiled once)."""

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


class RunWarmUp:
    """The warm-up side of a live run (`LiveRun`'s base class, beside `RunRecording`): it
    reads the run's `session`, `configs`, `error` and `_lock`, which `LiveRun` sets, and sets
    `compiling`, `_lean` and `_evaluable`."""

    run_id: str
    configs: tuple[ModelConfig, RuleConfig, TrainConfig]
    session: Session | None
    error: str | None
    compiling: bool
    _lock: threading.RLock
    _version: int
    _lean: threading.Event
    """The training step without telemetry is compiled."""
    _evaluable: threading.Event
    """The evaluation and the alignment with BP are compiled."""
    _compiled_ahead: bool = False
    """The session came built, with every program compiled in this process (a spare's)."""

    def _warm_up(self) -> None:
        """Compile the run's recording training step on a throw-away copy while the visitor
        reads the page, so that Play and Step do not wait for the compiler; then, in a thread
        of its own while the run may already train, the evaluation and the alignment with BP,
        then the step without telemetry (until it is ready every batch records: `_lean`), so
        that none of them compiles later while holding the session (which would stop this
        run's training for seconds while the other runs train)."""
        session = self.session
        if session is None or self.error is not None or self._compiled_ahead:
            self._lean.set()
            self._evaluable.set()
            return
        self._compiling(True)
        try:
            warm_up(*self.configs, dataset=session.data, programs=("recorded",))
        except Exception:  # the run itself reports errors when it steps
            pass
        finally:
            self._compiling(False)

        def the_rest() -> None:
            # the evaluation first: the page shows each rule's test accuracy only once it
            # runs (a batch's train accuracy, until then, is too noisy to show the rules
            # apart), while the lean step only saves the telemetry's few per cent
            for programs, ready in ((("evaluation",), self._evaluable),
                                    (("lean",), self._lean)):
                with contextlib.suppress(Exception):  # as above
                    warm_up(*self.configs, dataset=session.data, programs=programs)
                ready.set()

        threading.Thread(target=the_rest, name=f"pcviz-warm-{self.run_id}", daemon=True).start()

    def _compiling(self, now: bool) -> None:
        """Say (in the view) whether the run's programs are being compiled."""
        with self._lock:
            self.compiling = now
            self._version += 1
