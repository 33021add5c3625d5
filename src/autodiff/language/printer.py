"""The machine form of a SymEngine tree, without SymPy (issue 27).

`machine_text(tree)` is the text `notation.machine(tree._sympy_())` gives:
SymPy's `str` of the same tree, floats at their shortest. It is our own
printer, written from these rules.

The tree SymPy would hold: a number times one sum is distributed (`2*(x +
1)` is `2*x + 2`); sums in sums are flattened, like terms collected; `E**a`
is `exp(a)`; in a product `(1/q)**a` is `q**(-a)`; functions shed their
argument's sign (odd ones take it out: `sin(1 - x)` is `-sin(x - 1)`; cos,
sec, cosh, sech drop it; `erfc(-a)` is `2 - erfc(a)`) when it is a negative
number, a product with a negative coefficient, or a sum with more such
terms than others (on a tie: when its key is below its negation's).

Sort keys (SymPy's default order). A node is a coefficient c (a product's
leading number, else 1) times the rest; a power splits further into base
and exponent (a base 1/q read as q, the exponent negated). The key is
(class, arguments, exponent's key, c). Classes: Number (1,0) < atoms (2,0,
by name: Exp1 < Pi < Symbol) < Mul (3,0) < Add (3,1) < Pow (3,2) <
functions (4, rank, name), ranked 10 exp, 11 log, 20-23 sin cos tan cot,
30-33 sinh cosh tanh coth, 10000 the others. Arguments are (count, keys):
an atom's text, a sum's terms in printed order, a product's factors
sorted. A number's key is (Number, (0, ()), (), value).

A sum's terms: each is a complex coefficient (its numbers and constant
factors such as `log(2)`, evaluated) times generators to integer powers
(`x**(3/2)` is `sqrt(x)` cubed, `exp(2*x)` is `exp(x)` squared, `2**(-x)`
is `2**x` to the -1). With the generators sorted by key, terms go by
descending exponents, lexicographically, then by ascending coefficient:
`x**2 + x + 1 + 1/x`, `x + pi*x`; but a positive number stays before a
negative number times one factor: `1 - x`, `pi - 2*x`.

A product prints its coefficient's sign, then its factors by key; powers
with a negative exponent (`x**(-2)`, not `exp(-x)`) and the coefficient's
denominator go under one slash, in parentheses when more than one:
`-3*x/(2*(x + 1)**2)`. A power is `sqrt(a)`, `1/sqrt(a)`, `1/a` for the
exponents 1/2, -1/2, -1, else `a**b`. An operand is parenthesized when its
precedence is at most its operator's: sum 40, product 50 (40 if negative),
power 60, function 70, atom 1000 (a negative number 40, a fraction 50). A
float is SymPy's 15 digits read back and written shortest.

`NotPrintable` marks a node outside the set, or a tree SymPy would re-shape
in ways we do not follow (evaluate, simplify, merge or split: the `_check`
functions say which), collect down to one term, or order by more than
these keys.
"""

from __future__ import annotations

import cmath
import math
from decimal import Decimal
from fractions import Fraction


class NotPrintable(ValueError):
    """A tree outside the printer's set, or whose text only SymPy knows."""


_NUM, _SYM, _CONST, _ADD, _MUL, _POW, _FN = range(7)
_LOOSE, _PRODUCT, _POWER, _TIGHT = 40, 50, 60, 1000
_PRECEDENCE = (0, _TIGHT, _TIGHT, _LOOSE, 0, _POWER, 70)  # by kind; _NUM and _MUL depend on the sign

_FUNCTIONS = ("exp log sin cos tan sec csc cot asin acos atan acot asec acsc sinh cosh tanh coth sech csch "
              "asinh acosh atanh acoth erf erfc gamma loggamma").split()
