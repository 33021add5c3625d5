"""The scalar path (issue 27): `grad` at one point of plain numbers, every
witness on, without SymPy and without tensors beyond autograd's own.

Streams and case files answer thousands of small expressions, one point
each; the general path (autodiff.commands.prepare) builds SymPy trees and
runs every witness on tensors shaped for a grid, and its fixed costs are
most of a small expression's time. Here:

- the text is parsed straight into a SymEngine tree (language.scalar_parsing)
  and differentiated by SymEngine; the derivatives stay SymEngine trees, and
  our own printer writes them (language.printer);
- the one program compiler lowers the trees to three programs: torch's
  (autograd, the answer judged), plain floats' (the finite differences and
  the symbolic derivatives' values) and balls' (the exact witness);
- an expression's parse, derivatives, texts and programs are kept for its
  next point (a case file checks one expression at several points).

The path answers only where every witness agrees and nothing needs
explaining: f and each derivative finite, the exact values tight,
autograd within the tolerance of the exact value, the symbolic value and
the finite difference beside it. Anything else, and every option this path
does not take, returns None, and the general path answers from the start:
the same verdict, its warnings and its explanations. The results are the
general path's fields, computed by the same rules (tests/test_scalar.py
compares the two paths).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any, Optional

from autodiff.commands.prepare import Options, as_point
from autodiff.points import Point, is_vector, natural_order
from autodiff.results import DerivativeResult, GradResult

_EPS = 2.0**-52
_H = _EPS ** (1 / 5)  # a first derivative's step, in units of the variable's size (witnesses.checks)
_SCALES = (1.0, 0.5)


def grad(expression: Any, at: Any, expect: Any, order: int, wrt: Any, settings: Options) -> Optional[GradResult]:
    """`api.grad`'s answer where the scalar path can give it, else None."""
    if not (
        isinstance(expression, str) and order == 1 and wrt is None and at is not None and _plain(settings)
    ):
        return None
    from autodiff.deadline import SymbolicTimeout, with_deadline

    try:  # the symbolic side within --symbolic-timeout, as on the general path (which then reports it)
        symbolic = with_deadline(lambda: _symbolic(expression, at, settings), settings.symbolic_timeout)
    except SymbolicTimeout:
        return None
    return None if symbolic is None else _answer(*symbolic, expect, settings)


def _symbolic(expression: str, at: Any, settings: Options) -> Optional[tuple]:
    """The expression parsed, differentiated by the point's variables and
    printed, and the point: (Compiled, Differentiated, Point, columns), or None."""
    compiled = _compiled(expression, settings.limits)
    if compiled is None:
        return None
    point = _point(at, tuple(compiled.variables), settings)
    if point is None or not set(compiled.variables) <= set(point.values):
        return None
    columns = tuple(natural_order(point.values))
    try:
        differentiated = compiled.differentiated(columns)
    except (RuntimeError, ValueError, TypeError, ArithmeticError):  # SymEngine refused: the general path decides
        return None
    return None if differentiated is None else (compiled, differentiated, point, columns)


def _plain(settings: Options) -> bool:
    """The options the scalar path takes: the defaults, but for the tolerances."""
    return (
        settings.dtype == "float64" and settings.grad_output is None and settings.symbolic and settings.exact
        and settings.device == "cpu" and not settings.frozen and not settings.scope.definitions
        and settings.budget is None
    )


class Compiled:
    """One expression's tree and text, and per set of variables its
    derivatives' texts and programs, kept for its next point."""

    def __init__(self, tree):
        self.tree = tree
        self.variables = natural_order(str(symbol) for symbol in tree.free_symbols)
        self.text = printed(tree)
        self._columns: dict[tuple, Optional[Differentiated]] = {}

    def differentiated(self, columns: tuple) -> Optional["Differentiated"]:
        """The derivatives by `columns` (the point's variables): None where one cannot be printed."""
        if columns not in self._columns:
            self._columns[columns] = Differentiated.of(self.tree, columns)
        return self._columns[columns]


