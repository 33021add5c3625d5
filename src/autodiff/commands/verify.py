"""`autodiff verify`: is a hand-derived derivative right?

The claimed derivative D is evaluated (in float64, by the same lowering as
every expression) at every point checked, beside the derivative autograd
computes from f — itself judged by the usual witnesses (the exact value in
ball arithmetic where there is one, SymPy's derivative, finite
differences), so that D is compared with a derivative known to be right.
Where D is wrong, the exact value of f's derivative is given too. Beside
the numbers, SymPy tries to prove D − f⁽ᴺ⁾ = 0 (`simplify`, under the
symbolic deadline): proved, disproved (it simplifies to a nonzero
constant), or not proved either way.

D is right at a point when |D − autograd| ≤ atol + rtol·|autograd| (the
command's tolerances). Points where f's derivative does not exist (a kink,
outside the domain) or is not finite are not compared, and are counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Optional

from autodiff.commands.prepare import Options, as_point, check_order, parse, scope_of
from autodiff.errors import EXIT_CHECK_FAILED, EXIT_OK, LimitError, PointError, UsageError
from autodiff.limits import as_limits, raise_hint
from autodiff.points import Point
from autodiff.results import DerivativeResult, json_number
from autodiff.text import prime

DEFAULT_POINTS = 401  # -5:5 in steps of 0.025: the points land on round numbers
DEFAULT_RANGE = (-5.0, 5.0)
MAX_LISTED = 10  # wrong points listed with their exact value


@dataclass
class WrongPoint:
    at: dict  # the point's values (the variable and the others)
    claimed: float  # D there
    autograd: float  # f⁽ᴺ⁾ there, from autograd
    exact: Optional[str] = None  # f⁽ᴺ⁾'s exact value there (17 digits), from the ball witness

    @property
    def error(self) -> float:
        return abs(self.claimed - self.autograd)

    def to_json(self) -> dict:
        return {
            "at": {name: json_number(value) for name, value in self.at.items()},
            "claimed": json_number(self.claimed),
            "autograd": json_number(self.autograd),
            "exact": self.exact,
            "error": json_number(self.error),
        }


@dataclass
class VerifyResult:
    expression: str  # f, machine form
    claimed: str  # D, machine form
    variable: str
    order: int
    at: dict  # the point checked (the variable's values: a grid, a vector or one number)
    points: int  # elements of the point
    compared: int  # where f⁽ᴺ⁾ exists and is finite
    wrong_count: int
    max_error: Optional[float]  # the largest |D − autograd| over the compared points
    max_error_at: Optional[dict]
    wrong: list[WrongPoint]  # the first MAX_LISTED wrong points
    derivative: DerivativeResult  # autograd's f⁽ᴺ⁾ with its witnesses
    symbolic: Optional[str]  # SymPy's f⁽ᴺ⁾ (machine form)
    proof: str  # "proved", "disproved", "not proved", "timeout", "off"
    difference: Optional[str]  # D − f⁽ᴺ⁾ as SymPy simplifies it
    warnings: list[str] = field(default_factory=list)
    curves: Optional[dict] = None  # --plot: x, autograd's f⁽ᴺ⁾ and D on the grid
    chart: object = field(default=None, repr=False, compare=False)

    command = "verify"

    @property
    def right(self) -> bool:
        """D is right everywhere checked: compared somewhere, wrong nowhere,
        autograd's own derivative confirmed, and SymPy did not disprove it."""
        return (
            self.compared > 0 and self.wrong_count == 0 and self.derivative.agree is not False
            and self.proof != "disproved"
        )

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.right else EXIT_CHECK_FAILED

    def to_json(self) -> dict:
        return {
            "command": self.command,
            "expression": self.expression,
            "claimed": self.claimed,
            "variable": self.variable,
            "order": self.order,
            "at": {name: json_number(value) for name, value in self.at.items()},
            "points": self.points,
            "compared": self.compared,
            "wrong_count": self.wrong_count,
            "max_error": json_number(self.max_error),
            "max_error_at": None if self.max_error_at is None else {
                name: json_number(value) for name, value in self.max_error_at.items()
            },
            "wrong": [point.to_json() for point in self.wrong],
            "symbolic": self.symbolic,
            "proof": self.proof,
            "difference": self.difference,
            "autograd_agree": self.derivative.agree,
            "checked_by": self.derivative.checked_by,
            "right": self.right,
            **({"plot": {key: json_number(values) for key, values in self.curves.items()}}
               if self.curves is not None else {}),
            "warnings": list(self.warnings),
        }


