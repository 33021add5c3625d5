"""autodiff taylor: coefficients against mpmath's Taylor series (an oracle
outside the code under test) and the exact forms SymPy should give."""

from __future__ import annotations

import json
import math

import mpmath

import autodiff
import pytest

from autodiff.commands.taylor import multi_indices, taylor
from helpers import invoke, strict_loads


def coefficients(result) -> list[float]:
    return [term.coefficient for term in result.terms]


@pytest.mark.parametrize(
    "expression, point, oracle",
    [
        ("exp(x)", 0, mpmath.exp),
        ("sin(x)", 0.5, mpmath.sin),
        ("log(1+x)", 0, lambda x: mpmath.log(1 + x)),
        ("1/(1-x)", 0.25, lambda x: 1 / (1 - x)),
        ("atan(x)", 1, mpmath.atan),
        ("sqrt(x)", 4, mpmath.sqrt),
    ],
)
def test_coefficients_match_mpmath(expression, point, oracle):
    mpmath.mp.dps = 40
    expected = [float(c) for c in mpmath.taylor(oracle, mpmath.mpf(point), 6)]
    result = taylor(expression, {"x": point}, order=6)
    assert result.agree is True
    for got, want in zip(coefficients(result), expected):
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
    for term, want in zip(result.terms, expected):  # SymPy's exact coefficient and the ball witness too
        assert math.isclose(term.symbolic_value, want, rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(float(term.exact), want, rel_tol=1e-15, abs_tol=1e-300)


def test_done_means_exp_at_zero_from_both_sides():
    result = taylor("exp(x)", ["x=0"], order=5)
    assert [term.symbolic for term in result.terms] == ["1", "1", "1/2", "1/6", "1/24", "1/120"]
    assert coefficients(result) == pytest.approx([1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120], rel=1e-15)
    assert result.polynomial == "1 + x + x**2/2 + x**3/6 + x**4/24 + x**5/120"
    assert result.polynomial_source == "symbolic"


def test_the_polynomial_is_written_lowest_degree_first():
    assert taylor("exp(x)", ["x=0"], order=3).polynomial == "1 + x + x**2/2 + x**3/6"
    assert taylor("sin(x)", ["x=0"], order=5).polynomial == "x - x**3/6 + x**5/120"
    assert taylor("log(1+x)", ["x=0"], order=4).polynomial == "x - x**2/2 + x**3/3 - x**4/4"


def test_an_exact_point_stays_exact():
    result = taylor("sin(x)", ["x=pi/4"], order=2)
    assert [term.symbolic for term in result.terms] == ["sqrt(2)/2", "sqrt(2)/2", "-sqrt(2)/4"]
    assert [term.monomial for term in result.terms] == ["1", "x - pi/4", "(x - pi/4)**2"]


def test_two_variables_to_total_degree_two():
    # f = exp(x)*sin(y) at (0, 0): the coefficients are ∂^α f / α! by hand.
    result = taylor("exp(x)*sin(y)", {"x": 0, "y": 0}, order=2)
    by_powers = {tuple(term.powers.values()): term for term in result.terms}
    assert set(by_powers) == {(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)}
    expected = {(0, 0): 0, (1, 0): 0, (0, 1): 1, (2, 0): 0, (1, 1): 1, (0, 2): 0}
    for powers, value in expected.items():
        assert by_powers[powers].coefficient == pytest.approx(value, abs=1e-15)
        assert by_powers[powers].symbolic == str(value)
    assert result.polynomial == "y + x*y"


def test_multi_indices_by_degree():
    assert multi_indices(2, 2) == [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]
    assert len(multi_indices(3, 4)) == math.comb(3 + 4, 4)


def test_a_kink_has_no_polynomial():
    result = taylor("abs(x)", {"x": 0}, order=2)
    assert result.polynomial is None
    assert any("no Taylor polynomial" in warning for warning in result.warnings)


def test_cli_table_json_and_errors():
    result = invoke("taylor", "exp(x)", "--at", "x=0", "--order", "3")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-2] == "f ≈ 1 + x + x^2/2 + x^3/6"
    assert "1/6" in result.stdout
    result = invoke("taylor", "cos(x)", "--at", "x=0", "-n", "4", "--json")
    payload = strict_loads(result.stdout)
    assert payload["command"] == "taylor" and payload["order"] == 4
    assert [term["symbolic"] for term in payload["terms"]] == ["1", "0", "-1/2", "0", "1/24"]
    assert payload["polynomial"] == "1 - x**2/2 + x**4/24" and payload["agree"] is True
    for args, message in [
        (["taylor", "x^2"], "needs the point"),
        (["taylor", "x^2", "--at", "x=[1,2]"], "one point"),
        (["taylor", "x*y", "--at", "x=1,y=2", "--plot"], "--plot draws f of one variable"),
        (["taylor", "x^2", "--at", "x=0", "--order", "101"], "limit"),
    ]:
        result = invoke(*args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.stderr)


