"""Reading points: `--at x=3,y=[1,2],t=-5:5:101`, and the value lists of
--expect and --grad-output, which share the same syntax, into the value
types of autodiff.points.

A value is a constant expression (`pi/4`, `sqrt(2)`), a vector `[a, b, ...]`
or a grid `start:stop:count` (both ends included). Every value is the double
nearest its exact value, rounded once: a plain decimal by float() (correctly
rounded), any other constant parsed by the expression parser with decimals
as exact rationals and evaluated exactly in ball arithmetic
(`_nearest_double`), so that `1.106527255605534` is that double and
`0.1+0.2` is 0.3.
"""

from __future__ import annotations

import math
import re
from typing import Optional

from autodiff.errors import AutodiffError, LimitError, PointError, UnsupportedError
from autodiff.language.scope import EMPTY, Scope
from autodiff.limits import DEFAULT_LIMITS, Limits, raise_hint
from autodiff.points import ASSIGNMENT, Point, Value, grid, is_vector, natural_order, split_top_level


class _ValueParser:
    """Parses the values of one option (--at, --expect, --grad-output)."""

    def __init__(self, option: str, text: str, limits: Limits, scope: Scope = EMPTY):
        self.option = option
        self.text = text
        self.limits = limits
        self.scope = scope  # the user's names: --at x=a with a defined

    def fail(self, message: str, offset: int, cls=PointError) -> AutodiffError:
        return cls(f"{self.option} {self.text!r}: {message} (column {offset + 1})", self.text, offset + 1)

    def constant(self, offset: int, text: str) -> float:
        """The double nearest the value's exact value: one rounding."""
        stripped = text.strip()
        offset += len(text) - len(text.lstrip())
        if not stripped:
            raise self.fail("expected a number", offset)
        literal = _LITERAL.match(stripped)
        if literal and self.plain(literal, stripped):
            value = float(stripped)  # correctly rounded: the double nearest the decimal
            if math.isinf(value):
                raise self.fail(f"{stripped} is not a finite real number", offset)
            if value == 0 and literal.group(1).lstrip("+-").strip("0."):
                raise self.fail(_underflow(stripped), offset)
            return value
        return self.expression(offset, stripped)

    def plain(self, literal: re.Match, stripped: str) -> bool:
        """Whether a decimal literal reads as the expression parser would read it,
        so that it can be read without that parser; else it meets a limit there."""
        mantissa, exponent = literal.group(1), literal.group(2)
        if len(stripped) > self.limits.max_length:
            return False
        if exponent is None:
            return "." in mantissa or len(mantissa.lstrip("+-")) <= self.limits.max_integer_digits
        return len(exponent.lstrip("+-").lstrip("0")) <= len(str(self.limits.max_exact_digits)) and abs(
            int(exponent)
        ) <= self.limits.max_exact_digits

    def expression(self, offset: int, stripped: str) -> float:
        """A constant expression (`pi/4`, `sqrt(2)`, `0.1+0.2`), evaluated exactly
        (decimals as rationals, functions in ball arithmetic) and rounded once."""
        from autodiff.engine.balls import power_of_constants
        from autodiff.engine.floats import FloatProgram
        from autodiff.language.parsing import parse_expression

        try:
            expr = parse_expression(
                stripped, self.limits, exact_decimals=True, fold_power=power_of_constants, scope=self.scope
            )
        except AutodiffError as error:
            position = offset + (error.position or 1) - 1
            message = re.sub(r" at column \d+$", "", error.message)
            raise self.fail(message, position, type(error)) from None
        if expr.free_symbols:
            names = natural_order(s.name for s in expr.free_symbols)
            if "nan" in (name.lower() for name in names):  # not a value a derivative can be taken at
                raise self.fail("nan is not a number a point can take: give a finite real value", offset)
            raise self.fail(f"a value cannot contain variables ({', '.join(names)})", offset)
        try:
            value = _nearest_double(expr, self.limits)
        except _Underflow:
            raise self.fail(_underflow(stripped), offset) from None
        if value is None:  # no ball decides (I, zoo, a step at its jump): the value in floats
            value = FloatProgram([expr])({})
        if not math.isfinite(value):
            raise self.fail(f"{stripped} is not a finite real number", offset)
        return value

    def value(self, offset: int, text: str) -> Value:
        stripped = text.strip()
        lead = offset + len(text) - len(text.lstrip())
        if stripped.startswith("[") != stripped.endswith("]"):
            raise self.fail("a vector is [a, b, ...], with its closing ']'", lead)
        if stripped.startswith("["):
            inner = stripped[1:-1]
            if not inner.strip():
                raise self.fail("an empty vector", lead)
            items = split_top_level(inner)
            if len(items) > self.limits.max_points:
                raise self.fail(self.too_many(len(items)), lead, LimitError)
            return [self.constant(lead + 1 + o, item) for o, item in items]
        parts = split_top_level(text, ":")
        if len(parts) == 1:
            return self.constant(offset, text)
        if len(parts) != 3:
            raise self.fail("a grid is start:stop:count", lead)
        (_, start), (stop_offset, stop), (count_offset, count_text) = parts
        count = count_text.strip()
        if not re.fullmatch(r"[0-9]+", count) or int(count) < 1:
            raise self.fail(f"the grid's count must be a whole number of at least 1, not {count!r}", offset + count_offset)
        if int(count) > self.limits.max_points:
            raise self.fail(self.too_many(int(count)), offset + count_offset, LimitError)
        return grid(self.constant(offset, start), self.constant(offset + stop_offset, stop), int(count))

    def too_many(self, count: int) -> str:
        return f"{count} points is more than the limit of {self.limits.max_points} ({raise_hint('points', count)})"


