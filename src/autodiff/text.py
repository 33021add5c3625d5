"""Every number and label the tool prints, formatted in one place.

Tables, messages, warnings, case reports and charts all show a float with
ten significant digits (`number_text`), an exact value beyond float64's
range by its decimal (`exact_text`), a vector point's values elided in the
middle (`format_number`), and derivatives by their Leibniz label
(`derivative_label`). Nothing here imports torch or SymPy.
"""

from __future__ import annotations

import math
from typing import Optional

from autodiff.points import is_vector

MAX_ROWS = 10  # vector points: values shown before eliding the middle


def number_text(value: float) -> str:
    """A number in a message: ten significant digits, nan, inf or -inf; a
    zero is 0, never -0 (a sign on nothing reads as a mistake)."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value + 0.0:.10g}"


def seven_digits(value: float) -> str:
    """A number of minimize's table: seven significant digits (a point located to about tol)."""
    if not math.isfinite(value):
        return number_text(value)
    return f"{value:.7g}"


def three_digits(value: float) -> str:
    """A gradient's norm: its size is what matters, three digits."""
    return f"{value:.3g}" if math.isfinite(value) else number_text(value)


def ten_digits(value: float) -> str:
    """A critical point's number: ten significant digits."""
    if not math.isfinite(value):
        return number_text(value)
    return f"{value + 0.0:.10g}"


def format_number(value) -> str:
    """A number, a vector of them (elided in the middle) or None (—), as a table shows it."""
    if value is None:
        return "—"
    if is_vector(value):
        return "[" + ", ".join(format_number(v) for v in elide(value)) + "]"
    if isinstance(value, str):  # the "…" marker from elide
        return value
    return number_text(value)


def elide(values: list, keep: int = MAX_ROWS) -> list:
    """The first and last `keep`/2 values with "…" between them."""
    if len(values) <= keep:
        return list(values)
    return list(values[: keep // 2]) + ["…"] + list(values[-(keep // 2) :])


def point_text(at: dict) -> str:
    """`x = 3, y = 0.5`: a point as a report's header shows it."""
    return ", ".join(f"{name} = {format_number(value)}" for name, value in at.items())


def typed_point_text(at: dict) -> str:
    """`x = 2, y = [1, 2]`: a point given as Python values (a case file's
    TOML) as its reports show it, each value as typed (`value_text`)."""

    def shown(value) -> str:
        return "[" + ", ".join(shown(v) for v in value) + "]" if isinstance(value, list) else value_text(value)

    return ", ".join(f"{name} = {shown(value)}" for name, value in at.items())


def exact_text(exact: Optional[str]) -> str:
    """The exact value (a decimal string) with ten digits, like the other
    numbers of a table; it may lie beyond float64's range (2.233994766e+308)."""
    if exact is None:
        return "—"
    if exact in ("0", "nan"):
        return exact
    value = float(exact)
    if math.isfinite(value) and value != 0:
        return number_text(value)
    from decimal import Decimal  # beyond float64's range: 1e-400, 2.2e308

    try:
        mantissa, _, exponent = format(Decimal(exact), ".10g").partition("e")
    except ArithmeticError:  # an exponent beyond even Decimal's (exp(-1e308)): the mantissa alone rounded
        mantissa, _, exponent = exact.lower().partition("e")
        mantissa = format(Decimal(mantissa), ".10g")
    return (mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa) + (f"e{exponent}" if exponent else "")


def shortened(text: str, width: int = 60) -> str:
    """Text cut to `width` characters, with an ellipsis where it was cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def value_text(value: object) -> str:
    """A number, string or list as the text of an --at or --expect value,
    read back as exactly that number: a float as its shortest text (which
    the point parser reads back as the same double), an int or a Fraction
    exactly, a NumPy or torch number or array through `tolist` (a float32
    as the double it equals, not as its own shortest text)."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(value_text(v) for v in value) + "]"
    if isinstance(value, float):
        return float.__repr__(value)  # a float subclass's repr may not be a number (np.float64(1.5))
    if not isinstance(value, (str, bytes, int)) and callable(getattr(value, "tolist", None)):
        return value_text(value.tolist())  # NumPy and torch scalars and arrays: Python numbers, exactly
    return str(value)  # ints and Fractions stay exact; strings are value expressions ("pi/4")


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def superscript(number: int) -> str:
    return str(number).translate(_SUPERSCRIPTS)


def subscript(number: int) -> str:
    return str(number).translate(_SUBSCRIPTS)


def derivative_label(sequence: list[str], function: str = "f") -> str:
    """∂f/∂x, ∂²f/∂x², ∂²f/∂y∂x (the last variable differentiated first in the name)."""
    order = len(sequence)
    power = superscript(order) if order > 1 else ""
    parts, previous, run = [], None, 0
    for name in list(reversed(sequence)) + [None]:
        if name == previous:
            run += 1
            continue
        if previous is not None:
            parts.append(f"∂{previous}" + (superscript(run) if run > 1 else ""))
        previous, run = name, 1
    return f"∂{power}{function}/" + "".join(parts)


PRIMES = {1: "′", 2: "″", 3: "‴"}


def prime(order: int) -> str:
    """f′, f″, f‴, then f⁽⁴⁾."""
    return PRIMES.get(order, f"⁽{superscript(order)}⁾")
