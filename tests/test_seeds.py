"""Every acceptance case in tests/cases/seeds.toml (a copy of the project's
shared seeds), checked through the CLI: the expected values, and autograd
agreeing with the symbolic derivative.

Three seeds correct the tutorials' wrong printed answers (17, 10 and 8); the
last tests here pin that those wrong answers are refused.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from helpers import invoke, invoke_json

from autodiff.points import is_vector

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SEEDS = Path(__file__).parent / "cases" / "seeds.toml"
CASES = tomllib.loads(SEEDS.read_text())["case"]


def value_text(value) -> str:
    if isinstance(value, list):
        return "[" + ",".join(value_text(v) for v in value) + "]"
    return repr(value)


def assignments(mapping: dict) -> str:
    return ",".join(f"{name}={value_text(value)}" for name, value in mapping.items())


def cli_args(case: dict) -> list[str]:
    """The command line that checks one case, --expect included."""
    common = [case["expr"], "--at", assignments(case["at"])]
    if "grad_output" in case:
        common += ["--grad-output", ",".join(repr(v) for v in case["grad_output"])]
    if "partial" in case:
        partial = case["partial"]
        return ["partial", *common, "--wrt", ",".join(partial["wrt"]), "--expect", value_text(partial["expect"])]
    args = ["grad", *common, "--expect", assignments(case["grad"])]
    if "order" in case:
        args += ["--order", str(case["order"])]
    return args


def assert_close(actual, expected, rel=1e-9, abs_=1e-9):
    if isinstance(expected, list):
        assert is_vector(actual) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert math.isclose(a, e, rel_tol=rel, abs_tol=abs_), (actual, expected)
    else:
        assert math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_), (actual, expected)


def test_the_seed_file_has_all_sixteen_cases():
    assert len(CASES) == 16


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_seed_case_through_the_cli(case):
    result, report = invoke_json(*cli_args(case))
    assert result.exit_code == 0, result.stdout
    assert report["agree"] is True
    assert report["checked_by"] == "exact"
    assert report["expect_met"] is True
    if "value" in case:
        assert_close(report["value"], case["value"])
    if "partial" in case:
        derivatives = {"partial": (report["partial"], case["partial"]["expect"])}
        assert report["partial"]["wrt"] == case["partial"]["wrt"]
    else:
        derivatives = {name: (report["gradient"][name], case["grad"][name]) for name in case["grad"]}
    for entry, expected in derivatives.values():
        assert_close(entry["autograd"], expected)
        assert_close(entry["symbolic_value"], expected)
        assert_close(entry["numeric"], expected, rel=1e-6, abs_=1e-6)
        assert entry["agree"] is True


@pytest.mark.parametrize(
    ("expression", "order", "wrong"),
    [
        ("x**3 + 2*x**2 + 3*x + 4", "1", "17"),  # the tutorial's 17; the answer is 23
        ("x**3 + 2*x**2 + 3*x + 4", "2", "10"),  # the tutorial's 10; the answer is 16
        ("x**2 + x**3", "1", "8"),  # the tutorial's 8; accumulated gradients give 16
    ],
)
def test_the_tutorials_wrong_answers_fail(expression, order, wrong):
    result, report = invoke_json("grad", expression, "--at", "x=2", "--order", order, "--expect", wrong)
    assert result.exit_code == 1
    assert report["agree"] is True
    assert report["expect_met"] is False
    assert report["gradient"]["x"]["expect_met"] is False


def test_a_seed_in_the_human_view():
    result = invoke("grad", "x^2 + 2x + 1", "--at", "x=2")
    assert result.exit_code == 0
    assert "∂f/∂x" in result.stdout and " 6 " in result.stdout and "2*x + 2" in result.stdout
