"""`sstr(expr)`: exactly `str(expr)` for SymPy trees, many times faster.

Streaming prints two expressions per input line, and SymPy's StrPrinter
spends most of its time ordering the terms of sums (`Expr.as_ordered_terms`
builds monomials over generators sorted by `default_sort_key`, with every
coefficient evaluated to a complex number), ordering the factors of products
(`Mul.as_ordered_factors` sorts by `sort_key`), comparing SymPy numbers
inside those keys, and looking up `precedence` through each class's MRO.

This module mirrors those rules of SymPy 1.14 for the nodes our parser and
`sympy.diff` produce: Integer, Rational, Float, the named constants (pi, E,
I, ...), Symbol, Add, Mul, Pow, and function applications that StrPrinter
prints as `name(args)` (SymPy's functions and ours; Heaviside too). Any
other node anywhere in the tree (Piecewise, Max, Derivative, Subs, oo, nan,
zoo, non-commutative symbols, unevaluated products, ...) makes `fast_sstr`
give up, and `sstr` then returns `str(expr)` itself: where the mirror cannot
be sure it prints the same text, it does not print.

Where a rule needs something expensive that is rare here (the complex value
of a constant factor such as log(2), the sort key of an unusual node, the
power decomposition of exp(-x)), the mirror calls SymPy's own function for
it, so that piece is the same by construction.

One of str()'s own orders is not determined: as_terms sorts a sum's
generators out of a set, so two generators whose sort keys are neither
equal nor ordered (x**0.5 and x**(1/2)) come out in hash order. There too
sstr falls back rather than guess.

Nothing is cached per expression. The memos hold what each function class
is to StrPrinter (dispatch, class_key) and the complex value of each named
constant (pi, E, ...): facts that cannot go stale.

Importing this module imports SymPy.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise

import sympy
from mpmath.libmp import prec_to_dps
from mpmath.libmp import to_str as _mlib_to_str
from sympy import Add, Float, Integer, Mul, Number, Pow, Rational, S, Symbol
from sympy.core.expr import Expr
from sympy.core.exprtools import decompose_power
from sympy.core.function import Application, AppliedUndef, Function
from sympy.core.mul import _keep_coeff
from sympy.functions.special.delta_functions import Heaviside
from sympy.printing.precedence import (
    PRECEDENCE,
    PRECEDENCE_FUNCTIONS,
    PRECEDENCE_VALUES,
)
from sympy.printing.str import StrPrinter

__all__ = ["fast_sstr", "sstr"]

# The rules below were read from SymPy 1.14; under another version every
# call takes the fallback (and the fast-path tests in tests/test_printing.py
# are skipped).
ENABLED = sympy.__version__.split(".")[:2] == ["1", "14"]

# sympy/printing/precedence.py
_ADD = PRECEDENCE["Add"]  # 40
_MUL = PRECEDENCE["Mul"]  # 50
_POW = PRECEDENCE["Pow"]  # 60
_FUNC = PRECEDENCE["Func"]  # 70
_ATOM = PRECEDENCE["Atom"]  # 1000

_ONE = S.One
_NEG_ONE = S.NegativeOne
_HALF = S.Half
_E = S.Exp1

# Rational and its singleton subclasses; the Integer ones among them.
_RATIONAL_TYPES = frozenset(type(n) for n in (Integer(2), Rational(2, 3), S.One, S.Zero, S.NegativeOne, S.Half))
_INTEGER_TYPES = frozenset(t for t in _RATIONAL_TYPES if issubclass(t, Integer))

# Atoms StrPrinter prints as a fixed name (_print_Pi, _print_Exp1, ...).
_CONSTANTS = {type(c): StrPrinter().doprint(c) for c in
              (S.Pi, S.Exp1, S.ImaginaryUnit, S.EulerGamma, S.GoldenRatio, S.Catalan, S.TribonacciConstant)}

# class_key() of the core classes (the first element of every sort key).
_NUMBER_CLASS_KEY = Number.class_key()  # (1, 0, 'Number'), the smallest class key
_SYMBOL_CLASS_KEY = Symbol.class_key()  # (2, 0, 'Symbol')
_ADD_CLASS_KEY = Add.class_key()  # (3, 1, 'Add')
_MUL_CLASS_KEY = Mul.class_key()  # (3, 0, 'Mul')
_POW_CLASS_KEY = Pow.class_key()  # (3, 2, 'Pow')
# S.One.sort_key() with the number as a Python int (see _sort_key).
_ONE_SORT_KEY = (_NUMBER_CLASS_KEY, (0, ()), (), 1)


class _Unsure(Exception):
    """Raised anywhere in the walk: this tree is left to SymPy's printer."""


