"""The one table of supported functions and constants.

The parser, the lowering to torch, the `functions` listing, the docs and the
shell completions all read this table. Importing this module must stay cheap
(`--help` and completion read it): SymPy and torch objects are named by
resolvers that run only when the parser or the lowering first needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

# A resolver receives the imported module (sympy or torch) and returns the
# callable to use; it runs on first use, never at import time.
Resolver = Callable[[Any], Callable[..., Any]]


def _custom(name: str) -> Resolver:
    """Resolve a SymPy class of our own (sigmoid, relu, ...)."""

    def resolve(_sympy: Any) -> Callable[..., Any]:
        from autodiff import symbolic_functions

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
    # The ball-arithmetic operation (autodiff.exact) for that class: receives
    # python-flint's arb and returns a function of arbs; None as for `torch`.
    exact: Optional[Resolver] = None

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


def _fn(name, summary, symbolic, torch=None, args=(1, 1), params="x", exact=None) -> FunctionSpec:
    # A function that is a method of arb by the same name needs no `exact`.
    if exact is None and torch is not None:
        exact = _method(name)
    return FunctionSpec(name, args[0], args[1], summary, symbolic, torch, params, exact)


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


FUNCTIONS: tuple[FunctionSpec, ...] = (
    _fn("sin", "sine", lambda s: s.sin, lambda t: t.sin),
    _fn("cos", "cosine", lambda s: s.cos, lambda t: t.cos),
    _fn("tan", "tangent", lambda s: s.tan, lambda t: t.tan),
    _fn("sec", "secant, 1/cos(x)", lambda s: s.sec, lambda t: lambda x: 1 / t.cos(x)),
    _fn("csc", "cosecant, 1/sin(x)", lambda s: s.csc, lambda t: lambda x: 1 / t.sin(x)),
    _fn("cot", "cotangent, 1/tan(x)", lambda s: s.cot, lambda t: lambda x: 1 / t.tan(x)),
    _fn("asin", "inverse sine", lambda s: s.asin, lambda t: t.asin),
    _fn("acos", "inverse cosine", lambda s: s.acos, lambda t: t.acos),
    _fn("atan", "inverse tangent", lambda s: s.atan, lambda t: t.atan),
    _fn("atan2", "angle of the point (x, y), quadrant-aware", lambda s: s.atan2, lambda t: t.atan2, (2, 2), "y, x", exact=lambda a: a.atan2),
    _fn("sinh", "hyperbolic sine", lambda s: s.sinh, lambda t: t.sinh),
    _fn("cosh", "hyperbolic cosine", lambda s: s.cosh, lambda t: t.cosh),
    _fn("tanh", "hyperbolic tangent", lambda s: s.tanh, lambda t: t.tanh),
    _fn("asinh", "inverse hyperbolic sine", lambda s: s.asinh, lambda t: t.asinh),
    _fn("acosh", "inverse hyperbolic cosine", lambda s: s.acosh, lambda t: t.acosh),
    _fn("atanh", "inverse hyperbolic tangent", lambda s: s.atanh, lambda t: t.atanh),
    _fn("exp", "exponential, e^x", lambda s: s.exp, lambda t: t.exp),
    _fn("expm1", "exp(x) - 1, accurate near 0", _cfunction("expm1"), lambda t: t.expm1),
    _fn("log", "natural logarithm; log(x, b) is the base-b logarithm", _log, lambda t: t.log, (1, 2), "x[, base]", exact=lambda a: a.log),
    _fn("ln", "natural logarithm (same as log)", lambda s: s.log),
    _fn("log2", "base-2 logarithm", _cfunction("log2"), lambda t: t.log2, exact=lambda a: lambda x: x.log() / a(2).log()),
    _fn("log10", "base-10 logarithm", _cfunction("log10"), lambda t: t.log10, exact=lambda a: lambda x: x.log() / a(10).log()),
    _fn("log1p", "log(1 + x), accurate near 0", _cfunction("log1p"), lambda t: t.log1p),
    _fn("sqrt", "square root", lambda s: s.sqrt),
    _fn("cbrt", "real cube root (negative for negative x)", _custom("cbrt"),
        lambda t: lambda x: t.sign(x) * t.abs(x).pow(1.0 / 3.0), exact=lambda a: lambda x: x.sgn() * abs(x).root(3)),
    _fn("abs", "absolute value", lambda s: s.Abs, lambda t: t.abs, exact=lambda a: abs),
    _fn("sign", "sign: -1, 0 or 1", lambda s: s.sign, lambda t: t.sign, exact=lambda a: a.sgn),
    _fn("floor", "largest integer <= x", _custom("floor"), lambda t: t.floor),
    _fn("ceil", "smallest integer >= x", _custom("ceiling"), lambda t: t.ceil, exact=lambda a: a.ceil),
    _fn("min", "smallest of its arguments", lambda s: s.Min, None, (2, None), "a, b, ..."),
    _fn("max", "largest of its arguments", lambda s: s.Max, None, (2, None), "a, b, ..."),
    _fn("erf", "error function", lambda s: s.erf, lambda t: t.erf),
    _fn("erfc", "complementary error function, 1 - erf(x)", lambda s: s.erfc, lambda t: t.erfc),
    _fn("gamma", "gamma function", lambda s: s.gamma, _gamma),
    _fn("lgamma", "log of the gamma function", lambda s: s.loggamma, lambda t: t.lgamma, exact=_ball_lgamma),
    _fn("sigmoid", "logistic sigmoid, 1/(1 + e^-x)", _custom("sigmoid"), lambda t: t.sigmoid, exact=lambda a: lambda x: 1 / (1 + (-x).exp())),
    _fn("relu", "rectifier, max(x, 0)", _custom("relu"), lambda t: t.relu, exact=lambda a: lambda x: a.max(x, a(0))),
    _fn("softplus", "log(1 + e^x)", _custom("softplus"),
        _softplus, exact=lambda a: lambda x: x.exp().log1p()),
    _fn("heaviside", "step function: 0 below 0, 1/2 at 0, 1 above", lambda s: s.Heaviside),
    _fn("where", "a where cond holds, else b; cond compares with < <= > >= == !=", _where, None, (3, 3), "cond, a, b"),
    _fn("clamp", "x limited to [lo, hi]", _clamp, None, (3, 3), "x, lo, hi"),
    _fn("hypot", "sqrt(x^2 + y^2) without overflow", _custom("hypot"), lambda t: t.hypot, (2, 2), "x, y", exact=lambda a: lambda x, y: (x * x + y * y).sqrt()),
    _fn("pow", "x raised to the power y, same as x^y", lambda s: s.Pow, None, (2, 2), "x, y"),
    _fn("detach", "x with no gradient flowing through it (torch .detach())", _custom("detach"),
        lambda t: lambda x: x.detach(), exact=lambda a: lambda x: x),
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
