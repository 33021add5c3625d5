"""`autodiff minimize`: gradient descent and torch.optim's optimisers side by
side from one start, beside the critical points SymPy finds.

Every optimiser runs in one loop (the contract of torch.optim: a `step()`,
with a closure for LBFGS): evaluate f and its gradient by autograd, record
the step, stop when the gradient's norm is within the tolerance (converged),
when the run blows up (diverged) or when the steps run out (stalled). `gd`
is the tutorial's loop written by hand (`x.data -= lr * x.grad`), `newton`
steps with autograd's Hessian. The final point is classified by the
Hessian's curvature (autodiff.engine.curvature). Beside the runs, the critical
points: every real solution of ∇f = 0 where ∇f is polynomial (a Gröbner
basis and exact real roots, autodiff.engine.critical), what SymPy's solve finds
otherwise, each classified by the Hessian there, under the symbolic deadline.
"""

from __future__ import annotations

import difflib
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from autodiff.errors import EXIT_CHECK_FAILED, EXIT_OK, LimitError, PointError, UsageError
from autodiff.results import json_number, number_text

# name: (what it is, its default learning rate)
OPTIMIZERS = {
    "gd": ("gradient descent written by hand: x.data -= lr * x.grad", 0.01),
    "sgd": ("torch.optim.SGD", 0.01),
    "momentum": ("torch.optim.SGD, momentum 0.9", 0.01),
    "nesterov": ("torch.optim.SGD, Nesterov momentum 0.9", 0.01),
    "adam": ("torch.optim.Adam", 0.01),
    "adamw": ("torch.optim.AdamW (weight decay 0.01)", 0.01),
    "rmsprop": ("torch.optim.RMSprop", 0.01),
    "adagrad": ("torch.optim.Adagrad", 0.01),
    "lbfgs": ("torch.optim.LBFGS, one iteration a step, strong Wolfe line search", 1.0),
    "newton": ("Newton's method: x -= lr * H⁻¹∇f, with autograd's Hessian", 1.0),
}
ALL = "all"  # --optimizer all: every one of them
DEFAULT_OPTIMIZERS = ("gd",)
DEFAULT_STEPS = 1000
DEFAULT_TOL = 1e-8
MAX_STEPS = 1_000_000
# --expect on the final point: an optimiser locates a minimum to about
# tol / curvature, far less closely than a derivative is computed.
EXPECT_RTOL, EXPECT_ATOL = 1e-6, 1e-6
# Divergence: f grew this many times its start's size (1 + |f₀|), or the
# point ran this many times its start's size away with a growing gradient.
GROWTH = 1e6
RUNAWAY = 1e6
REACHED = 1e-4  # a final point this near a critical point (relative to 1 + its size) reached it
MAX_CRITICAL_POINTS = 20

_clock = time.perf_counter  # the wall time of each run (the tests pin it)
_budget_clock = time.perf_counter  # the wall-clock timeout of a run (--limit autograd-seconds, off unless set)


@dataclass
class Run:
    """One optimiser's run from the start."""

    optimizer: str
    lr: float
    status: str = "stalled"  # "converged", "stalled" or "diverged"
    message: str = ""
    steps: int = 0  # steps taken
    evaluations: int = 0  # evaluations of f and its gradient
    seconds: float = 0.0
    point: dict = field(default_factory=dict)
    value: float = math.nan  # f at the final point
    gradient: dict = field(default_factory=dict)  # ∇f there (of f, also with --maximize)
    gradient_norm: float = math.nan
    kind: Optional[str] = None  # local minimum, local maximum, saddle point, inconclusive, degenerate, not a critical point
    eigenvalues: Optional[list] = None  # of the Hessian at the final point
    critical_point: Optional[int] = None  # the index of the symbolic critical point it reached
    expect_met: Optional[bool] = None
    history: Optional[list] = None  # (point, f, gradient, norm) at every step, when recorded

    @property
    def steps_to_tolerance(self) -> Optional[int]:
        return self.steps if self.status == "converged" else None

    def trace(self, names: list[str]) -> list[dict]:
        """A JSON object per step (step 0 is the start)."""
        return [
            {
                "optimizer": self.optimizer, "step": step, "point": _named(names, point), "value": json_number(f),
                "gradient": _named(names, gradient), "gradient_norm": json_number(norm),
            }
            for step, (point, f, gradient, norm) in enumerate(self.history or [])
        ]

    def to_json(self) -> dict:
        result = {
            "optimizer": self.optimizer,
            "lr": self.lr,
            "status": self.status,
            "message": self.message,
            "point": {name: json_number(v) for name, v in self.point.items()},
            "value": json_number(self.value),
            "gradient": {name: json_number(v) for name, v in self.gradient.items()},
            "gradient_norm": json_number(self.gradient_norm),
            "steps": self.steps,
            "steps_to_tolerance": self.steps_to_tolerance,
            "evaluations": self.evaluations,
            "seconds": round(self.seconds, 6),
            "kind": self.kind,
            "eigenvalues": json_number(self.eigenvalues),
            "critical_point": self.critical_point,
        }
        if self.expect_met is not None:
            result["expect_met"] = self.expect_met
        return result


