"""The exact witness of Taylor mode: the program compiler's target of power
series with ball coefficients, FLINT's `arb_series` through python-flint
(design §15).

The same program as Taylor mode's (autodiff.engine.series), each primitive
by FLINT's own series function (exp, log, sin, atan, sqrt, gamma, …) or an
identity of them (sinh = (eᵘ − e⁻ᵘ)/2), never by Taylor mode's recurrences:
a witness that shares no rule with what it judges. Every coefficient is a
ball guaranteed to hold the true one; the precision is raised until each is
tight (`Ball.tight`), or the cap or the budget of counted operations is
reached.

One variable is one series. Several variables are one series per direction
h = (1, s) for every s ∈ ℕ^(d−1) with |s| ≤ N: along h the coefficient of
degree k is P_k(h) = Σ_{|α|=k} T_α h^α, and the principal lattice |s| ≤ k is
unisolvent for those T_α, so each degree is an exact rational linear
combination of the directions' balls (the inverse of an integer matrix,
computed exactly).

A series division by a series that vanishes at the point (sin(x)/x at 0)
divides out the common zeros, as FLINT does; the series are computed
`EXTRA_TERMS` longer than asked so that this loses no wanted coefficient.
"""

from __future__ import annotations

import functools
import math
from contextvars import ContextVar
from typing import Any, Optional

import sympy
from flint import arb, arb_mat, arb_series, ctx, fmpq_mat

from autodiff.engine.balls import START_BITS, Ball, BallProgram, comparison
from autodiff.engine.program import Compiled, Instruction, Op, product_of, rules_by_name, sum_of
from autodiff.engine.series import multi_indices
from autodiff.errors import UnsupportedError
from autodiff.language.declared import DeclaredCall

EXTRA_TERMS = 8  # more terms than asked: a division by a series that vanishes at the point loses some
# The coefficients asked for in the current run: two branches that agree on
# these are the same function to that degree (their extra terms may differ).
_WANTED: ContextVar[int] = ContextVar("wanted", default=1 << 30)


class Tie:
    """A condition decided at the point, `tie` where its sides are equal there
    (a boundary: the branches' series need not agree)."""

    __slots__ = ("holds", "tie")

    def __init__(self, holds: Optional[bool], tie: bool):
        self.holds, self.tie = holds, tie


def _nan(length: int) -> arb_series:
    return arb_series([arb.nan()] * length, prec=length)


def _head(s: arb_series) -> arb:
    coefficients = s.coeffs()
    return coefficients[0] if coefficients else arb(0)


def _flat(s: arb_series, value: arb, jump: Optional[bool]) -> arb_series:
    """A piecewise-constant function's series: its value, then zeros (nan on a jump or undecided)."""
    length = s.prec
    rest = arb(0) if jump is False else arb.nan()
    return arb_series([value] + [rest] * (length - 1), prec=length)


def _on_jump(x: arb) -> Optional[bool]:
    """True where x is exactly an integer, False where it provably is not, None undecided."""
    if x.is_exact():
        return x.is_integer()
    return False if x.floor() == x.ceil() - 1 and not x.contains_integer() else None


def _constant_series(s: arb_series) -> bool:
    return all(c.is_exact() and c.is_zero() for c in s.coeffs()[1:])


def _quotient(count: int, *factors):
    """The product of the first `count` factors over that of the others."""
    numerator = product_of(*factors[:count]) if count else 1
    return numerator / product_of(*factors[count:])


def _power(base: arb_series, exponent: arb_series) -> arb_series:
    if _constant_series(exponent):
        r = _head(exponent)
        if r.is_exact() and r.is_integer():
            n = int(r.unique_fmpz())
            if abs(n) <= 2**20:
                result = _integer_power(base, abs(n))
                return 1 / result if n < 0 else result
        return base ** r
    return (exponent * base.log()).exp()


def _integer_power(base: arb_series, n: int) -> arb_series:
    result, square = arb_series([arb(1)], prec=base.prec), base
    while n:
        if n & 1:
            result = result * square
        n >>= 1
        if n:
            square = square * square
    return result


def _sinh(u):
    return (u.exp() - (-u).exp()) / 2


def _cosh(u):
    return (u.exp() + (-u).exp()) / 2


