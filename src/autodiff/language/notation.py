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
    plain = _sympy_name().sub(lambda match: names[match.group(1)], text).replace("**", "^")
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
