"""Oracle tests for the matrix commands (hessian, jacobian) and partial.

As in test_oracle.py, every expected number is computed here, independently
of the product: the function is written again with SymPy primitives (never
the product's parser), differentiated with sympy.hessian / Matrix.jacobian /
sympy.diff, and evaluated at 30 digits at the exact binary value of the
float64 point. Functions the product implements with classes of its own are
written with plain SymPy: sigmoid(u) = 1/(1 + exp(-u)), softplus(u) =
log(1 + exp(u)), hypot(a, b) = sqrt(a^2 + b^2), log(u, b) = log(u)/log(b).
`detach(e)` is written as the constant value of e at the point, and
`where(c, a, b)` as a SymPy Piecewise.

Also here: definiteness and critical points, vector points, the CLI's JSON
for the three commands of the issue, --expect for matrices, and a
60-variable Rosenbrock Hessian (design §8's size).
"""

from __future__ import annotations

import math

import pytest
import sympy
import torch
from helpers import invoke, invoke_json, strict_loads, wrong_symbolic

from autodiff.commands import api
from autodiff.errors import PointError
from autodiff.points import is_vector
from autodiff.results import DerivativeResult, HessianResult

NAMES = ["x", "y", "z", "w", "u", "v", "r", "t", "p", "a", "b", "c", "d"]
SYMBOLS = {name: sympy.Symbol(name, real=True) for name in NAMES}
x, y, z, w, u, v, r, t, p, a, b, c, d = (SYMBOLS[name] for name in NAMES)

# Against the exact (30-digit) derivative: autograd and symbolic_value in float64.
EXACT = {"rel": 1e-9, "abs": 1e-10}
# Richardson finite differences: the product's own tolerance for order n is 10^(n-7).
NUMERIC = {order: {"rel": 10.0 ** (order - 7), "abs": 10.0 ** (order - 7)} for order in (1, 2, 3, 4)}

sigmoid = lambda e: 1 / (1 + sympy.exp(-e))
softplus = lambda e: sympy.log(1 + sympy.exp(e))
hypot = lambda e, f: sympy.sqrt(e**2 + f**2)


# --------------------------------------------------------------------------
# the independent oracle


def _exact(value) -> sympy.Rational:
    """The exact binary value of a float64, so the oracle sees what torch sees."""
    return sympy.Rational(float(value))


def evaluate(expr, at: dict) -> float:
    """`expr` (a SymPy expression) at the scalar point `at`, at 30 digits."""
    subs = {SYMBOLS[name]: _exact(value) for name, value in at.items() if name in SYMBOLS}
    value = sympy.sympify(expr).subs(subs).evalf(30)
    real, imag = value.as_real_imag()
    assert abs(complex(imag)) < 1e-25, f"oracle value not real: {value}"
    result = float(real)
    assert math.isfinite(result), f"oracle value not finite: {value}"
    return result


def evaluate_matrix(matrix: sympy.Matrix, at: dict) -> list[list[float]]:
    return [[evaluate(matrix[i, j], at) for j in range(matrix.cols)] for i in range(matrix.rows)]


def elements(at: dict) -> list[dict]:
    """A vector point as its scalar points (scalars broadcast)."""
    size = max(len(value) for value in at.values() if isinstance(value, list))
    return [{k: (val[i] if isinstance(val, list) else val) for k, val in at.items()} for i in range(size)]


def oracle_hessian(expr, names, at) -> list[list[float]]:
    return evaluate_matrix(sympy.hessian(expr, [SYMBOLS[n] for n in names]), at)


def oracle_jacobian(exprs, names, at) -> list[list[float]]:
    return evaluate_matrix(sympy.Matrix(exprs).jacobian([SYMBOLS[n] for n in names]), at)


def oracle_partial(expr, sequence, at) -> float:
    return evaluate(sympy.diff(expr, *[SYMBOLS[n] for n in sequence]), at)


def assert_matrix(result, expected, order: int):
    """Every entry's autograd, symbolic_value and numeric against the oracle."""
    assert len(result.entries) == len(expected)
    for i, (row, wanted_row) in enumerate(zip(result.entries, expected)):
        assert len(row) == len(wanted_row)
        for j, (entry, wanted) in enumerate(zip(row, wanted_row)):
            where = f"entry [{i}][{j}] ({''.join(entry.wrt)})"
            assert entry.autograd == pytest.approx(wanted, **EXACT), f"autograd {where}"
            assert entry.symbolic_value == pytest.approx(wanted, **EXACT), f"symbolic_value {where}"
            assert entry.numeric == pytest.approx(wanted, **NUMERIC[order]), f"numeric {where}"
            assert entry.agree is True, where
            assert entry.numeric_agree is True, where


def assert_clean(result):
    assert result.agree is True, result.to_json()
    assert result.exit_code == 0
    assert result.checked_by == "exact"
    assert result.warnings == [], result.warnings


# --------------------------------------------------------------------------
# 1. Hessian oracle: (id, text, SymPy expression, point, wrt or None)