_RANK = dict(zip("exp log sin cos tan cot sinh cosh tanh coth".split(), (10, 11, 20, 21, 22, 23, 30, 31, 32, 33)))
_EVEN = frozenset(("cos", "sec", "cosh", "sech"))  # and these are odd:
_SYMMETRIC = _EVEN | set("sin tan csc cot asin atan acot acsc sinh tanh coth csch asinh atanh acoth erf erfc".split())
_TRIGONOMETRIC = ("sin", "cos", "tan", "cot", "sec", "csc")
_HYPERBOLIC = ("sinh", "cosh", "tanh", "coth", "sech", "csch")
# f(g(a)) that SymPy rewrites: sin(asin(a)) is a, cosh(asinh(a)) is sqrt(a**2 + 1), ...
_COLLAPSING = frozenset([(f, "a" + g) for f in _TRIGONOMETRIC for g in _TRIGONOMETRIC] + [("exp", "log")]
                        + [(f, "a" + g) for f in _HYPERBOLIC for g in _HYPERBOLIC[:4]] + [("log", "exp")])
_NUMBER = (1, 0, "Number")
_ONE_KEY = (_NUMBER, (0, ()), (), 1)


class _Node:
    """A node as SymPy would hold it. `value`: a number's value, a name, a
    product's coefficient; `args`: children (a product's: its factors);
    `number`: no variable in it; `moved`: it differs from SymEngine's node
    (its parents check what SymPy would then merge)."""

    __slots__ = ("kind", "value", "args", "number", "moved", "text", "key", "order")

    def __init__(self, kind, value, args, number, moved):
        self.kind, self.value, self.args, self.number, self.moved = kind, value, args, number, moved
        self.text = self.key = self.order = None


_E, _PI = _Node(_CONST, "E", (), True, False), _Node(_CONST, "pi", (), True, False)


def _number(value) -> _Node:
    if type(value) is Fraction and value.denominator == 1:
        value = value.numerator
    return _Node(_NUM, value, (), True, False)


def _below_zero(value) -> bool:
    return (value.numerator if type(value) is Fraction else value) < 0


def _is_one(value) -> bool:
    return value == 1 and type(value) is not float


# --- reading SymEngine's tree -------------------------------------------------------------------

_KINDS: dict = {}
_READ: dict = {}  # SymEngine node → _Node, across calls: a stream's lines share subexpressions (x**2, sin(3*x))
_INTEGER, _FRACTION, _REAL = -5, -4, -3  # SymEngine's atoms: these, _SYM and _CONST
_ATOMS: dict = {_INTEGER: {}, _FRACTION: {}, -_SYM: {}, -_CONST: {"pi": _PI, "E": _E}}  # those read, by text


def _kinds() -> dict:
    """SymEngine's classes: the kind each is read as (on first use)."""
    if not _KINDS:
        import symengine as se

        x = se.Symbol("x")
        samples = [(se.Integer(n), _INTEGER) for n in (-1, 0, 1, 2)] + [(se.Rational(1, n), _FRACTION) for n in (2, 3)]
        samples += [(se.RealDouble(0.5), _REAL), (x, -_SYM), (se.pi, -_CONST), (se.E, -_CONST), (x + 1, _ADD),
                    (2 * x, _MUL), (x**3, _POW)] + [(getattr(se, name)(x), name) for name in _FUNCTIONS[1:]]
        _KINDS.update((type(sample), kind) for sample, kind in samples)
    return _KINDS


def _atom(tree, kind) -> _Node:
    if kind == _REAL:  # not by its text: SymEngine's has 15 digits
        value = float(tree)
        if not math.isfinite(value):
            raise NotPrintable("a float that is not finite")
        return _number(value)
    text = str(tree)
    atoms = _ATOMS[kind]
    node = atoms.get(text)
    if node is None:
        if kind == -_SYM:
            node = _Node(_SYM, text, (), False, False)
            node.text = text
        elif kind == _FRACTION:
            numerator, denominator = text.split("/")
            node = _number(Fraction(int(numerator), int(denominator)))
        else:
            node = _number(int(text))
        if len(atoms) > 4096:
            atoms.clear()
        atoms[text] = node
    return node


