"""Refusals decided by counted work, never by a clock (design §16, issue 24).

A nested derivative is bounded by the nodes autograd records (`graph-nodes`),
counted from autograd's own node numbers and predicted from their counted
growth; a run of `minimize` by the graph nodes its evaluations count. The
same input gets the same exit code and the same message idle and under load:
the last test runs the same commands twice, once beside processes that keep
every core busy. `autograd-seconds` is a separate wall-clock timeout, off
unless set.

The node figures are torch's (2.13 here): a torch with other backward
formulas records other counts, the same on every machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time

import pytest

import autodiff
from autodiff.errors import LimitError
from autodiff.limits import DEFAULT_LIMITS, as_limits
from helpers import invoke, strict_loads

FIVE = "sin(x)*exp(x)*cos(x)*tanh(x)*log(2+x)"
# Nested autograd (--engine autograd): Taylor mode takes --order N by default, and counts no graph.
FIVE_14 = ("grad", FIVE, "--order", "14", "--at", "x=0.3", "--no-symbolic", "--engine", "autograd")
FIVE_14_REFUSAL = (
    "autograd's derivative of order 14 would record about 13,000,000 graph nodes (counted: 2,421 by order 5, which "
    "recorded 1,615, 3× as many as order 4; predicted: orders 6 to 13 at ×2.9 each): more than the limit of "
    "1,000,000 graph nodes; lower the order, or raise it with --limit graph-nodes=88000000 (an upper estimate: the "
    "growth per order rising to ×4.5 by order 13)"
)
# The other clocks (SymPy's timeout, its build time) are raised out of the way:
# the load test is about the limits that are counted.
SECH_8 = ("taylor", "sech(x)", "--at", "x=0", "--order", "8", "--symbolic-timeout", "120", "--limit", "build-seconds=120")
MINIMIZE = ("minimize", "x^2+y^2", "--from", "x=1,y=1", "--optimizer", "gd,newton,lbfgs", "--steps", "1000000",
            "--lr", "1e-9", "--limit", "graph-nodes=1000", "--no-symbolic", "--json")


def counts(expression: str, order: int, value=0.3, dtype="float64"):
    """The nodes each order of the nested derivative recorded, by Budget."""
    import torch

    from autodiff.engine.calculus import Budget, derivative
    from autodiff.engine.lowering import compile_expression
    from autodiff.language.parsing import parse_expression

    program = compile_expression(parse_expression(expression))
    x = torch.tensor(value, dtype=getattr(torch, dtype)).requires_grad_(True)
    budget = Budget(nodes=None)
    result = derivative(program({"x": x}, x.dtype).expand(x.shape), {"x": x}, ["x"] * order, None, budget)
    return budget.counts, budget.recorded, result


# -- counting ------------------------------------------------------------------------------------------


def test_each_order_counts_the_nodes_autograd_recorded():
    recorded, total, _ = counts(FIVE, 6)
    assert recorded == [20, 66, 184, 536, 1615]  # order 6, the last, records no graph
    assert total == 2421


@pytest.mark.parametrize("value, dtype", [(2.0, "float64"), ([0.1, 0.2, 0.3], "float64"), (0.3, "float32")])
def test_the_counts_depend_on_the_expression_alone(value, dtype):
    """Not on the point, its shape, the dtype or the machine: a count, not a time."""
    assert counts(FIVE, 6, value, dtype)[:2] == ([20, 66, 184, 536, 1615], 2421)


def test_an_expression_without_growth_counts_without_growth():
    assert counts("x^5", 20)[:2] == ([3, 3, 3, 3, 3, 0], 15)  # then a constant: nothing more to record, or count
    assert counts("exp(x)", 20)[:2] == ([1] * 19, 19)


def test_counting_costs_no_pass_over_the_graph():
    """The count is two readings of autograd's node numbers: no Python object
    per node (which a deep graph's teardown would recurse through)."""
    import torch

    from autodiff.engine.calculus import autograd_counter

    first = autograd_counter()
    x = torch.tensor(1.0, requires_grad=True)
    y = (x * 2).sin().exp()
    assert y.grad_fn._sequence_nr() - first == 3  # mul, sin, exp
    assert autograd_counter() == first + 4  # the second reading's own node: the next number


# -- the limit graph-nodes -----------------------------------------------------------------------------


def test_the_order_14_product_is_refused_with_counted_figures():
    result = invoke(*FIVE_14)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == f"error: {FIVE_14_REFUSAL}"
    result = invoke(*FIVE_14, "--json")
    assert result.exit_code == 2
    assert strict_loads(result.stdout) == {"error": {"type": "limit_exceeded", "message": FIVE_14_REFUSAL}}


def test_the_suggested_limit_is_what_the_message_predicts():
    with pytest.raises(LimitError) as caught:
        autodiff.grad(FIVE, {"x": 0.3}, order=14, symbolic=False, engine="autograd")
    assert str(caught.value) == FIVE_14_REFUSAL
    assert caught.value.exit_code == 2


def test_the_order_11_product_is_under_the_default_and_order_12_is_not():
    """Orders 1 to 10 record 870,665 nodes: under 1,000,000, and predicted so
    from order 5 on. Order 12 is refused at order 5, before 0.1 s of work."""
    from autodiff.engine.calculus import Budget

    figures = [20, 66, 184, 536, 1615, 5014, 16021, 52656, 177871, 616682]  # counted once (30 s of autograd)
    under = Budget(nodes=DEFAULT_LIMITS.max_graph_nodes)
    for done, count in enumerate(figures, start=1):
        under.step(count, done, 11)
    assert under.recorded == 870_665
    over = Budget(nodes=DEFAULT_LIMITS.max_graph_nodes)
    with pytest.raises(LimitError) as caught:
        for done, count in enumerate(figures, start=1):
            over.step(count, done, 12)
    assert over.counts == figures[:5]
    assert str(caught.value).startswith(
        "autograd's derivative of order 12 would record about 1,600,000 graph nodes (counted: 2,421 by order 5, "
    )


def test_taylor_sech_order_8_passes():
    result = invoke(*SECH_8, "--json")
    assert result.exit_code == 0, result.stdout
    report = strict_loads(result.stdout)
    assert report["polynomial"] == "1 - x**2/2 + 5*x**4/24 - 61*x**6/720 + 277*x**8/8064"
    assert report["agree"] is True
    coefficients = {term["monomial"]: term["coefficient"] for term in report["terms"]}
    assert coefficients["x**8"] == pytest.approx(277 / 8064, rel=1e-12)
    assert coefficients["x**6"] == pytest.approx(-61 / 720, rel=1e-12)


def test_exp_sin_order_10_passes():
    import sympy

    result = autodiff.grad("exp(sin(x))", {"x": 0.3}, order=10)
    assert result.exit_code == 0
    x = sympy.Symbol("x")
    exact = float(sympy.diff(sympy.exp(sympy.sin(x)), x, 10).subs(x, sympy.Rational(3, 10)).evalf(30))
    assert result.gradient["x"].autograd == pytest.approx(exact, rel=1e-12)
    assert counts("exp(sin(x))", 10)[1] == 11_157  # a hundredth of the limit


def test_graph_nodes_bounds_a_mixed_partial_and_names_the_limit():
    with pytest.raises(LimitError) as caught:
        autodiff.partial("sin(x*y)*exp(x+y)", {"x": 0.3, "y": 0.2}, wrt=["x", "y", "x", "y"], limits={"graph-nodes": 50})
    message = str(caught.value)
    assert message.startswith("autograd's derivative of order 4 would record about ")
    assert "more than the limit of 50 graph nodes; lower the order, or raise it with --limit graph-nodes=" in message


def test_one_count_for_every_derivative_of_a_command():
    """∂⁸f/∂x⁸ and ∂⁸f/∂y⁸ share the limit: the second is refused by what both recorded."""
    args = ("grad", "sin(x)*exp(y)*cos(x*y)*tanh(x+y)", "--order", "8", "--at", "x=0.3,y=0.2", "--no-symbolic",
            "--engine", "autograd")
    result = invoke(*args, "--limit", "graph-nodes=11000")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: autograd's derivative of order 8 would record about 15,000 graph nodes (counted: 10,231, 7,709 of "
        "them by the derivatives before this one; order 6 recorded 1,587, 2.7× as many as order 5; predicted: order 7 "
        "at ×2.7): more than the limit of 11,000 graph nodes; lower the order, or raise it with --limit "
        "graph-nodes=15000 (an upper estimate: the growth per order rising to ×2.9 by order 7)"
    )
    assert invoke(*args, "--limit", "graph-nodes=15000").exit_code == 0