@dataclass
class CriticalPoint:
    """A real solution of ∇f = 0 (autodiff.engine.critical), classified by the Hessian there."""

    # name → the exact value, machine form ("-3/4", "sqrt(2)"), where it is short (else None);
    # for a family, an expression in the other variables ("-y").
    exact: dict
    values: dict  # name → float (empty for a family)
    value: Optional[float] = None  # f there
    value_exact: Optional[str] = None  # f's exact value there, where short
    kind: Optional[str] = None  # local minimum, local maximum, saddle point, degenerate
    eigenvalues: Optional[list] = None
    reached_by: list = field(default_factory=list)
    decimals: dict = field(default_factory=dict)  # name → 30 significant digits

    @property
    def family(self) -> bool:
        return not self.values

    def shown(self, name: str) -> str:
        """The coordinate as the verdict and JSON's "point" give it: exact where short, else 10 digits."""
        exact = self.exact.get(name)
        return exact if exact is not None or self.family else _ten(self.values[name])

    def to_json(self) -> dict:
        return {
            "point": {name: self.shown(name) for name in self.exact},
            "values": {name: json_number(v) for name, v in self.values.items()},
            "exact": dict(self.exact),
            "decimals": dict(self.decimals),
            "value": json_number(self.value),
            "value_exact": self.value_exact,
            "family": self.family,
            "kind": self.kind,
            "eigenvalues": json_number(self.eigenvalues),
            "reached_by": list(self.reached_by),
        }


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


def _named(names: list[str], values: list) -> dict:
    return {name: json_number(value) for name, value in zip(names, values)}


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
) -> MinimizeResult:
    """Run each of `optimizer` (a name, "adam,lbfgs", a list, or "all";
    default gd) from `start` (`{"x": 3}`, "x=3,y=1") for at most `steps`
    steps, until the gradient's norm is at most `tol`; `maximize` climbs
    instead. `lr`: every optimiser's learning rate (default: each one's own,
    OPTIMIZERS). `expect`: the final point every optimiser must reach
    (within `rtol`/`atol`, default 1e-6 each). `record`: keep every step
    (`Run.history`, `MinimizeResult.trace()`).
    """
    from autodiff.commands import api
    from autodiff.limits import as_limits
    from autodiff.language.parsing import parse_expression, sympy_work
    from autodiff.points import natural_order

    limits = as_limits(limits)
    names_chosen = parse_optimizers(optimizer)
    _check_settings(lr, steps, tol)
    if dtype not in api.DTYPES:
        raise UsageError(f"--dtype must be one of {', '.join(api.DTYPES)}, not {dtype!r}")
    expr = parse_expression(expression, limits)
    text = sympy_work(lambda: api._printed(expr), expression, limits)
    variables = natural_order(symbol.name for symbol in expr.free_symbols)
    if not variables:
        raise UsageError("minimize needs an expression with a variable; this one is a constant")
    if start is None:
        raise UsageError(f"minimize needs a start: add --from {','.join(f'{v}=…' for v in variables)}")
    point = api.as_point(start, "--from", limits, variables if len(variables) == 1 else None)
    missing = [name for name in variables if name not in point.values]
    if missing:
        raise PointError(f"no start for {', '.join(missing)}; add --from {','.join(f'{v}=…' for v in missing)}")
    if point.size is not None:
        raise PointError("--from is one point: give each variable one value, not a vector or a grid")
    names = natural_order(point.values)
    expected = _expected(expect, names, limits)

    import torch

    from autodiff.witnesses.checks import Tolerance
    from autodiff.engine.lowering import compile_expression

    program = compile_expression(expr)
    torch_dtype = getattr(torch, dtype)
    first = [float(point.values[name]) for name in names]
    result = MinimizeResult(
        expression=text, variables=variables, start=dict(zip(names, first)), maximize=maximize, steps=steps, tol=tol,
        expected=None if expected is None else dict(expected), dtype=dtype, program=program,
    )
    curvature_tolerance = Tolerance.for_dtype(dtype, rtol, atol)
    sign = -1.0 if maximize else 1.0
    for name in names_chosen:
        step_size = float(lr) if lr is not None else OPTIMIZERS[name][1]
        run = _run(
            name, step_size, program, names, first, steps, tol, sign, torch_dtype, record,
            limits.max_graph_nodes, limits.max_autograd_seconds,
        )
        _classify(run, program, names, torch_dtype, curvature_tolerance, tol)
        result.runs.append(run)
    if symbolic:
        _critical_points(result, expr, names, program, torch_dtype, curvature_tolerance, symbolic_timeout)
    _reached(result, names)
    if expected is not None:
        expect_tolerance = Tolerance(EXPECT_RTOL if rtol is None else rtol, EXPECT_ATOL if atol is None else atol)
        for run in result.runs:
            run.expect_met = all(expect_tolerance.close_float(run.point[n], v) for n, v in expected.items())
    _warn(result)
    return result


def _expected(expect, names: list[str], limits) -> Optional[dict]:
    from autodiff.commands import api

    if expect is None:
        return None
    point = api.as_point(expect, "--expect", limits, names)
    unknown = [name for name in point.values if name not in names]
    if unknown:
        raise UsageError(f"--expect names {unknown[0]}, which is not a variable of the start ({', '.join(names)})")
    if point.size is not None:
        raise PointError("--expect is one point: give each variable one value")
    return {name: float(value) for name, value in point.values.items()}


