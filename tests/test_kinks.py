"""Kinks and domains (design §6, issue 6 items 1–2).

At a kink the derivative does not exist: the result says
`differentiable: false`, gives the one-sided derivatives `left`/`right`
(±inf where the function one order lower jumps) and which of them autograd's
subgradient is (`convention`), warns, and does not compare the witnesses
(`agree` None, exit 0). Outside f's domain (f nan or ±inf) the derivatives
are not compared either, and a warning names the operation, the point and
the reason. Points near, but not at, a switch are ordinary smooth points.

Every expected number here is worked out by hand from the definition of the
one-sided derivative, never taken from the product.
"""

from __future__ import annotations

import math

import pytest
from helpers import invoke, invoke_json, strict_loads
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from autodiff.commands.api import grad, hessian, jacobian, partial
from autodiff.points import is_vector

INF = math.inf
HYPOTHESIS = settings(deadline=None, database=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- helpers


def only(result):
    """The one derivative of a one-variable grad/partial result."""
    derivatives = result.derivatives()
    assert len(derivatives) == 1, derivatives
    return derivatives[0]


def close(actual, expected, tol=1e-6) -> bool:
    """Numbers (or lists with None) equal up to `tol`; infinities exactly."""
    if isinstance(expected, list):
        return is_vector(actual) and len(actual) == len(expected) and all(
            close(a, e, tol) for a, e in zip(actual, expected)
        )
    if expected is None or actual is None:
        return expected is actual
    if math.isinf(expected):
        return actual == expected
    return math.isfinite(actual) and abs(actual - expected) <= tol * max(1.0, abs(expected))


def assert_kink(d, left, right, convention=None, autograd=None):
    assert d.differentiable is False
    assert close(d.left, left), (d.left, left)
    assert close(d.right, right), (d.right, right)
    if convention is not None:
        assert d.convention == convention
    if autograd is not None:
        assert close(d.autograd, autograd)
    assert d.agree is None  # not compared: no false mismatch, no false agreement
    assert d.kinked


def assert_smooth(d):
    assert d.differentiable is True
    assert d.left is None and d.right is None and d.convention is None
    assert not d.kinked


def kink_warnings(result) -> list[str]:
    return [w for w in result.warnings if "does not exist" in w]


def domain_warnings(result) -> list[str]:
    return [w for w in result.warnings if "is not defined there" in w]


def one_kink_warning(result) -> str:
    found = kink_warnings(result)
    assert len(found) == 1, result.warnings
    return found[0]


# --------------------------------------------------------------------------- the done-means


def test_done_means_relu_at_zero_json():
    result, data = invoke_json("grad", "relu(x)", "--at", "x=0")
    assert result.exit_code == 0
    entry = data["gradient"]["x"]
    assert entry["differentiable"] is False
    assert entry["left"] == 0.0 and entry["right"] == 1.0
    assert entry["convention"] == "left"
    assert entry["autograd"] == 0.0
    assert entry["symbolic_value"] == 0.5  # Heaviside(0) = 1/2: a different convention, not a mismatch
    assert entry["agree"] is None
    assert data["agree"] is None
    (warning,) = data["warnings"]
    assert warning.startswith("∂f/∂x does not exist at x=0")
    assert "relu(x)" in warning and "switches branches" in warning
    assert "left derivative 0, right 1" in warning
    assert "autograd gives 0 (the left-hand derivative)" in warning
    assert "SymPy 0.5" in warning


def test_done_means_abs_at_minus_two_is_smooth():
    result, data = invoke_json("grad", "abs(x)", "--at", "x=-2")
    assert result.exit_code == 0
    entry = data["gradient"]["x"]
    assert entry["differentiable"] is True
    assert entry["autograd"] == -1.0 and entry["symbolic_value"] == -1.0
    assert entry["agree"] is True
    assert not {"left", "right", "convention"} & entry.keys()
    assert data["warnings"] == []
    assert data["agree"] is True


def test_human_output_marks_the_kink_and_warns_on_stderr():
    result = invoke("grad", "relu(x)", "--at", "x=0")
    assert result.exit_code == 0
    assert "not compared" in result.stdout
    assert "✗" not in result.stdout  # no failed-check mark
    assert "does not exist at x=0" in result.stderr
    assert "does not exist" not in result.stdout.replace("the derivative does not exist at the point", "")


# --------------------------------------------------------------------------- every kink function at its switch

# expression, point, left, right, convention, autograd, a fragment naming the switch, the point as written
KINKS = [
    ("abs(x)", "x=0", -1, 1, "average", 0, "abs(x)", "x=0"),
    ("relu(x)", "x=0", 0, 1, "left", 0, "relu(x)", "x=0"),
    ("max(x, 0)", "x=0", 0, 1, "average", 0.5, "max(0, x)", "x=0"),
    ("min(x, 0)", "x=0", 1, 0, "average", 0.5, "min(0, x)", "x=0"),
    ("clamp(x, -1, 1)", "x=-1", 0, 1, "average", 0.5, "max(-1, x)", "x=-1"),
    ("clamp(x, -1, 1)", "x=1", 1, 0, "average", 0.5, "min(1,", "x=1"),
    ("where(x > 0, x^2, x)", "x=0", 1, 0, "left", 1, "x > 0", "x=0"),
    ("where(x >= 0, x^2, x)", "x=0", 1, 0, "right", 0, "x >= 0", "x=0"),
    ("where(x > 0, x, -x)", "x=0", -1, 1, "left", -1, "x > 0", "x=0"),
    ("where(x < 1, x, 2 - x)", "x=1", 1, -1, "right", -1, "x < 1", "x=1"),
    # f = x except f(1) = 0: the difference quotients diverge, -inf from the left, +inf from the right
    ("where(x == 1, 0, x)", "x=1", -INF, INF, "other", 0, "eq(x, 1)", "x=1"),
    # a jump one order lower: floor(1) = 1, floor(1-h) = 0, so (f(1) - f(1-h))/h → +inf
    ("floor(x)", "x=1", INF, 0, "right", 0, "floor(x)", "x=1"),
    ("floor(x)", "x=-3", INF, 0, "right", 0, "floor(x)", "x=-3"),
    ("floor(x)", "x=1e6", INF, 0, "right", 0, "floor(x)", "x=1000000"),
    ("ceil(x)", "x=1", 0, INF, "left", 0, "ceil", "x=1"),
    ("sign(x)", "x=0", INF, INF, "other", 0, "sign(x)", "x=0"),
    ("heaviside(x)", "x=0", INF, INF, "other", 0, "heaviside(x)", "x=0"),
    ("where(x > 0, 1, 0)", "x=0", 0, INF, "left", 0, "x > 0", "x=0"),
    ("floor(x) + x", "x=2", INF, 1, "right", 1, "floor(x)", "x=2"),
]


def _number(value) -> str:
    return "inf" if value == INF else "-inf" if value == -INF else f"{value:g}"


@pytest.mark.parametrize("expr, at, left, right, convention, autograd, switch, where", KINKS)
def test_kink_table(expr, at, left, right, convention, autograd, switch, where):
    result = grad(expr, at)
    d = only(result)
    assert_kink(d, left, right, convention, autograd)
    assert result.agree is None
    assert result.exit_code == 0
    warning = one_kink_warning(result)
    assert warning.startswith(f"∂f/∂x does not exist at {where},")
    assert switch in warning.lower()
    assert f"left derivative {_number(left)}, right {_number(right)}" in warning
    assert f"autograd gives {_number(autograd)}" in warning
    side = {"left": "(the left-hand derivative)", "right": "(the right-hand derivative)", "average": "(their average)"}
    if convention in side:
        assert side[convention] in warning


@pytest.mark.parametrize("expr, at, left, right, convention, autograd, switch, where", KINKS[:6])
def test_kink_table_without_sympy(expr, at, left, right, convention, autograd, switch, where):
    """--no-symbolic: the kink is still found (it is autograd's), the warning has no SymPy part."""
    result = grad(expr, at, symbolic=False)
    d = only(result)
    assert_kink(d, left, right, convention, autograd)
    assert d.symbolic_value is None
    assert result.exit_code == 0
    assert "SymPy" not in one_kink_warning(result)


def test_kink_is_not_a_failure_even_with_zero_tolerance():
    result = grad("relu(x)", "x=0", rtol=0, atol=0)
    assert only(result).agree is None and result.exit_code == 0


def test_expect_is_still_checked_at_a_kink():
    assert grad("abs(x)", "x=0", expect="0").exit_code == 0
    missed = grad("abs(x)", "x=0", expect="5")
    assert missed.expect_met is False and missed.exit_code == 1


def test_three_way_max_any_subgradient():
    """max(x, 0, -x) = |x|: left -1, right 1; autograd's tie-splitting gives some subgradient."""
    d = only(grad("max(x, 0, -x)", "x=0"))
    assert_kink(d, -1, 1)
    assert -1 <= d.autograd <= 1


# --------------------------------------------------------------------------- compositions


def test_abs_sin_at_pi():
    # sin(float(pi)) = 1.2e-16 > 0, so autograd takes cos(pi) = -1; for x < pi, |sin|' = cos → -1.
    result = grad("abs(sin(x))", "x=pi")
    assert_kink(only(result), -1, 1, "left", -1)
    assert "x=3.14159" in one_kink_warning(result)


def test_relu_shifted():
    result = grad("relu(x-1)", "x=1")
    assert_kink(only(result), 0, 1, "left", 0)
    assert "relu(x - 1)" in one_kink_warning(result)


def test_relu_switch_found_through_rounding():
    """0.1 + 0.2 - 0.3 = 5.6e-17, not 0: the switch is at its value up to rounding."""
    d = only(grad("relu(x-0.3)", "x=0.1+0.2"))
    assert_kink(d, 0, 1)


def test_sum_of_kinks_adds_sides():
    assert_kink(only(grad("abs(x) + abs(x)", "x=0")), -2, 2, "average", 0)


def test_sqrt_abs_has_infinite_sides():
    assert_kink(only(grad("sqrt(abs(x))", "x=0")), -INF, INF)


@pytest.mark.parametrize(
    "expr, at, autograd",
    [
        ("max(x^2, 2*x - 1)", "x=1", 2.0),  # tangent branches: both sides 2
        ("abs(x)^2", "x=0", 0.0),
        ("x*abs(x)", "x=0", 0.0),
        ("abs(x^3)", "x=0", 0.0),
        ("where(x > 0, sin(x), x)", "x=0", 1.0),  # both branches have slope 1
        ("where(x > 0, x^2, x^3)", "x=0", 0.0),
        ("abs(x) - abs(x)", "x=0", 0.0),
        ("abs(x)*0", "x=0", 0.0),
    ],
)
def test_differentiable_compositions_are_not_flagged(expr, at, autograd):
    result = grad(expr, at)
    d = only(result)
    assert_smooth(d)
    assert d.autograd == pytest.approx(autograd, abs=1e-12)
    assert d.agree is True and result.agree is True and result.exit_code == 0
    assert kink_warnings(result) == []


@pytest.mark.parametrize("expr", ["abs(x)^2", "abs(x^3)", "max(x^2, 2*x - 1)"])
def test_differentiable_compositions_have_no_warnings_at_all(expr):
    assert grad(expr, "x=1" if "max" in expr else "x=0").warnings == []


# --------------------------------------------------------------------------- near, not at


@pytest.mark.parametrize(
    "expr, at, autograd",
    [
        ("relu(x)", "x=1e-12", 1.0),
        ("relu(x)", "x=-1e-12", 0.0),
        ("abs(x)", "x=1e-300", 1.0),
        ("floor(x)", "x=1-1e-9", 0.0),
        ("floor(x)", "x=0.5", 0.0),
        ("clamp(x, -1, 1)", "x=1+1e-9", 0.0),
        ("clamp(x, -1, 1)", "x=0.3", 1.0),
        ("sign(x)", "x=1", 0.0),
        ("max(x, 0)", "x=1e-10", 1.0),
    ],
)
def test_near_but_not_at_a_switch(expr, at, autograd):
    result = grad(expr, at)
    d = only(result)
    assert_smooth(d)
    assert d.autograd == autograd
    assert d.agree is True and result.exit_code == 0
    assert kink_warnings(result) == []


# --------------------------------------------------------------------------- several variables


def test_only_the_kinked_partial_is_flagged():
    result = grad("abs(x) + y", "x=0,y=1")
    dx, dy = result.gradient["x"], result.gradient["y"]
    assert_kink(dx, -1, 1, "average", 0)
    assert_smooth(dy)
    assert dy.autograd == 1.0 and dy.agree is True
    assert result.agree is True  # ∂f/∂y compared and agrees; ∂f/∂x ignored
    assert result.exit_code == 0
    warning = one_kink_warning(result)
    assert warning.startswith("∂f/∂x does not exist at x=0, y=1,")


@pytest.mark.parametrize(
    "expr, at, left, right",
    [("max(x, y)", "x=1,y=1", 0, 1), ("min(x, y)", "x=2,y=2", 1, 0), ("abs(x - y)", "x=1,y=1", None, None)],
)
def test_tie_of_two_variables_flags_both(expr, at, left, right):
    result = grad(expr, at)
    dx, dy = result.gradient["x"], result.gradient["y"]
    if left is not None:
        assert_kink(dx, left, right, "average", 0.5)
        assert_kink(dy, left, right, "average", 0.5)
    else:  # |x - y|: along x, -1 then 1; along y, d/dy |x - y| is also -1 then 1 (y passes x upward)
        assert_kink(dx, -1, 1, "average")
        assert_kink(dy, -1, 1, "average")
    assert result.exit_code == 0
    found = kink_warnings(result)
    assert len(found) == 2
    assert found[0].startswith("∂f/∂x") and found[1].startswith("∂f/∂y")


def test_kink_switch_depending_on_other_variable():
    result = grad("abs(x*y)", "x=0,y=1")
    assert_kink(result.gradient["x"], -1, 1)
    assert_smooth(result.gradient["y"])  # |0 * y| = 0 for every y


@pytest.mark.parametrize("expr", ["abs(x)*y", "relu(x)*y", "abs(x*y)"])
def test_kink_killed_by_a_zero_factor_is_differentiable(expr):
    """At y = 0, f(x, 0) = 0 for every x: ∂f/∂x exists and is 0."""
    result = grad(expr, "x=0,y=0")
    for d in result.derivatives():
        assert_smooth(d)
        assert d.autograd == 0.0
    assert result.agree is True and result.exit_code == 0


# --------------------------------------------------------------------------- vector and grid points


def test_vector_point_relu():
    result = grad("relu(x)", "x=[-1,0,1]")
    d = only(result)
    assert d.differentiable == [True, False, True]
    assert d.left == [None, 0.0, None]
    assert d.right == [None, 1.0, None]
    assert d.convention == [None, "left", None]
    assert d.autograd == [0.0, 0.0, 1.0]
    assert d.agree is True  # the compared points agree
    assert result.exit_code == 0
    warning = one_kink_warning(result)
    assert "at x=0 (point [1])," in warning and "other point" not in warning


def test_vector_point_several_kinks():
    result = grad("abs(x)", "x=[0,0,0,1]")
    d = only(result)
    assert d.differentiable == [False, False, False, True]
    assert d.left == [-1.0, -1.0, -1.0, None] and d.right == [1.0, 1.0, 1.0, None]
    assert d.convention == ["average"] * 3 + [None]
    assert "at x=0 (point [0]) and at 2 other points," in one_kink_warning(result)


def test_vector_point_only_kinks_gives_no_verdict():
    result = grad("relu(x)", "x=[0,0]")
    assert only(result).agree is None and result.agree is None and result.exit_code == 0
    assert "and at 1 other point," in one_kink_warning(result)


def test_grid_point():
    d = only(grad("relu(x)", "x=-2:2:5"))
    assert d.differentiable == [True, True, False, True, True]
    assert d.left == [None, None, 0.0, None, None] and d.right == [None, None, 1.0, None, None]


def test_vector_floor_jumps():
    d = only(grad("floor(x)", "x=[0.5,1,2]"))
    assert d.differentiable == [True, False, False]
    assert d.left == [None, INF, INF] and d.right == [None, 0.0, 0.0]
    assert d.convention == [None, "right", "right"]


def test_vector_tie_in_two_variables():
    result = grad("max(x, y)", "x=[1,2],y=[1,1]")
    for name in "xy":
        d = result.gradient[name]
        assert d.differentiable == [False, True]
        assert d.left == [0.0, None] and d.right == [1.0, None]
    assert result.gradient["x"].autograd == [0.5, 1.0]


# --------------------------------------------------------------------------- higher order


def test_x_abs_x_first_exists_second_does_not():
    first = grad("x*abs(x)", "x=0")
    assert_smooth(only(first))
    assert kink_warnings(first) == []
    # f'' = 2 sign(x): -2 on the left, 2 on the right
    second = grad("x*abs(x)", "x=0", order=2)
    assert_kink(only(second), -2, 2, "average", 0)
    assert one_kink_warning(second).startswith("∂²f/∂x² does not exist at x=0,")
    assert second.exit_code == 0
    via_partial = partial("x*abs(x)", "x=0", wrt=["x", "x"])
    assert_kink(only(via_partial), -2, 2, "average", 0)
    matrix = hessian("x*abs(x)", "x=0")
    assert_kink(matrix.entries[0][0], -2, 2, "average", 0)
    assert matrix.exit_code == 0


def test_x_abs_x_third_derivative_jumps():
    # f'' = 2 sign(x) jumps from -2 to 2 through 0: both one-sided f''' are +inf
    d = only(grad("x*abs(x)", "x=0", order=3))
    assert_kink(d, INF, INF, "other", 0)


@pytest.mark.parametrize(
    "expr, left, right, convention",
    [("relu(x)", 0, INF, "left"), ("abs(x)", INF, INF, "other")],
)
def test_second_derivative_at_a_corner_is_infinite_on_the_jumping_side(expr, left, right, convention):
    result = grad(expr, "x=0", order=2)
    assert_kink(only(result), left, right, convention, 0)
    assert result.exit_code == 0


@pytest.mark.parametrize("expr", ["abs(x)", "relu(x)"])
def test_third_derivative_at_a_corner_does_not_exist(expr):
    result = grad(expr, "x=0", order=3)
    d = only(result)
    assert d.differentiable is False
    assert d.agree is None
    assert result.exit_code == 0


def test_second_derivative_of_floor_at_an_integer_does_not_exist():
    d = only(grad("floor(x)", "x=1", order=2))
    assert d.differentiable is False


def test_hessian_of_abs_x_times_y():
    result = hessian("abs(x)*y", "x=0,y=2")
    entries = result.entries
    flags = [[e.differentiable for e in row] for row in entries]
    assert flags == [[False, False], [False, True]]
    # ∂f/∂x = 2 sign(x) jumps by 4: ∂²f/∂x² is +inf on both sides
    assert_kink(entries[0][0], INF, INF, "other", 0)
    # ∂f/∂y = |x|: ∂²f/∂x∂y is -1 then 1
    assert_kink(entries[0][1], -1, 1, "average", 0)
    assert_kink(entries[1][0], -1, 1, "average", 0)
    assert_smooth(entries[1][1])
    assert entries[1][1].agree is True
    assert result.agree is True and result.exit_code == 0
    found = kink_warnings(result)
    assert any(w.startswith("∂²f/∂x² does not exist at x=0, y=2,") for w in found)
    assert any(w.startswith("∂²f/∂y∂x does not exist at x=0, y=2,") for w in found)
    assert len(found) == 2  # the mirrored ∂²f/∂x∂y is the same warning


def test_hessian_with_a_smooth_variable():
    entries = hessian("abs(x) + y^2", "x=0,y=1").entries
    assert_kink(entries[0][0], INF, INF)
    for i, j in [(0, 1), (1, 0), (1, 1)]:
        assert_smooth(entries[i][j])
    assert entries[1][1].autograd == 2.0


def test_partial_mixed_at_a_kink():
    result = partial("abs(x)*y", "x=0,y=2", wrt=["x", "y"])
    assert_kink(only(result), -1, 1, "average", 0)
    assert one_kink_warning(result).startswith("∂²f/∂y∂x does not exist at x=0, y=2,")


def test_hessian_of_abs_x_times_y_at_the_origin_does_not_fail():
    result = hessian("abs(x)*y", "x=0,y=0")
    assert result.entries[0][0].agree is not False
    assert result.exit_code == 0


@pytest.mark.xfail(strict=True, reason="BUG: hessian relu(x)*relu(y) at (0,0): ∂²f/∂x∂y (a kink of both "
                   "variables at once) not detected; compared 0 vs 0.25 → exit 1")
def test_hessian_of_a_product_of_relus_at_the_origin():
    result = hessian("relu(x)*relu(y)", "x=0,y=0")
    assert result.entries[0][1].differentiable is False
    assert result.exit_code == 0


# --------------------------------------------------------------------------- jacobian rows


def test_jacobian_flags_only_the_kinked_entries():
    result = jacobian("[abs(x), relu(y), x*y]", "x=0,y=0")
    flags = [[e.differentiable for e in row] for row in result.entries]
    assert flags == [[False, True], [True, False], [True, True]]
    assert_kink(result.entries[0][0], -1, 1, "average", 0)
    assert_kink(result.entries[1][1], 0, 1, "left", 0)
    assert result.agree is True and result.exit_code == 0
    found = kink_warnings(result)
    assert len(found) == 2
    assert found[0].startswith("∂f₁/∂x does not exist at x=0, y=0,") and "abs(x)" in found[0].lower()
    assert found[1].startswith("∂f₂/∂y does not exist at x=0, y=0,") and "relu(y)" in found[1]


def test_jacobian_kink_warning_names_its_own_rows_switch():
    result = jacobian("[abs(x)*y, relu(x+y)]", "x=0,y=0")
    assert_smooth(result.entries[0][0])
    assert_kink(result.entries[1][0], 0, 1, "left", 0)
    (warning,) = [w for w in kink_warnings(result) if w.startswith("∂f₂/∂x")]
    assert "relu(x + y)" in warning
    assert "Abs" not in warning


def test_jacobian_other_rows_switch_does_not_make_a_kink():
    result = jacobian(["abs(x)", "sqrt(x)"], "x=0")
    assert_kink(result.entries[0][0], -1, 1, "average", 0)
    sqrt_entry = result.entries[1][0]
    assert sqrt_entry.differentiable is False
    # Not a kink of abs: sqrt's own one-sided derivatives (none to the left, +inf to the right).
    assert sqrt_entry.left is None and sqrt_entry.right == math.inf and sqrt_entry.convention == "right"
    assert "∂f₂/∂x does not exist at x=0 (right derivative inf, f₂ is not real to the left)" in " ".join(result.warnings)


# --------------------------------------------------------------------------- --grad-output


@pytest.mark.parametrize(
    "expr, weight, left, right, convention",
    [("relu(x)", "3", 0, 3, "left"), ("abs(x)", "-2", 2, -2, "average"), ("floor(x)", "2", INF, 0, "right")],
)
def test_grad_output_scales_the_sides(expr, weight, left, right, convention):
    at = "x=1" if expr == "floor(x)" else "x=0"
    result = grad(expr, at, grad_output=weight)
    assert_kink(only(result), left, right, convention)
    assert f"left derivative {_number(left)}, right {_number(right)}" in one_kink_warning(result)


def test_grad_output_per_element():
    d = only(grad("relu(x)", "x=[-1,0,1]", grad_output="[2,3,4]"))
    assert d.differentiable == [True, False, True]
    assert d.left == [None, 0.0, None] and d.right == [None, 3.0, None]
    assert d.autograd == [0.0, 0.0, 4.0]
    assert d.agree is True


def test_grad_output_negative_weight_flips_sides():
    d = only(grad("relu(x)", "x=[0,0]", grad_output="[1,-1]"))
    assert d.left == [0.0, 0.0] and d.right == [1.0, -1.0]
    assert d.convention == ["left", "left"]


def test_grad_output_in_cli_json():
    result, data = invoke_json("grad", "relu(x)", "--at", "x=-1:1:3", "--grad-output", "2,3,4")
    assert result.exit_code == 0
    entry = data["gradient"]["x"]
    assert entry["differentiable"] == [True, False, True]
    assert entry["left"] == [None, 0.0, None] and entry["right"] == [None, 3.0, None]
    assert entry["convention"] == [None, "left", None]


# --------------------------------------------------------------------------- float32


@pytest.mark.parametrize(
    "expr, left, right, convention",
    [("relu(x)", 0, 1, "left"), ("abs(x)", -1, 1, "average"), ("max(x, 0)", 0, 1, "average")],
)
def test_float32_kinks(expr, left, right, convention):
    result = grad(expr, "x=0", dtype="float32")
    assert result.dtype == "float32"
    assert_kink(only(result), left, right, convention)
    assert result.exit_code == 0


def test_float32_second_order_and_smooth():
    assert_kink(only(grad("abs(x)", "x=0", dtype="float32", order=2)), INF, INF)
    smooth = grad("abs(x)", "x=-2", dtype="float32")
    assert_smooth(only(smooth))
    assert only(smooth).autograd == -1.0 and smooth.warnings == []


def test_float32_json():
    result, data = invoke_json("grad", "floor(x)", "--at", "x=1", "--dtype", "float32")
    assert result.exit_code == 0 and data["dtype"] == "float32"
    entry = data["gradient"]["x"]
    assert entry["differentiable"] is False
    assert entry["left"] == "inf" and entry["right"] == 0.0 and entry["convention"] == "right"


# --------------------------------------------------------------------------- JSON shape and strictness


def test_json_infinite_side_is_a_string():
    result, data = invoke_json("grad", "floor(x)", "--at", "x=[0.5,1]")
    assert result.exit_code == 0
    entry = data["gradient"]["x"]
    assert entry["differentiable"] == [True, False]
    assert entry["left"] == [None, "inf"] and entry["right"] == [None, 0.0]
    assert entry["convention"] == [None, "right"]


def test_json_differentiable_key_on_every_derivative():
    result, data = invoke_json("grad", "abs(x) + y", "--at", "x=0,y=1")
    assert result.exit_code == 0
    assert data["gradient"]["x"]["differentiable"] is False
    assert data["gradient"]["x"]["left"] == -1.0 and data["gradient"]["x"]["right"] == 1.0
    assert data["gradient"]["y"]["differentiable"] is True
    assert "left" not in data["gradient"]["y"] and "convention" not in data["gradient"]["y"]
    assert data["agree"] is True


def test_json_partial_at_a_kink():
    result, data = invoke_json("partial", "abs(x)*y", "--at", "x=0,y=2", "--wrt", "x,y")
    assert result.exit_code == 0
    body = data["partial"]
    assert body["wrt"] == ["x", "y"]
    assert body["differentiable"] is False
    assert (body["left"], body["right"], body["convention"]) == (-1.0, 1.0, "average")
    assert body["agree"] is None and data["agree"] is None


def test_json_hessian_matrices():
    result, data = invoke_json("hessian", "abs(x)*y", "--at", "x=0,y=2")
    assert result.exit_code == 0
    h = data["hessian"]
    assert h["differentiable"] == [[False, False], [False, True]]
    assert h["left"] == [["inf", -1.0], [-1.0, None]]
    assert h["right"] == [["inf", 1.0], [1.0, None]]
    assert h["convention"] == [["other", "average"], ["average", None]]
    assert h["entry_agree"] == [[None, None], [None, True]]
    assert h["agree"] is True and data["agree"] is True


def test_json_hessian_without_kinks_has_no_side_matrices():
    result, data = invoke_json("hessian", "abs(x)*y", "--at", "x=1,y=2")
    assert result.exit_code == 0
    h = data["hessian"]
    assert h["differentiable"] == [[True, True], [True, True]]
    assert not {"left", "right", "convention"} & h.keys()


def test_json_jacobian_matrices():
    result, data = invoke_json("jacobian", "[abs(x), relu(y)]", "--at", "x=0,y=1")
    assert result.exit_code == 0
    j = data["jacobian"]
    assert j["differentiable"] == [[False, True], [True, True]]
    assert j["left"] == [[-1.0, None], [None, None]]
    assert j["right"] == [[1.0, None], [None, None]]
    assert j["convention"] == [["average", None], [None, None]]
    assert data["agree"] is True


def test_json_hessian_vector_point():
    result, data = invoke_json("hessian", "abs(x)*y", "--at", "x=[0,1],y=2")
    assert result.exit_code == 0
    h = data["hessian"]
    assert h["differentiable"] == [[[False, True], [False, True]], [[False, True], [True, True]]]
    assert h["left"][0][0] == ["inf", None] and h["right"][0][0] == ["inf", None]
    assert h["left"][0][1] == [-1.0, None] and h["convention"][0][1] == ["average", None]


def test_json_hessian_vector_point_side_matrices_are_regular():
    _, data = invoke_json("hessian", "abs(x)*y", "--at", "x=[0,1],y=2")
    h = data["hessian"]
    for key in ("left", "right", "convention"):
        assert h[key][1][1] == [None, None]


@pytest.mark.parametrize(
    "args",
    [
        ("grad", "relu(x)", "--at", "x=0"),
        ("grad", "sign(x)", "--at", "x=0"),
        ("grad", "where(x == 1, 0, x)", "--at", "x=1"),
        ("grad", "abs(x)", "--at", "x=0", "--order", "2"),
        ("grad", "floor(x)", "--at", "x=-2:2:5"),
        ("grad", "sqrt(x)", "--at", "x=[-1,0,4]"),
        ("grad", "log(x)", "--at", "x=0"),
        ("grad", "gamma(x)", "--at", "x=-1"),
        ("grad", "sqrt(abs(x))", "--at", "x=0"),
        ("hessian", "abs(x)*y", "--at", "x=0,y=2"),
        ("hessian", "log(x)*y", "--at", "x=-1,y=1"),
        ("jacobian", "[abs(x), sqrt(x), 1/x]", "--at", "x=0"),
        ("partial", "x*abs(x)", "--at", "x=0", "--wrt", "x,x"),
    ],
)
def test_json_is_strict(args):
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.stdout
    data = strict_loads(result.stdout)  # refuses NaN / Infinity
    assert "error" not in data
    assert data["warnings"]
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout


# --------------------------------------------------------------------------- domains

# expression, point, what the culprit prints as, its value, the reason, the point as written
DOMAINS = [
    ("log(x)", "x=-1", "log(x)", "nan", "log of a negative number (-1)", "x=-1"),
    ("log(x)", "x=0", "log(x)", "-inf", "log of zero", "x=0"),
    ("sqrt(x)", "x=-1", "sqrt(x)", "nan", "square root of a negative number (-1)", "x=-1"),
    ("x^0.5", "x=-4", "x^0.5", "nan", "square root of a negative number (-4)", "x=-4"),
    ("x^1.5", "x=-4", "x^1.5", "nan", "a negative number (-4) to a non-integer power (1.5)", "x=-4"),
    ("asin(x)", "x=2", "asin(x)", "nan", "asin outside [-1, 1] (2)", "x=2"),
    ("acos(x)", "x=-3", "acos(x)", "nan", "acos outside [-1, 1] (-3)", "x=-3"),
    ("acosh(x)", "x=0.5", "acosh(x)", "nan", "acosh below 1 (0.5)", "x=0.5"),
    ("atanh(x)", "x=1", "atanh(x)", "inf", "atanh outside (-1, 1) (1)", "x=1"),
    ("1/x", "x=0", "1/x", "inf", "division by zero", "x=0"),
    ("x^-1", "x=0", "1/x", "inf", "division by zero", "x=0"),
    ("x^(-2)", "x=0", "x^(-2)", "inf", "zero to a negative power (-2)", "x=0"),
    ("gamma(x)", "x=-1", "gamma(x)", None, "a pole of gamma at -1", "x=-1"),
    ("lgamma(x)", "x=0", "gamma(x)", "inf", "a pole of lgamma at 0", "x=0"),
]

# f overflows float64 but has a true value: not a domain error (design §11).
OVERFLOWS = [
    ("exp(x)", "x=1000", "1.9700711140170470e+434", "exp(x)"),
    ("exp(exp(x))", "x=10", "9.3875122185835947e+9565", "exp(exp(x))"),
]


@pytest.mark.parametrize("expr, at, exact, operation", OVERFLOWS)
def test_overflow_is_not_undefined(expr, at, exact, operation):
    result = grad(expr, at)
    d = only(result)
    assert result.value_exact == exact and d.differentiable is True
    assert d.agree is False and d.accurate is False and result.exit_code == 1
    assert d.cause.startswith(f"overflow in {operation}")
    assert not domain_warnings(result)
    assert f"f = {exact} overflows float64 at {at}" in result.warnings[0]
    assert not any("not defined" in w for w in result.warnings)


@pytest.mark.parametrize("expr, at, culprit, value, reason, where", DOMAINS)
def test_domain_warning(expr, at, culprit, value, reason, where):
    result = grad(expr, at)
    d = only(result)
    assert d.differentiable is False
    assert d.agree is None and result.agree is None
    assert not d.kinked and d.left is None
    assert result.exit_code == 0
    (warning,) = domain_warnings(result)
    head, _, tail = warning.partition(": ")
    assert culprit in head
    assert f" at {where}" in head
    if value is not None:
        assert f" is {value} at " in head
    assert tail.startswith(reason)
    assert tail.endswith("f is not defined there and its derivatives are not compared")
    assert kink_warnings(result) == []


def test_domain_nan_derivatives_are_not_agreement():
    """sqrt at -1: autograd, SymPy and finite differences are all nan; that is no agreement."""
    result = grad("sqrt(x)", "x=-1")
    d = only(result)
    assert math.isnan(d.autograd) and math.isnan(d.symbolic_value)
    assert d.agree is None and d.agree is not True
    assert d.numeric_agree is None
    assert result.agree is None
    via_partial = partial("sqrt(x)", "x=-1")
    assert only(via_partial).agree is None


def test_domain_finite_derivative_outside_domain_is_not_compared():
    """log at -1: autograd and SymPy both say -1 (1/x), but f is nan there: not compared."""
    d = only(grad("log(x)", "x=-1"))
    assert d.autograd == -1.0 and d.symbolic_value == -1.0
    assert d.differentiable is False and d.agree is None


def test_domain_several_variables():
    result = grad("log(x) + y", "x=-1,y=2")
    for d in result.derivatives():
        assert d.differentiable is False and d.agree is None
    (warning,) = domain_warnings(result)
    assert warning.startswith("log(x) is nan at x=-1, y=2: log of a negative number (-1)")


def test_domain_vector_point_several_bad_points():
    result = grad("log(x)", "x=[-1,-2,1,0]")
    d = only(result)
    assert d.differentiable == [False, False, True, False]
    assert d.agree is True  # the one good point agrees
    assert result.exit_code == 0
    (warning,) = domain_warnings(result)
    assert warning.startswith("log(x) is nan at x=-1 (point [0]) and at 2 other points: log of a negative number (-1)")


def test_domain_vector_point_one_bad_point():
    result = grad("1/x", "x=[0,1]")
    d = only(result)
    assert d.differentiable == [False, True]
    assert d.agree is True
    (warning,) = domain_warnings(result)
    assert "at x=0 (point [0]): division by zero" in warning and "other point" not in warning


def test_domain_jacobian_names_the_function():
    result = jacobian("[log(x), x]", "x=-1")
    bad, good = result.entries[0][0], result.entries[1][0]
    assert bad.differentiable is False and bad.agree is None
    assert good.differentiable is True and good.agree is True
    assert result.agree is True and result.exit_code == 0
    (warning,) = domain_warnings(result)
    assert warning.startswith("log(x) is nan at x=-1: log of a negative number (-1); f₁ is not defined there")


def test_domain_hessian_every_entry_not_compared():
    result = hessian("log(x)*y", "x=-1,y=1")
    for d in result.derivatives():
        assert d.differentiable is False and d.agree is None
    assert result.exit_code == 0
    assert len(domain_warnings(result)) == 1


def test_infinite_derivative_sqrt_at_zero():
    result = grad("sqrt(x)", "x=0")
    d = only(result)
    assert result.value == 0.0  # f is defined: not a domain warning
    assert d.differentiable is False and d.agree is None
    # The derivative by its definition: +inf from the right, and f is not real to the left.
    assert d.left is None and d.right == math.inf and d.convention == "right"
    assert result.exit_code == 0
    assert domain_warnings(result) == []
    (warning,) = result.warnings
    assert warning == "∂f/∂x does not exist at x=0 (right derivative inf, f is not real to the left); autograd gives inf, not compared"


@pytest.mark.parametrize("expr, sides, autograd", [
    ("x^(1/3)", "right derivative inf, f is not real to the left", "inf"),  # SymPy's principal root
    ("cbrt(x)", "left derivative inf, right inf", "nan"),  # the real cube root
])
def test_infinite_derivative_of_roots(expr, sides, autograd):
    result = grad(expr, "x=0")
    d = only(result)
    assert d.differentiable is False and d.agree is None
    assert result.exit_code == 0
    (warning,) = result.warnings
    assert warning == f"∂f/∂x does not exist at x=0 ({sides}); autograd gives {autograd}, not compared"


def test_domain_and_infinite_at_a_vector_point():
    result = grad("sqrt(x)", "x=[-1,0,4]")
    d = only(result)
    assert d.differentiable == [False, False, True]
    assert d.agree is True and result.exit_code == 0
    assert len(domain_warnings(result)) == 1 and "(point [0])" in domain_warnings(result)[0]
    infinite = [w for w in result.warnings if "does not exist" in w]
    assert len(infinite) == 1 and "at x=0 (point [1]) (right derivative inf" in infinite[0]
    assert d.right == [None, math.inf, None] and d.convention == [None, "right", None]


def test_domain_json():
    result, data = invoke_json("grad", "sqrt(x)", "--at", "x=-1")
    assert result.exit_code == 0
    entry = data["gradient"]["x"]
    assert entry["autograd"] == "nan" and entry["symbolic_value"] == "nan"
    assert entry["differentiable"] is False and entry["agree"] is None
    assert "left" not in entry
    assert data["value"] == "nan" and data["agree"] is None
    assert "square root of a negative number (-1)" in data["warnings"][0]


@pytest.mark.parametrize("expr", ["log(abs(x))", "abs(x) + log(x)"])
def test_no_bogus_kink_outside_the_domain(expr):
    result = grad(expr, "x=0")
    d = only(result)
    assert len(domain_warnings(result)) == 1
    for side in (d.left, d.right):
        assert side is None or math.isinf(side)
    assert not any("300000000" in w or "300000001" in w for w in result.warnings)


# --------------------------------------------------------------------------- no false alarms (hypothesis)

coordinates = st.floats(min_value=-10, max_value=10, allow_nan=False, allow_infinity=False)


def far(distance: float) -> bool:
    return abs(distance) > 1e-6


def assert_no_alarm(result):
    for d in result.derivatives():
        assert_smooth(d)
        assert d.agree is True, (result.expression, result.at, d)
    assert result.agree is True and result.exit_code == 0
    assert kink_warnings(result) == [] and domain_warnings(result) == []


@HYPOTHESIS
@given(coordinates)
def test_abs_away_from_zero(x):
    assume(far(x))
    result = grad("abs(x)", f"x={x!r}")
    assert_no_alarm(result)
    assert only(result).autograd == math.copysign(1.0, x)


@HYPOTHESIS
@given(coordinates)
def test_shifted_relu_away_from_its_switch(x):
    assume(far(x - 0.5))
    result = grad("relu(x-0.5)", f"x={x!r}")
    assert_no_alarm(result)
    assert only(result).autograd == (1.0 if x > 0.5 else 0.0)


@HYPOTHESIS
@given(coordinates, coordinates)
def test_max_and_min_away_from_a_tie(x, y):
    assume(far(x - y))
    result = grad("max(x, y) + 2*min(x, y)", f"x={x!r},y={y!r}")
    assert_no_alarm(result)
    gx = 1.0 if x > y else 2.0
    assert result.gradient["x"].autograd == gx
    assert result.gradient["y"].autograd == 3.0 - gx


@HYPOTHESIS
@given(coordinates)
def test_floor_ceil_clamp_away_from_switches(x):
    assume(far(x - round(x)) and far(x - 1) and far(x + 1))
    result = grad("floor(x)*x + ceil(x) + clamp(x, -1, 1)", f"x={x!r}")
    assert_no_alarm(result)
    expected = math.floor(x) + (1.0 if -1 < x < 1 else 0.0)
    assert only(result).autograd == pytest.approx(expected, abs=1e-12)


@HYPOTHESIS
@given(coordinates)
def test_where_and_abs_sin_away_from_switches(x):
    assume(far(x - 0.25) and far(math.sin(x)))
    result = grad("where(x > 0.25, sin(x), x^2) + abs(sin(x))", f"x={x!r}")
    assert_no_alarm(result)


@HYPOTHESIS
@given(st.lists(coordinates.filter(far), min_size=1, max_size=30))
def test_vector_of_nonzero_points(xs):
    point = "x=[" + ",".join(repr(x) for x in xs) + "]"
    result = grad("abs(x) + relu(x) + sign(x)*x^2", point)
    d = only(result)
    assert d.differentiable == [True] * len(xs)
    assert d.left is None and d.convention is None
    assert d.agree is True and result.exit_code == 0
    assert kink_warnings(result) == []


@HYPOTHESIS
@given(coordinates, coordinates)
def test_second_order_away_from_kinks(x, y):
    assume(far(x) and far(y) and far(x - y))
    result = hessian("abs(x)*y^2 + max(x, y)^2", f"x={x!r},y={y!r}")
    assert_no_alarm(result)