HESSIAN_CASES = [
    # polynomials
    ("poly-issue", "x^2*y + y^3", x**2 * y + y**3, {"x": 1, "y": 2}, None),
    ("poly-cubic", "x^3 - 3*x*y^2 + 2*x*y", x**3 - 3 * x * y**2 + 2 * x * y, {"x": 0.7, "y": -1.2}, None),
    ("poly-quartic", "x^4 + x^2*y^2 + y^4 - 3*x*y", x**4 + x**2 * y**2 + y**4 - 3 * x * y, {"x": 0.5, "y": 1.5}, None),
    ("poly-implicit", "2x y^2 + (x+1)(y-1)", 2 * x * y**2 + (x + 1) * (y - 1), {"x": -0.4, "y": 0.9}, None),
    ("poly-constants", "pi*x*y + e^(x*y)", sympy.pi * x * y + sympy.exp(x * y), {"x": 0.3, "y": -0.8}, None),
    # exp / log
    ("exp-prod", "exp(x*y)", sympy.exp(x * y), {"x": 0.3, "y": 0.8}, None),
    ("exp-sum", "exp(x) * y^2 + exp(-y)", sympy.exp(x) * y**2 + sympy.exp(-y), {"x": -0.6, "y": 1.1}, None),
    ("log-radial", "log(x^2 + y^2 + 1)", sympy.log(x**2 + y**2 + 1), {"x": 0.7, "y": -0.2}, None),
    ("log-prod", "log(x*y)", sympy.log(x * y), {"x": 1.3, "y": 2.1}, None),
    ("log-base2", "log(x, 2) * y", sympy.log(x) / sympy.log(2) * y, {"x": 0.7, "y": 1.9}, None),
    ("log-base2-prod", "log(x*y, 2)", sympy.log(x * y) / sympy.log(2), {"x": 1.3, "y": 0.4}, None),
    ("sqrt", "sqrt(x^2 + y^2 + 1)", sympy.sqrt(x**2 + y**2 + 1), {"x": 0.7, "y": -1.4}, None),
    # trigonometric and hyperbolic
    ("sin-cos", "sin(x)*cos(y)", sympy.sin(x) * sympy.cos(y), {"x": 0.7, "y": 0.4}, None),
    ("sin-prod", "sin(x*y) + cos(x + y)", sympy.sin(x * y) + sympy.cos(x + y), {"x": 0.7, "y": -1.2}, None),
    ("tanh-lin", "tanh(x - 2*y)", sympy.tanh(x - 2 * y), {"x": 0.7, "y": 0.1}, None),
    ("tanh-prod", "x * tanh(y)", x * sympy.tanh(y), {"x": 1.7, "y": -0.3}, None),
    ("erf", "erf(x*y)", sympy.erf(x * y), {"x": 0.6, "y": 0.9}, None),
    # ML functions
    ("sigmoid-prod", "sigmoid(x*y)", sigmoid(x * y), {"x": 0.7, "y": -1.3}, None),
    ("sigmoid-lin", "sigmoid(2*x - y + 0.5)", sigmoid(2 * x - y + sympy.Rational(1, 2)), {"x": 0.2, "y": 1.1}, None),
    ("softplus", "softplus(x + y^2)", softplus(x + y**2), {"x": -0.5, "y": 0.8}, None),
    ("softplus-neg", "softplus(x*y)", softplus(x * y), {"x": -1.5, "y": 2.0}, None),
    # two-argument functions
    ("atan2-q1", "atan2(y, x)", sympy.atan2(y, x), {"x": 0.7, "y": 1.3}, None),
    ("atan2-q3", "atan2(y, x)", sympy.atan2(y, x), {"x": -1.3, "y": -0.7}, None),
    ("hypot", "hypot(x, y)", hypot(x, y), {"x": 0.7, "y": -1.3}, None),
    ("hypot-scaled", "hypot(x, 2*y) * x", hypot(x, 2 * y) * x, {"x": 1.2, "y": 0.5}, None),
    # kinks, away from ties
    ("min", "min(x, y) * x*y", sympy.Min(x, y) * x * y, {"x": 0.7, "y": 1.3}, None),
    ("max", "max(x, y)^2 + x*y", sympy.Max(x, y) ** 2 + x * y, {"x": 0.7, "y": 1.3}, None),
    ("min-other-side", "min(x, y) * x*y", sympy.Min(x, y) * x * y, {"x": 1.6, "y": 1.3}, None),
    ("max-nary", "max(x*y, y^2, 0.1)", sympy.Max(x * y, y**2, sympy.Rational(1, 10)), {"x": 2.0, "y": 1.1}, None),
    # where, on both sides
    ("where-true", "where(x > 0, x^2*y, y^3)", sympy.Piecewise((x**2 * y, x > 0), (y**3, True)),
     {"x": 0.7, "y": 1.3}, None),
    ("where-false", "where(x > 0, x^2*y, y^3)", sympy.Piecewise((x**2 * y, x > 0), (y**3, True)),
     {"x": -0.7, "y": 1.3}, None),
    # detach: a constant (its value at the point) for autograd and symbolic alike
    ("detach", "detach(x)*y", sympy.Rational(3, 2) * y, {"x": 1.5, "y": 2.0}, None),
    ("detach-mixed", "detach(x)*y + x^2*y", sympy.Rational(3, 2) * y + x**2 * y, {"x": 1.5, "y": 2.0}, None),
    ("detach-square", "detach(x^2) * y^2 + x*y", sympy.Rational(9, 4) * y**2 + x * y, {"x": 1.5, "y": -0.5}, None),
    # powers with a variable exponent, at positive base
    ("pow-var", "x^y", x**y, {"x": 1.7, "y": 0.6}, None),
    ("pow-both", "x^y + y^x", x**y + y**x, {"x": 1.7, "y": 0.6}, None),
    # three and four variables
    ("3var-poly", "x*y*z + x^2*z - y*z^2", x * y * z + x**2 * z - y * z**2, {"x": 0.7, "y": -1.1, "z": 0.4}, None),
    ("3var-trans", "exp(x)*sin(y)*log(z)", sympy.exp(x) * sympy.sin(y) * sympy.log(z),
     {"x": 0.3, "y": 0.9, "z": 2.5}, None),
    ("3var-rational", "x*y / (1 + z^2)", x * y / (1 + z**2), {"x": 0.7, "y": -1.1, "z": 0.4}, None),
    ("4var", "x*y + z*w + x^2*w^2 + sin(x*z)", x * y + z * w + x**2 * w**2 + sympy.sin(x * z),
     {"w": -0.8, "x": 0.7, "y": 1.2, "z": 0.4}, None),
    ("4var-abcd", "a*b*c*d + exp(a - b) * c^2 + log(d)", a * b * c * d + sympy.exp(a - b) * c**2 + sympy.log(d),
     {"a": 0.5, "b": -0.3, "c": 1.2, "d": 2.2}, None),
    # --wrt: columns in the order given
    ("wrt-yx", "x^3*y + x*y^2", x**3 * y + x * y**2, {"x": 0.7, "y": -1.3}, ["y", "x"]),
    ("wrt-zxy", "x*y*z^2 + x^2*y", x * y * z**2 + x**2 * y, {"x": 0.7, "y": -1.3, "z": 0.5}, ["z", "x", "y"]),
    ("wrt-subset", "x*y*z + x^2 + sin(z)", x * y * z + x**2 + sympy.sin(z), {"x": 0.7, "y": -1.3, "z": 0.5}, ["z", "x"]),
    # a variable of the point that the expression does not use: a row and column of zeros
    ("unused-variable", "x^3", x**3, {"x": 0.7, "y": 2.0}, None),
]
assert len({case[0] for case in HESSIAN_CASES}) == len(HESSIAN_CASES)


@pytest.mark.parametrize("case_id, text, expr, at, wrt", HESSIAN_CASES, ids=[case[0] for case in HESSIAN_CASES])
def test_hessian_matches_oracle(case_id, text, expr, at, wrt):
    names = list(wrt) if wrt else sorted(at)
    result = api.hessian(text, at=at, wrt=wrt)
    assert_clean(result)
    assert isinstance(result, HessianResult)
    assert result.columns == names and result.rows == names
    assert result.value == pytest.approx(evaluate(expr, at), **EXACT)
    expected = oracle_hessian(expr, names, at)
    assert_matrix(result, expected, order=2)
    for i, row in enumerate(result.entries):
        for j, entry in enumerate(row):
            assert entry.wrt == [names[i], names[j]]
    assert result.symmetric is True
    # the gradient beside the Hessian is autograd's first partials, by column
    gradient = [evaluate(sympy.diff(expr, SYMBOLS[n]), at) for n in names]
    assert result.gradient == pytest.approx(gradient, **EXACT)
    # eigenvalues of the autograd Hessian against those of the oracle's
    eigenvalues = torch.linalg.eigvalsh(torch.tensor(expected, dtype=torch.float64)).tolist()
    scale = max(1.0, max(abs(e) for e in eigenvalues))
    assert result.eigenvalues == pytest.approx(eigenvalues, rel=1e-8, abs=1e-9 * scale)


