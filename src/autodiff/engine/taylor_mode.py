"""Taylor mode: the series target of the program compiler
(autodiff.engine.program), on torch tensors (design §15).

Every function of the table has its rule here, built from the primitives'
recurrences in autodiff.engine.series: the inverse functions, erf, log1p
and softplus from their derivatives (f = f(u(a)) + ∫ f′(u)·du), the gamma
family from their own Taylor coefficients (polygamma), the reciprocal
functions by division. A function without a rule is an UnsupportedError
naming it.

Where a coefficient does not exist at the point (abs at 0, a branch of
`where` at its boundary, the square root at 0), it and every coefficient
that depends on it are nan; the constant term stays the function's value.
"""

from __future__ import annotations

import functools
import math
from typing import Callable, Optional

import sympy
import torch

from autodiff.engine.floats import double
from autodiff.engine.program import Compiled, Op, float_exponent, rules_by_name
from autodiff.engine.series import (
    MAX_INTEGER_POWER, Series, broadcast, add, cos, cosh, divide, exp, integral, log, mul, one, power,
    reciprocal, ring, scaled, sigmoid, sin, sinh, solve, square, tan, tanh, general_power, uniform,
)
from autodiff.errors import UnsupportedError
from autodiff.language.declared import DeclaredCall
from autodiff.language.functions import FUNCTIONS_BY_NAME


def _by(derivative: Callable[[Series], Series], function: Callable) -> Op:
    """The rule of f from f(u(a)) (`function` of a tensor) and f'(u) (a series)."""
    def rule(u: Series) -> Series:
        if u.constant:
            return u.like(function(u.value))
        return integral(u, function(u.value), derivative(u))

    return rule


def _inverse_sqrt(u: Series) -> Series:
    return power(u, -0.5)


def _one_plus(u: Series, sign: float = 1.0) -> Series:
    """1 + sign·u²"""
    return add(one(u), scaled(square(u), sign))


atan = _by(lambda u: reciprocal(_one_plus(u)), torch.atan)
asin = _by(lambda u: _inverse_sqrt(_one_plus(u, -1.0)), torch.asin)
acos = _by(lambda u: scaled(_inverse_sqrt(_one_plus(u, -1.0)), -1.0), torch.acos)
def _inverse_hypot(u: Series, c: float) -> Series:
    """(u² + c)^(−1/2), scaled by s = max(1, |u(a)|) so that u² cannot overflow:
    s⁻¹·((u/s)² + c/s²)^(−1/2)."""
    s = torch.clamp(u.value.abs(), min=1.0).unsqueeze(-1)
    v = Series(u.c / s, u.ring)
    inner = add(square(v), Series(one(u).c * (c / (s * s)), u.ring, True))
    return Series(_inverse_sqrt(inner).c / s, u.ring)


asinh = _by(lambda u: _inverse_hypot(u, 1.0), torch.asinh)
acosh = _by(lambda u: _inverse_hypot(u, -1.0), torch.acosh)
atanh = _by(lambda u: reciprocal(_one_plus(u, -1.0)), torch.atanh)
acot = _by(lambda u: scaled(reciprocal(_one_plus(u)), -1.0), lambda x: torch.where(x == 0, math.pi / 2, torch.atan(1 / x)))
erf = _by(lambda u: scaled(exp(scaled(square(u), -1.0)), 2 / math.sqrt(math.pi)), torch.erf)
erfc = _by(lambda u: scaled(exp(scaled(square(u), -1.0)), -2 / math.sqrt(math.pi)), torch.erfc)
log1p = _by(lambda u: reciprocal(add(one(u), u)), torch.log1p)
softplus = _by(sigmoid, lambda x: torch.logaddexp(x, torch.zeros_like(x)))


def expm1(u):
    """exp(u) − 1, its value by torch.expm1 (accurate near 0)."""
    if u.constant:
        return u.like(torch.expm1(u.value))
    return exp(u).with_value(torch.expm1(u.value), exp(u).c)


