"""The ball target of the program compiler (autodiff.engine.program):
SymPy tree → a straight-line program on balls, with FLINT's arb through
python-flint (design §11). The exact witness (autodiff.witnesses.exact),
the point reader (autodiff.engine.values) and the parser's folding of huge
powers of constants (`power_of_constants`) evaluate with it.

Every ball is guaranteed to hold the true value of its node, and the point
is the exact rational of each double, so the only error is the ball's
radius: `BallProgram.evaluate` raises the working precision until every
output is tight to TIGHT_DIGITS significant digits, the precision cap is
reached, or the `Budget` of counted ball operations is spent (a count, not
a clock: the same on any machine).

A ball that is too wide proves nothing: tan of a ball wider than π is nan,
1/x of a ball around 0 is nan, and a ball around 0 is not a proof of zero.
Precision is raised until the ball decides; a value is undefined only where
more precision provably cannot help (log of an exact 0, 0/0 of exact zeros,
log of a ball that is negative throughout).
"""

from __future__ import annotations

import decimal
import itertools
import math
from dataclasses import dataclass
from decimal import Context
from typing import Any, Callable, Optional

import sympy
from flint import acb, arb, ctx, fmpq, fmpz

from autodiff.engine.program import Compiled, Op, function_rules, product_of, sum_of
from autodiff.errors import UnsupportedError
from autodiff.language.parsing import float_decimal

TIGHT_DIGITS = 20  # significant digits an enclosure must guarantee
_TIGHT_BITS = math.ceil(TIGHT_DIGITS / math.log10(2))
START_BITS = 128
# At the precision cap, a ball around 0 this narrow is as good as exact zero
# for a verdict (sin(pi) is 0, but no precision proves it). Below the cap a
# ball around 0 is never taken for zero: precision is raised until it
# excludes 0 or is exactly 0.
ZERO_RADIUS = 1e-30


def _decided(ball, positive: Callable, negative: Callable):
    """True or False where the comparison holds for every point of the
    ball(s), None where the ball straddles the answer."""
    if positive(ball):
        return True
    if negative(ball):
        return False
    return None


def comparison(op: str) -> Op:
    """The comparison `op` of two balls: True or False where every point of the balls decides it, None where not."""
    def compare(a, b):
        if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
            return None
        d = a - b
        if not d.is_finite():
            return None
        if op == "<":
            return _decided(d, lambda d: d < 0, lambda d: d >= 0)
        if op == "<=":
            return _decided(d, lambda d: d <= 0, lambda d: d > 0)
        if op == ">":
            return _decided(d, lambda d: d > 0, lambda d: d <= 0)
        if op == ">=":
            return _decided(d, lambda d: d >= 0, lambda d: d < 0)
        equal = _decided(d, lambda d: d.is_exact() and d.is_zero(), lambda d: not d.contains(0))
        return equal if op == "==" else (None if equal is None else not equal)

    return compare


def _all(*args):
    if any(arg is False for arg in args):
        return False
    return None if any(arg is None for arg in args) else True


def _any(*args):
    if any(arg is True for arg in args):
        return True
    return None if any(arg is None for arg in args) else False


def _not(arg):
    return None if arg is None else not arg


def _choose(condition, a, b):
    return arb.nan() if condition is None else (a if condition else b)


def _piecewise(*values_and_conditions):
    for value, condition in zip(values_and_conditions[::2], values_and_conditions[1::2]):
        if condition is None:
            return arb.nan()  # undecided at this precision
        if condition:
            return value
    return arb.nan()


def _heaviside(x, h0=None):
    if x.is_zero():
        return arb(0.5) if h0 is None else h0
    if x > 0:
        return arb(1)
    if x < 0:
        return arb(0)
    return arb.nan()


def _dirac_delta(x, *order):
    return arb(0) if not x.contains(0) else arb.nan()


def _polygamma(n, x):
    # arb has only the digamma function; acb (complex balls) has polygamma.
    if n.is_zero():
        return x.digamma()
    return acb(x).polygamma(acb(n)).real


def _min(*args):
    result = args[0]
    for arg in args[1:]:
        result = arb.min(result, arg)
    return result


def _max(*args):
    result = args[0]
    for arg in args[1:]:
        result = arb.max(result, arg)
    return result


def _integer_power(base, power: int):
    # python-flint's ** is nan for a ball around 0 ([±1e-39]**2): square and multiply then.
    if power <= 0 or not base.contains(0) or power.bit_length() > 64:
        return base ** fmpz(power)
    result, square = arb(1), base
    while power:
        if power & 1:
            result = result * square
        power >>= 1
        if power:
            square = square * square
    return result


def _pow(base, exponent):
    if exponent.is_exact() and exponent.is_integer():
        return _integer_power(base, int(exponent.unique_fmpz()))
    return base**exponent


