"""`autodiff minimize`: gradient descent and torch.optim's optimisers side by
side from one start, beside the critical points SymPy finds.

The expression is prepared as every command's is (autodiff.commands.prepare);
each optimiser then runs the one loop of autodiff.commands.optimizers, its
final point is classified by the Hessian's curvature, and the real solutions
of ∇f = 0 are listed beside the runs (autodiff.commands.critical_points).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Optional

from autodiff.commands.critical_points import (  # noqa: F401  (MAX_CRITICAL_POINTS: minimize's own limit)
    MAX_CRITICAL_POINTS,
    CriticalPoint,
    classify,
    find_critical_points,
    mark_reached,
)
from autodiff.commands.optimizers import OPTIMIZERS, Run, run as run_optimizer
from autodiff.commands.prepare import Options, as_point, prepare
from autodiff.errors import EXIT_CHECK_FAILED, EXIT_OK, LimitError, PointError, UsageError
from autodiff.language.scope import EMPTY, Scope
from autodiff.limits import as_limits
from autodiff.points import natural_order
from autodiff.results import json_number

ALL = "all"  # --optimizer all: every one of them
DEFAULT_OPTIMIZERS = ("gd",)
DEFAULT_STEPS = 1000
DEFAULT_TOL = 1e-8
MAX_STEPS = 1_000_000
# --expect on the final point: an optimiser locates a minimum to about
# tol / curvature, far less closely than a derivative is computed.


@dataclass
class MinimizeResult:
    """`autodiff minimize`: every optimiser's run and the symbolic critical points."""

    expression: str
    variables: list[str]
    start: dict
    maximize: bool
    steps: int
    tol: float
    runs: list[Run] = field(default_factory=list)
    critical_points: list[CriticalPoint] = field(default_factory=list)
    # "solved" (every real critical point is listed; none when there is none), "partial" (those found,
    # maybe not all), "timeout", "failed", or "off" (--no-symbolic)
    symbolic_status: str = "off"
    symbolic_message: Optional[str] = None
    symbolic_method: Optional[str] = None  # "groebner", "solveset", "solve" or "constant" (autodiff.engine.critical)
    expected: Optional[dict] = None
    warnings: list[str] = field(default_factory=list)
    dtype: str = "float64"
    program: object = field(default=None, repr=False, compare=False)  # f compiled (for --output's picture)
    output: Optional[str] = None  # the figure written (--output)

    command = "minimize"

    @property
    def converged(self) -> bool:
        return all(run.status == "converged" for run in self.runs)

    @property
    def expect_met(self) -> Optional[bool]:
        verdicts = [run.expect_met for run in self.runs if run.expect_met is not None]
        return all(verdicts) if verdicts else None

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.converged and self.expect_met is not False else EXIT_CHECK_FAILED

    def derivatives(self) -> list:  # `check` asks every report for its derivatives: none here
        return []

    def __getstate__(self) -> dict:
        # The compiled program holds local functions, which cannot be pickled
        # (`check --jobs N` sends each report back from a worker process):
        # it travels as None, so a result from another process draws no --output.
        state = dict(self.__dict__)
        state["program"] = None
        return state

    def trace(self) -> list[dict]:
        return [step for run in self.runs for step in run.trace(self.variables)]

    def to_json(self) -> dict:
        result = {
            "command": self.command,
            "expression": self.expression,
            "variables": list(self.variables),
            "from": {name: json_number(v) for name, v in self.start.items()},
            "goal": "maximum" if self.maximize else "minimum",
            "steps": self.steps,
            "tol": self.tol,
            "dtype": self.dtype,
            "optimizers": [run.to_json() for run in self.runs],
            "critical_points": {
                "status": self.symbolic_status,
                "message": self.symbolic_message,
                "method": self.symbolic_method,
                "points": [point.to_json() for point in self.critical_points],
            },
            "converged": self.converged,
            "output": self.output,
            "warnings": list(self.warnings),
        }
        if self.expected is not None:
            result["expected"] = {name: json_number(v) for name, v in self.expected.items()}
            result["expect_met"] = self.expect_met
        return result


# --- options ------------------------------------------------------------------