def _read(tree, memo, kinds) -> _Node:
    kind = kinds.get(type(tree))
    if type(kind) is int and kind < 0:
        return (kind != _REAL and _ATOMS[kind].get(str(tree))) or _atom(tree, kind)
    if kind is None:
        raise NotPrintable(f"no printer for SymEngine's {type(tree).__name__}")
    node = memo.get(tree)
    if node is not None:
        return node
    if kind == _MUL:
        node = _product_of([_read(arg, memo, kinds) for arg in tree.args])
    elif kind == _ADD:
        terms = [_read(term, memo, kinds) for term in tree.args]
        node = _sum(terms, any([t.moved or t.kind == _ADD for t in terms]))
    elif kind == _POW:
        node = _power(*[_read(arg, memo, kinds) for arg in tree.args])
    else:
        node = _function(kind, _read(tree.args[0], memo, kinds))
    memo[tree] = node
    return node


# --- the tree SymPy would hold ------------------------------------------------------------------


def _times(coefficient, factors, moved=False) -> _Node:
    """coefficient*factors (no number among the factors)."""
    if type(coefficient) is Fraction and coefficient.denominator == 1:
        coefficient = coefficient.numerator
    if not factors:
        return _number(coefficient)
    unit = _is_one(coefficient)
    if len(factors) == 1:
        if unit:
            return factors[0]
        if factors[0].kind == _ADD:  # SymPy distributes a number over a sum
            return _sum([_scaled(coefficient, term) for term in factors[0].args], True)
    for i, factor in enumerate(factors):
        if factor.kind == _POW and factor.args[1].kind != _NUM and factor.args[0].kind == _NUM \
                and type(factor.args[0].value) is Fraction:
            if factor.args[0].value.numerator != 1:
                raise NotPrintable("a power of a fraction in a product")
            factors = list(factors)
            factors[i], moved = _Node(_POW, None, _base_exp(factor), factor.number, True), True
    return _Node(_MUL, coefficient, tuple(factors), all(f.number for f in factors), moved)


def _scaled(coefficient, node) -> _Node:
    if node.kind == _NUM:
        return _number(coefficient * node.value)
    if node.kind == _MUL:
        return _times(coefficient * node.value, node.args, True)
    return _times(coefficient, (node,), True)


def _negative(node) -> _Node:
    if node.kind == _ADD:
        return _Node(_ADD, None, tuple(map(_negative, node.args)), node.number, True)
    return _scaled(-1, node)


def _product_of(args) -> _Node:
    """SymEngine's product (of read factors)."""
    coefficient, factors, moved, number, number_powers, fractions = 1, [], False, True, 0, False
    for factor in args:
        kind = factor.kind
        if kind == _NUM:
            coefficient = coefficient * factor.value
            continue
        if kind == _MUL:
            coefficient = coefficient * factor.value
            factors.extend(factor.args)
        else:
            factors.append(factor)
            if kind == _POW and factor.args[0].kind == _NUM:
                number_powers += 1
                fractions = fractions or type(factor.args[0].value) is Fraction
        moved = moved or factor.moved
        number = number and factor.number
    if number_powers > 1:
        raise NotPrintable("powers of numbers, which SymPy would merge")
    if not moved:
        if len(factors) > 1 and not fractions:
            return _Node(_MUL, coefficient, tuple(factors), number, False)
    elif len({_text(_base_exp(f)[0]) if f.kind == _POW or (f.kind == _FN and f.value == "exp") else _text(f)
              for f in factors}) < len(factors):
        raise NotPrintable("powers of one base, which SymPy would merge")
    return _times(coefficient, factors, moved)


def _sum(terms, moved) -> _Node:
    """A sum; `moved`: flattened, like terms collected."""
    terms = _collected(terms) if moved else terms
    return _Node(_ADD, None, tuple(terms), all(t.number for t in terms), moved)


