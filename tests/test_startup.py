"""`--help` and `--version` must not import torch or SymPy (design §8)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from autodiff.frontends.cli import main
try:
    main({args!r})
except SystemExit as exit:
    code = exit.code
heavy = sorted(name for name in sys.modules if name.split(".")[0] in ("torch", "sympy", "numpy", "mpmath", "prompt_toolkit"))
print("EXIT", code)
print("HEAVY", ",".join(heavy))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"], ["--version"], ["grad", "--help"], ["partial", "--help"], ["hessian", "--help"],
        ["jacobian", "--help"], ["graph", "--help"], ["plot", "--help"], ["functions"], ["functions", "--json"], [],
        ["check", "--help"], ["completion", "bash"], ["completion", "--help"], ["repl", "--help"],
        ["minimize", "--help"], ["taylor", "--help"], ["verify", "--help"],
    ],
    ids=" ".join,
)
def test_help_and_version_import_neither_torch_nor_sympy(args):
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, timeout=120
    )
    lines = completed.stdout.splitlines()
    assert "HEAVY " in lines, completed.stdout + completed.stderr
    assert lines[-2] in ("EXIT 0", "EXIT None", "EXIT 2")  # no arguments: help, exit 2 per click
    assert lines[-1] == "HEAVY ", f"{args} imported {lines[-1]}"


def test_the_probe_can_see_a_heavy_import():
    # A grad run does import torch and SymPy: the probe above would notice.
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=["grad", "x", "--at", "x=1"])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    heavy = completed.stdout.splitlines()[-1]
    assert "torch" in heavy and "sympy" in heavy


def test_python_dash_m_runs_the_cli():
    completed = subprocess.run(
        [sys.executable, "-m", "autodiff", "grad", "6*x^2+2*x+4", "--at", "x=3", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert '"autograd": 38.0' in completed.stdout


@pytest.mark.parametrize(
    "args",
    [["grad", "x+", "--at", "x=1"], ["grad", "9^9^9^9", "--at", "x=1"], ["hessian", "x*", "--at", "x=pi"],
     ["grad", "x+", "--at", "x=1", "--grad-output", "1", "--json"]],
    ids=" ".join,
)
def test_a_bad_expression_is_reported_before_torch_loads(args):
    """The expression is parsed before --at is evaluated (which needs torch):
    a typo costs SymPy's import, not PyTorch's."""
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, timeout=120
    )
    lines = completed.stdout.splitlines()
    assert lines[-2] == "EXIT 2", completed.stdout + completed.stderr
    assert "torch" not in lines[-1], lines[-1]


def _script(*args, **run):
    return subprocess.run([sys.executable, "-m", "autodiff", *args], capture_output=True, text=True, timeout=120, **run)


@pytest.mark.parametrize(
    "args, code",
    [(["grad", "x^2", "--at", "x=3"], 0), (["grad", "x^2", "--at", "x=3", "--expect", "5"], 1),
     (["grad", "x+", "--at", "x=3"], 2), (["grad", "x", "--at", "x=1", "--order", "0"], 2), (["--version"], 0)],
    ids=lambda value: " ".join(value) if isinstance(value, list) else str(value),
)
def test_the_console_script_keeps_every_exit_code(args, code):
    """The script skips Python's teardown (os._exit): the exit code must survive it."""
    completed = _script(*args)
    assert completed.returncode == code, completed.stderr
    assert completed.stdout or completed.stderr


def test_the_console_script_flushes_a_large_answer_before_it_exits(tmp_path):
    """Nothing written is lost to os._exit: a 20,000-point answer arrives whole, to a file and to a pipe."""
    import json

    args = ("grad", "x^2", "--at", "x=0:1:20000", "--json")
    with open(tmp_path / "out.json", "w") as out:
        assert subprocess.run([sys.executable, "-m", "autodiff", *args], stdout=out, timeout=120).returncode == 0
    for text in ((tmp_path / "out.json").read_text(), _script(*args).stdout):
        report = json.loads(text)
        assert len(report["gradient"]["x"]["autograd"]) == 20000
        assert report["gradient"]["x"]["autograd"][-1] == 2.0


def test_sys_exit_with_text_still_reads_as_python_would():
    from autodiff.frontends import console_script

    probe = "import sys\nfrom autodiff.frontends.console_script import leave\nprint('out', end='')\nleave('stopped here')\n"
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert (completed.returncode, completed.stdout, completed.stderr) == (1, "out", "stopped here\n")
    assert console_script.leave.__doc__
