"""Text → SymPy tree: our own tokenizer and precedence-climbing parser.

The parser builds SymPy nodes directly from a closed set of tokens. User text
never reaches eval, exec, sympify, parse_expr or lambdify, all of which run
Python source.

Grammar, loosest binding first:

    top        := expr | '[' expr (',' expr)* ']'      (lists only where allowed)
    expr       := term (('+' | '-') term)*
    term       := unary (('*' | '/') unary | implicit)*
    implicit   := power starting with a name or '('    (2x, 2(x+1), (x+1)(x-1))
    unary      := ('-' | '+') unary | power             (-x^2 is -(x^2))
    power      := atom superscript? (('^' | '**') unary)?   (right-associative; x² is x^2)
    atom       := number | name | name '(' args ')' | '(' expr ')'
                | '|' expr '|'                          (abs)
                | ('√' | '∛') power                     (√x^2 is sqrt(x^2))

    condition  := expr ('<' | '<=' | '>' | '>=' | '==' | '!=') expr
                                                        (where()'s first argument)
"""

from __future__ import annotations

import difflib
import keyword
import math
import re
from typing import Any, Callable, Optional

from autodiff.errors import LimitError, ParseError
from autodiff.language.functions import CONSTANTS_BY_NAME, FUNCTIONS_BY_NAME
from autodiff.language.scope import EMPTY, Scope
from autodiff.language.tokens import COMPARISONS, SUPERSCRIPT_DIGITS, Token, tokenize
from autodiff.limits import DEFAULT_LIMITS, Limits, raise_hint

_IMPLICIT = frozenset(("(", "√", "∛"))  # a factor after a factor with no operator: 2(x+1), 2√x


class _Nesting:
    """Counts nesting so that deep inputs fail cleanly, not with RecursionError."""

    def __init__(self, parser: "Parser"):
        self.parser = parser

    def __enter__(self) -> None:
        parser = self.parser
        parser.depth += 1
        if parser.depth > parser.limits.max_depth:
            column = parser.token.column
            raise LimitError(
                f"the expression nests deeper than {parser.limits.max_depth} levels "
                f"({raise_hint('depth')}) at column {column}",
                parser.text,
                column,
            )

    def __exit__(self, *exc_info) -> None:
        self.parser.depth -= 1


# A point's value (autodiff.engine.values): (base, exponent, limits) → the
# power of two constants with an exponent of 2^53 or more, as a SymPy
# number, evaluated without building it exactly; None where it cannot. The
# parser is given one by its caller (engine.balls.power_of_constants), as it
# cannot evaluate in ball arithmetic itself: that is the engine's, above it.
PowerFolder = Callable[[Any, Any, Limits], Optional[Any]]