def _collected(terms) -> list:
    constant, like = 0, {}
    for term in terms:
        for term in term.args if term.kind == _ADD else (term,):
            if term.kind == _NUM:
                constant = constant + term.value
                continue
            coefficient, rest = (term.value, term.args) if term.kind == _MUL else (1, (term,))
            name = "*".join(sorted(map(_text, rest)))
            if name in like:
                like[name][0] = like[name][0] + coefficient
            else:
                like[name] = [coefficient, rest]
    out = [_times(c, rest, True) for c, rest in like.values() if c != 0]
    if constant != 0:
        out.append(_number(constant))
    if len(out) < 2:
        raise NotPrintable("a sum that SymPy would reduce to one term")
    return out


def _power(base, exponent) -> _Node:
    if base is _E:
        return _function("exp", exponent)
    if base.kind == _POW or (base.kind == _FN and base.value == "exp"):  # for real x, (x**2)**y is Abs(x)**(2*y)
        raise NotPrintable("a power of a power, which SymPy may merge")
    if exponent.kind != _NUM or type(exponent.value) is not int:
        _check_power(base, exponent)
    elif base.moved and base.kind == _MUL:  # (-sin(a))**2 is sin(a)**2
        if len(base.args) > 1 or base.args[0].kind == _POW:
            raise NotPrintable("a power of a product, which SymPy would expand")
        coefficient = base.value
        if exponent.value < 0 and type(coefficient) is not float:
            coefficient = Fraction(coefficient)
        inner = _Node(_POW, None, (base.args[0], exponent), base.number, True)
        return _times(coefficient ** exponent.value, (inner,), True)
    if base.moved and base.kind not in (_ADD, _MUL):
        raise NotPrintable("a power whose base SymPy would rewrite")
    if base.kind == _NUM and base.value in (0, 1):
        raise NotPrintable("a power of 0 or 1, which SymPy evaluates")
    return _Node(_POW, None, (base, exponent), base.number and exponent.number, base.moved or exponent.moved)


def _check_power(base, exponent):
    """Non-integer powers that SymPy rewrites: to a fraction or float, of
    products (`sqrt(pi*x)`; `(x**2*y)**(1/2)` for real x), of constants to
    a float, of integers with perfect powers (`4**(1/3)`); (1/q)**(-a)."""
    kind, value = base.kind, exponent.value
    if base.moved and kind == _MUL:
        raise NotPrintable("a power of a product, which SymPy may rewrite")
    if exponent.kind != _NUM:
        if kind == _NUM and type(base.value) is Fraction and exponent.kind == _MUL and _below_zero(exponent.value):
            raise NotPrintable("a fraction to a negative power, which SymPy turns over")
    elif kind == _MUL:
        if base.value not in (1, -1) or type(base.value) is not int or not all(
                f.kind == _SYM or (f.kind == _POW and f.args[0].kind == _SYM and f.args[1].kind == _NUM
                                  and type(f.args[1].value) is int and f.args[1].value % 2)
                for f in base.args):
            raise NotPrintable("a power of a product, which SymPy would split")
    elif kind == _NUM:
        if type(base.value) is not int or type(value) is not Fraction or not 0 < value < 1 \
                or not _squarefree(abs(base.value)):
            raise NotPrintable("a power of a number, which SymPy would rewrite")
    elif base.number and type(value) is float:
        raise NotPrintable("a power that SymPy would evaluate")


def _squarefree(n: int) -> bool:
    return 2 <= n <= 2**15 and all(n % (d * d) for d in range(2, math.isqrt(n) + 1))


