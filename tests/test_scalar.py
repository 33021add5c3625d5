"""The scalar path (autodiff.commands.scalar) beside the general path.

`grad` at one point of plain numbers is answered by the scalar path
(SymEngine trees, plain floats, balls) where every witness agrees and
nothing needs explaining; the general path (SymPy trees, tensors) answers
everything else. Here both answer the same random expressions: the
verdict, the printed expression and derivatives, and the exact values must
be the same, and the floats the same to their last few digits (the two
paths may sum a sum's terms in another order). tests/test_oracle.py checks
both against an independent oracle.
"""

from __future__ import annotations

import math
import random

import pytest

from autodiff.commands import api, scalar
from autodiff.commands.prepare import scope_of

SMOOTH = ["sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "atan", "asin", "sinh", "cosh", "erf", "asinh",
          "sec", "cot", "acot", "erfc", "gamma", "lgamma", "atanh", "coth", "acos", "csc", "acosh"]


def expression(rng: random.Random, depth: int, names: list[str]) -> str:
    """A random expression of the language's smooth core (sums, products,
    quotients, powers, compositions, integer, rational and decimal constants)."""
    if depth == 0:
        if rng.random() < 0.7:
            return rng.choice(names)
        return rng.choice([str(rng.randint(1, 9)), f"{rng.randint(1, 9)}/{rng.randint(2, 9)}", f"0.{rng.randint(1, 9)}",
                           "pi", "e"])
    kind = rng.random()
    a, b = expression(rng, depth - 1, names), expression(rng, depth - 1, names)
    if kind < 0.2:
        return f"{a} {rng.choice('+-')} {b}"
    if kind < 0.4:
        return f"({a})*({b})"
    if kind < 0.5:
        return f"({a})/({b} + {rng.randint(2, 9)})"
    if kind < 0.6:
        return f"({a})^{rng.choice(['2', '3', '-1', '-2', '1/2', '3/2', 'x'])}"
    if kind < 0.7:
        return f"{rng.randint(2, 9)}*{a}^{rng.randint(2, 4)} {rng.choice('+-')} {rng.randint(1, 9)}*{b}"
    return f"{rng.choice(SMOOTH)}({a})"


def general(text: str, at: dict, monkeypatch) -> object:
    """The general path's answer (the scalar path turned off)."""
    with monkeypatch.context() as patch:
        patch.setattr(scalar, "grad", lambda *args, **kwargs: None)
        return api.grad(text, at)


def close(a: float, b: float, rtol: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=rtol, abs_tol=1e-300)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_scalar_path_answers_as_the_general_path(seed, monkeypatch):
    rng = random.Random(seed)
    answered = 0
    for _ in range(120):
        names = ["x", "y"] if rng.random() < 0.3 else ["x"]
        text = expression(rng, rng.randint(1, 3), names)
        at = {"x": rng.choice([0.3, 0.5, 1.7, -0.4]), "y": rng.choice([0.25, 1.5])} if "y" in names else \
            {"x": rng.choice([0.3, 0.5, 1.7, -0.4])}
        fast = scalar.grad(text, [",".join(f"{k}={v}" for k, v in at.items())], None, 1, None, api.Options())
        if fast is None:
            continue
        answered += 1
        slow = general(text, at, monkeypatch)
        label = f"{text} at {at}"
        assert fast.agree is True and fast.warnings == [] and fast.checked_by == "exact", label
        assert slow.agree is True, (label, slow.warnings)
        assert fast.expression == slow.expression, label
        assert list(fast.gradient) == list(slow.gradient), label
        assert close(fast.value, slow.value, 1e-13), label
        # The exact values agree to every printed digit, but where a decimal
        # constant was folded (0.9*9 is the double nearest 8.1 on both paths, in other orders).
        exact = str.__eq__ if "." not in text else lambda a, b: close(float(a), float(b), 1e-15)
        assert exact(fast.value_exact, slow.value_exact), label
        for name, mine in fast.gradient.items():
            theirs = slow.gradient[name]
            assert mine.symbolic == theirs.symbolic, label
            assert exact(mine.exact, theirs.exact), label
            assert (mine.agree, mine.numeric_agree, mine.checked_by, mine.accurate) == (True, True, "exact", True)
            assert close(mine.autograd, theirs.autograd, 1e-12), label
            assert close(mine.symbolic_value, theirs.symbolic_value, 1e-12), label
            # finite differences on floats and on tensors: the same stencil, roundings of their own
            assert abs(mine.numeric - theirs.numeric) <= 1e-6 * abs(theirs.numeric) + 1e-9, label
            assert abs(mine.exact_digits - theirs.exact_digits) <= 3, label
    assert answered >= 50  # the path is exercised, not always refused