def test_hessian_detach_mixed_entry_is_zero_on_both_sides():
    result = api.hessian("detach(x)*y", at={"x": 1.5, "y": 2.0})
    xy = result.entries[0][1]
    assert (xy.autograd, xy.symbolic_value) == (0.0, 0.0)
    assert xy.symbolic == "0"
    assert result.gradient == [0.0, 1.5]  # ∂/∂y is detach(x) = 1.5, ∂/∂x is 0
    assert result.agree is True


def test_hessian_wrt_column_order_is_a_permutation_of_the_default():
    at = {"x": 0.7, "y": -1.3}
    default = api.hessian("x^3*y + x*y^2", at=at)
    swapped = api.hessian("x^3*y + x*y^2", at=at, wrt=["y", "x"])
    assert default.columns == ["x", "y"] and swapped.columns == ["y", "x"]
    plain, turned = default.matrix("autograd"), swapped.matrix("autograd")
    assert turned == [[plain[1][1], plain[1][0]], [plain[0][1], plain[0][0]]]
    assert swapped.to_json()["hessian"]["variables"] == ["y", "x"]


# --------------------------------------------------------------------------
# 2. definiteness and critical points

DEFINITENESS = [
    # (text, SymPy expression, point, definiteness, critical point)
    ("x^2*y + y^3", x**2 * y + y**3, {"x": 1, "y": 2}, "positive definite", None),
    ("x^2+y^2", x**2 + y**2, {"x": 0, "y": 0}, "positive definite", "local minimum"),
    ("-(x^2+y^2)", -(x**2 + y**2), {"x": 0, "y": 0}, "negative definite", "local maximum"),
    ("x^2-y^2", x**2 - y**2, {"x": 0, "y": 0}, "indefinite", "saddle point"),
    ("x*y", x * y, {"x": 0, "y": 0}, "indefinite", "saddle point"),
    ("x^3-3*x*y^2", x**3 - 3 * x * y**2, {"x": 0, "y": 0}, "zero", "inconclusive"),  # monkey saddle
    ("x^2", x**2, {"x": 0, "y": 0}, "positive semidefinite", "inconclusive"),  # y only in the point
    ("-x^2", -(x**2), {"x": 0, "y": 0}, "negative semidefinite", "inconclusive"),
    ("x^2 - y^2", x**2 - y**2, {"x": 1, "y": 1}, "indefinite", None),  # not a critical point
    ("(x-1)^2 + (y+2)^2 + x*y/4", (x - 1) ** 2 + (y + 2) ** 2 + x * y / 4,
     {"x": 0.3, "y": 0.2}, "positive definite", None),
]


@pytest.mark.parametrize("text, expr, at, kind, critical", DEFINITENESS, ids=[case[0] for case in DEFINITENESS])
def test_definiteness_and_critical_point(text, expr, at, kind, critical):
    result = api.hessian(text, at=at)
    assert result.agree is True and result.exit_code == 0
    assert result.definiteness == kind
    assert result.critical_point == critical
    assert result.symmetric is True
    names = sorted(at)
    expected = oracle_hessian(expr, names, at)
    for row, wanted in zip(result.matrix("autograd"), expected):
        assert row == pytest.approx(wanted, **EXACT)
    eigenvalues = torch.linalg.eigvalsh(torch.tensor(expected, dtype=torch.float64)).tolist()
    assert result.eigenvalues == pytest.approx(eigenvalues, rel=1e-9, abs=1e-10)
    report = result.to_json()["hessian"]
    assert report["definiteness"] == kind and report["critical_point"] == critical


def test_issue_hessian_eigenvalues():
    result = api.hessian("x^2*y + y^3", at={"x": 1, "y": 2})
    # [[4, 2], [2, 12]] has eigenvalues 8 ∓ sqrt(20)
    assert result.eigenvalues == pytest.approx([8 - math.sqrt(20), 8 + math.sqrt(20)], rel=1e-12)
    assert result.eigenvalues == pytest.approx([3.5279, 12.4721], abs=1e-4)
    assert result.definiteness == "positive definite"
    assert result.critical_point is None  # the gradient (4, 13) is not zero
    assert result.gradient == [4.0, 13.0]


# --------------------------------------------------------------------------
# 3. vector points


def assert_every_entry_per_point(result, per_point, order):
    """Each entry's autograd, symbolic and numeric columns are lists over the
    points, equal to the oracle matrix at each point."""
    for i, row in enumerate(result.entries):
        for j, entry in enumerate(row):
            for column in ("autograd", "symbolic_value", "numeric"):
                got = getattr(entry, column)
                assert is_vector(got) and len(got) == len(per_point), (column, got)
                tolerance = NUMERIC[order] if column == "numeric" else EXACT
                assert got == pytest.approx([m[i][j] for m in per_point], **tolerance), (column, i, j)


def test_hessian_vector_point_every_number_is_a_vector():
    at = {"x": [1, 0], "y": [2, 0]}
    expr = x**2 * y + y**3
    result = api.hessian("x^2*y + y^3", at=at)
    assert result.agree is True and result.exit_code == 0
    per_point = [oracle_hessian(expr, ["x", "y"], e) for e in elements(at)]
    assert_every_entry_per_point(result, per_point, order=2)
    assert result.value == pytest.approx([10.0, 0.0], **EXACT)
    assert result.definiteness == ["positive definite", "zero"]
    assert result.critical_point == [None, "inconclusive"]
    assert len(result.eigenvalues) == 2
    for k in range(2):
        assert is_vector(result.eigenvalues[k]) and len(result.eigenvalues[k]) == 2
    for point, matrix in enumerate(per_point):
        wanted = torch.linalg.eigvalsh(torch.tensor(matrix, dtype=torch.float64)).tolist()
        assert [result.eigenvalues[k][point] for k in range(2)] == pytest.approx(wanted, **EXACT)
    report = result.to_json()["hessian"]
    assert report["autograd"] == [[[4.0, 0.0], [2.0, 0.0]], [[2.0, 0.0], [12.0, 0.0]]]
    assert report["definiteness"] == ["positive definite", "zero"]


def test_hessian_vector_point_with_scalar_broadcast_and_three_points():
    at = {"x": [0.5, -1.0, 2.0], "y": 0.7}
    expr = sympy.sin(x * y) + x**3 * y
    result = api.hessian("sin(x*y) + x^3*y", at=at)
    assert result.agree is True
    per_point = [oracle_hessian(expr, ["x", "y"], e) for e in elements(at)]
    for i in range(2):
        for j in range(2):
            assert result.entries[i][j].autograd == pytest.approx([m[i][j] for m in per_point], **EXACT)
            assert result.entries[i][j].symbolic_value == pytest.approx([m[i][j] for m in per_point], **EXACT)
    assert isinstance(result.definiteness, list) and len(result.definiteness) == 3
    assert all(isinstance(k, str) for k in result.definiteness)
    assert result.critical_point == [None, None, None]


# --------------------------------------------------------------------------
# 4. Jacobian oracle: (id, text, [SymPy expressions], point, wrt or None)

