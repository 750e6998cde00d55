"""Session checkpoints: a restored session trains on exactly like one never interrupted, and a
damaged checkpoint or one of another configuration is refused, leaving the session usable."""

from __future__ import annotations

import hashlib
import json
import math

import jax
import numpy as np
import pytest

from pcviz.checkpoint import MAGIC, CheckpointError, restore_session, save_session
from pcviz.config import ModelConfig, RuleConfig, TrainConfig
from pcviz.data import load_dataset
from pcviz.store import RunStore
from pcviz.train import History, Session

MODEL = ModelConfig(depth=5, width=8, activation="tanh")
DATA = load_dataset("spirals", seed=0)


def _session(model=MODEL, **train) -> Session:
    options = dict(rules=("bp", "pc", "pcalm"), dataset="spirals", batch_size=16)
    session = Session(model, RuleConfig(steps=6), TrainConfig(**{**options, **train}),
                      dataset=DATA, history_points=4)  # small histories: their stride grows
    session.learning_rate *= 0.7  # changed live: the checkpoint must carry it
    return session


def _history(h: History) -> tuple:
    return h.capacity, h.stride, list(h.steps), [None if math.isnan(v) else v for v in h.values]


def _arrays(session: Session) -> list[np.ndarray]:
    return [np.asarray(leaf) for group in session.groups
            for leaf in jax.tree_util.tree_leaves((group.models, group.opt_states))]


def _learning(session: Session) -> dict:
    """What training depends on and produces (not wall-clock times)."""
    return {
        "step": (session.step_count, session.batches.step),
        "rates": (session.learning_rate, session.eta),
        "records": {name: (_history(r.loss), _history(r.accuracy), _history(r.test_accuracy),
                           r.diverged_at) for name, r in session.records.items()},
    }


def _assert_same(a: Session, b: Session) -> None:
    assert _learning(a) == _learning(b)
    arrays_a, arrays_b = _arrays(a), _arrays(b)
    assert len(arrays_a) == len(arrays_b)
    for x, y in zip(arrays_a, arrays_b):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)  # bit for bit


def _train(session: Session, plan) -> None:
    for batches in plan:
        if batches:
            session.step(batches)
        else:
            session.evaluate(max_samples=64)


def test_a_restored_session_trains_on_exactly_like_an_uninterrupted_one():
    first, then = (5, 0, 2), (4, 0, 2)  # 0: a test-accuracy evaluation
    saved = _session()
    _train(saved, first)
    blob = save_session(saved)

    resumed = _session()
    restore_session(resumed, blob)
    _assert_same(resumed, saved)
    for name, rec in resumed.records.items():  # timing comes back too
        old = saved.records[name]
        assert (rec.first_step_seconds, rec.total_seconds, rec.timed_steps) == \
            (old.first_step_seconds, old.total_seconds, old.timed_steps)
    assert resumed.record("pc").loss.stride > 1  # the thinned history round trips
    _train(resumed, then)

    uninterrupted = _session()
    _train(uninterrupted, first + then)
    _assert_same(resumed, uninterrupted)
    assert resumed.step_count == 13 and resumed.record("bp").timed_steps == 12
    assert resumed.record("bp").first_step_seconds == saved.record("bp").first_step_seconds


def test_divergence_and_nan_values_round_trip():
    saved = _session(rules=("bp", "pcalm"))
    saved.step(2)
    saved.mark_diverged("pcalm", 2)
    saved.record("bp").test_accuracy.append(2, math.nan)
    resumed = _session(rules=("bp", "pcalm"))
    restore_session(resumed, save_session(saved))
    _assert_same(resumed, saved)
    assert resumed.record("pcalm").status == "diverged at step 2"
    assert math.isnan(resumed.record("bp").test_accuracy.last())
    resumed.step(1)
    assert resumed.record("pcalm").loss.steps == [1, 2]  # a diverged rule records no more
    assert resumed.record("bp").loss.steps == [1, 2, 3]


