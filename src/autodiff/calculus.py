"""Derivatives by autograd: one core (`derivative`) on torch.autograd.grad.

Every variable becomes a leaf tensor of the point's full shape, so with
vector or grid points each element is an independent point: backward on the
sum (or on `grad_output`) gives every element's own derivative.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

from autodiff.lowering import Program
from autodiff.points import Point


def make_leaves(point: Point, names: Sequence[str], dtype: torch.dtype, requires_grad: bool = True):
    """One leaf tensor per variable, all broadcast to the point's shape."""
    shape = () if point.size is None else (point.size,)
    return {
        name: torch.tensor(point.values[name], dtype=dtype).expand(shape).clone().requires_grad_(requires_grad)
        for name in names
    }


def evaluate(program: Program, leaves: dict[str, torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    """The program's output at the leaves, broadcast to the point's shape."""
    shape = next(iter(leaves.values())).shape if leaves else ()
    return program(leaves, dtype).expand(shape)


def _grad(output, inputs, grad_output, create_graph, retain_graph=None):
    if not output.requires_grad:  # a constant, or everything detached
        return [torch.zeros_like(leaf) for leaf in inputs]
    return torch.autograd.grad(
        output,
        inputs,
        grad_outputs=grad_output,
        create_graph=create_graph,
        retain_graph=retain_graph,
        allow_unused=True,
        materialize_grads=True,
    )


def derivative(
    output: torch.Tensor,
    leaves: dict[str, torch.Tensor],
    sequence: Sequence[str],
    grad_output: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """∂ⁿ output / ∂sequence[-1] … ∂sequence[0], as sympy.diff(f, *sequence).

    Orders below the last keep the graph (create_graph) and reduce with
    ones; the last backward takes `grad_output`, the `gradient=` of backward.
    The forward graph is retained: other sequences may differentiate the
    same output after this one.
    """
    current = output
    for step, name in enumerate(sequence):
        last = step == len(sequence) - 1
        weights = grad_output if (last and grad_output is not None) else torch.ones_like(current)
        (current,) = _grad(current, [leaves[name]], weights, create_graph=not last, retain_graph=True)
    return current.detach()


def gradient(
    output: torch.Tensor,
    leaves: dict[str, torch.Tensor],
    names: Sequence[str],
    grad_output: Optional[torch.Tensor] = None,
) -> dict[str, torch.Tensor]:
    """Every first partial in one backward pass."""
    weights = grad_output if grad_output is not None else torch.ones_like(output)
    grads = _grad(output, [leaves[name] for name in names], weights, create_graph=False)
    return {name: g.detach() for name, g in zip(names, grads)}