JACOBIAN_CASES = [
    ("issue", "[x*y, x+y, sin(x)]", [x * y, x + y, sympy.sin(x)], {"x": 0, "y": 2}, None),
    ("poly", "[x^2*y, 5*x + sin(y)]", [x**2 * y, 5 * x + sympy.sin(y)], {"x": 1.3, "y": 0.4}, None),
    ("polar", "[r*cos(t), r*sin(t)]", [r * sympy.cos(t), r * sympy.sin(t)], {"r": 2.0, "t": 0.6}, None),
    ("spherical", "[r*sin(p)*cos(t), r*sin(p)*sin(t), r*cos(p)]",
     [r * sympy.sin(p) * sympy.cos(t), r * sympy.sin(p) * sympy.sin(t), r * sympy.cos(p)],
     {"p": 0.9, "r": 1.5, "t": -0.4}, None),
    ("exp-complex", "[exp(x)*cos(y), exp(x)*sin(y)]", [sympy.exp(x) * sympy.cos(y), sympy.exp(x) * sympy.sin(y)],
     {"x": 0.3, "y": 1.1}, None),
    ("log-ratio", "[log(x*y), x/y]", [sympy.log(x * y), x / y], {"x": 1.3, "y": 0.7}, None),
    ("where-true", "[where(x > y, x^2, y^2), x*y]",
     [sympy.Piecewise((x**2, x > y), (y**2, True)), x * y], {"x": 1.3, "y": 0.7}, None),
    ("where-false", "[where(x > y, x^2, y^2), x*y]",
     [sympy.Piecewise((x**2, x > y), (y**2, True)), x * y], {"x": 0.3, "y": 0.7}, None),
    ("detach", "[detach(x)*y, x*detach(y)]", [sympy.Rational(3, 2) * y, sympy.Rational(-1, 4) * x],
     {"x": 1.5, "y": -0.25}, None),
    ("detach-mixed", "[detach(x^2)*x + y, sin(detach(y))*x]",
     [sympy.Rational(9, 4) * x + y, sympy.sin(sympy.Rational(1, 2)) * x], {"x": 1.5, "y": 0.5}, None),
    ("atan2-hypot", "[atan2(y, x), hypot(x, y)]", [sympy.atan2(y, x), hypot(x, y)], {"x": -0.7, "y": 1.3}, None),
    ("min-max", "[min(x, y), max(x, y)]", [sympy.Min(x, y), sympy.Max(x, y)], {"x": 0.7, "y": 1.3}, None),
    ("min-max-mixed", "[min(x^2, y), max(x*y, 1)]", [sympy.Min(x**2, y), sympy.Max(x * y, 1)],
     {"x": 0.7, "y": 2.3}, None),
    ("log10", "[log(x, 10), log(y, 10)*x]", [sympy.log(x) / sympy.log(10), sympy.log(y) / sympy.log(10) * x],
     {"x": 0.7, "y": 3.1}, None),
    ("one-component", "[x^2*y]", [x**2 * y], {"x": 0.7, "y": -1.2}, None),
    ("no-brackets", "x^2*y + sin(y)", [x**2 * y + sympy.sin(y)], {"x": 0.7, "y": -1.2}, None),
    ("constant-row", "[x*y, 3, pi]", [x * y, sympy.Integer(3), sympy.pi], {"x": 0.7, "y": -1.2}, None),
    ("wrt-yx", "[x*y^2, x + 2*y, sin(x)]", [x * y**2, x + 2 * y, sympy.sin(x)], {"x": 0.7, "y": -1.2}, ["y", "x"]),
    ("wrt-subset", "[x*y*z, x + z]", [x * y * z, x + z], {"x": 0.7, "y": -1.2, "z": 0.3}, ["z", "x"]),
    ("ml", "[sigmoid(x+y), softplus(x-y), tanh(x*y)]", [sigmoid(x + y), softplus(x - y), sympy.tanh(x * y)],
     {"x": 0.4, "y": -0.9}, None),
    ("3x4", "[w*x + y*z, exp(w - z), x^2*y*w]", [w * x + y * z, sympy.exp(w - z), x**2 * y * w],
     {"w": 0.5, "x": -0.7, "y": 1.1, "z": 0.2}, None),
    ("pow", "[x^y, y^x]", [x**y, y**x], {"x": 1.7, "y": 0.6}, None),
    ("norm-3", "[sqrt(x^2+y^2+z^2), x/z, y*z]", [sympy.sqrt(x**2 + y**2 + z**2), x / z, y * z],
     {"x": 0.7, "y": -1.2, "z": 2.0}, None),
    ("rotation", "[cos(t)*x - sin(t)*y, sin(t)*x + cos(t)*y]",
     [sympy.cos(t) * x - sympy.sin(t) * y, sympy.sin(t) * x + sympy.cos(t) * y], {"t": 0.6, "x": 1.1, "y": -0.4}, None),
    ("gaussian", "[exp(-x^2 - y^2)]", [sympy.exp(-(x**2) - y**2)], {"x": 0.3, "y": -0.5}, None),
    ("lorenz", "[10*(y - x), x*(28 - z) - y, x*y - 8/3*z]",
     [10 * (y - x), x * (28 - z) - y, x * y - sympy.Rational(8, 3) * z], {"x": 1.0, "y": 2.0, "z": 3.0}, None),
]
assert len({case[0] for case in JACOBIAN_CASES}) == len(JACOBIAN_CASES)


@pytest.mark.parametrize("case_id, text, exprs, at, wrt", JACOBIAN_CASES, ids=[case[0] for case in JACOBIAN_CASES])
def test_jacobian_matches_oracle(case_id, text, exprs, at, wrt):
    names = list(wrt) if wrt else sorted(at)
    result = api.jacobian(text, at=at, wrt=wrt)
    assert_clean(result)
    assert result.columns == names
    assert len(result.rows) == len(exprs)
    assert result.value == pytest.approx([evaluate(e, at) for e in exprs], **EXACT)
    expected = oracle_jacobian(exprs, names, at)
    assert_matrix(result, expected, order=1)
    for row in result.entries:
        for entry, name in zip(row, names):
            assert entry.wrt == [name]


def test_jacobian_issue_case_exactly():
    result = api.jacobian("[x*y, x+y, sin(x)]", at={"x": 0, "y": 2})
    assert result.matrix("autograd") == [[2.0, 0.0], [1.0, 1.0], [1.0, 0.0]]
    assert result.matrix("symbolic_value") == [[2.0, 0.0], [1.0, 1.0], [1.0, 0.0]]
    assert result.value == [0.0, 2.0, 0.0]
    assert result.agree is True and result.exit_code == 0


def test_jacobian_constant_component_is_a_row_of_zeros():
    result = api.jacobian("[x*y, 3]", at={"x": 0.7, "y": -1.2})
    assert result.matrix("autograd")[1] == [0.0, 0.0]
    assert result.matrix("symbolic_value")[1] == [0.0, 0.0]
    assert result.value[1] == 3.0


def test_jacobian_scalar_expression_is_one_row():
    result = api.jacobian("x^2*y", at={"x": 0.7, "y": -1.2})
    assert len(result.entries) == 1 and len(result.entries[0]) == 2
    assert result.to_json()["jacobian"]["autograd"] == [result.matrix("autograd")[0]]


