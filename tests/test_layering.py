"""The layers hold, read mechanically from the source (AST, nothing imported):

(a) no module of `pcviz/` outside `pcviz/ui/` imports streamlit, at any level (inside
    functions too);
(b) no module of `pcviz/ui/` defines a jitted function or imports `jax.numpy`: it does not
    compute;
(c) pages and `app.py` use only the public `pcviz.ui` surface, the names in the `__all__` of
    `pcviz/ui/__init__.py`, never a `pcviz.ui._x` module;
(d) the import graph inside `pcviz/ui/` has no cycle, counting imports inside functions and
    under `TYPE_CHECKING`.

Each check is a function of source text, and a parametrised self-test feeds it a snippet that
breaks its rule, so that none passes by reading nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pcviz"
UI = PACKAGE / "ui"
PAGES = [*sorted((ROOT / "pages").glob("*.py")), ROOT / "app.py"]


def _modules_named(node: ast.AST) -> list[str]:
    """The absolute or relative module names an import statement names (`.x` for relative)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        base = "." * node.level + (node.module or "")
        return [base] + [f"{base}.{a.name}" if node.module else base + a.name
                         for a in node.names]
    return []


# ------------------------------------------------------------------------ (a) streamlit


def streamlit_imports(source: str) -> list[int]:
    """Lines that import streamlit (`import streamlit`, `from streamlit... import`,
    `importlib.import_module("streamlit...")`, `__import__("streamlit")`), at any level."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        names = _modules_named(node)
        if isinstance(node, ast.ImportFrom) and node.level:
            names = []
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        if any(n == "streamlit" or n.startswith("streamlit.") for n in names):
            lines.append(node.lineno)
    return lines


def _library_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if UI not in p.parents)


@pytest.mark.parametrize("path", _library_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_streamlit_below_the_ui(path):
    lines = streamlit_imports(path.read_text(encoding="utf-8"))
    assert not lines, f"{path.relative_to(ROOT)} imports streamlit on lines {lines}"


# -------------------------------------------------------------------- (b) no compute in ui

_JIT_NAMES = {"jit", "filter_jit", "pmap", "filter_pmap", "vmap", "filter_vmap"}


def compute_in_ui(source: str) -> list[str]:
    """What in `source` computes: a reference to a jit (`jax.jit`, `@jit`,
    `partial(jax.jit, ...)`, `eqx.filter_jit`, also pmap/vmap), or an import of `jax.numpy`
    (`import jax.numpy`, `from jax import numpy`, `from jax.numpy import ...`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in _JIT_NAMES:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in _JIT_NAMES:
            found.append(f"line {node.lineno}: {node.id}")
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module == "jax" and any(a.name in {"numpy", *_JIT_NAMES} for a in node.names):
                found.append(f"line {node.lineno}: from jax import ...")
            elif node.module == "equinox" and any(a.name in _JIT_NAMES for a in node.names):
                found.append(f"line {node.lineno}: from equinox import ...")
            elif node.module == "jax.numpy" or node.module.startswith("jax.numpy."):
                found.append(f"line {node.lineno}: from jax.numpy import ...")
        elif isinstance(node, ast.Import) and any(a.name.startswith("jax.numpy")
                                                  for a in node.names):
            found.append(f"line {node.lineno}: import jax.numpy")
    return found


@pytest.mark.parametrize("path", sorted(UI.glob("*.py")), ids=lambda p: p.name)
def test_ui_does_not_compute(path):
    found = compute_in_ui(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(ROOT)} computes: {found}"


# ------------------------------------------------------------- (c) pages: public ui only


def public_ui_names(init_source: str) -> set[str]:
    """The names in the `__all__` list of `pcviz/ui/__init__.py` (a literal list)."""
    for node in ast.parse(init_source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__"
                                                for t in node.targets):
            return {ast.literal_eval(e) for e in node.value.elts}
    return set()


def private_ui_uses(source: str, public: set[str]) -> list[str]:
    """What in a page reaches past the public `pcviz.ui`: an import of a `pcviz.ui.<x>`
    module, `from pcviz.ui import <name>` with a name not in `public`, or `ui.<name>` /
    `pcviz.ui.<name>` with such a name (whatever `pcviz.ui` is bound to)."""
    tree, found, aliases = ast.parse(source), [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("pcviz.ui."):
                    found.append(f"line {node.lineno}: import {a.name}")
                elif a.name == "pcviz.ui" and a.asname:
                    aliases.add(a.asname)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module.startswith("pcviz.ui."):
                found.append(f"line {node.lineno}: from {node.module} import ...")
            elif node.module == "pcviz.ui":
                found += [f"line {node.lineno}: from pcviz.ui import {a.name}"
                          for a in node.names if a.name not in public]
            elif node.module == "pcviz":
                aliases |= {a.asname or a.name for a in node.names if a.name == "ui"}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or node.attr in public:
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in aliases:
            found.append(f"line {node.lineno}: {owner.id}.{node.attr}")
        elif (isinstance(owner, ast.Attribute) and owner.attr == "ui"
              and isinstance(owner.value, ast.Name) and owner.value.id == "pcviz"):
            found.append(f"line {node.lineno}: pcviz.ui.{node.attr}")
    return found


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_use_the_public_ui_only(path):
    public = public_ui_names((UI / "__init__.py").read_text(encoding="utf-8"))
    assert public, "pcviz/ui/__init__.py has no __all__"
    found = private_ui_uses(path.read_text(encoding="utf-8"), public)
    assert not found, f"{path.relative_to(ROOT)} uses private pcviz.ui names: {found}"


def test_every_public_ui_name_exists():
    source = (UI / "__init__.py").read_text(encoding="utf-8")
    bound = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom):
            bound |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Assign):
            bound |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    assert public_ui_names(source) <= bound