BALL_RULES: dict[type, Op] = {
    sympy.Add: sum_of,
    sympy.Mul: product_of,
    sympy.Pow: _pow,
    sympy.Min: _min,
    sympy.Max: _max,
    sympy.Heaviside: _heaviside,
    sympy.DiracDelta: _dirac_delta,
    sympy.polygamma: _polygamma,
    sympy.StrictLessThan: comparison("<"),
    sympy.LessThan: comparison("<="),
    sympy.StrictGreaterThan: comparison(">"),
    sympy.GreaterThan: comparison(">="),
    sympy.Equality: comparison("=="),
    sympy.Unequality: comparison("!="),
    sympy.And: _all,
    sympy.Or: _any,
    sympy.Not: _not,
    sympy.ITE: _choose,
    sympy.Piecewise: _piecewise,
    **function_rules(lambda spec: spec.exact, arb),
}


_MINUS_HALF = sympy.Rational(-1, 2)


def _constant(node) -> Callable[[], Any]:
    """A thunk for a constant's ball, called at the working precision."""
    if node is sympy.true or node is sympy.false:
        value = bool(node)
        return lambda: value
    if isinstance(node, sympy.Integer):
        value = fmpz(int(node))
        return lambda: arb(value)
    if isinstance(node, sympy.Rational):
        value = fmpq(int(node.p), int(node.q))
        return lambda: arb(value)
    if isinstance(node, sympy.Float) and node._prec > 53:
        # The double torch uses for a typed decimal (floats.double): the
        # one nearest the decimal, not SymPy's 56-bit value rounded again.
        text = float_decimal(node)
        if text is not None and math.isfinite(float(text)):
            value = arb(float(text))
            return lambda: value
    if isinstance(node, sympy.Float):
        sign, mantissa, exponent, bits = node._mpf_
        if not mantissa and exponent:  # mpmath's special values: inf, -inf, nan
            return lambda: arb.nan()
        # The Float's binary value, exactly (whatever its exponent: 2^-(10^20) too).
        value = arb((fmpz(-int(mantissa) if sign else int(mantissa)), fmpz(int(exponent))))
        return lambda: value
    named = _NAMED.get(type(node))
    if named is not None:
        return named
    if node in (sympy.nan, sympy.zoo, sympy.oo, -sympy.oo) or node.is_infinite:
        return lambda: arb.nan()
    raise UnsupportedError(f"cannot evaluate {type(node).__name__} ({node}) in ball arithmetic")


_NAMED: dict[type, Callable[[], Any]] = {
    type(sympy.pi): arb.pi,
    type(sympy.E): arb.const_e,
    type(sympy.EulerGamma): arb.const_euler,
    type(sympy.Catalan): arb.const_catalan,
}


class BallProgram(Compiled):
    """SymPy expressions compiled to a straight-line program on balls
    (`outputs`: each expression's slot); `run` evaluates it at one
    precision, `evaluate` raises the precision until the outputs decide."""

    target = "in ball arithmetic"
    rules = BALL_RULES
    # A thunk for the constant's ball, called at the working precision.
    constant = staticmethod(_constant)

    def __init__(self, exprs):
        super().__init__(exprs)
        self.outputs = self.output_slots

    @staticmethod
    def numeric_power(exponent) -> Optional[Op]:
        """Integer powers exactly (a negative base too), square roots by sqrt;
        any other exponent is a ball of its exact value (_pow)."""
        if exponent is sympy.S.Half:
            return lambda x: x.sqrt()
        if exponent == _MINUS_HALF:
            return lambda x: x.rsqrt()
        if isinstance(exponent, sympy.Integer):
            power = int(exponent)
            return lambda x: _integer_power(x, power)
        return None

    def run(self, env: dict[str, float], bits: int, budget: Optional["Budget"] = None) -> list:
        """Every instruction's ball at the point `env` (exact doubles), at
        `bits` of precision; the operations are charged to `budget`."""
        if budget is not None:
            budget.charge(len(self.instructions), bits)
        values: list = []
        append = values.append
        with ctx.workprec(bits):
            for op, args, name, value, _ in self.instructions:
                if op is not None:
                    try:
                        append(op(*[values[i] for i in args]))
                    except (ArithmeticError, ValueError, TypeError, AssertionError):
                        append(arb.nan())  # outside what arb defines: no value here
                elif name is not None:
                    append(arb(env[name]))
                else:
                    append(value())
        return values

    def evaluate(self, env: dict[str, float], budget: "Budget", max_bits: int) -> list["Ball"]:
        """Each output's ball at `env`, the precision raised (×4 from START_BITS)
        until every output is tight or provably undefined at the point, or
        the cap is reached or the budget cannot pay for the next precision."""
        bits = START_BITS
        while True:
            values = self.run(env, bits, budget)
            balls = [Ball(values[slot], bits) for slot in self.outputs]
            loose = [ball for ball in balls if not ball.tight]
            if not loose:
                return balls
            if any(not ball.finite for ball in loose):
                settled = self._settled(values)
                for slot, ball in zip(self.outputs, balls):
                    if not ball.finite and settled[slot]:
                        ball.undefined = True
                loose = [ball for ball in balls if not ball.tight and not ball.undefined]
            if not loose:
                return balls
            if bits * 4 > max_bits or not budget.affords(len(self.instructions), bits * 4):
                for ball in loose:
                    ball.capped = True
                    # At the cap, a ball around 0 narrower than ZERO_RADIUS counts as 0 (sin(pi)).
                    ball.zero_at_cap = bits * 4 > max_bits and ball.near_zero
                return balls
            bits *= 4

    def _settled(self, values) -> list[bool]:
        """Per instruction: its value is not finite however precise its
        arguments: more precision cannot help. Proven where an argument is
        settled, where every argument is exact (log(0), 0/0 of exact zeros),
        or where the operation is not finite at every corner of its
        arguments' tight balls and at their midpoints (log of a ball that
        is negative throughout). A ball that straddles a pole or is wider
        than a period (tan of 1e100 + 1 at 128 bits) is finite at some
        corner: not settled, so the precision is raised."""
        settled: list[bool] = []
        for instruction, value in zip(self.instructions, values):
            if instruction.op is None:
                settled.append(isinstance(value, arb) and not value.is_finite())
                continue
            args = [values[i] for i in instruction.args]
            if isinstance(value, bool) or value is None or value.is_finite():
                settled.append(False)
            elif any(settled[i] for i in instruction.args):
                settled.append(True)
            else:
                settled.append(_nowhere_finite(instruction.op, args))
        return settled


