"""The README tells the truth: its quick start is what CI runs, its function
table is the function table, and its examples print what it says."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from autodiff.functions import CONSTANTS, FUNCTIONS
from helpers import invoke

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def test_quick_start_is_exactly_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2
    assert 'autodiff grad "6*x^2+2*x+4" --at x=3' in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert quick_start_commands()[1] in ci


def test_the_function_table_lists_every_function_and_constant():
    for spec in FUNCTIONS:
        assert f"| `{spec.signature}` | {spec.summary} |" in README
    for constant in CONSTANTS:
        assert f"| `{constant.name}` | {constant.summary} |" in README


def readme_examples():
    """Each `$ autodiff ...` block in the README with the output it shows."""
    examples = []
    for block in re.findall(r"```\n(\$ autodiff .*?)```", README, re.S):
        for part in re.split(r"\n(?=\$ )", block.strip("\n")):
            command, _, output = part.partition("\n")
            examples.append((command[2:], output))
    return examples


@pytest.mark.parametrize(("command", "output"), readme_examples(), ids=lambda v: v[:40] if isinstance(v, str) else "")
def test_readme_examples_print_what_the_readme_shows(command, output):
    args = shlex.split(command.split(" > /dev/null")[0].split(";")[0])[1:]
    result = invoke(*args)
    if "> /dev/null; echo $?" in command:
        assert str(result.exit_code) == output.strip()
        return
    shown = result.stdout + result.stderr
    if "--json" in args:  # the finite-difference digits may differ in the last places
        assert re.sub(r'"numeric": [^,]*', "", shown.strip()) == re.sub(r'"numeric": [^,]*', "", output.strip())
    else:
        assert shown.rstrip("\n") == output.rstrip("\n")
