"""The one table of supported functions and constants.

The parser, the program compiler's targets (torch, balls, floats), the
`functions` listing, the docs and the shell completions all read this table.
Importing this module must stay cheap (`--help` and completion read it):
SymPy, torch and arb objects are named by resolvers that run only when the
parser or a target first needs them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

# A resolver receives the imported module (sympy, torch, flint's arb or
# Python's math) and returns the callable to use; it runs on first use,
# never at import time.
Resolver = Callable[[Any], Callable[..., Any]]


def _custom(name: str) -> Resolver:
    """Resolve a SymPy class of our own (sigmoid, relu, ...)."""

    def resolve(_sympy: Any) -> Callable[..., Any]:
        from autodiff.language import symbolic_functions

        return getattr(symbolic_functions, name)

    return resolve


def _cfunction(name: str) -> Resolver:
    """Resolve one of SymPy's C-math functions (log1p, hypot, ...)."""

    def resolve(_sympy: Any) -> Callable[..., Any]:
        from sympy.codegen import cfunctions

        return getattr(cfunctions, name)

    return resolve


@dataclass(frozen=True)
class FunctionSpec:
    """One function of the expression language."""

    name: str
    min_args: int
    max_args: Optional[int]  # None: any number of arguments (n-ary)
    summary: str
    # Builds the SymPy node from SymPy arguments.
    symbolic: Resolver
    # The torch operation for the SymPy class that `symbolic` returns, when
    # it returns a class of its own; None when the function is spelled with
    # other nodes (sqrt is a Pow, clamp is a Min of a Max, ...).
    torch: Optional[Resolver] = None
    params: str = "x"
    # The ball-arithmetic operation (autodiff.engine.balls) for that class: receives
    # python-flint's arb and returns a function of arbs; None as for `torch`.
    exact: Optional[Resolver] = None
    # The plain-float operation (autodiff.engine.floats): receives Python's
    # math and returns a function of floats with IEEE's answers (nan outside
    # the domain, ±inf at a pole or beyond float64's range); None where math
    # has no good one: the float target rounds the ball operation then.
    floats: Optional[Resolver] = None

    @property
    def arity(self) -> str:
        if self.max_args is None:
            return f"{self.min_args}+"
        if self.min_args == self.max_args:
            return str(self.min_args)
        return f"{self.min_args}-{self.max_args}"

    @property
    def signature(self) -> str:
        return f"{self.name}({self.params})"


def _fn(name, summary, symbolic, torch=None, args=(1, 1), params="x", exact=None, floats=None) -> FunctionSpec:
    # A function that is a method of arb, or a function of math, by the same name needs no `exact` or `floats`.
    if exact is None and torch is not None:
        exact = _method(name)
    if floats is None and torch is not None:
        floats = _real(name)
    elif floats is _BALLS:
        floats = None
    return FunctionSpec(name, args[0], args[1], summary, symbolic, torch, params, exact, floats)


def _method(name: str) -> Resolver:
    return lambda arb: getattr(arb, name)


def _log(sp: Any) -> Callable[..., Any]:
    # log(x, b) is log(x)/log(b), as in SymPy; log(x) is the natural log.
    return sp.log


def _clamp(sp: Any) -> Callable[..., Any]:
    return lambda x, lo, hi: sp.Min(sp.Max(x, lo), hi)


def _where(sp: Any) -> Callable[..., Any]:
    return lambda cond, a, b: sp.Piecewise((a, cond), (b, True))


def _softplus(torch: Any) -> Callable[..., Any]:
    # Not torch.nn.functional.softplus: it is exactly linear above its
    # threshold (20), so its second derivative there is 0, not sigmoid'(x).
    return lambda x: torch.logaddexp(x, torch.zeros_like(x))


def _gamma(torch: Any) -> Callable[..., Any]:
    # torch has lgamma (log|Γ|) but no Γ; the sign of Γ(x) for x < 0 is
    # (-1)^ceil(-x), piecewise constant, so autograd sees Γ·ψ as it should.
    def gamma(x):
        sign = torch.where(x > 0, 1.0, 1.0 - 2.0 * torch.remainder(torch.ceil(-x), 2.0))
        return sign * torch.exp(torch.lgamma(x))

    return gamma


