"""Trust, round two (issue 24): the exact witness raises its precision while
a ball is too wide to decide, never takes a ball around 0 for a proof of
zero, and never lets two float64 evaluations that share a rounding certify
each other; a derivative that does not exist by its definition is not
compared.

The oracle is mpmath at several hundred digits, evaluating the same
functions at the exact double of the point: code that is not under test.
"""

from __future__ import annotations

import math
import random

import mpmath
import pytest
from helpers import invoke, invoke_json

from autodiff.commands import api


def mp_value(function, x: float, dps: int = 600):
    with mpmath.workdps(dps):
        return function(mpmath.mpf(x))


def close_to(text: str, exact, digits: int = 15) -> bool:
    """Whether a reported exact value (text) has `digits` correct digits of `exact` (mpmath)."""
    with mpmath.workdps(60):
        value = mpmath.mpf(text)
        return abs(value - exact) <= abs(exact) * mpmath.mpf(10) ** (-digits)


# ---------------------------------------------------------------- periodic functions at huge arguments


def test_tan_at_1e100_plus_1_is_judged_against_the_exact_value():
    # float64 rounds x + 1 to 1e100: autograd and the float symbolic value both give sec²(1e100).
    result, data = invoke_json("grad", "tan(x+1)", "--at", "x=1e100")
    entry = data["gradient"]["x"]
    assert result.exit_code == 1 and data["agree"] is False and entry["checked_by"] == "exact"
    assert math.isclose(entry["autograd"], 1.169433464, rel_tol=1e-9)
    assert close_to(entry["exact"], mp_value(lambda x: mpmath.sec(x + 1) ** 2, 1e100))
    assert entry["exact"].startswith("1.48747756525011")
    assert close_to(data["value_exact"], mp_value(lambda x: mpmath.tan(x + 1), 1e100))


def test_tan_at_1e100_plus_1_human_output_is_not_a_certificate():
    result = invoke("grad", "tan(x+1)", "--at", "x=1e100")
    assert result.exit_code == 1
    assert "✓" not in result.stdout and "1.487477565" in result.stdout


@pytest.mark.parametrize("seed", [1, 2])
def test_periodic_functions_at_huge_arguments_match_mpmath(seed):
    rng = random.Random(seed)
    functions = {"sin": (mpmath.sin, mpmath.cos), "cos": (mpmath.cos, lambda x: -mpmath.sin(x)),
                 "tan": (mpmath.tan, lambda x: mpmath.sec(x) ** 2)}
    for _ in range(4):
        name = rng.choice(sorted(functions))
        x = float(f"{rng.uniform(1, 10):.6f}e{rng.randint(20, 300)}")
        f, d = functions[name]
        data = api.grad(f"{name}(x)", at={"x": x}).to_json()
        entry = data["gradient"]["x"]
        assert close_to(data["value_exact"], mp_value(f, x)), (name, x, data["value_exact"])
        assert close_to(entry["exact"], mp_value(d, x)), (name, x, entry["exact"])


# ---------------------------------------------------------------- a ball around 0 is not a zero


def test_one_over_log_1_plus_x_is_defined_at_1e_minus_50():
    result, data = invoke_json("grad", "1/log(1+x)", "--at", "x=1e-50")
    entry = data["gradient"]["x"]
    assert close_to(data["value_exact"], mp_value(lambda x: 1 / mpmath.log1p(x), 1e-50))
    assert data["value_exact_source"] == "ball" and data["value"] == "inf"
    assert close_to(entry["exact"], mp_value(lambda x: -1 / ((1 + x) * mpmath.log1p(x) ** 2), 1e-50))
    # autograd's -inf is flagged: inaccurate, exit 1; nothing calls f undefined.
    assert entry["autograd"] == "-inf" and entry["accurate"] is False and entry["agree"] is False
    assert result.exit_code == 1
    assert not any("not defined" in w or "division by zero" in w for w in data["warnings"]), data["warnings"]


@pytest.mark.parametrize("x", [1e-20, 3.7e-120, 2.5e-300])
def test_tiny_denominators_get_their_exact_values(x):
    data = api.grad("1/log(1+x)", at={"x": x}).to_json()
    assert close_to(data["value_exact"], mp_value(lambda t: 1 / mpmath.log1p(t), x))


def test_a_proven_zero_is_still_undefined():
    # log(x - 1) at x = 1: the argument is exactly 0; no precision helps.
    result, data = invoke_json("grad", "log(x-1)", "--at", "x=1")
    assert result.exit_code == 0 and data["value_exact"] is None
    assert any("log of zero" in w and "not defined there" in w for w in data["warnings"]), data["warnings"]


def test_an_underflowing_value_is_not_a_domain_error():
    result, data = invoke_json("grad", "x^400*y^(-400)", "--at", "x=1e10,y=1e12")
    assert close_to(data["value_exact"], mpmath.mpf(10) ** -800)
    assert not any("not defined" in w for w in data["warnings"]), data["warnings"]
    assert any("underflow" in w for w in data["warnings"])


# ---------------------------------------------------------------- derivatives that do not exist


