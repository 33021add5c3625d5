"""Output that survives any terminal and any encoding.

Where standard output or error cannot encode ✓ ∂ ² ′ (PYTHONIOENCODING=ascii,
LC_ALL=C without UTF-8 mode, a legacy code page), each character that does
not fit is written in an ASCII spelling (`ok`, `d`, `^2`, `'`) by a codec
error handler, instead of the run dying on UnicodeEncodeError. A COLUMNS or
LINES that is not a positive number is ignored (the width is then unknown),
and NO_COLOR wins over FORCE_COLOR. An answer that cannot be written (a
full disk, a file-size limit) is said on stderr, with its exit code.
"""

from __future__ import annotations

import codecs
import os
import sys

from autodiff.errors import EXIT_OUTPUT

ERRORS = "autodiff-ascii"  # the codec error handler's name

_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+"))
_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉", "0123456789"))
_SPELLINGS = {
    "✓": "ok", "✗": "X", "⚠": "!", "∂": "d", "′": "'", "″": "''", "‴": "'''", "−": "-", "×": "x", "·": "*",
    "÷": "/", "→": "->", "←": "<-", "≈": "~", "≤": "<=", "≥": ">=", "≠": "!=", "±": "+-", "∞": "inf",
    "π": "pi", "θ": "theta", "…": "...", "—": "-", "–": "-", "•": "*", "√": "sqrt", "∅": "(none)",
    "─": "-", "━": "-", "│": "|", "┃": "|", "┌": "+", "┐": "+", "└": "+", "┘": "+", "├": "+", "┤": "+",
    "┬": "+", "┴": "+", "┼": "+", "╭": "+", "╮": "+", "╰": "+", "╯": "+", "▶": ">", "◀": "<", "●": "o",
    "ᵀ": "^T", "ⁱ": "^i", "ʲ": "^j", "ₖ": "_k", "λ": "lambda", "∇": "grad", "\u00a0": " ",
}


def spelling(char: str) -> str:
    """The ASCII spelling of one character."""
    if char in _SPELLINGS:
        return _SPELLINGS[char]
    if char in _SUPERSCRIPTS:
        return "^" + _SUPERSCRIPTS[char]
    if char in _SUBSCRIPTS:
        return "_" + _SUBSCRIPTS[char]
    if 0x2800 <= ord(char) <= 0x28FF:  # braille dots: plot's curves
        return "." if ord(char) != 0x2800 else " "
    return "?"


def _handler(error: UnicodeError):
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = "".join(spelling(char) for char in error.object[error.start:error.end])
    return text.encode("ascii", "replace").decode("ascii"), error.end


codecs.register_error(ERRORS, _handler)


def needs_spellings(stream) -> bool:
    """Whether `stream` cannot encode the characters our answers use."""
    encoding = getattr(stream, "encoding", None)
    if not encoding:
        return False
    try:
        "✓∂²′─π".encode(encoding)
        return False
    except (UnicodeEncodeError, LookupError):
        return True


def c_locale(environ=os.environ) -> bool:
    """Whether the user asked for the C (or POSIX) locale: LC_ALL, else
    LC_CTYPE, else LANG. Python then writes UTF-8 all the same (PEP 538,
    PEP 540); a terminal set to C may show only ASCII."""
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = environ.get(name)
        if value:
            return value in ("C", "POSIX")
    return False


def usable(stream):
    """`stream` itself, or where it cannot encode our characters (or the
    locale is C), the same stream with their ASCII spellings (a text stream
    that can be reconfigured)."""
    ascii_only = c_locale()
    if (ascii_only or needs_spellings(stream)) and hasattr(stream, "reconfigure"):
        try:
            stream.reconfigure(errors=ERRORS, **({"encoding": "ascii"} if ascii_only else {}))
        except (ValueError, OSError):
            pass
    return stream


def sane_environment(environ=os.environ) -> None:
    """Drop a COLUMNS or LINES that is no positive number (the width is then
    unknown, as when they are unset), and FORCE_COLOR where NO_COLOR is set."""
    for name in ("COLUMNS", "LINES"):
        value = environ.get(name)
        if value is not None and not (value.strip().isdigit() and int(value) > 0):
            del environ[name]
    if environ.get("NO_COLOR"):
        environ.pop("FORCE_COLOR", None)


def output_failed(error: OSError) -> int:
    """Say on stderr (if it can be written) that the answer could not be
    written, and return the exit code for it."""
    try:
        sys.stderr.write(f"error: cannot write the output: {error.strerror or error}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return EXIT_OUTPUT
