"""Oracle tests: autodiff's three witnesses against an independent derivative.

For every case the expected derivative is computed here, not by the product:
the function is written again with SymPy *primitives* (our own SymPy tree,
never the product's parser), differentiated with sympy.diff and evaluated
with evalf at 30 digits at the exact binary value of the float64 point.
autodiff's autograd, symbolic_value and finite-difference columns are then
each compared with that value, independently of the product's own verdict.

Functions that the product implements with classes of its own (sigmoid,
softplus, relu, cbrt, detach, floor, ceil, ...) are written here with plain
SymPy (1/(1 + exp(-x)), log(1 + exp(x)), ...). Functions with kinks (abs,
min, max, where, clamp, heaviside, relu, floor, ceil, sign) are evaluated
away from their kinks and, where SymPy itself has no usable derivative
(floor, ceil), written as the smooth function they equal near the point; a
comment says so at each such case.
"""

from __future__ import annotations

import json
import math

import pytest
import sympy
import torch

from autodiff.commands.api import grad
from autodiff.witnesses.checks import FiniteDifference, Tolerance
from autodiff.errors import AutodiffError
from autodiff.language.functions import FUNCTIONS
from autodiff.points import is_vector

X, Y, Z = sympy.symbols("x y z", real=True)
SYMBOLS = {"x": X, "y": Y, "z": Z}

# Tolerances against the exact (30-digit) derivative.
EXACT_RTOL = 1e-9  # autograd and symbolic_value, float64
EXACT_ATOL = 1e-11
NUMERIC_RTOL = {1: 1e-6, 2: 1e-5, 3: 1e-4}  # Richardson finite differences lose digits per order
NUMERIC_ATOL = {1: 1e-7, 2: 1e-5, 3: 1e-4}


# --------------------------------------------------------------------------
# the independent oracle


def _exact(value: float) -> sympy.Rational:
    """The exact binary value of a float64, so the oracle sees what torch sees."""
    return sympy.Rational(float(value))


def oracle(expr, at: dict, sequence) -> float:
    """d^n expr / d sequence at `at`, from sympy.diff evaluated at 30 digits."""
    derivative = sympy.diff(expr, *[SYMBOLS[name] for name in sequence]) if sequence else expr
    subs = {SYMBOLS[name]: _exact(value) for name, value in at.items()}
    value = derivative.evalf(30, subs=subs)
    real, imag = value.as_real_imag()
    assert abs(complex(imag)) < 1e-25, f"oracle value not real: {value}"
    return float(real)


def oracle_vector(expr, at: dict, sequence) -> list[float]:
    """Elementwise oracle for vector points (scalars broadcast)."""
    size = max(len(v) for v in at.values() if isinstance(v, list))
    return [
        oracle(expr, {k: (v[i] if isinstance(v, list) else v) for k, v in at.items()}, sequence)
        for i in range(size)
    ]


def assert_close(actual, expected, rtol, atol, what):
    assert isinstance(actual, float), f"{what}: {actual!r} is not a float"
    assert math.isfinite(expected), f"{what}: oracle value {expected} is not finite"
    assert math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol), (
        f"{what}: got {actual!r}, expected {expected!r} (rel err {abs(actual - expected) / max(abs(expected), 1e-300):.3g})"
    )


def check_against_oracle(text, expr, at, *, order=1, wrt=None, numeric_rtol=None, numeric_atol=None):
    """Run grad and compare all three witnesses (and the value) with the oracle."""
    result = grad(text, at, order=order, wrt=wrt)
    assert result.agree is True, result.to_json()
    assert result.checked_by == "exact"
    assert result.exit_code == 0
    assert result.warnings == [], result.warnings
    assert_close(result.value, oracle(expr, at, []), EXACT_RTOL, EXACT_ATOL, f"value of {text}")
    names = list(wrt) if wrt else sorted(at)
    assert list(result.gradient) == names
    n_rtol = numeric_rtol or NUMERIC_RTOL[order]
    n_atol = numeric_atol or NUMERIC_ATOL[order]
    for name in names:
        expected = oracle(expr, at, [name] * order)
        entry = result.gradient[name]
        label = f"d^{order}/d{name}^{order} {text} at {at}"
        assert entry.agree is True
        assert entry.numeric_agree is True, entry
        assert_close(entry.autograd, expected, EXACT_RTOL, EXACT_ATOL, f"autograd {label}")
        assert_close(entry.symbolic_value, expected, EXACT_RTOL, EXACT_ATOL, f"symbolic {label}")
        assert_close(entry.numeric, expected, n_rtol, n_atol, f"numeric {label}")
    return result


# --------------------------------------------------------------------------
# the cases: (id, text, our own SymPy expression, point)

x, y, z = X, Y, Z
sigmoid = lambda u: 1 / (1 + sympy.exp(-u))  # noqa: E731
softplus = lambda u: sympy.log(1 + sympy.exp(u))  # noqa: E731
real_cbrt = lambda u: sympy.sign(u) * sympy.Abs(u) ** sympy.Rational(1, 3)  # noqa: E731

