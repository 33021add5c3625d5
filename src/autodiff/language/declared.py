"""Declared derivatives: `--derivative "mylog(t) = 1/t"` beside `--define
"mylog(t) = log(t)"` makes the declared formula mylog's backward in autograd,
and every command checks the declaration.

Representation (the choice, kept small): the parser expands a call of a
defined function into its body, as without declarations, and every witness
(SymPy/SymEngine, finite differences, the exact witness, kinks, domains,
printing) gets that expanded tree, so they all see the definition's *true*
derivative. Only the torch lowering sees more: `commands.prepare` parses the
expression a second time with an opaque scope (`Scope.for_autograd`), where a call of a function with
a declared derivative becomes a node of its own class (a `DeclaredCall`, a
SymPy Function named as the definition). `lowering` compiles that node to a
`torch.autograd.Function` whose forward evaluates the body (a program of its
own) and whose backward is grad_output times each declared partial at the
saved arguments. A wrong declaration therefore makes autograd disagree with
the witnesses; `check` also compares the declaration directly with the
definition's derivative at the call's arguments and at points around them,
so a declaration right only at the point fails too.

Higher orders work: the backward is made of differentiable torch operations
on the saved arguments, so with `create_graph` (--order 2, hessian) the
second derivative is the derivative of the declared formula.

A definition called inside another definition's body keeps its declared
derivative there too (the body is parsed again with the opaque scope).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable

import sympy

from autodiff.errors import ParseError
from autodiff.language.symbolic_functions import DeclaredCall
from autodiff.limits import DEFAULT_LIMITS, Limits


def expand(expr):
    """`expr` with every DeclaredCall replaced by its body (innermost first)."""
    if not expr.atoms(DeclaredCall):
        return expr
    return expr.replace(lambda node: isinstance(node, DeclaredCall), lambda node: node.expanded())


def calls_in(exprs) -> list:
    """The distinct DeclaredCall nodes of the trees, in a stable order."""
    found: dict = {}
    for expr in exprs:
        for node in sympy.preorder_traversal(expr):
            if isinstance(node, DeclaredCall):
                found.setdefault(node, None)
    return list(found)


# --- Parsing declarations -------------------------------------------------------------------------


def attach(definitions, texts: Iterable[str], limits: Limits = DEFAULT_LIMITS):
    """`definitions` with the declared derivatives of `texts` ("g(a, b) = [b, a]")."""
    from autodiff.language.definitions import Definitions, split
    from autodiff.language.parsing import Parser, sympy_work
    from autodiff.language.scope import Scope

    texts = [texts] if isinstance(texts, str) else list(texts or ())
    if not texts:
        return definitions
    by_name = dict(definitions.items()) if definitions else {}
    for text in texts:
        head = split(text)
        where = f"--derivative {head.head}"
        defined = by_name.get(head.name)
        if defined is None or not defined.is_function:
            what = "is a constant" if defined is not None else "is not defined"
            raise ParseError(
                f"{where}: {head.name} {what}; declare the derivative of a function given with --define "
                f"(e.g. --define \"{head.name}(t) = …\")", text, 1)
        if head.params is None or len(head.params) != len(defined.params):
            raise ParseError(
                f"{where}: {defined.head} has {len(defined.params)} parameter(s); write the declaration with the same "
                f"number, e.g. {defined.head} = …", text, 1)
        if not defined.params:
            raise ParseError(f"{where}: {defined.head} has no parameters, so no derivative to declare", text, 1)
        try:
            scope = Scope(definitions or {})
            parsed = sympy_work(
                lambda: Parser(head.body_text, limits, params=head.params, scope=scope).parse_top(allow_list=True),
                head.body_text, limits,
            )
        except ParseError as error:
            raise ParseError(f"{where}: {error.message}", text, None) from None
        partials = parsed if isinstance(parsed, list) else [parsed]
        if len(partials) != len(defined.params):
            raise ParseError(
                f"{where}: give one partial derivative per parameter, {len(defined.params)} in all "
                f"(e.g. {defined.head} = [{', '.join('…' for _ in defined.params)}]); got {len(partials)}", text, None)
        # The declaration's parameter names may differ from the definition's: rename them all at once.
        renamed = {sympy.Symbol(a, real=True): sympy.Symbol(b, real=True) for a, b in zip(head.params, defined.params)}
        # Each partial is a tree our parser built (never text): sympify only makes a bare number a SymPy one.
        partials = tuple(sympy.sympify(p).xreplace(renamed) for p in partials)
        by_name[head.name] = replace(defined, derivative=partials, derivative_text=head.body_text.strip())
    return Definitions(by_name.values())