def _ball_lgamma(arb: Any) -> Callable[..., Any]:
    # log|Γ(x)|, as torch.lgamma; arb's lgamma is nan for x < 0.
    return lambda x: x.lgamma() if x > 0 else abs(x.gamma()).log()


def _sech(torch: Any) -> Callable[..., Any]:
    # Not 1/cosh(x): cosh overflows beyond |x| ≈ 710, where the gradient is
    # then 0·inf = nan. u = -|x| by a where, not torch.abs, whose gradient
    # at 0 is 0 (that would make the second derivative there 0, not -1).
    def sech(x):
        u = torch.where(x > 0, -x, x)
        return 2 * torch.exp(u) / (1 + torch.exp(2 * u))

    return sech


def _csch(torch: Any) -> Callable[..., Any]:
    sech = _sech(torch)
    return lambda x: sech(x) / torch.tanh(x)  # not 1/sinh(x), for the same reason as sech


def _acot(torch: Any) -> Callable[..., Any]:
    # SymPy's acot: atan(1/x), in (-pi/2, pi/2], pi/2 at 0. Near 0, 1/x
    # overflows and atan(1/x)'s gradient is 0·inf = nan, so |x| <= 1 is
    # ±pi/2 - atan(x) (no cancellation there: |atan(x)| <= pi/4).
    def acot(x):
        small = x.abs() <= 1
        safe = torch.where(small, torch.ones_like(x), x)
        half_pi = torch.where(x >= 0, 1.0, -1.0).to(x.dtype) * (math.pi / 2)
        return torch.where(small, half_pi - torch.atan(x), torch.atan(1 / safe))

    return acot


# sin(x)/x = sum of (-1)^k x^2k / (2k+1)!, k = 0..8: below |x| = 1/2 the
# first term left out is under 1e-22.
_SINC_SERIES = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(9))


def _sinc(torch: Any) -> Callable[..., Any]:
    # Not torch.sinc: it is sin(pi x)/(pi x), its gradient loses every digit
    # near 0 and is set to 0 at 0 for every order (sinc''(0) is -1/3).
    def sinc(x):
        # Each branch sees a safe argument: an untaken branch's nan or inf
        # (sin(0)/0, or the series overflowing far out) would poison the gradient.
        near = x.abs() < 0.5
        safe = torch.where(near, torch.ones_like(x), x)
        square = torch.where(near, x, torch.zeros_like(x)) ** 2
        series = torch.full_like(x, _SINC_SERIES[-1])
        for coefficient in reversed(_SINC_SERIES[:-1]):
            series = series * square + coefficient
        return torch.where(near, series, torch.sin(safe) / safe)

    return sinc


def _root(torch: Any) -> Callable[..., Any]:
    # sign(x)·|x|^(1/n), as cbrt; real only where x >= 0 or n is an odd integer.
    def root(x, n):
        real = ((x >= 0) | (torch.remainder(n, 2) == 1)) & (n != 0)
        return torch.where(real, torch.sign(x) * torch.abs(x).pow(1 / n), torch.nan)

    return root


# Plain floats (autodiff.engine.floats): Python's math, with IEEE's answers where it raises.

_BALLS = object()  # `floats=_BALLS`: math has no such function; the float target rounds the ball operation


def _real(name: str, pole: Optional[Callable[..., float]] = None, overflow: Callable[..., float] = lambda *a: math.inf) -> Resolver:
    """math.<name> with IEEE's answers where math raises: `overflow(x)`
    (+inf unless given) beyond float64's range, `pole(x)` where math finds
    the argument outside the domain (None: nan)."""

    def resolve(m: Any) -> Callable[..., float]:
        function = getattr(m, name)

        def real(*args):
            try:
                return function(*args)
            except OverflowError:
                return overflow(*args)
            except ValueError:
                return math.nan if pole is None else pole(*args)

        return real

    return resolve