def test_jacobian_list_of_strings_is_the_same_as_the_list_text():
    listed = api.jacobian(["x*y", "x+y", "sin(x)"], at={"x": 0.5, "y": 2})
    text = api.jacobian("[x*y, x+y, sin(x)]", at={"x": 0.5, "y": 2})
    assert listed.matrix("autograd") == text.matrix("autograd")


def test_jacobian_vector_point_every_number_is_a_list():
    at = {"x": [0.0, 1.0, 2.0], "y": [2.0, 3.0, -1.0]}
    exprs = [x * y, x + y, sympy.sin(x)]
    result = api.jacobian("[x*y, x+y, sin(x)]", at=at)
    assert result.agree is True and result.exit_code == 0
    per_point = [oracle_jacobian(exprs, ["x", "y"], e) for e in elements(at)]
    assert_every_entry_per_point(result, per_point, order=1)
    assert len(result.value) == 3
    for k, expr in enumerate(exprs):
        assert result.value[k] == pytest.approx([evaluate(expr, e) for e in elements(at)], **EXACT)


def test_jacobian_vector_point_with_where_on_both_sides():
    at = {"x": [-0.5, 0.5], "y": 1.5}
    exprs = [sympy.Piecewise((x**2 * y, x > 0), (y**3, True)), x * y]
    result = api.jacobian("[where(x > 0, x^2*y, y^3), x*y]", at=at)
    assert result.agree is True
    per_point = [oracle_jacobian(exprs, ["x", "y"], e) for e in elements(at)]
    for i in range(2):
        for j in range(2):
            assert result.entries[i][j].autograd == pytest.approx([m[i][j] for m in per_point], **EXACT)


# --------------------------------------------------------------------------
# 5. partial: mixed and repeated differentiation sequences

PARTIAL_CASES = [
    ("issue-uv", "u^3+v^2+4*u*v", u**3 + v**2 + 4 * u * v, {"u": 3, "v": 4}, ["u", "v"]),
    ("issue-vu", "u^3+v^2+4*u*v", u**3 + v**2 + 4 * u * v, {"u": 3, "v": 4}, ["v", "u"]),
    ("xxy", "x^2*y^3", x**2 * y**3, {"x": 0.7, "y": -1.3}, ["x", "x", "y"]),
    ("yxy", "x^2*y^3", x**2 * y**3, {"x": 0.7, "y": -1.3}, ["y", "x", "y"]),
    ("exp-xyx", "exp(x*y)", sympy.exp(x * y), {"x": 0.3, "y": 0.8}, ["x", "y", "x"]),
    ("trig-xxxy", "sin(x)*cos(y)", sympy.sin(x) * sympy.cos(y), {"x": 0.7, "y": 0.4}, ["x", "x", "x", "y"]),
    ("log-xy", "log(x*y + 1)", sympy.log(x * y + 1), {"x": 0.7, "y": 1.4}, ["x", "y"]),
    ("pow-xy", "x^y", x**y, {"x": 1.7, "y": 0.6}, ["x", "y"]),
    ("atan2-xy", "atan2(y, x)", sympy.atan2(y, x), {"x": 0.7, "y": 1.3}, ["x", "y"]),
    ("hypot-xx", "hypot(x, y)", hypot(x, y), {"x": 0.7, "y": -1.3}, ["x", "x"]),
    ("sigmoid-xyy", "sigmoid(x*y)", sigmoid(x * y), {"x": 0.7, "y": -1.3}, ["x", "y", "y"]),
    ("xyz", "x*y*z", x * y * z, {"x": 0.7, "y": -1.3, "z": 0.4}, ["x", "y", "z"]),
    ("zyxz", "exp(x)*sin(y)*z^2", sympy.exp(x) * sympy.sin(y) * z**2, {"x": 0.3, "y": 0.9, "z": 1.2},
     ["z", "y", "x", "z"]),
    ("tanh-xxx", "tanh(x)", sympy.tanh(x), {"x": 0.4}, ["x", "x", "x"]),
    ("where-xxy", "where(x > 0, x^3*y, y)", sympy.Piecewise((x**3 * y, x > 0), (y, True)),
     {"x": 0.5, "y": 1.5}, ["x", "x", "y"]),
    ("log2-yxy", "log(x, 2)*y^2", sympy.log(x) / sympy.log(2) * y**2, {"x": 0.7, "y": 1.9}, ["y", "x", "y"]),
    ("detach-xy", "detach(x)*x*y", sympy.Rational(3, 2) * x * y, {"x": 1.5, "y": -0.5}, ["x", "y"]),
    ("unused-wrt", "x^2", x**2, {"x": 0.7, "y": 1.0}, ["x", "y"]),
]
assert len({case[0] for case in PARTIAL_CASES}) == len(PARTIAL_CASES)


@pytest.mark.parametrize("case_id, text, expr, at, wrt", PARTIAL_CASES, ids=[case[0] for case in PARTIAL_CASES])
def test_partial_matches_oracle(case_id, text, expr, at, wrt):
    result = api.partial(text, at=at, wrt=wrt)
    assert_clean(result)
    entry = result.partial
    assert entry.wrt == list(wrt)
    expected = oracle_partial(expr, wrt, at)
    assert entry.autograd == pytest.approx(expected, **EXACT)
    assert entry.symbolic_value == pytest.approx(expected, **EXACT)
    assert entry.numeric == pytest.approx(expected, **NUMERIC[len(wrt)])
    assert entry.agree is True and entry.numeric_agree is True
    assert result.value == pytest.approx(evaluate(expr, at), **EXACT)


def test_partial_issue_case_is_four_on_both_sides():
    result = api.partial("u^3+v^2+4*u*v", at={"u": 3, "v": 4}, wrt=["u", "v"])
    assert result.partial.autograd == 4.0
    assert result.partial.symbolic_value == 4.0
    assert result.partial.symbolic == "4"
    assert result.exit_code == 0


# --------------------------------------------------------------------------
# 6. the CLI's JSON for the issue's three commands


def test_cli_partial_json():
    result, report = invoke_json("partial", "u^3+v^2+4*u*v", "--wrt", "u,v", "--at", "u=3,v=4")
    assert result.exit_code == 0
    assert strict_loads(result.stdout) == report
    assert report["command"] == "partial"
    assert report["partial"]["wrt"] == ["u", "v"]
    assert report["partial"]["autograd"] == 4.0
    assert report["partial"]["symbolic_value"] == 4.0
    assert report["partial"]["agree"] is True
    assert report["agree"] is True