def _run(name, lr, program, names, start, steps, tol, sign, dtype, record, nodes=None, seconds=None) -> Run:
    """One optimiser from `start`: the loop every optimiser shares.

    Its work is counted (design §16): each evaluation of f and ∇f (one
    forward and one backward pass) costs the nodes its forward pass records,
    and a Newton step's Hessian costs n + 1 times that more (a forward pass
    and one backward pass per variable). A run whose count passes `nodes`
    (the limit graph-nodes) stops, stalled: after the same step, with the
    same message, on every machine. `seconds` (the limit autograd-seconds,
    off when None) is a wall-clock timeout: a run past it stops too, and
    says that a clock stopped it."""
    import torch

    from autodiff.engine.calculus import autograd_counter

    params = torch.tensor(start, dtype=dtype, requires_grad=True)
    run = Run(name, lr, history=[] if record else None)

    def objective(values):
        return sign * program({n: values[i] for i, n in enumerate(names)}, dtype)

    cost = [0, 0]  # graph nodes counted so far; the nodes of f's last forward pass

    def evaluate():
        params.grad = None
        before = autograd_counter()
        value = objective(params)
        run.evaluations += 1
        # The forward pass's last node is its output's: the nodes after the counter's own.
        cost[1] = max(0, value.grad_fn._sequence_nr() - before) if value.grad_fn is not None else 0
        cost[0] += cost[1]
        if value.requires_grad:
            value.backward()
        else:  # f does not depend on the variables (everything detached): a zero gradient
            params.grad = torch.zeros_like(params)
        return value

    step_once = _stepper(name, params, lr, evaluate, objective)
    started = _clock()
    budget_started = _budget_clock()
    reference = None  # (objective, gradient norm, point) at the start
    previous = None  # the gradient one step before
    with _quiet_numerics():
        for step in range(steps + 1):
            value = evaluate()
            f = sign * value.item()
            gradient = (sign * params.grad).tolist()
            norm = params.grad.norm().item()
            here = params.detach().tolist()
            run.steps = step
            run.point, run.value, run.gradient, run.gradient_norm = dict(zip(names, here)), f, dict(zip(names, gradient)), norm
            if record:
                run.history.append((here, f, gradient, norm))
            if reference is None:
                reference = (sign * f, norm, here)
            trouble = _divergence(step, sign * f, norm, here, reference, sign)
            if trouble and step == 0:  # the start itself: no --lr can help
                run.status, run.message = "diverged", _bad_start(sign * f, norm, here, names)
                break
            if trouble:
                run.status, run.message = "diverged", f"{trouble}; try a smaller --lr (e.g. --lr {lr / 10:g})"
                break
            if norm <= tol:
                run.status = "converged"
                run.message = f"‖∇f‖ = {_short(norm)} ≤ {tol:g} after {step} step{'s' if step != 1 else ''}"
                break
            if step == steps:
                run.message = f"‖∇f‖ = {_short(norm)} > {tol:g} after {steps} steps" + _stall_hint(previous, gradient, here, names)
                break
            if nodes is not None and cost[0] > nodes:
                from autodiff.limits import raise_hint

                hessians = f", and {len(names) + 1} times that for each step's Hessian" if name == "newton" else ""
                run.message = (
                    f"stopped after {step} step{'s' if step != 1 else ''}: {run.evaluations:,} evaluations of f and ∇f "
                    f"({cost[1]:,} graph nodes each{hessians}) counted {cost[0]:,} graph nodes, more than the limit of "
                    f"{nodes:,} on one optimiser's run (‖∇f‖ = {_short(norm)} > {tol:g}); fewer --steps, "
                    f"another --lr, or {raise_hint('graph-nodes')}"
                )
                break
            spent = _budget_clock() - budget_started
            if seconds is not None and spent > seconds:
                from autodiff.limits import raise_hint

                run.message = (
                    f"stopped after {step} step{'s' if step != 1 else ''} by the wall-clock timeout of {seconds:g} s "
                    f"on one optimiser's run ({spent:.2g} s; where a timeout stops depends on the machine and its "
                    f"load; ‖∇f‖ = {_short(norm)} > {tol:g}); fewer --steps, another --lr, or "
                    f"{raise_hint('autograd-seconds')}"
                )
                break
            previous = gradient
            before = params.detach().clone()
            try:
                step_once()
                if name == "newton":  # its Hessian: a forward pass and one backward pass per variable
                    cost[0] += (len(names) + 1) * cost[1]
            except (RuntimeError, ValueError) as error:  # a singular or non-finite Hessian, a failed line search
                run.steps = step + 1
                run.status, run.message = "diverged", f"step {step + 1} failed ({str(error).splitlines()[0]})"
                break
            if torch.equal(before, params.detach()):
                run.steps = step + 1
                run.message = (
                    f"step {step + 1} left the point where it was (‖∇f‖ = {_short(norm)} > {tol:g}): "
                    "the optimiser can make no progress here"
                )
                break
    run.seconds = _clock() - started
    return run


def _stepper(name, params, lr, evaluate, objective) -> Callable[[], None]:
    """The step of one optimiser, after `evaluate` has set params.grad."""
    import torch

    if name == "gd":
        def step():
            params.data -= lr * params.grad  # the tutorial's loop, as it is written there

        return step
    if name == "newton":
        def step():
            hessian = torch.autograd.functional.hessian(objective, params.detach())
            if not bool(torch.isfinite(hessian).all()):
                raise ValueError("the Hessian is not finite")
            # Least squares: a singular Hessian (a flat direction) gets the minimum-norm step.
            direction = torch.linalg.lstsq(hessian, params.grad.unsqueeze(1)).solution.squeeze(1)
            params.data -= lr * direction

        return step
    if name == "lbfgs":
        optimizer = torch.optim.LBFGS(
            [params], lr=lr, max_iter=1, max_eval=25, tolerance_grad=0, tolerance_change=0,
            line_search_fn="strong_wolfe",
        )
        return lambda: optimizer.step(evaluate)
    factories = {
        "sgd": lambda: torch.optim.SGD([params], lr=lr),
        "momentum": lambda: torch.optim.SGD([params], lr=lr, momentum=0.9),
        "nesterov": lambda: torch.optim.SGD([params], lr=lr, momentum=0.9, nesterov=True),
        "adam": lambda: torch.optim.Adam([params], lr=lr),
        "adamw": lambda: torch.optim.AdamW([params], lr=lr),
        "rmsprop": lambda: torch.optim.RMSprop([params], lr=lr),
        "adagrad": lambda: torch.optim.Adagrad([params], lr=lr),
    }
    return factories[name]().step