def _tanh(u):
    e = (2 * u).exp()
    return (e - 1) / (e + 1)


def _sign_of(x: arb) -> Optional[int]:
    if x > 0:
        return 1
    if x < 0:
        return -1
    return 0 if x.is_exact() and x.is_zero() else None


def _absolute(u):
    sign = _sign_of(_head(u))
    if sign is None:
        return _nan(u.prec)
    if sign == 0:
        return u if _constant_series(u) else _flat(u, arb(0), True)
    return u if sign > 0 else -u


def _sign(u):
    sign = _sign_of(_head(u))
    if sign is None:
        return _nan(u.prec)
    return _flat(u, arb(sign), sign == 0 and not _constant_series(u))


def _floor(u):
    x = _head(u)
    return _flat(u, x.floor(), _on_jump(x) if not _constant_series(u) else False)


def _ceiling(u):
    x = _head(u)
    return _flat(u, x.ceil(), _on_jump(x) if not _constant_series(u) else False)


def _heaviside(u, h0=None):
    sign = _sign_of(_head(u))
    if sign is None:
        return _nan(u.prec)
    at_zero = arb(0.5) if h0 is None else _head(h0)
    value = {1: arb(1), -1: arb(0), 0: at_zero}[sign]
    return _flat(u, value, sign == 0 and not _constant_series(u))


def _odd_root(u, exponent):
    """The real root u^(1/n) for an odd n: −(−u)^(1/n) below 0; at 0 the
    value 0 and no coefficient above it (unless u is the constant 0)."""
    sign = _sign_of(_head(u))
    if sign is None:
        return _nan(u.prec)
    if sign == 0:
        return u if _constant_series(u) else _flat(u, arb(0), True)
    root = (u if sign > 0 else -u) ** exponent
    return root if sign > 0 else -root


def _cbrt(u):
    return _odd_root(u, arb(1) / 3)


def _root(u, n):
    if not _constant_series(n):  # an order that varies: exp(log(u)/n)
        return (u.log() / n).exp()
    degree = _head(n)
    if degree.is_exact() and degree.is_integer() and int(degree.unique_fmpz()) % 2 == 1:
        return _odd_root(u, 1 / degree)
    return u ** (1 / degree)


def _lgamma(u):
    """log|Γ(u)|: FLINT's lgamma above 0; below, the log of |Γ| (Γ's sign is constant between its poles)."""
    if _head(u) > 0:
        return u.lgamma()
    gamma = u.gamma()
    sign = _sign_of(_head(gamma))
    if sign is None or sign == 0:
        return _nan(u.prec)
    return (gamma if sign > 0 else -gamma).log()


def _extreme(larger: bool) -> Op:
    def rule(*args):
        result = args[0]
        for other in args[1:]:
            difference = _head(result) - _head(other)
            sign = _sign_of(difference)
            if sign is None:
                return _nan(result.prec)
            if sign == 0:
                result = _parted(result, other)
                continue
            if (sign > 0) != larger:
                result = other
        return result

    return rule


def _sinc(u):
    x = _head(u)
    if x.is_exact() and x.is_zero():
        length = u.prec
        t = arb_series([arb(0), arb(1)], prec=length + 2)
        sinc = (t.sin() / t)  # the series of sinc about 0, composed with u
        return _composed(sinc, u, length)
    return u.sin() / u


def _composed(outer: arb_series, inner: arb_series, length: int) -> arb_series:
    """outer(inner − inner(0)) by Horner's rule."""
    shifted = arb_series([arb(0)] + inner.coeffs()[1:], prec=length)
    coefficients = outer.coeffs()[:length]
    total = arb_series([arb(0)], prec=length)
    for c in reversed(coefficients):
        total = total * shifted + c
    return total


def _atan2(y, x):
    value = arb.atan2(_head(y), _head(x))
    rest = (x * y.derivative() - y * x.derivative()) / (x * x + y * y)
    return rest.integral() + value


def _parting(a, b) -> Optional[int]:
    """The first degree asked for where two series provably differ (balls
    that do not overlap; overlapping balls are taken for the same), None
    where they agree on every one."""
    count = _WANTED.get()
    pairs = zip(_coefficients(a, count), _coefficients(b, count))
    return next((k for k, (x, y) in enumerate(pairs) if not x.overlaps(y)), None)


