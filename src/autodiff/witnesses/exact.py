"""The exact witness: f and its symbolic derivatives in ball arithmetic
(design §11), by the ball target of the program compiler
(autodiff.engine.balls), at the exact rational of each double autograd used.

Where a value is undefined as written (0/0, 0·∞ at the point), SymPy's limit
there is the exact value (`indeterminate_limit`); where a first derivative's
formula is undefined but f is defined, the derivative from its definition, by
one-sided limits of the difference quotient (`one_sided_derivatives`). Where
float arithmetic lost digits, `find_cause` names the operation that lost them.

Closed world: a node without a ball rule is an UnsupportedError, and the
other witnesses decide without this one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import sympy
from flint import arb

from autodiff.engine.balls import START_BITS, Ball, BallProgram, Budget
from autodiff.errors import UnsupportedError
from autodiff.text import number_text, shortened


@dataclass
class Limit:
    """The limit of an expression that is undefined as written (0/0, 0·∞,
    ∞−∞, ∞/∞) at the point: `value` as a Ball, approached along `variable`
    (from `side` "+" or "-", or both when None)."""

    ball: Ball
    variable: str
    side: Optional[str]
    point: float
    # "value": the limit of the expression; "derivative": the limit of f's
    # difference quotient along `variable` (the derivative by its definition).
    of: str = "value"

    def describe(self) -> str:
        return f"{self.variable} → {self.point:.10g}{self.side or ''}"


def indeterminate_limit(expr, env: dict[str, float], max_bits: int) -> tuple[bool, Optional[Limit]]:
    """Whether `expr` is an indeterminate form at the point (SymPy's value
    there is nan), and its limit when SymPy finds a real one: along each
    variable in turn, the others held at their exact values, from both
    sides (one side where the other leaves the real domain)."""
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    if not _safe_for_exact_substitution(expr) or any(abs(env[s.name]) >= _EXACT_BELOW for s in symbols):
        return False, None
    exact = {symbol: sympy.Rational(env[symbol.name]) for symbol in symbols}
    if expr.subs(exact) is not sympy.nan:
        return False, None
    found: list[Limit] = []
    for symbol in symbols:
        partial = expr.subs({s: v for s, v in exact.items() if s != symbol})
        if partial is sympy.nan or not partial.has(symbol):
            continue
        sides = {side: _real_limit(partial, symbol, exact[symbol], side) for side in ("+", "-")}
        known = {side: value for side, value in sides.items() if value is not None}
        if not known or (len(known) == 2 and known["+"] != known["-"]):
            continue
        value = next(iter(known.values()))
        ball = BallProgram([value]).evaluate({}, Budget(LIMIT_OPERATIONS), max_bits)[0]
        if ball.tight:
            found.append(Limit(ball, symbol.name, None if len(known) == 2 else next(iter(known)), env[symbol.name]))
    if not found or any(other.ball.text() != found[0].ball.text() for other in found[1:]):
        return True, None
    return True, found[0]


NOT_REAL = "not real"  # a side where f leaves the real domain
NO_LIMIT = "no limit"  # a side where the difference quotient has no limit (or SymPy found none)


@dataclass
class Sided:
    """The one-sided derivatives of f along `variable` at a point where the
    symbolic derivative is undefined as written: each an extended real SymPy
    number (±oo where the difference quotient diverges), NOT_REAL or NO_LIMIT."""

    variable: str
    left: object
    right: object

    def _finite(self, side) -> bool:
        return not isinstance(side, str) and bool(side.is_finite)

    def value(self):
        """The derivative, where it exists: both sides finite and equal, or
        one finite and the other outside f's domain (a boundary point); else None."""
        if self._finite(self.left) and self._finite(self.right):
            return self.left if sympy.simplify(self.left - self.right) == 0 else None
        for side, other in ((self.left, self.right), (self.right, self.left)):
            if self._finite(side) and other == NOT_REAL:
                return side
        return None

    def side(self) -> Optional[str]:
        """"+" or "-" where only one side lies in f's domain."""
        return "+" if self.left == NOT_REAL else "-" if self.right == NOT_REAL else None

    def scaled(self, weight: float) -> "Sided":
        """The sides times a grad-output weight (as autograd's values are)."""
        def scale(side):
            if isinstance(side, str):
                return side
            return sympy.S.Zero if weight == 0 else side * sympy.Rational(weight)  # no ∞·0

        return Sided(self.variable, scale(self.left), scale(self.right))

    @staticmethod
    def as_float(side) -> Optional[float]:
        return None if isinstance(side, str) else float(side)

    def describe(self, function: str = "f") -> str:
        """`left derivative -inf, right 0`; `right derivative -inf, f is not real to the left`."""
        sides = (("left", self.left), ("right", self.right))
        real = [f"{name} {number_text(float(side))}" for name, side in sides if side != NOT_REAL]
        if real:
            real[0] = real[0].replace(" ", " derivative ", 1)
        return ", ".join(real + [f"{function} is not real to the {name}" for name, side in sides if side == NOT_REAL])

    def convention(self, autograd: float) -> str:
        from autodiff.witnesses.kinks import convention

        left, right = self.as_float(self.left), self.as_float(self.right)
        return convention(autograd, math.nan if left is None else left, math.nan if right is None else right)


