"""Text → SymEngine tree: the parser of the scalar path (issue 27).

The same tokenizer and grammar as `parsing.Parser`, building SymEngine's
nodes instead of SymPy's (SymPy's construction is most of a small
expression's time). SymEngine canonicalises as SymPy does for the
language's smooth core (sums, products, powers, the elementary functions,
erf, gamma); where SymPy's tree would differ, the parse refuses with
`NeedsSymPy`, and the caller takes the general path:

- what SymEngine does not have as SymPy does: definitions, `where`,
  comparisons, kinks (abs, sign, floor, min, max, heaviside, relu, clamp),
  our own functions (sinc, hypot, cbrt, root, sigmoid, softplus, expm1,
  log1p, log2, log10, exp2, atan2), two-argument log, inf;
- what SymPy simplifies because our variables are real, or by rules
  SymEngine lacks: a fractional power of a power or a product
  ((x^2)^(1/2) is |x|), exp of a log and log of an exp, a function of a
  constant (sin(pi/6) is 1/2), a fractional power of a number other than
  a prime (sqrt(8) is 2*sqrt(2)), a trigonometric or hyperbolic function
  of an inverse one (sin(atan(u)) is u/sqrt(u**2 + 1)).

A number times a sum is distributed, as SymPy does for a product of two
factors (2*(x + 1) is 2*x + 2). Errors are never reported from here: the
general path parses again and says what is wrong and where.
"""

from __future__ import annotations

import functools
import keyword
import math
import re
from typing import Any, Optional

import symengine

from autodiff.language.parsing import Parser
from autodiff.language.tokens import Token
from autodiff.limits import DEFAULT_LIMITS, Limits


class NeedsSymPy(Exception):
    """The text needs the general path (SymPy's tree); no message: it is not an error."""


@functools.cache
def functions() -> dict[str, Any]:
    """The language's name → SymEngine's function, for the functions whose
    SymEngine derivative is SymPy's (the smooth core of the table)."""
    se = symengine
    return {
        "sin": se.sin, "cos": se.cos, "tan": se.tan, "sec": se.sec, "csc": se.csc, "cot": se.cot,
        "asin": se.asin, "arcsin": se.asin, "acos": se.acos, "arccos": se.acos, "atan": se.atan, "arctan": se.atan,
        "asec": se.asec, "acsc": se.acsc, "acot": se.acot,
        "sinh": se.sinh, "cosh": se.cosh, "tanh": se.tanh, "sech": se.sech, "csch": se.csch, "coth": se.coth,
        "asinh": se.asinh, "arcsinh": se.asinh, "acosh": se.acosh, "arccosh": se.acosh, "atanh": se.atanh,
        "arctanh": se.atanh, "acoth": se.acoth,
        "exp": se.exp, "log": se.log, "ln": se.log, "sqrt": se.sqrt, "erf": se.erf, "erfc": se.erfc,
        "gamma": se.gamma, "lgamma": se.loggamma, "pow": se.Pow,
    }


_CONSTANTS = {"pi": symengine.pi, "e": symengine.E, "E": symengine.E}
_INTEGER = re.compile(r"\d+\Z")
_EXPONENT = re.compile(r"[eE]([+-]?[0-9]+)$")
_SMALL = 10**15
_SMALL_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)


# A function of its own inverse's family SymPy rewrites algebraically (sin(atan(u)), cosh(asinh(u))).
_FORWARD = frozenset({"sin", "cos", "tan", "sec", "csc", "cot", "sinh", "cosh", "tanh", "sech", "csch", "coth"})
_INVERSE = frozenset({"asin", "acos", "atan", "asec", "acsc", "acot", "asinh", "acosh", "atanh", "asech", "acsch", "acoth"})