def test_atan2_at_the_origin_is_not_compared():
    result, data = invoke_json("grad", "atan2(y,x)", "--at", "x=0,y=0")
    assert result.exit_code == 0 and data["agree"] is None
    dx, dy = data["gradient"]["x"], data["gradient"]["y"]
    for entry in (dx, dy):
        assert entry["differentiable"] is False and entry["agree"] is None
    # Along x, atan2(0, h) jumps from π to 0: the left difference quotient diverges.
    assert (dx["left"], dx["right"]) == ("-inf", 0.0)
    assert (dy["left"], dy["right"]) == ("inf", "inf")
    assert "∂f/∂x does not exist at x=0, y=0 (left derivative -inf, right 0); autograd gives 0, not compared" in data["warnings"]
    human = invoke("grad", "atan2(y,x)", "--at", "x=0,y=0")
    assert human.exit_code == 0 and "not compared" in human.stdout


def test_x_to_the_x_at_zero_is_not_compared():
    result, data = invoke_json("grad", "x^x", "--at", "x=0")
    entry = data["gradient"]["x"]
    assert result.exit_code == 0 and entry["differentiable"] is False and entry["agree"] is None
    assert entry["left"] is None and entry["right"] == "-inf"
    assert data["warnings"] == ["∂f/∂x does not exist at x=0 (right derivative -inf, f is not real to the left); autograd gives 0, not compared"]


def test_hypot_at_the_origin_has_its_one_sided_derivatives():
    result, data = invoke_json("grad", "hypot(x,y)", "--at", "x=0,y=0")
    assert result.exit_code == 0
    for name in "xy":
        entry = data["gradient"][name]
        assert entry["differentiable"] is False and (entry["left"], entry["right"]) == (-1.0, 1.0)


def test_a_derivative_that_exists_by_its_definition_judges_autograd():
    # cbrt(x^3) is x: SymPy's formula x²/cbrt(x³)² is 0/0 at 0, the difference quotient is 1.
    result, data = invoke_json("grad", "cbrt(x^3)", "--at", "x=0")
    entry = data["gradient"]["x"]
    assert entry["exact"] == "1.0000000000000000e+00" and entry["exact_source"] == "limit"
    assert entry["autograd"] == "nan" and entry["agree"] is False and result.exit_code == 1
    assert any("by its definition" in w for w in data["warnings"]), data["warnings"]


def test_a_one_sided_derivative_at_a_domain_boundary():
    # sqrt(x^3) exists only for x >= 0; its derivative there is the right-hand one, 0.
    data = api.grad("sqrt(x^3)", at={"x": 0}).to_json()
    entry = data["gradient"]["x"]
    assert entry["exact"] == "0" and entry["exact_source"] == "limit"
    assert any("as x → 0+" in w for w in data["warnings"]), data["warnings"]


# ---------------------------------------------------------------- no certificate from a shared rounding


def test_without_the_exact_witness_a_shared_rounding_is_not_checked():
    result, data = invoke_json("grad", "(1-cos(x))/x^2", "--at", "x=1e-8", "--no-exact")
    entry = data["gradient"]["x"]
    assert result.exit_code == 0 and entry["agree"] is None and entry["checked_by"] is None
    assert math.isclose(entry["autograd"], entry["symbolic_value"], rel_tol=1e-9)  # they agree with each other
    assert any("is not checked" in w and "share float64's rounding" in w for w in data["warnings"])


def test_without_the_exact_witness_finite_differences_corroborate():
    result, data = invoke_json("grad", "sin(x)*exp(x)", "--at", "x=0.5", "--no-exact")
    assert result.exit_code == 0 and data["agree"] is True and data["gradient"]["x"]["checked_by"] == "symbolic"


def test_an_unchecked_element_of_a_vector_point_is_not_a_certificate():
    result, data = invoke_json("grad", "tan(x+1)", "--at", "x=[1e100,1]", "--no-exact")
    entry = data["gradient"]["x"]
    assert entry["unchecked"] is True and entry["agree"] is None and data["agree"] is None
    assert result.exit_code == 0
    assert any("(point [0]) is not checked" in w for w in data["warnings"]), data["warnings"]
    human = invoke("grad", "tan(x+1)", "--at", "x=[1e100,1]", "--no-exact")
    assert "✓" not in human.stdout and "⚠ not checked" in human.stdout


def test_check_fails_a_case_whose_derivative_is_not_checked(tmp_path):
    cases = tmp_path / "c.toml"
    cases.write_text(
        '[[case]]\nname = "shared rounding"\nexpr = "tan(x+1)"\nat = { x = 1e100 }\n'
        "grad = { x = 1.1694334635727852 }\nexact = false\n"
        '[[case]]\nname = "smooth"\nexpr = "sin(x)*exp(x)"\nat = { x = 0.5 }\nexact = false\n'
    )
    result, data = invoke_json("check", str(cases))
    assert result.exit_code == 1 and data["passed"] == 1 and data["failed"] == 1
    (failure,) = data["cases"][0]["failures"]
    assert failure["reason"] == "unchecked" and "shares its rounding" in failure["message"]


@pytest.mark.parametrize("text, expected", [
    ("(1+1e-20)^(10^20)", math.e),  # evaluated as a whole, not with its base rounded first
    ("-(1+1e-20)^(1e20)", -math.e),
    ("1^(10^30)", 1.0),
])
def test_a_power_of_constants_with_a_huge_exponent_is_read_exactly(text, expected):
    result, data = invoke_json("grad", "x", "--at", f"x={text}")
    assert result.exit_code == 0 and data["at"]["x"] == expected


@pytest.mark.parametrize("text", ["sqrt(2)^1e300", "0.5^(10^20)"])
def test_a_power_beyond_float64_is_refused(text):
    result, data = invoke_json("grad", "x", "--at", f"x={text}")
    assert result.exit_code == 2 and data["error"]["type"] == "invalid_point"