def _composed(*steps: Callable[[Series], Series]) -> Op:
    def rule(u: Series) -> Series:
        for step in steps:
            u = step(u)
        return u

    return rule


def _scale_then(factor: float, then: Callable) -> Op:
    return lambda u: then(scaled(u, factor))


def _then_scale(first: Callable, factor: float) -> Op:
    return lambda u: scaled(first(u), factor)


def cbrt(u):
    """The real cube root: −(−u)^(1/3) below 0."""
    if u.constant:
        return u.like(torch.sign(u.value) * torch.abs(u.value) ** (1 / 3))
    negative = (u.value < 0).unsqueeze(-1)
    magnitude = Series(torch.where(negative, -u.c, u.c), u.ring)
    root = power(magnitude, 1 / 3).c
    return Series(torch.where(negative, -root, root), u.ring)


def root(u, n):
    """The real n-th root: −(−u)^(1/n) below 0 for an odd n; an n that varies
    (a series, or several values over the point) by exp(log(u)/n)."""
    degree = uniform(n)
    if degree is None:
        return exp(divide(log(u), n))
    if degree == 3:
        return cbrt(u)
    if u.constant:
        return u.like(torch.pow(u.value, 1 / degree))
    negative = (u.value < 0).unsqueeze(-1)
    odd = degree == int(degree) and int(degree) % 2 == 1
    magnitude = Series(torch.where(negative, -u.c, u.c), u.ring) if odd else u
    c = power(magnitude, 1 / degree).c
    return Series(torch.where(negative, -c, c) if odd else c, u.ring)


def _known_derivatives(u: Series, coefficients: Callable[[torch.Tensor, int], torch.Tensor]) -> Series:
    """f(u) from f's own Taylor coefficients at u(a): `coefficients(u0, m)`
    is f⁽ᵐ⁾(u0)/m!; Σ_m f_m·(u − u0)^m by Horner's rule (N products)."""
    if u.constant:
        return u.like(coefficients(u.value, 0))
    ring, shifted = u.ring, u.shifted()
    total = torch.zeros_like(u.c)
    for m in range(ring.order, -1, -1):
        total = ring.product(total, shifted) if m < ring.order else total
        total[..., 0] = total[..., 0] + coefficients(u.value, m)
    return Series(total, ring)


def _polygamma_coefficients(shift: int):
    """ψ⁽ˢ⁾ and lgamma (shift −1): the m-th derivative is ψ⁽ˢ⁺ᵐ⁾. Divided by
    m!: for x > 0 and s + m ≥ 1 from Hurwitz's zeta, ψ⁽ⁿ⁾(x) =
    (−1)ⁿ⁺¹ n! ζ(n + 1, x), exact to the last digits where torch's polygamma
    (trigamma) is good to about 1e-10; elsewhere torch's polygamma."""
    def coefficients(x, m):
        n = shift + m
        if n == -1:
            return torch.lgamma(x)
        if n == 0:
            return torch.special.digamma(x)
        ratio = math.prod(range(m + 1, n + 1)) if n >= m else 1 / m  # n!/m! (shift −1: (m − 1)!/m!)
        zeta = (-1.0) ** (n + 1) * float(ratio) * torch.special.zeta(torch.full_like(x, n + 1.0), x)
        return torch.where(x > 0, zeta, torch.special.polygamma(n, x) / float(math.factorial(m)))

    return coefficients


lgamma = functools.partial(_known_derivatives, coefficients=_polygamma_coefficients(-1))
digamma = functools.partial(_known_derivatives, coefficients=_polygamma_coefficients(0))


def gamma(u):
    """Γ(u) = sign·exp(lgamma(u)), the sign (−1)^ceil(−u) below 0, constant near the point."""
    sign = torch.where(u.value > 0, 1.0, 1.0 - 2.0 * torch.remainder(torch.ceil(-u.value), 2.0)).to(u.c.dtype)
    result = exp(lgamma(u))
    return Series(result.c * sign.unsqueeze(-1), u.ring, u.constant)