def _function(name, argument) -> _Node:
    kind = argument.kind
    if kind == _ADD or kind == _MUL:
        _check_argument(name, argument)
    sheds = name in _SYMMETRIC and _sheds_sign(argument)
    inner = _negative(argument) if sheds else argument
    if inner.kind == _FN and (name, inner.value) in _COLLAPSING:
        raise NotPrintable(f"{name}({inner.value}(...)), which SymPy would simplify")
    node = _Node(_FN, name, (inner,), argument.number, sheds or argument.moved)
    if sheds and name not in _EVEN:
        node = _sum([_number(2), _scaled(-1, node)], True) if name == "erfc" else _scaled(-1, node)
    if argument.number:
        _check_constant(name, argument, node)
    return node


def _check_argument(name, argument):
    """SymPy rewrites exp(a*log(b)), exp(a + log(b)), exp(a + 2.5), and
    trigonometric functions of 0.5*pi*a or of a sum with a multiple of pi."""
    terms = argument.args if argument.kind == _ADD else (argument,)
    for term in terms:
        factors = term.args if term.kind == _MUL else (term,)
        if name == "exp":
            if any(f.kind == _FN and f.value == "log" for f in factors) or (
                    term.kind == _NUM and type(term.value) is float):
                raise NotPrintable("an exp that SymPy would take apart")
        elif name in _TRIGONOMETRIC and _PI in factors and (
                len(factors) == 1 if argument.kind == _ADD else type(argument.value) is float):
            raise NotPrintable(f"{name} of a multiple of pi, which SymPy would reduce")


def _check_constant(name, argument, node):
    """SymPy keeps a function of an integer, a fraction or a constant (not
    trigonometric of pi) that is finite and real, but not loggamma nor exp(2.5)."""
    if argument.kind == _MUL and len(argument.args) == 1:
        argument = argument.args[0]
    if argument.kind not in (_NUM, _CONST) or name == "loggamma" or type(argument.value) is float or (
            name in _TRIGONOMETRIC and argument.kind == _CONST):
        raise NotPrintable(f"{name} of a constant, which SymPy may evaluate")
    value = _complex(node)
    if value.imag != 0 or not math.isfinite(value.real):
        raise NotPrintable(f"{name} of a constant, which is not a finite real number")


def _sheds_sign(node) -> bool:
    """SymPy's could_extract_minus_sign."""
    kind = node.kind
    if kind == _NUM or kind == _MUL:
        return _below_zero(node.value)
    if kind != _ADD:
        return False
    negative = sum(1 for t in node.args if (t.kind == _NUM or t.kind == _MUL) and _below_zero(t.value))
    positive = len(node.args) - negative
    if positive != negative:
        return negative > positive
    return _key(node) < _key(_negative(node))


# --- sort keys, and the order of a sum's terms --------------------------------------------------


def _key(node) -> tuple:
    key = node.key
    if key is None:
        kind = node.kind
        if kind == _NUM:
            key = (_NUMBER, (0, ()), (), node.value)
        elif kind == _MUL:
            if len(node.args) == 1:
                inner = _key(node.args[0])
                key = (inner[0], inner[1], inner[2], node.value)
            else:
                key = ((3, 0, "Mul"), (len(node.args), tuple(sorted(map(_key, node.args)))), _ONE_KEY, node.value)
        elif kind == _POW:
            base, exponent = _base_exp(node)
            key = _head(base) + (exponent.key or _key(exponent), 1)
        elif kind == _SYM:
            key = ((2, 0, "Symbol"), (1, (node.value,)), _ONE_KEY, 1)
        elif kind == _FN:
            argument = node.args[0]
            key = ((4, _RANK.get(node.value, 10000), node.value), (1, (argument.key or _key(argument),)), _ONE_KEY, 1)
        else:
            key = _head(node) + (_ONE_KEY, 1)
        node.key = key
    return key