def test_cli_hessian_json():
    result, report = invoke_json("hessian", "x^2*y + y^3", "--at", "x=1,y=2")
    assert result.exit_code == 0
    assert strict_loads(result.stdout) == report
    assert report["command"] == "hessian"
    h = report["hessian"]
    assert h["variables"] == ["x", "y"]
    assert h["autograd"] == [[4.0, 2.0], [2.0, 12.0]]
    assert h["symbolic_value"] == [[4.0, 2.0], [2.0, 12.0]]
    assert h["definiteness"] == "positive definite"
    assert h["critical_point"] is None
    assert h["symmetric"] is True
    assert h["agree"] is True
    assert h["entry_agree"] == [[True, True], [True, True]]
    assert h["eigenvalues"] == pytest.approx([8 - math.sqrt(20), 8 + math.sqrt(20)], rel=1e-12)
    # the symbolic texts are the oracle's symbolic Hessian
    oracle = sympy.hessian(x**2 * y + y**3, [x, y])
    for i in range(2):
        for j in range(2):
            parsed = sympy.sympify(h["symbolic"][i][j], locals={"x": x, "y": y})
            assert sympy.simplify(parsed - oracle[i, j]) == 0
    assert report["agree"] is True
    assert report["checked_by"] == "exact"
    assert h["exact"] == [["4.0000000000000000e+00", "2.0000000000000000e+00"], ["2.0000000000000000e+00", "1.2000000000000000e+01"]]
    assert h["autograd_digits"] == [[17, 17], [17, 17]] and h["accurate"] == [[True, True], [True, True]]


def test_cli_jacobian_json():
    result, report = invoke_json("jacobian", "[x*y, x+y, sin(x)]", "--at", "x=0,y=2")
    assert result.exit_code == 0
    assert strict_loads(result.stdout) == report
    assert report["command"] == "jacobian"
    j = report["jacobian"]
    assert j["variables"] == ["x", "y"]
    assert j["autograd"] == [[2.0, 0.0], [1.0, 1.0], [1.0, 0.0]]
    assert j["symbolic_value"] == [[2.0, 0.0], [1.0, 1.0], [1.0, 0.0]]
    assert j["agree"] is True
    assert len(j["functions"]) == 3
    assert report["value"] == [0.0, 2.0, 0.0]
    assert report["agree"] is True


def test_cli_hessian_wrt_orders_columns():
    result, report = invoke_json("hessian", "x^2*y + y^3", "--at", "x=1,y=2", "--wrt", "y,x")
    assert result.exit_code == 0
    assert report["hessian"]["variables"] == ["y", "x"]
    assert report["hessian"]["autograd"] == [[12.0, 2.0], [2.0, 4.0]]


def test_cli_hessian_vector_point_json():
    result, report = invoke_json("hessian", "x^2*y + y^3", "--at", "x=[1,0],y=[2,0]")
    assert result.exit_code == 0
    h = report["hessian"]
    assert h["autograd"] == [[[4.0, 0.0], [2.0, 0.0]], [[2.0, 0.0], [12.0, 0.0]]]
    assert h["definiteness"] == ["positive definite", "zero"]
    assert h["critical_point"] == [None, "inconclusive"]
    assert all(isinstance(column, list) and len(column) == 2 for column in h["eigenvalues"])


def test_cli_human_views_exit_zero():
    for args in (("partial", "u^3+v^2+4*u*v", "--wrt", "u,v", "--at", "u=3,v=4"),
                 ("hessian", "x^2*y + y^3", "--at", "x=1,y=2"),
                 ("jacobian", "[x*y, x+y, sin(x)]", "--at", "x=0,y=2")):
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr


# --------------------------------------------------------------------------
# 7. --expect for matrices


@pytest.mark.parametrize("expect", ["[[4,2],[2,12]]", "4,2,2,12", "[4,2,2,12]", [[4, 2], [2, 12]], ["4,2", "2,12"]])
def test_hessian_expect_met(expect):
    result = api.hessian("x^2*y + y^3", at={"x": 1, "y": 2}, expect=expect)
    assert result.expect_met is True
    assert result.agree is True
    assert result.exit_code == 0
    report = result.to_json()
    assert report["expect_met"] is True
    assert report["hessian"]["expected"] == [[4.0, 2.0], [2.0, 12.0]]


@pytest.mark.parametrize("expect", ["[[4,2],[2,13]]", "4,2,2,11", [[4, 2], [2.5, 12]]])
def test_hessian_expect_not_met_fails_with_exit_1(expect):
    result = api.hessian("x^2*y + y^3", at={"x": 1, "y": 2}, expect=expect)
    assert result.expect_met is False
    assert result.agree is True  # autograd and symbolic still agree
    assert result.exit_code == 1
    report = result.to_json()
    assert report["expect_met"] is False and report["agree"] is True


@pytest.mark.parametrize("expect", ["1,2,3", "[[4,2],[2,12],[1,1]]", "[[4,2,1],[2,12,1]]", [[4, 2]]])
def test_hessian_expect_wrong_shape_is_a_usage_error(expect):
    with pytest.raises(PointError) as caught:
        api.hessian("x^2*y + y^3", at={"x": 1, "y": 2}, expect=expect)
    assert caught.value.exit_code == 2


def test_jacobian_expect_met_and_not_met():
    met = api.jacobian("[x*y, x+y, sin(x)]", at={"x": 0, "y": 2}, expect="[[2,0],[1,1],[1,0]]")
    assert met.expect_met is True and met.exit_code == 0
    missed = api.jacobian("[x*y, x+y, sin(x)]", at={"x": 0, "y": 2}, expect="2,0,1,1,1,1")
    assert missed.expect_met is False and missed.agree is True and missed.exit_code == 1
    assert [[e.expect_met for e in row] for row in missed.entries] == [[True, True], [True, True], [True, False]]
    with pytest.raises(PointError):
        api.jacobian("[x*y, x+y, sin(x)]", at={"x": 0, "y": 2}, expect="2,0,1,1")


def test_expect_same_matrix_at_every_point_of_a_vector_point():
    at = {"x": [1, 2], "y": [5, 7]}
    met = api.hessian("x^2 + x*y + y^2", at=at, expect="[[2,1],[1,2]]")
    assert met.expect_met is True and met.exit_code == 0
    missed = api.hessian("x^2*y", at=at, expect="[[10,2],[2,0]]")  # right at the first point only
    assert missed.expect_met is False and missed.exit_code == 1


@pytest.mark.parametrize("rows", [("[4,2]", "[2,12]"), ("4,2", "2,12")])
def test_cli_expect_rows_met(rows):
    args = ["hessian", "x^2*y + y^3", "--at", "x=1,y=2"]
    for row in rows:
        args += ["--expect", row]
    result, report = invoke_json(*args)
    assert result.exit_code == 0
    assert report["expect_met"] is True
    assert report["hessian"]["expected"] == [[4.0, 2.0], [2.0, 12.0]]


def test_cli_expect_rows_not_met():
    result, report = invoke_json("hessian", "x^2*y + y^3", "--at", "x=1,y=2", "--expect", "[4,2]", "--expect", "[2,13]")
    assert result.exit_code == 1
    assert report["expect_met"] is False
    assert report["agree"] is True
    assert report["hessian"]["agree"] is True


def test_cli_expect_one_matrix_met():
    result, report = invoke_json("hessian", "x^2*y + y^3", "--at", "x=1,y=2", "--expect", "[[4,2],[2,12]]")
    assert result.exit_code == 0 and report["expect_met"] is True


