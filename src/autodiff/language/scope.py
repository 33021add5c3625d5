"""What one parse knows beyond the built-in function table: the user's
definitions (`--define`, with the derivatives declared by `--derivative`)
and whether a call of a function with a declared derivative stays a node of
its own (the tree autograd lowers, `autodiff.language.declared`).

A scope is an argument of every parse, never ambient state: a command
builds one from its options and hands it to the parser, the point reader
and the REPL's session alike, so two commands (two threads, a REPL and a
case file) never see each other's names.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping


@dataclass(frozen=True, eq=False)
class Scope:
    # The user's definitions by name (a language.definitions.Definitions).
    definitions: Mapping[str, Any] = field(default_factory=dict)
    # Calls of a function with a declared derivative are DeclaredCall nodes.
    opaque: bool = False
    # The bodies of defined functions parsed opaque, by definition: parsed
    # once per scope (a definition's body may call a declared function).
    bodies: dict = field(default_factory=dict, repr=False)

    def __bool__(self) -> bool:
        return bool(self.definitions)

    @property
    def declares(self) -> bool:
        """Whether any definition has a declared derivative."""
        return any(d.derivative is not None for d in self.definitions.values())

    def for_autograd(self) -> "Scope":
        """This scope, with declared derivatives kept as nodes of their own."""
        return replace(self, opaque=True, bodies={})


EMPTY = Scope()  # only the built-in names
