"""The README tells the truth: its quick start is what CI runs, its function
table is the function table, and its examples print what it says."""

from __future__ import annotations

import os
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
    README (``` or ```text) with the output it shows; `autodiff repl`'s
    transcripts are read by repl_transcripts."""
    examples = []
    for block in re.findall(r"```(?:text)?\n(\$ (?:printf '[^']*' \| )?autodiff .*?)```", README, re.S):
        for part in re.split(r"\n(?=\$ )", block.strip("\n")):
            command, _, output = part.partition("\n")
            if command != "$ autodiff repl":
                examples.append((command[2:], output))
    return examples


def repl_transcripts() -> list[tuple[list[str], str]]:
    """Each README block that starts `$ autodiff repl`: the lines typed at
    its prompts, and what the session printed."""
    transcripts = []
    for block in re.findall(r"```(?:text)?\n\$ autodiff repl\n(.*?)```", README, re.S):
        typed = [line[len(PROMPT):] for line in block.splitlines() if line.startswith(PROMPT)]
        printed = "\n".join(line for line in block.splitlines() if not line.startswith(PROMPT))
        transcripts.append((typed, printed))
    return transcripts


PROMPT = "autodiff> "


def shows(output: str, expected: str) -> bool:
    """Whether `output` is what the README shows: line for line, where a line
    `…` alone stands for any lines (none, or many) the README leaves out."""
    pattern = "\n".join(".*?" if line == "…" else re.escape(line.rstrip()) for line in expected.rstrip("\n").split("\n"))
    output = "\n".join(line.rstrip() for line in output.rstrip("\n").split("\n"))
    return re.fullmatch(pattern.replace("\n.*?\n", "(?:\n.*?)?\n"), output, re.S) is not None


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
    elif "…" in output.split("\n"):
        assert shows(shown, output), shown
    elif args[0] == "minimize":  # the time each run took differs from run to run, and so its column's width
        assert without_times(shown) == without_times(output)
    else:
        assert shown.rstrip("\n") == output.rstrip("\n")


def without_times(text: str) -> str:
    """`text` with each duration (`22.0 ms`) as `T`, and the spaces and rules that
    line columns up as one character."""
    text = re.sub(r"\b\d+(?:\.\d+)? (?:ms|s|µs)\b", "T", text)
    return "\n".join(re.sub(r"─+", "─", re.sub(r" +", " ", line)).strip() for line in text.strip("\n").split("\n"))


def test_the_readme_has_a_repl_transcript():
    assert repl_transcripts()


@pytest.mark.parametrize(("typed", "printed"), repl_transcripts(), ids=lambda v: v[0][:30] if isinstance(v, list) else "")
def test_readme_repl_transcripts_print_what_the_readme_shows(typed, printed):
    """The lines typed at the transcript's prompts, as a script: the session
    answers each as at the prompt."""
    result = invoke("repl", "--no-history", input="\n".join(typed) + "\n")
    assert shows(result.stdout + result.stderr, printed), result.stdout + result.stderr


def test_the_ellipsis_of_a_transcript_stands_for_any_lines():
    assert shows("a\nb\nc\nd", "a\n…\nd") and shows("a\nd", "a\n…\nd") and shows("a\nb", "…\nb")
    assert shows("a\nb\nc", "a\n…")
    assert not shows("a\nb\nc", "a\n…\nd") and not shows("a\nb", "a")


def test_the_python_api_examples_run():
    """The README's `pycon` blocks are doctests, run from the repository root."""
    import doctest

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


def test_the_json_section_shows_grads_json_as_it_is():
    """The pretty-printed object under "JSON output" is the headline's
    `--json`, key for key (finite differences to 1e-6)."""
    import json

    block = re.search(r"## JSON output.*?```json\n(.*?)```", README, re.S).group(1)
    shown = json.loads(block)
    real = json.loads(invoke("grad", shown["expression"].replace("**", "^"), "--at", "x=3", "--json").stdout)
    assert _without_numeric(shown) == _without_numeric(real)
    assert shown["gradient"]["x"]["numeric"] == pytest.approx(real["gradient"]["x"]["numeric"], rel=1e-6)


def _without_numeric(value):
    if isinstance(value, dict):
        return {key: _without_numeric(item) for key, item in value.items() if key != "numeric"}
    return value


def pytest_transcripts() -> list[tuple[str, str]]:
    return [(command, output) for command, output in
            (block.split("\n", 1) for block in re.findall(r"```\n\$ (pytest .*?)```", README, re.S))]


@pytest.mark.parametrize(("command", "output"), pytest_transcripts(), ids=lambda v: v[:40])
def test_readme_pytest_transcripts_print_what_the_readme_shows(command, output):
    """`pytest cases.toml` through the plugin, as a user runs it (the time differs)."""
    import subprocess
    import sys

    # pytest prints the whole failure message in its summary on a CI machine (CI or BUILD_NUMBER set);
    # the README shows what a user's terminal shows.
    env = {key: value for key, value in os.environ.items() if key not in ("CI", "BUILD_NUMBER")}
    ran = subprocess.run([sys.executable, "-m", *shlex.split(command), "-p", "no:cacheprovider"], cwd=ROOT,
                         capture_output=True, text=True, env={**env, "COLUMNS": "80"})
    assert _timeless(ran.stdout) == _timeless(output)


def _timeless(text: str) -> str:
    return re.sub(r" in \d+\.\d+s", " in Ts", text).rstrip("\n")


def test_the_readme_has_a_pytest_transcript():
    assert pytest_transcripts()