CASES = [
    # trigonometric
    ("sin", "sin(x)", sympy.sin(x), {"x": 0.7}),
    ("cos", "cos(x)", sympy.cos(x), {"x": 0.7}),
    ("tan", "tan(x)", sympy.tan(x), {"x": 0.7}),
    ("sec", "sec(x)", 1 / sympy.cos(x), {"x": 0.7}),
    ("csc", "csc(x)", 1 / sympy.sin(x), {"x": 0.7}),
    ("cot", "cot(x)", sympy.cos(x) / sympy.sin(x), {"x": 0.7}),
    ("sin-neg", "sin(3x) - cos(x/2)", sympy.sin(3 * x) - sympy.cos(x / 2), {"x": -2.1}),
    # inverse trigonometric
    ("asin", "asin(x)", sympy.asin(x), {"x": 0.7}),
    ("acos", "acos(x)", sympy.acos(x), {"x": -0.3}),
    ("atan", "atan(x)", sympy.atan(x), {"x": 0.7}),
    ("atan-big", "atan(x)", sympy.atan(x), {"x": 12.5}),
    # hyperbolic
    ("sinh", "sinh(x)", sympy.sinh(x), {"x": 0.7}),
    ("cosh", "cosh(x)", sympy.cosh(x), {"x": -0.7}),
    ("tanh", "tanh(x)", sympy.tanh(x), {"x": 0.7}),
    ("asinh", "asinh(x)", sympy.asinh(x), {"x": -1.7}),
    ("acosh", "acosh(x)", sympy.acosh(x), {"x": 1.7}),
    ("atanh", "atanh(x)", sympy.atanh(x), {"x": 0.4}),
    # exponentials and logarithms
    ("exp", "exp(x)", sympy.exp(x), {"x": 0.7}),
    ("expm1", "expm1(x)", sympy.exp(x) - 1, {"x": 0.7}),
    ("expm1-small", "expm1(x)", sympy.exp(x) - 1, {"x": 1e-4}),
    ("log", "log(x)", sympy.log(x), {"x": 0.7}),
    ("log-base2", "log(x, 2)", sympy.log(x) / sympy.log(2), {"x": 0.7}),
    ("log-base-var", "log(x, y)", sympy.log(x) / sympy.log(y), {"x": 2.5, "y": 3.5}),
    ("ln", "ln(x)", sympy.log(x), {"x": 3.7}),
    ("log2", "log2(x)", sympy.log(x) / sympy.log(2), {"x": 0.7}),
    ("log10", "log10(x)", sympy.log(x) / sympy.log(10), {"x": 0.7}),
    ("log1p", "log1p(x)", sympy.log(1 + x), {"x": 0.7}),
    ("log1p-neg", "log1p(x)", sympy.log(1 + x), {"x": -0.5}),
    ("e-power", "e^x + E*x", sympy.exp(x) + sympy.E * x, {"x": 0.7}),
    # roots and powers
    ("sqrt", "sqrt(x)", sympy.sqrt(x), {"x": 0.7}),
    ("cbrt", "cbrt(x)", real_cbrt(x), {"x": 0.7}),
    ("cbrt-neg", "cbrt(x)", real_cbrt(x), {"x": -0.7}),
    ("cbrt-neg-big", "cbrt(x^3 - 10)", real_cbrt(x**3 - 10), {"x": 1.3}),
    ("pow-fn", "pow(x, 3)", x**3, {"x": 0.7}),
    ("pow-fn-var", "pow(x, y)", x**y, {"x": 1.7, "y": 0.6}),
    ("pow-neg-int", "x^-2", x**-2, {"x": -0.7}),
    ("pow-half", "x^0.5 + x**1.5", x**0.5 + x**1.5, {"x": 0.7}),
    ("pow-rational", "x^(1/3)", x ** sympy.Rational(1, 3), {"x": 0.7}),
    ("pow-right-assoc", "2^x^2", 2 ** (x**2), {"x": 0.7}),
    ("pow-neg-base-int", "(x - 2)^3", (x - 2) ** 3, {"x": 0.7}),
    # sign-like and kinks, away from the kink
    ("abs-pos", "abs(x)", sympy.Abs(x), {"x": 0.7}),
    ("abs-neg", "abs(x^3 - 2)", sympy.Abs(x**3 - 2), {"x": 0.7}),
    ("sign", "sign(x) * x^2", sympy.sign(x) * x**2, {"x": -0.7}),
    # floor(x) = 2 and ceil(x) = 3 on (2, 3): written as those constants here,
    # because SymPy leaves d floor/dx unevaluated.
    ("floor", "floor(x) * x + x", 2 * x + x, {"x": 2.3}),
    ("ceil", "ceil(x) * x^2", 3 * x**2, {"x": 2.3}),
    ("floor-neg", "floor(x)^2 * sin(x)", 4 * sympy.sin(x), {"x": -1.6}),
    ("min-2", "min(x, 1 - x)", sympy.Min(x, 1 - x), {"x": 0.7}),
    ("min-n", "min(x, 2, x^2)", sympy.Min(x, 2, x**2), {"x": 0.7}),
    ("max-n", "max(sin(x), x^3, 0.1)", sympy.Max(sympy.sin(x), x**3, sympy.Rational(1, 10)), {"x": 0.7}),
    ("max-n-other", "max(sin(x), x^3, 0.1)", x**3, {"x": 1.3}),  # x^3 is the max near 1.3
    ("relu-pos", "relu(x) * x", x * x, {"x": 0.7}),  # relu(x) = x for x > 0
    ("relu-neg", "relu(x) + x^2", x**2, {"x": -0.7}),  # relu(x) = 0 for x < 0
    ("heaviside-pos", "heaviside(x) * x^2", sympy.Heaviside(x) * x**2, {"x": 0.7}),
    ("heaviside-neg", "heaviside(x) * x^2 + x", sympy.Heaviside(x) * x**2 + x, {"x": -0.7}),
    ("where-true", "where(x > 0.5, x^2, sin(x))", x**2, {"x": 0.7}),
    ("where-false", "where(x > 0.5, x^2, sin(x))", sympy.sin(x), {"x": 0.3}),
    ("where-2var", "where(x <= y, x*y, x - y)", x * y, {"x": 0.7, "y": 1.1}),
    ("where-ne", "where(x != 1, exp(x), 0)", sympy.exp(x), {"x": 0.7}),
    ("clamp-inside", "clamp(x, 0, 1) * x", x * x, {"x": 0.7}),
    ("clamp-above", "clamp(x, 0, 1) * x", x, {"x": 1.7}),
    ("clamp-below", "clamp(x^2, 0.5, 2) + x", sympy.Rational(1, 2) + x, {"x": 0.3}),
    # special functions
    ("erf", "erf(x)", sympy.erf(x), {"x": 0.7}),
    ("erfc", "erfc(x)", sympy.erfc(x), {"x": -0.7}),
    ("gamma", "gamma(x)", sympy.gamma(x), {"x": 0.7}),
    ("gamma-big", "gamma(x)", sympy.gamma(x), {"x": 4.5}),
    ("gamma-neg-half", "gamma(x)", sympy.gamma(x), {"x": -0.5}),
    ("gamma-neg-1.5", "gamma(x)", sympy.gamma(x), {"x": -1.5}),
    ("gamma-neg-2.3", "gamma(x)", sympy.gamma(x), {"x": -2.3}),
    ("lgamma", "lgamma(x)", sympy.loggamma(x), {"x": 0.7}),
    ("lgamma-big", "lgamma(x)", sympy.loggamma(x), {"x": 7.5}),
    # torch's lgamma is log|gamma(x)|, real for negative non-integer x
    ("lgamma-neg", "lgamma(x)", sympy.log(sympy.Abs(sympy.gamma(x))), {"x": -0.5}),
    ("lgamma-neg-1.5", "lgamma(x)", sympy.log(sympy.Abs(sympy.gamma(x))), {"x": -1.5}),
    # ML functions, from their definitions
    ("sigmoid", "sigmoid(x)", sigmoid(x), {"x": 0.7}),
    ("sigmoid-neg", "sigmoid(x)", sigmoid(x), {"x": -3.2}),
    ("softplus", "softplus(x)", softplus(x), {"x": 0.7}),
    ("softplus-neg", "softplus(x)", softplus(x), {"x": -4.0}),
    ("swish", "x sigmoid(x)", x * sigmoid(x), {"x": 0.7}),
    ("log-sigmoid", "log(sigmoid(x))", sympy.log(sigmoid(x)), {"x": -1.2}),
    # two-argument functions
    ("hypot", "hypot(x, y)", sympy.sqrt(x**2 + y**2), {"x": 0.7, "y": -1.3}),
    ("atan2-q1", "atan2(y, x)", sympy.atan2(y, x), {"x": 0.7, "y": 1.3}),
    ("atan2-q2", "atan2(y, x)", sympy.atan2(y, x), {"x": -1.3, "y": 0.7}),
    ("atan2-q3", "atan2(y, x)", sympy.atan2(y, x), {"x": -1.3, "y": -0.7}),
    # functions added after the first table, from their definitions
    ("sech", "sech(x)", 1 / sympy.cosh(x), {"x": 0.7}),
    ("csch", "csch(x)", 1 / sympy.sinh(x), {"x": -0.7}),
    ("coth", "coth(x)", sympy.cosh(x) / sympy.sinh(x), {"x": 0.7}),
    ("asec", "asec(x)", sympy.acos(1 / x), {"x": -1.7}),
    ("acsc", "acsc(x)", sympy.asin(1 / x), {"x": 1.7}),
    ("acot", "acot(x)", sympy.atan(1 / x), {"x": -0.7}),
    ("asech", "asech(x)", sympy.acosh(1 / x), {"x": 0.7}),
    ("acsch", "acsch(x)", sympy.asinh(1 / x), {"x": -0.7}),
    ("acoth", "acoth(x)", sympy.atanh(1 / x), {"x": 1.7}),
    ("sinc", "sinc(x)", sympy.sin(x) / x, {"x": 0.7}),
    ("exp2", "exp2(x)", 2**x, {"x": -0.7}),
    ("root-odd-neg", "root(x, 5)", sympy.sign(x) * sympy.Abs(x) ** sympy.Rational(1, 5), {"x": -0.7}),
    ("root-even", "root(x, 4)", x ** sympy.Rational(1, 4), {"x": 0.7}),
    ("aliases", "arcsin(x) + arccos(x/2) + arctan(x) + arcsinh(x) + arccosh(x + 1) + arctanh(x) + sgn(x)*x",
     sympy.asin(x) + sympy.acos(x / 2) + sympy.atan(x) + sympy.asinh(x) + sympy.acosh(x + 1) + sympy.atanh(x) + x,
     {"x": 0.7}),
    # detach: the detached factor is a constant (its value at the point)
    ("detach", "detach(x) * x", sympy.Rational(7, 10) * x, {"x": 0.7}),
    ("detach-sum", "detach(x^2) + sin(x)", sympy.sin(x) + sympy.Rational(49, 100), {"x": 0.7}),
    # constants and implicit multiplication
    ("pi", "pi x^2 + 2 sin(x)", sympy.pi * x**2 + 2 * sympy.sin(x), {"x": 0.7}),
    ("implicit", "2x*(x+1)(x-1) + 3(x+1)", 2 * x * (x + 1) * (x - 1) + 3 * (x + 1), {"x": 0.7}),
    ("poly", "6*x^2+2*x+4", 6 * x**2 + 2 * x + 4, {"x": 3.0}),
    ("unary-minus", "-x^2 + --x", -(x**2) + x, {"x": 0.7}),
    # compositions
    ("comp-sin-exp", "sin(exp(x)) + log(1 + x^2)", sympy.sin(sympy.exp(x)) + sympy.log(1 + x**2), {"x": 0.7}),
    ("comp-gauss", "exp(-x^2/2)/sqrt(2 pi)", sympy.exp(-(x**2) / 2) / sympy.sqrt(2 * sympy.pi), {"x": 0.7}),
    ("comp-tanh-softplus", "tanh(softplus(x))", sympy.tanh(softplus(x)), {"x": 0.7}),
    ("comp-mish", "x tanh(softplus(x))", x * sympy.tanh(softplus(x)), {"x": -0.9}),
    ("comp-gd", "atan(sinh(x))", sympy.atan(sympy.sinh(x)), {"x": 0.7}),
    ("comp-erf-sqrt2", "erf(x/sqrt(2))", sympy.erf(x / sympy.sqrt(2)), {"x": 0.7}),
    ("comp-sqrt-sin", "sqrt(1 + sin(x)^2)", sympy.sqrt(1 + sympy.sin(x) ** 2), {"x": 0.7}),
    ("comp-gamma-lgamma", "gamma(x) lgamma(x + 3)", sympy.gamma(x) * sympy.loggamma(x + 3), {"x": 0.7}),
    ("comp-cbrt-cos", "cbrt(cos(x))", real_cbrt(sympy.cos(x)), {"x": 2.5}),  # cos(2.5) < 0
    ("comp-abs-log", "log(abs(x))", sympy.log(sympy.Abs(x)), {"x": -0.7}),
    ("comp-x-pow-x", "x^x", x**x, {"x": 0.7}),
    ("comp-nested", "log1p(expm1(x)^2) / (1 + cosh(x))",
     sympy.log(1 + (sympy.exp(x) - 1) ** 2) / (1 + sympy.cosh(x)), {"x": 0.7}),
    ("comp-shared", "sin(x)^2 + sin(x)^3 + exp(sin(x))",
     sympy.sin(x) ** 2 + sympy.sin(x) ** 3 + sympy.exp(sympy.sin(x)), {"x": 0.7}),
    # multivariable
    ("mv-prod", "x*y + sin(x*y)", x * y + sympy.sin(x * y), {"x": 0.7, "y": -1.2}),
    ("mv-3", "exp(x) cos(y) + z^2 / (1 + x^2)", sympy.exp(x) * sympy.cos(y) + z**2 / (1 + x**2),
     {"x": 0.7, "y": 0.4, "z": -1.5}),
    ("mv-polar", "hypot(x, y) * atan2(y, x)", sympy.sqrt(x**2 + y**2) * sympy.atan2(y, x), {"x": 0.7, "y": 1.3}),
    ("mv-log", "log(x^2 + y^2 + 1)", sympy.log(x**2 + y**2 + 1), {"x": 0.7, "y": -0.2}),
    ("mv-pow", "x^y + y^x", x**y + y**x, {"x": 1.7, "y": 0.6}),
    ("mv-erf", "erf(x - y) * sigmoid(x + y)", sympy.erf(x - y) * sigmoid(x + y), {"x": 0.7, "y": 0.2}),
    ("mv-max", "max(x, y) * min(x, y)", x * y, {"x": 0.7, "y": 1.3}),
]

