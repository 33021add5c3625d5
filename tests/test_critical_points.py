"""`autodiff minimize`'s critical points: every real solution of ∇f = 0 where
∇f is polynomial, numbers to ten digits, exact forms only where short, kinds
from the Hessian; a stalled run at the float64 floor classified.

The oracles are independent of the code under test: gradients and Hessians
written out by hand and evaluated with mpmath at 40 digits at each point's
30-digit decimals; the count of real solutions from a resultant and Sturm
sequences (sympy.resultant, Poly.count_roots) rather than a Gröbner basis
and FLINT; Himmelblau's minima from the literature; the roots of a cubic
from mpmath.polyroots.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import mpmath
import pytest
import sympy

import autodiff
from autodiff.engine import critical
from autodiff.commands import critical_points
from autodiff.commands import minimize as optimizers
from helpers import invoke, invoke_json

HIMMELBLAU = "(x^2+y-11)^2+(x+y^2-7)^2"
STYBLINSKI_TANG = "0.5*((x^4-16x^2+5x)+(y^4-16y^2+5y))"
QUARTIC = "x^4-3x^2+x"


def _mp(text: str):
    return mpmath.mpf(text)


def _kind(hessian) -> str:
    """The kind from the signs of a symmetric matrix's eigenvalues (mpmath)."""
    eigenvalues = mpmath.eigsy(mpmath.matrix(hessian), eigvals_only=True)
    signs = {mpmath.sign(v) for v in eigenvalues}
    if signs == {1}:
        return "local minimum"
    if signs == {-1}:
        return "local maximum"
    if signs == {1, -1}:
        return "saddle point"
    return "degenerate"


# --- Himmelblau: nine critical points -------------------------------------------


def himmelblau_gradient(x, y):
    return (4 * x * (x**2 + y - 11) + 2 * (x + y**2 - 7), 2 * (x**2 + y - 11) + 4 * y * (x + y**2 - 7))


def himmelblau_hessian(x, y):
    return [[12 * x**2 + 4 * y - 42, 4 * x + 4 * y], [4 * x + 4 * y, 4 * x + 12 * y**2 - 26]]


def himmelblau(x, y):
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def test_himmelblau_has_nine_critical_points_four_minima_one_maximum_four_saddles():
    result, payload = invoke_json("minimize", HIMMELBLAU, "--from", "x=2.5,y=2.5")
    assert result.exit_code == 0
    critical_points = payload["critical_points"]
    assert critical_points["status"] == "solved" and critical_points["method"] == "groebner"
    assert "all 9 real solutions" in critical_points["message"]
    points = critical_points["points"]
    assert len(points) == 9
    assert Counter(p["kind"] for p in points) == {"local minimum": 4, "local maximum": 1, "saddle point": 4}
    with mpmath.workdps(40):
        for point in points:
            x, y = _mp(point["decimals"]["x"]), _mp(point["decimals"]["y"])
            gx, gy = himmelblau_gradient(x, y)
            assert abs(gx) < 1e-25 and abs(gy) < 1e-25, point
            assert point["kind"] == _kind(himmelblau_hessian(x, y)), point
            assert point["value"] == pytest.approx(float(himmelblau(x, y)), rel=1e-12, abs=1e-12)
            assert point["values"] == {"x": pytest.approx(float(x), rel=1e-15), "y": pytest.approx(float(y), rel=1e-15)}
            assert not point["family"]
    # the nine are distinct
    assert len({(round(p["values"]["x"], 6), round(p["values"]["y"], 6)) for p in points}) == 9


def test_himmelblau_minima_and_maximum_are_the_known_ones():
    points = autodiff.minimize(HIMMELBLAU, {"x": 2.5, "y": 2.5}).critical_points
    minima = sorted((p.values["x"], p.values["y"]) for p in points if p.kind == "local minimum")
    known = sorted([(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)])
    for (x, y), (kx, ky) in zip(minima, known):
        assert x == pytest.approx(kx, abs=1e-6) and y == pytest.approx(ky, abs=1e-6)
    assert all(p.value == pytest.approx(0, abs=1e-12) for p in points if p.kind == "local minimum")
    (top,) = [p for p in points if p.kind == "local maximum"]
    assert top.values["x"] == pytest.approx(-0.270845, abs=1e-6) and top.values["y"] == pytest.approx(-0.923039, abs=1e-6)
    assert top.value == pytest.approx(181.616522, abs=1e-6)
    three_two = next(p for p in points if p.exact == {"x": "3", "y": "2"})  # the rational one is exact
    assert three_two.value_exact == "0" and three_two.reached_by == ["gd"]