def verify(
    expression: str,
    derivative: str,
    *,
    wrt: Optional[str] = None,
    over: Optional[str] = None,
    at=None,
    order: int = 1,
    points: int = DEFAULT_POINTS,
    plot: bool = False,
    **options,
) -> VerifyResult:
    """Check the claimed `order`-th derivative `derivative` of `expression`
    with respect to `wrt`, over the range `over` ("x=-5:5", `points` points;
    the default) or at the point `at` (which may be a vector or a grid).

    Options: as for `api.grad` (dtype, symbolic, symbolic_timeout, exact,
    rtol, atol, limits, device, define).
    """
    from autodiff.language.notation import machine
    from autodiff.language.parsing import parse_expression

    limits = as_limits(options.get("limits"))
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise UsageError(f"--order must be a whole number >= 1, not {order!r}")
    if points < 2:
        raise UsageError(f"--points must be at least 2, not {points}")
    define = options.pop("define", None)
    if define:
        options["scope"] = scope_of(define, limits)
    if order > 1 and options.get("budget") is None:
        from autodiff.engine.calculus import Budget

        # One count of graph nodes for the command: the range's derivative and each wrong point's exact value.
        options["budget"] = Budget(limits.max_graph_nodes, limits.max_autograd_seconds)
    settings = Options(**options)
    check_order(order, settings.limits)
    parsed = parse(expression, settings)
    f = parsed.exprs[0]
    claimed = parse_expression(derivative, limits, scope=settings.scope)
    one = parsed.variables if len(parsed.variables) == 1 else None  # `--at 3` names f's one variable
    given = as_point(at, "--at", limits, one, settings.scope) or Point()
    variable = _variable(f, claimed, wrt, set(given.values))
    point = _point(variable, over, given, points, limits, settings.scope)
    problem = parsed.at(point, [variable], None, settings).problem
    warnings: list[str] = []
    autograd = _derivative(problem, variable, order, warnings)
    values = _claimed_values(claimed, point, variable)
    curves, chart = None, None
    verdict = _compare(autograd, values, point, variable, problem.tolerance)
    wrong = [_exact_at(parsed, listed, variable, order, settings) for listed in verdict.pop("listed")]
    proof, difference, symbolic = _proof(f, claimed, variable, order, settings)
    if plot:
        curves, chart = _plot(parsed.text, autograd, values, point, variable, order, [f, claimed])
    if verdict["compared"] == 0:
        warnings.append("no point was compared: the derivative does not exist (or is not finite) anywhere checked")
    return VerifyResult(
        expression=parsed.text, claimed=machine(claimed), variable=variable, order=order,
        at=dict(point.values), points=point.size or 1, wrong=wrong, derivative=autograd,
        symbolic=symbolic, proof=proof, difference=difference, warnings=warnings, curves=curves, chart=chart,
        **verdict,
    )


def _derivative(problem, variable: str, order: int, warnings: list) -> DerivativeResult:
    """autograd's f⁽ᴺ⁾ at the problem's point, judged by the witnesses (the derivative core)."""
    _, results, _ = problem.derivatives({variable: [variable] * order}, warnings)
    return results[variable]


def _variable(f, claimed, wrt: Optional[str], given: set) -> str:
    """--wrt, else f's one variable, else the one variable of f that --at leaves without a value."""
    names = sorted({symbol.name for symbol in f.free_symbols})
    if wrt:
        return wrt
    if len(names) == 1:
        return names[0]
    free = [name for name in names if name not in given]
    if len(free) == 1:
        return free[0]
    if not names:
        others = sorted({symbol.name for symbol in claimed.free_symbols})
        if len(others) == 1:
            return others[0]
        raise UsageError("f has no variable: give the one to differentiate by with --wrt")
    raise UsageError(f"f has several variables ({', '.join(names)}): say which the derivative is by, with --wrt")


def _point(variable: str, over: Optional[str], given, points: int, limits, scope):
    """The point checked: the variable over a grid (--range, default -5:5)
    or its values in --at (`given`; a bare value names f's one variable);
    the other variables from --at."""
    from autodiff.engine.values import parse_range
    from autodiff.points import grid

    if variable in given.values:
        if over is not None:
            raise UsageError(f"--range and --at both give {variable}: choose one")
        return given
    if given.size is not None:
        raise PointError(f"--at gives a vector for another variable; {variable} takes its values from --range")
    if over is not None:
        name, start, stop = parse_range(over, "--range", limits, scope)
        if name and name != variable:
            raise UsageError(f"--range names {name}, but the derivative is by {variable}")
    else:
        start, stop = DEFAULT_RANGE
    if points > limits.max_points:
        raise LimitError(f"--points {points} is more than the limit of {limits.max_points} ({raise_hint('points', points)})")
    return Point({variable: grid(start, stop, points), **given.values})


def _claimed_values(claimed, point, variable: str):
    """D at every element of the point, float64."""
    import torch

    from autodiff.engine.calculus import make_leaves
    from autodiff.engine.lowering import compile_expression

    names = [name for name in point.values]
    leaves = make_leaves(point, names, torch.float64, requires_grad=False)
    missing = sorted({symbol.name for symbol in claimed.free_symbols} - set(names))
    if missing:
        raise PointError(f"the claimed derivative uses {', '.join(missing)}, which has no value: add --at")
    with torch.no_grad():
        values = compile_expression(claimed)(leaves, torch.float64)
    shape = torch.Size(() if point.size is None else (point.size,))
    return values.expand(shape).reshape(-1)


