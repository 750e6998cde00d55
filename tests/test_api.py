"""The public API: every exported name is documented, and the layers keep their boundaries."""

import ast
import pathlib

import pcviz

ROOT = pathlib.Path(pcviz.__file__).parent


def test_every_public_name_is_documented():
    undocumented = [
        name for name in pcviz.__all__ if not (getattr(pcviz, name).__doc__ or "").strip()
    ]
    assert undocumented == []
    assert sorted(pcviz.__all__) == sorted(set(pcviz.__all__))


def test_the_contract_names_exist():
    for name in ("ModelConfig", "RuleConfig", "init_model", "weight_grads", "Telemetry"):
        assert name in pcviz.__all__
    assert pcviz.Telemetry._fields == ("credit", "error", "multiplier", "energy", "alignment",
                                       "bp_adjoint")


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_ui_imports_streamlit():
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if "ui" not in path.relative_to(ROOT).parts and "streamlit" in _imports(path)
    ]
    assert offenders == []