class _Exotic(Exception):
    """Raised while building a sort key the mirror does not build itself."""


def sstr(expr) -> str:
    """`str(expr)`, computed by the fast mirror when it covers the tree."""
    text = fast_sstr(expr)
    return str(expr) if text is None else text


def fast_sstr(expr) -> str | None:
    """The fast mirror of `str(expr)`, or None where it would fall back."""
    if not ENABLED:
        return None
    try:
        if type(expr) is Float:
            # StrPrinter keeps a Float's trailing zeros only at print level 1.
            return _float_text(expr, strip=False)
        return _print(expr)[0]
    except _Unsure:
        return None


# --------------------------------------------------------------------------
# dispatch (Printer._print) and precedence (precedence.precedence)
#
# Each printer returns (text, precedence(node)), so that a parent decides
# its parentheses (StrPrinter.parenthesize) without a second dispatch.


def _print(e) -> tuple:
    """Printer._print below the top level (print level > 1), with the
    node's precedence."""
    if type(e) is Symbol:
        return _print_symbol(e)
    printer = _PRINTERS.get(type(e))
    if printer is not None:
        return printer(e)
    return _print_function(e)


def _print_symbol(e) -> tuple:
    """_print_Symbol; precedence Atom. A non-commutative symbol changes how
    products and sums are ordered, so it is left to SymPy."""
    if e.is_commutative is not True:
        raise _Unsure
    return e.name, _ATOM


def _print_rational(e) -> tuple:
    """_print_Integer and _print_Rational; precedence_Integer (40 when
    negative, else Atom) and precedence_Rational (40 when negative, else 50)."""
    p, q = e.p, e.q
    if q == 1:
        return str(p), (_ADD if p < 0 else _ATOM)
    return f"{p}/{q}", (_ADD if p < 0 else _MUL)


def _print_float(e) -> tuple:
    """_print_Float below the top level (trailing zeros stripped);
    precedence_Float (40 when negative, else Atom)."""
    return _float_text(e, strip=True), (_ADD if _float_is_negative(e) else _ATOM)


def _print_function(e) -> tuple:
    """_print_Function, name(args), no argument parenthesized (stringify at
    level 0); _print_Heaviside, the same without a default H0 = 1/2.
    Precedence 70 ("Function" in PRECEDENCE_VALUES)."""
    info = _function_info(e)
    args = e.pargs if info.heaviside else e.args
    return f"{info.name}({', '.join([_print(a)[0] for a in args])})", _FUNC


def _parenthesize(e, level: int) -> str:
    """StrPrinter.parenthesize(e, level, strict=False)."""
    text, p = _print(e)
    return f"({text})" if p <= level else text


class _FunctionInfo:
    """What StrPrinter and sort_key do with one function class."""

    __slots__ = ("class_key", "heaviside", "name", "plain_base_exp", "plain_is_number", "plain_sort_key")

    def __init__(self, cls, heaviside: bool):
        self.name = cls.__name__  # expr.func.__name__ (Application.func is the class)
        self.heaviside = heaviside  # printed by _print_Heaviside
        self.class_key = cls.class_key()
        # Expr.sort_key applies unchanged
        self.plain_sort_key = (cls.sort_key is Expr.sort_key and cls.as_coeff_Mul is Expr.as_coeff_Mul
                               and not cls.is_Pow and not cls.is_Atom and not cls.is_Dummy)
        self.plain_base_exp = cls.as_base_exp is Expr.as_base_exp  # as_base_exp() is (self, 1)
        self.plain_is_number = cls.is_number is Expr.is_number  # the same property object


_FUNCTION_INFO: dict = {}


def _lookup_function(e) -> _FunctionInfo | None:
    """The _FunctionInfo of e's class, or None when e is not a function
    application that StrPrinter prints as `name(args)` at precedence 70."""
    cls = type(e)
    info = _FUNCTION_INFO.get(cls)
    if info is None:
        if not isinstance(e, Function) or isinstance(e, AppliedUndef):
            return None  # (not memoized: undefined functions are classes made at run time)
        info = _FUNCTION_INFO[cls] = _inspect_function_class(cls)
    return info or None


