"""The one program compiler (autodiff.engine.program) and its three targets:
torch tensors (lowering), balls (balls) and plain floats (floats).

The float target is an oracle for the torch one: every function of the table,
at points across its domain, its poles and beyond float64's range, computed
both ways. They agree to MAX_ULPS units in the last place, nan where torch is
nan, the same infinity where torch is infinite; where they differ by more,
the exact value (the ball target, 128 bits and up) decides: the float
target must be the nearer to it, and within MAX_ULPS (torch computes gamma
and powers with a variable exponent through exp of a log, cbrt through
pow(1/3)).
"""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy
import torch

from autodiff.engine.balls import BallProgram, Budget
from autodiff.engine.floats import FloatProgram
from autodiff.engine.lowering import Program, compile_expression
from autodiff.engine.program import Compiled
from autodiff.errors import UnsupportedError
from autodiff.language.functions import FUNCTIONS
from autodiff.language.parsing import parse_expression

MAX_ULPS = 4

XS = [-1000.0, -750.0, -40.0, -3.0, -2.5, -1.0, -0.5, -1e-300, -0.0, 0.0, 1e-300, 1e-8, 0.3, 0.5, 1.0, 1.5,
      2.5, 3.0, 40.0, 171.0, 200.0, 750.0, 1e300]
YS = [-3.0, 0.0, 0.5, 2.0]

# Where torch is ±inf by the sign its formula happens to give and floats is
# nan: a pole with no limit (Γ changes sign across each non-positive integer),
# or one the ball operation, which the float target rounds, leaves undefined.
POLES = {"gamma": lambda x: x <= 0 and x.is_integer(), "lgamma": lambda x: x <= 0 and x.is_integer()}


def call_text(spec) -> str:
    """A call of the function on the variables x (and y)."""
    if spec.name == "where":
        return "where(x > y, x, y)"
    if spec.name == "clamp":
        return "clamp(x, y, 2)"
    return f"{spec.name}(x, y)" if spec.min_args == 2 else f"{spec.name}(x)"


def ulps(a: float, b: float) -> float:
    return 0.0 if a == b else abs(a - b) / math.ulp(max(abs(a), abs(b)))


def exact(expr, x: float, y: float) -> float:
    (ball,) = BallProgram([expr]).evaluate({"x": x, "y": y}, Budget(10**8), 4096)
    assert ball.tight, (expr, x, y)
    return ball.to_float()


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_the_float_target_agrees_with_the_torch_target(spec):
    text = call_text(spec)
    expr = parse_expression(text)
    floats, tensors = FloatProgram([expr]), compile_expression(expr)
    for x in XS:
        for y in YS if "y" in text else [0.0]:
            env = {"x": torch.tensor(x, dtype=torch.float64), "y": torch.tensor(y, dtype=torch.float64)}
            by_torch, by_floats = tensors(env).item(), floats({"x": x, "y": y})
            where = (text, x, y, by_floats, by_torch)
            if math.isnan(by_torch):
                assert math.isnan(by_floats), where
            elif math.isnan(by_floats):
                assert math.isinf(by_torch) and POLES[spec.name](x), where
            elif math.isinf(by_torch) or math.isinf(by_floats):
                assert by_floats == by_torch, where
            elif ulps(by_floats, by_torch) > MAX_ULPS:
                truth = exact(expr, x, y)
                assert ulps(by_floats, truth) <= MAX_ULPS and ulps(by_floats, truth) < ulps(by_torch, truth), (*where, truth)


def test_heaviside_and_a_where_chain_as_torch_computes_them():
    for text in ("heaviside(x)", "where(x < 0, -x, where(x < 1, x^2, 1))", "min(x, 1, -x) + max(x, 2)"):
        expr = parse_expression(text)
        for x in (-2.0, -0.0, 0.0, 0.5, 3.0, math.nan):
            expected = compile_expression(expr)({"x": torch.tensor(x, dtype=torch.float64)}).item()
            value = FloatProgram([expr])({"x": x})
            assert value == expected or (math.isnan(value) and math.isnan(expected)), (text, x)


def test_torch_balls_and_floats_come_from_one_compiler():
    # One walk (Compiled.emit, never overridden): the same slot for every node on every target.
    expr = parse_expression("sin(x^2)^2 + cos(sin(x^2)) + x^2 + atan2(y, x) + sqrt(2)*pi")
    programs = [Program(expr), BallProgram([expr]), FloatProgram([expr])]
    for program in programs:
        assert isinstance(program, Compiled) and type(program).emit is Compiled.emit
    assert programs[0].nodes == programs[1].nodes == programs[2].nodes
    assert programs[0].nodes.count(sympy.sin(x_squared := sympy.Symbol("x", real=True) ** 2)) == 1
    assert programs[0].slot(x_squared) == programs[1].slot(x_squared) == programs[2].slot(x_squared)
    value = programs[2]({"x": 0.5, "y": 2.0})
    env = {"x": torch.tensor(0.5, dtype=torch.float64), "y": torch.tensor(2.0, dtype=torch.float64)}
    assert value == pytest.approx(programs[0](env).item(), rel=1e-15)
    (ball,) = programs[1].evaluate({"x": 0.5, "y": 2.0}, Budget(10**6), 1024)
    assert ball.to_float() == pytest.approx(value, rel=1e-15)


def test_a_node_without_a_rule_is_a_clear_error_on_every_target():
    x = sympy.Symbol("x", real=True)
    for target, words in ((Program, "with torch"), (FloatProgram, "in floats"), (BallProgram, "in ball arithmetic")):
        with pytest.raises(UnsupportedError, match=f"cannot evaluate Integral .* {words}"):
            target(sympy.Integral(x, x)) if target is Program else target([sympy.Integral(x, x)])


def test_the_float_target_follows_ieee_where_python_raises():
    cases = {"1/x": (0.0, math.inf), "x^-3": (-0.0, -math.inf), "log(x)": (0.0, -math.inf), "exp(x)": (1000.0, math.inf),
             "sinh(x)": (-1000.0, -math.inf), "x^3": (-1e200, -math.inf), "sqrt(x)": (-1.0, math.nan),
             "asin(x)": (2.0, math.nan), "atanh(x)": (-1.0, -math.inf), "floor(x)": (math.inf, math.inf)}
    for text, (x, expected) in cases.items():
        value = FloatProgram([parse_expression(text)])({"x": x})
        assert value == expected or (math.isnan(expected) and math.isnan(value)), (text, x, value)


def test_the_float_target_evaluates_what_math_lacks_through_balls():
    x = sympy.Symbol("x", real=True)
    trigamma = FloatProgram([sympy.polygamma(1, x)])({"x": 2.5})  # lgamma's second derivative
    with mpmath.workdps(40):
        assert trigamma == float(mpmath.pi**2 / 2 - mpmath.mpf(40) / 9)  # ψ'(5/2) = π²/2 − 4 − 4/9, rounded once
    assert FloatProgram([parse_expression("cbrt(x)")])({"x": -27.0}) == -3.0  # rounded once from 128 bits
