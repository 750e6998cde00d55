"""Live runs: each a named Ray actor that holds one run's weights and trains while playing.

The actor `run-<id>` (namespace `pcviz`) owns a `pcviz.train.Session` and a play loop in a
thread of its own. Pages never step it: they send commands (`control`) and read the latest
`RunView`, so a reload, a second tab or another dashboard replica that knows the run's id
reattaches to the same run at its current step. The run is recorded in the run store as it
goes (curve points every `FLUSH_SECONDS`, a checkpoint every `CHECKPOINT_SECONDS` and at every
pause), so that a run whose actor is gone (a restarted server, a run nobody watched for
`idle_seconds()`) reopens from its last checkpoint.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import threading
import time
from typing import TYPE_CHECKING

import ray

from ..config import ModelConfig, RuleConfig, TrainConfig
from ._cluster import lower_priority, step_aside
from ._run_record import CHECKPOINT_SECONDS as CHECKPOINT_SECONDS
from ._run_record import FLUSH_SECONDS as FLUSH_SECONDS
from ._run_record import Flushed, RunRecording
from ._run_view import RunView, failure_message, idle_seconds, run_config
from ._run_view import actor_name as actor_name
from ._spare import CONFIGURE_WAIT, Configs, RunStandBy
from ._warm import EVAL_SAMPLES as EVAL_SAMPLES
from ._warm import RunWarmUp

if TYPE_CHECKING:
    from ..train import Session

EVAL_EVERY = 25
"""Training steps between two test evaluations while playing."""
MAX_BATCHES = 200
"""Most batches per update a page may ask for."""
MAX_FORWARD = 5000
"""Most batches one fast-forward may ask for."""
FAST_CHUNK_SECONDS = 1.0
"""A fast-forward trains in chunks of about this many seconds."""
AUTO_CHUNK_SECONDS = 0.25
"""At speed "auto", a chunk trains as many batches as fit in this many seconds, or in the
time between two reads of the run by its pages when that is longer (at most
`MAX_CHUNK_SECONDS`): a chunk records its last batch's telemetry, which is wasted when no
page reads it."""
MAX_CHUNK_SECONDS = 2.0
READS_SECONDS = 6.0
"""The pages' reads that size a chunk are those of the last this many seconds."""
ALIGNMENT_SHARE = 0.1
"""While the run plays, the alignment with BP (one more inference per rule) takes at most
this share of its time: a page asking sooner after the last one gets `None` (ask again)."""
RETIRE_RETRY_SECONDS = 5.0
"""An idle run whose checkpoint the store did not take tries again after this long."""
VIEW_WAIT = 5.0
"""Longest wait of a page's read for the run's next update (`LiveRun.view`)."""
VIEW_POLL_SECONDS = 0.01
ALIGNMENT_WAIT = 30.0
"""Longest wait of an alignment for the warm-up to compile its program."""


