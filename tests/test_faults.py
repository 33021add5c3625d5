"""Faults of the standard streams, through the real console script in a
subprocess (issue: nothing lost, every fault named).

Each answer is either written whole or the run ends non-zero with one line
on stderr: never a traceback, never exit 0 with part of the answer.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

AUTODIFF = [sys.executable, "-m", "autodiff"]
EXIT_OUTPUT = 74


def run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=None, **kwargs):
    return subprocess.run(AUTODIFF + args, stdin=stdin, stdout=stdout, stderr=stderr, preexec_fn=preexec_fn,
                          timeout=120, **kwargs)


def one_line(stderr: bytes) -> str:
    text = stderr.decode()
    assert "Traceback" not in text, text
    assert text.count("\n") == 1, text
    return text


def test_closed_stdout_is_exit_74_with_one_line():
    result = run(["grad", "x^2", "--at", "x=3"], stdout=None, pass_fds=(), close_fds=True,
                 preexec_fn=lambda: os.close(1))
    assert result.returncode == EXIT_OUTPUT
    assert "standard output is closed" in one_line(result.stderr)


def test_a_full_disk_is_exit_74_with_one_line():
    with open("/dev/full", "wb") as full:
        result = run(["grad", "x^2", "--at", "x=3", "--json"], stdout=full)
    assert result.returncode == EXIT_OUTPUT
    assert "No space left on device" in one_line(result.stderr)


def _tiny_file_limit():
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))


@pytest.mark.parametrize("json_output", [True, False], ids=["json", "table"])
def test_a_file_size_limit_never_leaves_part_of_an_answer_with_exit_0(tmp_path, json_output):
    out = tmp_path / "out"
    with open(out, "wb") as target:
        result = run(["grad", "x^2", "--at", "x=0:1:10000"] + (["--json"] if json_output else []),
                     stdout=target, preexec_fn=_tiny_file_limit)
    assert result.returncode == EXIT_OUTPUT
    assert "File too large" in one_line(result.stderr)
    assert out.stat().st_size <= 1024


def test_closed_stderr_leaves_a_good_answer_alone():
    result = run(["grad", "1/x", "--at", "x=0", "-q"], preexec_fn=lambda: os.close(2), stderr=None)
    assert result.returncode == 0  # the warnings had nowhere to go; the answer did
    assert result.stdout == b"-inf\n"


def test_closed_stdin_when_streaming_is_a_clean_error():
    result = run(["grad", "-", "--at", "x=3", "--json"], stdin=None, preexec_fn=lambda: os.close(0))
    assert result.returncode == 2
    assert b'"cannot read standard input: standard input is closed"' in result.stdout
    assert result.stderr == b""


def test_closed_stdin_for_a_case_file_is_a_clean_error():
    result = run(["check", "-"], stdin=None, preexec_fn=lambda: os.close(0))
    assert result.returncode == 2
    assert "standard input is closed" in one_line(result.stderr)


# -- files: whole or not at all ------------------------------------------------

CASE = '[[case]]\nname = "square"\nexpr = "x^2"\nat = {x = 3}\ngrad = {x = 6}\n'


def test_junit_onto_its_own_case_file_is_refused_before_any_work(tmp_path):
    cases = tmp_path / "cases.toml"
    cases.write_text(CASE)
    for junit in (str(cases), str(tmp_path / "." / "cases.toml")):
        result = run(["check", str(cases), "--junit", junit])
        assert result.returncode == 2
        assert "is one of the input files" in one_line(result.stderr)
        assert result.stdout == b""
    assert cases.read_text() == CASE


def test_a_junit_write_that_fails_still_prints_the_report():
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        cases = os.path.join(directory, "cases.toml")
        with open(cases, "w") as file:
            file.write(CASE)
        result = run(["check", cases, "--junit", "/dev/full"])
    assert result.returncode == EXIT_OUTPUT
    assert result.stdout.decode().splitlines()[-1] == "1 passed, 0 failed"
    assert "cannot write --junit /dev/full: No space left on device" in one_line(result.stderr)
    assert os.path.exists("/dev/full") and not os.path.isfile("/dev/full")  # the device, never replaced


def test_an_interrupted_write_leaves_the_old_file_and_no_litter(tmp_path):
    from autodiff.files import write_atomically

    target = tmp_path / "figure.svg"
    target.write_bytes(b"<svg>old</svg>")

    def interrupted(file):
        file.write(b"<svg>half of the new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(str(target), interrupted)
    assert target.read_bytes() == b"<svg>old</svg>"
    assert [path.name for path in tmp_path.iterdir()] == ["figure.svg"]


def test_a_complete_write_replaces_the_file_and_keeps_its_permissions(tmp_path):
    from autodiff.files import write_atomically

    target = tmp_path / "report.xml"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_atomically(str(target), lambda file: file.write(b"new"))
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640


def test_an_interrupted_plot_output_leaves_the_previous_figure(tmp_path, monkeypatch, capsys):
    from matplotlib.figure import Figure

    from autodiff.frontends import cli

    target = tmp_path / "f.svg"
    target.write_bytes(b"<svg>the previous figure</svg>")

    def interrupted(self, file, **kwargs):
        file.write(b"<svg>half of the new")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", interrupted)
    with pytest.raises(SystemExit) as leaving:
        cli.main(["plot", "sin(x)", "--output", str(target)])
    assert leaving.value.code == 130
    assert target.read_bytes() == b"<svg>the previous figure</svg>"
    assert [path.name for path in tmp_path.iterdir()] == ["f.svg"]


# -- any terminal, any encoding ------------------------------------------------

@pytest.mark.parametrize("environment", [{"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "C", "PYTHONUTF8": "0"}, {"LC_ALL": "C"}])
def test_an_ascii_terminal_gets_ascii_spellings(environment):
    env = {key: value for key, value in os.environ.items() if key not in ("LANG", "LC_ALL", "LC_CTYPE", "PYTHONUTF8", "PYTHONIOENCODING")}
    result = run(["hessian", "x^2*y", "--at", "x=1,y=2"], env={**env, **environment, "COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode("ascii")  # nothing but ASCII
    assert "d^2f/dx^2" in out and "d^2f/dydx" in out and "ok" in out
    assert "4.000000001" in out  # the numbers themselves are untouched
    assert "ok autograd and the exact value agree" in out
    assert result.stderr == b""


@pytest.mark.parametrize("columns", ["0", "-5", "abc", ""])
def test_nonsense_columns_is_an_unknown_width(columns):
    result = run(["grad", "x^2", "--at", "x=3"], env={**os.environ, "COLUMNS": columns})
    assert result.returncode == 0
    assert "∂f/∂x               6   2*x" in result.stdout.decode()


def test_no_color_wins_over_force_color():
    result = run(["grad", "x^2", "--at", "x=3"], env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert result.returncode == 0
    assert b"\x1b[" not in result.stdout and b"\x1b[" not in result.stderr


# -- readers that go away ------------------------------------------------------

CASES_FILE = Path(__file__).parent / "cases" / "seeds.toml"


@pytest.mark.parametrize("args", [
    ["grad", "x^2", "--at", "x=0:1:200000", "--json"],
    ["graph", "sin(x)*exp(x) + x^2", "--at", "x=0:1:100000", "--json"],
    ["plot", "sin(x)", "--points", "100000", "--json"],
    ["check", str(CASES_FILE), "--json"],
], ids=["grid", "graph", "plot", "check"])
def test_a_reader_that_leaves_early_is_exit_141_never_0(args):
    # `autodiff … --json | head -c 100`
    process = subprocess.Popen(AUTODIFF + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    head = process.stdout.read(100)
    process.stdout.close()
    _, stderr = process.communicate(timeout=120)
    assert len(head) == 100
    assert process.returncode == 141, stderr
    assert b"Traceback" not in stderr


def test_a_suspended_reader_that_then_leaves_is_exit_141():
    # The reader stops reading (Ctrl-Z) while the answer is larger than the
    # pipe holds, then goes away: the writer must not report success.
    process = subprocess.Popen(AUTODIFF + ["grad", "x^2", "--at", "x=0:1:200000", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    first = process.stdout.read(65536)
    time.sleep(3)  # the writer fills the pipe and waits
    process.stdout.close()
    _, stderr = process.communicate(timeout=120)
    assert len(first) == 65536
    assert process.returncode == 141, stderr