def _function_info(e) -> _FunctionInfo:
    """_lookup_function(e), or _Unsure."""
    info = _lookup_function(e)
    if info is None:
        raise _Unsure
    return info


def _inspect_function_class(cls):
    """Mirror Printer._print's dispatch for cls (the printmethod first, then
    the MRO, skipping differently named Function subclasses unless they end
    in "Base") and precedence()'s MRO walk; False unless they give
    _print_Function (or _print_Heaviside) and precedence 70."""
    if hasattr(cls, "_sympystr") or hasattr(cls, "precedence"):
        return False
    mro = cls.__mro__
    i = mro.index(Function)
    classes = tuple(c for c in mro[:i] if c.__name__ == mro[0].__name__ or c.__name__.endswith("Base")) + mro[i:]
    method = next((m for m in ("_print_" + c.__name__ for c in classes) if hasattr(StrPrinter, m)), None)
    if method not in ("_print_Function", "_print_Heaviside"):
        return False
    if method == "_print_Heaviside" and not issubclass(cls, Heaviside):
        return False
    first = next((c.__name__ for c in mro if c.__name__ in PRECEDENCE_FUNCTIONS or c.__name__ in PRECEDENCE_VALUES),
                 None)
    func = next(c.__dict__["func"] for c in mro if "func" in c.__dict__)
    if first != "Function" or func is not Application.__dict__["func"]:  # the class itself
        return False
    return _FunctionInfo(cls, method == "_print_Heaviside")


# --------------------------------------------------------------------------
# numbers


def _float_is_negative(f) -> bool:
    """`f < 0` for a finite Float; _Unsure for inf and nan."""
    sign, man, exp, _ = f._mpf_
    if not man and exp:  # mpmath's special values
        raise _Unsure
    return bool(sign and man)


def _float_text(f, strip: bool) -> str:
    """StrPrinter._print_Float with the default settings (full_prec "auto":
    trailing zeros are kept at print level 1 only)."""
    _float_is_negative(f)
    prec = f._prec
    dps = 0 if prec < 5 else prec_to_dps(prec)
    rv = _mlib_to_str(f._mpf_, dps, strip_zeros=strip, min_fixed=None, max_fixed=None)
    if rv.startswith("-.0"):
        rv = "-0." + rv[3:]
    elif rv.startswith(".0"):
        rv = "0." + rv[2:]
    return rv.removeprefix("+")


def _is_negative(n) -> bool:
    """`n < 0` for a Rational or a finite Float; _Unsure for other numbers."""
    t = type(n)
    if t in _RATIONAL_TYPES:
        return n.p < 0
    if t is Float:
        return _float_is_negative(n)
    raise _Unsure


_FLOAT_EXACT = 2**53
_CONSTANT_VALUES: dict = {}


def _complex(n) -> complex:
    """complex(n) as Expr.__complex__ computes it (evalf, then float).
    An integer up to 2**53 and a 53-bit Float convert exactly either way;
    the rest goes through SymPy (a ratio p/q is not simply p/q: evalf
    rounds it to 57 bits, then to 53), each named constant once."""
    t = type(n)
    if t in _INTEGER_TYPES:
        p = n.p
        if -_FLOAT_EXACT <= p <= _FLOAT_EXACT:
            return complex(p)
    elif t is Float:
        if n._prec == 53:
            _float_is_negative(n)  # _Unsure for inf and nan
            return complex(float(n))
    elif t in _CONSTANTS:
        value = _CONSTANT_VALUES.get(t)
        if value is None:
            value = _CONSTANT_VALUES[t] = complex(n)
        return value
    return complex(n)


# --------------------------------------------------------------------------
# Add: StrPrinter._print_Add over Expr.as_ordered_terms(order=None)


def _print_add(e) -> tuple:
    """_print_Add: terms in as_ordered_terms order, each term's leading '-'
    turned into the sign that joins it. (Terms are never Adds, and none has
    precedence below 40, so _print_Add's parentheses never apply.)"""
    parts = []
    for term in _ordered_terms(e):
        text = _print(term)[0]
        if text[0] == "-":
            parts.append("-")
            parts.append(text[1:])
        else:
            parts.append("+")
            parts.append(text)
    sign = parts.pop(0)
    return ("" if sign == "+" else sign) + " ".join(parts), _ADD