@pytest.mark.parametrize("text, at", [
    ("abs(x)", "x=0.5"),  # kinks are the general path's
    ("sqrt(x^2)", "x=0.5"),  # |x| to SymPy: our variables are real
    ("sin(atan(x))", "x=0.5"),  # x/sqrt(x**2 + 1) to SymPy
    ("log(exp(x))", "x=0.5"),
    ("exp(2*log(x))", "x=0.5"),
    ("sqrt(8)*x", "x=0.5"),  # 2*sqrt(2)*x to SymPy
    ("sin(pi/6)*x", "x=0.5"),
    ("sigmoid(x)", "x=0.5"),  # our own functions
    ("where(x > 0, x, -x)", "x=0.5"),
    ("x^2", "x=[1,2]"),  # a vector point
    ("log(x)", "x=0"),  # outside the domain: warnings to give
    ("sqrt(x)", "x=0"),  # an infinite derivative
    ("x^2 + y", "x=1"),  # a missing value: an error to report
    ("x^", "x=1"),  # a parse error to report
    ("(1 + 1e-20)^(1e20)*x", "x=1"),  # the general path's exact powers
])
def test_what_the_scalar_path_leaves_to_the_general_path(text, at):
    assert scalar.grad(text, [at], None, 1, None, api.Options()) is None


@pytest.mark.parametrize("options", [
    {"dtype": "float32"}, {"exact": False}, {"symbolic": False}, {"grad_output": [2.0]}, {"frozen": "y"},
    {"define": ["a = 2"]},
])
def test_options_the_scalar_path_does_not_take(options):
    settings = api.Options(**{k: v for k, v in options.items() if k != "define"},
                           scope=scope_of(options.get("define")))
    assert scalar.grad("x^2 + y", ["x=1,y=2"], None, 1, None, settings) is None
    assert scalar.grad("x^2 + y", ["x=1,y=2"], None, 2, None, api.Options()) is None  # --order 2
    assert scalar.grad("x^2 + y", ["x=1,y=2"], None, 1, ["x"], api.Options()) is None  # --wrt


def test_the_scalar_path_answers_the_headline_example_exactly():
    result = scalar.grad("6*x^2+2*x+4", ["x=3"], None, 1, None, api.Options())
    assert result.to_json() == api.grad("6*x^2+2*x+4", "x=3").to_json()
    entry = result.gradient["x"]
    assert (result.expression, result.value, entry.symbolic, entry.autograd, entry.exact) == (
        "6*x**2 + 2*x + 4", 64.0, "12*x + 2", 38.0, "3.8000000000000000e+01")
    assert abs(entry.numeric - 38) < 1e-9


def test_a_variable_of_the_point_that_f_does_not_use_has_derivative_zero(monkeypatch):
    fast = scalar.grad("sin(x)", ["x=0.5,y=2"], None, 1, None, api.Options())
    slow = general("sin(x)", {"x": 0.5, "y": 2}, monkeypatch)
    assert fast.to_json()["gradient"]["y"] == slow.to_json()["gradient"]["y"]
    assert fast.gradient["y"].autograd == 0.0 and fast.gradient["y"].symbolic == "0"


def test_an_expression_is_compiled_once_for_all_its_points():
    scalar.forget()
    for x in (0.5, 1.5, 2.5):
        result = scalar.grad("exp(3*x)*sin(2*x)", [f"x={x}"], None, 1, None, api.Options())
        expected = math.exp(3 * x) * (3 * math.sin(2 * x) + 2 * math.cos(2 * x))
        assert math.isclose(result.gradient["x"].autograd, expected, rel_tol=1e-13)
    info = scalar._compiled.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_expectations_are_met_or_not_as_on_the_general_path(monkeypatch):
    for expect, met in (("x=12", True), ("x=12.5", False)):
        fast = scalar.grad("x^3", ["x=2"], expect, 1, None, api.Options())
        assert fast.gradient["x"].expect_met is met and fast.exit_code == (0 if met else 1)
        assert fast.to_json() == api.grad("x^3", "x=2", expect=expect).to_json()
