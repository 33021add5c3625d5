"""Derivatives by autograd: one core (`derivative`) on torch.autograd.grad.

Every variable becomes a leaf tensor of the point's full shape, so with
vector or grid points each element is an independent point: backward on the
sum (or on `grad_output`) gives every element's own derivative.
"""

from __future__ import annotations

import math
import time
import warnings
from contextlib import contextmanager
from typing import Optional, Sequence

import torch

from autodiff.engine.lowering import Program
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


def autograd_counter() -> int:
    """Autograd's node number on this thread: the reading records one node
    (a view of an empty tensor) and returns that node's number.

    Every node autograd records takes the next of a per-thread sequence of
    numbers, so the difference of two readings counts the nodes recorded in
    between: exactly, for free, and the same on every machine and under any
    load. Walking a graph's `next_functions` instead would wrap every node in
    a Python object that the node then keeps alive, and freeing a deep graph
    of wrapped nodes recurses once per node: a segfault past some 10^5
    levels."""
    with torch.enable_grad():
        return torch.empty(0, requires_grad=True, device="cpu").view(0).grad_fn._sequence_nr()


# An order that recorded at least this many nodes is a measure of the
# growth: from it the orders still to come are predicted; below it only the
# next order is (the first orders' growth says little: exp(-x^2) grows ×2.8,
# then ×1.7 per order).
_STEADY = 1_000

# The suggested limit (`Budget.upper`) is an upper estimate, not the
# prediction that decides: the growth per order often rises as the orders go
# (sin·exp·cos·tanh·log: ×2.9, 3.0, 3.1, … 3.6 by order 12), so a limit raised
# to the decision's prediction is refused again a few orders later. Every
# order still to come is predicted at the larger of the last two growths,
# rising each order by the last rise of the growth to the power _RISE_POWER
# (at most ×_RISE_CAP an order; while an order records fewer than _STEADY
# nodes, from the last three growths and their larger rise, and at least
# ×_RISE_EARLY an order).
# Measured on the counts of 28 expressions to order 20 (products of sin, exp,
# cos, tanh, log; exp(sin(x)), tan, sech, x^x, erf, …): from the default
# limit, and from any limit refused once an order records 1,000 nodes,
# raising the limit to the suggested value once is always enough, at 1.5
# times the nodes recorded in the median and 12 at most (log(1+x^2), order 13).
_RISE_POWER = 1.5
_RISE_CAP = 1.2
_RISE_EARLY = 1.05