class LiveRun(RunWarmUp, RunRecording, RunStandBy):
    """The body of a live run's actor (see the module docstring).

    **Arguments:** `run_id`; `model`, `rule`, `train`, the validated configurations (none:
    a spare run, which `configure` gives them later, `pcviz.service._spare`); `store_url`,
    the run store (`None`: the default); `restore`, reopen from the store's latest
    checkpoint of this run; `idle`, seconds without a reader before the run is checkpointed
    and closed (default `idle_seconds()`); `settings`, `PCVIZ_*` environment
    settings to apply in the worker (the dashboard's own); `ahead`, the configuration whose
    session a spare builds ahead (default: the default run's).
    """

    def __init__(self, run_id: str, model: ModelConfig | None = None,
                 rule: RuleConfig | None = None, train: TrainConfig | None = None, *,
                 store_url: str | None = None, restore: bool = False,
                 idle: float | None = None, settings: dict[str, str] | None = None,
                 ahead: Configs | None = None):
        from .._jaxcache import enable_compilation_cache

        os.environ.update(settings or {})  # the dashboard's PCVIZ_* settings, as it has them
        if settings is not None:  # a worker of its own, not a test's process
            lower_priority()  # it stays at the workers' priority until its first heatmap
        enable_compilation_cache()
        self.run_id = run_id
        self.idle = idle_seconds() if idle is None else float(idle)
        self._lock = threading.RLock()  # the session: one user at a time
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._built = threading.Event()  # the run has its session (or its error)
        self._configuring = threading.Lock()
        self.session: Session | None = None
        self.speed: int | str = "auto"  # batches per chunk while playing, or "auto"
        self.playing, self.pending, self._busy = False, 0, False
        self.forward = 0  # batches left in a fast-forward
        self._waiting, self._view_wanted = 0, False
        self.error: str | None = None
        self.notice: str | None = None
        self.store_problem: str | None = None
        self._seen = time.monotonic()
        self._version, self._view = 0, RunView(run_id)
        self._frames: list[float] = []
        self._reads: list[float] = []  # when pages read the run (`view`), the latest last
        self._next_alignment = 0.0  # while playing, no alignment before (time.monotonic())
        self.compiling = False
        self._lean = threading.Event()  # the step without telemetry is compiled
        self._evaluable = threading.Event()  # and the evaluation and the alignment
        self._own_worker = settings is not None
        # A running estimate of one batch's time, for "auto": the first chunk is one batch.
        self._batch_seconds = AUTO_CHUNK_SECONDS
        self._evaluated = 0
        self._flushed = Flushed(points=0, checkpoint=0, time=0.0, saved_at=0.0, status="")
        self._store_url = store_url
        self._store = self._open_store(store_url)
        if model is None or rule is None or train is None:
            self._stand_by(ahead)  # a spare: `configure` gives it its run
        else:
            self._configure(model, rule, train, restore=restore)

    def _configure(self, model: ModelConfig, rule: RuleConfig, train: TrainConfig, *,
                   restore: bool) -> None:
        self.configs = (model, rule, train)
        self._build(restore)
        self._view = self._make_view()
        self._seen = time.monotonic()
        self._built.set()
        threading.Thread(target=self._loop, name=f"pcviz-run-{self.run_id}", daemon=True).start()

    # -- building ---------------------------------------------------------------------------

    def _build(self, restore: bool) -> None:
        from ..data import load_dataset
        from ..train import Session

        model, rule, train = self.configs
        try:
            self.session = self._prepared_session(self.configs)  # a spare's, built ahead
            self._compiled_ahead = self.session is not None
            if self.session is None:
                data = load_dataset(train.dataset, seed=train.seed)
                self.session = Session(model, rule, train, dataset=data)
        except (ValueError, RuntimeError, MemoryError) as err:
            self.error = failure_message(err)
            return
        if restore and self._restore():
            return
        self._store_call("new_run", kind="lab", config=run_config(*self.configs),
                         run_id=self.run_id, status="paused")

    # -- the play loop ----------------------------------------------------------------------

    def _loop(self) -> None:
        self._warm_up()
        self._seen = max(self._seen, time.monotonic())  # a page that waited is still there
        while not self._closing.is_set():
            if time.monotonic() - self._seen > self.idle:
                if self._retire():
                    return
                self._wake.wait(RETIRE_RETRY_SECONDS)  # the store did not answer: keep it
                continue
            batches = self._next_chunk()
            if batches:
                self._train(batches)
                if self._own_worker and self.session is not None and \
                        self.session.step_count > 0:
                    self._own_worker = False  # once
                    step_aside()  # now runs still starting go first
                while self._waiting and not self._closing.is_set():
                    time.sleep(0.002)  # a page's call takes the session before the next chunk
            else:
                self._wake.wait(0.5)
                self._wake.clear()
            self._save(force=not self.moving)
            if self._view_wanted:  # a page asked while something else held the session
                with self._lock:
                    self._view_wanted, self._view = False, self._make_view()

    def _next_chunk(self) -> int:
        with self._lock:
            if self.session is None or self.error is not None:
                return 0
            if self.playing:
                self._busy = True
                return self._chunk()
            batches = self.pending
            if not batches and self.forward:
                # A fast-forward trains in chunks of about a second, so that the page sees it
                # progress and a Pause stops it.
                batches = min(self.forward, self._batches_in(FAST_CHUNK_SECONDS))
            # busy before the asked-for steps are taken off: `control` waits (without the
            # lock) while either is set, and must never see both clear before they ran
            self._busy = batches > 0
            if self.pending:
                self.pending = 0
            else:
                self.forward -= batches
            return batches

    @property
    def moving(self) -> bool:
        """Whether the run is training: playing, or working through asked-for steps (a
        fast-forward). Pages show it as playing."""
        return self.playing or self.pending > 0 or self.forward > 0

    def _chunk(self) -> int:
        """Batches in the next chunk while playing: the speed, or at "auto" as many as fit in
        `AUTO_CHUNK_SECONDS`, or in the pages' time between reads when longer (at most
        `MAX_CHUNK_SECONDS`), at the measured time per batch."""
        if self.speed != "auto":
            return int(self.speed)
        seconds = min(max(AUTO_CHUNK_SECONDS, self._read_every()), MAX_CHUNK_SECONDS)
        return min(self._batches_in(seconds), MAX_BATCHES)

    def _read_every(self) -> float:
        """The median time between the pages' reads of the run over the last `READS_SECONDS`
        (0: fewer than three)."""
        now = time.monotonic()
        reads = [t for t in self._reads if now - t < READS_SECONDS]
        gaps = sorted(b - a for a, b in itertools.pairwise(reads))
        return gaps[len(gaps) // 2] if len(gaps) >= 2 else 0.0

    def _batches_in(self, seconds: float) -> int:
        """How many batches fit in `seconds` at the measured time per batch (at least one)."""
        return max(1, int(seconds // self._batch_seconds))

    def _train(self, batches: int) -> None:
        session = self._built_session()  # a run without one trains no batches
        try:
            with self._lock:
                started = time.perf_counter()
                # until the step without telemetry is compiled, every batch records (a
                # compile here would hold the session while the warm-up compiles it too)
                session.step(batches, record_last_only=self._lean.is_set())
                per_batch = (time.perf_counter() - started) / batches
                self._batch_seconds = 0.7 * self._batch_seconds + 0.3 * per_batch
                due = session.step_count - self._evaluated >= EVAL_EVERY or not self.moving
                # while playing, no evaluation before its program is compiled (by the
                # warm-up, not here holding the session); a Step waits for it
                if due and (self._evaluable.is_set() or not self.moving):
                    session.evaluate(max_samples=EVAL_SAMPLES)
                    self._evaluated = session.step_count
                if all(r.diverged_at is not None for r in session.records.values()):
                    self.playing, self.pending = False, 0
                self._version += 1
                if self._view_wanted:  # a page asked while this chunk trained
                    self._view_wanted, self._view = False, self._make_view()
        except (ValueError, RuntimeError, MemoryError) as err:
            with self._lock:
                self.error, self.playing = failure_message(err), False
                self._version += 1
            self._store_call("update", self.run_id, status="failed", error=self.error)
        finally:
            self._busy = False
        now = time.perf_counter()
        self._frames = [t for t in self._frames[-19:] if now - t < 10.0] + [now]

    def _retire(self) -> bool:
        """Nobody has read this run for `idle_seconds()`: checkpoint it and end the actor.
        Returns `False`, keeping the run (and its steps not yet saved) in memory, when the
        store did not take the checkpoint; the loop tries again."""
        self.playing = False
        self._save(force=True)
        if self._store is not None and self.store_problem is not None:
            return False
        self._closing.set()
        self._end_actor()
        return True

    # -- what pages call ----------------------------------------------------------------------

    def _make_view(self) -> RunView:
        session = self.session
        view = RunView(self.run_id, version=self._version, playing=self.moving,
                       speed=self.speed, error=self.error, notice=self.notice,
                       store_problem=self.store_problem, compiling=self.compiling)
        if session is None:
            return view
        with self._lock:
            view.records = copy.deepcopy(session.records)
            view.step_count, view.epoch = session.step_count, session.epoch
            view.model_config, view.rule_config = session.model_config, session.rule_config
            view.train_config, view.steps = session.train_config, session.steps
            view.eta, view.learning_rate = session.eta, session.learning_rate
            view.rule_groups = session.rule_groups
            view.dataset = session.data.name
        frames = self._frames
        if len(frames) >= 2 and frames[-1] > frames[0] and self.moving:
            view.updates_per_second = (len(frames) - 1) / (frames[-1] - frames[0])
        return view

    def view(self, since: int = -1, *, after_step: int | None = None,
             wait: float = 0.0) -> RunView | None:
        """The run as of its latest update (`_latest_view`), or `None` when nothing changed
        since version `since` (what the page already drew). With `after_step`, while the run
        trains, first waits up to `wait` seconds (at most `VIEW_WAIT`) for an update past
        that step: a page that has just pressed Play draws the first update as it comes out,
        not one redraw later."""
        if after_step is not None:
            self._await_step(after_step, min(max(float(wait), 0.0), VIEW_WAIT))
        current = self._latest_view()
        self._reads = [*self._reads[-5:], time.monotonic()]
        return None if current.version == since and not self.moving else current

    def _await_step(self, step: int, seconds: float) -> None:
        """Until the view is past `step`, the run stops, or `seconds` have passed; the chunk
        training meanwhile builds its view as it ends."""
        deadline = time.monotonic() + seconds
        while self._view.step_count <= step and self.moving and self.error is None and \
                time.monotonic() < deadline:
            self._view_wanted = True
            time.sleep(VIEW_POLL_SECONDS)

    def _latest_view(self, *, wait: bool = False) -> RunView:
        """The run as of its latest update; a reader was here (for the idle check).

        Unless `wait`, never waits for the session: while a training chunk (or anything else)
        holds it, the view built last comes back and the next one is built as the chunk ends.
        With `wait` (a caller that asked for steps and must see them), an out-of-date view is
        rebuilt as soon as the session is free."""
        self._seen = time.monotonic()
        self._built.wait(CONFIGURE_WAIT)  # a spare: until its page has configured it
        current = self._view
        stale = current.version != self._version or current.playing != self.moving or \
            current.store_problem != self.store_problem
        if stale and wait:
            with self._waiting_for_session():
                current = self._view = self._make_view()
        elif stale and not self._busy and self._lock.acquire(blocking=False):
            try:
                current = self._view = self._make_view()
            finally:
                self._lock.release()
        elif stale:
            self._view_wanted = True
        return current

    @contextlib.contextmanager
    def _waiting_for_session(self):
        """Hold the session's lock; the play loop lets a waiting caller in between chunks."""
        self._waiting += 1
        self._lock.acquire()
        self._waiting -= 1
        try:
            yield
        finally:
            self._lock.release()

    def control(self, *, play: bool | None = None, step: int = 0, forward: int = 0,
                speed: int | str | None = None, learning_rate: float | None = None,
                wait: float = 30.0) -> RunView:
        """Play or pause, train `step` more batches (waiting up to `wait` seconds for them,
        so the view returned shows them), fast-forward `forward` batches (in chunks of about
        `FAST_CHUNK_SECONDS`, without waiting; a pause stops it), set the batches per update,
        or change the learning rate (from the next step on, keeping weights and optimiser
        state)."""
        self._seen = time.monotonic()
        self._built.wait(CONFIGURE_WAIT)  # a spare: until its page has configured it
        with self._waiting_for_session():
            if speed == "auto":
                self.speed = "auto"
            elif speed is not None:
                self.speed = int(min(max(1, int(speed)), MAX_BATCHES))
            if learning_rate is not None and self.session is not None:
                self.session.learning_rate = float(learning_rate)
            if play is False:
                self.forward = 0  # Pause also stops a fast-forward
            if play is not None and self.error is None and self.session is not None:
                self.playing = bool(play) and not all(
                    r.diverged_at is not None for r in self.session.records.values())
                self._frames, self._reads = [], []
            if step and self.error is None:
                self.playing = False
                self.pending += int(min(max(0, step), MAX_BATCHES))
            if forward and self.error is None:
                self.playing = False
                self.forward += int(min(max(0, forward), MAX_FORWARD))
            # the first chunk's view is built as it ends: the page that started it waits
            self._view_wanted = self._view_wanted or self.moving
            self._version += 1
        self._wake.set()
        deadline = time.monotonic() + (wait if step else 0.0)
        while time.monotonic() < deadline and (self.pending or self._busy):
            time.sleep(0.01)
        return self._latest_view(wait=bool(step))

    @ray.method(concurrency_group="compute")
    def alignment(self):
        """Per rule, the cosine of its weight gradient with BP's and their norm ratio, per
        layer (a `GradientComparison`, see `Session.gradient_comparison`), at the current
        weights; `None` before any step, and while the run plays: before its warm-up has
        compiled the comparison, and until the last one's time is `ALIGNMENT_SHARE` of the
        time since (ask again later)."""
        self._seen = time.monotonic()
        if self.session is None or self.error is not None or self.session.step_count == 0:
            return None
        # compiled by the warm-up, not here while holding the session (and the run's
        # training); while the run plays, the page asks again later rather than wait, which
        # would hold up its redraws
        if not self._evaluable.wait(0.0 if self.moving else ALIGNMENT_WAIT):
            return None
        if self.moving and time.monotonic() < self._next_alignment:
            return None
        with self._waiting_for_session():
            started = time.monotonic()
            comparison = self.session.gradient_comparison()
            now = time.monotonic()
            if self.moving:
                self._next_alignment = now + (now - started) * (1 / ALIGNMENT_SHARE - 1)
            return comparison

    @ray.method(concurrency_group="compute")
    def probe(self, rules: tuple[str, ...]):
        """`pcviz.runs.probe_model` of `rules` at the current weights, on the run's fixed
        probe batch and activity step."""
        from ..config import with_changes
        from ..runs import probe_model

        self._seen = time.monotonic()
        with self._waiting_for_session():
            session = self._built_session()
            rule = with_changes(session.rule_config, eta=session.eta)
            parts = [probe_model(session.model(r), session.probe_x, session.probe_labels,
                                 rule, (r,)) for r in rules]
        return parts

    @ray.method(concurrency_group="compute")
    def boundary(self):
        """Every rule's decision regions at the current weights (`pcviz.boundary`), or `None`
        when the data are not 2-D; the session is held only to take the weights."""
        from ..boundary import is_planar, run_models, session_grid

        self._seen = time.monotonic()
        if self.session is None or self.error is not None or not is_planar(self.session.data):
            return None
        with self._waiting_for_session():
            models, step = run_models(self.session)
        return session_grid(self.session, models, step)

    def close(self) -> None:
        """Checkpoint now and stop training (the actor ends at its next idle check; a spare
        that was never configured ends now)."""
        with self._configuring:
            if not self._built.is_set():
                self._closing.set()
                self._end_actor()
                return
        self.playing = False
        self._save(force=True)
        self._seen = 0.0
        self._wake.set()
