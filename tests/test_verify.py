"""autodiff verify: right and wrong hand-derived derivatives, over ranges,
at points, at kinks, of higher order. The oracle is the derivative written
by hand in the test (a right or a deliberately wrong one)."""

from __future__ import annotations

import json

import pytest

from autodiff.commands.verify import verify
from helpers import invoke, strict_loads

POLY = "x^3 + 2*x^2 + 3*x + 4"


def test_done_means_right_derivative_exits_0():
    result = invoke("verify", POLY, "--derivative", "3*x^2 + 4*x + 3", "--range", "x=-5:5")
    assert result.exit_code == 0, result.stdout
    assert "✓ the claimed derivative agrees with autograd at all 401 points" in result.stdout
    assert "✓ SymPy proves D − f′ = 0" in result.stdout


def test_done_means_wrong_derivative_exits_1_with_the_error_3():
    result = invoke("verify", POLY, "--derivative", "3*x^2 + 4*x", "--range", "x=-5:5")
    assert result.exit_code == 1
    assert "largest error |D − f′| = 3 at" in result.stdout
    assert "✗ the claimed derivative is wrong at 401 of 401 points" in result.stdout
    assert "D − f′ simplifies to -3, not 0" in result.stdout
    payload = strict_loads(invoke("verify", POLY, "-d", "3*x^2 + 4*x", "--json").stdout)
    assert payload["right"] is False and payload["wrong_count"] == 401 and payload["proof"] == "disproved"
    assert payload["max_error"] == pytest.approx(3)
    first = payload["wrong"][0]
    assert first["at"] == {"x": -5.0} and first["claimed"] == 55 and first["autograd"] == 58
    assert float(first["exact"]) == 58 and first["error"] == 3


def test_wrong_only_near_one_point():
    # D differs from 2x by a bump that is 0 away from x = 1: a few points of the range catch it.
    result = verify("x^2", "2*x + where(abs(x - 1) < 0.05, 1, 0)", over="x=0:2", points=401)
    assert result.wrong_count > 0 and result.exit_code == 1
    assert all(abs(point.at["x"] - 1) < 0.05 for point in result.wrong)


def test_right_at_one_point_only_is_wrong_over_a_range():
    # 2 is d/dx x^2 at x = 1 only.
    assert verify("x^2", "2", at=["x=1"]).exit_code == 0
    result = verify("x^2", "2", over="x=-1:3")
    assert result.exit_code == 1 and result.proof == "not proved"


def test_higher_order_and_other_variables():
    assert verify("sin(x)", "-sin(x)", order=2).exit_code == 0
    assert verify("sin(x)", "sin(x)", order=2).exit_code == 1
    result = verify("x^2*y", "2*x*y", at=["y=3"])  # x is the one variable --at leaves free
    assert result.variable == "x" and result.exit_code == 0
    assert verify("x^2*y", "x^2", wrt="y", at=["x=[1,2,3]", "y=[0,1,2]"]).exit_code == 0


def test_a_kink_is_not_compared():
    result = verify("abs(x)", "sign(x)", over="x=-1:1", points=201)  # x = 0 is the 101st point
    assert result.exit_code == 0 and result.compared == 200
    assert any("does not exist at x=0" in warning for warning in result.warnings)


def test_outside_the_domain_is_not_compared():
    result = verify("log(x)", "1/x", over="x=-1:1", points=200)
    assert result.exit_code == 0 and result.compared == 100


def test_without_symbolic_the_numbers_decide():
    result = verify("exp(x)", "exp(x)", symbolic=False)
    assert result.proof == "off" and result.exit_code == 0


def test_cli_errors_are_one_line_exit_2():
    for args, message in [
        (["verify", "x*y", "-d", "y"], "several variables"),
        (["verify", "x^2", "-d", "2*x", "--range", "x=1:0"], "must go up"),
        (["verify", "x^2", "-d", "2*x", "--range", "y=0:1"], "--range names y"),
        (["verify", "x^2", "-d", "2*x +"], "expected"),
        (["verify", "x^2", "-d", "2*z"], "z"),
        (["verify", "x^2", "-d", "2*x", "--at", "x=1", "--range", "x=0:1"], "choose one"),
    ]:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) <= 3  # the line, and the caret under the text where there is one


def test_cli_plot_draws_both_curves():
    result = invoke("verify", "sin(x)", "-d", "cos(x)", "--plot", "--width", "60", "--height", "15")
    assert result.exit_code == 0
    assert "f′ (autograd)" in result.stdout and "D (claimed)" in result.stdout
    payload = strict_loads(invoke("verify", "sin(x)", "-d", "cos(x)", "--plot", "--points", "5", "--json").stdout)
    assert payload["plot"]["x"] == [-5.0, -2.5, 0.0, 2.5, 5.0]
    assert payload["plot"]["claimed"] == pytest.approx(payload["plot"]["autograd"])


def test_definitions_reach_verify():
    result = invoke("verify", "f(x)", "-d", "g(x)", "-D", "f(t) = t^3", "-D", "g(t) = 3*t^2")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_a_bare_value_and_non_finite_plot_values():
    result = invoke("verify", "x", "-d", "1", "--at", "3")
    assert result.exit_code == 0 and "at the point" in result.stdout
    payload = strict_loads(invoke("verify", "log(x)", "-d", "1/x", "--range", "x=-1:1", "--points", "5", "--plot",
                                  "--json").stdout)
    assert payload["plot"]["autograd"][2] == "inf" and payload["right"] is True


def test_the_largest_error_is_at_a_point_that_was_compared():
    result = invoke("verify", "log(x)", "--derivative", "1/x", "--json")
    payload = json.loads(result.stdout)
    assert payload["max_error"] == 0 and payload["max_error_at"]["x"] > 0  # not x = -5, where log has no value
    wrong = json.loads(invoke("verify", "log(x)", "--derivative", "1/x + 1", "--json").stdout)
    assert wrong["max_error"] == pytest.approx(1) and wrong["max_error_at"]["x"] > 0
    assert json.loads(invoke("verify", "x^2", "--derivative", "2*x", "--json").stdout)["compared"] == 401