class Parser:
    """One parse of one text. Use `parse_expression` / `parse_list`."""

    def __init__(
        self,
        text: str,
        limits: Limits = DEFAULT_LIMITS,
        params: Optional[tuple[str, ...]] = None,
        exact_decimals: bool = False,
        fold_power: Optional[PowerFolder] = None,
        scope: Scope = EMPTY,
    ):
        import sympy

        self.sympy = sympy
        self.scope = scope
        self.definitions = scope.definitions  # the user's names (autodiff.language.definitions)
        self.params = params  # inside a definition's body: its parameters, the only variables
        # A point's value: decimals are exact rationals (0.1 is 1/10), so that a
        # constant expression is evaluated exactly and rounded once (autodiff.engine.values).
        self.exact_decimals = exact_decimals
        self.fold_power = fold_power  # see PowerFolder
        self.opaque = bool(self.definitions) and scope.opaque
        self.text = text
        self.limits = limits
        self.depth = 0
        self.bars = 0  # open |...| around the current position
        self.symbols: dict[str, Any] = {}
        if len(text) > limits.max_length:
            raise LimitError(
                f"the expression is {len(text)} characters long; the limit is {limits.max_length} "
                f"({raise_hint('length', len(text))})",
                text,
                None,
            )
        self.tokens = tokenize(text)
        self.index = 0

    # -- token helpers ---------------------------------------------------

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_op(self, *ops: str) -> bool:
        kind, text, _ = self.tokens[self.index]
        return kind == "op" and text in ops

    def fail(self, message: str, token: Optional[Token] = None) -> ParseError:
        token = token or self.token
        return ParseError(f"{message} at column {token.column}", self.text, token.column)

    def unexpected(self, expected: str) -> ParseError:
        token = self.token
        if token.kind == "op" and token.text in COMPARISONS:
            return self.fail(f"comparison {token.text!r} is only allowed as the first argument of where(cond, a, b)")
        if token.kind == "end" and not self.text.strip():
            return self.fail(f"empty expression; expected {expected}")
        return self.fail(f"unexpected {token.describe()}; expected {expected}")

    def expect(self, op: str, expected: str) -> Token:
        if not self.at_op(op):
            raise self.unexpected(expected)
        return self.advance()

    def nested(self) -> "_Nesting":
        return _Nesting(self)

    # -- grammar ---------------------------------------------------------

    def parse_top(self, allow_list: bool):
        if self.at_op("["):
            if not allow_list:
                raise self.fail("a list [f1, f2, ...] is only allowed as the expression of `autodiff jacobian`")
            self.advance()
            items = [self.expr()]
            while self.at_op(","):
                self.advance()
                items.append(self.expr())
            self.expect("]", "',' or ']'")
            result: Any = items
        else:
            result = self.expr()
        if self.token.kind != "end":
            raise self.unexpected("an operator or the end of the expression")
        return result

    def expr(self):
        # Terms are collected and added once: adding them one at a time
        # re-flattens the growing sum each time (quadratic in its length).
        with self.nested():
            terms = [self.term()]
            last_op = None
            while self.at_op("+", "-"):
                last_op = self.advance()
                right = self.term()
                terms.append(right if last_op.text == "+" else self.negative(right))
            if last_op is None:
                return terms[0]
            return self.exact(self.sympy.Add(*terms), last_op)

    def term(self):
        # Factors are collected and multiplied by `product`; the running
        # exact coefficient is checked at every step, so 10^3000x * 10^3000x
        # stops at the second factor without computing anything large.
        factors = [self.unary()]
        coefficient = self.coefficient(factors[0])
        tokens = self.tokens
        while True:
            op = tokens[self.index]
            kind, text, _ = op
            if kind == "op" and (text == "*" or text == "/"):
                self.index += 1
                right = self.unary()
                factor = right if text == "*" else self.sympy.Pow(right, -1)
            elif kind == "name" or kind == "op" and (text in _IMPLICIT or text == "|" and not self.bars):
                factor = self.power()  # implicit multiplication: 2x, 2(x+1), 2√x, 2|x|
            elif kind == "number":
                raise self.fail(f"missing operator before the number {text}")
            else:
                break
            coefficient = self.exact(coefficient * self.coefficient(factor), op)
            factors.append(factor)
        return self.product(factors)

    @staticmethod
    def coefficient(node):
        """The numeric coefficient of a factor (3 of 3*x)."""
        return node.as_coeff_Mul()[0]

    def product(self, factors: list):
        """factors[0] * factors[1] * …, as if multiplied left to right.

        SymPy distributes a number over a sum only in a two-factor product
        (2*(x+y) is 2*x + 2*y), so while the running product is a number or a
        sum we multiply step by step; after that no step can distribute, and
        the rest are multiplied at once (step by step is quadratic)."""
        left = factors[0]
        for index in range(1, len(factors)):
            if not (left.is_Number or left.is_Add):
                return self.sympy.Mul(left, *factors[index:])
            left = left * factors[index]
        return left

    def unary(self):
        if self.at_op("-", "+"):
            op = self.advance().text
            with self.nested():
                operand = self.unary()
            return self.negative(operand) if op == "-" else operand
        return self.power()

    @staticmethod
    def negative(node):
        """-node, as the tree's engine builds it."""
        return -node

    def power(self):
        base = self.atom()
        kind, text, _ = self.tokens[self.index]
        if kind == "superscript":  # x², x⁻¹
            op = self.advance()
            base = self.build_power(base, self.sympy.Integer(int(op.text.translate(SUPERSCRIPT_DIGITS))), op)
        elif kind != "op" or text != "^" and text != "**":
            return base
        if self.at_op("^", "**"):
            op = self.advance()
            with self.nested():
                exponent = self.unary()
            return self.build_power(base, exponent, op)
        return base

    def atom(self):
        token = self.tokens[self.index]
        if token.kind == "number":
            self.index += 1
            return self.number(token)
        if token.kind == "name":
            self.index += 1
            if self.at_op("("):
                return self.call(token)
            return self.name(token)
        if self.at_op("("):
            self.advance()
            inner = self.expr()
            self.expect(")", "')'")
            return inner
        if self.at_op("|"):
            return self.bars_abs()
        if self.at_op("√", "∛"):
            return self.radical()
        raise self.unexpected("a number, a name or '('")

    def bars_abs(self):
        """|x| is abs(x); bars nest: ||x| - 1|."""
        open_bar = self.advance()
        self.bars += 1
        with self.nested():
            inner = self.expr()
        self.bars -= 1
        if not self.at_op("|"):
            raise self.fail(f"the '|' at column {open_bar.column} is not closed; expected '|'")
        self.advance()
        return self.built(FUNCTIONS_BY_NAME["abs"], [inner], open_bar)

    def radical(self):
        """√x is sqrt(x), ∛x is cbrt(x); the root takes the power after it: √x^2 is sqrt(x^2)."""
        sign = self.advance()
        with self.nested():
            operand = self.power()
        return self.built(FUNCTIONS_BY_NAME["sqrt" if sign.text == "√" else "cbrt"], [operand], sign)

    def condition(self):
        left = self.expr()
        if not (self.token.kind == "op" and self.token.text in COMPARISONS):
            raise self.unexpected("a comparison (<, <=, >, >=, ==, !=) as where()'s condition")
        op = self.advance()
        right = self.expr()
        if self.token.kind == "op" and self.token.text in COMPARISONS:
            raise self.fail("chained comparisons are not supported; nest where() instead")
        sp = self.sympy
        relation = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge, "==": sp.Eq, "!=": sp.Ne}[op.text]
        try:
            return relation(left, right)
        except TypeError:  # SymPy refuses to order non-real values (I, log(-1))
            raise self.fail(f"cannot compare {left} {op.text} {right}: a side is not a real number", op) from None

    # -- leaves ----------------------------------------------------------

    def number(self, token: Token):
        text = token.text
        if re.fullmatch(r"\d+", text):
            if len(text) > self.limits.max_integer_digits:
                raise self.limit(
                    f"an integer literal of {len(text)} digits (the limit is "
                    f"{self.limits.max_integer_digits} digits; {raise_hint('integer-digits', len(text))})",
                    token,
                )
            return self.sympy.Integer(int(text))
        exponent = re.search(r"[eE]([+-]?[0-9]+)$", text)
        if exponent and len(exponent.group(1).lstrip("+-").lstrip("0")) > len(str(self.limits.max_exact_digits)):
            # SymPy would build the exact integer 10^exponent, in C code no deadline stops: 1e99999999.
            raise self.limit(
                f"a decimal literal whose exponent has {len(exponent.group(1).lstrip('+-'))} digits (the limit is "
                f"10^{self.limits.max_exact_digits}; {raise_hint('exact-digits')})",
                token,
            )
        if exponent and abs(int(exponent.group(1))) > self.limits.max_exact_digits:
            raise self.limit(
                f"a decimal literal of about 10^{exponent.group(1).lstrip('+')} (the limit is "
                f"10^{'-' if exponent.group(1).startswith('-') else ''}{self.limits.max_exact_digits}; "
                f"{raise_hint('exact-digits')})",
                token,
            )
        if self.exact_decimals:
            return self.exact_decimal(token)
        return self.sympy.Float(text)

    def exact_decimal(self, token: Token):
        """A decimal literal as the exact rational it denotes: 1.106527255605534
        is 1106527255605534/10^15, 1e-400 is 1/10^400."""
        whole, fraction, exponent = _DECIMAL.match(token.text).groups()
        digits = (whole + (fraction or "")).lstrip("0")
        if len(digits) > self.limits.max_exact_digits:
            raise self.limit(
                f"a decimal literal of {len(digits)} significant digits (the limit is "
                f"{self.limits.max_exact_digits} digits; {raise_hint('exact-digits', len(digits))})",
                token,
            )
        numerator, denominator = decimal_ratio(token.text)
        return self.sympy.Rational(numerator, denominator)

    def name(self, token: Token):
        name = token.text
        if name in CONSTANTS_BY_NAME:
            return CONSTANTS_BY_NAME[name].symbolic(self.sympy)
        if name in FUNCTIONS_BY_NAME:
            if self.at_op("^", "**"):  # sin^2(x), as in textbooks
                raise self.fail(f"{name}^n(x) is not a power of {name} here: write {name}(x)^n, e.g. {name}(x)^2", token)
            raise self.fail(f"{name} is a function; call it as {FUNCTIONS_BY_NAME[name].signature}", token)
        if keyword.iskeyword(name) or name.startswith("__"):
            raise self.fail(f"{name!r} is a reserved word, not a variable name", token)
        if self.params is None or name not in self.params:
            defined = self.definitions.get(name)
            if defined is not None and defined.is_function:
                raise self.fail(f"{name} is a function you defined; call it as {defined.head}", token)
            if defined is not None:
                return defined.body
            if self.params is not None:
                raise self.fail(
                    f"{name} is not a parameter of this definition (a definition has no free variables: "
                    f"add {name} to its parameters or define it first)", token
                )
        if name not in self.symbols:
            self.symbols[name] = self.sympy.Symbol(name, real=True)
        return self.symbols[name]

    def call(self, name_token: Token):
        name = name_token.text
        spec = FUNCTIONS_BY_NAME.get(name)
        defined = self.definitions.get(name) if self.params is None or name not in self.params else None
        if spec is None and defined is not None:
            return self.defined_call(defined, name_token)
        if spec is None:
            raise self.fail(self.unknown_function_message(name), name_token)
        open_paren = self.advance()
        with self.nested():
            args = self.arguments(name)
        close_paren = self.expect(")", "',' or ')'")
        if len(args) < spec.min_args or (spec.max_args is not None and len(args) > spec.max_args):
            wanted = spec.arity.replace("+", " or more").replace("-", " or ")
            plural = "" if wanted == "1" else "s"
            raise self.fail(
                f"{name}() takes {wanted} argument{plural}, got {len(args)}: {spec.signature}",
                open_paren if not args else close_paren,
            )
        return self.built(spec, args, open_paren)

    def defined_call(self, defined, name_token: Token):
        """A call of a user-defined function: its body, the parameters replaced by the arguments."""
        if not defined.is_function:
            raise self.fail(f"{defined.name} is a constant you defined ({defined}), not a function", name_token)
        open_paren = self.advance()
        with self.nested():
            args = self.arguments(defined.name)
        close_paren = self.expect(")", "',' or ')'")
        if len(args) != len(defined.params):
            count = len(defined.params)
            raise self.fail(
                f"{defined.name}() takes {count} argument{'' if count == 1 else 's'}, got {len(args)}: {defined.head}",
                open_paren if not args else close_paren,
            )
        sp = self.sympy
        try:
            if self.opaque:  # the torch lowering's parse: a declared derivative stays a node (autodiff.language.declared)
                return self.opaque_call(defined, args)
            return defined.body.xreplace({sp.Symbol(p, real=True): a for p, a in zip(defined.params, args)})
        except _SYMPY_FAILURES as error:
            raise self.fail(f"cannot evaluate {defined.name}() of these arguments ({type(error).__name__})", open_paren) from None

    def opaque_call(self, defined, args: list):
        """A call of a defined function in autograd's tree: a DeclaredCall
        node where its derivative is declared; else its body, parsed opaque
        too (once per scope), as it may call a function with a declared one."""
        from autodiff.language.symbolic_functions import declared_node

        sp = self.sympy
        if defined.derivative is not None:
            return declared_node(defined)(*args)
        body = self.scope.bodies.get(defined)
        if body is None:
            parser = Parser(defined.body_text, self.limits, params=defined.params or (), scope=self.scope)
            body = self.scope.bodies[defined] = parser.parse_top(allow_list=False)
        return body.xreplace({sp.Symbol(p, real=True): a for p, a in zip(defined.params, args)})

    def built(self, spec, args: list, where: Token):
        """The SymPy node of a function applied to `args`; errors point at `where`."""
        sp = self.sympy
        name = spec.name
        for number, arg in enumerate(args, start=1):
            # Refuse what is surely not real (I, 0/0, 1/0); SymPy cannot prove
            # every real constant real (1/softplus(2)), so unknown is accepted.
            if _surely_not_real(arg, sp):
                raise self.fail(f"argument {number} of {name}(), {arg}, is not a real number", where)
        try:
            return spec.symbolic(sp)(*args)
        except _SYMPY_FAILURES as error:
            # SymPy (or mpmath) folding constants it cannot handle: erfc(1e300), sin(cosh(1e308)).
            raise self.fail(f"cannot evaluate {name}() of these arguments ({type(error).__name__})", where) from None

    def arguments(self, name: str) -> list:
        if self.at_op(")"):
            return []
        args = [self.condition() if name == "where" else self.expr()]
        while self.at_op(","):
            self.advance()
            args.append(self.expr())
        return args

    def unknown_function_message(self, name: str) -> str:
        if name in CONSTANTS_BY_NAME:
            return f"{name} is a constant, not a function; to multiply, write {name}*(...)"
        message = f"unknown function {name!r}"
        # Other tools' names (SymPy's printed ones too): difflib alone would
        # offer cosec → sec, cotan → tan, arccot → arccos.
        other_names = {
            "cosec": "csc", "cotan": "cot", "ctg": "cot", "tg": "tan", "arctg": "atan", "nthroot": "root",
            "real_root": "root", "signum": "sign", "loggamma": "lgamma", "ceiling": "ceil", "logistic": "sigmoid",
            "step": "heaviside", "fabs": "abs",
        }
        lowered = name.lower()
        guesses = [lowered, other_names.get(lowered)]
        if lowered.startswith("ar"):  # arccot, arsinh (ISO): acot, asinh
            guesses.append("a" + lowered[3 if lowered.startswith("arc") else 2:])
        close = [guess for guess in guesses if guess in FUNCTIONS_BY_NAME]
        close = close or difflib.get_close_matches(name, list(FUNCTIONS_BY_NAME), n=1, cutoff=0.6)
        if close:
            return f"{message}; did you mean {close[0]!r}?"
        return f"{message}; to multiply, write {name}*(...); `autodiff functions` lists the functions"

    def limit(self, message: str, token: Token) -> LimitError:
        return LimitError(f"{message} at column {token.column}", self.text, token.column)

    def build_power(self, base, exponent, op: Token):
        """base ** exponent, refusing exact powers too large to compute."""
        sp = self.sympy
        if isinstance(exponent, sp.Float) and abs(exponent) < 2**53 and float(exponent).is_integer():
            exponent = sp.Integer(int(exponent))  # x^2.0 is x^2: its derivative 2*x, not 2.0*x**1.0
        if self.fold_power and isinstance(exponent, sp.Rational) and abs(exponent) >= 2**53 and base.is_number:
            # Exactly, SymPy would build 2^(10^300/2) for sqrt(2)^1e300; folded with a float exponent,
            # it rounds the base first ((1 + 1e-20)^(10^20) would be 2.705, not e). The caller's
            # folder evaluates the power at once, rounded once more only to a double.
            power = self.fold_power(base, exponent, self.limits)
            if power is not None:
                return power
            exponent = sp.Float(exponent)
        if isinstance(base, sp.Rational) and isinstance(exponent, sp.Integer) and abs(base) != 1 and base != 0:
            magnitude = max(abs(base.p), abs(base.q))
            power = abs(int(exponent))
            # digits = power·log10(magnitude), without overflowing a float
            digits = math.inf if power.bit_length() > 64 else power * math.log10(magnitude)
            if digits > self.limits.max_exact_digits:
                raise self.limit(
                    f"the exact value of this power would have about {digits:.3g} digits "
                    f"(the limit is {self.limits.max_exact_digits}; {raise_hint('exact-digits')})",
                    op,
                )
        digits = _log2_magnitude(exponent) * 30103 // 100000 if isinstance(exponent, sp.Float) else 0
        if digits > self.limits.max_exact_digits:
            # mpmath would turn this exponent into an integer of that many digits.
            size = f"{float(digits):.3g}" if digits < 10**300 else "(a number of more than 300 digits)"
            raise self.limit(
                f"the exponent here is about 10^{size}, too large to evaluate "
                f"(the limit is 10^{self.limits.max_exact_digits}; {raise_hint('exact-digits')})",
                op,
            )
        try:
            return self.exact(sp.Pow(base, exponent), op)
        except (OverflowError, MemoryError):
            raise self.limit("this power is too large to evaluate", op) from None
        except _SYMPY_FAILURES as error:  # mpmath folding a constant that is not real: hypot(1, asin(2pi))^2
            raise self.fail(f"cannot evaluate this power of constants ({type(error).__name__})", op) from None

    def exact(self, node, op: Token):
        """Refuse a node whose exact rational coefficient outgrows the limit
        (`10^4000 * 10^4000`): each step is bounded, so nothing huge is built."""
        sp = self.sympy
        coefficient = node
        if isinstance(node, sp.Mul):
            coefficient = node.as_coeff_Mul()[0]
        elif isinstance(node, sp.Add):
            coefficient = node.as_coeff_Add()[0]
        if isinstance(coefficient, sp.Rational):
            bits = max(abs(coefficient.p).bit_length(), coefficient.q.bit_length())
            if (bits - 1) * math.log10(2) >= self.limits.max_exact_digits:  # log10 of the number, at least
                raise self.limit(
                    f"an exact number here would have more than {self.limits.max_exact_digits} digits "
                    f"(the limit is {self.limits.max_exact_digits}; {raise_hint('exact-digits')})",
                    op,
                )
        return node


