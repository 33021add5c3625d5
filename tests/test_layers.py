"""The package's shape (README, "Layout"): layers that import only downward,
no import circles, no private name used across modules, modules short
enough to read, and a docstring that says what each module is for.

The layers and the circles are import-linter's contracts (`.importlinter`,
run by `lint-imports` in CI); the rest is read here from the source with
`ast`, so a test fails with the module and line that break the rule.
"""

from __future__ import annotations

import ast
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "src" / "autodiff"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 700


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def test_the_layers_contract_holds():
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert command, "import-linter is part of the test extras: pip install -e '.[test]'"
    run = subprocess.run([command], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in run.stdout


@pytest.mark.parametrize("path", MODULES, ids=lambda path: module_name(path))
def test_no_private_name_crosses_a_module(path: Path):
    tree = ast.parse(path.read_text(), str(path))
    here = module_name(path)
    modules: set[str] = set()  # local names bound to one of our modules
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autodiff") and node.level == 0:
            for alias in node.names:
                if is_private(alias.name) and node.module != here:
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                elif is_module(f"{node.module}.{alias.name}"):
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules.update(alias.asname for alias in node.names if alias.asname and alias.name.startswith("autodiff"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            if is_private(node.attr):
                found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    assert not found, f"{here} uses private names of other modules: " + "; ".join(found)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: module_name(path))
def test_every_module_is_short_and_says_what_it_is_for(path: Path):
    text = path.read_text()
    lines = text.count("\n")
    assert lines <= MAX_LINES, f"{module_name(path)} has {lines} lines (at most {MAX_LINES}): split it by what it does"
    assert ast.get_docstring(ast.parse(text)), f"{module_name(path)} has no module docstring"


def test_the_readme_shows_every_package_of_the_tree():
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    packages = sorted(path.parent.name for path in PACKAGE.glob("*/__init__.py"))
    assert packages
    for package in packages:
        assert f"{package}/" in layout, f"the README's layout section does not show {package}/"