class _quiet_numerics:
    """Overflow on the way to divergence is what the run reports, not a warning."""

    def __enter__(self):
        import warnings

        self._catcher = warnings.catch_warnings()
        self._catcher.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._catcher.__exit__(*exc)


def _stall_hint(previous, gradient, here, names) -> str:
    """What to try when the steps ran out: where the gradient flips back and
    forth at an undiminished size, the steps straddle a kink, or overshoot."""
    if previous is not None:
        dot = sum(a * b for a, b in zip(previous, gradient))
        size, before = math.sqrt(sum(g * g for g in gradient)), math.sqrt(sum(g * g for g in previous))
        if dot < 0 and size >= 0.5 * before:
            where = ", ".join(f"{n} ≈ {_short(v)}" for n, v in zip(names, here))
            return (
                f"; the steps go back and forth across {where} and ‖∇f‖ does not shrink: --lr is too large for "
                "the curvature there, or f has a kink there (not differentiable, so ‖∇f‖ cannot fall); try a smaller --lr"
            )
    return "; more --steps, or another --lr"


def _bad_start(f, norm, here, names) -> str:
    """Why no optimiser can start from `here`: f, its gradient or the point is not finite there."""
    where = ", ".join(f"{n} = {_short(v)}" for n, v in zip(names, here))
    if not all(math.isfinite(v) for v in here):
        return f"cannot start: the start ({where}) is not finite; try another --from"
    if not math.isfinite(f):
        return (
            f"cannot start: f is {number_text(f)} at the start ({where}), which is outside f's domain; "
            "try another --from"
        )
    return (
        f"cannot start: the gradient is {number_text(norm)} at the start ({where}), where f is not "
        "differentiable; try another --from"
    )


def _divergence(step, objective, norm, here, reference, sign) -> Optional[str]:
    """Why the run has diverged at this step, or None."""
    f0, norm0, start = reference
    if not (math.isfinite(objective) and math.isfinite(norm) and all(math.isfinite(v) for v in here)):
        what = "f" if not math.isfinite(objective) else "the gradient" if not math.isfinite(norm) else "the point"
        shown = number_text(sign * objective) if what == "f" else number_text(norm) if what == "the gradient" else "not finite"
        return f"diverged at step {step}: {what} is {shown}"
    if objective - f0 > GROWTH * (1 + abs(f0)):
        verb = "fell" if sign < 0 else "grew"
        return f"diverged at step {step}: f {verb} from {_short(sign * f0)} to {_short(sign * objective)}"
    size0 = math.sqrt(sum(v * v for v in start))
    distance = math.sqrt(sum((a - b) ** 2 for a, b in zip(here, start)))
    if distance > RUNAWAY * (1 + size0) and norm > norm0:
        return (
            f"diverged at step {step}: the point ran away (‖x − x₀‖ = {_short(distance)}) with a growing gradient; "
            f"f may have no {'maximum' if sign < 0 else 'minimum'} that way"
        )
    return None


def _classify(run: Run, program, names, dtype, tolerance, tol) -> None:
    """The final point's kind, from autograd's Hessian of f there (not for a diverged run).
    A stalled run whose gradient is at the floating-point floor for |f| there
    (_float_floor) is classified too, and its message says so."""
    from autodiff.witnesses.checks import Tolerance
    from autodiff.engine.curvature import Curvature

    if run.status == "diverged":
        return
    # The point is only located to about tol: a curvature of the size of
    # √tol may come from a degenerate critical point nearby (x^3 near 0).
    near = Tolerance(tolerance.rtol, max(tolerance.atol, 10 * math.sqrt(tol)))
    eigenvalues, definiteness = _curvature(program, names, [run.point[n] for n in names], dtype, near)
    run.eigenvalues = eigenvalues
    if run.gradient_norm <= tol:
        run.kind = Curvature.KINDS.get(definiteness, "inconclusive")
        return
    floor = _float_floor(run, eigenvalues, dtype) if run.status == "stalled" else None
    if floor is None or not run.gradient_norm <= floor[0] or not _model_holds(run, floor[3], dtype):
        run.kind = "not a critical point"
        return
    run.kind = Curvature.KINDS.get(definiteness, "inconclusive")
    bound, f_floor, spacing, smallest, eps = floor
    kind_name = str(dtype).replace("torch.", "")
    if f_floor >= spacing:
        why = (
            f"for |f| = {_short(abs(run.value))} here, √(2·min|λ|·ε·|f|) = {_norm(f_floor)}: the critical point is "
            f"within {_norm(run.gradient_norm / smallest)} (‖∇f‖/min|λ|), where f differs by less than "
            f"ε·|f| = {_norm(eps * abs(run.value))}, which {kind_name} cannot resolve"
        )
    else:
        why = f"set by the point's own rounding, max|λ|·ε·‖x‖ = {_norm(spacing)}"
    run.message += f"; ‖∇f‖ is at the {kind_name} floor {why}; classified by its Hessian: {run.kind}"