def _head(node) -> tuple:
    """(class, arguments) of a node's key, the node not split further."""
    kind = node.kind
    if kind == _SYM:
        return ((2, 0, "Symbol"), (1, (node.value,)))
    if kind == _FN:
        return ((4, _RANK.get(node.value, 10000), node.value), (1, (_key(node.args[0]),)))
    if kind == _ADD:
        return ((3, 1, "Add"), (len(node.args), tuple(map(_key, _ordered(node)))))
    if kind == _CONST:
        return ((2, 0, "Pi"), (1, ("pi",))) if node is _PI else ((2, 0, "Exp1"), (1, ("E",)))
    if kind == _NUM:
        value = node.value
        return (_NUMBER, (1, (_sympy_float(value) if type(value) is float else _text(node),)))
    if kind == _MUL:
        factors = node.args if _is_one(node.value) else (_number(node.value),) + node.args
        return ((3, 0, "Mul"), (len(factors), tuple(sorted(map(_key, factors)))))
    return ((3, 2, "Pow"), (2, (_key(node.args[0]), _key(node.args[1]))))


def _base_exp(node):
    """SymPy's as_base_exp: exp(a) is E**a, (1/q)**a is q**(-a)."""
    if node.kind == _FN:
        return _E, node.args[0]
    base, exponent = node.args
    if base.kind == _NUM and type(base.value) is Fraction and base.value.numerator == 1:
        return _number(base.value.denominator), _negative(exponent)
    return base, exponent


def _ordered(node) -> tuple:
    """A sum's terms in printed order."""
    if node.order is not None:
        return node.order
    terms = node.args
    if len(terms) == 2:
        first, second = terms if terms[0].kind in (_NUM, _CONST) else terms[::-1]
        if (first.kind in (_NUM, _CONST) and second.kind == _MUL and len(second.args) == 1
                and _below_zero(second.value) and (first.kind == _CONST or _below_zero(-first.value))):
            node.order = (first, second)
            return node.order
    monomials = [_monomial(term) for term in terms]
    generators = sorted({g for _, powers in monomials for g in powers})
    ranked = []
    for i, (coefficient, powers) in enumerate(monomials):
        imag = coefficient.imag
        ranked.append((tuple([-powers.get(g, 0) for g in generators]), imag != 0, imag, coefficient.real, i))
    ranked.sort()
    for before, after in zip(ranked, ranked[1:]):
        if before[:4] == after[:4]:
            raise NotPrintable("terms that SymPy's order does not tell apart")
    node.order = tuple([terms[entry[4]] for entry in ranked])
    return node.order


def _monomial(term):
    """(complex coefficient, {generator's key: integer exponent}) of a term."""
    kind = term.kind
    if kind == _NUM:
        return complex(term.value), {}
    coefficient, factors = (complex(term.value), term.args) if kind == _MUL else (1, (term,))
    powers = {}
    for factor in factors:
        kind = factor.kind
        if factor.number:
            coefficient *= _complex(factor)
        elif kind == _POW or (kind == _FN and factor.value == "exp"):
            generator, degree = _decompose(factor)
            powers[generator] = degree
        else:
            powers[factor.key or _key(factor)] = 1
    return coefficient, powers


def _decompose(factor):
    """SymPy's decompose_power: a power or exp as (generator's key, integer exponent)."""
    base, exponent = _base_exp(factor)
    if exponent.kind == _NUM:
        value = exponent.value
        if type(value) is int:
            return _key(base), value
        if type(value) is Fraction:
            return _power_key(base, _number(Fraction(1, value.denominator))), value.numerator
        return _key(factor), 1
    rational, tail = 1, exponent
    if exponent.kind == _MUL:
        value, factors = exponent.value, exponent.args
        rest = factors[0] if len(factors) == 1 else _Node(_MUL, 1, factors, exponent.number, False)
        if type(value) is not float:
            rational, tail = value, rest
        elif value < 0:
            rational, tail = -1, _times(-value, factors)
    if rational == -1:
        return _power_key(base, tail), -1
    if rational == 1:
        return _key(factor), 1
    if type(rational) is int:
        return _power_key(base, tail), rational
    return _power_key(base, _scaled(Fraction(1, rational.denominator), tail)), rational.numerator


