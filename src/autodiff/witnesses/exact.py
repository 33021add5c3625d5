"""The exact witness: f and its symbolic derivatives in ball arithmetic
(design §11), with FLINT's arb through python-flint.

A SymPy tree is lowered to balls by the same dispatch as to tensors (the
rule for a node is the first class in its MRO that has one; the functions'
rules come from the one table in `functions`). Every ball is guaranteed to
hold the true value of its node, and the point is the exact rational of each
double autograd used, so the only error is the ball's radius: the working
precision is raised until every output is tight to TIGHT_DIGITS significant
digits, the precision cap is reached, or the budget of counted ball
operations is spent (a count, not a clock: the same on any machine).

A ball that is too wide proves nothing: tan of a ball wider than π is nan,
1/x of a ball around 0 is nan, and a ball around 0 is not a proof of zero.
Precision is raised until the ball decides; a value is undefined only where
more precision provably cannot help (log of an exact 0, 0/0 of exact zeros,
log of a ball that is negative throughout).

Closed world: a node without a rule is an UnsupportedError, and the other
witnesses decide without this one.
"""

from __future__ import annotations

import decimal
import functools
import itertools
import math
from dataclasses import dataclass
from decimal import Context
from typing import Any, Callable, Optional

import sympy
from flint import acb, arb, ctx, fmpq, fmpz

from autodiff.errors import UnsupportedError
from autodiff.language.functions import FUNCTIONS

TIGHT_DIGITS = 20  # significant digits an enclosure must guarantee
_TIGHT_BITS = math.ceil(TIGHT_DIGITS / math.log10(2))
START_BITS = 128
# At the precision cap, a ball around 0 this narrow is as good as exact zero
# for a verdict (sin(pi) is 0, but no precision proves it). Below the cap a
# ball around 0 is never taken for zero: precision is raised until it
# excludes 0 or is exactly 0.
ZERO_RADIUS = 1e-30

Op = Callable[..., Any]

_FUNCTION_BALLS: dict[type, Op] = {
    spec.symbolic(sympy): spec.exact(arb) for spec in FUNCTIONS if spec.exact is not None
}


def _sum(*args):
    total = args[0]
    for arg in args[1:]:
        total = total + arg
    return total


def _product(*args):
    total = args[0]
    for arg in args[1:]:
        total = total * arg
    return total


def _decided(ball, positive: Callable, negative: Callable):
    """True or False where the comparison holds for every point of the
    ball(s), None where the ball straddles the answer."""
    if positive(ball):
        return True
    if negative(ball):
        return False
    return None


def _compare(op: str) -> Op:
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


_NODE_BALLS: dict[type, Op] = {
    sympy.Add: _sum,
    sympy.Mul: _product,
    sympy.Min: _min,
    sympy.Max: _max,
    sympy.Heaviside: _heaviside,
    sympy.DiracDelta: _dirac_delta,
    sympy.polygamma: _polygamma,
    sympy.StrictLessThan: _compare("<"),
    sympy.LessThan: _compare("<="),
    sympy.StrictGreaterThan: _compare(">"),
    sympy.GreaterThan: _compare(">="),
    sympy.Equality: _compare("=="),
    sympy.Unequality: _compare("!="),
    sympy.And: _all,
    sympy.Or: _any,
    sympy.Not: _not,
    sympy.ITE: _choose,
    sympy.Piecewise: _piecewise,
    **_FUNCTION_BALLS,
}


def _power(exponent) -> Optional[Op]:
    """A unary op for a numeric exponent: integer powers exactly (a negative
    base too), square roots by sqrt."""
    if exponent is sympy.S.Half:
        return lambda x: x.sqrt()
    if exponent == _MINUS_HALF:
        return lambda x: x.rsqrt()
    if isinstance(exponent, sympy.Integer):
        power = int(exponent)
        return lambda x: _integer_power(x, power)
    return None


_MINUS_HALF = sympy.Rational(-1, 2)


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
        # The double torch uses for a typed decimal (lowering._constant): the
        # one nearest the decimal, not SymPy's 56-bit value rounded again.
        from autodiff.language.parsing import float_decimal

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