def polygamma(n, u):
    """ψ⁽ⁿ⁾(u) for one whole order n (SymPy's polygamma(n, u))."""
    order = uniform(n)
    if order is None or order != int(order):
        raise UnsupportedError("Taylor mode has no rule for polygamma of an order that varies")
    return _known_derivatives(u, _polygamma_coefficients(int(order)))


SINC_TERMS = 30  # terms of sinc's power series beyond the first that reaches a degree (|u| <= 1: below 1e-80)


def _sinc_coefficients(x: torch.Tensor, m: int) -> torch.Tensor:
    """sinc⁽ᵐ⁾(x)/m! from sinc(x) = Σ_k (−1)^k x^{2k}/(2k+1)!, for |x| <= 1:
    Σ_{2k ≥ m} (−1)^k C(2k, m) x^{2k−m}/(2k+1)!."""
    total = torch.zeros_like(x)
    first = (m + 1) // 2
    for k in range(first, first + SINC_TERMS):
        total = total + (-1.0) ** k * math.comb(2 * k, m) / math.factorial(2 * k + 1) * x ** (2 * k - m)
    return total


def sinc(u):
    """sin(u)/u: near 0 (|u(a)| <= 1) from its own power series, where the
    division's recurrence would lose digits as (1/u(a))^k; beyond, sin(u)/u."""
    if u.constant:
        return u.like(torch.where(u.value == 0, 1.0, torch.sin(u.value) / u.value).to(u.c.dtype))
    small = (u.value.abs() <= 1).unsqueeze(-1)
    safe = Series(torch.where(small, 2.0, u.c).to(u.c.dtype), u.ring) if bool(small.any()) else u
    away = divide(sin(safe), safe).c
    clipped = Series(torch.where(small, u.c, 0.0).to(u.c.dtype), u.ring)
    near = _known_derivatives(clipped, _sinc_coefficients).c
    return Series(torch.where(small, near, away), u.ring)


def _flat(u: Series, value: torch.Tensor, jump: torch.Tensor) -> Series:
    """A piecewise-constant function: its value, no higher terms, and none
    at all (nan) where the point is on a jump."""
    c = torch.zeros_like(u.c)
    c[..., 1:] = torch.where(jump.unsqueeze(-1), math.nan, 0.0)
    c[..., 0] = value
    return Series(c, u.ring, u.constant)


