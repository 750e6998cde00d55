"""The package holds together: pyproject.toml, requirements.txt and requirements.lock agree, the
wheel carries the files the package loads and the `pcviz` command, and CI runs the README's
set-up and test command exactly."""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import pcviz
from pcviz.rules import _fused

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pins(path: Path) -> dict[str, str]:
    """`name -> version` of the `name==version` lines of a requirements file."""
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;\\]+)", line)
        if match:
            pins[match[1].lower().replace("_", "-")] = match[3]
    return pins


def _fenced_blocks(markdown: str, heading: str) -> list[str]:
    section = markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


def test_pyproject_dependencies_admit_the_tested_pins():
    pins = _pins(ROOT / "requirements.txt")
    project = PYPROJECT["project"]
    deps = [*project["dependencies"], *project["optional-dependencies"]["test"],
            *project["optional-dependencies"]["lint"]]
    for dep in map(Requirement, deps):
        name = dep.name.lower()
        assert name in pins, f"{name} is a dependency but requirements.txt does not pin it"
        assert Version(pins[name]) in dep.specifier, f"{name}=={pins[name]} not in {dep}"


def test_the_lock_pins_requirements_txt_with_hashes():
    wanted, locked = _pins(ROOT / "requirements.txt"), _pins(ROOT / "requirements.lock")
    assert {n: locked.get(n) for n in wanted} == wanted  # regenerate the lock after an edit
    text = (ROOT / "requirements.lock").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert len(entries) == len(locked) > len(wanted)
    assert all("--hash=sha256:" in entry for entry in entries)


def test_ci_runs_the_readme_set_up_and_test_command():
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci" / "run").read_text()
    set_up, dashboard, tests = _fenced_blocks(readme, "Quick start")[:3]
    assert "python3 -m venv" in set_up and "--require-hashes -r requirements.lock" in set_up
    assert "streamlit run app.py" in dashboard
    run_lines = [line for line in tests.splitlines() if line and not line.startswith("#")]
    assert run_lines == ["python -m pytest"]
    ci_lines = [line for line in ci.splitlines() if line and not line.startswith("#")]
    set_up_lines = [line for line in set_up.splitlines() if line and not line.startswith("#")]
    start = ci_lines.index(set_up_lines[0])
    assert ci_lines[start:start + len(set_up_lines)] == set_up_lines
    assert ci_lines[-1] == run_lines[0]


def test_package_data_covers_the_files_the_package_loads():
    globs = PYPROJECT["tool"]["setuptools"]["package-data"]
    tracked = subprocess.run(["git", "ls-files", "pcviz"], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout: no list of the package's files")
    for name in tracked:
        path = Path(name)
        if path.suffix == ".py":
            continue
        package = ".".join(path.parent.parts)
        assert any(path.match(f"{package.replace('.', '/')}/{g}")
                   for g in globs.get(package, [])), f"{name} is not package data"


def test_the_live_charts_get_the_cartesian_plotly_js_of_the_installed_plotly_version():
    """The small bundle is served only while it matches the plotly package's own plotly.js: an
    upgrade of plotly that leaves the bundle behind fails here, not silently in a page."""
    from pcviz.ui import _live_chart as chart

    version = chart.plotly_js_version(chart.PLOTLY_FULL)
    assert version and chart.plotly_js_version(chart.PLOTLY_CARTESIAN) == version
    assert chart.PLOTLY_JS == chart.PLOTLY_CARTESIAN
    assert chart.PLOTLY_CARTESIAN.stat().st_size < chart.PLOTLY_FULL.stat().st_size / 2


def test_the_console_command_is_the_cli():
    assert PYPROJECT["project"]["scripts"] == {"pcviz": "pcviz.cli:main"}
    try:
        installed = metadata.version("pcviz")
    except metadata.PackageNotFoundError:
        pytest.skip("pcviz is not installed here (the README's set-up installs it)")
    assert installed == pcviz.__version__
    command = shutil.which("pcviz", path=str(Path(sys.executable).parent))
    assert command, "the pcviz command is not next to this Python"
    done = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=120,
                          cwd="/")
    assert done.returncode == 0 and done.stdout.strip() == f"pcviz {pcviz.__version__}"


def test_the_wheel_carries_the_package_data_and_the_command(tmp_path):
    setuptools = pytest.importorskip("setuptools")
    if Version(setuptools.__version__) < Version("77"):
        pytest.skip(f"setuptools {setuptools.__version__} is too old to build (the lock has it)")
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "pcviz", source / "pcviz",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("pcviz-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "pcviz/ui/icon.png" in names and "pcviz/rules/_infer.py" in names
    # the kernel's sources, which setup.py compiles beside them
    assert {f"pcviz/rules/{name}" for name in ("_fused_loop.cc", "_fused_blocks.h",
                                               "_fused_parts.h")} <= set(names)
    if platform.machine() in ("x86_64", "AMD64"):
        for variant, _ in _fused.VARIANTS:  # AVX-512 and AVX2
            kernels = [n for n in names if n.startswith(f"pcviz/rules/_fused_loop_{variant}")]
            assert kernels and kernels[0].endswith(".so"), f"the {variant} kernel is not built"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "pcviz = pcviz.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    assert any(n.endswith("licenses/LICENSE") for n in names)