@functools.lru_cache(maxsize=None)
def _rule(cls: type) -> Optional[Op]:
    """The rule of the first class in `cls`'s MRO that has one."""
    return next((_NODE_BALLS[base] for base in cls.__mro__ if base in _NODE_BALLS), None)


@dataclass(frozen=True)
class _Instruction:
    op: Optional[Op]  # None: a variable (name) or a constant (thunk)
    args: tuple[int, ...] = ()
    name: Optional[str] = None
    thunk: Optional[Callable[[], Any]] = None


class BallProgram:
    """SymPy expressions compiled to a straight-line program on balls: one
    instruction per distinct subexpression, as `lowering.Program`."""

    def __init__(self, exprs):
        self.instructions: list[_Instruction] = []
        self.nodes: list = []
        self._slots: dict = {}
        self.outputs = [self._emit(expr) for expr in exprs]

    def _emit(self, node) -> int:
        slot = self._slots.get(node)
        if slot is None:
            instruction = self._instruction(node)
            self.instructions.append(instruction)
            self.nodes.append(node)
            slot = self._slots[node] = len(self.instructions) - 1
        return slot

    def _instruction(self, node) -> _Instruction:
        if isinstance(node, sympy.Symbol):
            return _Instruction(None, name=node.name)
        if node.is_Atom or isinstance(node, sympy.logic.boolalg.BooleanAtom):  # a number or a named constant
            return _Instruction(None, thunk=_constant(node))
        if isinstance(node, sympy.Pow):
            unary = _power(node.exp)
            if unary is not None:
                return _Instruction(unary, (self._emit(node.base),))
            return _Instruction(_pow, (self._emit(node.base), self._emit(node.exp)))
        if isinstance(node, sympy.Piecewise):
            args = tuple(self._emit(part) for pair in node.args for part in pair)
            return _Instruction(_piecewise, args)
        op = _rule(type(node))
        if op is None:
            raise UnsupportedError(f"cannot evaluate {type(node).__name__} ({node}) in ball arithmetic")
        return _Instruction(op, tuple(self._emit(arg) for arg in node.args))

    def run(self, env: dict[str, float], bits: int, budget: Optional["Budget"] = None) -> list:
        """Every instruction's ball at the point `env` (exact doubles), at
        `bits` of precision; the operations are charged to `budget`."""
        if budget is not None:
            budget.charge(len(self.instructions), bits)
        values: list = []
        with ctx.workprec(bits):
            for instruction in self.instructions:
                if instruction.op is not None:
                    try:
                        values.append(instruction.op(*(values[i] for i in instruction.args)))
                    except (ArithmeticError, ValueError, TypeError, AssertionError):
                        values.append(arb.nan())  # outside what arb defines: no value here
                elif instruction.name is not None:
                    values.append(arb(env[instruction.name]))
                else:
                    values.append(instruction.thunk())
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


@dataclass
class Limit:
    """The limit of an expression that is undefined as written (0/0, 0·∞,
    ∞−∞, ∞/∞) at the point: `value` as a Ball, approached along `variable`
    (from `side` "+" or "-", or both when None)."""

    ball: Ball
    variable: str
    side: Optional[str]
    point: float
    # "value": the limit of the expression; "derivative": the limit of f's
    # difference quotient along `variable` (the derivative by its definition).
    of: str = "value"

    def describe(self) -> str:
        return f"{self.variable} → {self.point:.10g}{self.side or ''}"