def _ordered_terms(e) -> list:
    """Expr.as_ordered_terms(order=None) of an Add. Its special case first:
    Add(n, Mul(m, expr)) with a Number or NumberSymbol n > 0 and a Number
    m < 0 keeps the number first (1 - x, pi - 2*x). (`is_Number` and
    `is_NumberSymbol` are True exactly for instances of those classes.)"""
    args = e.args
    if len(args) == 2:
        a0, a1 = args
        if (a1.is_Number or a1.is_NumberSymbol) and not (a0.is_Number or a0.is_NumberSymbol):
            a0, a1 = a1, a0
        if (a0.is_Number or a0.is_NumberSymbol) and isinstance(a1, Mul):
            margs = a1.args
            if len(margs) == 2:
                m0, m1 = margs
                if (m1.is_Number or m1.is_NumberSymbol) and not (m0.is_Number or m0.is_NumberSymbol):
                    m0 = m1
                if m0.is_Number and a0.is_positive and m0.is_negative:
                    return [a0, a1]
    return _lex_ordered_terms(args)


def _lex_ordered_terms(args) -> list:
    """The general case: Expr.as_terms, then a stable sort by the key of
    Expr._parse_order(None): the negated lex monomial over the generators
    (sorted by default_sort_key), then ((bool(im), im), (re, im)) of the
    complex coefficient. The coefficients are evaluated only when two
    monomials are equal, the one case where they decide."""
    gens: dict = {}  # generator -> its index in order of first appearance
    rows = []  # (term, coeff, constant factors, [(generator index, exponent)])
    for term in args:
        # coeff, rest = term.as_coeff_Mul(); the factors are Mul.make_args(rest)
        t = type(term)
        if t is Mul:
            factors = term.args
            coeff = factors[0]
            if coeff.is_Number:
                factors = factors[1:]
            else:
                coeff = _ONE
        elif term.is_Number:
            coeff, factors = term, ()
        else:
            coeff, factors = _ONE, (term,)
        constants = ()
        powers = []
        for factor in factors:
            ft = type(factor)
            if ft is Symbol:
                base, exp = factor, 1
            elif ft is Pow and type(factor.args[0]) is Symbol and type(factor.args[1]) in _INTEGER_TYPES:
                base, exp = factor.args[0], factor.args[1].p  # x**n
            elif _is_number(factor) and _has_complex_value(factor):
                constants += (factor,)  # joins the coefficient
                continue
            else:
                base, exp = _decompose_power(factor)
            index = gens.get(base)
            if index is None:
                index = gens[base] = len(gens)
            powers.append((index, exp))
        rows.append((term, coeff, constants, powers))
    size = len(gens)
    if size == 1:
        # one generator: the monomial is its exponent (the last one counts
        # if a term repeats it, as in as_terms's dict)
        monoms = [(-powers[-1][1],) if powers else (0,) for _, _, _, powers in rows]
    else:
        order, tie = _sort_by_sort_key(list(gens))
        if tie:
            raise _Unsure  # equal keys: the order of a set would decide
        position = [0] * size
        for n, g in enumerate(order):
            position[gens[g]] = n
        monoms = []
        for _, _, _, powers in rows:
            monom = [0] * size
            for index, exp in powers:
                monom[position[index]] = -exp
            monoms.append(tuple(monom))
    if len(set(monoms)) == len(monoms):
        ranked = sorted(range(len(rows)), key=monoms.__getitem__)
    else:
        keys = []
        for monom, (_, coeff, constants, _) in zip(monoms, rows):
            value = _complex(coeff)
            for constant in constants:
                value *= _complex(constant)
            re, im = value.real, value.imag
            keys.append((monom, (), ((bool(im), im), (re, im))))
        ranked = sorted(range(len(rows)), key=keys.__getitem__)  # stable, as sorted() in as_ordered_terms
    return [rows[n][0] for n in ranked]


def _is_number(e) -> bool:
    """e.is_number: Expr.is_number (all args are numbers) for the core
    nodes and plain function applications, the node's own elsewhere."""
    t = type(e)
    if t is Symbol:
        return False
    if t in _RATIONAL_TYPES or t is Float or t in _CONSTANTS:
        return True
    if t is Pow or t is Mul or t is Add:
        pass
    else:
        info = _lookup_function(e)
        if info is None or not info.plain_is_number:
            return e.is_number
    for a in e.args:
        if not _is_number(a):
            return False
    return True


