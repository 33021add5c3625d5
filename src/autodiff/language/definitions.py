"""User-defined names: `a = 2.5` (a constant) and `f(t) = t^2 + 1` (a function).

A definition is read by our own parser (the closed world of the language,
its limits apply). A name defined here is then part of the language for the
expressions parsed with a scope that holds the definitions
(`language.scope.Scope`, an argument of every parse): a
constant stands for its value, and a call `f(x + 1)` is the definition's
body with its parameters replaced by the arguments, so every witness
(autograd, SymPy, finite differences, the exact witness) sees the same
expanded tree of built-in functions.

Rules:
- the left side is a name, or a name and its parameters `f(a, b)`;
- a name may not be a built-in function or constant (`sin = …` is refused);
- a function's body uses its parameters, numbers, built-in names and other
  definitions; any other name is an error (there are no free variables in a
  definition: `f(t) = t*y` names y);
- definitions may come in any order; one that uses itself, directly or in a
  cycle, is an error that names the cycle (`f → g → f`).
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping, Optional

from autodiff.errors import ParseError
from autodiff.limits import DEFAULT_LIMITS, Limits

_HEAD = re.compile(r"^\s*(?P<name>[^\W\d]\w*)\s*(?:\((?P<params>[^()]*)\)\s*)?$")
# The definition's `=`: one not part of ==, <=, >= or !=.
_EQUALS = re.compile(r"(?<![=<>!])=(?!=)")


@dataclass(frozen=True)
class Definition:
    name: str
    params: Optional[tuple[str, ...]]  # None for a constant; () for f() = …
    body_text: str
    text: str  # as the user wrote it
    body_column: int  # 1-based column of body_text in text
    body: object = None  # the SymPy tree, over Symbols named as the parameters
    # A declared derivative (autodiff.language.declared): one SymPy tree per parameter, over the parameters.
    derivative: Optional[tuple] = None
    derivative_text: Optional[str] = None

    @property
    def is_function(self) -> bool:
        return self.params is not None

    @property
    def head(self) -> str:
        return self.name if self.params is None else f"{self.name}({', '.join(self.params)})"

    def __str__(self) -> str:
        return f"{self.head} = {self.body_text.strip()}"


class Definitions(Mapping):
    """Parsed definitions by name, in the order given."""

    def __init__(self, definitions: Iterable[Definition] = ()):
        self._by_name = {d.name: d for d in definitions}

    def __getitem__(self, name: str) -> Definition:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def texts(self) -> list[str]:
        return [str(d) for d in self._by_name.values()]


def looks_like_definition(text: str) -> bool:
    """`f(t) = t^3`, `a = 2`: a name (and parameters) left of a single `=`
    (not part of ==, <=, >= or !=); `x^2 --at x=3` is no definition."""
    equals = _EQUALS.search(text)
    return equals is not None and _HEAD.match(text[: equals.start()]) is not None


def split(text: str) -> Definition:
    """The head and body of one definition, not yet parsed (ParseError when
    it is not `name = …` or `name(params) = …`)."""
    from autodiff.language.functions import CONSTANTS_BY_NAME, FUNCTIONS_BY_NAME

    match = _EQUALS.search(text)
    if match is None:
        raise ParseError("a definition is NAME = EXPR or NAME(PARAMS) = EXPR, e.g. f(t) = t^2 + 1; no '=' here", text)
    left, body = text[: match.start()], text[match.end():]
    head = _HEAD.match(left)
    if head is None:
        raise ParseError(
            "the left side of a definition is a name (a = 2.5) or a name and its parameters (f(t) = …)", text, 1
        )
    name = _language_name(head.group("name"))
    column = head.start("name") + 1

    def refuse(word: str, what: str, at: int):
        if word in FUNCTIONS_BY_NAME:
            raise ParseError(f"{word} is a built-in function; {what} cannot be named {word}", text, at)
        if word in CONSTANTS_BY_NAME:
            raise ParseError(f"{word} is a built-in constant; {what} cannot be named {word}", text, at)
        if keyword.iskeyword(word) or word.startswith("__") or word == "where":
            raise ParseError(f"{word!r} is a reserved word; {what} cannot be named {word}", text, at)

    refuse(name, "a definition", column)
    params: Optional[tuple[str, ...]] = None
    if head.group("params") is not None:
        raw = head.group("params")
        offset = head.start("params")
        params = ()
        if raw.strip():
            words = []
            for piece in raw.split(","):
                word = piece.strip()
                at = offset + len(piece) - len(piece.lstrip()) + 1
                if not word.isidentifier():
                    raise ParseError(f"a parameter of {name}() must be a name, not {word!r}", text, at)
                word = _language_name(word)
                refuse(word, "a parameter", at)
                if word == name:
                    raise ParseError(f"a parameter of {name}() cannot be named {name} too", text, at)
                if word in words:
                    raise ParseError(f"{name}() names its parameter {word} twice", text, at)
                words.append(word)
                offset += len(piece) + 1
            params = tuple(words)
    if not body.strip():
        raise ParseError(f"the definition of {name} has nothing after '='", text, len(text) + 1)
    return Definition(name, params, body, text, match.end() + 1)


def _language_name(word: str) -> str:
    """The name the parser reads for `word`: π is pi, ℯ is e, ｆ is f."""
    from autodiff.language.tokens import tokenize

    try:
        tokens = tokenize(word)
    except ParseError:
        return word
    return tokens[0].text if len(tokens) == 2 and tokens[0].kind == "name" else word


def parse_definitions(texts: Iterable[str], limits: Limits = DEFAULT_LIMITS,
                      base: Optional[Definitions] = None) -> Definitions:
    """Parse definitions given in any order (each may use the others and
    those of `base`). A name defined twice keeps its last definition."""
    from autodiff.language.parsing import names_in

    heads: dict[str, Definition] = dict(base.items()) if base else {}
    for text in texts:
        definition = split(text)
        heads[definition.name] = definition
    # Which definitions each body uses, for the order of parsing and cycles.
    uses = {
        name: [word for word in names_in(d.body_text) if word in heads and word not in (d.params or ())]
        for name, d in heads.items() if d.body is None
    }
    parsed: dict[str, Definition] = {name: d for name, d in heads.items() if d.body is not None}

    # Depth first, with a stack of our own (a chain of a thousand definitions is no RecursionError).
    for root in heads:
        if root in parsed:
            continue
        stack, path = [(root, iter(uses[root]))], [root]
        while stack:
            name, pending = stack[-1]
            used = next(pending, None)
            if used is None:
                stack.pop()
                path.pop()
                parsed[name] = _parse_body(heads[name], Definitions(parsed.values()), limits)
            elif used in path:
                cycle = path[path.index(used):] + [used]
                definition = heads[name]
                if len(cycle) == 2:
                    message = (f"{used} is defined in terms of itself ({definition}); "
                               "recursive definitions are not supported")
                else:
                    message = f"circular definitions: {' → '.join(cycle)}"
                raise ParseError(message, definition.text)
            elif used not in parsed:
                stack.append((used, iter(uses[used])))
                path.append(used)

    return Definitions(parsed[name] for name in heads)


def _parse_body(definition: Definition, known: Definitions, limits: Limits) -> Definition:
    from dataclasses import replace

    from autodiff.language.parsing import parse_definition_body
    from autodiff.language.scope import Scope

    try:
        body = parse_definition_body(definition.body_text, definition.params or (), limits, Scope(known))
    except ParseError as error:
        # Point into the whole definition, not its body alone.
        message, position = error.message, error.position
        if position is not None:
            position += definition.body_column - 1
            message = re.sub(r" at column \d+", f" at column {position}", message)
        raise type(error)(f"in the definition of {definition.head}: {message}", definition.text, position) from None
    return replace(definition, body=body)