def parse_assignments(
    texts: list[str], option: str = "--at", limits: Limits = DEFAULT_LIMITS, names: Optional[list[str]] = None,
    scope: Scope = EMPTY,
) -> Point:
    """Parse `name=value,...` texts (repeatable option) into one Point.

    With `names`, a value without `name=` takes the next name in that order
    (`--expect 38,4` for the gradient in variable order).
    """
    point = Point()
    positional = 0
    for text in texts:
        parser = _ValueParser(option, text, limits, scope)
        for offset, part in split_top_level(text):
            match = ASSIGNMENT.match(part)
            if match:
                name, value_offset = match.group(1), offset + match.end()
                value_text = part[match.end() :]
            elif names is not None and part.strip() and "=" not in part:
                if positional >= len(names):
                    raise parser.fail(f"more values than the {len(names)} expected", offset)
                name, value_offset, value_text = names[positional], offset, part
                positional += 1
            else:
                raise parser.fail(
                    "expected name=value (a bare value names the variable only when the expression has one)",
                    offset + len(part) - len(part.lstrip()),
                )
            if name in point.values:
                raise parser.fail(f"{name} is given twice", offset)
            point.values[name] = parser.value(value_offset, value_text)
    if 0 < positional < len(names or ()):
        raise PointError(
            f"{option} gives {positional} value(s) for {len(names)} derivatives ({', '.join(names)}); "
            "give one per derivative, or name them (x=6)"
        )
    sizes = {name: len(v) for name, v in point.values.items() if is_vector(v)}
    if len(set(sizes.values())) > 1:
        described = ", ".join(f"{name} has {size}" for name, size in sizes.items())
        raise PointError(f"{option}: vectors must have the same length ({described})")
    return point


_NAME = re.compile(r"[^\W\d]\w*\Z")