# ---------------------------------------------------------------------- (d) ui cycles


def ui_imports(source: str, modules: set[str]) -> set[str]:
    """The modules of `pcviz/ui/` (named as in `modules`, `__init__` for the package) that
    `source`, a module of `pcviz/ui/`, imports anywhere in its body."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found |= {a.name if a.name in modules else "__init__" for a in node.names}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for name in _modules_named(node):
                if name == "pcviz.ui" or name.startswith("pcviz.ui."):
                    parts = name.split(".")
                    found.add(parts[2] if len(parts) > 2 and parts[2] in modules
                              else "__init__")
    return found & modules


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of `graph` with more than one node, or with a
    self-loop (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def ui_graph() -> dict[str, set[str]]:
    """Module -> the `pcviz/ui/` modules it imports."""
    modules = {p.stem for p in UI.glob("*.py")}
    return {p.stem: ui_imports(p.read_text(encoding="utf-8"), modules) - {p.stem}
            for p in UI.glob("*.py")}


def test_ui_imports_have_no_cycle():
    found = [sorted(c) for c in cycles(ui_graph())]
    assert not found, f"import cycles inside pcviz/ui: {found}"


def test_the_ui_graph_is_read():
    graph = ui_graph()  # a graph read as empty would have no cycle either
    assert {"_lab_state", "_lab_view"} <= graph["_lab"] and "_credit" in graph["__init__"]


# ------------------------------------------------------------- each check can fail


@pytest.mark.parametrize("snippet", [
    "import streamlit as st",
    "import streamlit.components.v1",
    "from streamlit.runtime import exists",
    "def f():\n    import streamlit\n    return streamlit",
    "class A:\n    def f(self):\n        from streamlit import session_state",
    "import importlib\nst = importlib.import_module('streamlit')",
])
def test_streamlit_check_fails_on(snippet):
    assert streamlit_imports(snippet)


def test_streamlit_check_passes_clean_code():
    assert not streamlit_imports("import numpy\nfrom .streamlit_free import x\n'streamlit'")


@pytest.mark.parametrize("snippet", [
    "import jax\nf = jax.jit(lambda x: x)",
    "from jax import jit\n@jit\ndef f(x):\n    return x",
    "import functools, jax\n@functools.partial(jax.jit, static_argnums=0)\ndef f(n): ...",
    "import equinox as eqx\n@eqx.filter_jit\ndef f(m): ...",
    "import jax.numpy as jnp",
    "from jax import numpy as jnp",
    "from jax.numpy import linalg",
    "def f():\n    import jax.numpy as jnp\n    return jnp.zeros(3)",
])
def test_compute_check_fails_on(snippet):
    assert compute_in_ui(snippet)


def test_compute_check_passes_widget_code():
    assert not compute_in_ui("import numpy as np\nimport streamlit as st\nst.write(np.pi)")


PUBLIC = {"ICON", "explain"}


@pytest.mark.parametrize("snippet", [
    "from pcviz.ui import _credit as credit",
    "from pcviz.ui._page import figure_files",
    "import pcviz.ui._theory",
    "from pcviz.ui import hidden",
    "from pcviz import ui\nui._theory.exactness(3)",
    "import pcviz.ui as ui\nui.hidden()",
    "import pcviz.ui\npcviz.ui._page",
])
def test_public_ui_check_fails_on(snippet):
    assert private_ui_uses(snippet, PUBLIC)


def test_public_ui_check_passes_public_use():
    assert not private_ui_uses("from pcviz import ui\nimport pcviz.ui\nfrom pcviz.ui import "
                               "ICON\nui.explain('x')\npcviz.ui.ICON", PUBLIC)


@pytest.mark.parametrize("sources, expected", [
    ({"_a": "from ._b import x", "_b": "from ._a import y"}, [{"_a", "_b"}]),
    ({"_a": "def f():\n    from . import _b", "_b": "from ._c import z",
      "_c": "import typing\nif typing.TYPE_CHECKING:\n    from ._a import A"},
     [{"_a", "_b", "_c"}]),
    ({"_a": "from pcviz.ui._b import x", "_b": "import pcviz.ui._a"}, [{"_a", "_b"}]),
    ({"__init__": "from ._a import f", "_a": "from . import ICON"}, [{"__init__", "_a"}]),
    ({"_a": "from ._b import x", "_b": "from .. import service"}, []),
])
def test_cycle_check(sources, expected):
    modules = set(sources)
    graph = {m: ui_imports(s, modules) - {m} for m, s in sources.items()}
    assert sorted(map(sorted, cycles(graph))) == sorted(map(sorted, expected))