def _log_pole(x: float) -> float:
    return -math.inf if x == 0 else math.nan


def float_reciprocal(value: float) -> float:
    # IEEE's 1/0 (Python raises ZeroDivisionError): ±inf by the sign of the zero.
    return 1 / value if value else math.copysign(math.inf, value)


def _reciprocal_of(real: Resolver) -> Resolver:
    """1/f(x) on floats, f from `real`."""

    def resolve(m: Any) -> Callable[..., float]:
        function = real(m)
        return lambda x: float_reciprocal(function(x))

    return resolve


def _of_reciprocal(real: Resolver) -> Resolver:
    """f(1/x) on floats, f from `real`."""

    def resolve(m: Any) -> Callable[..., float]:
        function = real(m)
        return lambda x: function(float_reciprocal(x))

    return resolve


_SINH = _real("sinh", overflow=lambda x: math.copysign(math.inf, x))


def _atanh_pole(x: float) -> float:
    return math.copysign(math.inf, x) if abs(x) == 1 else math.nan


def _float_acot(m: Any) -> Callable[..., float]:
    # As _acot: ±pi/2 - atan(x) for |x| <= 1, so that acot(0) is pi/2.
    return lambda x: (math.pi / 2 if x >= 0 else -math.pi / 2) - m.atan(x) if abs(x) <= 1 else m.atan(1 / x)


def _float_asech(m: Any) -> Callable[..., float]:
    log = _real("log", _log_pole)(m)
    return lambda x: m.log1p(m.sqrt((1 - x) * (1 + x))) - log(x)  # as torch's, for the same reasons


def _float_root(m: Any) -> Callable[..., float]:
    def root(x, n):
        if not ((x >= 0 or n % 2 == 1) and n != 0):
            return math.nan
        return ((x > 0) - (x < 0)) * float_power(abs(x), 1 / n)  # sign(x)·|x|^(1/n), as torch's

    return root


def float_power(base: float, exponent: float) -> float:
    """base ** exponent with IEEE's answers: ±inf beyond the range or for 0 to a
    negative power, nan for a negative base to a non-integer power."""
    try:
        return math.pow(base, exponent)
    except OverflowError:
        return -math.inf if base < 0 and _odd(exponent) else math.inf
    except ValueError:  # zero to a negative power, or a negative base to a non-integer one
        if base != 0:
            return math.nan
        return math.copysign(math.inf, base) if _odd(exponent) else math.inf


def _odd(number: float) -> bool:
    return math.isfinite(number) and number % 2 == 1


def _float_sign(m: Any) -> Callable[..., float]:
    return lambda x: float((x > 0) - (x < 0))  # 0 for nan, as torch.sign


def _float_rounding(name: str) -> Resolver:
    # math.floor and math.ceil return ints, and raise for inf and nan.
    return lambda m: lambda x: float(getattr(m, name)(x)) if m.isfinite(x) else x


def _float_gamma(m: Any) -> Callable[..., float]:
    def gamma(x):
        try:
            return m.gamma(x)
        except OverflowError:  # beyond 171.6, or next to a pole: Γ's sign is (-1)^ceil(-x) below 0
            return math.inf if x > 0 or m.ceil(-x) % 2 == 0 else -math.inf
        except ValueError:  # a pole, or -inf: no value
            return math.nan

    return gamma


def _float_sigmoid(m: Any) -> Callable[..., float]:
    # exp of a non-positive number only: it never overflows.
    return lambda x: 1 / (1 + m.exp(-x)) if x >= 0 else m.exp(x) / (1 + m.exp(x))


def _float_softplus(m: Any) -> Callable[..., float]:
    # As torch.logaddexp(x, 0): max(x, 0) + log1p(e^-|x|), which never overflows.
    return lambda x: max(x, 0.0) + m.log1p(m.exp(-abs(x)))


