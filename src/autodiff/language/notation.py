"""How expressions are written for people and for machines (design §10).

The machine form, in JSON and the Python API, is SymPy's Python syntax
(`6*x**2`, `Abs(x)`) with every float as the shortest text that reads back
as the same double (`3.5`, not `3.50000000000000`). People read the notation
they type, chosen with --notation:

- plain (default): `^` for powers and the language's own names (`abs`,
  `heaviside`, `lgamma`, `inf`), so that an answer can be typed back in;
- python: the machine form;
- latex: SymPy's LaTeX printer, of the answer read back by our own parser.
"""

from __future__ import annotations

import functools
import re

NOTATIONS = ("plain", "python", "latex")

# A decimal number of SymPy's text, not part of a name (x1) or of a longer number.
_FLOAT = re.compile(r"(?<![\w.])(\d+\.\d*(?:e[+-]?\d+)?)(?![\w.])")



@functools.cache
def language_names() -> dict[str, str]:
    """SymPy's printed name → the language's, for every function and constant
    of the table that SymPy spells otherwise (`Abs` → `abs`, `oo` → `inf`).
    Read from the one function table (SymPy is imported on first use)."""
    import sympy

    from autodiff.language.functions import CONSTANTS, FUNCTIONS

    functions = {spec.name for spec in FUNCTIONS}
    names: dict[str, str] = {}
    for spec in FUNCTIONS:  # the first spec of a class is its canonical name (abs, not an alias)
        node = spec.symbolic(sympy)
        if isinstance(node, type) and issubclass(node, sympy.core.function.Application):
            if node.__name__ not in functions:
                names.setdefault(node.__name__, spec.name)
    constants = {spec.name for spec in CONSTANTS}
    for spec in CONSTANTS:
        printed = str(spec.symbolic(sympy))
        if printed not in constants:
            names.setdefault(printed, spec.name)
    return names


@functools.cache
def _sympy_name():
    return re.compile(r"\b(" + "|".join(map(re.escape, language_names())) + r")\b")


def machine(expr) -> str:
    """The machine form of a SymPy expression (see the module docstring)."""
    return shortest_floats(str(expr))


def shortest_floats(text: str) -> str:
    """Each decimal of SymPy's text as the shortest text of its double."""
    return _FLOAT.sub(lambda match: repr(float(match.group(1))), text) if "." in text else text


def show(text: str, notation: str = "plain") -> str:
    """A machine-form text in `notation` (the command's --notation, passed
    down to its view: there is no notation in effect otherwise)."""
    if notation not in NOTATIONS:
        raise ValueError(f"unknown notation {notation!r}")
    if notation == "python":
        return text
    names = language_names()
    plain = _sympy_name().sub(lambda match: names[match.group(1)], _where_of_piecewise(text)).replace("**", "^")
    plain = _WHOLE_FLOAT.sub(lambda match: _exponent_form(match.group(1)), plain)
    if notation == "latex":
        return _latex(plain)
    return plain


def _latex(plain: str) -> str:
    """LaTeX of a plain text, read back by our own parser (never SymPy's);
    the plain text where it is not one of the language's expressions."""
    from autodiff.errors import AutodiffError
    from autodiff.language.parsing import parse_expression

    import sympy

    try:
        return sympy.latex(parse_expression(plain))
    except (AutodiffError, ArithmeticError, ValueError, TypeError, AttributeError, RecursionError):
        return plain


def plain_text(node) -> str:
    """A SymPy node as the user writes it in plain notation (abs, max, x^2):
    a message never shows SymPy's own names (Abs, Max, Piecewise)."""
    return show(machine(node))


def _where_of_piecewise(text: str) -> str:
    """SymPy's Piecewise((a, c), (b, True)) as the language writes it,
    where(c, a, b); nested where for more branches, nan where no branch
    is the default."""
    start = text.find("Piecewise(")
    if start < 0:
        return text
    depth, end = 0, start + len("Piecewise")
    for end in range(start + len("Piecewise"), len(text)):
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        if depth == 0:
            break
    pairs = [_top_level(pair.strip()[1:-1]) for pair in _top_level(text[start + len("Piecewise("):end])]
    if any(len(pair) != 2 for pair in pairs):
        return text  # not the shape SymPy prints: left as it is
    result = "nan"
    for value, condition in reversed(pairs):
        value = _where_of_piecewise(value)
        result = value if condition == "True" else f"where({_where_of_piecewise(condition)}, {value}, {result})"
    return text[:start] + result + _where_of_piecewise(text[end + 1:])


def _top_level(text: str) -> list[str]:
    """`text` split at the commas outside brackets, each part stripped."""
    from autodiff.points import split_top_level

    return [part.strip() for _, part in split_top_level(text)]


# A float of ten or more digits that Python writes in full (1e12 is 1000000000000.0 below 1e16).
_WHOLE_FLOAT = re.compile(r"(?<![\w.])(\d{10,})\.0(?![\d\w])")


def _exponent_form(digits: str) -> str:
    """1000000000000 → 1e12, 1230000000000 → 1.23e12: the shortest text that reads back as the same double."""
    significant = digits.rstrip("0")
    mantissa = significant[0] + ("." + significant[1:] if len(significant) > 1 else "")
    return f"{mantissa}e{len(digits) - 1}"