def _float_floor(run: Run, eigenvalues, dtype) -> Optional[tuple]:
    """(floor, f's term, the spacing's term, min|λ|, ε): the smallest gradient
    norm the dtype can be expected to reach at this point, or None.

    Near a critical point x* where the Hessian H is not singular, f is its
    quadratic model: with g = ∇f(x) = H(x − x*), ‖x − x*‖ ≤ ‖g‖/min|λ| and
    |f(x) − f(x*)| = ½|gᵀH⁻¹g| ≤ ‖g‖²/(2·min|λ|). Once that is at most
    ε·|f| (ε the machine epsilon, ε·|f| the spacing of floats at f, and less
    than f's own rounding), no float evaluation of f tells x from x*: a line
    search (LBFGS), or any step that must lower f, can go no further. So
    every ‖g‖ ≤ √(2·min|λ|·ε·|f|) is at f's floor. Apart from f, the point
    itself is rounded: each coordinate within ε·|x_i|, so even the float
    nearest x* can have ‖g‖ up to max|λ|·ε·‖x‖. The floor is the larger of
    the two. A singular or non-finite Hessian has none (None).
    """
    import torch

    eps = torch.finfo(dtype).eps
    magnitudes = [abs(v) for v in eigenvalues or []]
    point = list(run.point.values())
    if not magnitudes or not all(math.isfinite(v) for v in [*magnitudes, run.value, *point]):
        return None
    smallest, largest = min(magnitudes), max(magnitudes)
    if smallest <= largest * 8 * eps or smallest == 0:  # singular to working precision
        return None
    f_floor = math.sqrt(2 * smallest * eps * abs(run.value))
    spacing = largest * eps * math.sqrt(sum(v * v for v in point))
    return max(f_floor, spacing), f_floor, spacing, smallest, eps


def _model_holds(run: Run, smallest: float, dtype) -> bool:
    """Whether the critical point the quadratic model puts at ‖∇f‖/min|λ|
    from the run's point is near enough for the model (and the Hessian's
    signs) to be trusted there: within √ε·max(1, ‖x‖). Farther, a cubic
    term can decide the kind (1e12 + (x-1)^2 + y^3 stalls 0.007 from a
    degenerate critical point whose Hessian here looks positive definite)."""
    import torch

    scale = max(1.0, math.sqrt(sum(v * v for v in run.point.values())))
    return run.gradient_norm / smallest <= math.sqrt(torch.finfo(dtype).eps) * scale


def _curvature(program, names, values, dtype, tolerance):
    """Eigenvalues and definiteness of autograd's Hessian of f at `values`."""
    import torch

    from autodiff.engine.curvature import Curvature

    def f(vector):
        return program({n: vector[i] for i, n in enumerate(names)}, dtype)

    at = torch.tensor(values, dtype=dtype)
    with _quiet_numerics():
        matrix = torch.autograd.functional.hessian(f, at)
    curvature = Curvature(matrix, torch.zeros(len(names), dtype=dtype), tolerance)
    return [float(v) for v in curvature.eigenvalues], curvature.definiteness


# --- the symbolic critical points ---------------------------------------------


def _critical_points(result: MinimizeResult, expr, names, program, dtype, tolerance, timeout) -> None:
    """The real solutions of ∇f = 0 (autodiff.engine.critical) under the symbolic
    deadline, each classified by the Hessian there: in ball arithmetic where
    the deadline leaves time, else by autograd's Hessian at the float point."""
    from autodiff.engine import critical
    from autodiff.deadline import SymbolicTimeout, with_deadline

    started = time.perf_counter()
    try:
        outcome = with_deadline(lambda: critical.solve_gradient(expr, names, result.start), timeout)
    except SymbolicTimeout:
        result.symbolic_status = "timeout"
        result.symbolic_message = f"∇f = 0 was not solved within --symbolic-timeout {timeout:g} s"
        return
    except Exception as error:  # noqa: BLE001 — whatever SymPy or FLINT raise is an honest status, not a traceback
        result.symbolic_status = "failed"
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        result.symbolic_message = f"could not solve ∇f = 0 ({_clip(detail)})"
        return
    result.symbolic_status = "solved" if outcome.complete else "partial"
    result.symbolic_message = outcome.message
    result.symbolic_method = outcome.method
    solutions = outcome.solutions
    if len(solutions) > MAX_CRITICAL_POINTS:
        solutions = _nearest(solutions, result)
        result.warnings.append(
            f"{len(outcome.solutions)} critical points; the {MAX_CRITICAL_POINTS} nearest the start and the final "
            "points are shown"
        )
    for solution in solutions:
        remaining = timeout - (time.perf_counter() - started)
        if not solution.family and remaining > 0:
            try:
                with_deadline(lambda: critical.classify(solution, expr, names), remaining)
            except SymbolicTimeout:
                pass
            except Exception:  # noqa: BLE001 — autograd's Hessian classifies it instead, below
                solution.kind = None
        texts = solution.exact_texts()
        values = {} if solution.family else dict(zip(names, solution.floats))
        point = CriticalPoint(
            texts, values, value=solution.value, value_exact=solution.value_exact, kind=solution.kind,
            eigenvalues=solution.eigenvalues, decimals=dict(zip(names, solution.precise)),
        )
        if values and (point.kind is None or point.value is None):
            _autograd_kind(point, program, names, dtype, tolerance)
        result.critical_points.append(point)