def test_cli_plot_draws_f_and_polynomials():
    result = invoke("taylor", "sin(x)", "--at", "x=0", "--order", "5", "--plot", "--width", "60", "--height", "16")
    assert result.exit_code == 0
    assert "P₁ (Taylor mode)" in result.stdout and "P₅ (Taylor mode)" in result.stdout and "f(x) = sin(x)" in result.stdout
    payload = json.loads(invoke("taylor", "sin(x)", "--at", "x=0", "-n", "3", "--plot", "--range", "x=-1:1",
                                "--json").stdout)
    plot = payload["plot"]
    assert plot["start"] == -1 and plot["stop"] == 1 and len(plot["x"]) == len(plot["f"])
    cubic = next(p for p in plot["polynomials"] if p["degree"] == 3)["values"]
    assert cubic[-1] == pytest.approx(1 - 1 / 6) and plot["f"][-1] == pytest.approx(math.sin(1))


def test_definitions_reach_taylor():
    result = invoke("taylor", "g(x)", "-D", "g(t) = exp(2*t)", "--at", "x=0", "-n", "2", "--json")
    assert [term["symbolic"] for term in strict_loads(result.stdout)["terms"]] == ["1", "2", "2"]


def test_the_polynomial_keeps_powers_of_x_minus_a_unexpanded():
    assert taylor("x^3", ["x=1"], order=3).polynomial == "1 + 3*(x - 1) + 3*(x - 1)**2 + (x - 1)**3"
    assert taylor("exp(x)*y", ["x=1,y=0.5"], order=1).polynomial == "E/2 + (E/2)*(x - 1) + E*(y - 1/2)"


def test_a_decimal_point_is_exact_and_a_bare_value_names_the_one_variable():
    result = taylor("log(x)", ["0.1"], order=3)
    assert [term.symbolic for term in result.terms] == ["-log(10)", "10", "-50", "1000/3"]
    assert result.terms[1].monomial == "x - 1/10"


def test_many_variables_hit_the_term_limit_at_once():
    names = [f"v{i}" for i in range(11)]
    result = invoke("taylor", f"exp({'+'.join(names)})", "--at", ",".join(f"{n}=0" for n in names), "--order", "6")
    assert result.exit_code == 2 and "12376 coefficients" in result.stderr


def test_plot_json_writes_non_finite_values_as_strings():
    payload = strict_loads(invoke("taylor", "1/x", "--at", "x=0", "--plot", "--json").stdout)
    values = [value for polynomial in payload["plot"]["polynomials"] for value in polynomial["values"]]
    assert "nan" in values or "inf" in values or "-inf" in values
    payload = strict_loads(invoke("taylor", "log(x)", "--at", "x=0.1", "-n", "1", "--plot", "--json").stdout)
    assert "nan" in payload["plot"]["f"]  # log of x <= 0 on the default range 0.1 ± 2


def test_order_zero_is_the_value_alone_checked_exactly():
    # Nothing to differentiate: the one coefficient is f, judged by its exact value.
    result = autodiff.taylor("x^2*y", {"x": 1, "y": 2}, order=0)
    assert [term.coefficient for term in result.terms] == [2.0]
    assert result.value_exact == "2.0000000000000000e+00" and result.checked_by == "exact"
    constant = autodiff.taylor("5", {"x": 0}, order=3)
    assert constant.value_exact == "5.0000000000000000e+00" and constant.checked_by == "exact"


