"""Cross-checks: autograd against the symbolic derivative, and a central
finite difference (Richardson-extrapolated) as the third witness.

Finite differences always run in float64, in one batched call of the
lowered program: every stencil point for both step sizes is one row.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from autodiff.engine.lowering import Program

DEFAULT_TOLERANCES = {"float64": (1e-7, 1e-9), "float32": (1e-4, 1e-5)}  # (rtol, atol)


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    @classmethod
    def for_dtype(cls, dtype: str, rtol: Optional[float] = None, atol: Optional[float] = None) -> "Tolerance":
        default_rtol, default_atol = DEFAULT_TOLERANCES[dtype]
        return cls(default_rtol if rtol is None else rtol, default_atol if atol is None else atol)

    @classmethod
    def for_expectations(cls, rtol: Optional[float] = None, atol: Optional[float] = None) -> "Tolerance":
        """The tolerance of a value the user expects (minimize's --expect, a
        case's `value`): the given rtol and atol, else EXPECTATION (1e-6 each)."""
        return cls(EXPECTATION.rtol if rtol is None else rtol, EXPECTATION.atol if atol is None else atol)

    def close(self, actual: torch.Tensor, expected: torch.Tensor) -> torch.Tensor:
        """Elementwise agreement; equal infinities agree, and so do two nans."""
        actual, expected = actual.to(torch.float64), expected.to(torch.float64)
        return torch.isclose(actual, expected, rtol=self.rtol, atol=self.atol, equal_nan=True)

    def close_float(self, actual: float, expected: float) -> bool:
        """`close` for two Python floats, without making tensors: the same
        test, |actual - expected| <= atol + rtol*|expected| (finite values)."""
        if actual == expected:
            return True
        return math.isfinite(actual) and math.isfinite(expected) and abs(actual - expected) <= self.atol + self.rtol * abs(expected)

    def for_finite_differences(self, order: int) -> "Tolerance":
        # A stencil for an n-th derivative loses about one more digit per order.
        floor = 10.0 ** (-7 + order)
        return Tolerance(max(self.rtol, floor), max(self.atol, floor))


EXPECTATION = Tolerance(1e-6, 1e-6)  # a value the user expects: the default tolerance of --expect


@dataclass
class FiniteDifference:
    estimate: torch.Tensor
    rounding: torch.Tensor  # bound on the rounding error of the estimate

    def agrees_with(self, value: torch.Tensor, tolerance: Tolerance) -> torch.Tensor:
        value = value.to(torch.float64)
        slack = tolerance.atol + tolerance.rtol * self.estimate.abs() + 10 * self.rounding
        # A non-finite estimate has no slack to give: it agrees only with a
        # non-finite value (an infinite slack would accept anything).
        close = torch.isfinite(self.estimate) & ((value - self.estimate).abs() <= slack)
        both_nonfinite = ~torch.isfinite(value) & ~torch.isfinite(self.estimate)
        return close | both_nonfinite


_EPS = torch.finfo(torch.float64).eps


def _stencil(order: int) -> list[tuple[float, int]]:
    """Central stencil for the order-th derivative: (offset in steps, weight)."""
    return [(order / 2 - j, (-1) ** j * math.comb(order, j)) for j in range(order + 1)]


def finite_difference(
    program: Program, values: dict[str, torch.Tensor], sequence: Sequence[str]
) -> FiniteDifference:
    """Estimate ∂ⁿf/∂sequence at `values` (float64 tensors of one shape)."""
    stacked = finite_differences(program, values, [(0, sequence)])
    return FiniteDifference(stacked.estimate[0], stacked.rounding[0])


def finite_differences(
    program: Program, values: dict[str, torch.Tensor], tasks: Sequence[tuple[int, Sequence[str]]]
) -> FiniteDifference:
    """Estimate each task's derivative, (output index, sequence), at `values`:
    one FiniteDifference whose tensors have a leading dimension, one per task.

    The stencil rows of many tasks (a Hessian has n(n+1)/2 of them) go
    through the program in one batched evaluation, in chunks that bound the
    memory of its intermediate values.
    """
    # ∂²f/∂y∂x and ∂²f/∂x∂y share one stencil: estimate each distinct task once.
    keys = [(output, tuple(sorted(Counter(sequence).items()))) for output, sequence in tasks]
    distinct = list(dict.fromkeys(keys))
    plans = [_Plan(output, dict(counts)) for output, counts in distinct]
    points = max(1, next(iter(values.values())).numel()) if values else 1
    per_row = points * max(1, len(program.instructions))
    largest = max(plan.size for plan in plans)
    if points > 1 and largest * per_row > _CHUNK_ELEMENTS:
        # Even one task's rows are too many at every point at once: take the
        # points in slices (each point's estimate depends on that point alone).
        width = max(1, _CHUNK_ELEMENTS // (largest * max(1, len(program.instructions))))
        parts = [
            finite_differences(program, {name: value[start : start + width] for name, value in values.items()}, tasks)
            for start in range(0, points, width)
        ]
        return FiniteDifference(
            torch.cat([part.estimate for part in parts], dim=1), torch.cat([part.rounding for part in parts], dim=1)
        )
    budget = max(1, _CHUNK_ELEMENTS // per_row)
    parts: list[FiniteDifference] = []
    chunk: list[_Plan] = []
    rows = 0
    for plan in plans:
        if chunk and rows + plan.size > budget:
            parts.append(_evaluate(program, values, chunk))
            chunk, rows = [], 0
        chunk.append(plan)
        rows += plan.size
    if chunk:
        parts.append(_evaluate(program, values, chunk))
    position = {key: index for index, key in enumerate(distinct)}
    order = torch.tensor([position[key] for key in keys], dtype=torch.long)
    estimate = torch.cat([part.estimate for part in parts])[order]
    rounding = torch.cat([part.rounding for part in parts])[order]
    return FiniteDifference(estimate, rounding)


_CHUNK_ELEMENTS = 1 << 25  # float64 intermediates per batched evaluation (256 MiB)
_SCALES = (1.0, 0.5)  # two step sizes, for Richardson extrapolation


class _Plan:
    """One task's stencil: every (offset, weight) combination, at each step size."""

    def __init__(self, output: int, counts: dict[str, int]):
        self.output = output
        self.counts = counts
        self.order = sum(counts.values())
        self.h = _EPS ** (1 / (self.order + 4))  # step, in units of the variable's size
        self.combos = list(itertools.product(*(_stencil(count) for count in counts.values())))
        self.size = len(self.combos) * len(_SCALES)

    def rows(self):
        """(weight, {variable: offset in units of its size}) for each row, scale by scale."""
        for scale in _SCALES:
            for combo in self.combos:
                offset = {name: o * scale * self.h for name, (o, _) in zip(self.counts, combo)}
                yield math.prod(weight for _, weight in combo), offset


def _evaluate(program: Program, values: dict[str, torch.Tensor], plans: list[_Plan]) -> FiniteDifference:
    names = list(values)
    column = {name: index for index, name in enumerate(names)}
    shape = next(iter(values.values())).shape if values else ()
    weights, row_ids, columns, offsets, segments = [], [], [], [], []
    for number, plan in enumerate(plans):
        for row, (weight, offset) in enumerate(plan.rows()):
            for name, steps_away in offset.items():
                row_ids.append(len(weights))
                columns.append(column[name])
                offsets.append(steps_away)
            weights.append(weight)
            segments.append(number * len(_SCALES) + row // len(plan.combos))
    rows = len(weights)
    # moves[row, variable]: how far the row moves the variable, in units of its size.
    moves = torch.zeros(rows, len(names), dtype=torch.float64)
    moves.index_put_(
        (torch.tensor(row_ids, dtype=torch.long), torch.tensor(columns, dtype=torch.long)),
        torch.tensor(offsets, dtype=torch.float64),
    )
    size = {name: value.abs().clamp(min=1.0) for name, value in values.items()}  # steps scale with |x|
    unsqueeze = (rows, *([1] * len(shape)))
    env = {name: values[name].unsqueeze(0) + moves[:, column[name]].view(unsqueeze) * size[name] for name in names}
    # Broadcast the base point's detach(...) values over the rows.
    frozen = {index: value.unsqueeze(0) for index, value in program.detached_values(values, torch.float64).items()}
    with torch.no_grad():
        outputs = [out.expand(rows, *shape) for out in program.outputs(env, torch.float64, frozen)]
    samples = outputs[0]
    if len(outputs) > 1:  # each row from its own task's output
        samples = torch.empty(rows, *shape, dtype=torch.float64)
        start = 0
        for plan in plans:
            samples[start : start + plan.size] = outputs[plan.output][start : start + plan.size]
            start += plan.size
    weighted = samples * torch.tensor(weights, dtype=torch.float64).view(unsqueeze)
    segment = torch.tensor(segments, dtype=torch.long)
    totals = torch.zeros(len(plans) * len(_SCALES), *shape, dtype=torch.float64)
    sums = totals.index_add(0, segment, weighted).view(len(plans), len(_SCALES), *shape)
    magnitude = totals.index_add(0, segment, weighted.abs()).view(len(plans), len(_SCALES), *shape)
    # The product of steps, Π (scale·h·size_v)^count_v, for every plan at once.
    counts = torch.zeros(len(plans), len(names), dtype=torch.float64)
    for number, plan in enumerate(plans):
        for name, count in plan.counts.items():
            counts[number, column[name]] = count
    log_size = torch.stack([size[name].expand(shape) for name in names]).log().reshape(len(names), -1)
    base = (counts @ log_size).exp().view(len(plans), *shape)
    h_power = torch.tensor([plan.h**plan.order for plan in plans], dtype=torch.float64)
    order = torch.tensor([plan.order for plan in plans], dtype=torch.float64)
    per_plan = (len(plans), *([1] * len(shape)))
    divisors = [base * (h_power * scale**order).view(per_plan) for scale in _SCALES]
    coarse, fine = (sums[:, i] / divisors[i] for i in range(len(_SCALES)))
    coarse_rounding, fine_rounding = (magnitude[:, i] * _EPS / divisors[i] for i in range(len(_SCALES)))
    # Richardson: (4·fine - coarse)/3 removes the h² term of the central stencil.
    return FiniteDifference((4 * fine - coarse) / 3, (4 * fine_rounding + coarse_rounding) / 3)
