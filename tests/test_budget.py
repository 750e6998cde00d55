"""The resource guard refuses oversized configurations before allocating anything."""

import pytest

from pcviz.budget import BudgetError, check_budget, estimate
from pcviz.config import ModelConfig, RuleConfig, TrainConfig
from pcviz.train import Session


def test_estimate_grows_with_the_knobs():
    base = estimate(ModelConfig(depth=16, width=32), RuleConfig(), TrainConfig())
    wider = estimate(ModelConfig(depth=16, width=64), RuleConfig(), TrainConfig())
    longer = estimate(ModelConfig(depth=16, width=32), RuleConfig(steps=64), TrainConfig())
    assert wider.weight_bytes > 1.9 * base.weight_bytes  # input layer linear, hidden quadratic
    assert longer.step_seconds > 1.5 * base.step_seconds


def test_huge_width_names_the_width():
    with pytest.raises(BudgetError, match="Reduce the width"):
        check_budget(ModelConfig(depth=1024, width=4096), RuleConfig(), TrainConfig())


def test_huge_batch_names_the_batch():
    with pytest.raises(BudgetError, match="batch size"):
        check_budget(
            ModelConfig(depth=512, width=64), RuleConfig(steps=1), TrainConfig(batch_size=8192)
        )


def test_slow_step_names_the_steps():
    with pytest.raises(BudgetError, match="inference steps T"):
        check_budget(ModelConfig(depth=64, width=64), RuleConfig(steps=100_000), TrainConfig())


def test_session_refuses_before_allocating(monkeypatch):
    monkeypatch.setenv("PCVIZ_MAX_GIB", "0.001")
    with pytest.raises(BudgetError, match="PCVIZ_MAX_GIB"):
        Session(ModelConfig(depth=64, width=256), RuleConfig(), TrainConfig(dataset="xor"))