def point_from_mapping(
    values: dict[str, str], option: str = "--at", limits: Limits = DEFAULT_LIMITS, scope: Scope = EMPTY
) -> Point:
    """A Point from {name: value text}, each value parsed on its own: a value
    holding `,y=3` stays one (bad) value instead of naming another variable."""
    point = Point()
    for name, text in values.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise PointError(f"{option}: {name!r} is not a variable name")
        parser = _ValueParser(f"{option} {name}", text, limits, scope)
        if len(split_top_level(text)) > 1:
            raise parser.fail("expected one value (a number, an expression or a [vector])", 0)
        point.values[name] = parser.value(0, text)
    sizes = {name: len(v) for name, v in point.values.items() if is_vector(v)}
    if len(set(sizes.values())) > 1:
        described = ", ".join(f"{name} has {size}" for name, size in sizes.items())
        raise PointError(f"{option}: vectors must have the same length ({described})")
    return point


def parse_values(text: str, option: str, limits: Limits = DEFAULT_LIMITS, scope: Scope = EMPTY) -> list[float]:
    """A plain comma-separated list of constant values (`--grad-output 1,1`)."""
    parser = _ValueParser(option, text, limits, scope)
    if text.strip().startswith("["):  # `[1,2]` as well as `1,2`
        return parser.value(0, text)
    return [parser.constant(offset, part) for offset, part in split_top_level(text)]


def parse_matrix(
    text: str, option: str, shape: tuple[int, int], limits: Limits = DEFAULT_LIMITS, scope: Scope = EMPTY
) -> list[list[float]]:
    """A rows × columns matrix of constants: `[[4,2],[2,12]]`, or its
    entries row by row, `4,2,2,12` (`[4,2,2,12]`)."""
    parser = _ValueParser(option, text, limits, scope)
    rows, columns = shape
    stripped = text.strip()
    lead = len(text) - len(text.lstrip())
    if stripped.startswith("[") and stripped.endswith("]") and stripped[1:].lstrip().startswith("["):
        items = split_top_level(stripped[1:-1])
        matrix = []
        for offset, item in items:
            if not item.strip().startswith("["):
                raise parser.fail("expected a row [a, b, ...]", lead + 1 + offset)
            row = parser.value(lead + 1 + offset, item)
            if len(row) != columns:
                raise parser.fail(f"a row has {len(row)} value{'' if len(row) == 1 else 's'}; the matrix has {columns} columns", lead + 1 + offset)
            matrix.append(row)
        if len(matrix) != rows:
            raise PointError(f"{option} has {len(matrix)} rows; the matrix has {rows}")
        return matrix
    flat = parse_values(text, option, limits)
    if len(flat) != rows * columns:
        raise PointError(
            f"{option} has {len(flat)} values; the {rows}×{columns} matrix has {rows * columns} "
            "(give them row by row, or as [[...], [...]])"
        )
    return [flat[row * columns : (row + 1) * columns] for row in range(rows)]


def parse_range(
    text: str, option: str = "--range", limits: Limits = DEFAULT_LIMITS, scope: Scope = EMPTY
) -> tuple[str, float, float]:
    """`x=-5:5` (or `-5:5`, name left to the caller: "") → (name, start, stop), start < stop."""
    parser = _ValueParser(option, text, limits, scope)
    match = ASSIGNMENT.match(text)
    name, offset = (match.group(1), match.end()) if match else ("", 0)
    parts = split_top_level(text[offset:], ":")
    if len(parts) != 2:
        raise parser.fail("a range is name=start:stop, e.g. x=-5:5", offset)
    (start_offset, start_text), (stop_offset, stop_text) = parts
    start = parser.constant(offset + start_offset, start_text)
    stop = parser.constant(offset + stop_offset, stop_text)
    if not start < stop:
        raise parser.fail(f"the range must go up: {start:g} is not below {stop:g}", offset)
    if not math.isfinite(stop - start):
        raise parser.fail("the range is too wide: stop - start overflows a float", offset)
    return name, start, stop


# A plain decimal literal, signed: read by float() (correctly rounded), without
# the expression parser; 10^5 values a second.
_LITERAL = re.compile(r"([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(?:[eE]([+-]?[0-9]+))?\Z")


class _Underflow(ArithmeticError):
    """A value that is not 0 but whose nearest double is."""