def test_the_count_agrees_with_a_resultant_and_sturm_sequences():
    x, y = sympy.symbols("x y")
    f = (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2
    resultant = sympy.Poly(sympy.resultant(sympy.diff(f, x), sympy.diff(f, y), x), y)
    real_ys = resultant.count_roots()  # Sturm: the real y of the solutions (each has one x here)
    points = autodiff.minimize(HIMMELBLAU, {"x": 2.5, "y": 2.5}, optimizer="gd").critical_points
    assert real_ys == len(points) == 9
    ys = sorted(float(r) for r in resultant.nroots(n=30) if r.is_real)
    assert sorted(p.values["y"] for p in points) == pytest.approx(ys, abs=1e-12)


def test_the_himmelblau_table_prints_every_number_whole():
    result = invoke("minimize", HIMMELBLAU, "--from", "x=2.5,y=2.5")
    out = result.stdout
    assert "critical points: all 9 real solutions of ∇f = 0" in out
    rows = [line for line in out.splitlines() if re.search(r"(minimum|maximum|saddle point)\s+(—|gd)", line)]
    assert len(rows) == 9
    assert "-0.2708445907    -0.9230385565   181.6165215   local maximum" in out
    assert "…" not in out and not re.search(r"\bI\b", out)


# --- x^4 - 3x^2 + x: a cubic's three real roots, as numbers ------------------------


def test_the_quartic_shows_its_three_critical_points_as_numbers_with_kinds():
    result = invoke("minimize", QUARTIC, "--from", "x=2")
    out = result.stdout
    roots = sorted(float(r.real) for r in mpmath.polyroots([4, 0, -6, 1]))  # f′ = 4x³ − 6x + 1
    texts = [f"{r:.10g}" for r in roots]
    assert texts == ["-1.300839566", "0.1699384433", "1.130901123"]  # qalc's digits
    kinds = ["local minimum" if 12 * r * r - 6 > 0 else "local maximum" for r in roots]  # f″ = 12x² − 6
    assert kinds == ["local minimum", "local maximum", "local minimum"]
    for text, kind, f in zip(texts, kinds, (r**4 - 3 * r**2 + r for r in roots)):
        row = next(line for line in out.splitlines() if line.strip().startswith(text))
        assert kind in row and f"{f:.10g}" in row
    assert "all 3 real solutions of ∇f = 0" in out
    assert not re.search(r"\bI\b", out) and "sqrt(3)" not in out and "…" not in out
    assert "the local minimum x = 1.130901123" in out


def test_the_quartic_json_has_numbers_and_no_long_exact_form():
    _, payload = invoke_json("minimize", QUARTIC, "--from", "x=2")
    points = payload["critical_points"]["points"]
    assert [p["point"]["x"] for p in points] == ["-1.300839566", "0.1699384433", "1.130901123"]
    assert all(p["exact"] == {"x": None} and p["value_exact"] is None for p in points)
    with mpmath.workdps(40):
        for point in points:
            x = _mp(point["decimals"]["x"])
            assert abs(4 * x**3 - 6 * x + 1) < 1e-27


def test_a_narrow_terminal_gets_a_line_per_point_with_whole_numbers():
    result = invoke("minimize", HIMMELBLAU, "--from", "x=2.5,y=2.5", env={"COLUMNS": "50"})
    out = result.stdout
    assert "x = -0.2708445907, y = -0.9230385565: f = 181.6165215, local maximum, reached by —" in out
    assert "…" not in out


# --- exact forms where short ------------------------------------------------------


def test_short_exact_forms_beside_the_numbers():
    result = autodiff.minimize("(x^2-2)^2", {"x": 1}, optimizer="newton")
    assert result.symbolic_status == "solved"
    assert [p.exact["x"] for p in result.critical_points] == ["-sqrt(2)", "0", "sqrt(2)"]
    assert [p.kind for p in result.critical_points] == ["local minimum", "local maximum", "local minimum"]
    assert [p.value_exact for p in result.critical_points] == ["0", "4", "0"]
    out = invoke("minimize", "(x^2-2)^2", "--from", "x=1", "--optimizer", "newton").stdout
    assert "sqrt(2) ≈ 1.414213562" in out and "-sqrt(2) ≈ -1.414213562" in out
    assert "the local minimum x = sqrt(2)" in out


@pytest.mark.parametrize(("expression", "exact", "value"), [
    ("x^4-2x", "2**(2/3)/2", 2 ** (-1 / 3)),  # a binomial's real root
    ("x^3/3 + x^2/2 - x", "-1/2 + sqrt(5)/2", (math.sqrt(5) - 1) / 2),  # f′ = x² + x − 1
])
def test_roots_of_binomials_and_quadratics_are_exact(expression, exact, value):
    points = autodiff.minimize(expression, {"x": 0.5}, optimizer="newton", steps=10).critical_points
    matches = [p for p in points if p.values["x"] == pytest.approx(value, rel=1e-14)]
    assert len(matches) == 1, [(p.exact, p.values) for p in points]
    assert matches[0].exact["x"] == exact and len(exact) <= critical.EXACT_WIDTH
    assert sympy.N(sympy.sympify(matches[0].exact["x"]), 30) == pytest.approx(value, rel=1e-14)


def test_decimals_are_the_decimals_they_print_as():
    (point,) = autodiff.minimize("0.5*x^2 - 0.25*x", {"x": 1}, optimizer="newton").critical_points
    assert point.exact == {"x": "1/4"} and point.value_exact == "-1/32"


# --- degenerate, families, free variables, no solution ----------------------------


@pytest.mark.parametrize(("expression", "start"), [
    ("x^3", {"x": 1}), ("x^4+y^4", {"x": 1, "y": 1}), ("x^3-3*x*y^2", {"x": 1, "y": 1}),
])
def test_a_singular_hessian_is_degenerate(expression, start):
    result = autodiff.minimize(expression, start, optimizer="gd", steps=5)
    (point,) = result.critical_points
    assert result.symbolic_status == "solved"
    assert set(point.values.values()) == {0.0} and point.kind == "degenerate"


def test_a_family_is_complete_when_the_basis_is_its_graph():
    result = autodiff.minimize("(x+y)^2", {"x": 1, "y": 2}, optimizer="lbfgs")
    assert result.symbolic_status == "solved" and "family" in result.symbolic_message
    (point,) = result.critical_points
    assert point.family and point.exact == {"x": "-y", "y": "y"}


def test_a_circle_of_critical_points_is_partial():
    result = autodiff.minimize("(x^2+y^2-1)^2", {"x": 1, "y": 1}, optimizer="gd", steps=5)
    assert result.symbolic_status == "partial" and "infinitely many" in result.symbolic_message
    assert any(p.family for p in result.critical_points)


def test_a_variable_f_does_not_use_is_free():
    result = autodiff.minimize("x^2-2x", {"x": 0, "y": 0}, optimizer="gd", steps=5)
    assert result.symbolic_status == "solved" and "y free" in result.symbolic_message
    (point,) = result.critical_points
    assert point.family and point.exact == {"x": "1", "y": "y"}


def test_only_complex_solutions_is_solved_with_none():
    result = autodiff.minimize("x^3+x", {"x": 1}, optimizer="gd", steps=5)
    assert result.symbolic_status == "solved" and result.critical_points == []
    assert "no real critical point" in result.symbolic_message


# --- not polynomial: partial unless known complete ----------------------------------


def test_an_irrational_coefficient_is_partial():
    result = autodiff.minimize("x^2 + pi*y^2", {"x": 1, "y": 1}, optimizer="newton")
    assert result.symbolic_status == "partial" and "not polynomial" in result.symbolic_message
    (point,) = result.critical_points
    assert point.exact == {"x": "0", "y": "0"} and point.kind == "local minimum"


def test_one_variable_solveset_makes_it_complete():
    result = autodiff.minimize("exp(x)+exp(-x)", {"x": 1}, optimizer="newton")
    assert result.symbolic_status == "solved" and result.symbolic_method == "solveset"
    (point,) = result.critical_points
    assert point.exact == {"x": "0"} and point.kind == "local minimum" and point.value_exact == "2"


def test_a_periodic_set_lists_the_solutions_nearest_the_start():
    result = autodiff.minimize("cos(x)", {"x": 100}, optimizer="newton", steps=20)
    assert result.symbolic_status == "partial" and "periodic" in result.symbolic_message
    values = [p.values["x"] for p in result.critical_points]
    assert len(values) == 5 and all(abs(v - 100) < 3 * 2 * math.pi for v in values)
    for point in result.critical_points:
        assert math.sin(point.values["x"]) == pytest.approx(0, abs=1e-12)
        assert point.kind == ("local maximum" if math.cos(point.values["x"]) > 0 else "local minimum")


# --- more points than shown -----------------------------------------------------------


def test_more_than_twenty_critical_points_are_all_counted_and_the_nearest_shown():
    three = "0.5*(x^4-16x^2+5x+y^4-16y^2+5y+z^4-16z^2+5z)"
    result = autodiff.minimize(three, {"x": -3, "y": -3, "z": -3}, optimizer="newton")
    assert result.symbolic_status == "solved" and "all 27 real solutions" in result.symbolic_message
    assert len(result.critical_points) == optimizers.MAX_CRITICAL_POINTS
    assert any("27 critical points" in w for w in result.warnings)
    assert result.runs[0].critical_point is not None
    assert result.critical_points[result.runs[0].critical_point].kind == "local minimum"


# --- failures are honest statuses ------------------------------------------------------


def test_a_failure_in_the_solver_is_a_status_not_a_traceback(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(critical, "solve_gradient", broken)
    result = invoke("minimize", QUARTIC, "--from", "x=2", "--json")
    assert result.exit_code == 0
    assert '"status": "failed"' in result.stdout and "boom" in result.stdout


def test_a_failure_in_the_classifier_falls_back_to_autograd(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(critical, "classify", broken)
    points = autodiff.minimize(QUARTIC, {"x": 2}).critical_points
    assert [p.kind for p in points] == ["local minimum", "local maximum", "local minimum"]
    assert points[0].value == pytest.approx(-3.513905039, abs=1e-9)


def test_a_degree_past_the_limit_fails_honestly():
    result = autodiff.minimize("x^402 - x", {"x": 0.5}, optimizer="gd", steps=2)
    assert result.symbolic_status == "failed" and "degree 401" in result.symbolic_message


# --- a stalled run at the float64 floor -------------------------------------------------


def test_a_stalled_run_at_the_float64_floor_is_classified_by_its_hessian():
    result, payload = invoke_json("minimize", STYBLINSKI_TANG, "--from", "x=-3,y=-3", "--optimizer", "lbfgs,gd")
    lbfgs, gd = payload["optimizers"]
    assert gd["status"] == "converged" and gd["kind"] == "local minimum"
    assert lbfgs["status"] == "stalled" and result.exit_code == 1  # still stalled: --tol was not met
    assert lbfgs["gradient_norm"] > 1e-8
    # The oracle: the true minimiser, and the floor from its own Hessian (6x² − 16 on each axis).
    with mpmath.workdps(40):
        star = mpmath.findroot(lambda x: 2 * x**3 - 16 * x + mpmath.mpf(5) / 2, -2.9)
    curvature = float(6 * star**2 - 16)
    f_star = float(star**4 - 16 * star**2 + 5 * star)  # 0.5·(…) summed over two equal axes
    floor = math.sqrt(2 * curvature * 2.0**-52 * abs(f_star))
    assert lbfgs["gradient_norm"] < floor
    assert math.dist([lbfgs["point"]["x"], lbfgs["point"]["y"]], [float(star)] * 2) < 1e-8
    assert lbfgs["kind"] == "local minimum"
    assert "float64 floor" in lbfgs["message"] and f"{floor:.2g}" in lbfgs["message"]
    assert "classified by its Hessian: local minimum" in lbfgs["message"]
    minimum = payload["critical_points"]["points"][lbfgs["critical_point"]]
    assert minimum["kind"] == "local minimum" and minimum["values"]["x"] == pytest.approx(float(star), rel=1e-15)
    assert minimum["reached_by"] == ["lbfgs", "gd"]


def test_a_stalled_run_above_the_floor_is_not_a_critical_point():
    (run,) = autodiff.minimize(STYBLINSKI_TANG, {"x": -3, "y": -3}, optimizer="gd", steps=5).runs
    assert run.status == "stalled" and run.kind == "not a critical point"
    assert "floor" not in run.message


def test_the_floor_formula():
    import torch

    run = optimizers.Run("gd", 0.1, point={"x": 2.0}, value=-100.0, gradient_norm=1e-7)
    bound, f_term, spacing, smallest, eps = critical_points.float_floor(run, [50.0], torch.float64)
    assert eps == 2.0**-52 and smallest == 50.0
    assert f_term == pytest.approx(math.sqrt(2 * 50 * 2.0**-52 * 100))
    assert spacing == pytest.approx(50 * 2.0**-52 * 2)
    assert bound == max(f_term, spacing)
    assert critical_points.float_floor(run, [0.0, 50.0], torch.float64) is None  # singular: no floor


def test_a_stall_far_from_a_degenerate_critical_point_is_not_classified():
    # |f| = 1e12 puts the float64 floor high, but the quadratic model puts the critical point 0.003
    # away, where y^3's cubic term decides: the true one, (1, 0), is degenerate. Not classified.
    result, data = invoke_json("minimize", "1e12+(x-1)^2+y^3", "--from", "x=1,y=1", "--steps", "5000")
    (run,) = data["optimizers"]
    assert run["status"] == "stalled" and run["kind"] == "not a critical point"
    assert "classified by its Hessian" not in run["message"]
    (point,) = data["critical_points"]["points"]
    assert point["kind"] == "degenerate"