# -- Taylor mode (issue 28) ------------------------------------------------------------------------------


def test_done_means_the_geometric_series_and_fibonacci_exactly():
    geometric = strict_loads(invoke("taylor", "1/(1-x)", "--at", "x=0", "--order", "20", "--json").stdout)
    assert [term["coefficient"] for term in geometric["terms"]] == [1.0] * 21
    assert {term["exact"] for term in geometric["terms"]} == {"1.0000000000000000e+00"}
    assert geometric["agree"] is True and geometric["engine"] == "taylor mode"
    assert geometric["polynomial_source"] == "exact" and geometric["polynomial"].endswith(" + x**19 + x**20")
    result = invoke("taylor", "x/(1-x-x^2)", "--at", "x=0", "--order", "40", "--json")
    assert result.exit_code == 0
    fibonacci = [0, 1]
    while len(fibonacci) < 41:
        fibonacci.append(fibonacci[-1] + fibonacci[-2])
    payload = strict_loads(result.stdout)
    assert [term["coefficient"] for term in payload["terms"]] == fibonacci
    assert payload["terms"][40]["exact"] == "1.0233415500000000e+08" and payload["agree"] is True
    assert payload["polynomial"].endswith(" + 63245986*x**39 + 102334155*x**40")


def test_done_means_the_30th_derivative_of_exp_sin_to_a_40_digit_reference():
    mpmath.mp.dps = 45
    reference = mpmath.diff(lambda x: mpmath.exp(mpmath.sin(x)), mpmath.mpf("0.5"), 30)
    result = autodiff.grad("exp(sin(x))", {"x": 0.5}, order=30)
    derivative = result.gradient["x"]
    assert derivative.engine == "taylor mode" and derivative.agree is True and derivative.checked_by == "exact"
    assert math.isclose(derivative.autograd, float(reference), rel_tol=4e-16)
    assert math.isclose(float(derivative.exact), float(reference), rel_tol=2e-16)  # 17 digits
    alone = autodiff.grad("exp(sin(x))", {"x": 0.5}, order=30, symbolic=False)  # the ball series of f judges
    assert alone.gradient["x"].checked_by == "exact" and alone.gradient["x"].agree is True


def test_done_means_sech_to_order_8_and_order_100_of_five_functions():
    result = invoke("taylor", "sech(x)", "--at", "x=0", "--order", "8")
    assert result.exit_code == 0
    assert "f ≈ 1 - x^2/2 + 5*x^4/24 - 61*x^6/720 + 277*x^8/8064" in result.stdout
    deep = autodiff.taylor("exp(sin(atan(log(2 + tanh(x)))))", {"x": 0.3}, order=100)
    assert deep.agree is True and deep.autograd_order is None
    assert all(term.checked_by == "exact" for term in deep.terms)


def test_grad_order_n_is_taylor_modes_on_points_vectors_and_grids_and_autograd_on_request():
    payload = strict_loads(invoke("grad", "x^2*sin(y)", "--order", "3", "--at", "x=[0.1,0.2],y=0.5", "--json").stdout)
    assert {d["engine"] for d in payload["gradient"].values()} == {"taylor mode"}
    assert payload["gradient"]["y"]["autograd"] == pytest.approx([-0.01 * math.cos(0.5), -0.04 * math.cos(0.5)])
    nested = strict_loads(invoke("grad", "x^2*sin(y)", "--order", "3", "--at", "x=[0.1,0.2],y=0.5", "--json",
                                 "--engine", "autograd").stdout)
    assert "engine" not in nested["gradient"]["y"]
    assert nested["gradient"]["y"]["autograd"] == pytest.approx(payload["gradient"]["y"]["autograd"], rel=1e-14)
    grid = autodiff.grad("sin(x)*exp(y)", "x=0:1:3,y=0:1:3", order=4)
    assert grid.gradient["x"].engine == "taylor mode" and grid.agree is True
    result = invoke("grad", "exp(sin(x))", "--order", "6", "--at", "x=0.5")
    assert "Taylor mode" in result.stdout and "✓ Taylor mode and the exact value agree" in result.stdout


