"""The fast symbolic path (SymEngine) against sympy.diff, over generated trees.

autodiff.engine.symbolic.symbolic_derivative differentiates with SymEngine where it
knows every node of the tree, and with SymPy otherwise. The two may write a
derivative differently ((1 - 2*x)*cos(x^2 - x) for -(2*x - 1)*cos(x^2 - x)),
so they are held to mathematical equality: the same value at random points
(both evaluated by mpmath at 30 digits, not by our lowering), and
simplify(fast - slow) == 0 where that is cheap.
"""

from __future__ import annotations

import math

import pytest
import sympy
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from autodiff.language.parsing import parse_expression
from autodiff.engine.symbolic import _symengine_derivative, symbolic_derivative, symbols_of, sympy_derivative
from test_properties import COORDINATES, SETTINGS, built, examples, expressions

pytest.importorskip("symengine")


def _value(expr, at: dict):
    try:
        value = complex(expr.evalf(30, subs=at))
    except (TypeError, ValueError, ArithmeticError, AttributeError):
        return None
    if not (math.isfinite(value.real) and math.isfinite(value.imag)) or abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
        return None  # outside the real domain there: nothing to compare
    return value.real


def _same_derivative(fast, slow, points) -> int:
    """How many points the two agree at (both defined); raises on a disagreement."""
    compared = 0
    for at in points:
        a, b = _value(fast, at), _value(slow, at)
        if a is None or b is None:
            continue
        assert abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b)), (fast, slow, at, a, b)
        compared += 1
    return compared


@settings(max_examples=examples(200), **SETTINGS)
@given(text=expressions(), points=st.lists(st.tuples(COORDINATES, COORDINATES), min_size=3, max_size=3),
       order=st.sampled_from([1, 1, 2]))
def test_the_fast_path_is_sympy_diff(text, points, order):
    expr = built(lambda: parse_expression(text))
    symbols = symbols_of([expr])
    assume(symbols)
    name = sorted(symbols)[0]
    sequence = [name] * order
    fast = _symengine_derivative(expr, sequence, symbols)
    assume(fast is not None)  # a tree SymEngine does not know: SymPy differentiates, nothing to compare
    slow = sympy_derivative(expr, sequence, symbols)
    note(f"text={text!r} fast={fast} slow={slow}")
    assert fast.free_symbols <= set(symbols.values())  # our real symbols, not SymEngine's plain ones
    by_symbol = [{symbols[n]: sympy.Float(v, 30) for n, v in zip(("x", "y"), point) if n in symbols} for point in points]
    _same_derivative(fast, slow, by_symbol)


@pytest.mark.parametrize("text, printed", [
    ("sin(x - x^2)", "(1 - 2*x)*cos(x**2 - x)"),
    ("6*x^2 + 2*x + 4", "12*x + 2"),
    ("x^y", "x**(y - 1)*y"),
    ("exp(x)*cos(y)", "exp(x)*cos(y)"),
])
def test_the_fast_path_prints_these(text, printed):
    # Pinned: our printed derivative, whichever engine gives it.
    expr = parse_expression(text)
    assert str(symbolic_derivative(expr, ["x"])) == printed


@pytest.mark.parametrize("text", ["sigmoid(x)", "abs(x)", "sinc(x)", "asech(x)", "where(x > 0, x, 0)", "log1p(x)",
                                  "floor(x) + x", "max(x, 1)", "x + inf"])
def test_trees_symengine_does_not_know_go_to_sympy(text):
    expr = parse_expression(text)
    assert _symengine_derivative(expr, ["x"], symbols_of([expr])) is None
    assert symbolic_derivative(expr, ["x"]) == sympy_derivative(expr, ["x"], symbols_of([expr]))


def test_a_known_tree_takes_the_fast_path():
    expr = parse_expression("sin(x)*exp(y) + atanh(x/2) + gamma(y)")
    fast = _symengine_derivative(expr, ["x", "y"], symbols_of([expr]))
    assert fast is not None and sympy.simplify(fast - sympy_derivative(expr, ["x", "y"], symbols_of([expr]))) == 0
