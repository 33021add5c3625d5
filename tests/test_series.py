"""Taylor mode (autodiff.engine.taylor_mode) and its exact witness, the ball
series (autodiff.engine.ball_series), judged by oracles that share no code
with either: mpmath's Taylor coefficients at 40 digits and SymPy's exact
derivatives at rational points."""

from __future__ import annotations

import dataclasses
import math

import mpmath
import pytest
import sympy
import torch

from autodiff.commands.taylor import taylor
from autodiff.engine import ball_series
from autodiff.engine.ball_series import BallSeriesProgram, evaluate
from autodiff.engine.series import check_series_work, multi_indices, pair_count
from autodiff.engine.taylor_mode import SPELLED_WITH_OTHERS, SeriesProgram, rule_names
from autodiff.errors import LimitError, UnsupportedError
from autodiff.language.functions import FUNCTIONS
from autodiff.language.parsing import parse_expression
from autodiff.limits import DEFAULT_LIMITS

ORDER = 8
X0 = 0.5  # every case is expanded about x = 0.5; the constants are dyadic, so both engines read them exactly
TAYLOR_REL = 1e-12
BALL_REL = 1e-15
POLYGAMMA_REL = 1e-9  # torch's polygamma(n ≥ 1), which gamma and lgamma read their coefficients from, is this good


def taylor_mode(text: str, point: dict, names=None, order: int = ORDER) -> torch.Tensor:
    """Taylor mode's float64 coefficients of one expression."""
    program = SeriesProgram([parse_expression(text, DEFAULT_LIMITS)])
    tensors = {name: torch.as_tensor(value, dtype=torch.float64) for name, value in point.items()}
    return program.coefficients(tensors, list(names or point), order)[0]


def balls(text: str, point: dict, names=None, order: int = ORDER) -> list:
    """The ball series' coefficients of one expression (Balls)."""
    program = BallSeriesProgram([parse_expression(text, DEFAULT_LIMITS)])
    return evaluate(program, point, list(names or point), order, DEFAULT_LIMITS.max_exact_bits)[0]


def mpmath_taylor(function, x0: float = X0, order: int = ORDER) -> list[float]:
    """mpmath's Taylor coefficients at 40 digits, rounded to doubles."""
    with mpmath.workdps(40):
        return [float(c) for c in mpmath.taylor(function, mpmath.mpf(x0), order)]


