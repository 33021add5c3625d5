"""Points where a derivative does not exist (design §6).

At a kink autograd returns a subgradient by convention (relu'(0) = 0,
|x|'(0) = 0, max(x, 0)'(0) = 1/2), SymPy returns something else
(Heaviside(0) = 1/2), and a central finite difference straddles the corner:
three witnesses that "disagree" about a number that does not exist.

Detection has two steps, so that a smooth point is never flagged:

1. Candidates. Every node that can switch branches has a *switch*: the
   argument of abs, relu, sign, heaviside and acot; the arguments of max and min
   (a tie); the argument of floor and ceil (an integer); each comparison of
   a where/Piecewise condition. A point is a candidate when a switch is at
   its switching value up to the rounding of the numbers that computed it.
   Smooth expressions have no switches, and cost nothing here.
2. One-sided derivatives. At candidates, autograd evaluates the derivative
   at x ± δ (and x ± δ/2, for a Richardson step towards x) along each
   variable the switch depends on, and the derivative one order lower for a
   jump (floor at 1: the left derivative is +∞). Only where the left and
   right values differ is the derivative reported as not existing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import sympy
import torch

from autodiff.engine.calculus import Budget
from autodiff.limits import DEFAULT_LIMITS
from autodiff.engine.lowering import Program, compile_expressions
from autodiff.language.symbolic_functions import ceiling, floor, relu

_EPS = torch.finfo(torch.float64).eps
_ROUNDING = 64 * _EPS  # a switch this close to its switching value (relative to its inputs) is at it
_STEP = 1e-8  # δ, relative to max(1, |x|): far below any honest kink spacing, far above rounding
_OFFSETS = (-1.0, -0.5, 0.0, 0.5, 1.0)  # in steps δ
_SAME = dict(rtol=1e-6, atol=1e-9)  # left and right values this close are one value


@dataclass(frozen=True)
class Switch:
    """A node that can switch branches, and the expressions that say when."""

    node: object  # the SymPy node, named in warnings
    kind: str  # "zero": args[0] == 0; "equal": args[0] == args[1]; "integer"; "extreme": a tie of max/min
    args: tuple
    names: frozenset  # the variables the switch depends on


def find_switches(exprs: Sequence) -> list[Switch]:
    found: dict = {}
    for expr in exprs:
        for node in sympy.preorder_traversal(expr):
            for switch in _switches_of(node):
                if switch.names:
                    found.setdefault((switch.kind, switch.args), switch)
    return list(found.values())


def _switches_of(node) -> list[Switch]:
    def make(kind, *args):
        names = frozenset(s.name for arg in args for s in arg.free_symbols)
        return Switch(node, kind, tuple(args), names)

    if isinstance(node, (sympy.Abs, sympy.sign, relu, sympy.Heaviside, sympy.acot)):  # acot jumps at 0
        return [make("zero", node.args[0])]
    if isinstance(node, (floor, ceiling, sympy.floor, sympy.ceiling)):
        return [make("integer", node.args[0])]
    if isinstance(node, (sympy.Max, sympy.Min)):
        return [make("extreme", *node.args)]
    if isinstance(node, sympy.Piecewise):
        return [
            make("equal", relation.lhs, relation.rhs)
            for _, condition in node.args
            for relation in _relations(condition)
        ]
    return []


def _relations(condition) -> list:
    if isinstance(condition, sympy.core.relational.Relational):
        return [condition]
    if isinstance(condition, sympy.logic.boolalg.Boolean) and condition.args:
        return [relation for arg in condition.args for relation in _relations(arg)]
    return []


def _at_switch(switches: list[Switch], env: dict[str, torch.Tensor], size: int) -> list[torch.Tensor]:
    """For each switch, a (size,) mask of the points where it is at its switching value."""
    exprs = [arg for switch in switches for arg in switch.args]
    program = compile_expressions(exprs)
    with torch.no_grad():
        values = program.trace(env, torch.float64)
    # scale[i]: the largest magnitude among the numbers instruction i was computed from.
    scale: list = []
    for instruction, value in zip(program.instructions, values):
        magnitude = _magnitude(value)
        for arg in instruction.args:
            magnitude = torch.maximum(magnitude, scale[arg])
        scale.append(magnitude)
    outputs = iter(program.output_slots)
    masks = []
    for switch in switches:
        slots = [next(outputs) for _ in switch.args]
        args = [values[slot].to(torch.float64).expand(size) for slot in slots]
        bound = _ROUNDING * torch.stack([scale[slot].expand(size) for slot in slots]).amax(dim=0)
        if switch.kind == "zero":
            mask = args[0].abs() <= bound
        elif switch.kind == "equal":
            mask = (args[0] - args[1]).abs() <= bound
        elif switch.kind == "integer":
            mask = (args[0] - args[0].round()).abs() <= bound
        else:  # a tie for the largest or the smallest argument
            stacked = torch.stack(args)
            extreme = stacked.amax(dim=0) if isinstance(switch.node, sympy.Max) else stacked.amin(dim=0)
            mask = ((stacked - extreme).abs() <= bound).sum(dim=0) >= 2
        masks.append(mask & torch.isfinite(torch.stack(args)).all(dim=0))
    return masks


def branch_changes(exprs: Sequence, values: dict[str, torch.Tensor], size: int) -> torch.Tensor:
    """Between each two neighbouring points of a path (`values`: float64
    tensors of `size` points, or single values), whether a switch of `exprs`
    is on different branches at the two, or at its switching value at
    either: a (size - 1,) mask of where the expressions may jump or kink
    (a plot's line breaks there where the curve jumps)."""
    changes = torch.zeros(max(0, size - 1), dtype=torch.bool)
    switches = find_switches(exprs)
    if not switches or size < 2:
        return changes
    program = compile_expressions([arg for switch in switches for arg in switch.args])
    with torch.no_grad():
        computed = program.outputs(values, torch.float64)
    outputs = iter(computed)
    for switch in switches:
        args = [torch.as_tensor(next(outputs), dtype=torch.float64).expand(size) for _ in switch.args]
        if switch.kind == "zero":
            branches = [torch.sign(args[0])]
        elif switch.kind == "equal":
            branches = [torch.sign(args[0] - args[1])]
        elif switch.kind == "integer":
            branches = [torch.floor(args[0]), torch.ceil(args[0])]
        else:  # which argument is the largest (the smallest)
            stacked = torch.stack(args)
            branches = [(stacked.argmax(dim=0) if isinstance(switch.node, sympy.Max) else stacked.argmin(dim=0)).double()]
        for branch in branches:
            changes |= branch[1:] != branch[:-1]
    return changes


def _magnitude(value) -> torch.Tensor:
    value = torch.as_tensor(value).detach().to(torch.float64).abs()
    return torch.nan_to_num(value, nan=0.0, posinf=0.0)


@dataclass
class Kinks:
    """Per task and point: whether the derivative does not exist, and the
    one-sided derivatives there (nan elsewhere); tensors (tasks, size)."""

    mask: torch.Tensor
    left: torch.Tensor
    right: torch.Tensor
    switch: list  # per task: the Switch of its first kink, or None
    candidates: torch.Tensor  # (tasks, size): a switch of the task's variables is at its switching value


def find_kinks(
    program: Program,
    exprs: Sequence,
    values: dict[str, torch.Tensor],
    tasks: Sequence[tuple[int, Sequence[str]]],
    weights: Optional[torch.Tensor] = None,
    seconds: Optional[float] = None,
    nodes: Optional[int] = None,
) -> Optional[Kinks]:
    """The kinks of each task's derivative at the point `values` (float64
    tensors of one shape); None where no switch is at its switching value.

    The one-sided derivatives are nested autograd derivatives, bounded as
    the command's own are: `nodes` (the limit graph-nodes; None: its
    default) counts the nodes their graphs record, `seconds` (the limit
    autograd-seconds, off when None) is a wall-clock timeout."""
    switches = find_switches(exprs)
    owned = [set(find_switches([expr])) for expr in exprs]  # each output's own switches
    if not switches or not tasks:
        return None
    shape = next(iter(values.values())).shape if values else ()
    size = max(1, math.prod(shape))
    env = {name: value.expand(shape).reshape(size) for name, value in values.items()}
    at_switch = _at_switch(switches, env, size)
    # Which variables to move, and where, for each task.
    plans = []
    for output, sequence in tasks:
        directions = {}
        for name in dict.fromkeys(sequence):
            near = [
                (s, m) for s, m in zip(switches, at_switch) if name in s.names and s in owned[output] and bool(m.any())
            ]
            if near:
                directions[name] = near
        plans.append(directions)
    if not any(plans):
        return None
    n = len(tasks)
    mask = torch.zeros(n, size, dtype=torch.bool)
    left = torch.full((n, size), math.nan, dtype=torch.float64)
    right = torch.full((n, size), math.nan, dtype=torch.float64)
    first_switch: list = [None] * n
    candidates_of = torch.zeros(n, size, dtype=torch.bool)
    for t, plan in enumerate(plans):
        for near in plan.values():
            for _, m in near:
                candidates_of[t] |= m
    flat_weights = None if weights is None else weights.to(torch.float64).expand(shape).reshape(size)
    detached = program.detached_values(env, torch.float64)
    for name in dict.fromkeys(name for plan in plans for name in plan):
        candidates = torch.zeros(size, dtype=torch.bool)
        for plan in plans:
            for _, near in plan.get(name, []):
                candidates |= near
        index = candidates.nonzero().flatten()
        wanted = [name in plan for plan in plans]
        budget = Budget(DEFAULT_LIMITS.max_graph_nodes if nodes is None else nodes, seconds)
        sided = _one_sided(program, env, detached, name, index, tasks, wanted, budget)
        for t, (lo, hi, broken) in sided.items():
            if flat_weights is not None:
                lo, hi = lo * flat_weights[index], hi * flat_weights[index]
            # A broken lower derivative leaves no derivative even where both sides agree (sign at 0: +∞, +∞).
            differ = ~torch.isclose(lo, hi, equal_nan=True, **_SAME) | broken
            new = differ & ~mask[t, index] & candidates_of[t, index]  # only at the task's own switches
            chosen = index[new]
            mask[t, chosen] = True
            left[t, chosen], right[t, chosen] = lo[new], hi[new]
            if bool(new.any()) and first_switch[t] is None:
                point = int(chosen[0])
                first_switch[t] = next((s for s, m in plans[t][name] if bool(m[point])), plans[t][name][0][0])
    return Kinks(mask, left, right, first_switch, candidates_of)


def _one_sided(program, env, detached, name, index, tasks, wanted, budget) -> dict[int, tuple]:
    """Left and right values of each wanted task's derivative along `name`
    at the points `index`: autograd at x ± δ, x ± δ/2, extrapolated to x.

    The third tensor says where a derivative of lower order breaks: it jumps
    (then the derivative one order lower than the task's makes its sides
    ±∞: floor at 1), or its own left and right values differ (relu‴ at 0
    is 0 on both sides, but relu′ is not continuous there).
    """
    k = len(index)
    offsets = torch.tensor(_OFFSETS, dtype=torch.float64).view(-1, 1)
    rows = len(_OFFSETS)
    base = {n: v[index].unsqueeze(0).expand(rows, k) for n, v in env.items()}
    step = _STEP * base[name][0].abs().clamp(min=1.0)
    base[name] = base[name] + offsets * step
    leaves = {n: v.clone().requires_grad_(True) for n, v in base.items()}
    frozen = {slot: value[index] if value.dim() else value for slot, value in detached.items()}
    outputs = [out.expand(rows, k) for out in program.outputs(leaves, torch.float64, frozen)]
    sided = {}
    for t, ((output, sequence), want) in enumerate(zip(tasks, wanted)):
        if not want:
            continue
        prefixes = _prefixes(outputs[output], leaves, sequence, budget)  # f, then each derivative along the sequence
        g = prefixes[-1]
        lo, hi = 2 * g[1] - g[0], 2 * g[3] - g[4]
        broken = torch.zeros(k, dtype=torch.bool)
        pure = len(set(sequence)) == 1
        for order, lower in enumerate(prefixes[:-1]):
            here = lower[2]
            from_left, from_right = 2 * lower[1] - lower[0], 2 * lower[3] - lower[4]
            jump_left, jump_right = _jumps(from_left, here), _jumps(from_right, here)
            if pure or (order == len(sequence) - 1 and sequence[-1] == name):
                # A mixed partial looks only one order down, along its last
                # variable: ∂²(|x| + y²)/∂x∂y = 0 exists at x = 0 though ∂f/∂x does not.
                broken |= jump_left | jump_right
            if pure and order >= 1:
                broken |= ~torch.isclose(from_left, from_right, equal_nan=True, **_SAME)
            if order == len(sequence) - 1 and sequence[-1] == name:
                lo = torch.where(jump_left, torch.sign(here - from_left) * math.inf, lo)
                hi = torch.where(jump_right, torch.sign(from_right - here) * math.inf, hi)
        sided[t] = (lo, hi, broken)
    return sided


def _prefixes(output: torch.Tensor, leaves: dict, sequence, budget: Budget) -> list[torch.Tensor]:
    """[f, ∂f/∂s₀, ∂²f/∂s₁∂s₀, …] along the sequence, each detached."""
    current, found = output, [output.detach()]
    for step, name in enumerate(sequence):
        if current.requires_grad:
            def differentiate(current=current, name=name, step=step):
                return torch.autograd.grad(
                    current, [leaves[name]], torch.ones_like(current), create_graph=step < len(sequence) - 1,
                    retain_graph=True, allow_unused=True, materialize_grads=True,
                )[0]

            current = budget.grad(current, step + 1, len(sequence), differentiate)
        else:
            current = torch.zeros_like(current)
        found.append(current.detach())
    return found


def _jumps(limit: torch.Tensor, here: torch.Tensor) -> torch.Tensor:
    finite = torch.isfinite(limit) & torch.isfinite(here)
    return finite & ((limit - here).abs() > 1e-9 * torch.maximum(here.abs(), limit.abs()).clamp(min=1.0))


def convention(autograd: float, left: float, right: float) -> str:
    """Which one-sided value autograd's subgradient is: left, right, average or other."""
    def same(a, b):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) or (math.isinf(a) and a == b)

    if same(autograd, right):
        return "right"
    if same(autograd, left):
        return "left"
    if math.isfinite(left) and math.isfinite(right) and same(autograd, (left + right) / 2):
        return "average"
    return "other"