def test_the_one_sided_derivatives_at_a_kink_are_counted_too():
    import torch

    from autodiff.witnesses.kinks import find_kinks
    from autodiff.engine.lowering import compile_expression
    from autodiff.language.parsing import parse_expression

    expr = parse_expression(f"abs(x)*{FIVE}")
    values = {"x": torch.tensor(0.0, dtype=torch.float64)}
    with pytest.raises(LimitError, match=r"more than the limit of 100 graph nodes; .* --limit graph-nodes="):
        find_kinks(compile_expression(expr), [expr], values, [(0, ["x"] * 6)], None, None, 100)
    kinks = find_kinks(compile_expression(expr), [expr], values, [(0, ["x"] * 3)])  # the default: enough
    assert kinks is not None and bool(kinks.mask.all())


# -- the suggested limit: an upper estimate -------------------------------------------------------------

# The nodes each order records, counted once with Budget (torch 2.13): the
# product to order 12 (orders 1 to 12 are the graphs of order 13's
# derivative: 260 s and 9 GB of autograd), and growths that rise (exp(sin(x)),
# tan, log(1+x^2)), level off (sech) and fall (erf).
FIGURES = {
    FIVE: [20, 66, 184, 536, 1615, 5014, 16021, 52656, 177871, 616682, 2190073, 7947556],
    "exp(sin(x))": [3, 10, 26, 65, 161, 401, 1013, 2609, 6869, 18497, 50885, 142673, 406517, 1173473, 3422117],
    "tan(x)": [3, 6, 14, 33, 79, 191, 470, 1189, 3109, 8399, 23340, 66325, 191635, 560319, 1651938],
    "log(1+x^2)": [4, 14, 40, 111, 348, 1213, 4549, 17667, 69706, 276843, 1102858, 4400113],
    "sech(x)": [13, 33, 102, 381, 1520, 6172, 25120, 102032, 413232, 1669056],
    "erf(x)": [5, 5, 14, 32, 62, 112, 193, 328, 555, 943, 1611, 2767, 4770, 8239, 14236, 24578, 42364, 72866, 125031],
}