@pytest.mark.parametrize("expect", [("1,2,3",), ("[1,2]", "[3,4]", "[5,6]"), ("[1,2,3]", "[4,5,6]")])
def test_cli_expect_wrong_shape_is_exit_2_with_error_object(expect):
    args = ["hessian", "x^2*y + y^3", "--at", "x=1,y=2"]
    for row in expect:
        args += ["--expect", row]
    result, report = invoke_json(*args)
    assert result.exit_code == 2
    assert set(report) == {"error"}
    assert isinstance(report["error"]["type"], str) and report["error"]["message"]
    assert "Traceback" not in result.stdout


def test_cli_jacobian_expect_wrong_shape_is_exit_2():
    result, report = invoke_json("jacobian", "[x*y, x+y, sin(x)]", "--at", "x=0,y=2", "--expect", "2,0,1,1")
    assert result.exit_code == 2
    assert "error" in report


# --------------------------------------------------------------------------
# 8. a 60-variable Rosenbrock sum

ROSENBROCK_N = 60
ROSENBROCK = " + ".join(f"100*(x{i+1}-x{i}^2)^2 + (1-x{i})^2" for i in range(1, ROSENBROCK_N))
ROSENBROCK_AT = {f"x{i}": 1 for i in range(1, ROSENBROCK_N + 1)}
ROSENBROCK_NAMES = [f"x{i}" for i in range(1, ROSENBROCK_N + 1)]  # natural order: x2 before x10
SYM_X = [sympy.Symbol(name, real=True) for name in ROSENBROCK_NAMES]


def rosenbrock_oracle() -> list[list[float]]:
    """The Hessian of the sum at all ones, assembled from the SymPy Hessian of
    one term 100*(b - a^2)^2 + (1 - a)^2 (the Hessian of a sum is the sum of
    the terms' Hessians; term i touches x_i and x_(i+1) only)."""
    term = 100 * (b - a**2) ** 2 + (1 - a) ** 2
    local = [[float(entry) for entry in row] for row in sympy.hessian(term, [a, b]).subs({a: 1, b: 1}).tolist()]
    matrix = [[0.0] * ROSENBROCK_N for _ in range(ROSENBROCK_N)]
    for i in range(ROSENBROCK_N - 1):
        for k in range(2):
            for m in range(2):
                matrix[i + k][i + m] += local[k][m]
    return matrix


def test_rosenbrock_oracle_is_the_textbook_matrix():
    # guards the oracle itself: 802 first, 1002 inside, 200 last, -400 beside the diagonal
    matrix = rosenbrock_oracle()
    assert matrix[0][0] == 802.0 and matrix[-1][-1] == 200.0
    assert {matrix[i][i] for i in range(1, ROSENBROCK_N - 1)} == {1002.0}
    assert {matrix[i][i + 1] for i in range(ROSENBROCK_N - 1)} == {-400.0}
    # spot check the assembly against sympy.diff of the full sum
    full = sum(100 * (SYM_X[i + 1] - SYM_X[i] ** 2) ** 2 + (1 - SYM_X[i]) ** 2 for i in range(ROSENBROCK_N - 1))
    ones = {s: 1 for s in SYM_X}
    for i, j in [(0, 0), (0, 1), (1, 1), (30, 31), (30, 30), (58, 59), (59, 59), (5, 7)]:
        assert float(sympy.diff(full, SYM_X[i], SYM_X[j]).subs(ones)) == matrix[i][j]


def test_rosenbrock_60_hessian_numeric():
    result = api.hessian(ROSENBROCK, at=ROSENBROCK_AT, symbolic=False)
    assert result.agree is True and result.exit_code == 0
    assert result.checked_by == "numeric"
    assert result.columns == ROSENBROCK_NAMES
    assert result.value == 0.0
    assert result.gradient == [0.0] * ROSENBROCK_N
    expected = rosenbrock_oracle()
    got = result.matrix("autograd")
    for i in range(ROSENBROCK_N):
        assert got[i] == pytest.approx(expected[i], rel=1e-12, abs=1e-12), f"row {i}"
    assert all(entry.symbolic_value is None for entry in result.derivatives())
    assert result.symmetric is True
    assert result.definiteness == "positive definite"
    assert result.critical_point == "local minimum"
    eigenvalues = torch.linalg.eigvalsh(torch.tensor(expected, dtype=torch.float64)).tolist()
    assert result.eigenvalues == pytest.approx(eigenvalues, rel=1e-9, abs=1e-9)
    assert min(result.eigenvalues) > 0


def test_rosenbrock_60_symbolic_timeout_falls_back_to_finite_differences():
    result = api.hessian(ROSENBROCK, at=ROSENBROCK_AT, symbolic_timeout=0.01)
    assert result.agree is True and result.exit_code == 0
    assert result.checked_by == "numeric"
    assert any("--symbolic-timeout" in warning for warning in result.warnings), result.warnings
    assert result.matrix("autograd")[0][:2] == [802.0, -400.0]
    assert result.definiteness == "positive definite"


# --------------------------------------------------------------------------
# 9. a disagreement can fail


def test_entry_agree_is_a_matrix_of_booleans():
    result = api.hessian("x*y*z + x^2", at={"x": 0.7, "y": -1.2, "z": 0.4})
    entry_agree = result.to_json()["hessian"]["entry_agree"]
    assert len(entry_agree) == 3 and all(len(row) == 3 for row in entry_agree)
    assert all(value is True for row in entry_agree for value in row)
    jacobian = api.jacobian("[x*y, z]", at={"x": 0.7, "y": -1.2, "z": 0.4}).to_json()["jacobian"]["entry_agree"]
    assert jacobian == [[True] * 3, [True] * 3]


def test_one_disagreeing_entry_fails_the_whole_matrix():
    result = api.hessian("x^2*y + y^3", at={"x": 1, "y": 2})
    assert result.exit_code == 0
    result.entries[0][1] = DerivativeResult(["x", "y"], autograd=2.0, symbolic="2*x", symbolic_value=2.5,
                                            numeric=2.0, agree=False, numeric_agree=True)
    assert result.agree is False
    assert result.exit_code == 1
    report = result.to_json()
    assert report["agree"] is False and report["hessian"]["agree"] is False
    assert report["hessian"]["entry_agree"] == [[True, False], [True, True]]


def test_deliberately_wrong_expect_fails_every_command():
    assert api.hessian("x^2*y + y^3", at={"x": 1, "y": 2}, expect="4,2,2,12.001").exit_code == 1
    assert api.jacobian("[x*y, x+y, sin(x)]", at={"x": 0, "y": 2}, expect="2,0,1,1,1,0.5").exit_code == 1
    assert api.partial("u^3+v^2+4*u*v", at={"u": 3, "v": 4}, wrt=["u", "v"], expect="5").exit_code == 1
    assert api.partial("u^3+v^2+4*u*v", at={"u": 3, "v": 4}, wrt=["u", "v"], expect="4").exit_code == 0


# --------------------------------------------------------------------------
# A zero weight times an infinite local derivative is nan: the batched rows
# must not let one row's infinity poison another row's entries (regressions).

def test_jacobian_entry_is_not_poisoned_by_another_rows_infinity():
    result = api.jacobian("[x^2, 1/y]", at={"x": 1, "y": 0})
    assert result.matrix("symbolic_value") == [[2.0, 0.0], [0.0, "-inf"]]
    assert result.matrix("autograd") == [[2.0, 0.0], [0.0, "-inf"]]
    assert result.agree is True