def _ball_root(arb: Any) -> Callable[..., Any]:
    def root(x, n):
        if not (n.is_exact() and n.is_integer()):
            return x ** (1 / n)  # nan for x < 0
        k = int(n.unique_fmpz())
        if k == 0:
            return arb.nan()
        if x.is_zero():  # arb's root of 0 is nan
            return x if k > 0 else arb.nan()
        # arb's root is nan below 0: the real root of an odd k is sgn·|x|^(1/k).
        magnitude = x.root(abs(k)) if k % 2 == 0 else x.sgn() * abs(x).root(abs(k))
        return magnitude if k > 0 else 1 / magnitude

    return root


FUNCTIONS: tuple[FunctionSpec, ...] = (
    _fn("sin", "sine", lambda s: s.sin, lambda t: t.sin),
    _fn("cos", "cosine", lambda s: s.cos, lambda t: t.cos),
    _fn("tan", "tangent", lambda s: s.tan, lambda t: t.tan),
    _fn("sec", "secant, 1/cos(x)", lambda s: s.sec, lambda t: lambda x: 1 / t.cos(x), floats=_reciprocal_of(_real("cos"))),
    _fn("csc", "cosecant, 1/sin(x)", lambda s: s.csc, lambda t: lambda x: 1 / t.sin(x), floats=_reciprocal_of(_real("sin"))),
    _fn("cot", "cotangent, 1/tan(x)", lambda s: s.cot, lambda t: lambda x: 1 / t.tan(x), floats=_reciprocal_of(_real("tan"))),
    _fn("sinc", "unnormalised sinc, sin(x)/x, with sinc(0) = 1", lambda s: s.sinc, _sinc,
        floats=lambda m: lambda x: 1.0 if x == 0 else m.sin(x) / x),
    _fn("asin", "inverse sine", lambda s: s.asin, lambda t: t.asin),
    _fn("arcsin", "inverse sine (same as asin)", lambda s: s.asin),
    _fn("acos", "inverse cosine", lambda s: s.acos, lambda t: t.acos),
    _fn("arccos", "inverse cosine (same as acos)", lambda s: s.acos),
    _fn("atan", "inverse tangent", lambda s: s.atan, lambda t: t.atan),
    _fn("arctan", "inverse tangent (same as atan)", lambda s: s.atan),
    _fn("asec", "inverse secant, acos(1/x), for abs(x) >= 1", lambda s: s.asec,
        lambda t: lambda x: t.acos(1 / x), exact=lambda a: lambda x: (1 / x).acos(), floats=_of_reciprocal(_real("acos"))),
    _fn("acsc", "inverse cosecant, asin(1/x), for abs(x) >= 1", lambda s: s.acsc,
        lambda t: lambda x: t.asin(1 / x), exact=lambda a: lambda x: (1 / x).asin(), floats=_of_reciprocal(_real("asin"))),
    _fn("acot", "inverse cotangent, atan(1/x); acot(0) = pi/2", lambda s: s.acot,
        _acot, exact=lambda a: lambda x: a.pi() / 2 if x.is_zero() else (1 / x).atan(), floats=_float_acot),
    _fn("atan2", "angle of the point (x, y), quadrant-aware", lambda s: s.atan2, lambda t: t.atan2, (2, 2), "y, x", exact=lambda a: a.atan2),
    _fn("sinh", "hyperbolic sine", lambda s: s.sinh, lambda t: t.sinh,
        floats=_SINH),
    _fn("cosh", "hyperbolic cosine", lambda s: s.cosh, lambda t: t.cosh),
    _fn("tanh", "hyperbolic tangent", lambda s: s.tanh, lambda t: t.tanh),
    _fn("sech", "hyperbolic secant, 1/cosh(x)", lambda s: s.sech, _sech, floats=_reciprocal_of(_real("cosh"))),
    _fn("csch", "hyperbolic cosecant, 1/sinh(x)", lambda s: s.csch, _csch,
        floats=_reciprocal_of(_SINH)),
    _fn("coth", "hyperbolic cotangent, 1/tanh(x)", lambda s: s.coth, lambda t: lambda x: 1 / t.tanh(x),
        floats=_reciprocal_of(_real("tanh"))),
    _fn("asinh", "inverse hyperbolic sine", lambda s: s.asinh, lambda t: t.asinh),
    _fn("arcsinh", "inverse hyperbolic sine (same as asinh)", lambda s: s.asinh),
    _fn("acosh", "inverse hyperbolic cosine", lambda s: s.acosh, lambda t: t.acosh),
    _fn("arccosh", "inverse hyperbolic cosine (same as acosh)", lambda s: s.acosh),
    _fn("atanh", "inverse hyperbolic tangent", lambda s: s.atanh, lambda t: t.atanh, floats=_real("atanh", _atanh_pole)),
    _fn("arctanh", "inverse hyperbolic tangent (same as atanh)", lambda s: s.atanh),
    # asech as a logarithm, not acosh(1/x): that loses digits near 1 and its gradient overflows near 0.
    _fn("asech", "inverse hyperbolic secant, acosh(1/x), for 0 < x <= 1", lambda s: s.asech,
        lambda t: lambda x: t.log1p(t.sqrt((1 - x) * (1 + x))) - t.log(x), exact=lambda a: lambda x: (1 / x).acosh(),
        floats=_float_asech),
    _fn("acsch", "inverse hyperbolic cosecant, asinh(1/x)", lambda s: s.acsch,
        lambda t: lambda x: t.asinh(1 / x), exact=lambda a: lambda x: (1 / x).asinh(), floats=_of_reciprocal(_real("asinh"))),
    _fn("acoth", "inverse hyperbolic cotangent, atanh(1/x), for abs(x) > 1", lambda s: s.acoth,
        lambda t: lambda x: t.atanh(1 / x), exact=lambda a: lambda x: (1 / x).atanh(),
        floats=_of_reciprocal(_real("atanh", _atanh_pole))),
    _fn("exp", "exponential, e^x", lambda s: s.exp, lambda t: t.exp),
    _fn("exp2", "2^x", _custom("exp2"), lambda t: t.exp2, exact=lambda a: lambda x: a(2) ** x,
        floats=lambda m: lambda x: float_power(2.0, x)),
    _fn("expm1", "exp(x) - 1, accurate near 0", _cfunction("expm1"), lambda t: t.expm1),
    _fn("log", "natural logarithm; log(x, b) is the base-b logarithm", _log, lambda t: t.log, (1, 2), "x[, base]",
        exact=lambda a: a.log, floats=_real("log", _log_pole)),
    _fn("ln", "natural logarithm (same as log)", lambda s: s.log),
    _fn("log2", "base-2 logarithm", _cfunction("log2"), lambda t: t.log2, exact=lambda a: lambda x: x.log() / a(2).log(),
        floats=_real("log2", _log_pole)),
    _fn("log10", "base-10 logarithm", _cfunction("log10"), lambda t: t.log10, exact=lambda a: lambda x: x.log() / a(10).log(),
        floats=_real("log10", _log_pole)),
    _fn("log1p", "log(1 + x), accurate near 0", _cfunction("log1p"), lambda t: t.log1p,
        floats=_real("log1p", lambda x: _log_pole(x + 1))),
    _fn("sqrt", "square root", lambda s: s.sqrt),
    _fn("cbrt", "real cube root (negative for negative x)", _custom("cbrt"),
        lambda t: lambda x: t.sign(x) * t.abs(x).pow(1.0 / 3.0), exact=lambda a: lambda x: _ball_root(a)(x, a(3)),
        floats=_BALLS),  # math.cbrt is Python 3.11's
    _fn("root", "real n-th root (negative for negative x and odd n)", _custom("root"), _root, (2, 2), "x, n",
        exact=_ball_root, floats=_float_root),
    _fn("abs", "absolute value", lambda s: s.Abs, lambda t: t.abs, exact=lambda a: abs, floats=lambda m: m.fabs),
    _fn("sign", "sign: -1, 0 or 1", lambda s: s.sign, lambda t: t.sign, exact=lambda a: a.sgn, floats=_float_sign),
    _fn("sgn", "sign: -1, 0 or 1 (same as sign)", lambda s: s.sign),
    _fn("floor", "largest integer <= x", _custom("floor"), lambda t: t.floor, floats=_float_rounding("floor")),
    _fn("ceil", "smallest integer >= x", _custom("ceiling"), lambda t: t.ceil, exact=lambda a: a.ceil,
        floats=_float_rounding("ceil")),
    _fn("min", "smallest of its arguments", lambda s: s.Min, None, (2, None), "a, b, ..."),
    _fn("max", "largest of its arguments", lambda s: s.Max, None, (2, None), "a, b, ..."),
    _fn("erf", "error function", lambda s: s.erf, lambda t: t.erf),
    _fn("erfc", "complementary error function, 1 - erf(x)", lambda s: s.erfc, lambda t: t.erfc),
    _fn("gamma", "gamma function", lambda s: s.gamma, _gamma, floats=_float_gamma),
    _fn("lgamma", "log of the gamma function", lambda s: s.loggamma, lambda t: t.lgamma, exact=_ball_lgamma,
        floats=_BALLS),  # math.lgamma loses digits near its zeros below 0 (75 ulps at -2.5)
    _fn("sigmoid", "logistic sigmoid, 1/(1 + e^-x)", _custom("sigmoid"), lambda t: t.sigmoid,
        exact=lambda a: lambda x: 1 / (1 + (-x).exp()), floats=_float_sigmoid),
    _fn("relu", "rectifier, max(x, 0)", _custom("relu"), lambda t: t.relu, exact=lambda a: lambda x: a.max(x, a(0)),
        floats=lambda m: lambda x: 0.0 if x < 0 else x),
    _fn("softplus", "log(1 + e^x)", _custom("softplus"),
        _softplus, exact=lambda a: lambda x: x.exp().log1p(), floats=_float_softplus),
    _fn("heaviside", "step function: 0 below 0, 1/2 at 0, 1 above", lambda s: s.Heaviside),
    _fn("where", "a where cond holds, else b; cond compares with < <= > >= == !=", _where, None, (3, 3), "cond, a, b"),
    _fn("clamp", "x limited to [lo, hi]", _clamp, None, (3, 3), "x, lo, hi"),
    _fn("hypot", "sqrt(x^2 + y^2) without overflow", _custom("hypot"), lambda t: t.hypot, (2, 2), "x, y", exact=lambda a: lambda x, y: (x * x + y * y).sqrt()),
    _fn("pow", "x raised to the power y, same as x^y", lambda s: s.Pow, None, (2, 2), "x, y"),
    _fn("detach", "x with no gradient flowing through it (torch .detach())", _custom("detach"),
        lambda t: lambda x: x.detach(), exact=lambda a: lambda x: x, floats=lambda m: lambda x: x),
)

FUNCTIONS_BY_NAME: dict[str, FunctionSpec] = {spec.name: spec for spec in FUNCTIONS}


@dataclass(frozen=True)
class ConstantSpec:
    name: str
    summary: str
    symbolic: Resolver


CONSTANTS: tuple[ConstantSpec, ...] = (
    ConstantSpec("pi", "π = 3.14159…", lambda s: s.pi),
    ConstantSpec("e", "Euler's number e = 2.71828…", lambda s: s.E),
    ConstantSpec("E", "Euler's number (same as e)", lambda s: s.E),
    ConstantSpec("inf", "positive infinity", lambda s: s.oo),
)

CONSTANTS_BY_NAME: dict[str, ConstantSpec] = {spec.name: spec for spec in CONSTANTS}


def listing() -> dict:
    """The table as `autodiff functions --json` prints it."""
    return {
        "command": "functions",
        "functions": [
            {
                "name": spec.name,
                "signature": spec.signature,
                "arity": spec.arity,
                "min_args": spec.min_args,
                "max_args": spec.max_args,
                "description": spec.summary,
            }
            for spec in FUNCTIONS
        ],
        "constants": [{"name": spec.name, "description": spec.summary} for spec in CONSTANTS],
    }
