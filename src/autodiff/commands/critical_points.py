"""What an optimiser's final point is, and the critical points SymPy finds.

The final point is classified by the Hessian's curvature there
(autodiff.engine.curvature). Beside the runs, the critical points: every
real solution of ∇f = 0 where ∇f is polynomial (a Gröbner basis and exact
real roots, autodiff.engine.critical), what SymPy's solve finds otherwise,
each classified by the Hessian there, under the symbolic deadline.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional

from autodiff.commands.optimizers import Run, hessian_at, quiet_numerics
from autodiff.text import seven_digits, ten_digits, three_digits
from autodiff.results import json_number
from autodiff.text import shortened

REACHED = 1e-4  # a final point this near a critical point (relative to 1 + its size) reached it
MAX_CRITICAL_POINTS = 20


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
        return exact if exact is not None or self.family else ten_digits(self.values[name])

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


def classify(run: Run, program, names, dtype, tolerance, tol) -> None:
    """The final point's kind, from autograd's Hessian of f there (not for a diverged run).
    A stalled run whose gradient is at the floating-point floor for |f| there
    (float_floor) is classified too, and its message says so."""
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
    floor = float_floor(run, eigenvalues, dtype) if run.status == "stalled" else None
    if floor is None or not run.gradient_norm <= floor[0] or not _model_holds(run, floor[3], dtype):
        run.kind = "not a critical point"
        return
    run.kind = Curvature.KINDS.get(definiteness, "inconclusive")
    bound, f_floor, spacing, smallest, eps = floor
    kind_name = str(dtype).replace("torch.", "")
    if f_floor >= spacing:
        why = (
            f"for |f| = {seven_digits(abs(run.value))} here, √(2·min|λ|·ε·|f|) = {three_digits(f_floor)}: the critical point is "
            f"within {three_digits(run.gradient_norm / smallest)} (‖∇f‖/min|λ|), where f differs by less than "
            f"ε·|f| = {three_digits(eps * abs(run.value))}, which {kind_name} cannot resolve"
        )
    else:
        why = f"set by the point's own rounding, max|λ|·ε·‖x‖ = {three_digits(spacing)}"
    run.message += f"; ‖∇f‖ is at the {kind_name} floor {why}; classified by its Hessian: {run.kind}"


def float_floor(run: Run, eigenvalues, dtype) -> Optional[tuple]:
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

    with quiet_numerics():
        matrix = hessian_at(program, names, values, dtype)
    curvature = Curvature(matrix, torch.zeros(len(names), dtype=dtype), tolerance)
    return [float(v) for v in curvature.eigenvalues], curvature.definiteness


# --- the symbolic critical points ---------------------------------------------


def find_critical_points(result, expr, names, program, dtype, tolerance, timeout) -> None:
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
        result.symbolic_message = f"could not solve ∇f = 0 ({shortened(detail, 80)})"
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
    with quiet_numerics():
        if point.value is None:
            point.value = float(program({n: at[i] for i, n in enumerate(names)}, dtype))
        if point.kind is None:
            point.eigenvalues, definiteness = _curvature(program, names, [point.values[n] for n in names], dtype, tolerance)
            kind = Curvature.KINDS.get(definiteness, "degenerate")
            point.kind = "degenerate" if kind == "inconclusive" else kind


def _nearest(solutions: list, result) -> list:
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


def mark_reached(result, names) -> None:
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