def _parted(chosen, other):
    """At a tie, `chosen` up to the degree where it and `other` part; no coefficient (nan) from there."""
    degree = _parting(chosen, other)
    if degree is None:
        return chosen
    length = chosen.prec
    kept = _coefficients(chosen, degree)
    return arb_series(kept + [arb.nan()] * (length - degree), prec=length)


def _ite(condition: Tie, a, b):
    if isinstance(a, Tie):
        holds = None if condition.holds is None else (a.holds if condition.holds else b.holds)
        return Tie(holds, condition.tie or a.tie or b.tie)
    if condition.holds is None:
        return _nan(a.prec)
    chosen = a if condition.holds else b
    return _parted(chosen, b if chosen is a else a) if condition.tie else chosen


def _piecewise(*values_and_conditions):
    """The first branch whose condition holds; where a condition up to it is
    at a tie and the branches on its two sides differ, a boundary: no
    coefficient above the value (as in Taylor mode)."""
    pairs = list(zip(values_and_conditions[::2], values_and_conditions[1::2]))
    result = _nan(pairs[0][0].prec)
    for value, condition in reversed(pairs):
        if isinstance(condition, bool):
            condition = Tie(condition, False)
        result = _ite(condition, value, result)
    return result


def _comparison(op: str) -> Op:
    compare = comparison(op)

    def rule(a, b):
        x, y = _head(a), _head(b)
        difference = x - y
        tie = difference.is_exact() and difference.is_zero() and not (_constant_series(a) and _constant_series(b))
        return Tie(compare(x, y), tie)

    return rule


def _all(*conditions):
    holds = None if any(c.holds is None for c in conditions) else all(c.holds for c in conditions)
    return Tie(False if any(c.holds is False for c in conditions) else holds, any(c.tie for c in conditions))


def _any(*conditions):
    holds = None if any(c.holds is None for c in conditions) else any(c.holds for c in conditions)
    return Tie(True if any(c.holds is True for c in conditions) else holds, any(c.tie for c in conditions))


def _not(condition):
    return Tie(None if condition.holds is None else not condition.holds, condition.tie)


def _detach(u):
    return arb_series([_head(u)], prec=u.prec)


def _reciprocal_of(function: Op) -> Op:
    return lambda u: 1 / function(u)


def _of_reciprocal(function: Op) -> Op:
    return lambda u: function(1 / u)


def _asinh(u):
    return (u + (u * u + 1).sqrt()).log()


def _acosh(u):
    return (u + (u * u - 1).sqrt()).log()


def _atanh(u):
    return ((1 + u).log() - (1 - u).log()) / 2


def _acot(u):
    x = _head(u)
    if x.is_exact() and x.is_zero():
        return (-u).atan() + arb.pi() / 2
    return (1 / u).atan()


_BY_NAME: dict[str, Op] = {
    "sin": lambda u: u.sin(), "cos": lambda u: u.cos(), "tan": lambda u: u.tan(),
    "sec": lambda u: 1 / u.cos(), "csc": lambda u: 1 / u.sin(), "cot": lambda u: u.cos() / u.sin(),
    "sinc": _sinc, "asin": lambda u: u.asin(), "acos": lambda u: u.acos(), "atan": lambda u: u.atan(),
    "asec": lambda u: (1 / u).acos(), "acsc": lambda u: (1 / u).asin(), "acot": _acot, "atan2": _atan2,
    "sinh": _sinh, "cosh": _cosh, "tanh": _tanh,
    "sech": _reciprocal_of(_cosh), "csch": _reciprocal_of(_sinh), "coth": _reciprocal_of(_tanh),
    "asinh": _asinh, "acosh": _acosh, "atanh": _atanh,
    "asech": _of_reciprocal(_acosh), "acsch": _of_reciprocal(_asinh), "acoth": _of_reciprocal(_atanh),
    "exp": lambda u: u.exp(), "exp2": lambda u: (u * arb(2).log()).exp(), "expm1": lambda u: u.exp() - 1,
    "log": lambda u: u.log(), "log2": lambda u: u.log() / arb(2).log(), "log10": lambda u: u.log() / arb(10).log(),
    "log1p": lambda u: (1 + u).log(), "cbrt": _cbrt, "root": _root,
    "abs": _absolute, "sign": _sign, "floor": _floor, "ceil": _ceiling,
    "min": _extreme(False), "max": _extreme(True), "erf": lambda u: u.erf(), "erfc": lambda u: u.erfc(),
    "gamma": lambda u: u.gamma(), "lgamma": _lgamma,
    "sigmoid": lambda u: 1 / (1 + (-u).exp()), "relu": lambda u: _extreme(True)(u, u * 0),
    "softplus": lambda u: (1 + u.exp()).log(), "heaviside": _heaviside,
    "hypot": lambda x, y: (x * x + y * y).sqrt(), "detach": _detach,
}