def _autograd_kind(point: CriticalPoint, program, names, dtype, tolerance) -> None:
    """f and the kind at a critical point from autograd, where the exact Hessian could not be had."""
    import torch

    from autodiff.engine.curvature import Curvature

    at = torch.tensor([point.values[n] for n in names], dtype=dtype)
    with _quiet_numerics():
        if point.value is None:
            point.value = float(program({n: at[i] for i, n in enumerate(names)}, dtype))
        if point.kind is None:
            point.eigenvalues, definiteness = _curvature(program, names, [point.values[n] for n in names], dtype, tolerance)
            kind = Curvature.KINDS.get(definiteness, "degenerate")
            point.kind = "degenerate" if kind == "inconclusive" else kind


def _nearest(solutions: list, result: MinimizeResult) -> list:
    """The MAX_CRITICAL_POINTS solutions nearest the start or an optimiser's final point (families first)."""
    names = list(result.start)
    places = [[result.start[n] for n in names]] + [
        [run.point[n] for n in names] for run in result.runs if run.point and run.status != "diverged"
    ]

    def distance(solution) -> float:
        if solution.family:
            return -1.0
        return min(math.dist(solution.floats, place) for place in places)

    kept = sorted(solutions, key=distance)[:MAX_CRITICAL_POINTS]
    return [s for s in solutions if any(s is k for k in kept)]


def _reached(result: MinimizeResult, names) -> None:
    """Which critical point each optimiser's final point is at (the nearest, if near enough)."""
    isolated = [(index, point) for index, point in enumerate(result.critical_points) if not point.family]
    for run in result.runs:
        if run.status == "diverged" or not isolated:
            continue
        here = [run.point[n] for n in names]

        def distance(point):
            return math.sqrt(sum((a - point.values[n]) ** 2 for a, n in zip(here, names)))

        index, nearest = min(isolated, key=lambda item: distance(item[1]))
        size = math.sqrt(sum(v * v for v in nearest.values.values()))
        if distance(nearest) <= REACHED * (1 + size):
            run.critical_point = index
            nearest.reached_by.append(run.optimizer)
            if run.kind != "not a critical point" and nearest.kind is not None:
                run.kind = nearest.kind  # classified where it lies exactly, not a near-by float


def _warn(result: MinimizeResult) -> None:
    goal = "local maximum" if result.maximize else "local minimum"
    for kind in ("saddle point", "local maximum", "local minimum"):
        names = [run.optimizer for run in result.runs if run.status == "converged" and run.kind == kind != goal]
        if names:
            result.warnings.append(f"{', '.join(names)} converged to a {kind}, not a {goal}")


def _short(value: float) -> str:
    """A number of the table: seven significant digits (the point is located to about tol)."""
    if not math.isfinite(value):
        return number_text(value)
    return f"{value:.7g}"


def _norm(value: float) -> str:
    """A gradient's norm: its size is what matters, three digits."""
    return f"{value:.3g}" if math.isfinite(value) else number_text(value)


def _ten(value: float) -> str:
    """A critical point's number: ten significant digits."""
    if not math.isfinite(value):
        return number_text(value)
    return f"{value + 0.0:.10g}"


def _exact_cell(exact: Optional[str], value: Optional[float]) -> str:
    """"-3/4 = -0.75", "pi/2 ≈ 1.570796327", "3", or the number alone where there is no short exact form."""
    from autodiff.language.notation import show

    if value is None:
        return show(exact) if exact is not None else "—"
    number = _ten(value)
    if exact is None or exact == number:
        return number
    return f"{show(exact)} {'=' if _same_decimal(exact, number) else '≈'} {number}"


def _same_decimal(exact: str, number: str) -> bool:
    from fractions import Fraction

    try:
        return Fraction(exact) == Fraction(number)
    except (ValueError, ZeroDivisionError):
        return False