# What SymPy and mpmath raise when folding constants they cannot handle.
_SYMPY_FAILURES = (ArithmeticError, ValueError, TypeError, AttributeError, RecursionError)


def _log2_magnitude(number) -> int:
    """About log2 |number| of a SymPy Float, from its mpmath representation."""
    _, mantissa, exponent, bits = number._mpf_
    return 0 if not mantissa else exponent + bits


def _surely_not_real(arg, sp) -> bool:
    try:
        return arg.is_extended_real is False or arg.has(sp.nan, sp.zoo)
    except (ArithmeticError, ValueError, TypeError, AttributeError):
        # SymPy's assumptions evaluate constants numerically, and mpmath can
        # fail on the way: that proves nothing, so the argument is accepted.
        return False


def sympy_work(work, text: str, limits: Limits):
    """Run SymPy work on a tree (building, printing) within the build limit."""
    from autodiff.deadline import SymbolicTimeout, with_deadline

    import sympy  # noqa: F401  (imported outside the deadline: it is not the work)

    try:
        return with_deadline(work, limits.max_build_seconds)
    except _SYMPY_FAILURES as error:  # folding constants elsewhere than in a call or a power
        raise ParseError(f"cannot evaluate the constants of this expression ({type(error).__name__})", text) from None
    except SymbolicTimeout:
        raise LimitError(
            f"SymPy took longer than {limits.max_build_seconds:g} s to build this expression "
            f"(a constant it cannot evaluate quickly, like cos(exp(exp(exp(e))))?); {raise_hint('build-seconds')}",
            text,
        ) from None


