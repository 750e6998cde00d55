"""Validation and the URL codec: bad values are named, hostile input never raises."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcviz.config import (
    ACTIVATIONS,
    DATASETS,
    ModelConfig,
    RuleConfig,
    TrainConfig,
    decode,
    encode,
)

BAD = [
    (ModelConfig, {"depth": 0}, "depth"),
    (ModelConfig, {"depth": 1}, "depth"),
    (ModelConfig, {"depth": 1025}, "depth"),
    (ModelConfig, {"depth": 3.5}, "depth"),
    (ModelConfig, {"width": 0}, "width"),
    (ModelConfig, {"width": 10**9}, "width"),
    (ModelConfig, {"activation": "sigmoid"}, "activation"),
    (ModelConfig, {"param": "ntk"}, "param"),
    (ModelConfig, {"param": "mupc", "skip": False}, "skip"),
    (RuleConfig, {"rule": "hebb"}, "rule"),
    (RuleConfig, {"steps": 0}, "steps"),
    (RuleConfig, {"eta": -0.1}, "eta"),
    (RuleConfig, {"eta": "fast"}, "eta"),
    (RuleConfig, {"eta": float("nan")}, "eta"),
    (RuleConfig, {"rho": 0.0}, "rho"),
    (RuleConfig, {"alpha": -1.0}, "alpha"),
    (TrainConfig, {"rules": ()}, "rules"),
    (TrainConfig, {"rules": ("bp", "bp")}, "rules"),
    (TrainConfig, {"rules": ("sgd",)}, "rules"),
    (TrainConfig, {"dataset": "imagenet"}, "dataset"),
    (TrainConfig, {"batch_size": 0}, "batch_size"),
    (TrainConfig, {"learning_rate": float("inf")}, "learning_rate"),
    (TrainConfig, {"optimizer": "adagrad2"}, "optimizer"),
]


@pytest.mark.parametrize("cls, kwargs, field", BAD)
def test_bad_configuration_names_field_and_legal_values(cls, kwargs, field):
    with pytest.raises(ValueError) as err:
        cls(**kwargs)
    message = str(err.value)
    assert field in message
    assert any(word in message for word in ("one of", "range", "must", "only", "empty", "twice"))


def test_defaults_resolve():
    assert RuleConfig(rule="pc", alpha=2.0).dual_step == 0.0
    assert RuleConfig(rule="pcalm", alpha=2.0).dual_step == 2.0
    assert RuleConfig().inference_steps(32) == 64
    assert TrainConfig().resolved_learning_rate(ModelConfig(depth=32, width=32)) == pytest.approx(3e-3)


def test_hostile_query_parameters_become_warnings_and_defaults():
    params = {
        "depth": "0",
        "width": "1e9",
        "act": "<script>alert(1)</script>",
        "eta": "nan",
        "rules": "bp,../../etc/passwd",
        "dataset": "/etc/passwd",
        "lr": "1e400",
        "seed": "-3",
        "batch": "sixty-four",
        "unknown": "x",
    }
    model, rule, train, warnings = decode(params)
    assert (model, rule, train) == (ModelConfig(), RuleConfig(), TrainConfig())
    assert len(warnings) == 9
    assert all("Using" in w for w in warnings)


def _valid_configs():
    model = st.builds(
        ModelConfig,
        depth=st.integers(2, 1024),
        width=st.integers(1, 4096),
        activation=st.sampled_from(ACTIVATIONS),
        param=st.just("mupc"),
    )
    rule = st.builds(
        RuleConfig,
        steps=st.none() | st.integers(1, 100_000),
        eta=st.just("auto") | st.floats(1e-6, 10.0),
        rho=st.floats(1e-6, 1e3),
        alpha=st.floats(0.0, 1e3),
    )
    train = st.builds(
        TrainConfig,
        rules=st.lists(st.sampled_from(("bp", "pc", "pcalm")), min_size=1, max_size=3,
                       unique=True).map(tuple),
        dataset=st.sampled_from(DATASETS),
        batch_size=st.integers(1, 8192),
        seed=st.integers(0, 2**31 - 1),
        learning_rate=st.none() | st.floats(1e-8, 10.0),
    )
    return st.tuples(model, rule, train)


@settings(max_examples=200, deadline=None)
@given(_valid_configs())
def test_config_to_url_to_config_is_identity(configs):
    model, rule, train = configs
    decoded = decode(encode(model, rule, train))
    assert decoded[3] == []
    assert decoded[:3] == (model, dataclasses.replace(rule, rule="pcalm", record=True), train)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["depth", "width", "act", "param", "skip", "steps", "eta",
                                        "rho", "alpha", "rules", "dataset", "batch", "epochs",
                                        "seed", "optimizer", "lr", "batch_rules", "zzz"]),
                       st.text(max_size=40)))
def test_any_strings_decode_to_valid_configuration(params):
    model, rule, train, warnings = decode(params)
    for cfg in (model, rule, train):
        dataclasses.replace(cfg)  # re-validates: raises if invalid
    assert all(isinstance(w, str) for w in warnings)


def test_fields_that_depend_on_each_other_decode_together():
    model, _, _, warnings = decode({"param": "sp", "skip": "0"})
    assert (model.param, model.skip, warnings) == ("sp", False, [])
    model, _, _, warnings = decode({"skip": "0"})
    assert model.skip is True and len(warnings) == 1
