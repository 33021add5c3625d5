"""Every function of the table, differentiated to orders 1-3 through the CLI:
autograd agrees with SymPy, and no function can crash the tool. Parametrized
over the table itself, so a new function is covered when it is added."""

from __future__ import annotations

import re

import mpmath
import pytest

from autodiff.errors import ParseError
from autodiff.language.functions import FUNCTIONS, FUNCTIONS_BY_NAME
from autodiff.language.parsing import parse_expression
from helpers import invoke, invoke_json

# Arguments inside every domain (acosh needs >= 1) and away from every kink
# (integers, 0, ties of min/max, the ends of clamp).
ARGUMENTS = {
    "where": "x > 0, x^3, -x",
    "clamp": "x, 0, 1",
    "log": "x, 3",
    "acosh": "x + 1",
    "arccosh": "x + 1",
    "asec": "x + 1",
    "acsc": "x + 1",
    "acoth": "x + 1",
    "root": "x, 3",
    "min": "x, y, 2",
    "max": "x, y, -2",
}


def call(spec) -> str:
    args = ARGUMENTS.get(spec.name) or ", ".join(["x", "y"][: spec.min_args])
    return f"{spec.name}({args})"


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_every_function_differentiates_and_agrees(spec, order):
    expression = call(spec)
    result, report = invoke_json("grad", expression, "--at", "x=0.7,y=0.4", "--order", str(order))
    assert result.exit_code == 0, report
    assert report["agree"] is True
    for derivative in report["gradient"].values():
        assert derivative["numeric_agree"] is True, (expression, derivative)
        assert derivative["symbolic_value"] is not None


# --------------------------------------------------------------------------
# the functions added after the first table, each against an independent
# oracle: mpmath's own function (or a formula written here) at 50 digits,
# differentiated by mpmath.diff, never autodiff's lowering or SymPy's rules.


def _real_root(x, n):
    # The real n-th root written here: sign(x)·|x|^(1/n) (mpmath.root is the complex principal one).
    return mpmath.sign(x) * mpmath.power(abs(x), mpmath.mpf(1) / n)


# name: (the oracle as a function of an mpf, points inside the domain)
ORACLES = {
    "sech": (mpmath.sech, [-2.5, 0.0, 1.0, 30.0]),
    "csch": (mpmath.csch, [-2.5, 0.3, 1.0]),
    "coth": (mpmath.coth, [-2.5, 0.3, 1.0]),
    "asec": (mpmath.asec, [-3.0, 1.25, 2.0]),
    "acsc": (mpmath.acsc, [-3.0, 1.25, 2.0]),
    "acot": (mpmath.acot, [-0.5, 0.5, 3.0, -40.0]),  # atan(1/x), as SymPy's: in (-pi/2, pi/2]
    "asech": (mpmath.asech, [0.1, 0.5, 0.9]),
    "acsch": (mpmath.acsch, [-2.0, 0.5, 0.05]),
    "acoth": (mpmath.acoth, [-3.0, 1.5, 2.0]),
    "sinc": (lambda u: mpmath.sin(u) / u if u else mpmath.mpf(1), [0.0, 1e-5, 0.49, 0.5, 0.7, -4.0]),
    "exp2": (lambda u: mpmath.power(2, u), [-3.0, 0.0, 1.5]),
    "arcsin": (mpmath.asin, [-0.3, 0.7]),
    "arccos": (mpmath.acos, [-0.3, 0.7]),
    "arctan": (mpmath.atan, [-2.0, 0.7]),
    "arcsinh": (mpmath.asinh, [-2.0, 0.7]),
    "arccosh": (mpmath.acosh, [1.5, 3.0]),
    "arctanh": (mpmath.atanh, [-0.3, 0.7]),
    "sgn": (lambda u: mpmath.sign(u) * u**2, [-1.5, 2.0]),  # called as sgn(x)*x^2: sgn alone has derivative 0
}
HALF_PI = float(mpmath.pi / 2)
ROOTS = [(-8.0, 3), (27.0, 3), (-3.2, 5), (5.0, 2), (16.0, 4), (0.3, -3), (-8.0, -3), (2.0, 7)]

CASES = [(name, f"{name}(x)", x) for name, (_, points) in ORACLES.items() for x in points]
CASES = [(name, "sgn(x)*x^2" if name == "sgn" else text, x) for name, text, x in CASES]