def one_sided_derivatives(expr, variable: str, env: dict[str, float], f_ball: "Ball") -> Optional[Sided]:
    """f's one-sided derivatives along `variable` at the point, from their
    definition: the limits of (f(p ± t·e) − f(p)) / (±t) as t → 0+, each
    by SymPy with the other variables at their exact values. f(p) is
    SymPy's value there, or the exact ball's where SymPy has none (atan2 at
    the origin is 0 in our language). None where neither gives f(p)."""
    symbols = {s.name: s for s in expr.free_symbols}
    if not _safe_for_exact_substitution(expr) or any(abs(env[name]) >= _EXACT_BELOW for name in symbols):
        return None
    exact = {symbol: sympy.Rational(env[name]) for name, symbol in symbols.items()}
    value = expr.subs(exact)
    if not (value.is_number and value.is_extended_real and value.is_finite):
        if not (f_ball.finite and f_ball.value.is_exact()):
            return None
        mantissa, exponent = f_ball.value.mid().man_exp()
        value = sympy.Integer(int(mantissa)) * sympy.Integer(2) ** int(exponent)
    symbol = symbols.get(variable)
    if symbol is None:
        return Sided(variable, sympy.S.Zero, sympy.S.Zero)
    t = sympy.Dummy("t", positive=True)
    others = {s: v for s, v in exact.items() if s != symbol}
    plain = _for_limits(expr)
    sides = []
    for sign in (-1, 1):
        moved = plain.subs(others).subs(symbol, exact[symbol] + sign * t)
        sides.append(_side(moved, t, value, sign))
    return Sided(variable, *sides)


def _for_limits(expr):
    """Our real-valued functions in the forms SymPy's limit knows: the real
    cube and odd roots by sign·|u|^(1/n), hypot by sqrt(a² + b²)."""
    from autodiff.language.symbolic_functions import cbrt, hypot, root

    def odd_root(u, n):
        return sympy.sign(u) * sympy.Abs(u) ** (1 / n)

    return expr.replace(cbrt, lambda u: odd_root(u, 3)).replace(
        root, lambda u, n: odd_root(u, n) if n.is_Integer and n.is_odd else u ** (1 / n)
    ).replace(hypot, lambda a, b: sympy.sqrt(a**2 + b**2))


_PROBE = sympy.Rational(1, 2**40)  # a step inside the side, to see whether f is real there


def _side(moved, t, value, sign: int):
    """The limit of sign·(moved − value)/t as t → 0+: an extended real
    number, NOT_REAL or NO_LIMIT."""
    try:
        probe = moved.subs(t, _PROBE).evalf(30)
        if not probe.is_number or probe.has(sympy.I) or probe.is_extended_real is False:
            return NOT_REAL
        limit = sympy.limit(sign * (moved - value) / t, t, 0, "+")
    except (NotImplementedError, ValueError, TypeError, ArithmeticError, AttributeError, RecursionError):
        return NO_LIMIT
    if limit.free_symbols or not limit.is_extended_real or limit.has(sympy.AccumBounds):
        return NO_LIMIT
    return limit


# SymPy evaluates a rational to an integer power exactly, in C, where no
# deadline reaches: x**x at x = 1e300, or (1/3)**(10**400), would never
# return. So no limit is searched where a coordinate or a numeric exponent
# reaches this magnitude.
_EXACT_BELOW = 2.0**10


def _safe_for_exact_substitution(expr) -> bool:
    return all(
        not (power.exp.is_Number and abs(power.exp) >= _EXACT_BELOW) for power in expr.atoms(sympy.Pow)
    )


def _real_limit(expr, symbol, point, side: str):
    try:
        value = sympy.limit(expr, symbol, point, side)
    except (NotImplementedError, ValueError, TypeError, ArithmeticError, AttributeError, RecursionError):
        return None
    if value.free_symbols or not value.is_extended_real or not value.is_finite:
        return None
    return value