def _undefined_above(c: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """`c` with every coefficient above the constant term nan where `where` holds."""
    if not bool(where.any()):
        return c
    c = c.clone()
    c[..., 1:] = torch.where(where.unsqueeze(-1), math.nan, c[..., 1:])
    return c


def _undefined_where_they_part(c: torch.Tensor, tie: torch.Tensor, x: torch.Tensor, y: torch.Tensor, ring) -> torch.Tensor:
    """At a tie between two branches (`x`, `y`), `c` keeps the coefficients
    of the degrees below the first where the branches differ (max(x, sin(x))
    at 0: 0, 1, 0) and has none (nan) from that degree on."""
    differ = (x != y) & ~(x.isnan() & y.isnan())
    if not bool((tie & differ.any(-1)).any()):
        return c
    degrees = ring.degrees.expand_as(differ)
    first = torch.where(differ, degrees, ring.order + 1).min(-1).values
    return torch.where(tie.unsqueeze(-1) & (degrees >= first.unsqueeze(-1)), math.nan, c)


def absolute(u: Series) -> Series:
    """|u| = ±u away from 0; at 0, a kink: no coefficient above the value."""
    negative = (u.value < 0).unsqueeze(-1)
    c = torch.where(negative, -u.c, u.c)
    return Series(_undefined_above(c, (u.value == 0) & ~_is_zero_series(u)), u.ring, u.constant)


def _is_zero_series(u: Series) -> torch.Tensor:
    return (u.c == 0).all(-1)


def sign(u):
    """sign(u): flat away from 0; on the jump, no coefficient above the value."""
    return _flat(u, torch.sign(u.value), (u.value == 0) & ~_is_zero_series(u))


def floor(u):
    """floor(u): flat between integers; on one, no coefficient above the value."""
    return _flat(u, torch.floor(u.value), (u.value == torch.floor(u.value)) & (not u.constant))


def ceiling(u):
    """ceil(u): as floor."""
    return _flat(u, torch.ceil(u.value), (u.value == torch.ceil(u.value)) & (not u.constant))


def heaviside(u, h0=None):
    """Heaviside(u): flat away from 0 (h0, default 1/2, at 0); at 0, no coefficient above the value."""
    at_zero = 0.5 if h0 is None else h0.value
    value = torch.where(u.value > 0, 1.0, torch.where(u.value < 0, 0.0, at_zero)).to(u.c.dtype)
    return _flat(u, value, (u.value == 0) & (not u.constant))


def dirac_delta(u, *order):
    """DiracDelta(u): 0 away from 0, no value at 0."""
    return _flat(u, torch.where(u.value == 0, math.nan, 0.0).to(u.c.dtype), torch.zeros_like(u.value, dtype=torch.bool))


def detach(u):
    """No derivative flows through detach(u): its value alone, as autograd holds it."""
    return u.like(u.value)


def _extreme(pick_first: Callable) -> Op:
    """min and max: the argument smallest (largest) at the point; where two
    tie, a kink from the first degree where their series part."""
    def rule(*args: Series) -> Series:
        result = args[0]
        for other in args[1:]:
            a, b = broadcast(result, other)
            first = pick_first(a[..., 0], b[..., 0])
            c = torch.where(first.unsqueeze(-1), a, b)
            tie = a[..., 0] == b[..., 0]
            result = Series(_undefined_where_they_part(c, tie, a, b, result.ring), result.ring,
                            result.constant and other.constant)
        return result

    return rule


def atan2(y: Series, x: Series) -> Series:
    """atan2(y, x): d atan2 = (x·dy − y·dx)/(x² + y²)."""
    value = torch.atan2(y.value, x.value)
    if y.constant and x.constant:
        return y.like(value)
    ring = y.ring
    numerator = add(mul(x, Series(y.euler(), ring)), scaled(mul(y, Series(x.euler(), ring)), -1.0))
    c = divide(numerator, add(square(x), square(y))).c / ring.degrees.to(y.c.dtype).clamp(min=1)
    c = torch.broadcast_to(c, torch.broadcast_shapes(c.shape, y.c.shape, x.c.shape)).clone()
    c[..., 0] = value
    return Series(c, ring)


def hypot(x: Series, y: Series) -> Series:
    """h = sqrt(x² + y²) from h·𝓔h = x·𝓔x + y·𝓔y degree by degree, with
    h(a) = torch.hypot: no square of x or y is formed, so nothing overflows
    (torch's hypot has no overflow either). At x = y = 0, a kink: nan above."""
    ring = x.ring
    a, b = broadcast(x, y)
    degrees = ring.degrees.to(a.dtype)
    numerator = ring.product(a, a * degrees) + ring.product(b, b * degrees)
    h0 = torch.hypot(a[..., 0], b[..., 0])
    return Series(solve(ring, h0, lambda h, k: (numerator[..., ring.parts[k]] - ring.part(h, h * degrees, k))
                                / (k * h0.unsqueeze(-1))), ring)


# --- conditions: decided at the point, a tie is a boundary ------------------


class Condition:
    """A comparison at the point: `holds` (bool tensor) and `tie` (the point
    is on the boundary, where the branches' series need not agree)."""

    __slots__ = ("holds", "tie")

    def __init__(self, holds: torch.Tensor, tie: torch.Tensor):
        self.holds, self.tie = holds, tie


def _compare(op: Callable) -> Op:
    def compare(a: Series, b: Series) -> Condition:
        return Condition(op(a.value, b.value), (a.value == b.value) & (not (a.constant and b.constant)))

    return compare


def _all(*conditions: Condition) -> Condition:
    holds, tie = conditions[0].holds, conditions[0].tie
    for condition in conditions[1:]:
        holds, tie = holds & condition.holds, tie | condition.tie
    return Condition(holds, tie)


def _any(*conditions: Condition) -> Condition:
    holds, tie = conditions[0].holds, conditions[0].tie
    for condition in conditions[1:]:
        holds, tie = holds | condition.holds, tie | condition.tie
    return Condition(holds, tie)


def _not(condition: Condition) -> Condition:
    return Condition(~condition.holds, condition.tie)


def _if_then_else(condition: Condition, a, b):
    if isinstance(a, Condition):
        return Condition(torch.where(condition.holds, a.holds, b.holds), condition.tie | a.tie | b.tie)
    x, y = broadcast(a, b)
    c = torch.where(condition.holds.unsqueeze(-1), x, y)
    return Series(_undefined_where_they_part(c, condition.tie, x, y, a.ring), a.ring)


def piecewise(*values_and_conditions) -> Series:
    """The first branch whose condition holds at the point; at a boundary
    (a tie in the deciding condition), no coefficient above the value."""
    pairs = list(zip(values_and_conditions[::2], values_and_conditions[1::2]))
    first = pairs[0][0]
    result = Series(torch.full_like(first.c, math.nan), first.ring)
    for value, condition in reversed(pairs):
        if isinstance(condition, bool):  # True (the default branch): as a tensor on the values' device
            shape, device = first.value.shape, first.c.device
            condition = Condition(torch.full(shape, condition, dtype=torch.bool, device=device),
                                  torch.zeros(shape, dtype=torch.bool, device=device))
        result = _if_then_else(condition, value, result)
    return result


# --- the target ---------------------------------------------------------------

_BY_NAME: dict[str, Op] = {
    "sin": sin, "cos": cos, "tan": tan,
    "sec": _composed(cos, reciprocal), "csc": _composed(sin, reciprocal),
    "cot": lambda u: divide(cos(u), sin(u)),
    "sinc": sinc, "asin": asin, "acos": acos, "atan": atan,
    "asec": _composed(reciprocal, acos), "acsc": _composed(reciprocal, asin), "acot": acot,
    "atan2": atan2, "sinh": sinh, "cosh": cosh, "tanh": tanh,
    "sech": _composed(cosh, reciprocal), "csch": _composed(sinh, reciprocal),
    "coth": lambda u: divide(cosh(u), sinh(u)),
    "asinh": asinh, "acosh": acosh, "atanh": atanh,
    "asech": _composed(reciprocal, acosh), "acsch": _composed(reciprocal, asinh), "acoth": _composed(reciprocal, atanh),
    "exp": exp, "exp2": _scale_then(math.log(2), exp), "expm1": expm1, "log": log,
    "log2": _then_scale(log, 1 / math.log(2)), "log10": _then_scale(log, 1 / math.log(10)), "log1p": log1p,
    "cbrt": cbrt, "root": root, "abs": absolute, "sign": sign, "floor": floor, "ceil": ceiling,
    "min": _extreme(torch.le), "max": _extreme(torch.ge), "erf": erf, "erfc": erfc,
    "gamma": gamma, "lgamma": lgamma, "sigmoid": sigmoid, "relu": lambda u: _extreme(torch.ge)(u, u.like(torch.zeros_like(u.value))),
    "softplus": softplus, "heaviside": heaviside, "hypot": hypot, "detach": detach,
}

# The functions of the table spelled with other nodes (sqrt is a Pow, where
# a Piecewise, clamp a Min of a Max): no rule of their own is needed.
SPELLED_WITH_OTHERS = {"sqrt", "where", "clamp", "pow", "ln", "sgn"}


def _rules() -> dict[type, Op]:
    rules: dict[type, Op] = {
        sympy.Add: add,
        sympy.Mul: mul,
        sympy.Pow: general_power,
        sympy.Heaviside: heaviside,
        sympy.DiracDelta: dirac_delta,
        sympy.polygamma: polygamma,
        sympy.digamma: digamma,
        sympy.StrictLessThan: _compare(torch.lt),
        sympy.LessThan: _compare(torch.le),
        sympy.StrictGreaterThan: _compare(torch.gt),
        sympy.GreaterThan: _compare(torch.ge),
        sympy.Equality: _compare(torch.eq),
        sympy.Unequality: _compare(torch.ne),
        sympy.And: _all,
        sympy.Or: _any,
        sympy.Not: _not,
        sympy.ITE: _if_then_else,
        sympy.Piecewise: piecewise,
        **rules_by_name(_BY_NAME),
    }
    return rules


def rule_names() -> set[str]:
    """The names of the table's functions that Taylor mode has a rule for."""
    return set(_BY_NAME) | (SPELLED_WITH_OTHERS & set(FUNCTIONS_BY_NAME))


class SeriesProgram(Compiled):
    """A compiled expression run on truncated Taylor series (torch)."""

    target = "in Taylor mode"
    rules = _rules()
    overrides = {**Compiled.overrides, DeclaredCall: "_compile_declared"}
    constant = staticmethod(double)

    @staticmethod
    def numeric_power(exponent) -> Optional[Op]:
        """u^r for a numeric exponent r, by `power` (exact squaring for a whole r)."""
        r = float_exponent(exponent)
        if r is None:
            return None
        if isinstance(r, float) and r == int(r) and abs(r) <= MAX_INTEGER_POWER:
            r = int(r)
        return lambda u: power(u, r)

    def _compile_declared(self, node, gate):
        raise UnsupportedError(
            f"Taylor mode has no rule for {type(node).__name__}, a function defined with its derivative"
        )

    def unsupported(self, node) -> UnsupportedError:
        return UnsupportedError(f"Taylor mode has no rule for {type(node).__name__} ({node})")

    def coefficients(self, point: dict[str, torch.Tensor], names: list[str], order: int,
                     dtype: torch.dtype = torch.float64) -> list[torch.Tensor]:
        """Each output's coefficients f⁽ᵅ⁾(a)/α! about `point` (each name a
        tensor of the point's shape), in the variables `names` (the others
        held at their values) to total degree `order`: tensors of shape
        (*point shape, M), the monomials in `multi_indices` order."""
        device = next(iter(point.values())).device if point else torch.device("cpu")
        r = ring(len(names), order, str(device))
        shape = torch.broadcast_shapes(*[tensor.shape for tensor in point.values()]) if point else ()
        env: dict[str, Series] = {}
        for name, tensor in point.items():
            c = torch.zeros(*shape, r.size, dtype=dtype, device=device)
            c[..., 0] = tensor.to(dtype)
            if name in names and order > 0:
                c[..., 1 + names.index(name)] = 1.0
            env[name] = Series(c, r, name not in names)
        values: list = []
        with torch.no_grad():
            for op, args, name, value, _ in self.instructions:
                if op is not None:
                    values.append(op(*[values[i] for i in args]))
                elif name is not None:
                    values.append(env[name])
                elif isinstance(value, bool):
                    values.append(value)
                else:
                    c = torch.zeros(*shape, r.size, dtype=dtype, device=device)
                    c[..., 0] = value
                    values.append(Series(c, r, True))
        return [torch.broadcast_to(values[slot].c, (*shape, r.size)) for slot in self.output_slots]
