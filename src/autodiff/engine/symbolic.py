"""The symbolic side: derivatives (SymEngine where it can, SymPy otherwise),
run under a deadline (autodiff.deadline)."""

from __future__ import annotations

import functools
from typing import Optional, Sequence


def symbolic_derivative(expr, sequence: Sequence[str], symbols: Optional[dict] = None):
    """The derivative of `expr` along `sequence` (as sympy.diff(expr, *sequence)),
    a SymPy tree with the variables named as in the expression.

    SymEngine (SymPy's C++ sibling) differentiates where it knows every node
    of the tree, some twenty times faster; SymPy does the rest (our own
    functions, kinks, Piecewise). `symbols` (name → Symbol, from
    `symbols_of`) saves looking them up in a large expression again.
    """
    by_name = symbols if symbols is not None else symbols_of([expr])
    fast = _symengine_derivative(expr, sequence, by_name)
    return fast if fast is not None else sympy_derivative(expr, sequence, by_name)


def sympy_derivative(expr, sequence: Sequence[str], by_name: dict):
    """sympy.diff(expr, *sequence), with the function table's own rules for
    abs and sign: d|u| = sign(u)·du and d sign(u) = 2·δ(u)·du for a real u
    (every value of the language is real), where SymPy, unable to prove u
    real (sqrt(x) - 1), writes re, im and atan2 or leaves Derivative(…)."""
    import sympy

    real_abs, real_sign = _real_kinks()
    kinks = {sympy.Abs: real_abs, sympy.sign: real_sign}
    if expr.has(sympy.Abs, sympy.sign):
        expr = expr.replace(lambda node: type(node) in kinks, lambda node: kinks[type(node)](*node.args))
    for name in sequence:
        symbol = by_name.get(name) or sympy.Symbol(name, real=True)
        if isinstance(expr, sympy.Add):
            # As Add differentiates, but without asking every term that does
            # not contain the variable (a 60-variable sum has 59 such terms).
            expr = sympy.Add(*(sympy.diff(term, symbol) for term in expr.args if symbol in term.free_symbols))
        else:
            expr = sympy.diff(expr, symbol)
    if expr.has(real_abs, real_sign):
        back = {real_abs: sympy.Abs, real_sign: sympy.sign}
        expr = expr.replace(lambda node: type(node) in back, lambda node: back[type(node)](*node.args))
    return expr


@functools.cache
def _real_kinks():
    """abs and sign of a real argument, as SymPy functions with the table's derivatives."""
    import sympy

    class real_abs(sympy.Function):  # noqa: N801 - stands for SymPy's Abs while differentiating
        """|u| for a real u."""

        def fdiff(self, argindex=1):
            return real_sign(self.args[0])

    class real_sign(sympy.Function):  # noqa: N801
        """sign(u) for a real u."""

        def fdiff(self, argindex=1):
            return 2 * sympy.DiracDelta(self.args[0])

    return real_abs, real_sign


def _symengine_derivative(expr, sequence: Sequence[str], by_name: dict):
    """The derivative by SymEngine, as a SymPy tree over our real symbols;
    None where SymEngine is not installed or the tree has a node it does not
    know as SymPy does (its sinc differentiates to 0, its abs to an
    unevaluated Derivative)."""
    try:
        import symengine
    except ImportError:
        return None
    import sympy

    if not _symengine_knows(expr, sympy):
        return None
    # A SymPy tree (never text) converted node by node to SymEngine's.
    derivative = symengine.sympify(expr)
    for name in sequence:
        derivative = derivative.diff(symengine.Symbol(name))
    plain = derivative._sympy_()  # SymEngine's symbols come back without assumptions: ours are real
    return plain.xreplace({sympy.Symbol(name): symbol for name, symbol in by_name.items()})


_KNOWN: Optional[tuple] = None


def _symengine_knows(expr, sympy) -> bool:
    global _KNOWN
    if _KNOWN is None:
        _KNOWN = (
            sympy.Symbol, sympy.Integer, sympy.Rational, sympy.Float, sympy.Add, sympy.Mul, sympy.Pow,
            type(sympy.pi), type(sympy.E), type(sympy.S.Half), type(sympy.S.One), type(sympy.S.NegativeOne),
            type(sympy.S.Zero), sympy.exp, sympy.log, sympy.sin, sympy.cos, sympy.tan, sympy.sec, sympy.csc,
            sympy.cot, sympy.asin, sympy.acos, sympy.atan, sympy.acot, sympy.asec, sympy.acsc, sympy.sinh,
            sympy.cosh, sympy.tanh, sympy.coth, sympy.sech, sympy.csch, sympy.asinh, sympy.acosh, sympy.atanh,
            sympy.acoth, sympy.erf, sympy.erfc, sympy.gamma, sympy.loggamma,  # not asech, acsch: PyFunctions there
        )
    known = _KNOWN
    return all(type(node) in known for node in sympy.preorder_traversal(expr))


def symbols_of(exprs) -> dict:
    """The variables of some expressions, by name."""
    return {symbol.name: symbol for expr in exprs for symbol in expr.free_symbols}