def _nowhere_finite(op: Op, args: list) -> bool:
    """Whether `op` is not finite at every corner and at the midpoint of its
    arguments' balls, each of which is exact or tight (a loose argument: more
    precision may yet help)."""
    balls = [a for a in args if isinstance(a, arb)]
    if any(a is None for a in args) or any(not (a.is_exact() or Ball(a, 0).tight) for a in balls):
        return False
    if len(balls) > 3:
        return all(a.is_exact() for a in balls)
    choices = [
        [a] if not isinstance(a, arb) or a.is_exact() else [a.mid(), a.lower(), a.upper()] for a in args
    ]
    for combination in itertools.product(*choices):
        try:
            result = op(*combination)
        except (ArithmeticError, ValueError, TypeError, AssertionError):
            continue
        if isinstance(result, arb) and result.is_finite():
            return False
    return True


@dataclass
class Ball:
    """An output's enclosure: `value` holds the true value; tight when it
    guarantees TIGHT_DIGITS significant digits (or is a ball around 0
    narrower than ZERO_RADIUS)."""

    value: Any  # an arb
    bits: int
    undefined: bool = False  # not finite at the point, at any precision
    capped: bool = False  # not tight at the precision cap or when the budget ran out
    zero_at_cap: bool = False  # a ball around 0 narrower than ZERO_RADIUS at the precision cap: taken for 0

    @property
    def finite(self) -> bool:
        return self.value.is_finite()

    @property
    def near_zero(self) -> bool:
        """A ball around 0 narrower than ZERO_RADIUS (or exactly 0)."""
        return self.finite and self.value.contains(0) and float(self.value.rad()) < ZERO_RADIUS

    @property
    def zero(self) -> bool:
        """The ball is exactly 0, or a tiny ball around 0 at the precision cap."""
        if not self.finite:
            return False
        if self.value.is_exact():
            return self.value.is_zero()
        return self.zero_at_cap and self.near_zero

    @property
    def tight(self) -> bool:
        value = self.value
        if not value.is_finite():
            return False
        if value.is_exact():
            return True
        return self.zero or value.rel_accuracy_bits() >= _TIGHT_BITS

    def scaled(self, weight: float) -> "Ball":
        with ctx.workprec(max(self.bits, START_BITS)):
            return Ball(self.value * arb(weight), self.bits, self.undefined, self.capped, self.zero_at_cap)

    @property
    def digits(self) -> int:
        """Significant digits the ball guarantees (0 for a ball around 0)."""
        if self.zero and not (self.value.is_exact() and self.value.is_zero()):
            return 0
        # An exact ball has every digit; it reports those of the starting precision, whatever
        # precision the other outputs needed (a stable figure, not one that depends on them).
        bits = START_BITS if self.value.is_exact() else min(self.bits, self.value.rel_accuracy_bits())
        return max(0, int(bits * math.log10(2)))

    def text(self, digits: int = 17) -> str:
        """The midpoint with `digits` significant digits: 2.2339947661617110e+308;
        "0" for a ball around 0."""
        if not self.finite:
            return "nan"
        if self.zero:
            return "0"
        # arb prints the exact midpoint correctly rounded to `digits`; Decimal only lays it out.
        text = self.value.mid().str(digits, radius=False)
        try:
            return _exponent(format(_DECIMAL.create_decimal(text), f".{digits - 1}e"))
        except ArithmeticError:  # beyond even Decimal's exponents (exp(exp(exp(9)))): arb's own text
            return self.value.str(digits, radius=False)

    def radius_text(self) -> str:
        if not self.finite:
            return "inf"
        if self.value.is_exact():
            return "0"
        text = self.value.rad().str(3, radius=False)
        try:
            return _exponent(format(_DECIMAL.create_decimal(text), ".1e"))
        except ArithmeticError:
            return text

    def to_float(self) -> float:
        """The nearest double (±inf beyond float64's range, 0.0 for a ball around 0)."""
        if not self.finite:
            return math.nan
        if self.zero:
            return 0.0
        return float(self.value.mid())  # the nearest double; ±inf or 0.0 beyond float64's range

    def beyond(self, dtype) -> bool:
        """The value lies beyond the largest finite number of a torch dtype (it overflows there)."""
        import torch

        return self.finite and not self.zero and abs(self.to_float()) > torch.finfo(dtype).max

    def within(self, value: float, tolerance) -> bool:
        """Whether `value` is within the tolerance (a checks.Tolerance) of the
        exact value rounded to the nearest double: the best answer floats can
        give (a subnormal may be as close as float64 gets). An exact value
        beyond float64's range is within nothing: `inf` is not it."""
        exact = self.to_float()
        return math.isfinite(exact) and tolerance.close_float(value, exact)

    def correct_digits(self, value: float) -> Optional[int]:
        """How many significant digits of `value` agree with the exact value
        (0 to 17); None beside a ball around 0, where digits mean nothing."""
        if self.value.is_exact() and self.value.is_zero():
            return 17 if value == 0 else 0
        if self.zero:
            return None
        if not math.isfinite(value):
            return 0
        with ctx.workprec(max(self.bits, START_BITS)):
            error = abs(arb(value) - self.value) / abs(self.value)
            if error.is_zero():
                return 17
            upper = float(error.upper())
        if upper <= 0:
            return 17
        return max(0, min(17, math.floor(-math.log10(upper)))) if upper < 1 else 0