CASE_IDS = [case[0] for case in CASES]
assert len(set(CASE_IDS)) == len(CASE_IDS)


@pytest.mark.parametrize("case_id, text, expr, at", CASES, ids=CASE_IDS)
def test_first_derivatives_match_oracle(case_id, text, expr, at):
    check_against_oracle(text, expr, at)


def _called_names(text: str) -> set[str]:
    import re

    return set(re.findall(r"([^\W\d]\w*)\s*\(", text))


@pytest.mark.parametrize("x0", [0.7, -0.7])
@pytest.mark.parametrize("order", [1, 2])
def test_heaviside_regression(x0, order):
    # was a RuntimeError 'derivative for aten::heaviside is not implemented'
    result = grad("heaviside(x)", {"x": x0}, order=order)
    entry = result.gradient["x"]
    assert result.value == (1.0 if x0 > 0 else 0.0)
    assert (entry.autograd, entry.symbolic_value, entry.numeric) == (0.0, 0.0, 0.0)
    assert result.agree is True


def test_heaviside_value_and_symbolic_only():
    # without a point no autograd runs; the symbolic side is fine
    assert grad("heaviside(x)").gradient["x"].symbolic == "DiracDelta(x)"
    # with everything detached, torch never differentiates heaviside
    result = grad("detach(heaviside(x)) * x", {"x": -0.7})
    assert result.value == 0.0 and result.gradient["x"].autograd == 0.0 and result.agree is True