class Budget:
    """Bounds the autograd graphs of the nested derivatives of one command by counting their nodes (design §16).

    Each order differentiates the graph of the last with create_graph and
    records the graph of the next, which can be several times larger
    (sin·exp·cos·tanh·log: ×3.4 per order). After each order the nodes it
    recorded are counted (`autograd_counter`); the orders still to record a
    graph are predicted from the counted growth (the smaller of the last two
    ratios), and the work stops as soon as counted plus predicted nodes pass
    `nodes` (the limit graph-nodes). Counts, not times, decide: the same
    input is refused, or answered, on every machine and under any load.

    One Budget counts every derivative of a command (each variable's order-N
    partial; each coefficient of `taylor`). The sequences a command will
    differentiate later can be announced (`plan`): a later sequence is then
    predicted with the current one, step by step: a step it shares with one
    already counted by that count, a step that continues the current
    sequence (the same names, then its last name repeated) from the current
    growth. Steps of other names are counted when they run.

    The refusal suggests a limit (`upper`): an upper estimate of what the
    command records, every step still to come predicted with a rising growth.

    `seconds` (the limit autograd-seconds, off unless set) is a wall-clock
    timeout on the same work, the autograd time of the whole command,
    checked after each order; its error says that it is one.
    """

    def __init__(self, nodes: Optional[int] = None, seconds: Optional[float] = None):
        self.nodes = nodes
        self.seconds = seconds
        self.spent = 0.0  # seconds of autograd work so far, over every sequence (the timeout's measure)
        self.recorded = 0  # nodes recorded so far, over every sequence
        self.counts: list[int] = []  # the nodes each order of the current sequence recorded
        self.sequence: Optional[tuple] = None  # the names of the current sequence, where its caller gave them
        # What the announced sequences still to run will record: a step is
        # named by the prefix of the sequence that ends with it.
        self._known: dict[tuple, int] = {}  # the nodes each step counted so far recorded
        self._demand: dict[tuple, int] = {}  # how many planned sequences record each step
        self._planned: list[tuple] = []
        self._known_later = 0  # Σ demand × known, over the known steps
        self._unknown_later: dict[int, int] = {}  # order → the planned steps of that order not yet counted

    def plan(self, sequences) -> None:
        """The command will differentiate these sequences (each a list of
        names), after any under way: they are predicted before they run."""
        for sequence in sequences:
            self._planned.append(tuple(sequence))
            self._change_demand(tuple(sequence), +1)

    def _change_demand(self, sequence: tuple, change: int) -> None:
        for order in range(1, len(sequence)):  # the last order records no graph
            prefix = sequence[:order]
            self._demand[prefix] = self._demand.get(prefix, 0) + change
            if prefix in self._known:
                self._known_later += change * self._known[prefix]
            else:
                self._unknown_later[order] = self._unknown_later.get(order, 0) + change

    def _begin(self, sequence: Optional[Sequence[str]]) -> None:
        self.counts = []
        self.sequence = None if sequence is None else tuple(sequence)
        if self.sequence is not None and self.sequence in self._planned:
            self._planned.remove(self.sequence)
            self._change_demand(self.sequence, -1)

    def _remember(self, done: int, recorded: int) -> None:
        if self.sequence is None:
            return
        prefix = self.sequence[:done]
        if prefix in self._known:
            return  # counted before (the same step of an earlier sequence): the same count
        self._known[prefix] = recorded
        demand = self._demand.get(prefix, 0)
        self._known_later += demand * recorded
        if demand:
            self._unknown_later[done] -= demand

    def grad(self, current: torch.Tensor, step: int, total: int, differentiate, sequence: Optional[Sequence[str]] = None):
        """`differentiate()`, order `step` of `total` of one sequence (its
        names `sequence`, where known), with the nodes it records counted;
        stops when the budget is spent."""
        if step == 1:
            self._begin(sequence)
        records = step < total and current.grad_fn is not None  # the last order records no graph
        start: list[int] = []
        # The counter is read where the backward runs: its first node (the
        # root) runs first, on the thread that records the new graph (a
        # device thread for CUDA tensors).
        handle = current.grad_fn.register_prehook(lambda _: start.append(autograd_counter())) if records else None
        began = time.perf_counter()
        try:
            result = differentiate()
        finally:
            self.spent += time.perf_counter() - began
            if handle is not None:
                handle.remove()
        if records:
            root = result.grad_fn  # the last node the backward recorded
            self.step(max(0, root._sequence_nr() - start[0]) if root is not None and start else 0, step, total)
        else:
            self.check_clock(step, total)
        return result

    def step(self, recorded: int, done: int, total: int) -> None:
        """Order `done` of `total` recorded `recorded` nodes: go on, or stop."""
        self.recorded += recorded
        self.counts.append(recorded)
        self._remember(done, recorded)
        if self.nodes is not None:
            predicted, rate, ahead = self.predict(total - 1 - done)  # orders still to record (the last records none)
            rate = self._rate()
            later, reach = self._later(rate)
            if self.recorded + predicted + later > self.nodes:
                self._refuse(recorded, done, total, predicted, later, rate, max(reach, done + ahead))
        self.check_clock(done, total)

    def _refuse(self, recorded: int, done: int, total: int, predicted: float, later: float, rate: float,
                reach: int) -> None:
        from autodiff.errors import LimitError
        from autodiff.limits import raise_hint

        predicted += later
        needed = _round_up(self.recorded + predicted)
        sequences = sum(1 for sequence in self._planned if len(sequence) > 1) if later > 0 else 0
        earlier = self.recorded - sum(self.counts)  # the command's derivatives before this one
        previous = self.counts[-2] if len(self.counts) > 1 else 0
        if earlier:
            counted = (
                f"counted: {self.recorded:,}, {earlier:,} of them by the derivatives before this one; "
                f"order {done} recorded {recorded:,}"
            )
        else:
            counted = f"counted: {self.recorded:,} by order {done}"
            if done > 1:
                counted += f", which recorded {recorded:,}"
        if done > 1 and previous > 0:
            counted += f", {recorded / previous:.2g}× as many as order {done - 1}"
        if reach == done + 1:
            counted += f"; predicted: order {done + 1} at ×{rate:.2g}"
        elif reach > done + 1:
            counted += f"; predicted: orders {done + 1} to {reach} at ×{rate:.2g} each"
        if sequences:
            still = f"the {sequences} derivative{'s' if sequences > 1 else ''} still to come"
            if reach <= done:
                counted += f"; predicted: {still}, from the counts so far"
            else:
                counted += f", for {'this derivative and ' if total - 1 > done else ''}{still}"
            head = f"autograd's derivatives up to order {max([total, *map(len, self._planned)])}"
        else:
            head = f"autograd's derivative of order {total}"
        verb = "has recorded" if predicted == 0 else "would record about"
        upper, top, growth = self.upper(total - 1 - done)
        suggested = max(needed, _round_up(self.recorded + upper))
        estimate = f" (an upper estimate: the growth per order rising to ×{growth:.2g} by order {top})" if top > done else ""
        raise LimitError(
            f"{head} {verb} {needed:,} graph nodes ({counted}): more than the limit of {self.nodes:,} graph nodes; "
            f"lower the order, or {raise_hint('graph-nodes', suggested)}{estimate}"
        )

    def predict(self, orders: int) -> tuple[float, float, int]:
        """The nodes the next of `orders` orders would record, predicted from
        the counted growth: (nodes, growth per order, orders predicted)."""
        if not self.counts or orders <= 0 or self.counts[-1] == 0:
            return 0.0, 1.0, 0
        last, rate = self.counts[-1], self._rate()
        ahead = orders if last >= _STEADY else 1
        return sum(last * rate**k for k in range(1, ahead + 1)), rate, ahead

    def _rate(self) -> float:
        """The growth per order the decision predicts with: the smaller of the last two."""
        recent = self.counts[-3:]
        ratios = [b / a for a, b in zip(recent, recent[1:]) if a > 0]
        return min(ratios) if ratios else 1.0

    def _later(self, rate: float) -> tuple[float, int]:
        """What the planned sequences would record, as the decision predicts
        it: their steps counted before at that count, the steps that continue
        the current sequence at its growth (every order once an order records
        _STEADY nodes, the next alone before), the others not at all.
        (nodes, the highest order predicted)."""
        later, reach = float(self._known_later), 0
        done, last = len(self.counts), self.counts[-1] if self.counts else 0
        if self.sequence is not None and last > 0:
            highest = max((order for order, count in self._unknown_later.items() if count > 0), default=0)
            for order in range(done + 1, (highest if last >= _STEADY else min(done + 1, highest)) + 1):
                step = self._continued(order)
                demand = self._demand.get(step, 0)
                if demand and step not in self._known:
                    later += demand * last * rate ** (order - done)
                    reach = order
        return later, reach

    def _continued(self, order: int) -> tuple:
        """The current sequence continued to `order` names (its last one repeated)."""
        sequence = self.sequence
        return sequence[:order] if order <= len(sequence) else sequence + sequence[-1:] * (order - len(sequence))

    def upper(self, orders: int) -> tuple[float, int, float]:
        """An upper estimate of the nodes still to come: the `orders` orders
        of the current sequence and every planned one, each order predicted
        at a rising growth (see _RISE_POWER). (nodes, the highest order
        predicted, the growth predicted for it)."""
        if not self.counts or self.counts[-1] == 0:
            return 0.0, 0, 1.0
        done, last = len(self.counts), self.counts[-1]
        steady = last >= _STEADY
        recent = self.counts[-3:] if steady else self.counts[-4:]
        ratios = [b / a for a, b in zip(recent, recent[1:]) if a > 0] or [1.0]
        rises = [b / a for a, b in zip(ratios, ratios[1:])]
        rise = min(max([1.0, *rises]) ** _RISE_POWER, _RISE_CAP)
        if not steady:
            rise = max(rise, _RISE_EARLY)
        unknown = {order: count for order, count in self._unknown_later.items() if count > 0}
        top = max([done + max(orders, 0), *unknown])
        estimates, growth, count = {}, max(ratios), float(last)
        for order in range(done + 1, top + 1):
            growth *= rise
            count *= growth
            estimates[order] = count
        total = sum(estimates[order] for order in range(done + 1, done + max(orders, 0) + 1))
        total += self._known_later
        for order, demand in unknown.items():
            total += demand * (estimates[order] if order > done else self.counts[order - 1])
        return total, top, growth

    def check_clock(self, done: int, total: int) -> None:
        if self.seconds is None:
            return
        elapsed = self.spent
        if elapsed > self.seconds and done < total:
            from autodiff.errors import LimitError
            from autodiff.limits import raise_hint

            raise LimitError(
                f"autograd's derivative of order {total} was stopped after order {done}: {elapsed:.2g} s of wall-clock "
                f"time, past the wall-clock timeout of {self.seconds:g} s (--limit autograd-seconds; where a timeout "
                f"stops depends on the machine and its load); lower the order, or {raise_hint('autograd-seconds')}"
            )


def _round_up(count: float) -> int:
    """A count rounded up to two significant digits (1,615 → 1,700), so that a
    suggested limit is enough."""
    if count == float("inf"):
        return 10**18
    count = math.ceil(count)
    if count < 100:
        return count
    unit = 10 ** (len(str(count)) - 2)
    return -(-count // unit) * unit


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

        def differentiate(current=current, name=name, weights=weights, last=last):
            return _grad(current, [leaves[name]], weights, create_graph=not last, retain_graph=True)[0]

        current = differentiate() if budget is None else budget.grad(current, step + 1, len(sequence), differentiate, sequence)
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