def test_a_kink_falls_back_to_nested_autograd_and_a_declared_function_to_autograd_or_an_error():
    kink = autodiff.grad("x*abs(x)", {"x": 0}, order=2)
    assert kink.gradient["x"].engine is None  # autograd's, with the kink report
    declared = ["grad", "f(x)^2", "-D", "f(t)=sin(t)", "--derivative", "f(t)=cos(t)", "--at", "x=1", "--order", "3"]
    assert invoke(*declared).exit_code == 0
    refused = invoke(*declared, "--engine", "taylor")
    assert refused.exit_code == 2 and "Taylor mode has no rule for f" in refused.stderr


def test_a_wrong_rule_is_caught_by_the_exact_series(monkeypatch):
    """The witness is independent: Taylor mode's sin made wrong at degree ≥ 3 is ✗, exit 1."""
    import sympy

    from autodiff.engine import taylor_mode

    right = taylor_mode.SeriesProgram.rules[sympy.sin]

    def wrong(u):
        series = right(u)
        series.c[..., 3:] *= 1.001
        return series

    monkeypatch.setitem(taylor_mode.SeriesProgram.rules, sympy.sin, wrong)
    result = autodiff.taylor("sin(x)", {"x": 0.5}, order=5, symbolic=False)
    assert result.exit_code == 1
    assert [term.agree for term in result.terms] == [True, True, True, False, False, False]


def test_a_removable_singularity_shows_the_limit_and_a_kink_no_coefficient():
    result = autodiff.taylor("sin(x)/x", {"x": 0}, order=4)
    assert [term.exact_source for term in result.terms] == ["limit"] * 5
    assert [float(term.exact) for term in result.terms] == pytest.approx([1, 0, -1 / 6, 0, 1 / 120])
    assert [term.coefficient for term in result.terms] == pytest.approx([1, 0, -1 / 6, 0, 1 / 120], rel=1e-15)
    assert all(math.isnan(term.taylor_mode) for term in result.terms)  # f as written has no value at 0
    assert result.polynomial == "1 - x**2/6 + x**4/120" and result.agree is None and result.exit_code == 0
    assert any("removable singularity" in warning for warning in result.warnings)
    kink = autodiff.taylor("abs(x)", {"x": 0}, order=2)
    assert [term.differentiable for term in kink.terms] == [None, False, False]
    assert any("does not exist at the point" in warning for warning in kink.warnings)


def test_several_variables_are_judged_exactly_to_degree_four():
    result = autodiff.taylor("exp(x)*cos(y) + x/(1+y)", {"x": 0.5, "y": 0.25}, order=4, symbolic=False)
    assert result.agree is True and len(result.terms) == 15
    assert all(term.checked_by == "exact" for term in result.terms)


def test_a_negative_unit_coefficient_keeps_its_brackets():
    assert taylor("1 - x", ["x=2"], order=1).polynomial == "-1 - (x - 2)"
    assert taylor("sin(x)", ["x=pi"], order=3).polynomial == "-(x - pi) + (x - pi)**3/6"


def test_a_pole_carried_by_a_function_is_removable_by_sympys_series():
    result = autodiff.taylor("x*cot(x)", {"x": 0}, order=4)
    assert result.polynomial == "1 - x**2/3 - x**4/45" and result.exit_code == 0
    assert [term.exact_source for term in result.terms] == ["limit"] * 5  # of f as written: undefined at 0
    for text, at in [("1/x", 0), ("log(x)", -1)]:  # a pole and a point outside the domain: no series, no crash
        result = autodiff.taylor(text, {"x": at}, order=2)
        assert result.polynomial is None and result.exit_code == 0
        assert "no Taylor polynomial: f has no value at the point" in result.warnings[-1]


@pytest.mark.parametrize("text", ["cos(x)*cosh(x)", "exp(x)*sin(x)"])
def test_a_zero_coefficient_among_non_zero_ones_is_judged_at_their_scale(text):
    # 28!·c₂₈ of exp(x)·sin(x) rounds to 1e-9 where it is 0; its neighbours are 1e-25 as coefficients.
    assert autodiff.taylor(text, {"x": 0}, order=40).agree is True