class Differentiated:
    """f's derivatives by some variables: their texts, and the programs:
    torch's of f (autograd), floats' of f and the derivatives (f alone for
    the finite differences, the derivatives' values), balls' of f and the
    derivatives (the exact witness)."""

    def __init__(self, tree, derivatives: dict, texts: dict):
        from autodiff.engine.balls import BallProgram
        from autodiff.engine.floats import FloatProgram
        from autodiff.engine.lowering import Program
        from autodiff.engine.program import Plan

        self.texts = texts
        plan = Plan([tree, *derivatives.values()])  # one walk; f's steps come first
        self.torch = Program(plan.head(1))
        self.floats = FloatProgram([plan])  # f (its steps first: `value`) and the derivatives
        self.balls = BallProgram([plan])

    @classmethod
    def of(cls, tree, columns: tuple) -> Optional["Differentiated"]:
        derivatives = {name: symbolic_derivative(tree, name) for name in columns}
        texts = {name: printed(d) for name, d in derivatives.items()}
        if None in texts.values():
            return None
        return cls(tree, derivatives, texts)


def symbolic_derivative(tree, name: str):
    """SymEngine's derivative of `tree` by the variable `name` (tests make it wrong to see the witnesses catch it)."""
    import symengine

    return tree.diff(symengine.Symbol(name))


def forget() -> None:
    """Drop the expressions and points kept for their next use."""
    _compiled.cache_clear()
    _cached_point.cache_clear()
    _leaf.cache_clear()


def printed(tree) -> Optional[str]:
    """The tree's machine form by our printer; None where only SymPy's can print it."""
    from autodiff.language.printer import NotPrintable, machine_text

    try:
        return machine_text(tree)
    except NotPrintable:
        return None


@functools.lru_cache(maxsize=512)
def _compiled(expression: str, limits) -> Optional[Compiled]:
    from autodiff.language.scalar_parsing import parse_scalar

    tree = parse_scalar(expression, limits)
    if tree is None or not tree.free_symbols:
        return None
    compiled = Compiled(tree)
    return compiled if compiled.text is not None else None


@functools.lru_cache(maxsize=64)
def _cached_point(at: tuple, names: Optional[tuple], limits) -> Optional[Point]:
    """The point of CLI texts (a tuple of str) or of a mapping (a tuple of (name, number) pairs)."""
    given = dict(at) if at and isinstance(at[0], tuple) else list(at)
    point = as_point(given, "--at", limits, list(names) if names else None)
    if point is None or point.size is not None or any(is_vector(v) for v in point.values.values()):
        return None
    return point


def _point(at: Any, variables: tuple, settings: Options) -> Optional[Point]:
    """The point, read once per text (a stream's every line has the same);
    None where it is not one value per variable, or does not read."""
    if isinstance(at, Point):
        return at if at.size is None and not any(is_vector(v) for v in at.values.values()) else None
    if isinstance(at, str):
        at = (at,)
    elif isinstance(at, Mapping):  # the Python API's {"x": 3}
        at = tuple(at.items())
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and isinstance(k, str) for k, v in at):
            return None
    elif not isinstance(at, (list, tuple)) or not all(isinstance(text, str) for text in at):
        return None
    try:
        return _cached_point(tuple(at), variables if len(variables) == 1 else None, settings.limits)
    except Exception:  # noqa: BLE001  (the general path reports what is wrong with the point)
        return None