def _rules() -> dict[type, Op]:
    rules: dict[type, Op] = {
        sympy.Add: sum_of,
        sympy.Mul: product_of,
        sympy.Pow: _power,
        sympy.Heaviside: _heaviside,
        sympy.StrictLessThan: _comparison("<"),
        sympy.LessThan: _comparison("<="),
        sympy.StrictGreaterThan: _comparison(">"),
        sympy.GreaterThan: _comparison(">="),
        sympy.Equality: _comparison("=="),
        sympy.Unequality: _comparison("!="),
        sympy.And: _all,
        sympy.Or: _any,
        sympy.Not: _not,
        sympy.ITE: _ite,
        sympy.Piecewise: _piecewise,
        **rules_by_name(_BY_NAME),
    }
    return rules


def rule_names() -> set[str]:
    """The names of the table's functions that the ball series have a rule for."""
    return set(_BY_NAME)


class BallSeriesProgram(Compiled):
    """A compiled expression run on power series with ball coefficients."""

    target = "in ball series"
    rules = _rules()
    overrides = {**Compiled.overrides, DeclaredCall: "_compile_declared", sympy.Mul: "_compile_product"}
    constant = staticmethod(BallProgram.constant)  # a thunk, called at the working precision

    @staticmethod
    def numeric_power(exponent) -> Optional[Op]:
        if exponent is sympy.S.Half:
            return lambda u: u.sqrt()
        if isinstance(exponent, sympy.Integer) and abs(int(exponent)) <= 2**20:
            n = int(exponent)
            return lambda u: (lambda p: 1 / p if n < 0 else p)(_integer_power(u, abs(n)))
        return None

    def _compile_declared(self, node, gate):
        raise UnsupportedError(f"the ball series have no rule for {type(node).__name__}")

    def _compile_product(self, node, gate):
        """A product with factors of negative power is one division, so that
        FLINT divides out the zeros that numerator and denominator share at
        the point (sin(x)/x at 0: the series of the limit)."""
        numerator, denominator = [], []
        for factor in node.args:
            if factor.is_Pow and factor.exp.is_Number and factor.exp.is_negative:
                exponent = -factor.exp
                denominator.append(factor.base if exponent == 1 else sympy.Pow(factor.base, exponent, evaluate=False))
            else:
                numerator.append(factor)
        if not denominator:
            return self.apply(self.rules[sympy.Mul], node.args, gate)
        slots = tuple(self.emit(arg, gate) for arg in numerator + denominator)
        return self.append(Instruction(functools.partial(_quotient, len(numerator)), slots))

    def run(self, env: dict[str, Any], directions: dict[str, int], length: int, bits: int) -> list:
        """The output series at one precision: each variable `env[name]` (an
        exact double or rational) moved by t·directions[name]."""
        values: list = []
        cap, ctx.cap = ctx.cap, length  # python-flint truncates every series to ctx.cap terms (10 by default)
        wanted = _WANTED.set(length - EXTRA_TERMS)
        try:
            with ctx.workprec(bits):
                return self._run(env, directions, length, values)
        finally:
            ctx.cap = cap
            _WANTED.reset(wanted)

    def _run(self, env, directions, length, values) -> list:
        for op, args, name, value, _ in self.instructions:
            if op is not None:
                try:
                    values.append(op(*[values[i] for i in args]))
                except (ArithmeticError, ValueError, TypeError, AssertionError, ZeroDivisionError):
                    values.append(_nan(length))
            elif name is not None:
                step = directions.get(name, 0)
                values.append(arb_series([arb(env[name]), arb(step)] if step else [arb(env[name])], prec=length))
            else:
                constant = value()
                values.append(Tie(constant, False) if isinstance(constant, bool) else arb_series([constant], prec=length))
        return [values[slot] for slot in self.output_slots]