def indeterminate_limit(expr, env: dict[str, float], max_bits: int) -> tuple[bool, Optional[Limit]]:
    """Whether `expr` is an indeterminate form at the point (SymPy's value
    there is nan), and its limit when SymPy finds a real one: along each
    variable in turn, the others held at their exact values, from both
    sides (one side where the other leaves the real domain)."""
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    if not _safe_for_exact_substitution(expr) or any(abs(env[s.name]) >= _EXACT_BELOW for s in symbols):
        return False, None
    exact = {symbol: sympy.Rational(env[symbol.name]) for symbol in symbols}
    if expr.subs(exact) is not sympy.nan:
        return False, None
    found: list[Limit] = []
    for symbol in symbols:
        partial = expr.subs({s: v for s, v in exact.items() if s != symbol})
        if partial is sympy.nan or not partial.has(symbol):
            continue
        sides = {side: _real_limit(partial, symbol, exact[symbol], side) for side in ("+", "-")}
        known = {side: value for side, value in sides.items() if value is not None}
        if not known or (len(known) == 2 and known["+"] != known["-"]):
            continue
        value = next(iter(known.values()))
        ball = BallProgram([value]).evaluate({}, Budget(LIMIT_OPERATIONS), max_bits)[0]
        if ball.tight:
            found.append(Limit(ball, symbol.name, None if len(known) == 2 else next(iter(known)), env[symbol.name]))
    if not found or any(other.ball.text() != found[0].ball.text() for other in found[1:]):
        return True, None
    return True, found[0]


NOT_REAL = "not real"  # a side where f leaves the real domain
NO_LIMIT = "no limit"  # a side where the difference quotient has no limit (or SymPy found none)


@dataclass
class Sided:
    """The one-sided derivatives of f along `variable` at a point where the
    symbolic derivative is undefined as written: each an extended real SymPy
    number (±oo where the difference quotient diverges), NOT_REAL or NO_LIMIT."""

    variable: str
    left: object
    right: object

    def _finite(self, side) -> bool:
        return not isinstance(side, str) and bool(side.is_finite)

    def value(self):
        """The derivative, where it exists: both sides finite and equal, or
        one finite and the other outside f's domain (a boundary point); else None."""
        if self._finite(self.left) and self._finite(self.right):
            return self.left if sympy.simplify(self.left - self.right) == 0 else None
        for side, other in ((self.left, self.right), (self.right, self.left)):
            if self._finite(side) and other == NOT_REAL:
                return side
        return None

    def side(self) -> Optional[str]:
        """"+" or "-" where only one side lies in f's domain."""
        return "+" if self.left == NOT_REAL else "-" if self.right == NOT_REAL else None

    def scaled(self, weight: float) -> "Sided":
        """The sides times a grad-output weight (as autograd's values are)."""
        def scale(side):
            if isinstance(side, str):
                return side
            return sympy.S.Zero if weight == 0 else side * sympy.Rational(weight)  # no ∞·0

        return Sided(self.variable, scale(self.left), scale(self.right))

    @staticmethod
    def as_float(side) -> Optional[float]:
        return None if isinstance(side, str) else float(side)

    def describe(self, function: str = "f") -> str:
        """`left derivative -inf, right 0`; `right derivative -inf, f is not real to the left`."""
        sides = (("left", self.left), ("right", self.right))
        real = [f"{name} {_number_text(float(side))}" for name, side in sides if side != NOT_REAL]
        if real:
            real[0] = real[0].replace(" ", " derivative ", 1)
        return ", ".join(real + [f"{function} is not real to the {name}" for name, side in sides if side == NOT_REAL])

    def convention(self, autograd: float) -> str:
        from autodiff.witnesses.kinks import convention

        left, right = self.as_float(self.left), self.as_float(self.right)
        return convention(autograd, math.nan if left is None else left, math.nan if right is None else right)


def _number_text(value: float) -> str:
    from autodiff.results import number_text

    return number_text(value)


