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

from autodiff.lowering import Program

DEFAULT_TOLERANCES = {"float64": (1e-7, 1e-9), "float32": (1e-4, 1e-5)}  # (rtol, atol)


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    @classmethod
    def for_dtype(cls, dtype: str, rtol: Optional[float] = None, atol: Optional[float] = None) -> "Tolerance":
        default_rtol, default_atol = DEFAULT_TOLERANCES[dtype]
        return cls(default_rtol if rtol is None else rtol, default_atol if atol is None else atol)

    def close(self, actual: torch.Tensor, expected: torch.Tensor) -> torch.Tensor:
        """Elementwise agreement; equal infinities agree, and so do two nans."""
        actual, expected = actual.to(torch.float64), expected.to(torch.float64)
        return torch.isclose(actual, expected, rtol=self.rtol, atol=self.atol, equal_nan=True)

    def for_finite_differences(self, order: int) -> "Tolerance":
        # A stencil for an n-th derivative loses about one more digit per order.
        floor = 10.0 ** (-7 + order)
        return Tolerance(max(self.rtol, floor), max(self.atol, floor))


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
    return finite_differences(program, values, [(0, sequence)])[0]


def finite_differences(
    program: Program, values: dict[str, torch.Tensor], tasks: Sequence[tuple[int, Sequence[str]]]
) -> list[FiniteDifference]:
    """Estimate each task's derivative, (output index, sequence), at `values`.

    The stencil rows of many tasks (a Hessian has n(n+1)/2 of them) go
    through the program in one batched evaluation, in chunks that bound the
    memory of its intermediate values.
    """
    plans = [_Plan(output, sequence) for output, sequence in tasks]
    points = max(1, next(iter(values.values())).numel()) if values else 1
    budget = max(1, _CHUNK_ELEMENTS // (points * max(1, len(program.instructions))))
    estimates: list[FiniteDifference] = []
    chunk: list[_Plan] = []
    for plan in plans:
        if chunk and sum(p.size for p in chunk) + plan.size > budget:
            estimates += _evaluate(program, values, chunk)
            chunk = []
        chunk.append(plan)
    return estimates + (_evaluate(program, values, chunk) if chunk else [])


_CHUNK_ELEMENTS = 1 << 25  # float64 intermediates per batched evaluation (256 MiB)


def _evaluate(program: Program, values: dict[str, torch.Tensor], plans: list["_Plan"]) -> list[FiniteDifference]:
    names = list(values)
    column = {name: index for index, name in enumerate(names)}
    shape = next(iter(values.values())).shape if values else ()
    weights, row_ids, columns, offsets = [], [], [], []
    for plan in plans:
        plan.start = len(weights)
        for weight, offset in plan.rows():
            for name, steps_away in offset.items():
                row_ids.append(len(weights))
                columns.append(column[name])
                offsets.append(steps_away)
            weights.append(weight)
    rows = len(weights)
    # moves[row, variable]: how far, in that variable's steps, the row moves it.
    moves = torch.zeros(rows, len(names), dtype=torch.float64)
    moves.index_put_(
        (torch.tensor(row_ids, dtype=torch.long), torch.tensor(columns, dtype=torch.long)),
        torch.tensor(offsets, dtype=torch.float64),
    )
    step = _base_step(values)
    env = {
        name: values[name].unsqueeze(0) + moves[:, column[name]].view(rows, *([1] * len(shape))) * step[name]
        for name in names
    }
    # Broadcast the base point's detach(...) values over the rows.
    frozen = {index: value.unsqueeze(0) for index, value in program.detached_values(values, torch.float64).items()}
    with torch.no_grad():
        samples = [out.expand(rows, *shape) for out in program.outputs(env, torch.float64, frozen)]
    weight_column = torch.tensor(weights, dtype=torch.float64).view(rows, *([1] * len(shape)))
    return [plan.estimate(samples[plan.output], weight_column, step) for plan in plans]


def _base_step(values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each variable's unit step, relative to its size (an order-dependent factor comes later)."""
    return {name: value.abs().clamp(min=1.0) for name, value in values.items()}


_SCALES = (1.0, 0.5)


class _Plan:
    """The stencil rows of one task: every (offset, weight) combination, at two step sizes."""

    def __init__(self, output: int, sequence: Sequence[str]):
        self.output = output
        self.counts = Counter(sequence)
        self.h = _EPS ** (1 / (len(sequence) + 4))  # step, in units of _base_step
        self.combos = list(itertools.product(*(_stencil(count) for count in self.counts.values())))
        self.size = len(self.combos) * len(_SCALES)
        self.start = 0  # first row in its batch

    def rows(self):
        for scale in _SCALES:
            for combo in self.combos:
                offset = {name: o * scale * self.h for name, (o, _) in zip(self.counts, combo)}
                yield math.prod(weight for _, weight in combo), offset

    def estimate(self, samples: torch.Tensor, weights: torch.Tensor, step) -> FiniteDifference:
        count = len(self.combos)
        stop = self.start + count * len(_SCALES)
        weighted = samples[self.start : stop] * weights[self.start : stop]
        by_scale = weighted.view(len(_SCALES), count, *samples.shape[1:])
        magnitude = by_scale.abs().sum(dim=1)  # Σ|w·f|: what rounding of each f can move
        divisors = [self._step_product(step, scale) for scale in _SCALES]
        coarse, fine = (by_scale[i].sum(dim=0) / divisors[i] for i in range(len(_SCALES)))
        coarse_rounding, fine_rounding = (magnitude[i] * _EPS / divisors[i] for i in range(len(_SCALES)))
        # Richardson: (4·fine - coarse)/3 removes the h² term of the central stencil.
        extrapolated = (4 * fine - coarse) / 3
        return FiniteDifference(extrapolated, (4 * fine_rounding + coarse_rounding) / 3)

    def _step_product(self, step, scale: float) -> torch.Tensor:
        result = torch.ones((), dtype=torch.float64)
        for name, count in self.counts.items():
            result = result * (scale * self.h * step[name]) ** count
        return result