def test_cases_cover_every_function():
    covered = set().union(*(_called_names(case[1]) for case in CASES))
    missing = {spec.name for spec in FUNCTIONS} - covered
    assert not missing, f"no oracle case for {sorted(missing)}"


# --------------------------------------------------------------------------
# higher orders

HIGHER = [
    ("sin", "sin(x)", sympy.sin(x), 0.7),
    ("tan", "tan(x)", sympy.tan(x), 0.7),
    ("exp-sq", "exp(-x^2)", sympy.exp(-(x**2)), 0.7),
    ("log", "log(x)", sympy.log(x), 0.7),
    ("log-base", "log(x, 3)", sympy.log(x) / sympy.log(3), 1.7),
    ("sqrt", "sqrt(1 + x^2)", sympy.sqrt(1 + x**2), 0.7),
    ("cbrt-neg", "cbrt(x)", real_cbrt(x), -0.7),
    ("atan", "atan(x)", sympy.atan(x), 0.7),
    ("asin", "asin(x)", sympy.asin(x), 0.3),
    ("acosh", "acosh(x)", sympy.acosh(x), 1.7),
    ("atanh", "atanh(x)", sympy.atanh(x), 0.3),
    ("tanh", "tanh(x)", sympy.tanh(x), 0.7),
    ("erf", "erf(x)", sympy.erf(x), 0.7),
    ("erfc", "erfc(x)", sympy.erfc(x), 0.7),
    ("gamma", "gamma(x)", sympy.gamma(x), 0.7),
    ("gamma-neg-half", "gamma(x)", sympy.gamma(x), -0.5),
    ("gamma-neg-1.5", "gamma(x)", sympy.gamma(x), -1.5),
    ("lgamma", "lgamma(x)", sympy.loggamma(x), 2.5),
    ("sigmoid", "sigmoid(x)", sigmoid(x), 0.7),
    ("softplus", "softplus(x)", softplus(x), -0.7),
    ("expm1", "expm1(x)", sympy.exp(x) - 1, 0.7),
    ("log1p", "log1p(x)", sympy.log(1 + x), 0.7),
    ("log2", "log2(x)", sympy.log(x) / sympy.log(2), 0.7),
    ("log10", "log10(x)", sympy.log(x) / sympy.log(10), 0.7),
    ("x-pow-x", "x^x", x**x, 0.7),
    ("poly", "x^5 - 3x^3 + x", x**5 - 3 * x**3 + x, 0.7),
    ("abs-away", "abs(x)^3", sympy.Abs(x) ** 3, -0.7),
    ("where-branch", "where(x < 1, sin(x), x^2)", sympy.sin(x), 0.7),
]


@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize("case_id, text, expr, x0", HIGHER, ids=[c[0] for c in HIGHER])
def test_higher_orders_match_oracle(case_id, text, expr, x0, order):
    check_against_oracle(text, expr, {"x": x0}, order=order)


def test_order_two_pure_partials_of_two_variables():
    expr = sympy.exp(x) * sympy.sin(y) + x**3 * y**2
    result = check_against_oracle("exp(x) sin(y) + x^3 y^2", expr, {"x": 0.7, "y": 1.1}, order=2)
    assert set(result.gradient) == {"x", "y"}
    assert result.gradient["x"].wrt == ["x", "x"]


# --------------------------------------------------------------------------
# wrt, vector points, grad_output, dtype


def test_wrt_selects_and_orders_partials():
    expr = x**2 * y + sympy.sin(z)
    at = {"x": 0.7, "y": -1.1, "z": 0.3}
    result = check_against_oracle("x^2 y + sin(z)", expr, at, wrt=["z", "x"])
    assert list(result.gradient) == ["z", "x"]


def test_wrt_variable_not_in_expression_is_zero():
    result = grad("sin(x)", {"x": 0.7, "y": 2.0}, wrt=["y"])
    entry = result.gradient["y"]
    assert entry.autograd == 0.0 and entry.symbolic_value == 0.0 and entry.numeric == 0.0
    assert entry.symbolic == "0"
    assert result.agree is True


VECTOR_CASES = [
    ("sin(x) x^2", sympy.sin(x) * x**2, {"x": [0.1, 0.5, 2.0]}),
    ("log(x) + sqrt(x)", sympy.log(x) + sympy.sqrt(x), {"x": [0.1, 0.5, 2.0]}),
    ("gamma(x)", sympy.gamma(x), {"x": [-1.5, -0.5, 0.7, 3.2]}),
    ("cbrt(x)", real_cbrt(x), {"x": [-2.0, -0.3, 0.4, 8.0]}),
    ("abs(x) + relu(x)", sympy.Abs(x) + sympy.Max(x, 0), {"x": [-1.0, -0.2, 0.3, 1.0]}),
    ("x y^2 + exp(x y)", x * y**2 + sympy.exp(x * y), {"x": [0.1, 0.5, 2.0], "y": [1.0, -1.0, 0.25]}),
    ("x y^2 + exp(x y)", x * y**2 + sympy.exp(x * y), {"x": [0.1, 0.5, 2.0], "y": 0.5}),  # scalar broadcast
]


@pytest.mark.parametrize("text, expr, at", VECTOR_CASES, ids=[f"{c[0]}@{c[2]}" for c in VECTOR_CASES])
def test_vector_points_give_elementwise_results(text, expr, at):
    result = grad(text, at)
    assert result.agree is True, result.to_json()
    size = max(len(v) for v in at.values() if isinstance(v, list))
    values = oracle_vector(expr, at, [])
    assert is_vector(result.value) and len(result.value) == size
    for got, want in zip(result.value, values):
        assert_close(got, want, EXACT_RTOL, EXACT_ATOL, f"value of {text}")
    for name in sorted(at):
        expected = oracle_vector(expr, at, [name])
        entry = result.gradient[name]
        for column, rtol, atol in (("autograd", EXACT_RTOL, EXACT_ATOL), ("symbolic_value", EXACT_RTOL, EXACT_ATOL),
                                   ("numeric", 1e-6, 1e-7)):
            got = getattr(entry, column)
            assert is_vector(got) and len(got) == size, (column, got)
            for i, (g, w) in enumerate(zip(got, expected)):
                assert_close(g, w, rtol, atol, f"{column} d{text}/d{name} element {i}")