def parse_expression(
    text: str, limits: Limits = DEFAULT_LIMITS, exact_decimals: bool = False, fold_power: Optional[PowerFolder] = None,
    scope: Scope = EMPTY,
):
    """Parse one expression into a SymPy tree. With `exact_decimals`, a
    decimal literal is the exact rational it denotes (a point's value),
    not a SymPy Float; `fold_power` (see PowerFolder) comes with it."""
    return sympy_work(
        lambda: Parser(text, limits, exact_decimals=exact_decimals, fold_power=fold_power, scope=scope).parse_top(
            allow_list=False
        ),
        text,
        limits,
    )


_DECIMAL = re.compile(r"([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?\Z")


def decimal_ratio(text: str) -> tuple[int, int]:
    """The exact value of a decimal literal (`1.5e-3`, `.5`, `2.`) as
    (numerator, denominator), not reduced; the literal is trusted to be
    one (the tokenizer's number) of bounded size."""
    whole, fraction, exponent = _DECIMAL.match(text).groups()
    fraction = fraction or ""
    digits = (whole + fraction).lstrip("0") or "0"
    power = int(exponent or 0) - len(fraction)
    mantissa = int(digits)
    return (mantissa * 10**power, 1) if power >= 0 else (mantissa, 10**-power)


def float_decimal(number) -> Optional[str]:
    """The decimal a SymPy Float was read from, as text: SymPy keeps
    `1.106527255605534` as a 56-bit binary number, whose rounding to a
    double (1.1065272556055339) is not the double nearest the decimal
    (1.106527255605534). The Float's digits at its own precision (as it is
    printed) are that decimal when they read back as the same binary
    number, as a literal's always do; None for a Float they do not (one
    SymPy computed, 0.1+0.2 folded at 53 bits) and for inf and nan."""
    from mpmath.libmp import from_str, prec_to_dps, to_str

    mpf, precision = number._mpf_, number._prec
    if not mpf[1]:  # zero, or mpmath's inf, -inf, nan
        return "0" if not mpf[2] else None
    if not -1200 < mpf[2] + mpf[3] < 1200:  # 0 or inf as a double, however rounded (and its digits are costly)
        return None
    text = to_str(mpf, prec_to_dps(precision))
    try:
        same = from_str(text, precision) == mpf
    except (ValueError, OverflowError):
        return None
    return text if same else None


def parse_definition_body(text: str, params: tuple[str, ...], limits: Limits = DEFAULT_LIMITS, scope: Scope = EMPTY):
    """Parse the body of a definition whose only variables are `params`
    (and the names of `scope`, the definitions before it)."""
    return sympy_work(lambda: Parser(text, limits, params=params, scope=scope).parse_top(allow_list=False), text, limits)


def names_in(text: str) -> list[str]:
    """The names a text uses (functions, constants, variables), in order; [] where it does not tokenize."""
    try:
        return [token.text for token in tokenize(text) if token.kind == "name"]
    except ParseError:
        return []


def parse_list(text: str, limits: Limits = DEFAULT_LIMITS, scope: Scope = EMPTY) -> list:
    """Parse `[f1, f2, ...]` (or a single expression) into a list of SymPy trees."""
    result = sympy_work(lambda: Parser(text, limits, scope=scope).parse_top(allow_list=True), text, limits)
    return result if isinstance(result, list) else [result]
