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

    def torch_op(self):
        return _torch_function(type(self)).apply


_CLASSES: dict = {}
_BODIES: dict = {}
_FUNCTIONS: dict = {}


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


# --- The torch function -------------------------------------------------------------------------


def _torch_function(cls):
    function = _FUNCTIONS.get(cls)
    if function is None:
        if len(_FUNCTIONS) > 256:
            _FUNCTIONS.clear()
        function = _FUNCTIONS[cls] = _make_torch_function(cls.definition)
    return function


def _make_torch_function(definition):
    import torch

    from autodiff.engine.lowering import compile_expression, compile_expressions

    params = definition.params
    body = compile_expression(definition.body)
    partials = compile_expressions(definition.derivative)

    def forward(ctx, *args):
        ctx.save_for_backward(*args)
        shape = torch.broadcast_shapes(*(a.shape for a in args))
        value = body(dict(zip(params, args)), args[0].dtype).expand(shape)
        # An output that is an input or a view of one (f(t) = t) must be a tensor of its own.
        return value.clone() if value._is_view() or any(value is a for a in args) else value

    def backward(ctx, grad_output):
        args = ctx.saved_tensors
        values = partials.outputs(dict(zip(params, args)), grad_output.dtype)
        return tuple(
            _sum_to(grad_output * value, arg.shape) if needed else None
            for value, arg, needed in zip(values, args, ctx.needs_input_grad)
        )

    # Named as the definition: its grad_fn is `mylogBackward` in `autodiff graph`.
    return type(definition.name, (torch.autograd.Function,),
                {"forward": staticmethod(forward), "backward": staticmethod(backward)})


def _sum_to(gradient, shape):
    return gradient if gradient.shape == shape else gradient.sum_to_size(shape)


# --- Checking a declaration -------------------------------------------------------------------------

# Points around an argument value, as multiples of max(1, |value|); the
# second half moves the arguments of a multi-argument call in opposite directions.
_OFFSETS = (-0.5, -0.2, 0.3, 0.6)
_SAMPLES = 4  # elements of a vector point whose arguments are checked


def check(problem) -> list[dict]:
    """One entry per declared function called in `problem` (api._Problem),
    per parameter: whether the declared partial equals the definition's
    derivative at each call's arguments and at points around them."""
    if problem.autograd_exprs is None or problem.point is None:
        return []
    import torch

    from autodiff.engine.lowering import compile_expressions

    env = problem.leaves(requires_grad=False, dtype="float64")
    checks: dict[tuple, dict] = {}
    calls = calls_in(problem.autograd_exprs)
    for call in calls:
        definition = call.definition
        arguments = compile_expressions([expand(a) for a in call.args]).outputs(env, torch.float64)
        points = _test_points([a.reshape(-1) for a in arguments])
        for index, param in enumerate(definition.params):
            key = (definition.name, param)
            entry = checks.setdefault(key, _entry(definition, index))
            if entry["agree"] is False:
                continue
            _compare(entry, definition, index, points, problem)
    return list(checks.values())


def _entry(definition, index: int) -> dict:
    from autodiff.language.notation import machine

    return {
        "function": definition.name,
        "parameter": definition.params[index],
        "declared": machine(definition.derivative[index]),
        "definition": None,
        "checked_by": None,
        "points": 0,
        "agree": None,
    }


def _test_points(arguments: list):
    """(m, n) float64 points for a call of n arguments: each sampled element's
    arguments, then points around them."""
    import torch

    size = max(a.numel() for a in arguments)
    elements = sorted({round(i * (size - 1) / max(1, _SAMPLES - 1)) for i in range(min(size, _SAMPLES))})
    rows = []
    for element in elements:
        base = torch.stack([a[element if a.numel() > 1 else 0] for a in arguments])
        scale = base.abs().clamp(min=1.0)
        signs = torch.tensor([(-1.0) ** i for i in range(len(arguments))], dtype=torch.float64)
        rows.append(base)
        rows += [base + offset * scale for offset in _OFFSETS]
        if len(arguments) > 1:
            rows += [base + offset * scale * signs for offset in _OFFSETS]
    return torch.stack(rows)


