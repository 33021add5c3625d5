"""Derivatives by autograd: one core (`derivative`) on torch.autograd.grad.

Every variable becomes a leaf tensor of the point's full shape, so with
vector or grid points each element is an independent point: backward on the
sum (or on `grad_output`) gives every element's own derivative.
"""

from __future__ import annotations

import sys
import time
import warnings
from contextlib import contextmanager
from typing import Optional, Sequence

import torch

from autodiff.lowering import Program
from autodiff.points import Grid, Point, Vector


DEVICES = ("cpu", "cuda", "mps", "auto")


def resolve_device(name: str, dtype: str) -> str:
    """The torch device of --device: `auto` is CUDA, else MPS, else the CPU."""
    if name not in DEVICES:
        raise ValueError(f"--device must be one of {', '.join(DEVICES)}, not {name!r}")
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        name = "cuda" if cuda else "mps" if mps and dtype != "float64" else "cpu"
    elif name == "cuda" and not cuda:
        raise ValueError("--device cuda: torch sees no CUDA device here; use --device auto (CUDA where there is one) or cpu")
    elif name == "mps" and not mps:
        raise ValueError("--device mps: torch sees no Apple GPU (MPS) here; use --device auto or cpu")
    if name == "mps" and dtype == "float64":
        raise ValueError("--device mps has no float64; add --dtype float32")
    return name


@contextmanager
def on_device(device: str):
    """Autograd on `device`: the tensors torch makes inside (the program's
    constants, the leaves) are made there; the CPU needs nothing."""
    if device == "cpu":
        yield
        return
    with torch.device(device):
        yield


def _default_device() -> torch.device:
    return torch.empty(0).device  # torch.get_default_device() is 2.3+


def value_tensor(value, dtype: torch.dtype, shape) -> torch.Tensor:
    """A fresh tensor of `shape` holding a point's value: a number broadcast,
    a vector, or a grid computed in torch (never through a Python list); on
    the device of `on_device`."""
    if isinstance(value, Grid):
        tensor = value.tensor(dtype)
    elif isinstance(value, Vector):
        tensor = getattr(value, "tensor", None)
        tensor = tensor.to(dtype, copy=True) if tensor is not None else torch.tensor(value.tolist(), dtype=dtype)
    else:
        tensor = torch.tensor(value, dtype=dtype)
    device = _default_device()
    if tensor.device != device:
        tensor = tensor.to(device)
    return tensor if tensor.shape == shape else tensor.expand(shape).clone()


def make_leaves(point: Point, names: Sequence[str], dtype: torch.dtype, requires_grad: bool = True):
    """One leaf tensor per variable, all broadcast to the point's shape."""
    shape = torch.Size(() if point.size is None else (point.size,))
    return {name: value_tensor(point.values[name], dtype, shape).requires_grad_(requires_grad) for name in names}