def _power_key(base, exponent) -> tuple:
    """The key of base**exponent (of exp(exponent) for the base E)."""
    if base is _E:
        return _key(_Node(_FN, "exp", (exponent,), exponent.number, False))
    return _key(_Node(_POW, None, (base, exponent), False, False))


def _real(z, positive=False) -> float:
    if z.imag != 0 or (positive and z.real <= 0):
        raise ValueError("outside the real functions")
    return z.real


_VALUES = {name: getattr(cmath, name) for name in _FUNCTIONS if hasattr(cmath, name)}
_VALUES.update({name: (lambda z, f=_VALUES[of]: 1 / f(z)) for name, of in (
    ("sec", "cos"), ("csc", "sin"), ("cot", "tan"), ("sech", "cosh"), ("csch", "sinh"), ("coth", "tanh"))})
_VALUES.update({name: (lambda z, f=_VALUES[of]: f(1 / z)) for name, of in (
    ("acot", "atan"), ("asec", "acos"), ("acsc", "asin"), ("acoth", "atanh"))})
_VALUES.update(erf=lambda z: math.erf(_real(z)), erfc=lambda z: math.erfc(_real(z)),
               gamma=lambda z: math.gamma(_real(z)), loggamma=lambda z: math.lgamma(_real(z, positive=True)))


def _complex(node) -> complex:
    """A constant's value (it orders terms, as SymPy's complex() does)."""
    kind = node.kind
    try:
        if kind == _NUM:
            return complex(node.value)
        if kind == _CONST:
            return complex(math.pi if node is _PI else math.e)
        if kind == _ADD:
            return sum(map(_complex, node.args))
        if kind == _MUL:
            value = complex(node.value)
            for factor in node.args:
                value *= _complex(factor)
            return value
        if kind == _POW:
            return _complex(node.args[0]) ** _complex(node.args[1])
        return complex(_VALUES[node.value](_complex(node.args[0])))
    except (ArithmeticError, ValueError) as error:
        raise NotPrintable("a constant we do not evaluate") from error


# --- text (and floats) --------------------------------------------------------------------------


def _text(node) -> str:
    text = node.text
    if text is None:
        kind = node.kind
        if kind == _SYM or kind == _CONST:
            text = node.value
        elif kind == _FN:
            argument = node.args[0]
            text = node.value + "(" + (argument.text or _text(argument)) + ")"
        elif kind == _ADD:
            parts = []
            for term in node.order or _ordered(node):
                part = term.text or _text(term)
                parts.append((" - " + part[1:] if part[0] == "-" else " + " + part) if parts else part)
            text = "".join(parts)
        elif kind == _MUL:
            text = _product_text(node)
        elif kind == _POW:
            text = _power_text(node.args[0], node.args[1])
        else:
            value = node.value
            text = (_float_text(value) if type(value) is float else str(value)) if type(value) is not Fraction \
                else f"{value.numerator}/{value.denominator}"
        node.text = text
    return text


def _wrapped(node, level) -> str:
    """A node's text, in parentheses when its precedence is at most `level`."""
    text = node.text or _text(node)
    kind = node.kind
    if kind == _NUM:
        value = node.value
        precedence = _LOOSE if _below_zero(value) else _PRODUCT if type(value) is Fraction else _TIGHT
    elif kind == _MUL:
        precedence = _LOOSE if _below_zero(node.value) else _PRODUCT
    else:
        precedence = _PRECEDENCE[kind]
    return "(" + text + ")" if precedence <= level else text


def _power_text(base, exponent) -> str:
    if exponent.kind == _NUM:
        value = exponent.value
        if type(value) is Fraction and value.denominator == 2 and abs(value.numerator) == 1:
            return ("sqrt(" if value.numerator > 0 else "1/sqrt(") + _text(base) + ")"
        if value == -1 and type(value) is int:
            return "1/" + _wrapped(base, _POWER)
    return _wrapped(base, _POWER) + "**" + _wrapped(exponent, _POWER)


