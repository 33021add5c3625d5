"""The optimisers of `autodiff minimize`, and the one loop they all run.

Every optimiser runs in one loop (the contract of torch.optim: a `step()`,
with a closure for LBFGS): evaluate f and its gradient by autograd, record
the step, stop when the gradient's norm is within the tolerance (converged),
when the run blows up (diverged) or when the steps run out (stalled). `gd`
is the tutorial's loop written by hand (`x.data -= lr * x.grad`), `newton`
steps with autograd's Hessian.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from autodiff.results import json_number
from autodiff.text import number_text, seven_digits

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
# Divergence: f grew this many times its start's size (1 + |f₀|), or the
# point ran this many times its start's size away with a growing gradient.
GROWTH = 1e6
RUNAWAY = 1e6

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


def _named(names: list[str], values: list) -> dict:
    return {name: json_number(value) for name, value in zip(names, values)}



def run(name, lr, program, names, start, steps, tol, sign, dtype, record, nodes=None, seconds=None) -> Run:
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

    def curvature():  # the objective's Hessian at the current point
        return hessian_at(lambda leaves, dtype: sign * program(leaves, dtype), names, params.detach().tolist(), dtype)

    step_once = _stepper(name, params, lr, evaluate, curvature)
    started = _clock()
    budget_started = _budget_clock()
    reference = None  # (objective, gradient norm, point) at the start
    previous = None  # the gradient one step before
    with quiet_numerics():
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
                run.message = f"‖∇f‖ = {seven_digits(norm)} ≤ {tol:g} after {step} step{'s' if step != 1 else ''}"
                break
            if step == steps:
                run.message = f"‖∇f‖ = {seven_digits(norm)} > {tol:g} after {steps} steps" + _stall_hint(previous, gradient, here, names)
                break
            if nodes is not None and cost[0] > nodes:
                from autodiff.limits import raise_hint

                hessians = f", and {len(names) + 1} times that for each step's Hessian" if name == "newton" else ""
                run.message = (
                    f"stopped after {step} step{'s' if step != 1 else ''}: {run.evaluations:,} evaluations of f and ∇f "
                    f"({cost[1]:,} graph nodes each{hessians}) counted {cost[0]:,} graph nodes, more than the limit of "
                    f"{nodes:,} on one optimiser's run (‖∇f‖ = {seven_digits(norm)} > {tol:g}); fewer --steps, "
                    f"another --lr, or {raise_hint('graph-nodes')}"
                )
                break
            spent = _budget_clock() - budget_started
            if seconds is not None and spent > seconds:
                from autodiff.limits import raise_hint

                run.message = (
                    f"stopped after {step} step{'s' if step != 1 else ''} by the wall-clock timeout of {seconds:g} s "
                    f"on one optimiser's run ({spent:.2g} s; where a timeout stops depends on the machine and its "
                    f"load; ‖∇f‖ = {seven_digits(norm)} > {tol:g}); fewer --steps, another --lr, or "
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
                    f"step {step + 1} left the point where it was (‖∇f‖ = {seven_digits(norm)} > {tol:g}): "
                    "the optimiser can make no progress here"
                )
                break
    run.seconds = _clock() - started
    return run


def _stepper(name, params, lr, evaluate, curvature) -> Callable[[], None]:
    """The step of one optimiser, after `evaluate` has set params.grad
    (`curvature`: the objective's Hessian there, for Newton's method)."""
    import torch

    if name == "gd":
        def step():
            params.data -= lr * params.grad  # the tutorial's loop, as it is written there

        return step
    if name == "newton":
        def step():
            hessian = curvature()
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


def hessian_at(program, names, values, dtype):
    """autograd's Hessian (n × n) of `program` (a Program, or any callable
    of (leaves, dtype)) at the point `values`, by the engine's calculus."""
    from autodiff.engine.calculus import hessian
    from autodiff.points import Point

    _, _, matrix = hessian(program, Point(dict(zip(names, values))), names, names, dtype)
    return matrix


class quiet_numerics:
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
            where = ", ".join(f"{n} ≈ {seven_digits(v)}" for n, v in zip(names, here))
            return (
                f"; the steps go back and forth across {where} and ‖∇f‖ does not shrink: --lr is too large for "
                "the curvature there, or f has a kink there (not differentiable, so ‖∇f‖ cannot fall); try a smaller --lr"
            )
    return "; more --steps, or another --lr"


def _bad_start(f, norm, here, names) -> str:
    """Why no optimiser can start from `here`: f, its gradient or the point is not finite there."""
    where = ", ".join(f"{n} = {seven_digits(v)}" for n, v in zip(names, here))
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
        return f"diverged at step {step}: f {verb} from {seven_digits(sign * f0)} to {seven_digits(sign * objective)}"
    size0 = math.sqrt(sum(v * v for v in start))
    distance = math.sqrt(sum((a - b) ** 2 for a, b in zip(here, start)))
    if distance > RUNAWAY * (1 + size0) and norm > norm0:
        return (
            f"diverged at step {step}: the point ran away (‖x − x₀‖ = {seven_digits(distance)}) with a growing gradient; "
            f"f may have no {'maximum' if sign < 0 else 'minimum'} that way"
        )
    return None
