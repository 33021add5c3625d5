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

import re

NOTATIONS = ("plain", "python", "latex")

_current = "plain"

# A decimal number of SymPy's text, not part of a name (x1) or of a longer number.
_FLOAT = re.compile(r"(?<![\w.])(\d+\.\d*(?:e[+-]?\d+)?)(?![\w.])")

# SymPy's names for functions of the language, and what the user types.
_LANGUAGE_NAMES = {
    "Abs": "abs", "Heaviside": "heaviside", "loggamma": "lgamma", "ceiling": "ceil",
    "Min": "min", "Max": "max", "oo": "inf",
}
_SYMPY_NAME = re.compile(r"\b(" + "|".join(_LANGUAGE_NAMES) + r")\b")


def use(notation: str) -> None:
    """Set the notation of what is shown from now on (one per command, or per REPL session)."""
    global _current
    if notation not in NOTATIONS:
        raise ValueError(f"unknown notation {notation!r}")
    _current = notation


def current() -> str:
    return _current


def machine(expr) -> str:
    """The machine form of a SymPy expression (see the module docstring)."""
    return shortest_floats(str(expr))


def shortest_floats(text: str) -> str:
    """Each decimal of SymPy's text as the shortest text of its double."""
    return _FLOAT.sub(lambda match: repr(float(match.group(1))), text) if "." in text else text


def show(text: str, notation: str | None = None) -> str:
    """A machine-form text in the chosen notation (the current one by default)."""
    notation = notation or _current
    if notation == "python":
        return text
    plain = _SYMPY_NAME.sub(lambda match: _LANGUAGE_NAMES[match.group(1)], text).replace("**", "^")
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