def find_cause(expr, program, output: int, env: dict, dtype, bits: int, variables=None) -> Optional["Cause"]:
    """Why float arithmetic lost digits computing `expr` at the point:
    `program` is its torch program (`expr` is output `output`), `env` the
    point as 0-d tensors of `dtype`; only operations on `variables` (names)
    are suspects when given.

    The suspects are the operations that lost three or more digits beyond
    their arguments'. The culprit is the one that, computed exactly and the
    rest in floats again, gives the output back the most digits (a lost
    digit matters only where it reaches the output); then the one that lost
    the most. It is named cancellation (a sum of terms of both signs),
    overflow, underflow or rounding.
    """
    import torch


    balls = BallProgram([expr])
    exact = balls.run({name: float(value) for name, value in env.items()}, bits)
    with torch.no_grad():
        trace = program.trace(env, dtype)
    digits: list[Optional[int]] = []
    suspects = []  # (drop, node, ball, float value, argument balls, torch slot)
    for instruction, node, value in zip(balls.instructions, balls.nodes, exact):
        slot = program.slot(node)
        if instruction.op is None or not isinstance(value, arb) or slot is None or trace[slot].dtype == torch.bool:
            digits.append(17)
            continue
        ball = Ball(value, bits)
        own = ball.correct_digits(float(trace[slot].reshape(-1)[0])) if ball.tight else None
        digits.append(own)
        known = [digits[i] for i in instruction.args if digits[i] is not None]
        relevant = variables is None or {symbol.name for symbol in node.free_symbols} & set(variables)
        if own is not None and known and relevant and min(known) - own >= 3:
            suspects.append((min(known) - own, node, ball, float(trace[slot].reshape(-1)[0]), instruction.args, slot))
    if not suspects:
        return None
    target = Ball(exact[balls.outputs[0]], bits)
    largest = torch.finfo(dtype).max

    def repaired(suspect) -> int:
        """The output's correct digits with the suspect computed exactly."""
        value = suspect[2].to_float()
        if not target.tight or not abs(value) <= largest:
            return -1
        with torch.no_grad():
            out = program.outputs(env, dtype, {suspect[5]: torch.tensor(value, dtype=dtype)})[output]
        return target.correct_digits(float(out.reshape(-1)[0])) or 0

    ranked = sorted(suspects, key=lambda suspect: -suspect[0])[:8]
    drop, node, ball, value, args, _ = max(ranked, key=lambda suspect: (repaired(suspect), suspect[0]))
    limits = torch.finfo(dtype)
    kind = "rounding"
    if abs(ball.to_float()) > limits.max or (math.isinf(value) and ball.finite):
        kind = "overflow"
    elif not ball.zero and abs(value) < limits.tiny and abs(ball.to_float()) < limits.tiny:
        kind = "underflow"
    elif isinstance(node, sympy.Add) and _mixed_signs([exact[i] for i in args]):
        kind = "cancellation"
    return Cause(kind, shortened(str(node)), value, ball.text(10), str(dtype).replace("torch.", ""), ball.beyond(dtype))


@dataclass(frozen=True)
class Cause:
    """The operation where float arithmetic lost the digits."""

    kind: str  # "cancellation", "overflow", "underflow" or "rounding"
    operation: str  # as SymPy prints it
    value: float  # its float value
    exact: str  # its exact value
    dtype: str
    beyond: bool = False  # the exact value lies beyond the dtype's range

    def __str__(self) -> str:
        if self.kind == "overflow" and self.beyond:
            return f"overflow in {self.operation}: exactly {self.exact}, beyond {self.dtype}"
        if self.kind == "underflow":
            return f"underflow in {self.operation}: exactly {self.exact}, below {self.dtype}'s normal range"
        return f"{self.kind} in {self.operation}: {self.dtype} gives {self.value:.10g}, exactly {self.exact}"


def _mixed_signs(args) -> bool:
    signs = {1 if a > 0 else -1 for a in args if isinstance(a, arb) and (a > 0 or a < 0)}
    return len(signs) == 2


