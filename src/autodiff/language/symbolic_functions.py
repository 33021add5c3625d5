"""SymPy functions of our own, for names SymPy lacks or differentiates badly.

Each keeps its own node in the tree, so it prints under its own name and the
lowering maps it to the matching torch operation (torch.sigmoid, not a
hand-built 1/(1+exp(-x))).

The `eval` classmethods below are SymPy's evaluation hook (`Function.eval`,
which folds a call on numbers when SymPy builds the node), not Python's
`eval`: they receive SymPy objects built by our parser, never text.
"""

from __future__ import annotations

import sympy
from mpmath.libmp import prec_to_dps
from sympy import Function, Heaviside, Number, S, exp
from sympy.codegen import cfunctions
from sympy.core.logic import fuzzy_and, fuzzy_or


class sigmoid(Function):
    """The logistic function 1/(1 + e^-x)."""

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return S.Half

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + exp(-x))

    def _eval_evalf(self, prec):  # a number for a constant argument: max(sigmoid(1), x) compares it
        # Not self.rewrite(exp): that rewrites sin(2) inside into complex exponentials.
        return (1 / (1 + exp(-self.args[0]))).evalf(prec_to_dps(prec))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return self.args[0].is_extended_real


class relu(Function):
    """max(x, 0). Its derivative is Heaviside(x), which SymPy takes as 1/2 at 0."""

    @classmethod
    def eval(cls, x):
        if x.is_Number or (x.is_number and x.is_extended_real):  # relu(pi) is pi
            return sympy.Max(x, 0)

    def fdiff(self, argindex=1):
        return Heaviside(self.args[0])

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_nonnegative(self):
        return self.args[0].is_extended_real


class softplus(Function):
    """log(1 + e^x); its derivative is sigmoid(x)."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sympy.log(1 + exp(x))

    def _eval_evalf(self, prec):
        return sympy.log(1 + exp(self.args[0])).evalf(prec_to_dps(prec))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return self.args[0].is_extended_real


class detach(Function):
    """e with no gradient: a constant to differentiation, e to evaluation."""

    @classmethod
    def eval(cls, x):
        if isinstance(x, Number) or x.is_number:
            return x

    def fdiff(self, argindex=1):
        return S.Zero

    def _eval_is_real(self):
        return self.args[0].is_real


class cbrt(Function):
    """The real cube root: cbrt(-8) = -2 (SymPy's cbrt is the principal root)."""

    @classmethod
    def eval(cls, x):
        if x.is_Number and x.is_real:
            root = sympy.root(abs(x), 3)
            return -root if x.is_negative else root

    def fdiff(self, argindex=1):
        return 1 / (3 * cbrt(self.args[0]) ** 2)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        # Real for a negative argument too (SymPy's Pow would give the complex
        # principal root, and then e.g. hypot's mpmath evaluation fails).
        arg = self.args[0]._eval_evalf(prec)
        if arg is None or not arg.is_Number or not arg.is_extended_real:
            return None
        root = abs(arg) ** sympy.Rational(1, 3)
        return -root if arg.is_negative else root


class floor(sympy.floor):
    """floor with derivative 0 (SymPy leaves it unevaluated); kinks at integers."""

    def fdiff(self, argindex=1):
        return S.Zero


class ceiling(sympy.ceiling):
    """ceiling with derivative 0 (SymPy leaves it unevaluated); kinks at integers."""

    def fdiff(self, argindex=1):
        return S.Zero


class hypot(cfunctions.hypot):
    """sqrt(x² + y²); SymPy's does not know it is positive, so atan2 of it
    turned into a complex logarithm."""

    def _eval_is_extended_nonnegative(self):
        return fuzzy_and(arg.is_extended_real for arg in self.args)

    def _eval_is_positive(self):
        if fuzzy_and(arg.is_extended_real for arg in self.args):
            return fuzzy_or(arg.is_nonzero for arg in self.args)


class exp2(cfunctions.exp2):
    """2^x; SymPy's does not know it is real and positive, so the derivative
    of abs(exp2(x)) had re() and im() in it."""

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_positive(self):
        return self.args[0].is_real


def _odd_integer(n):
    """Whether a SymPy number is an odd integer (3, or 3.0); None for a non-number."""
    if n.is_Integer:
        return bool(n % 2)
    if n.is_Float:
        value = float(n)
        return value.is_integer() and int(value) % 2 == 1
    return n.is_odd


class root(Function):
    """The real n-th root: root(-8, 3) = -2, as cbrt (SymPy's root is the
    principal, complex one); real where x >= 0, or n is an odd integer."""

    nargs = 2

    @classmethod
    def eval(cls, x, n):
        if x.is_Number and n.is_Number and x.is_real and n.is_real and n.is_nonzero:
            if x.is_nonnegative:
                return sympy.root(x, n)
            if _odd_integer(n):
                return -sympy.root(-x, n)

    def fdiff(self, argindex=1):
        x, n = self.args
        if argindex == 1:
            return 1 / (n * root(x, n) ** (n - 1))
        return -root(x, n) * sympy.log(abs(x)) / n**2

    def _eval_is_real(self):
        x, n = self.args
        if x.is_nonnegative and n.is_real and n.is_nonzero:
            return True
        if x.is_real and n.is_Number and _odd_integer(n):
            return True
        return None

    def _eval_evalf(self, prec):
        # Real for a negative x and odd n, as cbrt's.
        x, n = (arg._eval_evalf(prec) for arg in self.args)
        if any(v is None or not v.is_Number or not v.is_extended_real for v in (x, n)) or n.is_zero:
            return None
        if x.is_negative and not _odd_integer(self.args[1]):
            return None
        magnitude = abs(x) ** (1 / n)
        return -magnitude if x.is_negative else magnitude


class DeclaredCall(Function):
    """A call of a function with a declared derivative (autodiff.language.declared),
    in the tree autograd lowers: subclassed per definition by `declared_node`
    (`definition` is that Definition); every other tree has its body instead."""

    definition = None
    is_real = True

    @classmethod
    def eval(cls, *args):
        return None  # never evaluated by SymPy: the torch lowering computes it

    def expanded(self):
        params = self.definition.params
        return self.definition.body.xreplace({sympy.Symbol(p, real=True): a for p, a in zip(params, self.args)})


_DECLARED_NODES: dict = {}  # one class per definition, as SymPy needs: a memo, bounded


def declared_node(definition) -> type:
    """The DeclaredCall class of `definition` (named as the function)."""
    cls = _DECLARED_NODES.get(definition)
    if cls is None:
        if len(_DECLARED_NODES) > 256:
            _DECLARED_NODES.clear()
        cls = _DECLARED_NODES[definition] = type(definition.name, (DeclaredCall,), {"definition": definition})
    return cls