class ScalarParser(Parser):
    """One parse of one text into a SymEngine tree (`parse_top`)."""

    def __init__(self, text: str, limits: Limits = DEFAULT_LIMITS):
        super().__init__(text, limits)
        self.sympy = symengine  # Add, Mul, Pow: the grammar's own constructions

    @staticmethod
    def coefficient(node):
        if node.is_Number:
            return node
        if node.is_Mul and node.args[0].is_Number:
            return node.args[0]
        return symengine.Integer(1)

    def product(self, factors: list):
        left = factors[0]
        for factor in factors[1:]:
            left = _times(left, factor)
        return left

    def exact(self, node, op: Token):
        number = node if node.is_Number else node.args[0] if node.args else None
        if number is not None and number.is_Rational:  # SymEngine puts a sum's or a product's number first
            parts = (int(number),) if number.is_Integer else number.get_num_den()
            if any(not -_SMALL < int(part) < _SMALL for part in parts):  # only then counted
                bits = max(abs(int(part)) for part in parts).bit_length()
                if (bits - 1) * math.log10(2) >= self.limits.max_exact_digits:
                    raise NeedsSymPy  # the general path names the limit
        return node

    @staticmethod
    def negative(node):
        negated = -node
        return _distributed(negated) if negated.is_Mul else negated

    def number(self, token: Token):
        if _INTEGER.match(token.text):
            if len(token.text) > self.limits.max_integer_digits:
                raise NeedsSymPy  # the general path names the limit
            return symengine.Integer(int(token.text))
        exponent = _EXPONENT.search(token.text)
        if exponent and abs(int(exponent.group(1))) > min(300, self.limits.max_exact_digits):
            raise NeedsSymPy
        if len(token.text.split("e")[0].split("E")[0].replace(".", "").strip("0")) > 15:
            raise NeedsSymPy  # SymPy holds a longer literal at more than a double's precision, and prints it so
        value = float(token.text)
        if not 1e-300 < abs(value) < 1e300 and value != 0 or (value == 0 and token.text.strip("0.eE+-") != ""):
            raise NeedsSymPy  # beyond a double, or a literal that underflows: the general path's care
        return symengine.RealDouble(value)

    def name(self, token: Token):
        text = token.text
        constant = _CONSTANTS.get(text)
        if constant is not None:
            return constant
        if text in self.definitions or text.startswith("__") or keyword.iskeyword(text):
            raise NeedsSymPy
        from autodiff.language.functions import CONSTANTS_BY_NAME, FUNCTIONS_BY_NAME

        if text in CONSTANTS_BY_NAME or text in FUNCTIONS_BY_NAME:
            raise NeedsSymPy
        symbol = self.symbols.get(text)
        if symbol is None:
            symbol = self.symbols[text] = symengine.Symbol(text)
        return symbol

    def call(self, name_token: Token):
        function = functions().get(name_token.text)
        if function is None:
            raise NeedsSymPy
        self.advance()
        with self.nested():
            args = self.arguments(name_token.text)
        self.expect(")", "',' or ')'")
        if len(args) != (2 if name_token.text == "pow" else 1):
            raise NeedsSymPy
        if name_token.text == "pow":
            return self.build_power(args[0], args[1], name_token)
        if name_token.text == "sqrt":
            return self.build_power(args[0], symengine.Rational(1, 2), name_token)
        if not args[0].free_symbols:
            raise NeedsSymPy  # a function of a constant: SymPy folds some (sin(pi/6) is 1/2)
        if name_token.text in _FORWARD and type(args[0]).__name__ in _INVERSE:
            raise NeedsSymPy  # sin(atan(u)) is u/sqrt(u**2 + 1) to SymPy
        if name_token.text in ("log", "ln") and args[0].is_Pow and args[0].args[0] == symengine.E:
            raise NeedsSymPy  # log(exp(u)) is u for a real u
        node = _applied(function, args[0], name_token.text)
        if node.is_Pow:  # exp(u), as a power of e
            _check_power(node)
        return node

    def bars_abs(self):
        raise NeedsSymPy

    def radical(self):
        sign = self.advance()
        with self.nested():
            operand = self.power()
        if sign.text != "√":
            raise NeedsSymPy
        return self.build_power(operand, symengine.Rational(1, 2), sign)

    def condition(self):
        raise NeedsSymPy

    def defined_call(self, defined, name_token: Token):
        raise NeedsSymPy

    def build_power(self, base, exponent, op: Token):
        if exponent.is_Number and not exponent.is_Integer and float(exponent).is_integer():
            exponent = symengine.Integer(int(float(exponent)))  # x^2.0 is x^2
        if exponent.is_Integer and base.is_Number and not base.is_zero and (
            abs(int(exponent)) * math.log10(abs(float(base)) + 2) > min(900, self.limits.max_exact_digits)
        ):
            raise NeedsSymPy  # an exact power of many digits: the general path's limits
        if not exponent.is_Integer and (base.is_Pow or base.is_Mul):
            raise NeedsSymPy  # (x^2)^(1/2) is |x| for a real x, (x^-2)^y is 1/|x|^(2*y)
        node = _exponents_distributed(symengine.Pow(base, exponent))
        _check_power(node)
        return node


# SymPy's sign rule for a function's argument: an odd function takes the
# sign out (sin(-u) is -sin(u)), an even one drops it (cos(-u) is cos(u)).
_ODD = frozenset({"sin", "tan", "csc", "cot", "asin", "arcsin", "atan", "arctan", "acsc", "acot", "sinh", "tanh",
                  "csch", "coth", "asinh", "arcsinh", "atanh", "arctanh", "acoth", "erf"})
_EVEN = frozenset({"cos", "sec", "cosh", "sech"})