def _clip(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --- the table ----------------------------------------------------------------

MAX_POINT_COLUMNS = 4  # more variables than this: the point in one column


def render_minimize(result: MinimizeResult, console) -> None:
    """The function and start, a row per optimiser, the critical points, and a verdict line per optimiser."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from autodiff.language.notation import show

    arguments = f"({', '.join(result.variables)})"
    console.print(Text(f"f{arguments} = {show(result.expression)}"), soft_wrap=True)
    start = ", ".join(f"{name} = {_short(value)}" for name, value in result.start.items())
    goal = "maximize" if result.maximize else "minimize"
    console.print(
        Text(f"{goal} from {start}: at most {result.steps} steps, until ‖∇f‖ ≤ {result.tol:g}"), soft_wrap=True
    )
    names = list(result.start)
    columns = names if len(names) <= MAX_POINT_COLUMNS else ["point"]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("optimizer", no_wrap=True)
    for header in ["lr", *columns, "f", "‖∇f‖", "steps"]:
        table.add_column(header, justify="right", no_wrap=True)
    for header in ("status", "time"):
        table.add_column(header, no_wrap=True)
    for run in result.runs:
        point = [run.point[n] for n in names]
        cells = [_short(v) for v in point] if columns == names else [_point_cell(point)]
        table.add_row(
            run.optimizer, f"{run.lr:g}", *cells, _short(run.value), _norm(run.gradient_norm), str(run.steps),
            Text(run.status, style=_STATUS_STYLES[run.status]), _duration(run.seconds),
        )
    from rich.measure import Measurement

    if Measurement.get(console, console.options.update(width=10_000), table).maximum <= console.width:
        console.print(table)
    else:  # too narrow for the table: a line per optimiser
        for run in result.runs:
            where = ", ".join(f"{n} = {_short(run.point[n])}" for n in names)
            console.print(Text.assemble(
                f"{run.optimizer} (lr {run.lr:g}): ", (run.status, _STATUS_STYLES[run.status]),
                f", {run.steps} steps, {_duration(run.seconds)}: {where}, f = {_short(run.value)}, "
                f"‖∇f‖ = {_norm(run.gradient_norm)}",
            ), soft_wrap=True)
    _render_critical_points(result, console, names, columns)
    for run in result.runs:
        console.print(_verdict(run, result, names), soft_wrap=True)
    unmet = [run.optimizer for run in result.runs if run.expect_met is False]
    if unmet:
        console.print(Text(f"✗ --expect not met by {', '.join(unmet)}", style="bold red"), soft_wrap=True)
    elif result.expect_met:
        console.print(Text("✓ --expect met", style="green"), soft_wrap=True)


_STATUS_STYLES = {"converged": "green", "stalled": "yellow", "diverged": "bold red"}


def _render_critical_points(result: MinimizeResult, console, names, columns) -> None:
    from rich import box
    from rich.measure import Measurement
    from rich.table import Table
    from rich.text import Text

    from autodiff.language.notation import show

    if result.symbolic_status == "off":
        return
    console.print(Text(f"critical points: {result.symbolic_message}"), soft_wrap=True)
    if not result.critical_points:
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header in [*columns, "f"]:
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("reached by", no_wrap=True)
    rows = []
    for point in result.critical_points:
        if point.family:
            texts = [show(point.exact[n]) for n in names]
            f, kind = "—", "a family of critical points"
        else:
            texts = [_exact_cell(point.exact.get(n), point.values[n]) for n in names]
            f, kind = _exact_cell(point.value_exact, point.value), point.kind or "—"
        rows.append((texts, f, kind, ", ".join(point.reached_by) or "—"))
        cells = texts if columns == names else ["(" + ", ".join(texts) + ")"]
        table.add_row(*cells, f, kind, rows[-1][3])
    if Measurement.get(console, console.options.update(width=10_000), table).maximum <= console.width:
        console.print(table)
        return
    for texts, f, kind, reached in rows:  # too narrow for the table: a line per point, every number whole
        where = ", ".join(f"{n} = {t}" for n, t in zip(names, texts))
        console.print(Text(f"{where}: f = {f}, {kind}, reached by {reached}"), soft_wrap=True)


def _verdict(run: Run, result: MinimizeResult, names):
    from rich.text import Text

    from autodiff.language.notation import show

    if run.status == "converged":
        where = ", ".join(f"{n} = {_short(run.point[n])}" for n in names)
        text = f"✓ {run.optimizer} converged in {run.steps} step{'s' if run.steps != 1 else ''} to {where}: "
        if run.critical_point is not None:
            point = result.critical_points[run.critical_point]
            where = ", ".join(f"{n} = {show(point.shown(n))}" for n in names)
            if run.kind == "inconclusive":
                text += f"the critical point {where} (the Hessian is inconclusive)"
            elif run.kind == "degenerate":
                text += f"the critical point {where} (degenerate: the Hessian is singular there)"
            else:
                text += f"the {run.kind} {where}"
        else:
            text += f"a {run.kind}" if run.kind != "inconclusive" else "a critical point (the Hessian is inconclusive)"
        return Text(text, style="green")
    if run.status == "diverged":
        return Text(f"✗ {run.optimizer} {run.message}", style="bold red")
    near = ""
    if run.critical_point is not None:
        point = result.critical_points[run.critical_point]
        label = {None: "critical point", "degenerate": "degenerate critical point"}.get(point.kind, point.kind)
        near = f" (near the {label} " + ", ".join(f"{n} = {show(point.shown(n))}" for n in names) + ")"
    return Text(f"✗ {run.optimizer} stalled{near}: {run.message}", style="yellow")


def _point_cell(values: list) -> str:
    shown = [_short(v) for v in values[:MAX_POINT_COLUMNS]]
    return "(" + ", ".join(shown) + (", …" if len(values) > MAX_POINT_COLUMNS else "") + ")"


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


# --- pictures -----------------------------------------------------------------

PLOT_COLORS = ("blue", "red", "green", "magenta", "cyan", "yellow", "orange", "gray", "white", "black")
FILE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf")
_MARKERS = ("•", "×", "+", "o", "*", "#", "%", "@", "x", "=")


def terminal_chart(result: MinimizeResult, width: int, height: int, color: bool) -> str:
    """f against the step, one curve per optimiser (plotext), y over the bulk of the values."""
    import plotext as plt

    from autodiff.presentation.plotting import _ANSI, axis_ticks, clipped_runs

    curves = [(run.optimizer, [f for _, f, _, _ in run.history or []]) for run in result.runs]
    low, high = steps_window(result)
    plt.clear_figure()
    try:
        plt.limitsize(False, False)
        plt.plotsize(width, height)
        plt.theme("pro" if color else "clear")
        longest = max((len(values) for _, values in curves), default=1)
        plt.xlim(0, max(1, longest - 1))
        plt.ylim(low, high)
        for index, (name, values) in enumerate(curves):
            marker = "braille" if color else _MARKERS[index % len(_MARKERS)]
            first = True
            for xs, ys in clipped_runs(list(range(len(values))), values, low, high):
                plt.plot(xs, ys, color=PLOT_COLORS[index % len(PLOT_COLORS)], marker=marker,
                         label=name if first else None)
                first = False
        rows = height - 5
        plt.yticks(*axis_ticks(low, high, rows // 3, lambda labels: 2 * len(labels) - 1 <= rows))
        last = max(1, longest - 1)
        plt.xticks(sorted({round(last * k / 4) for k in range(5)}))
        plt.title(f"f against the step ({'maximize' if result.maximize else 'minimize'})")
        plt.xlabel("step")
        chart = plt.build()
    except (ArithmeticError, ValueError, IndexError) as error:
        raise UsageError(
            f"the terminal chart cannot be drawn for these values ({type(error).__name__}); use --json or --trace"
        ) from None
    finally:
        plt.clear_figure()
    return chart if color else _ANSI.sub("", chart)


def steps_window(result: MinimizeResult) -> tuple[float, float]:
    """The f range of the step charts: every value of the runs that did not
    diverge, and the start; a diverged run is drawn until it leaves it."""
    values = [f for run in result.runs for step, (_, f, _, _) in enumerate(run.history or [])
              if (step == 0 or run.status != "diverged") and math.isfinite(f)]
    if not values:
        return -1.0, 1.0
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or max(1.0, abs(low) / 10)
    return low - pad, high + pad


def write_figure(result: MinimizeResult, path: str, width: int = 900, height: int = 450, typed: Optional[str] = None) -> None:
    """The path of each optimiser over f (a curve for one variable, a contour
    for two) beside f against the step, into a .png, .svg or .pdf, whole or
    not at all."""
    from pathlib import Path

    from autodiff.presentation.plotting import FORMATS

    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"--output must end in {', '.join(FORMATS)}, not {suffix or 'no extension'!r}")
    try:
        import matplotlib
    except ImportError:
        raise UsageError("--output needs matplotlib: pip install 'autodiff[plot]' (or pip install matplotlib)") from None
    matplotlib.use("Agg")
    from matplotlib import pyplot

    from autodiff.files import write_atomically

    names = list(result.start)
    panels = 2 if len(names) <= 2 else 1
    dpi = 100
    figure, axes = pyplot.subplots(1, panels, figsize=(width / dpi, height / dpi), dpi=dpi, squeeze=False)
    try:
        if panels == 2:
            _draw_path(axes[0][0], result, names)
        steps_axes = axes[0][panels - 1]
        for index, run in enumerate(result.runs):
            values = [f for _, f, _, _ in run.history or []]
            steps_axes.plot(range(len(values)), values, label=run.optimizer, color=FILE_COLORS[index % len(FILE_COLORS)])
        steps_axes.set_ylim(*steps_window(result))
        steps_axes.set_xlabel("step")
        steps_axes.set_ylabel("f")
        steps_axes.grid(True, color="0.92")
        steps_axes.legend(loc="best")
        title = " ".join(typed.split()) if typed and typed.strip() else result.expression
        figure.suptitle(f"f({', '.join(result.variables)}) = {title}")
        figure.tight_layout()
        write_atomically(path, lambda file: figure.savefig(file, dpi=dpi, format=suffix[1:]))
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    except (ArithmeticError, ValueError) as error:
        raise UsageError(f"the figure cannot be drawn for these values ({type(error).__name__}); use --json") from None
    finally:
        pyplot.close(figure)


def _window(values: list) -> tuple[float, float]:
    from autodiff.presentation.plotting import robust_range

    return robust_range([[v for v in values if math.isfinite(v)]])


def _draw_path(axes, result: MinimizeResult, names) -> None:
    """f over the box the finite paths span: a curve (one variable) or a contour (two), each path on it."""
    import torch

    paths = [[p for p, _, _, _ in run.history or [] if all(math.isfinite(v) for v in p)] for run in result.runs]
    coordinates = [[p[i] for path in paths for p in path] for i in range(len(names))]
    spans = []
    for values in coordinates:
        low, high = _window(values) if values else (-1.0, 1.0)
        pad = (high - low) * 0.1 or 1.0
        spans.append((low - pad, high + pad))
    program = result.program
    grid = [torch.linspace(low, high, 200 if len(names) == 1 else 120, dtype=torch.float64) for low, high in spans]
    with torch.no_grad(), _quiet_numerics():
        if len(names) == 1:
            f = program({names[0]: grid[0]}).expand(grid[0].shape)
            axes.plot(grid[0].tolist(), f.tolist(), color="0.5", linewidth=1.2)
            axes.set_xlabel(names[0])
            axes.set_ylabel("f")
        else:
            xs, ys = torch.meshgrid(grid[0], grid[1], indexing="xy")
            f = program({names[0]: xs, names[1]: ys}).expand(xs.shape)
            finite = f[torch.isfinite(f)]
            if finite.numel():
                levels = torch.quantile(finite, torch.linspace(0, 1, 25, dtype=torch.float64)).unique().tolist()
                if len(levels) > 1:
                    axes.contour(xs.tolist(), ys.tolist(), f.tolist(), levels=levels, colors="0.7", linewidths=0.7)
            axes.set_xlabel(names[0])
            axes.set_ylabel(names[1])
    for index, (run, path) in enumerate(zip(result.runs, paths)):
        if not path:
            continue
        color = FILE_COLORS[index % len(FILE_COLORS)]
        if len(names) == 1:
            ys = [f for p, f, _, _ in run.history if all(math.isfinite(v) for v in p)]
            axes.plot([p[0] for p in path], ys, marker=".", markersize=3, color=color, label=run.optimizer)
        else:
            axes.plot([p[0] for p in path], [p[1] for p in path], marker=".", markersize=3, color=color,
                      label=run.optimizer)
    for point in result.critical_points:
        if point.family:
            continue
        if len(names) == 1:
            axes.plot([point.values[names[0]]], [point.value], "k*", markersize=9)
        else:
            axes.plot([point.values[names[0]]], [point.values[names[1]]], "k*", markersize=9)
    axes.set_xlim(*spans[0])
    if len(names) == 2:
        axes.set_ylim(*spans[1])
    axes.grid(True, color="0.92")
    axes.legend(loc="best")
