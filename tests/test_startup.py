"""`--help` and `--version` must not import torch or SymPy (design §8)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from autodiff.cli import main
try:
    main({args!r})
except SystemExit as exit:
    code = exit.code
heavy = sorted(name for name in sys.modules if name.split(".")[0] in ("torch", "sympy", "numpy", "mpmath"))
print("EXIT", code)
print("HEAVY", ",".join(heavy))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"], ["--version"], ["grad", "--help"], ["partial", "--help"], ["hessian", "--help"],
        ["jacobian", "--help"], ["graph", "--help"], ["plot", "--help"], ["functions"], ["functions", "--json"], [],
        ["check", "--help"], ["completion", "bash"], ["completion", "--help"],
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