def test_taylor_mode_keeps_its_digits_for_sinc_near_0_and_tanh_far_out():
    mpmath.mp.dps = 40
    for text, point, oracle in [("sinc(x)", 1e-5, lambda x: mpmath.sin(x) / x), ("tanh(x)", 20, mpmath.tanh),
                                ("sigmoid(x)", 20, lambda x: 1 / (1 + mpmath.exp(-x)))]:
        expected = [float(c) for c in mpmath.taylor(oracle, mpmath.mpf(point), 6)]
        got = [term.coefficient for term in taylor(text, {"x": point}, order=6, symbolic=False).terms]
        for g, e in zip(got, expected):
            assert math.isclose(g, e, rel_tol=1e-12, abs_tol=1e-300), (text, got, expected)


def test_an_order_or_exponent_that_varies_is_differentiated_too():
    # root(2, n) = 2^(1/n): its series in n is not 0 beyond the value (both engines once said so).
    result = autodiff.taylor("root(2, n)", {"n": 3}, order=3, symbolic=False)
    mpmath.mp.dps = 30
    expected = [float(c) for c in mpmath.taylor(lambda n: mpmath.mpf(2) ** (1 / n), 3, 3)]
    assert [term.coefficient for term in result.terms] == pytest.approx(expected, rel=1e-13)
    assert result.agree is True
    vector = autodiff.grad("root(x, n)", "x=[8,16], n=[3,4]", wrt="x", order=2)
    assert vector.agree is True and list(vector.gradient["x"].autograd) == pytest.approx(
        [-2 / 9 * 8 ** (1 / 3 - 2), -3 / 16 * 16 ** (1 / 4 - 2)], rel=1e-13)
    cube = autodiff.grad("x^n", "x=[-1,-2], n=3", wrt="x", order=2)
    assert cube.agree is True and list(cube.gradient["x"].autograd) == [-6.0, -12.0]


def test_branches_that_tie_keep_the_degrees_where_they_agree():
    result = autodiff.taylor("max(x, sin(x))", {"x": 0}, order=3, symbolic=False)
    assert [term.coefficient for term in result.terms][:3] == [0.0, 1.0, 0.0]
    assert math.isnan(result.terms[3].coefficient) and result.terms[3].differentiable is False
    assert autodiff.taylor("max(x, sin(x))", {"x": 0}, order=2).polynomial == "x"


def test_an_overflow_is_a_disagreement_not_a_removable_singularity():
    result = autodiff.taylor("exp(x)", {"x": 1000}, order=1, symbolic=False)
    assert result.exit_code == 1 and not any("removable" in warning for warning in result.warnings)


def test_high_orders_at_a_kink_and_past_series_work_fall_back_or_stand():
    # Nested autograd at order 40 would pass graph-nodes: Taylor mode's answer stands, nan at the kink.
    result = autodiff.grad("abs(x-1)*exp(sin(x))", "x=[0.5,1]", order=40, symbolic=False)
    derivative = result.gradient["x"]
    assert derivative.engine == "taylor mode" and derivative.agree is True and math.isnan(derivative.autograd[1])
    # Past series-work, auto hands the derivative to nested autograd; --engine taylor refuses.
    limits = {"series-work": 10}
    assert autodiff.grad("exp(x)", {"x": 0.5}, order=2, limits=limits).gradient["x"].engine is None
    with pytest.raises(autodiff.AutodiffError, match="series-work"):
        autodiff.grad("exp(x)", {"x": 0.5}, order=2, limits=limits, engine="taylor")


def test_finite_differences_alone_check_no_derivative_above_order_6():
    high = autodiff.grad("exp(sin(x))", {"x": 0.5}, order=60, symbolic=False, exact=False)
    assert high.gradient["x"].agree is None and high.exit_code == 0
    assert any("finite differences cannot check a derivative of order above 6" in w for w in high.warnings)
    low = autodiff.grad("exp(sin(x))", {"x": 0.5}, order=5, symbolic=False, exact=False)
    assert low.gradient["x"].agree is True and low.checked_by == "numeric"