def parse_optimizers(values) -> list[str]:
    """`gd`, `adam,lbfgs`, ["adam", "lbfgs"], or `all`: the optimisers, in the order given, once each."""
    if values is None:
        return list(DEFAULT_OPTIMIZERS)
    texts = [values] if isinstance(values, str) else list(values)
    names = [name.strip().lower() for text in texts for name in str(text).split(",") if name.strip()]
    if not names:
        raise UsageError(f"--optimizer needs a name: {', '.join(OPTIMIZERS)} or {ALL}")
    chosen: list[str] = []
    for name in names:
        if name == ALL:
            chosen += [n for n in OPTIMIZERS if n not in chosen]
            continue
        if name not in OPTIMIZERS:
            close = difflib.get_close_matches(name, list(OPTIMIZERS) + [ALL], n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise UsageError(f"unknown optimizer {name!r}{hint} (known: {', '.join(OPTIMIZERS)}, or {ALL})")
        if name not in chosen:
            chosen.append(name)
    return chosen


def _check_settings(lr, steps, tol) -> None:
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf):
        raise UsageError(f"--lr must be a number > 0, not {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise UsageError(f"--steps must be a whole number >= 1, not {steps!r}")
    if steps > MAX_STEPS:
        raise LimitError(f"--steps {steps} is more than the limit of {MAX_STEPS}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < math.inf:
        raise UsageError(f"--tol must be a number >= 0, not {tol!r}")


# --- the run ------------------------------------------------------------------


def minimize(
    expression: str,
    start=None,
    *,
    optimizer=None,
    lr: Optional[float] = None,
    steps: int = DEFAULT_STEPS,
    tol: float = DEFAULT_TOL,
    maximize: bool = False,
    expect=None,
    record: bool = False,
    dtype: str = "float64",
    symbolic: bool = True,
    symbolic_timeout: float = 5.0,
    rtol: Optional[float] = None,
    atol: Optional[float] = None,
    limits=None,
    scope: Scope = EMPTY,
) -> MinimizeResult:
    """Run each of `optimizer` (a name, "adam,lbfgs", a list, or "all";
    default gd) from `start` (`{"x": 3}`, "x=3,y=1") for at most `steps`
    steps, until the gradient's norm is at most `tol`; `maximize` climbs
    instead. `lr`: every optimiser's learning rate (default: each one's own,
    OPTIMIZERS). `expect`: the final point every optimiser must reach
    (within `rtol`/`atol`, default 1e-6 each). `record`: keep every step
    (`Run.history`, `MinimizeResult.trace()`). `scope`: the user's
    definitions (api.minimize's define=).
    """
    limits = as_limits(limits)
    names_chosen = parse_optimizers(optimizer)
    _check_settings(lr, steps, tol)
    settings = Options(dtype=dtype, symbolic_timeout=symbolic_timeout, rtol=rtol, atol=atol, limits=limits, scope=scope)
    prepared = prepare(expression, None, None, None, settings)
    variables = prepared.variables
    if not variables:
        raise UsageError("minimize needs an expression with a variable; this one is a constant")
    if start is None:
        raise UsageError(f"minimize needs a start: add --from {','.join(f'{v}=…' for v in variables)}")
    point = as_point(start, "--from", limits, variables if len(variables) == 1 else None, scope)
    missing = [name for name in variables if name not in point.values]
    if missing:
        raise PointError(f"no start for {', '.join(missing)}; add --from {','.join(f'{v}=…' for v in missing)}")
    if point.size is not None:
        raise PointError("--from is one point: give each variable one value, not a vector or a grid")
    names = natural_order(point.values)
    expected = _expected(expect, names, limits, scope)

    import torch

    from autodiff.witnesses.checks import Tolerance

    problem = prepared.problem
    program = problem.program()
    torch_dtype = getattr(torch, dtype)
    first = [float(point.values[name]) for name in names]
    result = MinimizeResult(
        expression=prepared.text, variables=variables, start=dict(zip(names, first)), maximize=maximize, steps=steps,
        tol=tol, expected=None if expected is None else dict(expected), dtype=dtype, program=program,
    )
    sign = -1.0 if maximize else 1.0
    for name in names_chosen:
        step_size = float(lr) if lr is not None else OPTIMIZERS[name][1]
        run = run_optimizer(
            name, step_size, program, names, first, steps, tol, sign, torch_dtype, record,
            limits.max_graph_nodes, limits.max_autograd_seconds,
        )
        classify(run, program, names, torch_dtype, problem.tolerance, tol)
        result.runs.append(run)
    if symbolic:
        find_critical_points(result, problem.expr, names, program, torch_dtype, problem.tolerance, symbolic_timeout)
    mark_reached(result, names)
    if expected is not None:
        expect_tolerance = Tolerance.for_expectations(rtol, atol)
        for run in result.runs:
            run.expect_met = all(expect_tolerance.close_float(run.point[n], v) for n, v in expected.items())
    _warn(result)
    return result


def _expected(expect, names: list[str], limits, scope) -> Optional[dict]:
    if expect is None:
        return None
    point = as_point(expect, "--expect", limits, names, scope)
    unknown = [name for name in point.values if name not in names]
    if unknown:
        raise UsageError(f"--expect names {unknown[0]}, which is not a variable of the start ({', '.join(names)})")
    if point.size is not None:
        raise PointError("--expect is one point: give each variable one value")
    return {name: float(value) for name, value in point.values.items()}


def _warn(result: MinimizeResult) -> None:
    goal = "local maximum" if result.maximize else "local minimum"
    for kind in ("saddle point", "local maximum", "local minimum"):
        names = [run.optimizer for run in result.runs if run.status == "converged" and run.kind == kind != goal]
        if names:
            result.warnings.append(f"{', '.join(names)} converged to a {kind}, not a {goal}")