def _exponent(text: str) -> str:
    """Decimal's 5.0e-1 as Python prints floats: 5.0e-01."""
    mantissa, _, exponent = text.partition("e")
    return f"{mantissa}e{exponent[0]}{exponent[1:].zfill(2)}"


_DECIMAL = Context(prec=40, Emax=10**9, Emin=-(10**9), traps=[decimal.Overflow, decimal.Underflow, decimal.InvalidOperation])


class Budget:
    """Ball operations the exact witness may spend in one command, counted,
    not timed, so that what it decides is the same on any machine and under
    any load. An operation at 512 bits or less counts 1; above, its cost
    grows as arb's multiplication does, (bits / 512)^1.5."""

    def __init__(self, operations: float):
        self.operations = operations
        self.spent = 0.0

    @classmethod
    def of(cls, limits) -> "Budget":
        return cls(limits.max_exact_operations)

    @staticmethod
    def cost(instructions: int, bits: int) -> float:
        return instructions * max(1.0, (bits / 512) ** 1.5)

    def charge(self, instructions: int, bits: int) -> None:
        self.spent += self.cost(instructions, bits)

    def affords(self, instructions: int, bits: int) -> bool:
        """Whether a run of `instructions` at `bits` fits in what is left."""
        return self.spent + self.cost(instructions, bits) <= self.operations


def power_of_constants(base, exponent, limits):
    """base^exponent, both constants, as a SymPy Float of 256 bits from ball
    arithmetic (never built exactly); None where the ball is not tight. The
    point reader gives it to the parser (language.parsing.PowerFolder)."""
    import mpmath

    try:
        program = BallProgram([sympy.Pow(base, exponent, evaluate=False)])
    except UnsupportedError:
        return None
    ball = program.evaluate({}, Budget.of(limits), limits.max_exact_bits)[0]
    if not ball.tight:
        return None
    if ball.zero:
        return sympy.Float(0)
    mantissa, exponent = ball.value.mid().man_exp()
    with mpmath.workprec(256):
        value = mpmath.mpf((int(mantissa), int(exponent)))  # rounded to 256 bits
    return sympy.Float._new(value._mpf_, 256)