def replay(figures, order: int, nodes: int):
    """Budget's decisions on counted figures for the derivative of `order`:
    None when it passes, else the limit the refusal suggests."""
    import re

    from autodiff.engine.calculus import Budget

    budget = Budget(nodes=nodes)
    try:
        for done, count in enumerate(figures[:order - 1], start=1):
            budget.step(count, done, order)
    except LimitError as error:
        return int(re.search(r"--limit graph-nodes=(\d+)", str(error)).group(1))
    return None


def test_following_the_suggested_limit_once_is_enough_for_the_order_13_product():
    figures = FIGURES[FIVE]
    recorded = sum(figures)  # orders 1 to 12: the graphs order 13 differentiates
    assert recorded == 11_008_294
    suggested = replay(figures, 13, DEFAULT_LIMITS.max_graph_nodes)
    assert suggested == 20_000_000 >= recorded
    assert replay(figures, 13, suggested) is None
    # The decision's own prediction (the suggestion before) was not enough: the growth rises.
    assert replay(figures, 13, 4_400_000) is not None


def test_the_suggested_limit_for_the_order_14_product_leaves_room_for_a_rising_growth():
    """Order 14 records some 40,000,000 nodes (order 13 alone, at the ×3.6 and
    rising of order 12, about 29,000,000): 15 minutes and 35 GB of autograd,
    not run here. Its suggested limit passes every decision the counted
    orders take, and leaves order 13 room for a growth of ×9."""
    suggested = int(FIVE_14_REFUSAL.rpartition("graph-nodes=")[2].split(" ")[0])
    assert suggested == replay(FIGURES[FIVE], 14, DEFAULT_LIMITS.max_graph_nodes) == 88_000_000
    assert replay(FIGURES[FIVE], 14, suggested) is None
    assert suggested - sum(FIGURES[FIVE]) > 9 * FIGURES[FIVE][-1]
    assert replay(FIGURES[FIVE], 14, 13_000_000) is not None  # the suggestion before: refused again, at order 6


@pytest.mark.parametrize("expression", list(FIGURES))
def test_following_the_suggested_limit_once_is_enough(expression):
    """From the default limit and from lowered ones, for every order whose
    graphs were counted: refused, then raised once to the suggestion, it passes."""
    figures = FIGURES[expression]
    for order in range(2, len(figures) + 2):
        for limit in (DEFAULT_LIMITS.max_graph_nodes, 10_000, 100_000):
            suggested = replay(figures, order, limit)
            if suggested is not None:
                assert suggested >= sum(figures[:order - 1]), (order, limit)
                assert replay(figures, order, suggested) is None, (order, limit, suggested)


