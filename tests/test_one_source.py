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