def _coefficients(series: arb_series, count: int) -> list[arb]:
    if not isinstance(series, arb_series):
        return [arb.nan()] * count
    coefficients = series.coeffs()[:count]
    return coefficients + [arb(0)] * (count - len(coefficients))


@functools.lru_cache(maxsize=64)
def _lattice(count: int, degree: int) -> tuple[list[tuple[int, ...]], Any]:
    """The points s ∈ ℕ^count with |s| ≤ degree (in multi_indices order,
    reversed degrees) and the exact inverse of the matrix s ↦ s^β over them."""
    points = multi_indices(count, degree)
    matrix = fmpq_mat(len(points), len(points), [math.prod(p ** b for p, b in zip(s, beta)) for s in points for beta in points])
    return points, matrix.inv()


def coefficients(program: BallSeriesProgram, env: dict[str, Any], names: list[str], order: int, bits: int) -> list[list[arb]]:
    """Each output's coefficients T_α (α in multi_indices(len(names), order)
    order) as balls at `bits` of precision."""
    length = order + 1 + EXTRA_TERMS
    if len(names) <= 1:
        directions = {names[0]: 1} if names else {}
        return [_coefficients(s, order + 1) for s in program.run(env, directions, length, bits)]
    rest = len(names) - 1
    points = multi_indices(rest, order)
    along = {s: program.run(env, dict(zip(names, (1, *s))), length, bits) for s in points}
    alphas = multi_indices(len(names), order)
    outputs = []
    with ctx.workprec(bits):
        for output in range(len(program.output_slots)):
            series = {s: _coefficients(runs[output], order + 1) for s, runs in along.items()}
            found: dict[tuple, arb] = {}
            for k in range(order + 1):
                lattice, inverse = _lattice(rest, k)
                values = arb_mat(len(lattice), 1, [series[s][k] for s in lattice])
                solved = arb_mat(inverse) * values
                for beta, value in zip(lattice, (solved[i, 0] for i in range(len(lattice)))):
                    found[(k - sum(beta), *beta)] = value
            outputs.append([found[alpha] for alpha in alphas])
    return outputs


def evaluate(program: BallSeriesProgram, env: dict[str, Any], names: list[str], order: int, max_bits: int,
             budget=None) -> list[list[Ball]]:
    """Each output's coefficients as Balls, the precision raised (×4 from
    START_BITS) until every one is tight, or the cap, or the budget of
    counted operations (charged per instruction and coefficient) says stop."""
    bits, previous = START_BITS, None
    directions = 1 if len(names) <= 1 else math.comb(order + len(names) - 1, len(names) - 1)
    work = len(program.instructions) * (order + 1 + EXTRA_TERMS) * directions
    if budget is not None and not budget.affords(work, bits):  # not even one pass: no exact value
        return [[Ball(arb.nan(), bits, capped=True) for _ in multi_indices(len(names), order)]
                for _ in program.output_slots]
    while True:
        if budget is not None:
            budget.charge(work, bits)
        rows = [[Ball(value, bits) for value in row] for row in coefficients(program, env, names, order, bits)]
        loose = [ball for row in rows for ball in row if not ball.tight]
        if not loose:
            return rows
        # Not finite at two precisions in a row: undefined there (a kink, a pole), not for want of bits.
        infinite = {(i, j) for i, row in enumerate(rows) for j, ball in enumerate(row) if not ball.finite}
        if infinite and infinite == previous and all(not ball.finite for ball in loose):
            for ball in loose:
                ball.undefined = True
            return rows
        previous = infinite
        if bits * 4 > max_bits or (budget is not None and not budget.affords(work, bits * 4)):
            for ball in loose:
                ball.capped = True
                ball.zero_at_cap = bits * 4 > max_bits and ball.near_zero
            return rows
        bits *= 4