def test_the_suggested_limit_is_at_least_what_the_derivative_records():
    """Run to completion: the order 9 product, refused under a lowered limit,
    passes at the suggested one, having recorded fewer nodes."""
    from autodiff.engine.calculus import Budget

    args = ("grad", FIVE, "--order", "9", "--at", "x=0.3", "--no-symbolic", "--no-exact", "--engine", "autograd")
    result = invoke(*args, "--limit", "graph-nodes=10000")
    assert result.exit_code == 2
    suggested = int(result.stderr.rpartition("graph-nodes=")[2].split(" ")[0])
    budget = Budget(nodes=suggested)
    answer = autodiff.grad(FIVE, {"x": 0.3}, order=9, symbolic=False, exact=False, budget=budget, engine="autograd")
    assert answer.exit_code == 0
    assert budget.recorded == 76_112 <= suggested
    assert suggested == 85_000


# -- one count for a command of several derivatives: taylor --------------------------------------------


FIVE_TAYLOR_14 = ("taylor", FIVE, "--at", "x=0.3", "--order", "14")


def test_taylor_answers_by_taylor_mode_and_drops_nested_autograd_as_soon_as_it_is_predicted_past_its_limit():
    """Each coefficient of degree 2 to 14 differentiates the product again: all
    of them count against the witness's one limit, and the ones still to come
    are predicted from the growth counted so far. Given the limit graph-nodes
    (1,000,000), nested autograd is dropped at the coefficient of degree 6,
    after 3,603 nodes; Taylor mode answers every coefficient, judged exactly."""
    from autodiff.engine.calculus import Budget

    result = invoke(*FIVE_TAYLOR_14, "--json")
    assert result.exit_code == 0
    payload = strict_loads(result.stdout)
    assert payload["engine"] == "taylor mode" and payload["autograd_order"] is None and payload["agree"] is True
    assert all(term["autograd"] is None and term["checked_by"] == "exact" for term in payload["terms"])
    assert payload["notes"][0] == (
        "nested autograd is not shown: to degree 14 its graph would pass the limit of 50,000 graph nodes "
        "(raise it with --limit taylor-autograd-nodes=N)"
    )
    budget = Budget(nodes=DEFAULT_LIMITS.max_graph_nodes)
    expansion = autodiff.taylor(FIVE, {"x": 0.3}, order=14, symbolic=False, budget=budget)
    assert expansion.autograd_order is None and expansion.exit_code == 0
    assert budget.recorded == 3_603  # the coefficients of degree 2 to 6: 20 + 86 + 270 + 806 + 2,421


def test_taylor_counts_every_coefficient_of_its_autograd_witness_against_one_limit():
    """Degree 8: each coefficient alone records at most 23,456 nodes (the 8th
    derivative's), all of them 34,494; a limit of 30,000 is the command's."""
    from autodiff.engine.calculus import Budget

    budget = Budget(nodes=36_000)
    expansion = autodiff.taylor(FIVE, {"x": 0.3}, order=8, symbolic=False, budget=budget)
    assert expansion.exit_code == 0 and expansion.autograd_order == 8
    assert budget.recorded == sum(sum(FIGURES[FIVE][:degree - 1]) for degree in range(2, 9)) == 34_494
    assert all(term.autograd_agree for term in expansion.terms[1:])
    dropped = autodiff.taylor(FIVE, {"x": 0.3}, order=8, symbolic=False, limits={"taylor-autograd-nodes": 30_000})
    assert dropped.autograd_order is None and dropped.exit_code == 0
    assert [term.coefficient for term in dropped.terms] == [term.coefficient for term in expansion.terms]


def test_taylor_to_order_20_is_taylor_modes_where_nested_autograd_would_record_over_a_million_nodes():
    """exp(-x^2) to degree 20: nested autograd would record 1,224,840 nodes
    (17 s); Taylor mode answers, each coefficient judged by the ball series."""
    result = invoke("taylor", "exp(-x^2)", "--at", "x=0.5", "--order", "20", "--no-symbolic", "--json")
    assert result.exit_code == 0
    payload = strict_loads(result.stdout)
    assert payload["autograd_order"] is None and payload["agree"] is True
    assert {term["exact_source"] for term in payload["terms"]} == {"ball series"}