def assert_close(got, want, rel: float, floor: float) -> None:
    """Each coefficient within `rel` of the oracle's. A coefficient that
    cancels to far below the largest (sinc's 8th about 0.625 is 1e-8 of it)
    is only as accurate as the terms it cancels from: `floor` × the largest."""
    scale = max(abs(w) for w in want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert math.isclose(g, w, rel_tol=rel, abs_tol=floor * scale), f"coefficient {k}: {g!r}, expected {w!r}"


def assert_balls_close(row, want) -> None:
    """Every ball tight, and its nearest double within BALL_REL of the oracle's."""
    assert all(ball.tight for ball in row), [ball.value for ball in row]
    assert_close([ball.to_float() for ball in row], want, BALL_REL, 1e-30)


# --- every function of the table at a point inside its domain -----------------

# name: (the function on mpmath numbers, u0), expanded as name(u0 - X0/2 + x/2) about x = X0.
ONE_ARGUMENT = {
    "sin": (mpmath.sin, 0.625), "cos": (mpmath.cos, 0.625), "tan": (mpmath.tan, 0.625),
    "sec": (mpmath.sec, 0.625), "csc": (mpmath.csc, 0.625), "cot": (mpmath.cot, 0.625),
    "sinc": (mpmath.sinc, 0.625), "asin": (mpmath.asin, 0.375), "acos": (mpmath.acos, 0.375),
    "atan": (mpmath.atan, 0.625), "asec": (mpmath.asec, 1.625), "acsc": (mpmath.acsc, 1.625),
    "acot": (mpmath.acot, 0.625), "sinh": (mpmath.sinh, 0.625), "cosh": (mpmath.cosh, 0.625),
    "tanh": (mpmath.tanh, 0.625), "sech": (mpmath.sech, 0.625), "csch": (mpmath.csch, 0.625),
    "coth": (mpmath.coth, 0.625), "asinh": (mpmath.asinh, 0.625), "acosh": (mpmath.acosh, 1.625),
    "atanh": (mpmath.atanh, 0.375), "asech": (mpmath.asech, 0.625), "acsch": (mpmath.acsch, 0.625),
    "acoth": (mpmath.acoth, 1.625), "exp": (mpmath.exp, 0.625), "exp2": (lambda u: 2**u, 0.625),
    "expm1": (mpmath.expm1, 0.625), "log": (mpmath.log, 0.625), "log2": (lambda u: mpmath.log(u, 2), 0.625),
    "log10": (mpmath.log10, 0.625), "log1p": (mpmath.log1p, 0.625), "cbrt": (mpmath.cbrt, 0.625),
    "abs": (abs, -0.625), "sign": (mpmath.sign, -0.625), "floor": (mpmath.floor, 1.625),
    "ceil": (mpmath.ceil, 1.625), "erf": (mpmath.erf, 0.625), "erfc": (mpmath.erfc, 0.625),
    "gamma": (mpmath.gamma, 0.625), "lgamma": (mpmath.loggamma, 0.625),
    "sigmoid": (lambda u: 1 / (1 + mpmath.exp(-u)), 0.625), "relu": (lambda u: max(u, 0), 0.625),
    "softplus": (lambda u: mpmath.log(1 + mpmath.exp(u)), 0.625),
    "heaviside": (lambda u: mpmath.mpf(u > 0), 0.625),
}

# (function, case id, expression in x, oracle of x)
CASES = [(name, name, f"{name}({u0 - X0 / 2!r} + x/2)", lambda x, f=f, a=u0 - X0 / 2: f(a + x / 2))
         for name, (f, u0) in ONE_ARGUMENT.items()] + [
    ("atan2", "atan2", "atan2(0.75 + x/2, x - 1.25)", lambda x: mpmath.atan2(0.75 + x / 2, x - 1.25)),
    ("hypot", "hypot", "hypot(x/2 + 0.375, 1.25 - x)", lambda x: mpmath.hypot(x / 2 + 0.375, 1.25 - x)),
    ("root", "root", "root(0.375 + x/2, 4)", lambda x: mpmath.root(0.375 + x / 2, 4)),
    ("root", "root-odd-below-0", "root(x/2 - 1.375, 5)", lambda x: -mpmath.root(1.375 - x / 2, 5)),
    ("log", "log-base", "log(0.375 + x/2, 3)", lambda x: mpmath.log(0.375 + x / 2, 3)),
    ("log", "log-variable-base", "log(0.375 + x/2, 1.5 + x)", lambda x: mpmath.log(0.375 + x / 2, 1.5 + x)),
    ("min", "min", "min(0.375 + x/2, 1 - x, 2*x)", lambda x: min(0.375 + x / 2, 1 - x, 2 * x)),
    ("max", "max", "max(0.375 + x/2, 1 - x)", lambda x: max(0.375 + x / 2, 1 - x)),
    ("detach", "detach", "x*detach(exp(x))", lambda x: x * mpmath.exp(X0)),
    ("gamma", "gamma-below-0", "gamma(x/2 - 2.75)", lambda x: mpmath.gamma(x / 2 - 2.75)),
    ("lgamma", "lgamma-below-0", "lgamma(x/2 - 2.75)", lambda x: mpmath.log(abs(mpmath.gamma(x / 2 - 2.75)))),
    ("cbrt", "cbrt-below-0", "cbrt(x/2 - 0.875)", lambda x: -mpmath.cbrt(0.875 - x / 2)),
]

BALL_BUGS: dict = {}  # case → why the ball series is wrong there (none known)


def _params(bugs: dict):
    """CASES as pytest params named by case, those in `bugs` marked xfail(strict) with the reason."""
    return [pytest.param(text, oracle, id=case, marks=[pytest.mark.xfail(strict=True, reason=bugs[case])] if case in bugs else [])
            for _, case, text, oracle in CASES]


@pytest.mark.parametrize("text, oracle", _params({}))
def test_taylor_mode_matches_mpmath(text, oracle):
    rel = POLYGAMMA_REL if "gamma" in text else TAYLOR_REL
    assert_close(taylor_mode(text, {"x": X0}).tolist(), mpmath_taylor(oracle), rel, 1e-15)


@pytest.mark.parametrize("text, oracle", _params(BALL_BUGS))
def test_ball_series_matches_mpmath(text, oracle):
    assert_balls_close(balls(text, {"x": X0}), mpmath_taylor(oracle))


def aliases() -> set[str]:
    """Names whose SymPy node is an earlier name's (arcsin is asin's, ln is log's)."""
    seen, found = set(), set()
    for spec in FUNCTIONS:
        node = spec.symbolic(sympy)
        if node in seen:
            found.add(spec.name)
        seen.add(node)
    return found


def test_every_function_has_a_case_above():
    assert aliases() >= {"arcsin", "arctanh", "ln", "sgn"}
    wanted = {spec.name for spec in FUNCTIONS} - aliases() - SPELLED_WITH_OTHERS
    assert {case[0] for case in CASES} == wanted


SAMPLE_ARGUMENTS = {"atan2": "x, 2", "root": "x, 3", "hypot": "x, 2", "min": "x, 2", "max": "x, 2",
                    "where": "x > 0, x, 1", "clamp": "x, 0, 1", "pow": "x, 2"}


@pytest.mark.parametrize("program, names", [(SeriesProgram, rule_names), (BallSeriesProgram, ball_series.rule_names)],
                         ids=["taylor-mode", "ball-series"])
def test_every_function_has_a_rule(program, names):
    missing = {spec.name for spec in FUNCTIONS} - names() - SPELLED_WITH_OTHERS - aliases()
    assert not missing
    for spec in FUNCTIONS:  # and each compiles, aliases and the functions spelled with others too
        text = f"{spec.name}({SAMPLE_ARGUMENTS.get(spec.name, 'x')})"
        try:
            program([parse_expression(text, DEFAULT_LIMITS)])
        except UnsupportedError as error:
            pytest.fail(f"{text}: {error.message}")


# --- several variables, against SymPy's exact derivatives ---------------------

x, y, z = sympy.symbols("x y z")
POINT = {x: sympy.Rational(1, 2), y: sympy.Rational(-1, 4), z: sympy.Rational(3, 4)}
MULTIVARIATE = [
    ("exp(x)*sin(y) + x^3*y^2", sympy.exp(x) * sympy.sin(y) + x**3 * y**2, (x, y), 5),
    ("(x + y^2)/(2 + x*y)", (x + y**2) / (2 + x * y), (x, y), 5),
    ("exp(x)*sin(y) + x^3*y^2*z", sympy.exp(x) * sympy.sin(y) + x**3 * y**2 * z, (x, y, z), 3),
    ("(x + y*z)/(3 + x*y - z^2)", (x + y * z) / (3 + x * y - z**2), (x, y, z), 3),
]


def sympy_coefficients(expr, variables, order) -> list[float]:
    """∂^α f(POINT)/α! by SymPy, exactly, then rounded (multi_indices order)."""
    exact = []
    for alpha in multi_indices(len(variables), order):
        derivative = sympy.diff(expr, *[(v, a) for v, a in zip(variables, alpha) if a]) if any(alpha) else expr
        value = derivative.subs(POINT) / math.prod(math.factorial(a) for a in alpha)
        exact.append(float(sympy.N(value, 30)))
    return exact


@pytest.mark.parametrize("text, expr, variables, order", MULTIVARIATE, ids=[case[0] for case in MULTIVARIATE])
def test_several_variables_match_sympy(text, expr, variables, order):
    want = sympy_coefficients(expr, variables, order)
    point = {str(v): float(POINT[v]) for v in variables}
    assert_close(taylor_mode(text, point, order=order).tolist(), want, TAYLOR_REL, 1e-15)
    assert_balls_close(balls(text, point, order=order), want)


def test_the_other_variables_are_held_at_their_values():
    # exp(x)*sin(y) + x^3*y^2 in x alone, y = -1/4 held.
    want = sympy_coefficients(MULTIVARIATE[0][1].subs(y, POINT[y]), (x,), 6)
    point = {"x": 0.5, "y": -0.25}
    assert_close(taylor_mode(MULTIVARIATE[0][0], point, ["x"], 6).tolist(), want, TAYLOR_REL, 1e-15)
    assert_balls_close(balls(MULTIVARIATE[0][0], point, ["x"], 6), want)


# --- vectors and grids: each element as its own scalar run --------------------


def test_a_vector_point_is_its_elements_one_by_one():
    text = "sinc(x) + cbrt(x)*abs(x - 0.75) + where(x > 0, x^2, exp(x))"
    values = [-1.5, -0.25, 0.0, 0.75, 2.0]
    vector = taylor_mode(text, {"x": torch.tensor(values)}, order=6)
    assert vector.shape == (5, 7)
    for i, value in enumerate(values):
        torch.testing.assert_close(vector[i], taylor_mode(text, {"x": value}, order=6), rtol=0, atol=0, equal_nan=True)
    # x = 0 (cbrt, where) and x = 0.75 (abs) have no coefficients above the value; the others do, unharmed.
    assert vector[[0, 1, 4]].isfinite().all() and vector[[2, 3], 1:].isnan().all()


def test_a_grid_point_is_its_elements_one_by_one():
    text = "exp(x)*sin(y) + x/(1 + y^2) + max(x, y) + atan2(y, x)"
    xs, ys = [-0.5, 0.25, 1.0], [-1.0, 0.25, 0.5, 2.0]
    grid = taylor_mode(text, {"x": torch.tensor(xs).reshape(3, 1), "y": torch.tensor(ys)}, order=4)
    assert grid.shape == (3, 4, len(multi_indices(2, 4)))
    for i, j in [(i, j) for i in range(3) for j in range(4)]:
        scalar = taylor_mode(text, {"x": xs[i], "y": ys[j]}, order=4)
        torch.testing.assert_close(grid[i, j], scalar, rtol=0, atol=0, equal_nan=True)
        assert scalar[1:].isnan().all() if xs[i] == ys[j] else scalar.isfinite().all()  # max's kink at x = y


# --- where a coefficient does not exist ----------------------------------------

UNDEFINED = ["abs(x)", "where(x > 0, x^2, x)", "max(x, 0)", "sqrt(x)", "cbrt(x)"]
UNDEFINED_BALL_BUGS: dict = {}


@pytest.mark.parametrize("text", UNDEFINED)
def test_taylor_mode_has_no_coefficient_where_none_exists(text):
    c = taylor_mode(text, {"x": 0.0}, order=5)
    assert c[0] == 0 and c[1:].isnan().all()


@pytest.mark.parametrize("text", [pytest.param(text, marks=[pytest.mark.xfail(strict=True, reason=UNDEFINED_BALL_BUGS[text])]
                                               if text in UNDEFINED_BALL_BUGS else []) for text in UNDEFINED])
def test_the_ball_series_has_no_coefficient_where_none_exists(text):
    row = balls(text, {"x": 0.0}, order=5)
    assert row[0].tight and row[0].to_float() == 0
    assert all(ball.undefined for ball in row[1:])


def test_a_boundary_where_both_branches_agree_is_smooth():
    assert taylor_mode("where(x >= 0, x, x)", {"x": 0.0}, order=5).tolist() == [0, 1, 0, 0, 0, 0]
    row = balls("where(x >= 0, x, x)", {"x": 0.0}, order=5)
    assert all(ball.tight for ball in row) and [ball.to_float() for ball in row] == [0, 1, 0, 0, 0, 0]


def test_a_removable_singularity_is_nan_as_written_and_the_limit_in_balls():
    assert taylor_mode("sin(x)/x", {"x": 0.0}, order=5).isnan().all()
    assert_balls_close(balls("sin(x)/x", {"x": 0.0}, order=5), [1, 0, -1 / 6, 0, 1 / 120, 0])


@pytest.mark.parametrize("text", ["hypot(x, 1e200)", "asinh(x)"])
def test_far_from_zero_taylor_mode_matches_the_balls(text):
    # Squaring the argument would overflow (x^2 = inf, then nan): the rules scale it first.
    want = [ball.to_float() for ball in balls(text, {"x": 1e200}, order=4)]
    got = taylor_mode(text, {"x": 1e200}, order=4).tolist()
    assert all(math.isclose(g, w, rel_tol=TAYLOR_REL, abs_tol=1e-300) for g, w in zip(got, want)), got


# --- high orders --------------------------------------------------------------


def exact_integers(row) -> list[int]:
    """The balls' values, each of which must be an exact integer."""
    assert all(ball.value.is_exact() and ball.value.is_integer() for ball in row)
    return [int(ball.value.unique_fmpz()) for ball in row]


def test_the_geometric_series_is_exactly_one_to_order_20():
    assert taylor_mode("1/(1-x)", {"x": 0.0}, order=20).tolist() == [1.0] * 21
    assert exact_integers(balls("1/(1-x)", {"x": 0.0}, order=20)) == [1] * 21


def test_fibonacci_to_order_40_exactly():
    fibonacci = [0, 1]
    while len(fibonacci) < 41:
        fibonacci.append(fibonacci[-1] + fibonacci[-2])
    assert fibonacci[40] == 102334155
    assert taylor_mode("x/(1-x-x^2)", {"x": 0.0}, order=40).tolist() == fibonacci
    assert exact_integers(balls("x/(1-x-x^2)", {"x": 0.0}, order=40)) == fibonacci


def test_the_30th_derivative_of_exp_sin_matches_mpmath():
    with mpmath.workdps(40):
        want = float(mpmath.diff(lambda t: mpmath.exp(mpmath.sin(t)), mpmath.mpf(0.5), 30))
    got = taylor_mode("exp(sin(x))", {"x": 0.5}, order=30)[30].item() * math.factorial(30)
    assert math.isclose(got, want, rel_tol=1e-13)
    ball = balls("exp(sin(x))", {"x": 0.5}, order=30)[30]
    assert ball.tight and math.isclose(ball.to_float() * math.factorial(30), want, rel_tol=BALL_REL)


def test_five_functions_deep_at_order_100_both_engines_agree():
    text = "exp(sin(atan(log(2 + tanh(x)))))"
    got = taylor_mode(text, {"x": 0.25}, order=100).tolist()
    row = balls(text, {"x": 0.25}, order=100)
    assert all(ball.tight for ball in row)
    judged = [(g, ball.to_float()) for g, ball in zip(got, row) if not ball.near_zero]
    assert len(judged) > 90
    for k, (g, w) in enumerate(judged):
        assert math.isclose(g, w, rel_tol=1e-10), f"coefficient {k}: {g!r}, expected {w!r}"


# --- the counted limit ----------------------------------------------------------


def test_pair_count_counts_the_pairs_of_a_product():
    for count, order in [(1, 0), (1, 7), (2, 5), (3, 3), (4, 2)]:
        alphas = multi_indices(count, order)
        pairs = sum(1 for a in alphas for b in alphas if sum(a) + sum(b) <= order)
        assert pair_count(count, order) == pairs


def test_series_work_refuses_past_its_limit():
    work = 7 * 4 * pair_count(2, 10) * 3  # 7 instructions, 2 variables to degree 10, 3 points
    limits = dataclasses.replace(DEFAULT_LIMITS, max_series_work=work)
    check_series_work(7, 2, 10, 3, limits)  # exactly at the limit: allowed
    with pytest.raises(LimitError, match="series-work") as refused:
        check_series_work(7, 2, 11, 3, limits)
    assert f"--limit series-work={7 * 4 * pair_count(2, 11) * 3}" in refused.value.message


def test_the_taylor_command_refuses_before_any_work():
    with pytest.raises(LimitError, match="series-work"):
        taylor("exp(sin(x))", {"x": 0.5}, order=100, limits={"series-work": 1000})