def _has_complex_value(factor) -> bool:
    """Whether complex(factor) succeeds, as as_terms tries it; the value is
    computed again (from memo for named constants) if it is needed."""
    if type(factor) in _CONSTANTS:
        return True
    try:
        _complex(factor)
    except (TypeError, ValueError):
        return False
    return True


def _decompose_power(factor):
    """exprtools.decompose_power(factor): (generator, integer exponent).
    Integer powers, sums, plain function applications and powers with
    exponent 1/q are inline; other powers (x**(3/2), exp(-x), x**(2*y)) go
    through SymPy, which builds the generator (x**(1/2), exp(x), x**y)."""
    t = type(factor)
    if t is Pow:
        base, exp = factor.args
        et = type(exp)
        if type(base) in _RATIONAL_TYPES and base.p == 1 and base.q != 1:
            pass  # as_base_exp turns (1/q)**e into q**(-e)
        elif et in _INTEGER_TYPES:
            return base, exp.p
        elif et in _RATIONAL_TYPES and exp.p == 1:
            return factor, 1  # Pow(base, Rational(1, q)) is the factor itself
    elif t is Add:
        return factor, 1
    else:
        info = _lookup_function(factor)
        if info is not None and info.plain_base_exp:
            return factor, 1
    return decompose_power(factor)


# --------------------------------------------------------------------------
# sort keys: Basic.sort_key and its overrides, for generators and factors


def _sort_by_sort_key(items: list) -> tuple:
    """(sorted(items, key=default_sort_key), whether the order depends on
    the order of `items`): two keys equal, or, with SymPy's own keys, not
    ordered either way (a Float and a Rational compare neither == nor <).
    That matters for as_terms's generators, sorted from a set.

    Where the keys' leading elements (class keys) all differ, they alone
    decide and the full keys are not built. The full keys are built by
    _sort_key, or by SymPy's sort_key where that meets a node it does not
    mirror."""
    if len(items) < 2:
        return items, False
    heads = [_sort_key_head(i) for i in items]
    if len(heads) == 2:
        h0, h1 = heads
        if h0 is not None and h1 is not None and h0 != h1:
            return (items if h0 < h1 else [items[1], items[0]]), False
    elif None not in heads and len(set(heads)) == len(heads):
        return [items[n] for n in sorted(range(len(items)), key=heads.__getitem__)], False
    try:
        keys = [_sort_key(i) for i in items]
        native = True
    except _Exotic:
        keys = [i.sort_key() for i in items]
        native = False
    order = sorted(range(len(items)), key=keys.__getitem__)
    if native:  # ints, Fractions, strings: a total order
        tie = any(keys[a] == keys[b] for a, b in pairwise(order))
    else:
        ranked = [keys[n] for n in order]
        tie = not all(ranked[i] < ranked[j] and not ranked[j] < ranked[i]
                      for i in range(len(ranked)) for j in range(i + 1, len(ranked)))
    return [items[n] for n in order], tie


def _class_key(e) -> tuple:
    """type(e).class_key()."""
    t = type(e)
    if t is Symbol:
        return _SYMBOL_CLASS_KEY
    if t in _RATIONAL_TYPES or t is Float:
        return _NUMBER_CLASS_KEY
    if t is Add:
        return _ADD_CLASS_KEY
    if t is Mul:
        return _MUL_CLASS_KEY
    if t is Pow:
        return _POW_CLASS_KEY
    info = _lookup_function(e)
    if info is not None:
        return info.class_key
    return t.class_key()


def _sort_key_head(e) -> tuple | None:
    """e.sort_key()[0] where it is cheap to know, else None."""
    t = type(e)
    if t is Symbol:
        return _SYMBOL_CLASS_KEY
    if t in _RATIONAL_TYPES or t is Float:
        return _NUMBER_CLASS_KEY
    if t is Pow:  # Expr.sort_key ranks a power by its base
        base = e.args[0]  # (as_base_exp may turn a base 1/q into q: a Number either way)
        if base is _E or base.is_Dummy:
            return None
        return _class_key(base)
    if t is Add:
        return _ADD_CLASS_KEY
    info = _lookup_function(e)
    if info is not None and info.plain_sort_key:
        return info.class_key
    return None


def _native(n):
    """A Rational as a Python int or Fraction: among Rationals these compare
    (==, <) exactly as SymPy's numbers do, without sympify on each
    comparison. A Float (whose comparisons with Rationals have rules of their
    own) makes the whole key SymPy's."""
    t = type(n)
    if t in _INTEGER_TYPES:
        return n.p
    if t in _RATIONAL_TYPES:
        return Fraction(n.p, n.q)
    raise _Exotic


