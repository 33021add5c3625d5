"""The plain-float target of the program compiler (autodiff.engine.program):
SymPy tree → a straight-line program on Python floats, for a scalar that
needs no tensor (a point's constant that no ball decides).

The operations are Python's math with IEEE's answers where math raises
(nan outside the domain, ±inf at a pole or beyond float64's range), from
the one function table (`FunctionSpec.floats`); a function math lacks is
its ball operation at 128 bits, rounded to the nearest double. The
constants are the doubles torch uses (`double`), so the two targets agree
to a few ulps (tests/test_program.py).
"""

from __future__ import annotations

import functools
import math
import operator
from typing import Any, Optional

import sympy

from autodiff.engine.program import Compiled, Op, float_exponent, function_rules, root_power
from autodiff.language.functions import FUNCTIONS, float_power, float_reciprocal
from autodiff.language.parsing import float_decimal


def double(node) -> float | bool:
    """The value torch and the floats target use for a constant node."""
    if node is sympy.true or node is sympy.false:
        return bool(node)
    if node is sympy.zoo or node is sympy.nan:
        return math.nan
    if isinstance(node, sympy.Float) and node._prec > 53:
        # SymPy holds the literal 1.106527255605534 in 56 bits; rounding those to
        # 53 is a second rounding (1.1065272556055339). The double nearest the
        # decimal itself is one rounding (Python's float() of text is correctly rounded).
        text = float_decimal(node)
        if text is not None:
            return float(text)
    try:
        return float(node)
    except (TypeError, ValueError):  # complex (I, log(-1) = I*pi): no real value
        return math.nan


def _rounded_ball(resolver) -> Op:
    """A ball operation (a FunctionSpec's `exact`) on floats: at 128 bits,
    its midpoint rounded to the nearest double; nan where the ball has no
    finite value. FLINT is imported on first use only."""

    @functools.cache
    def ball_op():
        from flint import arb

        return resolver(arb)

    def rounded(*args):
        from flint import arb, ctx

        with ctx.workprec(128):
            try:
                ball = ball_op()(*(arb(a) for a in args))
            except (ArithmeticError, ValueError, TypeError, AssertionError):
                return math.nan
        return float(ball.mid()) if ball.is_finite() else math.nan

    return rounded


def _ball_rule(cls: type):
    # A resolver for the ball target's rule (autodiff.engine.balls), which imports FLINT: on first use.
    def resolve(arb):
        from autodiff.engine.balls import BALL_RULES

        return BALL_RULES[cls]

    return resolve


def _reduce(op: Op) -> Op:
    return lambda *args: functools.reduce(op, args)


def _nan_or(choose: Op) -> Op:
    # torch.minimum and torch.maximum propagate nan; Python's min and max do not.
    return lambda a, b: math.nan if math.isnan(a) or math.isnan(b) else choose(a, b)


def _heaviside(x, h0=None):
    # As torch's: h0 (1/2 by default) where x is neither above nor below 0 (0, nan).
    return 1.0 if x > 0 else 0.0 if x < 0 else (0.5 if h0 is None else h0)


def _dirac_delta(x, *order):
    return math.nan if x == 0 else 0.0


def _piecewise(*values_and_conditions):
    for value, condition in zip(values_and_conditions[::2], values_and_conditions[1::2]):
        if condition:
            return value
    return math.nan


FLOAT_RULES: dict[type, Op] = {
    sympy.Add: _reduce(operator.add),
    sympy.Mul: _reduce(operator.mul),
    sympy.Pow: float_power,
    sympy.Min: _reduce(_nan_or(min)),
    sympy.Max: _reduce(_nan_or(max)),
    sympy.Heaviside: _heaviside,
    sympy.DiracDelta: _dirac_delta,
    sympy.polygamma: _rounded_ball(_ball_rule(sympy.polygamma)),  # math has no polygamma
    sympy.StrictLessThan: operator.lt,
    sympy.LessThan: operator.le,
    sympy.StrictGreaterThan: operator.gt,
    sympy.GreaterThan: operator.ge,
    sympy.Equality: operator.eq,
    sympy.Unequality: operator.ne,
    sympy.And: lambda *args: all(args),
    sympy.Or: lambda *args: any(args),
    sympy.Not: operator.not_,
    sympy.ITE: lambda condition, a, b: a if condition else b,
    sympy.Piecewise: _piecewise,
    # The functions math lacks (no `floats`): their ball operations, rounded.
    **{spec.symbolic(sympy): _rounded_ball(spec.exact) for spec in FUNCTIONS if spec.torch and not spec.floats},
    **function_rules(lambda spec: spec.floats, math),
}


def _rsqrt(x: float) -> float:
    return float_reciprocal(math.sqrt(x))


_ROOTS: dict[str, Op] = {"sqrt": math.sqrt, "rsqrt": _rsqrt, "reciprocal": float_reciprocal}


class FloatProgram(Compiled):
    """A compiled expression on Python floats: call it with a float for
    each variable (a dict); `outputs` gives every expression's value."""

    target = "in floats"
    rules = FLOAT_RULES
    constant = staticmethod(double)

    @staticmethod
    def numeric_power(exponent) -> Optional[Op]:
        root = root_power(exponent)
        if root is not None:
            return _ROOTS[root]
        power = float_exponent(exponent)
        return None if power is None else lambda x: float_power(x, power)

    def __call__(self, env: dict[str, float]) -> float:
        return self.outputs(env)[0]

    def outputs(self, env: dict[str, float]) -> list[float]:
        values = self.trace(env)
        return [values[slot] for slot in self.output_slots]

    def value(self, env: dict[str, float]) -> float:
        """The first expression's value alone: the instructions up to its
        slot (a Plan puts the first output's steps first)."""
        return self.trace(env, self.output_slots[0] + 1)[-1]

    def trace(self, env: dict[str, float], stop: Optional[int] = None) -> list[Any]:
        """Every instruction's value, in order (the first `stop` only, when given)."""
        values: list[Any] = []
        append = values.append
        for op, args, name, value, _ in self.instructions[:stop]:
            if op is not None:
                try:
                    append(op(*[values[i] for i in args]))
                except ValueError:  # math's "domain error": no real value, as torch's nan
                    append(math.nan)
            elif name is not None:
                append(float(env[name]))
            else:
                append(value)
        return values