def one_sided_derivatives(expr, variable: str, env: dict[str, float], f_ball: "Ball") -> Optional[Sided]:
    """f's one-sided derivatives along `variable` at the point, from their
    definition: the limits of (f(p ± t·e) − f(p)) / (±t) as t → 0+, each
    by SymPy with the other variables at their exact values. f(p) is
    SymPy's value there, or the exact ball's where SymPy has none (atan2 at
    the origin is 0 in our language). None where neither gives f(p)."""
    symbols = {s.name: s for s in expr.free_symbols}
    if not _safe_for_exact_substitution(expr) or any(abs(env[name]) >= _EXACT_BELOW for name in symbols):
        return None
    exact = {symbol: sympy.Rational(env[name]) for name, symbol in symbols.items()}
    value = expr.subs(exact)
    if not (value.is_number and value.is_extended_real and value.is_finite):
        if not (f_ball.finite and f_ball.value.is_exact()):
            return None
        mantissa, exponent = f_ball.value.mid().man_exp()
        value = sympy.Integer(int(mantissa)) * sympy.Integer(2) ** int(exponent)
    symbol = symbols.get(variable)
    if symbol is None:
        return Sided(variable, sympy.S.Zero, sympy.S.Zero)
    t = sympy.Dummy("t", positive=True)
    others = {s: v for s, v in exact.items() if s != symbol}
    plain = _for_limits(expr)
    sides = []
    for sign in (-1, 1):
        moved = plain.subs(others).subs(symbol, exact[symbol] + sign * t)
        sides.append(_side(moved, t, value, sign))
    return Sided(variable, *sides)


def _for_limits(expr):
    """Our real-valued functions in the forms SymPy's limit knows: the real
    cube and odd roots by sign·|u|^(1/n), hypot by sqrt(a² + b²)."""
    from autodiff.language.symbolic_functions import cbrt, hypot, root

    def odd_root(u, n):
        return sympy.sign(u) * sympy.Abs(u) ** (1 / n)

    return expr.replace(cbrt, lambda u: odd_root(u, 3)).replace(
        root, lambda u, n: odd_root(u, n) if n.is_Integer and n.is_odd else u ** (1 / n)
    ).replace(hypot, lambda a, b: sympy.sqrt(a**2 + b**2))


_PROBE = sympy.Rational(1, 2**40)  # a step inside the side, to see whether f is real there


def _side(moved, t, value, sign: int):
    """The limit of sign·(moved − value)/t as t → 0+: an extended real
    number, NOT_REAL or NO_LIMIT."""
    try:
        probe = moved.subs(t, _PROBE).evalf(30)
        if not probe.is_number or probe.has(sympy.I) or probe.is_extended_real is False:
            return NOT_REAL
        limit = sympy.limit(sign * (moved - value) / t, t, 0, "+")
    except (NotImplementedError, ValueError, TypeError, ArithmeticError, AttributeError, RecursionError):
        return NO_LIMIT
    if limit.free_symbols or not limit.is_extended_real or limit.has(sympy.AccumBounds):
        return NO_LIMIT
    return limit


# SymPy evaluates a rational to an integer power exactly, in C, where no
# deadline reaches: x**x at x = 1e300, or (1/3)**(10**400), would never
# return. So no limit is searched where a coordinate or a numeric exponent
# reaches this magnitude.
_EXACT_BELOW = 2.0**10


def _safe_for_exact_substitution(expr) -> bool:
    return all(
        not (power.exp.is_Number and abs(power.exp) >= _EXACT_BELOW) for power in expr.atoms(sympy.Pow)
    )


def _real_limit(expr, symbol, point, side: str):
    try:
        value = sympy.limit(expr, symbol, point, side)
    except (NotImplementedError, ValueError, TypeError, ArithmeticError, AttributeError, RecursionError):
        return None
    if value.free_symbols or not value.is_extended_real or not value.is_finite:
        return None
    return value