def _answer(compiled: Compiled, programs: Differentiated, point: Point, columns: tuple, expect,
            settings: Options) -> Optional[GradResult]:
    import torch

    from autodiff.engine.balls import Budget
    from autodiff.witnesses.checks import Tolerance

    env = {name: float(point.values[name]) for name in columns}
    tolerance = Tolerance.for_dtype("float64", settings.rtol, settings.atol)
    # autograd: the answer judged
    leaves = {name: _leaf(env[name].hex()) for name in columns}
    output = programs.torch(leaves, torch.float64)
    value = float(output.detach())
    if not math.isfinite(value) or not output.requires_grad:
        return None
    grads = torch.autograd.grad(output, list(leaves.values()), allow_unused=True, materialize_grads=True)
    autograd = {name: float(g) for name, g in zip(leaves, grads)}
    # the exact witness: f and the derivatives, one ball program
    limits = settings.limits
    f_ball, *d_balls = programs.balls.evaluate(env, Budget.of(limits), limits.max_exact_bits)
    if not (f_ball.tight and f_ball.within(value, tolerance)):
        return None
    symbolic = dict(zip(columns, programs.floats.outputs(env)[1:]))
    by_ball = dict(zip(columns, d_balls))
    results = {}
    for name in columns:
        a, s, ball = autograd[name], symbolic[name], by_ball[name]
        if not (math.isfinite(a) and math.isfinite(s) and ball.tight and ball.within(a, tolerance)):
            return None
        if not tolerance.close_float(a, s):
            return None
        numeric, rounding = _finite_difference(programs.floats.value, env, name)
        digits = ball.correct_digits(a)
        if not _agrees(numeric, rounding, a, tolerance.for_finite_differences(1)):
            return None
        results[name] = DerivativeResult(
            [name], autograd=a, symbolic=programs.texts[name], symbolic_value=s, numeric=numeric, agree=True,
            numeric_agree=True, checked_by="exact", differentiable=True, exact=ball.text(), exact_digits=ball.digits,
            exact_radius=ball.radius_text(), exact_source="ball", autograd_digits=digits,
            symbolic_digits=digits if s == a else ball.correct_digits(s), accurate=True,
        )
    if expect is not None and not _met(results, expect, settings):
        return None
    return GradResult(
        order=1, gradient=results, expression=compiled.text, variables=list(compiled.variables),
        at=dict(point.values), value=value, checked_by="exact", warnings=[], dtype="float64", frozen=[], declared=[],
        value_exact=f_ball.text(), value_digits=f_ball.correct_digits(value), value_exact_source="ball",
    )


@functools.lru_cache(maxsize=64)
def _leaf(value: str):
    """autograd's leaf of a variable's value (a float's hex text: -0.0 is
    not 0.0), made once for a stream's every line: torch.autograd.grad
    computes the gradient without writing into the leaf."""
    import torch

    return torch.tensor(float.fromhex(value), dtype=torch.float64, requires_grad=True)


def _finite_difference(f, env: dict, name: str) -> tuple[float, float]:
    """The Richardson-extrapolated central difference of f along `name`, and
    its rounding bound: witnesses.checks' stencil for a first derivative, in floats."""
    x = env[name]
    size = max(abs(x), 1.0)
    sums, magnitudes = [], []
    for scale in _SCALES:
        offset = 0.5 * scale * _H
        ahead = f({**env, name: x + offset * size})
        behind = f({**env, name: x + -offset * size})
        sums.append(ahead - behind)
        magnitudes.append(abs(ahead) + abs(behind))
    base = math.exp(math.log(size))
    coarse_divisor, fine_divisor = (base * (_H * scale) for scale in _SCALES)
    coarse, fine = sums[0] / coarse_divisor, sums[1] / fine_divisor
    rounding = (4 * (magnitudes[1] * _EPS / fine_divisor) + magnitudes[0] * _EPS / coarse_divisor) / 3
    return (4 * fine - coarse) / 3, rounding


def _agrees(estimate: float, rounding: float, value: float, tolerance) -> bool:
    """checks.FiniteDifference.agrees_with, for one float."""
    if not math.isfinite(estimate):
        return False
    return abs(value - estimate) <= tolerance.atol + tolerance.rtol * abs(estimate) + 10 * rounding


def _met(results: dict, expect, settings: Options) -> bool:
    """Set each derivative's expected value and whether autograd meets it;
    False where the expectation needs the general path (a name it lacks, a vector)."""
    from autodiff.witnesses.checks import Tolerance

    try:
        wanted = as_point(expect, "--expect", settings.limits, list(results), settings.scope)
    except Exception:  # noqa: BLE001  (the general path reports it)
        return False
    if wanted is None or wanted.size is not None:
        return False
    tolerance = Tolerance.for_dtype("float64", settings.rtol, settings.atol)
    for name, expected in wanted.values.items():
        if name not in results or is_vector(expected):
            return False
        result = results[name]
        result.expected = expected
        result.expect_met = tolerance.close_float(result.autograd, float(expected))
    return True
