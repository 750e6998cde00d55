"""The documentation holds: every public name has a docstring, and the docs point only to files
that exist.

Public names are those in `__all__` of `pcviz` and of every public module (no part of its
dotted name starts with `_`), the names a public package re-exports when it has no `__all__`,
every public function or class defined in a public module, and the public methods and
properties of those classes. A class's docstring must be its own: the signature that
`dataclass` or `NamedTuple` writes when there is none does not count.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import pcviz

ROOT = Path(__file__).resolve().parents[1]


def _public_module_names() -> list[str]:
    names = ["pcviz"]
    for info in pkgutil.walk_packages(pcviz.__path__, "pcviz."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names)


def _own_docstring(obj) -> str | None:
    """The docstring `obj` was written with, or `None`."""
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
        if doc and re.match(rf"{re.escape(obj.__name__)}\(", doc):
            return None  # the signature dataclass / NamedTuple / equinox write
        return doc
    return getattr(obj, "__doc__", None)


def _documentable(obj) -> bool:
    """Functions, classes and wrapped functions (`jax.jit`) carry docstrings; data does not."""
    return inspect.isclass(obj) or inspect.isfunction(obj) or hasattr(obj, "__wrapped__")


def _public_names(module) -> dict[str, object]:
    names: dict[str, object] = {}
    exported = getattr(module, "__all__", None)
    is_package = hasattr(module, "__path__")
    for name, obj in vars(module).items():
        if name.startswith("_") or not _documentable(obj):
            continue
        defined_here = getattr(obj, "__module__", None) == module.__name__
        re_exported = is_package and exported is None and str(
            getattr(obj, "__module__", "")).startswith("pcviz")
        if defined_here or re_exported:
            names[name] = obj
    for name in exported or ():
        obj = getattr(module, name)
        if _documentable(obj):
            names[name] = obj
    return names


def _public_methods(cls) -> dict[str, object]:
    """The public methods and properties a class defines itself."""
    methods = {}
    for name, attr in vars(cls).items():
        func = attr.fget if isinstance(attr, property) else getattr(attr, "__func__", attr)
        if not name.startswith("_") and inspect.isfunction(func):
            methods[f"{cls.__name__}.{name}"] = func
    return methods


MODULES = _public_module_names()


def test_the_walk_finds_the_public_modules():
    assert {"pcviz", "pcviz.analysis", "pcviz.theory", "pcviz.rules", "pcviz.cli"} <= set(MODULES)
    assert not [m for m in MODULES if "._" in m]


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_name_has_a_docstring(module_name):
    module = importlib.import_module(module_name)
    assert (module.__doc__ or "").strip(), f"module {module_name} has no docstring"
    names = _public_names(module)
    for obj in list(names.values()):
        if inspect.isclass(obj) and obj.__module__.startswith("pcviz"):
            names.update(_public_methods(obj))
    missing = sorted(name for name, obj in names.items() if not (_own_docstring(obj) or "").strip())
    assert not missing, f"{module_name}: public names without a docstring: {missing}"


def test_the_check_can_fail():
    from dataclasses import dataclass
    from typing import NamedTuple

    @dataclass
    class Plain:
        x: int

    class Pair(NamedTuple):
        a: int

    class Shape:
        """A class with one undocumented method."""

        def area(self):
            return 0

    def bare():
        pass

    assert _own_docstring(Plain) is None and _own_docstring(Pair) is None
    assert not _own_docstring(bare)
    assert list(_public_methods(Shape)) == ["Shape.area"]
    assert not _own_docstring(_public_methods(Shape)["Shape.area"])
    assert _own_docstring(pcviz.Telemetry) and _own_docstring(pcviz.weight_grads)


def test_the_docs_point_to_files_that_exist():
    """Docstrings and docs cite docs/science.md (in the repository), not an outside file."""
    assert (ROOT / "docs" / "science.md").is_file()
    sources = [*ROOT.glob("pcviz/**/*.py"), *ROOT.glob("bench/*.py"), ROOT / "README.md",
               *ROOT.glob("docs/*.md")]
    cited = {m for path in sources for m in re.findall(r"\b[A-Z]{4,}\.md\b", path.read_text())}
    assert not {c for c in cited if c != "README.md"}, f"docs cite missing files: {cited}"
    assert "docs/science.md" in (ROOT / "README.md").read_text()


def test_science_md_names_what_the_code_defines():
    """The functions the science page names as implementing an equation exist under that name."""
    text = (ROOT / "docs" / "science.md").read_text()
    named = set(re.findall(r"`pcviz\.([a-z_.]+[a-z_])`", text))
    assert len(named) > 10
    for dotted in sorted(named):
        parts = dotted.split(".")
        obj, done = None, False
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module("pcviz." + ".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
            done = True
            break
        if not done:
            obj = pcviz
            for attr in parts:
                obj = getattr(obj, attr)
        assert obj is not None, dotted