def find_cause(expr, program, output: int, env: dict, dtype, bits: int, variables=None) -> Optional["Cause"]:
    """Why float arithmetic lost digits computing `expr` at the point:
    `program` is its torch program (`expr` is output `output`), `env` the
    point as 0-d tensors of `dtype`; only operations on `variables` (names)
    are suspects when given.

    The suspects are the operations that lost three or more digits beyond
    their arguments'. The culprit is the one that, computed exactly and the
    rest in floats again, gives the output back the most digits (a lost
    digit matters only where it reaches the output); then the one that lost
    the most. It is named cancellation (a sum of terms of both signs),
    overflow, underflow or rounding.
    """
    import torch

    from autodiff.results import shortened

    balls = BallProgram([expr])
    exact = balls.run({name: float(value) for name, value in env.items()}, bits)
    with torch.no_grad():
        trace = program.trace(env, dtype)
    digits: list[Optional[int]] = []
    suspects = []  # (drop, node, ball, float value, argument balls, torch slot)
    for instruction, node, value in zip(balls.instructions, balls.nodes, exact):
        slot = program.slot(node)
        if instruction.op is None or not isinstance(value, arb) or slot is None or trace[slot].dtype == torch.bool:
            digits.append(17)
            continue
        ball = Ball(value, bits)
        own = ball.correct_digits(float(trace[slot].reshape(-1)[0])) if ball.tight else None
        digits.append(own)
        known = [digits[i] for i in instruction.args if digits[i] is not None]
        relevant = variables is None or {symbol.name for symbol in node.free_symbols} & set(variables)
        if own is not None and known and relevant and min(known) - own >= 3:
            suspects.append((min(known) - own, node, ball, float(trace[slot].reshape(-1)[0]), instruction.args, slot))
    if not suspects:
        return None
    target = Ball(exact[balls.outputs[0]], bits)
    largest = torch.finfo(dtype).max

    def repaired(suspect) -> int:
        """The output's correct digits with the suspect computed exactly."""
        value = suspect[2].to_float()
        if not target.tight or not abs(value) <= largest:
            return -1
        with torch.no_grad():
            out = program.outputs(env, dtype, {suspect[5]: torch.tensor(value, dtype=dtype)})[output]
        return target.correct_digits(float(out.reshape(-1)[0])) or 0

    ranked = sorted(suspects, key=lambda suspect: -suspect[0])[:8]
    drop, node, ball, value, args, _ = max(ranked, key=lambda suspect: (repaired(suspect), suspect[0]))
    limits = torch.finfo(dtype)
    kind = "rounding"
    if abs(ball.to_float()) > limits.max or (math.isinf(value) and ball.finite):
        kind = "overflow"
    elif not ball.zero and abs(value) < limits.tiny and abs(ball.to_float()) < limits.tiny:
        kind = "underflow"
    elif isinstance(node, sympy.Add) and _mixed_signs([exact[i] for i in args]):
        kind = "cancellation"
    return Cause(kind, shortened(str(node)), value, ball.text(10), str(dtype).replace("torch.", ""), ball.beyond(dtype))


@dataclass(frozen=True)
class Cause:
    """The operation where float arithmetic lost the digits."""

    kind: str  # "cancellation", "overflow", "underflow" or "rounding"
    operation: str  # as SymPy prints it
    value: float  # its float value
    exact: str  # its exact value
    dtype: str
    beyond: bool = False  # the exact value lies beyond the dtype's range

    def __str__(self) -> str:
        if self.kind == "overflow" and self.beyond:
            return f"overflow in {self.operation}: exactly {self.exact}, beyond {self.dtype}"
        if self.kind == "underflow":
            return f"underflow in {self.operation}: exactly {self.exact}, below {self.dtype}'s normal range"
        return f"{self.kind} in {self.operation}: {self.dtype} gives {self.value:.10g}, exactly {self.exact}"


def _mixed_signs(args) -> bool:
    signs = {1 if a > 0 else -1 for a in args if isinstance(a, arb) and (a > 0 or a < 0)}
    return len(signs) == 2


def evaluate_at(exprs, columns: dict[str, list[float]], count: int, budget: Budget, max_bits: int):
    """Balls of each expression at `count` elements (`columns`: each
    variable's doubles), while the budget lasts: rows[k][element] is a Ball,
    or None where the budget ran out or the expression has a node without a
    rule (`unsupported` then names it)."""
    rows: list[list[Optional[Ball]]] = [[None] * count for _ in exprs]
    supported, unsupported = list(range(len(exprs))), None
    try:
        program = BallProgram(exprs)
    except UnsupportedError as error:
        unsupported = error.message
        supported = []
        for index, expr in enumerate(exprs):
            try:
                BallProgram([expr])
                supported.append(index)
            except UnsupportedError:
                pass
        program = BallProgram([exprs[index] for index in supported])
    for element in range(count):
        if not budget.affords(len(program.instructions), START_BITS):
            break
        env = {name: values[element] for name, values in columns.items()}
        for index, ball in zip(supported, program.evaluate(env, budget, max_bits)):
            rows[index][element] = ball
    return rows, unsupported