def _sort_key(e) -> tuple:
    """e.sort_key() with its numbers native: Symbol.sort_key, Number.sort_key
    and Expr.sort_key mirrored; _Exotic for any other node."""
    t = type(e)
    if t is Symbol:
        return (_SYMBOL_CLASS_KEY, (1, (e.name,)), _ONE_SORT_KEY, 1)
    if t in _RATIONAL_TYPES:
        return (_NUMBER_CLASS_KEY, (0, ()), (), _native(e))
    if t is Add or t is Mul or t is Pow:
        return _expr_sort_key(e)
    info = _lookup_function(e)
    if info is not None and info.plain_sort_key:
        return _expr_sort_key(e)
    raise _Exotic


def _expr_sort_key(e) -> tuple:
    """Expr.sort_key: e as coeff*expr**exp gives
    (expr.class_key(), (len(args), arg keys), exp's key, coeff)."""
    # coeff, expr = e.as_coeff_Mul(); several remaining factors stay a tuple
    rest = None
    if type(e) is Mul and e.args[0].is_Number:
        coeff, factors = e.args[0], e.args[1:]
        if len(factors) == 1:
            expr = factors[0]
        else:
            expr, rest = None, factors
    else:
        coeff, expr = _ONE, e
    exp = _ONE
    if rest is None and type(expr) is Pow:
        expr, exp = expr.as_base_exp()
        if expr is _E:  # sorted as exp(x) through SymPy
            raise _Exotic
    if rest is not None:  # a Mul: as_ordered_factors
        args = tuple([_sort_key(a) for a in _ordered_factors(rest)])
        class_key = _MUL_CLASS_KEY
    else:
        t = type(expr)
        if t is Symbol:
            args = (expr.name,)
        elif t in _RATIONAL_TYPES:
            args = (_print_rational(expr)[0],)  # str() of an Atom
        else:
            if t is Add:
                parts = _ordered_terms(expr)
            elif t is Mul:
                parts = _ordered_factors(expr.args)
            elif t is Pow or _lookup_function(expr) is not None:
                parts = expr.args
            else:
                raise _Exotic  # other atoms, Dummy, subclasses of Add, ...
            args = tuple([_sort_key(a) for a in parts])
        class_key = _class_key(expr)
    return class_key, (len(args), args), _sort_key(exp), _native(coeff)


def _ordered_factors(args) -> list:
    """Mul.as_ordered_factors of a product of these args: args_cnc (which
    splits a negative leading number n into -1, -n), then sorted by
    sort_key, equal keys keeping args order. A leading Number stays first
    (its class key is the smallest, and among keys with that class key its
    (0, ()) comes before a power of a number's (1, (base,)))."""
    cpart = list(args)
    first = cpart[0]
    if first.is_Number:
        t = type(first)
        if t in _RATIONAL_TYPES:
            negative = first.p < 0
        elif t is Float:
            negative = _float_is_negative(first)
        else:
            negative = first.is_extended_negative
        if negative and first is not _NEG_ONE:
            cpart[:1] = [_NEG_ONE, -first]
            first = _NEG_ONE
        rest = cpart[1:]
        return [first] + _sort_by_sort_key(rest)[0] if len(rest) > 1 else cpart
    return _sort_by_sort_key(cpart)[0]


# --------------------------------------------------------------------------
# Mul and Pow