def test_a_checkpoint_survives_the_run_store(tmp_path):
    saved = _session()
    saved.step(3)
    store = RunStore(str(tmp_path / "runs.sqlite"))
    run_id = store.new_run(kind="lab", config={})
    store.save_checkpoint(run_id, saved.step_count, save_session(saved))
    step, blob = store.checkpoint(run_id)
    resumed = _session()
    restore_session(resumed, blob)
    assert step == 3
    _assert_same(resumed, saved)
    store.close()


def _reseal(blob: bytes, *, header=None, arrays=None) -> bytes:
    """`blob` with its header or arrays changed, and a correct length and checksum."""
    body = blob[48:]
    length = int.from_bytes(body[:8], "big")
    old_header, old_arrays = json.loads(body[8:8 + length]), body[8 + length:]
    text = json.dumps(header(old_header) if header else old_header).encode()
    body = len(text).to_bytes(8, "big") + text + (arrays(old_arrays) if arrays else old_arrays)
    return MAGIC + len(body).to_bytes(8, "big") + hashlib.sha256(body).digest() + body


def _flip(blob: bytes, at: int) -> bytes:
    return blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1:]


def _without(key):
    def edit(header):
        del header[key]
        return header
    return edit


DAMAGE = {
    "truncated": (lambda b: b[:-100], "damaged .*bytes"),
    "cut inside the header": (lambda b: b[:40], "damaged .cut short at 40 bytes"),
    "a flipped byte in the arrays": (lambda b: _flip(b, len(b) - 50), "checksum does not match"),
    "a flipped byte in the header": (lambda b: _flip(b, 70), "checksum does not match"),
    "empty": (lambda b: b"", "not a pcviz checkpoint"),
    "random bytes": (lambda b: np.random.default_rng(0).bytes(len(b)), "not a pcviz checkpoint"),
    "another format": (lambda b: MAGIC[:7] + b"9" + b[8:], "format b'9'"),
    "no step in the header": (lambda b: _reseal(b, header=_without("step_count")),
                              "damaged .*step_count"),
    "arrays left over": (lambda b: _reseal(b, arrays=lambda a: a + a[-64:]),
                         "another configuration .*left over"),
}


@pytest.fixture(scope="module")
def blob():
    session = _session()
    session.step(2)
    return save_session(session)


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_checkpoint_is_refused_and_the_session_is_untouched(blob, damage):
    spoil, message = DAMAGE[damage]
    session = _session()
    session.step(1)
    before, arrays = _learning(session), _arrays(session)
    with pytest.raises(CheckpointError, match=message) as caught:
        restore_session(session, spoil(blob))
    assert str(caught.value).endswith("; the run starts again from step 0.")
    assert _learning(session) == before
    for x, y in zip(_arrays(session), arrays):
        np.testing.assert_array_equal(x, y)
    session.step(1)  # still usable
    assert session.step_count == 2


@pytest.mark.parametrize("other", [
    dict(model=ModelConfig(depth=3, width=8, activation="tanh")),
    dict(model=ModelConfig(depth=5, width=16, activation="tanh")),
    dict(rules=("bp", "pc")),
    dict(batch_rules=False),
    dict(optimizer="sgd"),
], ids=["another depth", "another width", "other rules", "rules stepped apart",
        "another optimiser"])
def test_a_checkpoint_of_another_configuration_is_refused(blob, other):
    session = _session(**other)
    before, arrays = _learning(session), _arrays(session)
    with pytest.raises(CheckpointError, match="made for another configuration"):
        restore_session(session, blob)
    assert _learning(session) == before
    for x, y in zip(_arrays(session), arrays):
        np.testing.assert_array_equal(x, y)
    if "model" in other and other["model"].depth != MODEL.depth:  # (compiling takes seconds)
        session.step(1)
        assert session.step_count == 1 and session.record("pc").loss.steps == [1]


def test_a_closed_session_cannot_be_saved():
    session = _session()
    session.close()
    with pytest.raises(ValueError, match="closed"):
        save_session(session)