# Ball operations for the value of one limit SymPy found (a constant).
LIMIT_OPERATIONS = 100_000

MAX_LIMITS = 8  # undefined (output, element) pairs whose limit SymPy is asked for, per command


class ExactSide:
    """The exact witness at the sampled elements of a point: the balls of
    each output's f and of each task's symbolic derivative (weighted like
    autograd's), the limits where the expression as written is undefined,
    and the same as tensors for the verdict.

    `columns` holds each variable's doubles at the `count` elements;
    `derivatives[task]` is the task's SymPy derivative or None.
    """

    def __init__(self, f_exprs, derivatives, columns, count, weights, limits, symbolic_seconds, tasks=None):
        self.tasks = tasks
        distinct = list(dict.fromkeys(d for d in derivatives if d is not None))
        self.budget = Budget.of(limits)
        rows, self.unsupported = evaluate_at(list(f_exprs) + distinct, columns, count, self.budget, limits.max_exact_bits)
        self.count = count
        self.evaluated = sum(1 for ball in (rows[0] if rows else []) if ball is not None)
        self.f_balls = rows[: len(f_exprs)]
        by_expr = dict(zip(distinct, rows[len(f_exprs):]))
        self.d_balls = [
            [None] * count if d is None else [
                ball if ball is None or w is None else ball.scaled(w) for ball, w in zip(by_expr[d], weights)
            ]
            for d in derivatives
        ]
        self.f_limits: dict = {}
        self.d_limits: dict = {}
        self.indeterminate: set = set()
        # (task, element) → Sided: the derivative does not exist there (its one-sided values differ or diverge).
        self.nondifferentiable: dict = {}
        self._find_limits(f_exprs, derivatives, columns, weights, limits, symbolic_seconds)

    def _find_limits(self, f_exprs, derivatives, columns, weights, limits, seconds) -> None:
        """Where a ball is undefined, SymPy's limit there (at most MAX_LIMITS
        of them, all within one symbolic deadline: what is found by then stays)."""
        from autodiff.deadline import SymbolicTimeout, with_deadline

        wanted = [("f", k, e, f_exprs[k]) for k, row in enumerate(self.f_balls) for e, b in enumerate(row) if b and b.undefined]
        wanted += [("d", t, e, derivatives[t]) for t, row in enumerate(self.d_balls) for e, b in enumerate(row) if b and b.undefined]
        if not wanted:
            return
        asked: dict = {}

        def ask_all():
            for kind, index, element, expr in wanted[:MAX_LIMITS]:
                env = {name: values[element] for name, values in columns.items()}
                if kind == "d" and self._sided(index, element, f_exprs, env, weights[element], limits):
                    continue
                key = (expr, element)
                if key not in asked:
                    try:
                        asked[key] = indeterminate_limit(expr, env, limits.max_exact_bits)
                    except (RecursionError, ArithmeticError, ValueError, TypeError, AttributeError):
                        asked[key] = (False, None)  # SymPy failed: no limit, and no verdict on the form
                self._record(kind, index, element, *asked[key], weights[element])

        try:  # within --symbolic-timeout, a wall-clock timeout of its own
            with_deadline(ask_all, seconds)
        except SymbolicTimeout:
            pass

    def _sided(self, task: int, element: int, f_exprs, env, weight, limits) -> bool:
        """For a first derivative whose formula is undefined where f is
        defined: the derivative from its definition, by one-sided limits of
        the difference quotient. Records its value (a limit) where it
        exists, else the one-sided values; False where they are unknown."""
        if self.tasks is None or len(self.tasks[task][1]) != 1:
            return False
        output, (variable,) = self.tasks[task]
        f_ball = self.f_balls[output][element]
        if f_ball is None or not f_ball.tight:
            return False
        try:
            sided = one_sided_derivatives(f_exprs[output], variable, env, f_ball)
        except (RecursionError, ArithmeticError, ValueError, TypeError, AttributeError):
            return False
        if sided is None or NO_LIMIT in (sided.left, sided.right):
            return False  # SymPy found no limit on a side (0^(2 - t)): the derivative's own limit may yet be found
        value = sided.value()
        if value is None:
            self.nondifferentiable[task, element] = sided if weight is None else sided.scaled(weight)
            return True
        ball = BallProgram([value]).evaluate({}, Budget(LIMIT_OPERATIONS), limits.max_exact_bits)[0]
        if not ball.tight:
            return False
        limit = Limit(ball, variable, sided.side(), env[variable], "derivative")
        self._record("d", task, element, True, limit, weight)
        return True

    def _record(self, kind: str, index: int, element: int, indeterminate: bool, limit, weight) -> None:
        if limit is not None:
            if kind == "d" and weight is not None:
                limit = Limit(limit.ball.scaled(weight), limit.variable, limit.side, limit.point, limit.of)
            (self.f_limits if kind == "f" else self.d_limits)[index, element] = limit
        elif indeterminate and kind == "d":
            self.indeterminate.add((index, element))

    def judge(self, autograd: list, tolerance):
        """Whether each of autograd's values (`autograd[task][element]`) is
        within the tolerance of the exact one, as a bool tensor (tasks,
        elements); False where there is no exact value."""
        import torch

        rows = [
            [ball is not None and ball.within(value, tolerance) for ball, value in ((self.ball(k, e), v) for e, v in enumerate(row))]
            for k, row in enumerate(autograd)
        ]
        return torch.tensor(rows, dtype=torch.bool).reshape(len(autograd), self.count)

    def ball(self, task: int, element: int) -> Optional[Ball]:
        """The task's exact value at an element: its limit or its tight ball."""
        return _known(self.d_limits, self.d_balls, task, element)

    def f_ball(self, output: int, element: int) -> Optional[Ball]:
        """f's exact value at an element: its limit or its tight ball."""
        return _known(self.f_limits, self.f_balls, output, element)

    def tensors(self, shape) -> "ExactTensors":
        """The exact side as tensors for the verdict, each task's and each
        output's elements shaped (tasks or outputs, *shape)."""
        import torch

        tasks, outputs = len(self.d_balls), len(self.f_balls)
        flags = [[self.ball(task, element) is not None for element in range(self.count)] for task in range(tasks)]
        flags += [[ball is not None and ball.tight for ball in row] for row in self.f_balls]
        table = torch.tensor(flags, dtype=torch.bool).reshape(tasks + outputs, *shape)
        known, real_f = table[:tasks], table[tasks:]
        indeterminate = torch.zeros_like(known)
        for task, element in self.indeterminate:
            indeterminate.view(tasks, -1)[task, element] = True
        nondifferentiable = torch.zeros_like(known)
        for task, element in self.nondifferentiable:
            nondifferentiable.view(tasks, -1)[task, element] = True
        return ExactTensors(known, real_f, indeterminate, nondifferentiable)


@dataclass
class ExactTensors:
    """The exact side at the sampled elements, for the verdict."""

    known: Any  # where the task has an exact value (a tight ball or a limit)
    real_f: Any  # where f has a true finite value (a tight ball, not a limit)
    indeterminate: Any  # where the symbolic derivative is an indeterminate form with no limit found
    nondifferentiable: Any  # where the derivative does not exist: one-sided values differ or diverge


def _known(limits: dict, balls: list, index: int, element: int) -> Optional[Ball]:
    limit = limits.get((index, element))
    if limit is not None:
        return limit.ball
    ball = balls[index][element]
    return ball if ball is not None and ball.tight else None