def test_every_added_function_has_an_oracle():
    added = {"sech", "csch", "coth", "asec", "acsc", "acot", "asech", "acsch", "acoth", "sinc", "exp2", "root",
             "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "sgn"}
    assert added <= set(FUNCTIONS_BY_NAME)
    assert set(ORACLES) | {"root"} == added


def _oracle(function, x: float, order: int) -> float:
    with mpmath.workdps(50):
        return float(mpmath.diff(function, mpmath.mpf(x), order))


def _check(report, value: float, derivative: float, what: str) -> None:
    assert report["agree"] is True, (what, report)
    assert report["value"] == pytest.approx(value, rel=1e-12, abs=1e-300), what
    entry = report["gradient"]["x"]
    assert entry["autograd"] == pytest.approx(derivative, rel=1e-9, abs=1e-12), (what, entry)
    assert entry["agree"] is True and entry["numeric_agree"] is not False, (what, entry)
    # the exact witness has a value, and it is the oracle's
    assert report["value_exact"] is not None, what
    assert float(report["value_exact"]) == pytest.approx(value, rel=1e-14, abs=1e-300), what
    assert entry["exact"] is not None, (what, entry)
    assert float(entry["exact"]) == pytest.approx(derivative, rel=1e-12, abs=1e-15), (what, entry)


@pytest.mark.parametrize("name, text, x0", CASES, ids=[f"{c[1]}@{c[2]}" for c in CASES])
def test_new_functions_match_an_independent_oracle(name, text, x0):
    function = ORACLES[name][0]
    result, report = invoke_json("grad", text, "--at", f"x={x0!r}")
    assert result.exit_code == 0, report
    _check(report, _oracle(function, x0, 0), _oracle(function, x0, 1), f"{text} at {x0}")


@pytest.mark.parametrize("x0, n", ROOTS, ids=[f"root({x},{n})" for x, n in ROOTS])
def test_root_matches_an_independent_oracle(x0, n):
    result, report = invoke_json("grad", f"root(x, {n})", "--at", f"x={x0!r}")
    assert result.exit_code == 0, report
    function = lambda u: _real_root(u, n)  # noqa: E731
    _check(report, _oracle(function, x0, 0), _oracle(function, x0, 1), f"root({x0}, {n})")


@pytest.mark.parametrize("text", ["root(x, 3)", "root(x, 4)", "cbrt(x)"])
def test_a_root_of_zero_has_an_exact_value(text):
    # arb's root of 0 is nan; the exact witness still knows f(0) = 0
    result, report = invoke_json("grad", text, "--at", "x=0")
    assert report["value"] == 0.0 and report["value_exact"] == "0", report


def test_root_differentiates_in_its_index_too():
    # d/dn |x|^(1/n) = -|x|^(1/n) log|x| / n^2
    result, report = invoke_json("grad", "root(x, n)", "--at", "x=5,n=3")
    assert result.exit_code == 0 and report["agree"] is True, report
    expected = -(5 ** (1 / 3)) * mpmath.log(5) / 9
    assert report["gradient"]["n"]["autograd"] == pytest.approx(float(expected), rel=1e-12)
    assert report["gradient"]["x"]["autograd"] == pytest.approx(5 ** (-2 / 3) / 3, rel=1e-12)


# sinc at 0, where sin(x)/x is 0/0: its Taylor series 1 - x^2/6 + x^4/120 - ...
@pytest.mark.parametrize("order, expected", [(1, 0.0), (2, -1 / 3), (3, 0.0), (4, 1 / 5)])
def test_sinc_derivatives_at_zero(order, expected):
    result, report = invoke_json("grad", "sinc(x)", "--at", "x=0", "--order", str(order))
    assert result.exit_code == 0 and report["agree"] is True, report
    assert report["value"] == 1.0
    assert report["gradient"]["x"]["autograd"] == pytest.approx(expected, abs=1e-14)


@pytest.mark.parametrize(
    "text, x0, order",
    [("sinc(x)", 0.3, 3), ("sinc(x)", -0.5, 2), ("sech(x)", 0.0, 2), ("sech(x)", -1.5, 3), ("csch(x)", 0.8, 2),
     ("coth(x)", -0.8, 3), ("asec(x)", -1.5, 2), ("acot(x)", 0.2, 3), ("acot(x)", 5.0, 2), ("asech(x)", 0.3, 2),
     ("acsch(x)", -0.4, 3), ("acoth(x)", 1.2, 2), ("exp2(x)", 0.7, 3)],
)
def test_new_functions_higher_orders_match_the_oracle(text, x0, order):
    function = ORACLES[text.split("(")[0]][0]
    result, report = invoke_json("grad", text, "--at", f"x={x0!r}", "--order", str(order))
    assert result.exit_code == 0 and report["agree"] is True, report
    expected = _oracle(function, x0, order)
    assert report["gradient"]["x"]["autograd"] == pytest.approx(expected, rel=1e-8, abs=1e-12)


@pytest.mark.parametrize(
    "text, x0, value, derivative",
    [
        # where 1/cosh(x), 1/sinh(x) overflow and their gradient is 0·inf = nan
        ("sech(x)", 800.0, 0.0, 0.0), ("sech(x)", -800.0, 0.0, 0.0), ("csch(x)", -800.0, 0.0, 0.0),
        # where 1/x overflows and atan(1/x)'s gradient is nan
        ("acot(x)", 1e-200, HALF_PI, -1.0), ("acot(x)", -1e-200, -HALF_PI, -1.0),
        ("acot(x)", 1e10, 1e-10, -1e-20),
        ("asech(x)", 1e-200, float(mpmath.asech(mpmath.mpf("1e-200"))), -1e200),
        # where sinc's series (the untaken branch) overflows
        ("sinc(x)", -1e30, *(_oracle(ORACLES["sinc"][0], -1e30, k) for k in (0, 1))),
    ],
)
def test_new_functions_far_out(text, x0, value, derivative):
    result, report = invoke_json("grad", text, "--at", f"x={x0!r}")
    assert result.exit_code == 0, report
    assert report["value"] == pytest.approx(value, rel=1e-12, abs=1e-300)
    assert report["gradient"]["x"]["autograd"] == pytest.approx(derivative, rel=1e-12, abs=1e-300)
    assert report["gradient"]["x"]["agree"] is True


def test_acot_jumps_at_zero():
    # acot(0) = pi/2 (SymPy's and mpmath's convention); from the left it tends to -pi/2
    result, report = invoke_json("grad", "acot(x)", "--at", "x=0")
    assert result.exit_code == 0, report
    assert report["value"] == pytest.approx(HALF_PI)
    assert report["gradient"]["x"]["differentiable"] is False
    assert any("acot(x) switches branches" in warning for warning in report["warnings"])


@pytest.mark.parametrize(
    "text, x0, reason",
    [
        ("asec(x)", 0.5, "asec inside (-1, 1) (0.5)"),
        ("acsc(x)", -0.25, "acsc inside (-1, 1) (-0.25)"),
        ("asech(x)", 2.0, "asech outside (0, 1] (2)"),
        ("asech(x)", -0.5, "asech outside (0, 1] (-0.5)"),
        ("acoth(x)", 0.5, "acoth inside (-1, 1) (0.5)"),
        ("arccosh(x)", 0.5, "acosh below 1 (0.5)"),
        ("root(x, 2)", -4.0, "an even root (n = 2) of a negative number (-4)"),
        ("root(x, 2.5)", -4.0, "a non-integer root (n = 2.5) of a negative number (-4)"),
        ("coth(x)", 0.0, "a pole of coth at 0"),
        ("csch(x)", 0.0, "a pole of csch at 0"),
    ],
)
def test_new_functions_outside_their_domain_are_nan_with_a_warning(text, x0, reason):
    result, report = invoke_json("grad", text, "--at", f"x={x0!r}")
    assert result.exit_code == 0, report
    assert report["value"] in ("nan", "inf", "-inf")
    name = text.split("(")[0].replace("arccosh", "acosh")
    assert any(warning.startswith(f"{name}(x") and reason in warning for warning in report["warnings"]), report


@pytest.mark.parametrize("alias, target", [("arcsin", "asin"), ("arccos", "acos"), ("arctan", "atan"),
                                           ("arcsinh", "asinh"), ("arccosh", "acosh"), ("arctanh", "atanh"),
                                           ("sgn", "sign")])
def test_aliases_are_their_targets(alias, target):
    assert parse_expression(f"{alias}(x^2 + 1)") == parse_expression(f"{target}(x^2 + 1)")
    assert f"same as {target}" in FUNCTIONS_BY_NAME[alias].summary
    listed = invoke("functions").stdout
    assert re.search(rf"^{alias}\(x\) .* \(same as {target}\)", listed, re.M), listed


def test_root_prints_in_a_form_that_parses_back():
    result, report = invoke_json("grad", "root(x, 5)", "--at", "x=-2")
    symbolic = report["gradient"]["x"]["symbolic"]
    assert symbolic == "1/(5*root(x, 5)**4)"
    assert parse_expression(symbolic.replace("**", "^")) == parse_expression("1/(5*root(x, 5)^4)")


def _suggestion(name: str):
    try:
        parse_expression(f"{name}(x)")
    except ParseError as error:
        match = re.search(r"did you mean '(\w+)'\?", error.message)
        return match.group(1) if match else None
    return "parsed"


@pytest.mark.parametrize(
    "typed, suggested",
    [("sech", "parsed"), ("arcsec", "asec"), ("arccot", "acot"), ("arcsech", "asech"), ("arsinh", "asinh"),
     ("cosec", "csc"), ("cotan", "cot"), ("nthRoot", "root"), ("real_root", "root"), ("Abs", "abs"),
     ("Heaviside", "heaviside"), ("loggamma", "lgamma"), ("ceiling", "ceil"), ("sine", "sin")],
)
def test_unknown_function_suggestions(typed, suggested):
    assert _suggestion(typed) == suggested


def test_every_suggestion_names_a_function_that_exists():
    typos = {"arc", "ar", "sinc2", "secc", "cosech", "exp10", "cubrt", "nroot", "arcsgn"}
    for name in FUNCTIONS_BY_NAME:
        typos |= {name + "x", name[:-1], name.upper(), "arc" + name, "ar" + name, name[1:]}
    for typo in typos - set(FUNCTIONS_BY_NAME):
        suggested = _suggestion(typo)
        assert suggested is None or suggested in FUNCTIONS_BY_NAME, (typo, suggested)