def _underflow(text: str) -> str:
    return (
        f"{text} is not 0, but nearer 0 than float64's smallest positive number (5e-324), "
        "so it would be read as 0; write 0 for zero"
    )


def _nearest_double(expr, limits) -> Optional[float]:
    """The double nearest the exact value of a constant expression, rounded
    once: a rational exactly (Python's int / int is correctly rounded), any
    other constant from a ball (FLINT's arb, as the exact witness) whose
    precision is raised until both its ends round to the same double. So
    sqrt(2) is 1.4142135623730951 on every machine, whatever its libm.
    Raises _Underflow for a value that is not 0 but rounds to 0; None when
    no ball decides (a function arb lacks, a value it cannot enclose)."""
    import sympy

    from autodiff.language.parsing import decimal_ratio, float_decimal

    # Beyond float64's range (sqrt(2)^1e300), a Float stays one: its exact ratio would be huge.
    floats = [number for number in expr.atoms(sympy.Float) if float_decimal(number) is not None or _in_range(number)]
    if floats:  # from a definition's body (--define a=0.1): the decimal it was read from
        expr = expr.xreplace({number: _exact_float(number, decimal_ratio, float_decimal) for number in floats})
    if expr.is_Rational:
        return _ratio_to_double(int(expr.p), int(expr.q))
    return _ball_to_double(expr, limits)


def _in_range(number) -> bool:
    _, mantissa, exponent, size = number._mpf_
    return bool(mantissa) and -1200 < exponent + size < 1200


def _exact_float(number, decimal_ratio, float_decimal):
    import sympy

    text = float_decimal(number)
    if text is None:  # a float SymPy computed (or inf, nan): its binary value
        sign, mantissa, exponent, _ = number._mpf_
        if not mantissa:
            return number
        mantissa = -mantissa if sign else mantissa
        return sympy.Rational(mantissa * 2**exponent) if exponent >= 0 else sympy.Rational(mantissa, 2**-exponent)
    sign = -1 if text.startswith("-") else 1
    numerator, denominator = decimal_ratio(text.lstrip("-"))
    return sympy.Rational(sign * numerator, denominator)


def _ratio_to_double(numerator: int, denominator: int) -> float:
    try:
        value = numerator / denominator  # correctly rounded, subnormals included
    except OverflowError:
        return math.inf if numerator > 0 else -math.inf
    if value == 0 and numerator:
        raise _Underflow
    return value


def _ball_to_double(expr, limits) -> Optional[float]:
    from flint import ctx

    from autodiff.engine.balls import START_BITS, ZERO_RADIUS, BallProgram, Budget

    try:
        program = BallProgram([expr])
    except UnsupportedError:
        return None
    budget = Budget.of(limits)
    output, size, bits = program.outputs[0], len(program.instructions), START_BITS
    while True:
        ball = program.run({}, bits, budget)[output]
        if ball.is_finite():
            if ball.is_exact():
                value = float(ball.mid())  # arb rounds to nearest, ties to even
                if value == 0 and not ball.is_zero():
                    raise _Underflow
                return value
            with ctx.workprec(bits):  # the ends exactly (at 53 bits they would be rounded outwards)
                low, high = float(ball.lower()), float(ball.upper())
            # Rounding is monotone: the true value, between the ends, rounds as both do.
            if low == high and (low != 0 or not ball.contains(0)):
                if low == 0:
                    raise _Underflow
                return low
        if bits * 2 > limits.max_exact_bits or not budget.affords(size, bits * 2):
            break
        bits *= 2
    if ball.is_finite() and ball.contains(0) and float(ball.rad()) < ZERO_RADIUS:
        return 0.0  # a ball around 0 at the precision cap is taken for 0 (sin(pi)), as by the exact witness
    if ball.is_finite() and not ball.contains(0) and ball.rel_accuracy_bits() >= 53:
        return float(ball.mid())  # within a rounding of the nearest double: a value exactly halfway, unproved
    return None
