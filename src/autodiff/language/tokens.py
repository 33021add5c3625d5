"""Text → tokens: the expression language's closed set of tokens, each with
its offset, and the one-line reason for any character that is not one.

Before tokens are read, characters people type for the same thing become
ASCII, one character for one so that columns stay the user's: − × · ÷ and
full-width forms (NFKC). π and ∞ are names of their own (2πx is 2*pi*x).
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from autodiff.errors import ParseError

_TOKEN = re.compile(
    r"""
    (?P<space>[^\S\r\n]+)
  | (?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<superscript>[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)
  | (?P<symbol>[π∞])
  | (?P<name>(?:(?![π∞])[^\W\d])(?:(?![π∞])\w)*)
  | (?P<op>\*\*|<=|>=|==|!=|[-+*/^()\[\],<>|√∛])
    """,
    re.VERBOSE,
)

# One character for one, so that a column in the normalised text is the
# user's column: the math symbols people type, then NFKC for the rest
# (full-width ｘ＋１), except superscripts, which are exponents here.
_SAME_AS = {"−": "-", "‐": "-", "×": "*", "·": "*", "⋅": "*", "∙": "*", "∗": "*", "÷": "/", "∕": "/", "⁄": "/"}
_SYMBOL_NAMES = {"π": "pi", "∞": "inf"}
SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")


def _normalized(text: str) -> str:
    if text.isascii():
        return text
    return "".join(_ascii_char(char) for char in text)


def _ascii_char(char: str) -> str:
    if char.isascii() or char in _SYMBOL_NAMES or char.translate(SUPERSCRIPT_DIGITS) != char:
        return char
    if char in _SAME_AS:
        return _SAME_AS[char]
    folded = unicodedata.normalize("NFKC", char)
    return folded if len(folded) == 1 and folded.isascii() else char

COMPARISONS = {"<", "<=", ">", ">=", "==", "!="}

# Why a character is not part of the language, for the characters people try.
_FOREIGN = {
    "=": "'=' is not an operator; compare with '==' inside where(cond, a, b)",
    ".": "'.' is not an operator; attribute access is not part of the language",
    "'": "strings are not part of the language",
    '"': "strings are not part of the language",
    ";": "only one expression is allowed",
    ":": "':' is not an operator",
    "!": "'!' is not an operator; factorial is not supported",
    "%": "'%' is not an operator",
    "\n": "a line break in the expression; give one expression per line",
    "\r": "a line break in the expression; give one expression per line",
}

# The ASCII spelling of characters people try that are not the language's.
_ASCII_FOR = {
    "≤": "<=", "≥": ">=", "≠": "!=", "½": "1/2", "¼": "1/4", "¾": "3/4", "∜": "root(x, 4)",
    "′": "autodiff grad (derivatives are commands, not notation)",
    "∂": "autodiff partial EXPR --wrt x", "ⁿ": "x^n", "ˣ": "e^x", "⋆": "*", "√": "sqrt(x)",
}


class Token(NamedTuple):  # a tuple: the parser makes one per token of every line of a stream
    kind: str  # "number", "name", "op" or "end"
    text: str
    start: int  # 0-based offset into the text

    @property
    def column(self) -> int:
        return self.start + 1

    def describe(self) -> str:
        return "end of input" if self.kind == "end" else repr(self.text)


def _identifier_prefix(word: str) -> str:
    """The longest prefix that is a Python identifier: `x²` is `x`, then `²`."""
    end = len(word)
    while end and not word[:end].isidentifier():
        end -= 1
    return word[:end]


def tokenize(text: str) -> list[Token]:
    source, text = text, _normalized(text)
    tokens = []
    index = 0
    match_at = _TOKEN.match
    while index < len(text):
        match = match_at(text, index)
        kind = match.lastgroup if match else None
        word = match.group() if match else ""
        if kind == "name" and not word.isidentifier():
            word = _identifier_prefix(word)
        if not word:
            raise ParseError(f"{_foreign(source[index])} at column {index + 1}", source, index + 1)
        if kind == "symbol":
            tokens.append(Token("name", _SYMBOL_NAMES[word], index))
        elif kind != "space":
            tokens.append(Token(kind, word, index))
        index += len(word)
    tokens.append(Token("end", "", len(text)))
    return tokens


def _foreign(char: str) -> str:
    """Why `char` cannot be read, and what to write instead."""
    if char in _FOREIGN:
        return _FOREIGN[char]
    if char in _ASCII_FOR:
        return f"unexpected character {char!r}; write {_ASCII_FOR[char]}"
    if char.isascii() or char == "\ufffd" or unicodedata.category(char).startswith("C"):
        return f"unexpected character {char!r}"  # and the undecodable byte, and invisible ones
    name = unicodedata.name(char, "").lower()
    return f"unexpected character {char!r} ({name or f'U+{ord(char):04X}'}); write it in ASCII"