def test_vector_point_second_derivative_elementwise():
    at = {"x": [0.1, 0.5, 2.0]}
    result = grad("x^3 log(x)", at, order=2)
    expected = oracle_vector(x**3 * sympy.log(x), at, ["x", "x"])
    entry = result.gradient["x"]
    assert result.agree is True
    for i in range(3):
        assert_close(entry.autograd[i], expected[i], EXACT_RTOL, EXACT_ATOL, f"autograd[{i}]")
        assert_close(entry.symbolic_value[i], expected[i], EXACT_RTOL, EXACT_ATOL, f"symbolic[{i}]")
        assert_close(entry.numeric[i], expected[i], 1e-5, 1e-5, f"numeric[{i}]")


def test_grad_output_weights_each_element():
    at = {"x": [0.5, 1.5, -2.0]}
    weights = [1.0, 0.5, -3.0]
    result = grad("x^3 + sin(x)", at, grad_output=weights)
    plain = oracle_vector(x**3 + sympy.sin(x), at, ["x"])
    entry = result.gradient["x"]
    assert result.agree is True
    for i, (w, d) in enumerate(zip(weights, plain)):
        assert_close(entry.autograd[i], w * d, EXACT_RTOL, EXACT_ATOL, f"autograd[{i}]")
        assert_close(entry.symbolic_value[i], w * d, EXACT_RTOL, EXACT_ATOL, f"symbolic[{i}]")
        assert_close(entry.numeric[i], w * d, 1e-6, 1e-7, f"numeric[{i}]")


def test_grad_output_single_weight_broadcasts_and_zero_weight_zeroes():
    at = {"x": [0.5, 1.5]}
    result = grad("exp(x)", at, grad_output=[2.0])
    assert result.agree is True
    for got, xv in zip(result.gradient["x"].autograd, at["x"]):
        assert_close(got, 2 * math.exp(xv), EXACT_RTOL, EXACT_ATOL, "weighted exp'")
    zero = grad("exp(x)", at, grad_output=[0.0, 1.0])
    assert zero.gradient["x"].autograd[0] == 0.0
    assert_close(zero.gradient["x"].autograd[1], math.exp(1.5), EXACT_RTOL, EXACT_ATOL, "exp'(1.5)")


def test_grad_output_with_second_order_weights_the_last_backward():
    at = {"x": [0.5, 1.5]}
    result = grad("sin(x) x^2", at, order=2, grad_output=[1.0, 2.0])
    plain = oracle_vector(sympy.sin(x) * x**2, at, ["x", "x"])
    entry = result.gradient["x"]
    assert result.agree is True
    for i, w in enumerate([1.0, 2.0]):
        assert_close(entry.autograd[i], w * plain[i], EXACT_RTOL, EXACT_ATOL, f"autograd[{i}]")
        assert_close(entry.symbolic_value[i], w * plain[i], EXACT_RTOL, EXACT_ATOL, f"symbolic[{i}]")
        assert_close(entry.numeric[i], w * plain[i], 1e-5, 1e-5, f"numeric[{i}]")


def test_grad_output_with_scalar_and_vector_variables():
    at = {"x": [0.5, 1.5], "y": 2.0}
    result = grad("x y", at, grad_output=[3.0])
    assert result.gradient["x"].autograd == [6.0, 6.0]
    assert result.gradient["y"].autograd == [1.5, 4.5]
    assert result.gradient["y"].symbolic_value == [1.5, 4.5]
    assert result.agree is True


def test_point_values_may_be_constant_expressions():
    result = grad("x^2 + sin(y)", {"x": "pi/4", "y": "sqrt(2)"})
    assert result.at == {"x": math.pi / 4, "y": math.sqrt(2)}
    assert_close(result.gradient["x"].autograd, math.pi / 2, EXACT_RTOL, EXACT_ATOL, "d/dx")
    assert_close(result.gradient["y"].autograd, math.cos(math.sqrt(2)), EXACT_RTOL, EXACT_ATOL, "d/dy")


def test_detach_second_order_is_zero():
    # d/dx (detach(x) x) = detach(x), whose derivative is 0
    result = grad("detach(x) * x", {"x": 0.7}, order=2)
    entry = result.gradient["x"]
    assert (entry.autograd, entry.symbolic_value) == (0.0, 0.0) and abs(entry.numeric) < 1e-6
    assert result.agree is True


def test_grad_output_with_wrong_length_is_an_autodiff_error():
    with pytest.raises(AutodiffError):
        grad("x^2", {"x": [1.0, 2.0, 3.0]}, grad_output=[1.0, 2.0])


FLOAT32_CASES = [
    ("sin(x) exp(x)", sympy.sin(x) * sympy.exp(x), {"x": 0.7}),
    ("log(1 + x^2) + sigmoid(x)", sympy.log(1 + x**2) + sigmoid(x), {"x": -1.3}),
    ("x y + tanh(x - y)", x * y + sympy.tanh(x - y), {"x": 0.7, "y": 0.2}),
    ("gamma(x)", sympy.gamma(x), {"x": -0.5}),
]


def test_float32_third_order_on_a_vector():
    at = {"x": [0.5, 1.5]}
    result = grad("sin(x) exp(x)", at, order=3, dtype="float32")
    expected = oracle_vector(sympy.sin(x) * sympy.exp(x), at, ["x"] * 3)
    assert result.agree is True
    for i, want in enumerate(expected):
        assert_close(result.gradient["x"].autograd[i], want, 1e-4, 1e-5, f"float32 autograd[{i}]")
        assert_close(result.gradient["x"].symbolic_value[i], want, 1e-4, 1e-5, f"float32 symbolic[{i}]")
        assert_close(result.gradient["x"].numeric[i], want, 1e-4, 1e-4, f"numeric[{i}]")


@pytest.mark.parametrize("text, expr, at", FLOAT32_CASES, ids=[c[0] for c in FLOAT32_CASES])
def test_float32_agrees_at_float32_tolerance(text, expr, at):
    result = grad(text, at, dtype="float32")
    assert result.dtype == "float32"
    assert result.agree is True, result.to_json()
    for name in sorted(at):
        expected = oracle(expr, at, [name])
        entry = result.gradient[name]
        # float32 has ~7 digits; the product's float32 tolerance is rtol 1e-4, atol 1e-5.
        assert_close(entry.autograd, expected, 1e-4, 1e-5, f"float32 autograd d/d{name}")
        assert_close(entry.symbolic_value, expected, 1e-4, 1e-5, f"float32 symbolic d/d{name}")
        # finite differences always run in float64
        assert_close(entry.numeric, expected, 1e-6, 1e-7, f"numeric d/d{name}")
        # ... and float32 results really are float32-rounded
        assert entry.autograd == float(torch.tensor(entry.autograd, dtype=torch.float32).item())


# --------------------------------------------------------------------------
# constants, unused variables, options