def test_hessian_mixed_entry_is_not_poisoned_by_another_columns_infinity():
    result = api.hessian("x^2 + sqrt(y)", at={"x": 1, "y": 0})
    mixed = api.partial("x^2 + sqrt(y)", at={"x": 1, "y": 0}, wrt=["x", "y"]).partial.autograd
    assert mixed == 0.0
    assert result.matrix("symbolic_value") == [[2.0, 0.0], [0.0, "-inf"]]
    assert result.matrix("autograd") == [[2.0, mixed], [mixed, "-inf"]]
    assert result.agree is True


def test_hessian_entry_matches_partial_when_another_first_partial_is_nan():
    # ∂(x^y)/∂y = x^y log(x) is 0*(-inf) = nan at x = 0; ∂²(x^y)/∂x² at (0, 2) is 2
    # and partial gives 2; so must the Hessian's xx entry, also at a vector point
    partial_xx = api.partial("x^y", at={"x": 0, "y": 2}, wrt=["x", "x"]).partial.autograd
    assert partial_xx == 2.0
    assert api.hessian("x^y", at={"x": 0, "y": 2}).entries[0][0].autograd == partial_xx
    assert api.hessian("x^y", at={"x": [0, 1], "y": 2}).entries[0][0].autograd == [2.0, 2.0]
    jacobian = api.jacobian("[x^2, 1/y]", at={"x": [1, 2], "y": [0, 1]})
    assert jacobian.matrix("autograd") == [[[2.0, 4.0], [0.0, 0.0]], [[0.0, 0.0], ["-inf", -1.0]]]


def test_expect_rows_as_a_list_of_texts_in_the_api():
    # As the CLI's repeated --expect: each text a row.
    result = api.hessian("x^2*y + y^3", at={"x": 1, "y": 2}, expect=["[4,2]", "[2,12]"])
    assert result.expect_met is True and result.exit_code == 0
    result = api.hessian("x^2*y + y^3", at={"x": 1, "y": 2}, expect=["[4,2]", "[2,13]"])
    assert result.expect_met is False and result.exit_code == 1
    assert api.hessian("x^2*y + y^3", at={"x": 1, "y": 2}, expect=["[[4,2],[2,12]]"]).expect_met is True


# --------------------------------------------------------------------------
# found in review


def test_hessian_of_many_variables_at_a_vector_point_renders():
    names = [f"x{i}" for i in range(1, 12)]
    text = " + ".join(f"{name}^2" for name in names)
    at = ",".join(["x1=[1,2]"] + [f"{name}=1" for name in names[1:]])
    result = invoke("hessian", text, "--at", at)
    assert result.exit_code == 0, result.output
    assert "[0]     2, 2, 2, 2, 2, …, 2, 2, 2, 2, 2   positive definite" in result.stdout


def test_jacobian_help_shows_its_example():
    assert "[x*y, x+y, sin(x)]" in invoke("jacobian", "--help").stdout


def test_no_point_and_no_symbolic_is_a_usage_error():
    for command in ("grad", "hessian"):
        result = invoke(command, "x^2*y", "--no-symbolic")
        assert result.exit_code == 2
        assert "without --at there is only the symbolic derivative" in result.stderr


def test_symbolic_timeout_without_a_point_says_what_is_missing():
    result = invoke("hessian", "sin(x)^40*cos(y)^40", "--symbolic-timeout", "0")
    assert result.exit_code == 0
    assert "∂²f/∂x² = (not available: see the warning)" in result.stdout
    assert "was stopped" in result.stderr and "decided agreement" not in result.stderr


def test_matrix_values_limit_counts_points():
    from autodiff.limits import Limits

    limits = Limits(max_matrix_values=7)
    assert api.hessian("x*y", at={"x": 1, "y": 2}, limits=limits).agree is True  # 4 numbers
    with pytest.raises(api.LimitError, match=r"4 entries at 2 points are 8 numbers, more than the limit of 7"):
        api.hessian("x*y", at={"x": [1, 2], "y": 2}, limits=limits)


def test_a_bad_matrix_expect_fails_before_the_computation(monkeypatch):
    from autodiff.engine import calculus

    def never(*args, **kwargs):
        raise AssertionError("computed before --expect was read")

    monkeypatch.setattr(calculus, "hessian", never)
    result = invoke("hessian", "x*y", "--at", "x=1,y=2", "--expect", "1,2,3")
    assert result.exit_code == 2 and "--expect has 3 values" in result.stderr


def test_jacobian_finite_difference_warning_names_the_function():
    # floor is flat for autograd and SymPy; its jump right next to x = 1 - 1e-9
    # makes the finite difference disagree: the warning names ∂f₂/∂x.
    result = api.jacobian("[x^2, floor(x)]", at={"x": 1 - 1e-9})
    assert result.agree is True
    assert any("∂f₂/∂x" in warning and "∂f₁" not in warning for warning in result.warnings), result.warnings


def test_verdict_lists_at_most_ten_names(monkeypatch):
    wrong_symbolic(monkeypatch)
    text = "+".join(f"x{i}^3" for i in range(1, 7)) + "*(" + "+".join(f"x{i}" for i in range(1, 7)) + ")"
    at = ",".join(f"x{i}=1" for i in range(1, 7))
    result = invoke("hessian", text, "--at", at, env={"COLUMNS": "1000"})
    assert result.exit_code == 1
    verdict = next(line for line in result.stdout.splitlines() if line.startswith("✗ autograd"))
    labels = verdict.split(" disagree for ", 1)[1].split(", ")
    assert len(labels) == 11 and labels[-1].startswith("and ") and labels[-1].endswith(" more")


def test_jacobian_of_many_functions_is_linear():
    # One backward pass per function through its own graph: 400 functions stay quick.
    text = "[" + ", ".join(f"{i}*x + y" for i in range(400)) + "]"
    result = api.jacobian(text, at={"x": 1, "y": 2}, symbolic=False)
    assert result.agree is True
    assert [row[0].autograd for row in result.entries] == [float(i) for i in range(400)]
    assert all(row[1].autograd == 1.0 for row in result.entries)


def test_a_symbolic_entry_torch_cannot_evaluate_is_warned_once(monkeypatch):
    from autodiff.engine import lowering

    monkeypatch.delitem(lowering.TORCH_RULES, sympy.cos)  # as if cos had no torch lowering
    result = api.hessian("sin(x)*y", at={"x": 0.5, "y": 2})
    assert [w for w in result.warnings if "could not be evaluated" in w] == [
        "the symbolic derivative cos(x) could not be evaluated: cannot evaluate cos (cos(x)) with torch"
    ]
    mixed = result.entries[0][1]
    assert mixed.symbolic == "cos(x)" and mixed.symbolic_value is None
    assert mixed.agree is True and mixed.numeric == pytest.approx(math.cos(0.5), rel=1e-7)  # numeric decides
    assert result.entries[0][0].symbolic_value == pytest.approx(-2 * math.sin(0.5))
    assert result.agree is True and result.exit_code == 0
