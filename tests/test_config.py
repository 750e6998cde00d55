"""Validation and the URL codec: bad values are named, hostile input never raises; the table of
fields (`pcviz.config_fields`) is what the dataclasses, the codec and README's table hold."""

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcviz.config import (
    ACTIVATIONS,
    DATASETS,
    InferenceConfig,
    ModelConfig,
    RuleConfig,
    TrainConfig,
    decode,
    encode,
    to_dict,
)
from pcviz.config_fields import FIELD, FIELDS, Float, Int, defaults_of, fields_of, markdown_table

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
    lr = TrainConfig().resolved_learning_rate(ModelConfig(depth=32, width=32))
    assert lr == pytest.approx(3e-3)


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


# --------------------------------------------------------------------------------------------
# The table of fields (pcviz.config_fields) is the one source of every other place.
# --------------------------------------------------------------------------------------------

README = Path(__file__).resolve().parents[1] / "README.md"
CLASSES = {"model": (ModelConfig,), "inference": (InferenceConfig, RuleConfig),
           "rule": (RuleConfig,), "train": (TrainConfig,)}


def test_each_dataclass_holds_exactly_its_fields_of_the_table_with_their_defaults():
    for cls, configs in ((ModelConfig, ("model",)), (InferenceConfig, ("inference",)),
                         (RuleConfig, ("rule", "inference")), (TrainConfig, ("train",))):
        assert {f.name for f in dataclasses.fields(cls)} == {f.name for f in fields_of(*configs)}
        assert dataclasses.asdict(cls()) == defaults_of(*configs)


@pytest.mark.parametrize("field", [f for f in FIELDS if isinstance(f.kind, (Int, Float))],
                         ids=lambda f: f.name)
def test_every_range_of_the_table_is_checked_at_its_ends(field):
    """The ends of a field's range are accepted and the numbers just outside are rejected,
    naming the field, by every configuration that holds it."""
    lo, hi = field.kind.lo, field.kind.hi
    step = 1 if isinstance(field.kind, Int) else max(abs(hi), 1) * 1e-3
    for cls in CLASSES[field.config]:
        for legal in (lo, hi):
            assert getattr(cls(**{field.name: legal}), field.name) == legal
        for bad in (lo - step, hi + step):
            with pytest.raises(ValueError, match=field.name):
                cls(**{field.name: bad})


def test_readme_table_of_settings_is_the_tables_own():
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- settings table")
    body = text[text.index("\n", start) + 1:text.index("<!-- end of settings table -->")]
    assert body.strip() == markdown_table(), (
        "README's table of settings is out of date: paste "
        "pcviz.config_fields.markdown_table() between its markers")
    assert "| `ModelConfig.depth` | 2 to 1024 (browser: 2 to 256) | 16 | `depth` |" in body


def test_inference_settings_are_their_own_configuration_inside_rule_config():
    rule = RuleConfig(rule="pc", steps=64, eta=0.25, rho=2.0, alpha=0.5)  # the public contract
    assert rule.inference == InferenceConfig(steps=64, eta=0.25, rho=2.0, alpha=0.5)
    assert RuleConfig.from_inference(rule.inference, rule="pc") == rule
    assert rule.inference.inference_steps(8) == 64 and InferenceConfig().inference_steps(8) == 16
    assert dataclasses.replace(rule, eta="auto").inference.eta == "auto"
    assert RuleConfig(**to_dict(rule)) == rule  # a stored run's configuration reads back
    with pytest.raises(ValueError, match="steps"):
        InferenceConfig(steps=0)
    with pytest.raises(ValueError, match="rule"):
        RuleConfig.from_inference(InferenceConfig(), rule="hebb")


def test_the_codec_reads_the_inference_settings_into_the_default_rule():
    _, rule, _, warnings = decode({"steps": "30", "eta": "0.2", "rho": "2", "alpha": "0.5"})
    assert warnings == [] and rule == RuleConfig(steps=30, eta=0.2, rho=2.0, alpha=0.5)
    assert encode(ModelConfig(), InferenceConfig(alpha=0.5), TrainConfig()) == {"alpha": "0.5"}


@pytest.mark.parametrize("field", [f for f in FIELDS if f.url], ids=lambda f: f.url)
def test_a_hostile_address_value_names_the_parameter_and_falls_back_to_the_default(field):
    model, rule, train, warnings = decode({field.url: "<img src=x onerror=alert(1)>"})
    assert (model, rule, train) == (ModelConfig(), RuleConfig(), TrainConfig())
    assert len(warnings) == 1 and warnings[0].startswith(f"Ignored {field.url}=")
    assert warnings[0].endswith(f"Using {field.default_words()} instead.")


def test_what_none_and_words_stand_for_is_written_and_read():
    assert FIELD["steps"].parse("") is None and FIELD["steps"].default_words() == "2L"
    assert FIELD["eta"].parse("auto") == "auto" and FIELD["eta"].parse("0.5") == 0.5
    with pytest.raises(ValueError, match="neither a number nor 'auto'"):
        FIELD["eta"].parse("fast")
    with pytest.raises(ValueError, match="whole number"):
        FIELD["depth"].parse("2.5")


def test_the_sidebars_values_show_a_configuration_and_make_it_again():
    from pcviz.ui._presets import PRESETS, preset_configs
    from pcviz.ui._sidebar_fields import WIDGETS, configs_from_values, widget_values

    base = (ModelConfig(), RuleConfig(), TrainConfig())
    configs = (ModelConfig(depth=24, width=8, activation="tanh", param="sp", skip=False),
               RuleConfig(steps=30, eta=0.2, rho=2.0, alpha=0.5),
               TrainConfig(rules=("pc", "pcalm"), dataset="xor", batch_size=16, seed=7,
                           optimizer="sgd", learning_rate=0.002))
    values = widget_values(*configs)
    assert set(values) == set(WIDGETS) and values["cfg_eta"] == 0.2
    assert widget_values(*base)["cfg_eta"] is None and widget_values(*base)["cfg_steps"] is None
    assert configs_from_values(values, (configs[0], RuleConfig(), TrainConfig())) == configs
    assert configs_from_values({**values, "cfg_param": "mupc"}, configs)[0].skip is True
    warnings = []
    clamped = widget_values(ModelConfig(depth=1000), RuleConfig(), TrainConfig(), warnings)
    assert clamped["cfg_depth"] == 256 and "depth=1000" in warnings[0]
    with pytest.raises(ValueError, match="at least one learning rule"):
        configs_from_values({**values, "cfg_rules": []}, base)
    for name, preset in PRESETS.items():
        assert set(preset.changes) <= set(WIDGETS), name
        model, rule, _ = preset_configs(name)
        assert widget_values(model, rule, TrainConfig())["cfg_depth"] == (
            preset.changes.get("cfg_depth", 16))