@pytest.mark.parametrize("text, value", [("5", 5.0), ("2^10 - 1", 1023.0), ("pi/4", math.pi / 4), ("-3", -3.0)])
def test_constant_expression(text, value):
    result = grad(text, {"x": 0.7})
    assert isinstance(result.value, float) and not isinstance(result.value, bool)
    assert type(result.value) is float
    assert math.isclose(result.value, value, rel_tol=1e-15)
    entry = result.gradient["x"]
    assert (entry.autograd, entry.symbolic_value, entry.numeric) == (0.0, 0.0, 0.0)
    assert all(type(v) is float for v in (entry.autograd, entry.symbolic_value, entry.numeric))
    assert result.agree is True and result.exit_code == 0


def test_constant_expression_higher_order_and_vector():
    result = grad("7", {"x": [1.0, 2.0]}, order=3)
    assert result.value == [7.0, 7.0] and all(type(v) is float for v in result.value)
    assert result.gradient["x"].autograd == [0.0, 0.0]
    assert result.gradient["x"].symbolic_value == [0.0, 0.0]
    assert result.agree is True


def test_variable_absent_from_expression_has_zero_derivative():
    result = grad("x^2", {"x": 0.7, "y": 2.0})
    assert list(result.gradient) == ["x", "y"]
    assert_close(result.gradient["x"].autograd, 1.4, EXACT_RTOL, EXACT_ATOL, "d/dx")
    entry = result.gradient["y"]
    assert (entry.autograd, entry.symbolic_value, entry.numeric) == (0.0, 0.0, 0.0)
    assert entry.agree is True


def test_detach_everything_has_zero_derivative():
    result = grad("detach(x^2 + sin(x))", {"x": 0.7})
    entry = result.gradient["x"]
    assert_close(result.value, 0.49 + math.sin(0.7), EXACT_RTOL, EXACT_ATOL, "value")
    assert (entry.autograd, entry.symbolic_value) == (0.0, 0.0)
    assert abs(entry.numeric) < 1e-9  # the detached value is held fixed by the stencil too
    assert result.agree is True


def test_symbolic_false_is_checked_by_finite_differences():
    result = grad("sin(x) exp(x)", {"x": 0.7}, symbolic=False)
    assert result.checked_by == "numeric"
    entry = result.gradient["x"]
    assert entry.symbolic is None and entry.symbolic_value is None
    expected = oracle(sympy.sin(x) * sympy.exp(x), {"x": 0.7}, ["x"])
    assert_close(entry.autograd, expected, EXACT_RTOL, EXACT_ATOL, "autograd")
    assert_close(entry.numeric, expected, 1e-6, 1e-7, "numeric")
    assert entry.agree is True and result.agree is True


def test_tiny_symbolic_timeout_falls_back_to_finite_differences():
    result = grad("sin(x)^3 + log(x)", {"x": 0.7}, symbolic_timeout=1e-9)
    assert result.checked_by == "numeric"
    assert any("timeout" in w for w in result.warnings), result.warnings
    entry = result.gradient["x"]
    assert entry.symbolic is None and entry.symbolic_value is None
    expected = oracle(sympy.sin(x) ** 3 + sympy.log(x), {"x": 0.7}, ["x"])
    assert_close(entry.autograd, expected, EXACT_RTOL, EXACT_ATOL, "autograd")
    assert entry.agree is True and entry.agree == entry.numeric_agree


def test_tiny_symbolic_timeout_disagreement_decided_by_finite_differences():
    # floor is flat for autograd, but its jump 1e-9 to the right is inside
    # the central difference's stencil: with no symbolic side, the finite
    # differences decide, and they disagree. (1 - 1e-9 is no kink: floor's
    # switch is 1e-9 from an integer, far more than rounding.)
    result = grad("floor(x)", {"x": 1 - 1e-9}, symbolic_timeout=1e-9)
    assert result.checked_by == "numeric"
    entry = result.gradient["x"]
    assert entry.autograd == 0.0 and entry.numeric > 1000 and entry.differentiable is True
    assert entry.agree is False and result.agree is False and result.exit_code == 1


def test_symbolic_timeout_zero_or_negative_means_no_symbolic_side():
    result = grad("exp(x)", {"x": 0.7}, symbolic_timeout=0)
    assert result.checked_by == "numeric"
    assert any("timeout" in w for w in result.warnings)
    assert result.agree is True


# --- kinks and jumps at the kink itself (design section 6) -----------------


@pytest.mark.parametrize("text, left, right", [("relu(x)", 0.0, 1.0), ("sign(x)", math.inf, math.inf)])
def test_kink_is_reported_as_not_differentiable(text, left, right):
    result = grad(text, {"x": 0.0})
    entry = result.gradient["x"]
    assert (entry.differentiable, entry.left, entry.right) == (False, left, right)
    assert entry.agree is None and result.agree is None and result.exit_code == 0, result.to_json()
    assert any("does not exist at x=0" in w for w in result.warnings), result.warnings


@pytest.mark.parametrize("symbolic", [True, False])
def test_jump_is_not_accepted_silently(symbolic):
    # Regression: the finite-difference slack used to be 10*|extrapolated - fine|,
    # which grows like 1/h at a jump, so any value "agreed" with no warning.
    # At the jump the derivative does not exist (left +inf, right 0); just
    # beside it, it is 0, and the finite difference that straddles the jump
    # disagrees: with SymPy, a warning; without, a failed check.
    at_jump = grad("floor(x)", {"x": 1.0}, symbolic=symbolic).gradient["x"]
    assert (at_jump.differentiable, at_jump.left, at_jump.right, at_jump.convention) == (False, math.inf, 0.0, "right")
    result = grad("floor(x)", {"x": 1 - 1e-9}, symbolic=symbolic)
    entry = result.gradient["x"]
    assert entry.autograd == 0.0 and abs(entry.numeric) > 1000  # the witness really sees the jump
    assert entry.numeric_agree is False
    if symbolic:
        assert result.agree is True and any("finite differences" in w for w in result.warnings)
    else:
        assert result.agree is False and result.exit_code == 1


def test_no_point_gives_symbolic_text_only():
    result = grad("6*x^2+2*x+4")
    entry = result.gradient["x"]
    assert entry.symbolic == "12*x + 2"
    assert result.value is None and result.at is None and result.checked_by is None
    assert entry.autograd is None and entry.symbolic_value is None and entry.numeric is None
    assert result.agree is None and result.exit_code == 0


def test_no_point_multivariable_and_order():
    result = grad("x^3 y + sin(y)", order=2)
    assert list(result.gradient) == ["x", "y"]
    assert sympy.simplify(sympy.sympify(result.gradient["x"].symbolic, locals=SYMBOLS) - 6 * x * y) == 0
    assert sympy.simplify(sympy.sympify(result.gradient["y"].symbolic, locals=SYMBOLS) + sympy.sin(y)) == 0


