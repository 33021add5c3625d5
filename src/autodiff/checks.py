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
    counts = Counter(sequence)
    names = list(counts)
    total_order = len(sequence)
    base_step = _EPS ** (1 / (total_order + 4))
    steps = {name: base_step * values[name].abs().clamp(min=1.0) for name in names}

    stencils = [_stencil(counts[name]) for name in names]
    combos = list(itertools.product(*stencils))  # each: one (offset, weight) per name
    scales = (1.0, 0.5)
    rows = len(combos) * len(scales)
    env = {name: value.unsqueeze(0).expand(rows, *value.shape).clone() for name, value in values.items()}
    weights = torch.empty(rows, dtype=torch.float64)
    for row, (scale, combo) in enumerate(itertools.product(scales, combos)):
        weights[row] = math.prod(weight for _, weight in combo)
        for name, (offset, _) in zip(names, combo):
            env[name][row] += offset * scale * steps[name]

    # Broadcast the base point's detach(...) values over the rows.
    frozen = {index: value.unsqueeze(0) for index, value in program.detached_values(values, torch.float64).items()}
    with torch.no_grad():
        samples = program(env, torch.float64, frozen).expand(rows, *next(iter(values.values())).shape)
    weights = weights.view(rows, *([1] * (samples.dim() - 1)))
    by_scale = (samples * weights).view(len(scales), len(combos), *samples.shape[1:])
    magnitude = by_scale.abs().sum(dim=1)  # Σ|w·f|: what rounding of each f can move
    coarse, fine = (by_scale[i].sum(dim=0) / _step_product(steps, counts, s) for i, s in enumerate(scales))
    coarse_rounding, fine_rounding = (
        magnitude[i] * _EPS / _step_product(steps, counts, s) for i, s in enumerate(scales)
    )
    # Richardson: (4·fine - coarse)/3 removes the h² term of the central stencil.
    extrapolated = (4 * fine - coarse) / 3
    return FiniteDifference(extrapolated, (4 * fine_rounding + coarse_rounding) / 3)


def _step_product(steps: dict[str, torch.Tensor], counts: Counter, scale: float) -> torch.Tensor:
    result = torch.ones((), dtype=torch.float64)
    for name, count in counts.items():
        result = result * (scale * steps[name]) ** count
    return result
