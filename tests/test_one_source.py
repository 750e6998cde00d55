"""What is written once: the rules' display names, the resolution of `eta="auto"`, JSON's
stand-in for non-finite numbers. Each helper is checked, and the tree is checked to hold no
second copy of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pcviz import figures
from pcviz.config_fields import RULE_LABELS, RULES, rule_label

PACKAGE = Path(__file__).resolve().parents[1] / "pcviz"


def _sources() -> dict[str, str]:
    return {str(p.relative_to(PACKAGE.parent)): p.read_text() for p in PACKAGE.rglob("*.py")}


def _places(pattern: str, sources: dict[str, str]) -> list[str]:
    return sorted(name for name, text in sources.items() if re.search(pattern, text))


def test_every_rule_has_one_name_and_one_colour():
    assert [rule_label(r) for r in RULES] == ["BP", "PC", "PC-ALM"]
    assert rule_label("newrule") == "NEWRULE"  # a rule outside the table still gets a name
    assert figures.RULE_LABELS is RULE_LABELS and set(figures.RULE_COLORS) == set(RULES)
    assert len(set(figures.RULE_COLORS.values())) == len(RULES)


def test_no_module_names_the_rules_a_second_time():
    table = r"""["']pcalm["']\s*:\s*["']PC-ALM["']"""
    assert _places(table, _sources()) == ["pcviz/config_fields.py"]
    shortcut = r"RULE_LABELS\.get\("
    assert _places(shortcut, _sources()) == ["pcviz/config_fields.py"]


@pytest.mark.parametrize("text", ['{"pcalm": "PC-ALM"}', "RULE_LABELS.get(rule, rule)"])
def test_the_search_for_a_second_table_finds_one(text):
    found = _places(r"""["']pcalm["']\s*:\s*["']PC-ALM["']|RULE_LABELS\.get\(""",
                    {"pcviz/elsewhere.py": text})
    assert found == ["pcviz/elsewhere.py"]


def test_auto_eta_is_resolved_in_one_place():
    import jax
    import jax.numpy as jnp

    from pcviz.config import ModelConfig, RuleConfig
    from pcviz.model import init_model
    from pcviz.rules import constraint_spectral_norm, resolve_eta

    model = init_model(ModelConfig(depth=4, width=8, input_dim=2, output_dim=2),
                       jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (16, 2))
    auto = resolve_eta("auto", model, x)
    assert isinstance(auto, float) and auto == pytest.approx(
        1.0 / float(constraint_spectral_norm(model, x)), rel=1e-6)
    assert resolve_eta(0.25, model, x) == 0.25
    assert resolve_eta(0.25, model, jnp.zeros((1, 2))) == 0.25  # a number needs no batch
    assert RuleConfig(eta="auto").eta_is_auto and not RuleConfig(eta=0.25).eta_is_auto
    assert RuleConfig(eta="auto").inference.eta_is_auto
    callers = _places(r"\bauto_eta\(", _sources())
    assert callers == ["pcviz/rules/_grads.py", "pcviz/rules/_infer.py"]
    assert _places(r"""\.eta\s*==\s*["']auto["']""", _sources()) == []


def test_json_ready_writes_every_non_finite_number_as_null():
    import json
    import math

    import numpy as np

    from pcviz._json import json_ready

    value = {1: (math.nan, np.float32(2.5), np.int64(3), np.array([[1.0, np.inf], [-np.inf, 0.0]])),
             "flag": np.bool_(True), "text": "nan", "none": None}
    ready = json_ready(value)
    assert ready == {"1": [None, 2.5, 3, [[1.0, None], [None, 0.0]]], "flag": True,
                     "text": "nan", "none": None}
    assert json.loads(json.dumps(ready, allow_nan=False)) == ready
    assert json_ready(math.nan) is None and json_ready(1.5) == 1.5


def test_no_module_writes_its_own_null_for_nan():
    own = r"(isfinite|isnan)\([^)]*\)\)? else None|None if (math|np)\.(isnan|isfinite)"
    assert _places(own, _sources()) == []
    assert _places(own, {"pcviz/x.py": "return v if math.isfinite(v) else None"}) == ["pcviz/x.py"]


def test_a_recorded_probe_is_stored_finished_or_failed(tmp_path):
    from pcviz.budget import BudgetError
    from pcviz.config import ModelConfig, RuleConfig, TrainConfig
    from pcviz.runs import recorded_probe
    from pcviz.store import open_store

    store = open_store(str(tmp_path / "runs.db"))
    train = TrainConfig(rules=("pc", "pcalm"), dataset="spirals", batch_size=8)
    run_id, result = recorded_probe(store, ModelConfig(depth=3, width=4), RuleConfig(steps=4),
                                    train, command="credit")
    run = store.get(run_id)
    assert (run.kind, run.status, run.label) == ("probe", "finished", "credit L=3 N=4")
    assert run.config["command"] == "credit" and result.steps == 4
    with pytest.raises(BudgetError):
        recorded_probe(store, ModelConfig(depth=1024, width=4096), RuleConfig(), train,
                       command="probe")
    failed = [r for r in store.runs(kind="probe") if r.run_id != run_id]
    assert [r.status for r in failed] == ["failed"] and "BudgetError" in failed[0].error