def evaluate(program: Program, leaves: dict[str, torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    """The program's output at the leaves, broadcast to the point's shape."""
    shape = next(iter(leaves.values())).shape if leaves else ()
    return program(leaves, dtype).expand(shape)


def _grad(output, inputs, grad_output, create_graph, retain_graph=None):
    """torch.autograd.grad with `grad_output` None meaning ones.

    A scalar output is given no explicit ones: torch checks an explicit
    `grad_outputs` with its symbolic-shapes machinery, whose first import
    costs a one-shot `grad` some 60 ms."""
    if not output.requires_grad:  # a constant, or everything detached
        return [torch.zeros_like(leaf) for leaf in inputs]
    if grad_output is None and output.dim() > 0:
        grad_output = torch.ones_like(output)
    return torch.autograd.grad(
        output,
        inputs,
        grad_outputs=grad_output,
        create_graph=create_graph,
        retain_graph=retain_graph,
        allow_unused=True,
        materialize_grads=True,
    )


class Budget:
    """Stops a nested derivative whose remaining orders would outlast `seconds`.

    Each order differentiates the graph of the last, which can be several
    times larger: the time of the next orders is predicted from the growth
    of the last two, and the work stops as soon as the prediction (not the
    clock) passes the limit.
    """

    def __init__(self, seconds: Optional[float]):
        self.seconds = seconds
        self.started = time.perf_counter()
        self.previous: Optional[float] = None

    def step(self, spent: float, done: int, total: int, imported: bool = False) -> None:
        remaining = total - done
        if self.seconds is None or remaining <= 0:
            return
        if imported:  # a one-time cost: predict from the next order instead
            self.previous = None
            return
        growth = max(1.0, spent / self.previous) if self.previous and self.previous > 1e-3 else 1.0
        self.previous = spent
        predicted = sum(spent * growth**k for k in range(1, remaining + 1))
        elapsed = time.perf_counter() - self.started
        if spent > 1e-3 and elapsed + predicted > self.seconds:
            from autodiff.errors import LimitError
            from autodiff.limits import raise_hint

            raise LimitError(
                f"autograd's derivative of order {total} would take {_duration(elapsed + predicted)} "
                f"(order {done} took {spent:.2g} s, {growth:.2g}× the order before): more than the limit of "
                f"{self.seconds:g} s; lower the order, or {raise_hint('autograd-seconds')}"
            )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"about {seconds:.2g} s"
    if seconds < 7200:
        return f"about {seconds / 60:.0f} minutes"
    hours = seconds / 3600
    return f"about {hours:.0f} hours" if hours < 48 else "days" if hours < 24 * 365 else "years"


def derivative(
    output: torch.Tensor,
    leaves: dict[str, torch.Tensor],
    sequence: Sequence[str],
    grad_output: Optional[torch.Tensor] = None,
    budget: Optional[Budget] = None,
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
        weights = grad_output if last else None
        started, modules = time.perf_counter(), len(sys.modules)
        (current,) = _grad(current, [leaves[name]], weights, create_graph=not last, retain_graph=True)
        if budget is not None:
            # torch loads some backward formulas on first use (abs twice over
            # imports torch._dynamo, 1.5 s): an order that imported is no
            # measure of the graph's growth.
            budget.step(time.perf_counter() - started, step + 1, len(sequence), len(sys.modules) > modules)
    return current.detach()


def gradient(
    output: torch.Tensor,
    leaves: dict[str, torch.Tensor],
    names: Sequence[str],
    grad_output: Optional[torch.Tensor] = None,
) -> dict[str, torch.Tensor]:
    """Every first partial in one backward pass."""
    grads = _grad(output, [leaves[name] for name in names], grad_output, create_graph=False)
    return {name: g.detach() for name, g in zip(names, grads)}


def stacked_leaves(point: Point, names: Sequence[str], differentiated: Sequence[str], dtype: torch.dtype):
    """One leaf X of shape (len(differentiated), *point shape) and each
    variable's tensor: a view X[i] for those differentiated, a constant for
    the others. Matrices of derivatives are then derivatives with respect to X."""
    shape = torch.Size(() if point.size is None else (point.size,))
    stacked = torch.stack(
        [value_tensor(point.values[name], dtype, shape) for name in differentiated]
    ) if differentiated else torch.zeros((0, *shape), dtype=dtype)
    stacked.requires_grad_(True)
    views = {name: stacked[index] for index, name in enumerate(differentiated)}
    others = {name: value_tensor(point.values[name], dtype, shape) for name in names if name not in views}
    return stacked, {**views, **others}


def jacobian_of(outputs: torch.Tensor, leaf: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    """∂outputs[k]/∂leaf[j] for every k and j: shape (m, n, *point shape).

    Elements of a vector point are independent, so each output row takes one
    vector-Jacobian product with a one-hot weight; all m run batched (vmap
    over the backward), or one by one where an operation has no batching rule.
    """
    m, shape = outputs.shape[0], outputs.shape[1:]
    if not outputs.requires_grad or m == 0:
        return torch.zeros((m, *leaf.shape), dtype=leaf.dtype)
    one_hot = torch.eye(m, dtype=outputs.dtype).view(m, m, *([1] * len(shape))).expand(m, m, *shape)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "performance drop … batching rule": the result is still right
            (rows,) = torch.autograd.grad(
                outputs, leaf, one_hot, create_graph=create_graph, retain_graph=True,
                allow_unused=True, materialize_grads=True, is_grads_batched=True,
            )
        return rows
    except RuntimeError:
        return torch.stack([
            _grad(outputs, [leaf], one_hot[k], create_graph=create_graph, retain_graph=True)[0] for k in range(m)
        ])


def hessian(program: Program, point: Point, names: Sequence[str], differentiated: Sequence[str], dtype: torch.dtype):
    """Value, gradient (n, *shape) and Hessian (n, n, *shape): reverse over reverse,
    the second pass batched over the n gradient entries."""
    stacked, leaves = stacked_leaves(point, names, differentiated, dtype)
    output = evaluate(program, leaves, dtype)
    (first,) = _grad(output, [stacked], None, create_graph=True)
    second = jacobian_of(first, stacked).detach()

    def exact_rows(separate):
        output = evaluate(program, separate, dtype)
        firsts = _grad(output, [separate[n] for n in differentiated], None, True)
        return [
            lambda g=g: torch.stack(_grad(g, [separate[n] for n in differentiated], None, False, True))
            for g in firsts
        ]

    _repair(second, point, names, dtype, exact_rows)
    return output.detach(), first.detach(), second


def jacobian(program: Program, point: Point, names: Sequence[str], differentiated: Sequence[str], dtype: torch.dtype):
    """Values (m, *shape) and Jacobian (m, n, *shape) of a multi-output program.

    One backward pass per function, each through that function's graph
    alone: the cost is linear in the number of functions, and one function's
    infinite slope cannot meet another's zero weight (0·inf = nan).
    """
    stacked, leaves = stacked_leaves(point, names, differentiated, dtype)
    shape = stacked.shape[1:]
    outputs = [out.expand(shape) for out in program.outputs(leaves, dtype)]
    rows = [_grad(out, [stacked], None, create_graph=False, retain_graph=True)[0]
            for out in outputs]
    return torch.stack(outputs).detach(), torch.stack(rows).detach()


def _repair(matrix: torch.Tensor, point: Point, names, dtype, exact_rows) -> None:
    """Recompute, one backward pass each, the rows where the batched pass gave nan.

    The batched pass weights the other rows by zero, and a zero weight times
    an infinite local derivative elsewhere in the graph is nan: for
    [x^2, 1/y] at y = 0, ∂(x^2)/∂y would come out nan instead of 0. With a
    leaf per variable and one row's output alone, that term is not in the
    graph. Rows without nan are exact already (a nan cannot cancel)."""
    bad = [row for row in range(matrix.shape[0]) if bool(torch.isnan(matrix[row]).any())]
    if not bad:
        return
    rows = exact_rows(make_leaves(point, list(point.values), dtype, requires_grad=True))
    for row in bad:
        matrix[row] = rows[row]()