def _applied(function, argument, name: str):
    """function(argument) as SymPy builds it: the argument's sign moved by
    SymPy's rule (`_sheds_sign`), and SymEngine's own rewriting, where it
    differs, refused. A tie (`sin(1 - x)`), which SymPy breaks by its sort
    order, and erfc, whose rule is erfc(-u) = 2 - erfc(u), need SymPy."""
    sheds = _sheds_sign(argument) if name in _ODD or name in _EVEN or name == "erfc" else False
    if sheds is None or (sheds and name == "erfc"):
        raise NeedsSymPy
    inner = ScalarParser.negative(argument) if sheds else argument
    node = function(inner)
    if node.is_Pow or not node.args or node.args[0] != inner:  # exp(u) is e**u; anything else: SymEngine rewrote
        if not (node.is_Pow and node.args[1] == inner):
            raise NeedsSymPy
    return ScalarParser.negative(node) if sheds and name in _ODD else node


def _sheds_sign(node) -> Optional[bool]:
    """SymPy's could_extract_minus_sign: a negative number, a product with a
    negative coefficient, a sum with more such terms than others; None for
    a sum with as many of each (SymPy's sort order decides)."""
    if node.is_Number:
        return bool(node.is_negative)
    if node.is_Mul:
        return bool(node.args[0].is_Number and node.args[0].is_negative)
    if node.is_Add:
        negative = sum(1 for term in node.args if _sheds_sign(term) if not term.is_Add)
        positive = len(node.args) - negative
        return None if positive == negative else negative > positive
    return False


def _times(left, right):
    """left * right as SymPy builds it: a number times a sum is distributed."""
    product = _exponents_distributed(left * right)
    if _merged_symbolic_powers(product, left, right):
        raise NeedsSymPy  # x*x**x, exp(3)*exp(y): SymPy keeps them; SymEngine writes x**(x + 1), exp(y + 3)
    return _distributed(product) if product.is_Mul else product


def _factors(node) -> tuple:
    return node.args if node.is_Mul else (node,)


def _merged_symbolic_powers(product, left, right) -> bool:
    """Whether the product holds a power of a symbolic exponent that neither
    factor held: SymEngine merged powers of one base, where SymPy merges
    only some (exp(2*x)*exp(-x) is exp(x) to both; exp(2*x)*exp(x + 1) stays)."""
    powers = [f for f in _factors(product) if f.is_Pow and not f.args[1].is_Number]
    if not powers:
        return False
    before = set(_factors(left)) | set(_factors(right))
    return any(power not in before for power in powers)


def _exponents_distributed(node):
    """SymEngine merges powers (exp(u)^3 is exp(3*u), exp(u)*exp(v) is
    exp(u + v)) without distributing the number over the sum that SymPy
    would distribute (exp(3*x + 6), not exp(3*(x + 2))): done here."""
    if node.is_Pow:
        base, exponent = node.args
        if exponent.is_Mul:
            distributed = _distributed(exponent)
            if distributed is not exponent and distributed != exponent:
                return symengine.Pow(base, distributed)
        return node
    if node.is_Mul and any(factor.is_Pow and factor.args[1].is_Mul for factor in node.args):
        return symengine.Mul(*(_exponents_distributed(factor) for factor in node.args))
    return node


def _distributed(node):
    """A product of a number and a sum, distributed (2*(x + 1) is 2*x + 2); other nodes as they are."""
    args = node.args
    if len(args) == 2 and args[0].is_Number and args[1].is_Add:
        return symengine.Add(*(args[0] * term for term in args[1].args))
    return node


def _check_power(node) -> None:
    """Refuse the powers SymPy would rewrite: exp of a log, and a fractional
    power of a number that is not a small prime (sqrt(8) is 2*sqrt(2))."""
    if not node.is_Pow:
        return
    base, exponent = node.args
    if base == symengine.E:
        if _has_log(exponent):
            raise NeedsSymPy
        return
    if base.is_Number and not exponent.is_Integer:
        if not (base.is_Integer and int(base) in _SMALL_PRIMES and exponent.is_Rational):
            raise NeedsSymPy


def _has_log(node) -> bool:
    """A log at the top of `node`'s sum or product, where SymPy's exp would absorb it (exp(2*log(x)) is x**2)."""
    if isinstance(node, symengine.log):
        return True
    if node.is_Add or node.is_Mul:
        return any(_has_log(arg) for arg in node.args)
    return False


def parse_scalar(text: str, limits: Limits = DEFAULT_LIMITS) -> Optional[Any]:
    """The SymEngine tree of `text`, or None where the text needs the
    general path (SymPy's tree, or an error to report)."""
    try:
        return ScalarParser(text, limits).parse_top(allow_list=False)
    except (NeedsSymPy, RecursionError):
        return None
    except Exception as error:  # noqa: BLE001  (a parse error: the general path reports it)
        from autodiff.errors import AutodiffError

        if isinstance(error, (AutodiffError, ArithmeticError, ValueError, TypeError, RuntimeError)):
            return None
        raise