def _compare(autograd: DerivativeResult, claimed, point, variable: str, tolerance) -> dict:
    import torch

    from autodiff.results import as_tensor

    values = as_tensor(autograd.autograd, torch.float64).reshape(-1)
    exists = autograd.differentiable
    if isinstance(exists, bool) or exists is None:
        exists = torch.full_like(values, exists is not False, dtype=torch.bool)
    else:
        exists = as_tensor(exists, torch.bool).reshape(-1)
    compared = exists & torch.isfinite(values)
    close = tolerance.close(claimed, values) | (claimed == values)
    wrong = compared & ~close
    # Where nothing was compared the error is -1, below any real one: the largest is always at a compared point.
    errors = torch.where(compared, (claimed - values).abs(), torch.full_like(values, -1.0))
    errors = torch.where(compared & torch.isnan(claimed), torch.full_like(values, math.inf), errors)
    count = int(compared.sum())
    max_error, max_at = None, None
    if count:
        index = int(torch.argmax(errors))
        max_error, max_at = float(errors[index]), _element(point, index)
    listed = [
        (_element(point, index), float(claimed[index]), float(values[index]))
        for index in torch.nonzero(wrong).reshape(-1)[:MAX_LISTED].tolist()
    ]
    return {"compared": count, "wrong_count": int(wrong.sum()), "max_error": max_error, "max_error_at": max_at,
            "listed": listed}


def _element(point, index: int) -> dict:
    from autodiff.points import is_vector

    return {name: (value[index] if is_vector(value) else value) for name, value in point.values.items()}


def _exact_at(parsed, listed, variable: str, order: int, settings) -> WrongPoint:
    """A wrong point with the exact value of f⁽ᴺ⁾ there (the derivative core at that point)."""
    from autodiff.errors import AutodiffError

    at, claimed, autograd = listed
    exact = None
    try:
        single = parsed.at({name: repr(value) for name, value in at.items()}, [variable], None,
                           replace(settings, symbolic_timeout=min(settings.symbolic_timeout, 2.0)))
        exact = _derivative(single.problem, variable, order, []).exact
    except AutodiffError:
        pass
    return WrongPoint(at, claimed, autograd, exact if isinstance(exact, str) else None)


def _proof(f, claimed, variable: str, order: int, settings) -> tuple[str, Optional[str], Optional[str]]:
    """SymPy on D − f⁽ᴺ⁾: (verdict, the simplified difference, f⁽ᴺ⁾)."""
    if not settings.symbolic:
        return "off", None, None
    import sympy

    from autodiff.language.notation import machine
    from autodiff.deadline import SymbolicTimeout, with_deadline
    from autodiff.engine.symbolic import symbolic_derivative

    outcome: dict = {}

    def work():
        outcome["derivative"] = symbolic_derivative(f, [variable] * order)
        outcome["symbolic"] = machine(outcome["derivative"])
        difference = sympy.simplify(claimed - outcome["derivative"])
        outcome["difference"] = machine(difference)
        if difference == 0:
            return "proved"
        if difference.is_number and difference.is_comparable and difference != 0:
            return "disproved"
        return "not proved"

    try:
        verdict = with_deadline(work, settings.symbolic_timeout)
    except SymbolicTimeout:
        verdict = "timeout"
    except (ArithmeticError, ValueError, TypeError, AttributeError, RecursionError):
        verdict = "not proved"
    return verdict, outcome.get("difference"), outcome.get("symbolic")


def _plot(expression: str, autograd, claimed, point, variable: str, order: int, trees: list):
    """f⁽ᴺ⁾ from autograd beside D over the grid (a vector or grid point only);
    the lines break where a switch of f or D (`trees`) changes branch."""
    import torch

    from autodiff.points import is_vector
    from autodiff.results import PlotReport, as_tensor
    from autodiff.witnesses.kinks import branch_changes

    xs = point.values[variable]
    if not is_vector(xs) or len(xs) < 2:
        raise UsageError("--plot needs a range of the variable: --range x=a:b (not one point)")
    xs = list(xs)
    ys = as_tensor(autograd.autograd, torch.float64).reshape(-1).tolist()
    ds = claimed.tolist()
    values = {name: torch.as_tensor(value, dtype=torch.float64) for name, value in point.values.items() if name != variable}
    values[variable] = torch.tensor(xs, dtype=torch.float64)
    report = PlotReport(expression=expression, variable=variable, start=min(xs), stop=max(xs), at={}, x=xs,
                        f=ys, curves=[{"label": "D", "autograd": ds, "agree": None}], warnings=[],
                        switches=branch_changes(trees, values, len(xs)))
    report.legend = [f"f{prime(order)} (autograd)", "D (claimed)"]
    return {"x": xs, "autograd": ys, "claimed": ds}, report