def test_expect_met_and_not_met():
    met = grad("6*x^2+2*x+4", {"x": 3.0}, expect={"x": 38})
    assert met.expect_met is True and met.exit_code == 0
    assert met.gradient["x"].expected == 38.0
    missed = grad("6*x^2+2*x+4", {"x": 3.0}, expect={"x": 39})
    assert missed.expect_met is False and missed.exit_code == 1
    assert missed.agree is True  # the cross-check itself passed
    assert missed.to_json()["expect_met"] is False


def test_expect_positional_in_variable_order_and_vectors():
    result = grad("x y", {"x": 2.0, "y": 5.0}, expect=["5,2"])
    assert result.expect_met is True and result.exit_code == 0
    wrong = grad("x y", {"x": 2.0, "y": 5.0}, expect=["2,5"])
    assert wrong.expect_met is False and wrong.exit_code == 1
    vec = grad("x^2", {"x": [1.0, 2.0]}, expect={"x": [2, 4]})
    assert vec.expect_met is True
    vec_bad = grad("x^2", {"x": [1.0, 2.0]}, expect={"x": [2, 4.1]})
    assert vec_bad.expect_met is False and vec_bad.exit_code == 1


def test_rtol_atol_options_are_used_for_expect():
    loose = grad("x^2", {"x": 1.0}, expect={"x": 2.001}, rtol=1e-2)
    assert loose.expect_met is True
    tight = grad("x^2", {"x": 1.0}, expect={"x": 2.001})
    assert tight.expect_met is False


# --------------------------------------------------------------------------
# the comparison primitives, directly


def t(*values):
    return torch.tensor(values, dtype=torch.float64)


def test_tolerance_close_agrees_and_disagrees():
    tol = Tolerance(rtol=1e-7, atol=1e-9)
    assert tol.close(t(1.0, 1e6, 0.0), t(1.0 + 5e-8, 1e6 + 0.05, 5e-10)).tolist() == [True, True, True]
    assert tol.close(t(1.0, 1e6, 0.0), t(1.0 + 1e-6, 1e6 + 1.0, 1e-8)).tolist() == [False, False, False]
    # equal infinities and two nans agree; anything else with a non-finite value does not
    assert tol.close(t(math.inf, -math.inf, math.nan), t(math.inf, -math.inf, math.nan)).tolist() == [True] * 3
    assert tol.close(t(math.inf, math.nan, 1.0, math.inf), t(-math.inf, 1.0, math.nan, 1e308)).tolist() == [False] * 4
    # float32 inputs are compared in float64, at the float32 tolerance when asked
    f32 = Tolerance.for_dtype("float32")
    single = torch.tensor([1.0 + 5e-5, 1.0 + 5e-4], dtype=torch.float32)
    assert f32.close(single, t(1.0, 1.0)).tolist() == [True, False]
    assert tol.close(single, t(1.0, 1.0)).tolist() == [False, False]
    # rtol is relative to the second argument (torch.isclose)
    assert Tolerance(0.1, 0.0).close(t(1.0), t(1.1)).tolist() == [True]  # 0.1 <= 0.11
    assert Tolerance(0.1, 0.0).close(t(1.09), t(1.0)).tolist() == [True]  # 0.09 <= 0.1
    assert Tolerance(0.1, 0.0).close(t(1.11), t(1.0)).tolist() == [False]  # 0.11 > 0.1
    assert Tolerance(0.1, 0.0).close(t(1.0), t(1.12)).tolist() == [False]


def test_tolerance_for_dtype_and_finite_differences():
    assert Tolerance.for_dtype("float64") == Tolerance(1e-7, 1e-9)
    assert Tolerance.for_dtype("float32") == Tolerance(1e-4, 1e-5)
    assert Tolerance.for_dtype("float64", rtol=1e-3) == Tolerance(1e-3, 1e-9)
    fd = Tolerance(1e-7, 1e-9).for_finite_differences(1)
    assert fd.rtol >= 1e-6 and fd.atol >= 1e-6
    assert Tolerance(1e-7, 1e-9).for_finite_differences(3).rtol > fd.rtol


def test_finite_difference_agrees_with():
    tol = Tolerance(1e-6, 1e-6)
    # the second field is the estimate's error bound (named `rounding` in the current source)
    fd = FiniteDifference(t(2.0, 100.0, 0.0), t(1e-12, 1e-12, 1e-12))
    assert fd.agrees_with(t(2.0 + 1e-7, 100.0 + 5e-5, 5e-7), tol).tolist() == [True, True, True]
    assert fd.agrees_with(t(2.0 + 1e-4, 100.0 + 1e-2, 1e-5), tol).tolist() == [False, False, False]
    # a large error bound widens the slack by 10x the bound
    wide = FiniteDifference(t(2.0), t(0.01))
    assert wide.agrees_with(t(2.09), tol).tolist() == [True]
    assert wide.agrees_with(t(2.2), tol).tolist() == [False]
    # both non-finite agree; a finite estimate never agrees with a non-finite value
    nf = FiniteDifference(t(math.nan, math.inf, 1.0, 1.0), t(0.0, 0.0, 0.0, 0.0))
    assert nf.agrees_with(t(math.inf, math.nan, math.nan, -math.inf), tol).tolist() == [True, True, False, False]
    assert nf.agrees_with(t(1.0, -1.0, 2.0, 1.0), tol).tolist()[0] is False  # nan estimate
    # float32 values are compared in float64
    assert fd.agrees_with(torch.tensor([2.0, 100.0, 0.0], dtype=torch.float32), tol).tolist() == [True] * 3


# Regression (fixed in 830981d): FiniteDifference.agrees_with accepts ANY finite value when the
# estimate is +-inf (slack = atol + rtol*|inf| = inf), although a non-finite estimate is otherwise
# only meant to agree with a non-finite value
def test_infinite_estimate_does_not_agree_with_finite_values():
    tol = Tolerance(1e-6, 1e-6)
    fd = FiniteDifference(t(math.inf, -math.inf), t(0.0, 0.0))
    assert fd.agrees_with(t(1.0, 1.0), tol).tolist() == [False, False]


# Regression (fixed in 830981d): the same through the API: log(abs(x)) at x = h/2 (h the first-order
# step eps^(1/5)) puts a stencil point on the pole; numeric is -inf, yet numeric_agree is True 
# and, with symbolic=False, agree is True with no warning
@pytest.mark.parametrize("symbolic", [False, True])
def test_infinite_finite_difference_through_the_api(symbolic):
    step = torch.finfo(torch.float64).eps ** (1 / 5)  # checks.finite_difference's first-order step for |x| < 1
    result = grad("log(abs(x))", {"x": step / 2}, symbolic=symbolic)
    entry = result.gradient["x"]
    if entry.numeric is not None and math.isfinite(entry.numeric):
        pytest.skip("the stencil no longer lands on the pole; this reproduction needs a new point")
    assert math.isfinite(entry.autograd)
    assert entry.numeric_agree is False, entry


