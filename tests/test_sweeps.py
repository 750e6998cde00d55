"""Sweeps: seeds of one cell batched, cells recorded in the store, resumed, and robust to a
worker killed mid-sweep."""

from __future__ import annotations

import numpy as np
import pytest

from pcviz._cells import train_cell
from pcviz.config import ModelConfig, RuleConfig, TrainConfig, with_changes
from pcviz.data import load_dataset
from pcviz.train import Session

MODEL = ModelConfig(depth=3, width=4)
RULE = RuleConfig()
TRAIN = TrainConfig(dataset="xor", batch_size=8, rules=("bp", "pc", "pcalm"))


def test_batched_seeds_equal_one_session_per_seed():
    data = load_dataset("xor", seed=0)
    seeds = [0, 1, 2]
    batched = train_cell(MODEL, RULE, TRAIN, seeds=seeds, steps=5, dataset=data)
    assert [r.seed for r in batched] == seeds
    for result in batched:
        session = Session(MODEL, RULE, with_changes(TRAIN, seed=result.seed), dataset=data)
        session.step(5)
        accuracy = session.evaluate()
        assert result.eta == pytest.approx(session.eta, rel=1e-6)
        for rule in TRAIN.rules:
            record = session.records[rule]
            np.testing.assert_allclose(result.loss[rule], record.loss.values, rtol=1e-5)
            np.testing.assert_allclose(result.train_accuracy[rule], record.accuracy.values)
            assert result.accuracy[rule] == pytest.approx(accuracy[rule], abs=1e-6)
            assert result.status[rule] == record.status == "ok"
    assert batched[0].loss["pc"][0] != batched[1].loss["pc"][0]  # own weights, own batches


def test_batched_divergence_is_per_seed_and_rule():
    data = load_dataset("spirals", seed=0)
    rule = RuleConfig(steps=40, eta=9.0)  # far past the stable activity step
    train = TrainConfig(dataset="spirals", batch_size=16, rules=("bp", "pcalm"))
    batched = train_cell(MODEL, rule, train, seeds=[0, 1], steps=3, dataset=data)
    for result in batched:
        session = Session(MODEL, rule, with_changes(train, seed=result.seed), dataset=data)
        session.step(3)
        assert result.status == {r: rec.status for r, rec in session.records.items()}
        assert result.status == {"bp": "ok", "pcalm": "diverged at step 1"}
        assert np.isnan(result.accuracy["pcalm"]) and np.isfinite(result.accuracy["bp"])
        assert np.isnan(result.loss["pcalm"]).all() and np.isfinite(result.loss["bp"]).all()
