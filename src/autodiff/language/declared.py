"""Declared derivatives: `--derivative "mylog(t) = 1/t"` beside `--define
"mylog(t) = log(t)"` makes the declared formula mylog's backward in autograd,
and every command checks the declaration.

Representation (the choice, kept small): the parser expands a call of a
defined function into its body, as without declarations, and every witness
(SymPy/SymEngine, finite differences, the exact witness, kinks, domains,
printing) gets that expanded tree, so they all see the definition's *true*
derivative. Only the torch lowering sees more: `api._prepare` parses the
expression a second time inside `opaque()`, where a call of a function with
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
derivative there too (the body is parsed again in `opaque()`).
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import replace
from typing import Iterable

import sympy

from autodiff.errors import ParseError
from autodiff.limits import DEFAULT_LIMITS, Limits

_OPAQUE: contextvars.ContextVar[bool] = contextvars.ContextVar("autodiff_opaque", default=False)


@contextlib.contextmanager
def opaque():
    """Parse calls of functions with a declared derivative as DeclaredCall nodes."""
    token = _OPAQUE.set(True)
    try:
        yield
    finally:
        _OPAQUE.reset(token)


def is_opaque() -> bool:
    return _OPAQUE.get()


class DeclaredCall(sympy.Function):
    """A call of a function with a declared derivative (subclassed per
    definition by `_node_class`; `definition` is that Definition)."""

    definition = None
    is_real = True

    @classmethod
    def eval(cls, *args):
        return None  # never evaluated by SymPy: the torch lowering computes it

    def expanded(self):
        params = self.definition.params
        return self.definition.body.xreplace({sympy.Symbol(p, real=True): a for p, a in zip(params, self.args)})


_CLASSES: dict = {}
_BODIES: dict = {}


def _node_class(definition) -> type:
    cls = _CLASSES.get(definition)
    if cls is None:
        if len(_CLASSES) > 256:
            _CLASSES.clear()
        cls = _CLASSES[definition] = type(definition.name, (DeclaredCall,), {"definition": definition})
    return cls


def opaque_call(defined, args: list):
    """The parser's call of a defined function inside `opaque()`."""
    if defined.derivative is not None:
        return _node_class(defined)(*args)
    from autodiff.language import definitions
    from autodiff.language.parsing import parse_definition_body

    known = definitions.current()
    key = (defined, id(known))
    body = _BODIES.get(key)
    if body is None:  # its body may call a function with a declared derivative: parse it opaque too
        if len(_BODIES) > 256:
            _BODIES.clear()
        body = _BODIES[key] = parse_definition_body(defined.body_text, defined.params or ())
    return body.xreplace({sympy.Symbol(p, real=True): a for p, a in zip(defined.params, args)})


def declares(definitions) -> bool:
    """Whether any of the definitions has a declared derivative."""
    return bool(definitions) and any(d.derivative is not None for d in definitions.values())


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
    from autodiff.language.definitions import Definitions, active, split
    from autodiff.language.parsing import Parser, sympy_work

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
            with active(definitions):
                parsed = sympy_work(
                    lambda: Parser(head.body_text, limits, params=head.params).parse_top(allow_list=True),
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
        partials = tuple(sympy.sympify(p).xreplace(renamed) for p in partials)
        by_name[head.name] = replace(defined, derivative=partials, derivative_text=head.body_text.strip())
    return Definitions(by_name.values())