def _print_mul(e) -> tuple:
    """StrPrinter._print_Mul for an evaluated product: a negative coefficient
    becomes the sign, the factors come in as_ordered_factors order, negative
    powers and rational denominators go after a '/'.

    The precedence returned is 50 although precedence_Mul gives 40 when the
    product could extract a minus sign: a product is only ever a power's
    base or exponent, parenthesized below 60 either way."""
    args = e.args
    if args[0] is _ONE:
        raise _Unsure  # an unevaluated Mul prints its args as they are
    for a in args[1:]:
        if a.is_Number:
            raise _Unsure  # the same
        if type(a) is Pow:
            b, x = a.args
            if type(b) in _INTEGER_TYPES and type(x) in _INTEGER_TYPES:
                raise _Unsure  # the same
    # (A non-commutative factor has a non-commutative symbol in it, which
    # _print_symbol refuses.)

    sign = ""
    first = args[0]
    if first.is_Number and _is_negative(first):
        # expr = _keep_coeff(-c, rest)
        sign = "-"
        coeff = -first
        rest = args[1:]
        if coeff is _ONE:
            factors = rest
        elif len(rest) == 1 and not isinstance(rest[0], Add) and rest[0].is_number:
            factors = Mul.make_args(_keep_coeff(coeff, rest[0]))  # coeff*factor may combine numbers
        else:
            factors = (coeff,) + rest
    else:
        factors = args

    numer = []  # texts of the numerator's items
    denom = []  # texts of the denominator's items
    for item in _ordered_factors(factors) if len(factors) > 1 else factors:
        t = type(item)
        if t is Pow:
            base, exp = item.args
            if _is_negative(_coeff_of(exp)):
                if exp is not _NEG_ONE:
                    denom.append(_print_pow(*_inverted_power(item))[0])  # precedence 60: no parentheses
                else:
                    if isinstance(base, (Mul, Pow)) and len(base.args) != 1:
                        raise _Unsure  # _print_Mul's pow_paren case
                    denom.append(_mul_factor_text(base))
                continue
        elif t in _RATIONAL_TYPES:
            p, q = item.p, item.q
            if p != 1:
                numer.append(str(p) if p > 0 else f"({p})")
            if q != 1:
                denom.append(str(q))
            continue
        numer.append(_mul_factor_text(item))
    text = sign + ("*".join(numer) if numer else "1")
    if denom:
        text += "/" + denom[0] if len(denom) == 1 else f"/({'*'.join(denom)})"
    return text, _MUL


def _mul_factor_text(item) -> str:
    """parenthesize(item, precedence(the Mul), strict=False) in _print_Mul.

    The Mul's precedence is 40 or 50; the factors met here are 40 (sums:
    parenthesized either way) or 60 and up (never). Anything in between
    would need the exact value: left to SymPy."""
    text, p = _print(item)
    if p > _MUL:
        return text
    if p > _ADD:
        raise _Unsure
    return f"({text})"


def _coeff_of(exp):
    """exp.as_coeff_Mul()[0]."""
    t = type(exp)
    if t in _RATIONAL_TYPES or t is Float:
        return exp  # Rational.as_coeff_Mul, Number.as_coeff_Mul
    if t is Mul:
        first = exp.args[0]
        return first if first.is_Number else _ONE
    if t is Symbol or t is Add:
        return _ONE  # Expr.as_coeff_Mul
    return exp.as_coeff_Mul()[0]


def _inverted_power(item) -> tuple:
    """apow() in _print_Mul: (base, exponent) of the denominator's power,
    the exponent's leading -1 dropped or its leading factor negated."""
    base, exp = item.as_base_exp()
    eargs = list(Mul.make_args(exp))
    if eargs[0] is _NEG_ONE:
        eargs = eargs[1:]
    else:
        eargs[0] = -eargs[0]
    return base, Mul._from_args(eargs)


def _print_pow(base, exp) -> tuple:
    """StrPrinter._print_Pow(Pow(base, exp)), rational=False, commutative;
    precedence 60 ("Pow" in PRECEDENCE_VALUES)."""
    if exp is _HALF:
        return f"sqrt({_print(base)[0]})", _POW
    t = type(exp)
    if t in _INTEGER_TYPES:
        if exp is _NEG_ONE:
            return "1/" + _parenthesize(base, _POW), _POW
        p = exp.p
        return f"{_parenthesize(base, _POW)}**{p if p >= 0 else f'({p})'}", _POW
    if _negation_is_half(exp):
        return f"1/sqrt({_print(base)[0]})", _POW
    return f"{_parenthesize(base, _POW)}**{_parenthesize(exp, _POW)}", _POW


def _negation_is_half(exp) -> bool:
    """`-exp is S.Half`, without building -exp for an exponent with free
    symbols (its negation keeps them, so it cannot be 1/2)."""
    t = type(exp)
    if t in _RATIONAL_TYPES:
        return exp.p == -1 and exp.q == 2
    if t is Float or t is Symbol:
        return False
    if exp.is_number:
        return -exp is _HALF
    return False


_PRINTERS = {
    Add: _print_add,
    Mul: _print_mul,
    Pow: lambda e: _print_pow(*e.args),
    Float: _print_float,
    **{t: _print_rational for t in _RATIONAL_TYPES},
    **{t: (lambda e, text=(name, _ATOM): text) for t, name in _CONSTANTS.items()},
}
