"""The README tells the truth: its quick start is what CI runs, its function
table is the function table, and its examples print what it says."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from autodiff.frontends import cli
from autodiff.frontends.runner import expression_first
from autodiff.language.functions import CONSTANTS, FUNCTIONS
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


def test_the_function_table_has_no_other_rows_and_the_table_order():
    section = README.split("### Functions and constants", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    expected = [f"| `{spec.signature}` | {spec.summary} |" for spec in FUNCTIONS]
    expected += [f"| `{constant.name}` | {constant.summary} |" for constant in CONSTANTS]
    assert rows == expected


def readme_examples():
    """Each `$ autodiff ...` (or `$ printf '...' | autodiff ...`) block in the
    README with the output it shows."""
    examples = []
    for block in re.findall(r"```\n(\$ (?:printf '[^']*' \| )?autodiff .*?)```", README, re.S):
        for part in re.split(r"\n(?=\$ )", block.strip("\n")):
            command, _, output = part.partition("\n")
            examples.append((command[2:], output))
    return examples


def test_the_readme_has_a_streaming_example():
    assert any(command.startswith("printf ") for command, _ in readme_examples())


@pytest.mark.parametrize(("command", "output"), readme_examples(), ids=lambda v: v[:40] if isinstance(v, str) else "")
def test_readme_examples_print_what_the_readme_shows(command, output):
    stdin = None
    if command.startswith("printf "):  # printf 'a\nb\n' | autodiff ...
        printed, command = command.split(" | ", 1)
        stdin = shlex.split(printed)[1].encode().decode("unicode_escape")
    args = shlex.split(command.split(" > /dev/null")[0].split(";")[0])[1:]
    args = expression_first(cli.command(), args)  # as the console script reads `grad "-x^2"`
    result = invoke(*args, input=stdin)
    if "> /dev/null; echo $?" in command:
        assert str(result.exit_code) == output.strip()
        return
    shown = result.stdout + result.stderr
    if "--json" in args:  # the finite-difference digits may differ in the last places
        assert re.sub(r'"numeric": [^,]*', "", shown.strip()) == re.sub(r'"numeric": [^,]*', "", output.strip())
    else:
        assert shown.rstrip("\n") == output.rstrip("\n")


def test_the_python_api_examples_run():
    """The README's `pycon` blocks are doctests, run from the repository root."""
    import doctest
    import os

    blocks = re.findall(r"```pycon\n(.*?)```", README, re.S)
    assert blocks, "the README has no Python API examples"
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        for number, block in enumerate(blocks):
            test = parser.get_doctest(block, {}, f"README pycon block {number + 1}", "README.md", 0)
            runner.run(test)
    finally:
        os.chdir(here)
    summary = runner.summarize(verbose=False)
    assert summary.attempted > 10
    assert summary.failed == 0