def _compare(entry: dict, definition, index: int, points, problem) -> None:
    import torch

    from autodiff.engine.lowering import compile_expression
    from autodiff.language.notation import machine

    param = definition.params[index]
    env = {p: points[:, i] for i, p in enumerate(definition.params)}
    declared = compile_expression(definition.derivative[index])(env, torch.float64).expand(points.shape[0])
    reference, how = _definition_derivative(definition, index, env, problem)
    tolerance = problem.tolerance
    if how == "numeric":  # a finite difference is good to about 1e-9 relative
        from autodiff.witnesses.checks import Tolerance

        tolerance = Tolerance(max(tolerance.rtol, 1e-6), max(tolerance.atol, 1e-8))
    else:
        entry["definition"] = machine(reference[1])
        reference = reference[0]
    entry["checked_by"] = how
    usable = torch.isfinite(reference) & ~_kinks(definition, index, env)
    wrong = usable & ~tolerance.close(declared, reference)
    if how == "symbolic" and bool(wrong.any()):
        wrong = _exact_confirms(wrong, definition, index, points, entry, tolerance, problem)
    entry["points"] = max(entry["points"], int(usable.sum()))
    if entry["agree"] is None and bool(usable.any()):
        entry["agree"] = True
    if not bool(wrong.any()):
        return
    row = int(wrong.nonzero()[0])
    from autodiff.results import number_text
    from autodiff.language.notation import show

    where = ", ".join(f"{p} = {number_text(float(points[row, i]))}" for i, p in enumerate(definition.params))
    text = definition.derivative_text  # as the user wrote it, where it is the one partial
    shown = text.strip("[] ") if len(definition.params) == 1 and text else show(entry["declared"])
    entry.update(
        agree=False,
        at={p: float(points[row, i]) for i, p in enumerate(definition.params)},
        declared_value=float(declared[row]),
        definition_value=float(reference[row]),
        message=(
            f"the declared derivative of {definition.name} with respect to {param}, "
            f"{shown}, is wrong: at {where} it gives {number_text(float(declared[row]))}, "
            f"the definition's derivative is {number_text(float(reference[row]))}"
        ),
    )


def _kinks(definition, index: int, env: dict):
    """Where the definition has no derivative along the parameter (a kink: its
    one-sided difference quotients differ), so no declaration can be judged."""
    import torch

    from autodiff.engine.lowering import compile_expression

    body = compile_expression(definition.body)
    param = definition.params[index]
    t = env[param]
    h = 1e-7 * t.abs().clamp(min=1.0)

    def f(shift):
        moved = dict(env)
        moved[param] = t + shift
        return body(moved, torch.float64).expand(t.shape)

    with torch.no_grad():
        here = f(0)
        right, left = (f(h) - here) / h, (here - f(-h)) / h
    scale = torch.maximum(left.abs(), right.abs()).clamp(min=1.0)
    return (right - left).abs() > 1e-3 * scale


def _definition_derivative(definition, index: int, env: dict, problem):
    """((values, tree), "symbolic"), or (values, "numeric") where SymPy is off or fails."""
    import torch

    from autodiff.engine.lowering import compile_expression

    param = definition.params[index]
    if problem.symbolic:
        from autodiff.engine.symbolic import SymbolicTimeout, symbolic_derivative, with_deadline

        try:
            tree = with_deadline(lambda: symbolic_derivative(definition.body, [param]), problem.symbolic_timeout)
            values = compile_expression(tree)(env, torch.float64).expand(env[param].shape)
            return (values, tree), "symbolic"
        except (SymbolicTimeout, RecursionError, ArithmeticError, ValueError, TypeError, AttributeError):
            pass
        except Exception as error:  # noqa: BLE001 - UnsupportedError: fall back to finite differences
            from autodiff.errors import AutodiffError

            if not isinstance(error, AutodiffError):
                raise
    body = compile_expression(definition.body)
    t = env[param]
    h = 1e-3 * t.abs().clamp(min=1.0)

    def f(shift):
        moved = dict(env)
        moved[param] = t + shift
        return body(moved, torch.float64).expand(t.shape)

    values = (-f(2 * h) + 8 * f(h) - 8 * f(-h) + f(-2 * h)) / (12 * h)
    return values, "numeric"


def _exact_confirms(wrong, definition, index, points, entry, tolerance, problem):
    """Where floats disagree, the exact values decide (a rounding error in
    either formula is not a wrong declaration)."""
    if not problem.exact:
        return wrong
    try:
        from autodiff.witnesses.exact import BallProgram, Budget
        from autodiff.engine.symbolic import symbolic_derivative
    except ImportError:
        return wrong
    param = definition.params[index]
    balls = BallProgram([definition.derivative[index], symbolic_derivative(definition.body, [param])])
    budget = Budget.of(problem.limits)
    confirmed = wrong.clone()
    for row in wrong.nonzero().flatten().tolist()[:8]:
        env = {p: float(points[row, i]) for i, p in enumerate(definition.params)}
        try:
            declared, reference = balls.evaluate(env, budget, problem.limits.max_exact_bits)
        except Exception:  # noqa: BLE001 - the exact witness is optional here
            return wrong
        if declared.finite and reference.finite and declared.tight and reference.tight:
            confirmed[row] = not tolerance.close_float(declared.to_float(), reference.to_float())
            if not confirmed[row]:
                continue
            entry["checked_by"] = "exact"
    return confirmed