def test_finite_difference_on_real_program_against_oracle():
    from autodiff.witnesses.checks import finite_difference
    from autodiff.engine.lowering import compile_expression
    from autodiff.language.parsing import parse_expression

    program = compile_expression(parse_expression("exp(x) sin(y)"))
    values = {"x": t(0.7), "y": t(1.1)}
    expr = sympy.exp(x) * sympy.sin(y)
    for sequence in (["x"], ["y"], ["x", "y"], ["x", "x", "y"]):
        est = finite_difference(program, {k: v.reshape(()) for k, v in values.items()}, sequence)
        expected = oracle(expr, {"x": 0.7, "y": 1.1}, sequence)
        assert_close(float(est.estimate), expected, 10 ** (-7 + len(sequence)), 1e-6, f"fd {sequence}")
        assert float(getattr(est, "rounding", getattr(est, "error", None))) < 1e-3


# --------------------------------------------------------------------------
# strict JSON


def _reject(constant):
    raise ValueError(f"non-strict JSON constant {constant}")


def strict_roundtrip(result) -> dict:
    text = json.dumps(result.to_json(), allow_nan=False)
    return json.loads(text, parse_constant=_reject)


def test_json_log_of_negative_is_strict_with_nan_strings():
    result = grad("log(x)", {"x": -1.0})
    data = strict_roundtrip(result)
    assert data["value"] == "nan"
    assert data["gradient"]["x"]["numeric"] == "nan"
    assert data["at"] == {"x": -1.0}


def test_json_reciprocal_at_zero_has_inf_strings():
    result = grad("1/x", {"x": 0.0})
    data = strict_roundtrip(result)
    assert data["value"] == "inf"
    assert data["gradient"]["x"]["autograd"] == "-inf"
    assert data["gradient"]["x"]["symbolic_value"] == "-inf"
    assert data["gradient"]["x"]["symbolic"] == "-1/x**2"


def test_json_vector_with_mixed_non_finite():
    result = grad("1/x + log(x)", {"x": [-1.0, 0.0, 1.0]})
    data = strict_roundtrip(result)
    assert data["value"][0] == "nan"
    assert data["value"][1] in ("inf", "nan")  # inf + (-inf) is nan
    assert data["value"][2] == 1.0
    auto = data["gradient"]["x"]["autograd"]
    assert auto[2] == 0.0 and all(isinstance(v, (float, str)) for v in auto)


def test_json_shape_of_ordinary_result():
    data = strict_roundtrip(grad("6*x^2+2*x+4", {"x": 3}))
    assert data["command"] == "grad"
    assert data["expression"] == "6*x**2 + 2*x + 4"
    assert data["at"] == {"x": 3.0} and data["value"] == 64.0 and data["order"] == 1
    g = data["gradient"]["x"]
    assert g["autograd"] == 38.0 and g["symbolic"] == "12*x + 2" and g["symbolic_value"] == 38.0
    assert math.isclose(g["numeric"], 38.0, rel_tol=1e-9) and g["agree"] is True
    assert data["agree"] is True and data["warnings"] == []


def test_json_negative_infinity_string():
    data = strict_roundtrip(grad("log(x)", {"x": 0.0}))
    assert data["value"] == "-inf"
    assert data["gradient"]["x"]["autograd"] == "inf"


# --------------------------------------------------------------------------
# regression tests for wrong derivatives found by these tests and the property
# tests (all fixed in 830981d; each was an xfail(strict) test until then)


# Regression (fixed in 830981d): a variable exponent that is exactly 0 gives a wrong autograd second
# derivative: torch's pow backward masks exponent == 0 (where(exponent == 0, 0, ...)), which also
# drops the exponent's own derivative in double backward (cf. pytorch/pytorch#89757); the lowering
# uses torch.pow(base, exponent) for tensor exponents. (1+x)^x at 0: autograd 1.0, exact 2.0 ->
# exit 1
@pytest.mark.parametrize("text, oracle_expr", [
    ("(1+x)^x", (1 + x) ** x),
    ("(2 + sin(x))^tanh(x)", (2 + sympy.sin(x)) ** sympy.tanh(x)),
])
def test_pow_exponent_zero_second_derivative(text, oracle_expr):
    result = grad(text, {"x": 0.0}, order=2)
    expected = oracle(oracle_expr, {"x": 0.0}, ["x", "x"])
    assert_close(result.gradient["x"].symbolic_value, expected, EXACT_RTOL, EXACT_ATOL, "symbolic")
    assert_close(result.gradient["x"].autograd, expected, EXACT_RTOL, EXACT_ATOL, "autograd")
    assert_close(result.gradient["x"].numeric, expected, 1e-5, 1e-5, "numeric")
    assert result.agree is True


def test_pow_exponent_zero_first_derivative_and_nearby_second_are_right():
    # the bug above was confined to double backward at an exponent of exactly 0
    assert check_against_oracle("(1+x)^x", (1 + x) ** x, {"x": 0.0})
    assert check_against_oracle("(1+x)^x", (1 + x) ** x, {"x": 1e-3}, order=2)


# Regression (fixed in 830981d): softplus lowers to torch.nn.functional.softplus, which is exactly
# linear above its threshold 20, so autograd's second derivative is 0 there instead of sigmoid'(u):
# softplus(10x) at x=2.05, order 2: autograd 0.0, exact 1.25e-7 -> agree False, exit 1
def test_softplus_above_threshold_second_derivative():
    result = grad("softplus(10x)", {"x": 2.05}, order=2)
    expected = oracle(softplus(10 * x), {"x": 2.05}, ["x", "x"])
    assert expected > 1e-7
    assert_close(result.gradient["x"].autograd, expected, 1e-6, 1e-12, "autograd")
    assert result.agree is True


# Regression (fixed in 830981d): where(cond, a, b) has autograd derivative nan when the branch NOT
# taken has a non-finite local derivative (torch.where's gradient trap, 0 * nan): where(x > 0,
# sqrt(x), 0) at x = -1 gives autograd nan while symbolic and finite differences say 0 -> agree
# False, exit 1
@pytest.mark.parametrize("text", ["where(x > 0, sqrt(x), 0)", "where(x > 0, x log(x), 0)",
                                  "where(x < 1, asin(x), x)"])
def test_where_untaken_branch_does_not_poison_gradient(text):
    result = grad(text, {"x": -1.0} if "asin" not in text else {"x": 2.0})
    entry = result.gradient["x"]
    assert entry.symbolic_value == pytest.approx(entry.numeric, abs=1e-6)  # 0 (or 1)
    assert entry.autograd == entry.symbolic_value, entry  # was nan
    assert result.agree is True


def test_where_untaken_branch_with_finite_gradient_is_fine():
    # log's local derivative at -1 is finite (-1), so 0 * (-1) = 0: no trap
    result = grad("where(x > 0, log(x), x)", {"x": -1.0})
    assert result.gradient["x"].autograd == 1.0 and result.agree is True