def test_derivatives_given_one_budget_share_its_count():
    """The API's budget=: two calls, one command's count."""
    from autodiff.engine.calculus import Budget

    budget = Budget(nodes=3_000)
    autodiff.partial(FIVE, {"x": 0.3}, wrt=["x"] * 6, symbolic=False, exact=False, budget=budget, engine="autograd")
    assert budget.recorded == 2_421
    with pytest.raises(LimitError) as caught:
        autodiff.partial(FIVE, {"x": 0.3}, wrt=["x"] * 6, symbolic=False, exact=False, budget=budget,
                         engine="autograd")
    assert "(counted: 2,691, 2,421 of them by the derivatives before this one; order 3 recorded 184" in str(caught.value)


# -- minimize ------------------------------------------------------------------------------------------


def test_a_minimize_run_stops_at_the_same_step_by_count():
    runs = [autodiff.minimize("x^2+y^2", {"x": 1, "y": 1}, optimizer="gd", lr=1e-9, steps=1_000_000, symbolic=False,
                              limits={"graph-nodes": 3000}).runs[0] for _ in range(2)]
    assert [(run.status, run.steps, run.evaluations) for run in runs] == [("stalled", 500, 501)] * 2
    assert runs[0].message == runs[1].message == (
        "stopped after 500 steps: 501 evaluations of f and ∇f (6 graph nodes each) counted 3,006 graph nodes, more "
        "than the limit of 3,000 on one optimiser's run (‖∇f‖ = 2.828424 > 1e-08); fewer --steps, another --lr, or "
        "raise it with --limit graph-nodes=N"
    )


def test_minimize_by_default_is_not_stopped_by_a_count():
    result = autodiff.minimize("(1-x)^2 + 100*(y-x^2)^2", {"x": -1.2, "y": 1}, optimizer="lbfgs", steps=5000,
                               symbolic=False)
    assert result.runs[0].status == "converged"


# -- autograd-seconds: a wall-clock timeout, off unless set -----------------------------------------------


def test_autograd_seconds_is_off_by_default_and_says_it_is_a_clock():
    assert DEFAULT_LIMITS.max_autograd_seconds is None
    assert as_limits(["autograd-seconds=30"]).max_autograd_seconds == 30.0
    with pytest.raises(LimitError) as caught:
        autodiff.grad(FIVE, {"x": 0.3}, order=4, symbolic=False, limits={"autograd-seconds": 1e-9}, engine="autograd")
    message = str(caught.value)
    assert message.startswith("autograd's derivative of order 4 was stopped after order 1: ")
    assert "of wall-clock time, past the wall-clock timeout of 1e-09 s (--limit autograd-seconds; where a timeout " \
           "stops depends on the machine and its load); lower the order, or raise it with --limit autograd-seconds=N" \
           in message


# -- idle and under load: the same exit code, the same message ----------------------------------------------


@contextlib.contextmanager
def every_core_busy():
    """A process spinning on each core (and one more) while the block runs."""
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range((os.cpu_count() or 2) + 1)
    ]
    try:
        time.sleep(0.2)  # let them reach their loops
        yield
    finally:
        for burner in burners:
            burner.kill()
        for burner in burners:
            burner.wait()


def outcome(args):
    """Exit code, stdout and stderr; in minimize's JSON, its time column
    (`seconds`) alone is masked."""
    result = invoke(*args)
    stdout = result.stdout
    if args[0] == "minimize":
        report = json.loads(stdout)
        for run in report["optimizers"]:
            run["seconds"] = "masked"
        stdout = json.dumps(report, sort_keys=True)
    return result.exit_code, stdout, result.stderr


def test_the_same_commands_give_the_same_answers_idle_and_under_load():
    commands = [FIVE_14, SECH_8, MINIMIZE]
    idle = [outcome(args) for args in commands]
    with every_core_busy():
        loaded = [outcome(args) for args in commands]
    assert loaded == idle
    (refused, _, refusal), (answered, taylor, _), (stalled, minimized, _) = idle
    assert (refused, answered, stalled) == (2, 0, 1)
    assert refusal.strip() == f"error: {FIVE_14_REFUSAL}"
    assert "f ≈ 1 - x^2/2 + 5*x^4/24 - 61*x^6/720 + 277*x^8/8064" in taylor
    runs = json.loads(minimized)["optimizers"]
    assert [(run["optimizer"], run["status"], run["steps"]) for run in runs] == [
        ("gd", "stalled", 166), ("newton", "stalled", 42), ("lbfgs", "stalled", 14),
    ]
    # lbfgs's line search evaluates f many times a step: 170 evaluations by step 14.
    assert "stopped after 14 steps: 170 evaluations of f and ∇f (6 graph nodes each) counted 1,020 graph nodes" in (
        runs[2]["message"]
    )