def _product_text(node) -> str:
    coefficient = node.value
    above, below = [], []
    if type(coefficient) is float:
        negative = coefficient < 0
        above.append(_float_text(abs(coefficient)))
    else:
        numerator, denominator = coefficient.numerator, coefficient.denominator
        negative = numerator < 0
        if numerator != 1 and numerator != -1:
            above.append(str(abs(numerator)))
        if denominator != 1:
            below.append(str(denominator))
    level, sign = (_LOOSE, "-") if negative else (_PRODUCT, "")
    factors = node.args
    if len(factors) > 1:
        factors = sorted(factors, key=_key)
        for before, after in zip(factors, factors[1:]):
            if before.key == after.key:
                raise NotPrintable("factors that SymPy's order does not tell apart")
    for factor in factors:
        exponent = factor.args[1] if factor.kind == _POW else None
        if exponent is None or exponent.kind not in (_NUM, _MUL) or not _below_zero(exponent.value):
            above.append(_wrapped(factor, level))
        elif exponent.kind == _NUM and exponent.value == -1 and type(exponent.value) is int:
            base = factor.args[0]
            # SymPy's printer puts x**y and x*y alone under the slash in parentheses (its issue 14160).
            below.append("(" + _wrapped(base, level) + ")" if base.kind in (_MUL, _POW) else _wrapped(base, level))
        else:
            below.append(_power_text(factor.args[0], _flipped(exponent)))
    text = sign + ("*".join(above) if above else "1")
    if not below:
        return text
    return text + "/" + below[0] if len(below) == 1 else text + "/(" + "*".join(below) + ")"


def _flipped(exponent) -> _Node:
    """An exponent's sign turned as SymPy's printer turns it (-2*x is 2*x)."""
    if exponent.kind == _NUM:
        return _number(-exponent.value)
    coefficient, factors = -exponent.value, exponent.args
    if _is_one(coefficient):
        return factors[0] if len(factors) == 1 else _Node(_MUL, 1, factors, exponent.number, False)
    return _Node(_MUL, coefficient, factors, exponent.number, False)


def _float_text(value: float) -> str:
    """SymPy's 15 digits of a float, read back and written shortest."""
    if value == 0:
        return "0.0"
    short = repr(value)
    if len(short.partition("e")[0].replace("-", "").replace(".", "").strip("0")) <= 15:
        return short  # its 15 digits are these digits
    return repr(float(_sympy_float(value)))


def _sympy_float(value: float) -> str:
    """mpmath's to_str(value, 15), as SymPy prints a float: the exact
    value cut to 18 digits, rounded half up to 15."""
    exact = Decimal(abs(value))
    exponent = exact.adjusted()
    digits = str(int(exact.scaleb(17 - exponent)))
    kept = digits[:15]
    if digits[15] in "56789":
        kept = str(int(kept) + 1)
        if len(kept) > 15:
            kept, exponent = kept[:15], exponent + 1
    if -5 < exponent < 15:
        mantissa, tail = ("0." + "0" * (-exponent - 1) + kept if exponent < 0
                          else kept[: exponent + 1] + "." + kept[exponent + 1:]), ""
    else:
        mantissa, tail = kept[0] + "." + kept[1:], ("e+" if exponent >= 0 else "e") + str(exponent)
    return ("-" if value < 0 else "") + mantissa + tail


# --- the public functions -----------------------------------------------------------------------


def machine_text(tree) -> str:
    """The machine form of a SymEngine tree, `notation.machine(tree._sympy_())`
    without SymPy; NotPrintable where the tree has a node outside the printer's
    set or SymPy would re-shape it (the module docstring): print it with SymPy."""
    if len(_READ) > 50_000:
        _READ.clear()
    return _text(_read(tree, _READ, _KINDS or _kinds()))


def printable(tree) -> bool:
    """Whether machine_text(tree) gives the text (by printing it: catch NotPrintable to print once)."""
    try:
        machine_text(tree)
    except NotPrintable:
        return False
    return True