def evaluate_at(exprs, columns: dict[str, list[float]], count: int, budget: Budget, max_bits: int):
    """Balls of each expression at `count` elements (`columns`: each
    variable's doubles), while the budget lasts: rows[k][element] is a Ball,
    or None where the budget ran out or the expression has a node without a
    rule (`unsupported` then names it)."""
    rows: list[list[Optional[Ball]]] = [[None] * count for _ in exprs]
    supported, unsupported = list(range(len(exprs))), None
    try:
        program = BallProgram(exprs)
    except UnsupportedError as error:
        unsupported = error.message
        supported = []
        for index, expr in enumerate(exprs):
            try:
                BallProgram([expr])
                supported.append(index)
            except UnsupportedError:
                pass
        program = BallProgram([exprs[index] for index in supported])
    for element in range(count):
        if not budget.affords(len(program.instructions), START_BITS):
            break
        env = {name: values[element] for name, values in columns.items()}
        for index, ball in zip(supported, program.evaluate(env, budget, max_bits)):
            rows[index][element] = ball
    return rows, unsupported


# Ball operations for the value of one limit SymPy found (a constant).
LIMIT_OPERATIONS = 100_000

MAX_LIMITS = 8  # undefined (output, element) pairs whose limit SymPy is asked for, per command


class ExactSide:
    """The exact witness at the sampled elements of a point: the balls of
    each output's f and of each task's symbolic derivative (weighted like
    autograd's), the limits where the expression as written is undefined,
    and the same as tensors for the verdict.

    `columns` holds each variable's doubles at the `count` elements;
    `derivatives[task]` is the task's SymPy derivative or None.
    """

    def __init__(self, f_exprs, derivatives, columns, count, weights, limits, symbolic_seconds, tasks=None,
                 max_limits: int = MAX_LIMITS):
        self.tasks = tasks
        self.max_limits = max_limits
        distinct = list(dict.fromkeys(d for d in derivatives if d is not None))
        self.budget = Budget.of(limits)
        rows, self.unsupported = evaluate_at(list(f_exprs) + distinct, columns, count, self.budget, limits.max_exact_bits)
        self.count = count
        self.evaluated = sum(1 for ball in (rows[0] if rows else []) if ball is not None)
        self.f_balls = rows[: len(f_exprs)]
        by_expr = dict(zip(distinct, rows[len(f_exprs):]))
        self.d_balls = [
            [None] * count if d is None else [
                ball if ball is None or w is None else ball.scaled(w) for ball, w in zip(by_expr[d], weights)
            ]
            for d in derivatives
        ]
        self._series_fallback(f_exprs, derivatives, columns, count, weights, limits)
        self.f_limits: dict = {}
        self.d_limits: dict = {}
        self.indeterminate: set = set()
        # (task, element) → Sided: the derivative does not exist there (its one-sided values differ or diverge).
        self.nondifferentiable: dict = {}
        self._find_limits(f_exprs, derivatives, columns, weights, limits, symbolic_seconds)

    def _series_fallback(self, f_exprs, derivatives, columns, count, weights, limits) -> None:
        """A derivative of order ≥ 2 along one variable with no SymPy
        derivative (off, too slow, failed): its exact value from the ball
        series of f (autodiff.witnesses.coefficients), N!·c_N."""
        if self.tasks is None:
            return
        from autodiff.witnesses.coefficients import derivative_balls

        for task, (output, sequence) in enumerate(self.tasks):
            if derivatives[task] is not None or len(sequence) < 2 or len(set(sequence)) != 1:
                continue
            balls = derivative_balls(f_exprs[output], sequence[0], len(sequence), columns, count, limits, self.budget)
            self.d_balls[task] = [
                ball if ball is None or w is None else ball.scaled(w) for ball, w in zip(balls, weights)
            ]

    def _find_limits(self, f_exprs, derivatives, columns, weights, limits, seconds) -> None:
        """Where a ball is undefined, SymPy's limit there (at most `max_limits`
        of them, all within one symbolic deadline: what is found by then stays)."""
        from autodiff.deadline import SymbolicTimeout, with_deadline

        wanted = [("f", k, e, f_exprs[k]) for k, row in enumerate(self.f_balls) for e, b in enumerate(row) if b and b.undefined]
        wanted += [("d", t, e, derivatives[t]) for t, row in enumerate(self.d_balls) for e, b in enumerate(row) if b and b.undefined]
        if not wanted:
            return
        asked: dict = {}

        def ask_all():
            for kind, index, element, expr in wanted[: self.max_limits]:
                env = {name: values[element] for name, values in columns.items()}
                if kind == "d" and self._sided(index, element, f_exprs, env, weights[element], limits):
                    continue
                key = (expr, element)
                if key not in asked:
                    try:
                        asked[key] = indeterminate_limit(expr, env, limits.max_exact_bits)
                    except (RecursionError, ArithmeticError, ValueError, TypeError, AttributeError):
                        asked[key] = (False, None)  # SymPy failed: no limit, and no verdict on the form
                self._record(kind, index, element, *asked[key], weights[element])

        try:  # within --symbolic-timeout, a wall-clock timeout of its own
            with_deadline(ask_all, seconds)
        except SymbolicTimeout:
            pass

    def _sided(self, task: int, element: int, f_exprs, env, weight, limits) -> bool:
        """For a first derivative whose formula is undefined where f is
        defined: the derivative from its definition, by one-sided limits of
        the difference quotient. Records its value (a limit) where it
        exists, else the one-sided values; False where they are unknown."""
        if self.tasks is None or len(self.tasks[task][1]) != 1:
            return False
        output, (variable,) = self.tasks[task]
        f_ball = self.f_balls[output][element]
        if f_ball is None or not f_ball.tight:
            return False
        try:
            sided = one_sided_derivatives(f_exprs[output], variable, env, f_ball)
        except (RecursionError, ArithmeticError, ValueError, TypeError, AttributeError):
            return False
        if sided is None or NO_LIMIT in (sided.left, sided.right):
            return False  # SymPy found no limit on a side (0^(2 - t)): the derivative's own limit may yet be found
        value = sided.value()
        if value is None:
            self.nondifferentiable[task, element] = sided if weight is None else sided.scaled(weight)
            return True
        ball = BallProgram([value]).evaluate({}, Budget(LIMIT_OPERATIONS), limits.max_exact_bits)[0]
        if not ball.tight:
            return False
        limit = Limit(ball, variable, sided.side(), env[variable], "derivative")
        self._record("d", task, element, True, limit, weight)
        return True

    def _record(self, kind: str, index: int, element: int, indeterminate: bool, limit, weight) -> None:
        if limit is not None:
            if kind == "d" and weight is not None:
                limit = Limit(limit.ball.scaled(weight), limit.variable, limit.side, limit.point, limit.of)
            (self.f_limits if kind == "f" else self.d_limits)[index, element] = limit
        elif indeterminate and kind == "d":
            self.indeterminate.add((index, element))

    def judge(self, autograd: list, tolerance):
        """Whether each of autograd's values (`autograd[task][element]`) is
        within the tolerance of the exact one, as a bool tensor (tasks,
        elements); False where there is no exact value."""
        import torch

        rows = [
            [ball is not None and ball.within(value, tolerance) for ball, value in ((self.ball(k, e), v) for e, v in enumerate(row))]
            for k, row in enumerate(autograd)
        ]
        return torch.tensor(rows, dtype=torch.bool).reshape(len(autograd), self.count)

    def ball(self, task: int, element: int) -> Optional[Ball]:
        """The task's exact value at an element: its limit or its tight ball."""
        return _known(self.d_limits, self.d_balls, task, element)

    def f_ball(self, output: int, element: int) -> Optional[Ball]:
        """f's exact value at an element: its limit or its tight ball."""
        return _known(self.f_limits, self.f_balls, output, element)

    def tensors(self, shape) -> "ExactTensors":
        """The exact side as tensors for the verdict, each task's and each
        output's elements shaped (tasks or outputs, *shape)."""
        import torch

        tasks, outputs = len(self.d_balls), len(self.f_balls)
        flags = [[self.ball(task, element) is not None for element in range(self.count)] for task in range(tasks)]
        flags += [[ball is not None and ball.tight for ball in row] for row in self.f_balls]
        table = torch.tensor(flags, dtype=torch.bool).reshape(tasks + outputs, *shape)
        known, real_f = table[:tasks], table[tasks:]
        indeterminate = torch.zeros_like(known)
        for task, element in self.indeterminate:
            indeterminate.view(tasks, -1)[task, element] = True
        nondifferentiable = torch.zeros_like(known)
        for task, element in self.nondifferentiable:
            nondifferentiable.view(tasks, -1)[task, element] = True
        return ExactTensors(known, real_f, indeterminate, nondifferentiable)


@dataclass
class ExactTensors:
    """The exact side at the sampled elements, for the verdict."""

    known: Any  # where the task has an exact value (a tight ball or a limit)
    real_f: Any  # where f has a true finite value (a tight ball, not a limit)
    indeterminate: Any  # where the symbolic derivative is an indeterminate form with no limit found
    nondifferentiable: Any  # where the derivative does not exist: one-sided values differ or diverge


def _known(limits: dict, balls: list, index: int, element: int) -> Optional[Ball]:
    limit = limits.get((index, element))
    if limit is not None:
        return limit.ball
    ball = balls[index][element]
    return ball if ball is not None and ball.tight else None
