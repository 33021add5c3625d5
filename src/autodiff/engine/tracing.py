"""The autograd graph of an expression at a point.

The lowered program runs forward on leaf tensors (`requires_grad=True`),
then backward; the graph is read from the output's `grad_fn` and each
node's `next_functions`, back to the `AccumulateGrad` node of every leaf.
Every intermediate tensor is kept with `retain_grad()`, so its `.grad` can
be shown beside `data`, `requires_grad`, `is_leaf` and `grad_fn`, and each
node carries the subexpression it computes (from the lowering's SymPy node
of its instruction). A node is visited once however many paths reach it:
the graph is a DAG.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import sympy
import torch

from autodiff.engine.calculus import make_leaves
from autodiff.engine.lowering import Program
from autodiff.language.notation import machine
from autodiff.points import Point


@dataclass
class GraphNode:
    id: int
    kind: str  # "function" (a grad_fn), "leaf" (AccumulateGrad), or "untracked" (an input without gradient)
    name: str  # AddBackward0, AccumulateGrad, detach(y), constant
    inputs: list[int] = field(default_factory=list)  # the nodes it passes gradient to, in next_functions order
    variable: Optional[str] = None  # a leaf's variable
    tensor: Optional[dict] = None  # data, requires_grad, is_leaf, grad_fn, grad: of the tensor this node made
    subexpression: Optional[str] = None  # what the node computes, in the machine form (`x**2`, `2*x + 4`)
    within: Optional[str] = None  # a step inside one operation (x**y), without a subexpression of its own: that operation


def trace(program: Program, point: Point, names: list[str], frozen=()) -> tuple[list[GraphNode], Optional[int], dict, Any]:
    """Nodes (output first), the output node's id (None when nothing is
    tracked), each leaf's attributes by variable, and the output value.
    `frozen`: variables whose leaves do not require grad (untracked inputs)."""
    dtype = torch.float64
    leaves = make_leaves(point, names, dtype, requires_grad=True)
    for name in frozen:
        leaves[name].requires_grad_(False)
    values = program.trace(leaves, dtype)
    output = values[program.output]
    made_by: dict[int, tuple[int, torch.Tensor]] = {}  # id(grad_fn) → (instruction, tensor)
    for index, value in enumerate(values):
        if isinstance(value, torch.Tensor) and value.grad_fn is not None:
            made_by.setdefault(id(value.grad_fn), (index, value))
            value.retain_grad()
    if output.requires_grad:
        output.backward(torch.ones_like(output))
    leaf_names = {id(tensor): name for name, tensor in leaves.items()}
    leaf_info = {name: describe(tensor) for name, tensor in leaves.items()}
    if output.grad_fn is None:
        if output.requires_grad:  # the output is a leaf itself (f = x): its own AccumulateGrad
            variable = leaf_names.get(id(output))
            node = GraphNode(1, "leaf", "AccumulateGrad", variable=variable, tensor=describe(output), subexpression=variable)
            return [node], 1, leaf_info, output.detach()
        return [], None, leaf_info, output.detach()
    walker = _Walker(program, made_by, leaf_names, {name: leaves[name] for name in frozen}, values)
    walker.visit(output.grad_fn)
    # Number the nodes 1, 2, … in the order of the walk, which is the order the tree prints them (the output is 1).
    number = {node.id: index for index, node in enumerate(walker.nodes, start=1)}
    for node in walker.nodes:
        node.id, node.inputs = number[node.id], [number[i] for i in node.inputs]
    return walker.nodes, 1, leaf_info, output.detach()


class _Walker:
    def __init__(self, program: Program, made_by: dict, leaf_names: dict, frozen: Optional[dict] = None,
                 values: Optional[list] = None):
        self.frozen = frozen or {}  # variable → its leaf without requires_grad
        # With frozen variables: the instructions computed from them (and constants) alone, untracked too.
        self.untracked_values = {
            index: value for index, value in enumerate(values or [])
            if self.frozen and isinstance(value, torch.Tensor) and value.is_floating_point() and not value.requires_grad
        }
        self.program = program
        self.made_by = made_by
        self.leaf_names = leaf_names
        self.nodes: list[GraphNode] = []
        self.seen: set[int] = set()
        self.untracked = 0
        self.owner: dict[int, int] = {}  # id(grad_fn) → instruction, for nodes inside an instruction
        self.prefix: dict[int, int] = {}  # id(grad_fn) → how many leading arguments of its sum or product it combines
        self.remaining: dict[int, Any] = {}  # instruction → its untracked arguments not yet shown
        self.expressions = program.nodes_by_slot()

    def visit(self, function) -> int:
        # Iterative depth-first walk: a deep expression must not hit Python's recursion limit.
        # A node is placed at its first visit and an untracked input in its place among
        # its consumer's inputs: the order in which the tree view prints them.
        stack: list[Any] = [function]
        while stack:
            item = stack.pop()
            if isinstance(item, GraphNode):
                self.nodes.append(item)
                continue
            if id(item) in self.seen:
                continue
            self.seen.add(id(item))
            node, inputs = self.node(item)
            self.nodes.append(node)
            stack.extend(reversed(inputs))
        return id(function)

    def node(self, fn) -> tuple[GraphNode, list]:
        """The node of `fn`, and its inputs to visit: grad_fns, and untracked GraphNodes."""
        name = fn.name().rsplit("::", 1)[-1]  # torch::autograd::AccumulateGrad → AccumulateGrad
        if hasattr(fn, "variable"):  # AccumulateGrad: the leaf's own node
            tensor = fn.variable
            variable = self.leaf_names.get(id(tensor))
            return GraphNode(id(fn), "leaf", name, variable=variable, tensor=describe(tensor), subexpression=variable), []
        made = self.made_by.get(id(fn))
        node = GraphNode(id(fn), "function", name, tensor=describe(made[1]) if made else None)
        # A node with no tensor of its own is inside an instruction (the inner
        # additions of a sum): it belongs to the instruction of its consumer.
        instruction = made[0] if made else self.owner.get(id(fn))
        expression = self.expressions.get(instruction)
        arguments = None  # for a sum or product: how many of its leading arguments this node adds or multiplies
        if isinstance(expression, _REDUCED):
            arguments = len(expression.args) if made else self.prefix.get(id(fn))
        if made or arguments is not None:
            node.subexpression = _machine(expression if made else type(expression)(*expression.args[:arguments]))
        elif expression is not None:
            node.within = _machine(expression)
        inputs = []
        for position, (child, _) in enumerate(fn.next_functions):
            if child is None:
                inputs.append(self.untracked_node(self.next_untracked(instruction)))
                node.inputs.append(inputs[-1].id)
                continue
            if id(child) not in self.made_by and instruction is not None:
                self.owner.setdefault(id(child), instruction)
                if position == 0 and arguments is not None:  # (a + b) + c: the first input adds one argument fewer
                    self.prefix.setdefault(id(child), arguments - 1)
            node.inputs.append(id(child))
            inputs.append(child)
        return node, inputs

    def next_untracked(self, instruction: Optional[int]) -> Optional[int]:
        """The instruction's next argument without gradient (a constant or detach(...)), in order."""
        if instruction is None:
            return None
        if instruction not in self.remaining:
            self.remaining[instruction] = iter(self.untracked_arguments(instruction))
        return next(self.remaining[instruction], None)

    def untracked_arguments(self, instruction: int) -> list[int]:
        instructions = self.program.instructions
        return [
            i for i in instructions[instruction].args
            if instructions[i].detach or (instructions[i].op is None and instructions[i].name is None)
            or instructions[i].name in self.frozen or i in self.untracked_values
        ]

    def untracked_node(self, instruction: Optional[int]) -> GraphNode:
        """An input that passes no gradient back: a constant, or detach(...)."""
        self.untracked += 1
        name, expression = "constant", None
        if instruction is not None:
            source = self.program.instructions[instruction]
            expression = self.expressions.get(instruction)
            if source.name in self.frozen:
                return GraphNode(-self.untracked, "untracked", f"{source.name} (frozen: requires_grad=False)",
                                 variable=source.name, tensor=describe(self.frozen[source.name]),
                                 subexpression=source.name)
            if source.detach:
                name = f"detach({_machine(self.expressions[source.args[0]])}): tracking stops"
            elif source.op is not None and instruction in self.untracked_values:
                return GraphNode(-self.untracked, "untracked", "computed from frozen variables: requires_grad=False",
                                 tensor=describe(self.untracked_values[instruction]), subexpression=_machine(expression))
            elif not isinstance(source.value, bool):
                name = f"constant {source.value:g}"
        return GraphNode(-self.untracked, "untracked", name, subexpression=_machine(expression))


# SymPy nodes the lowering computes as a chain of binary operations ((a + b) + c).
_REDUCED = (sympy.Add, sympy.Mul, sympy.Min, sympy.Max)


def _machine(expression) -> Optional[str]:
    return None if expression is None else machine(expression)


def describe(tensor: torch.Tensor) -> dict:
    """The attributes the tutorials teach, as plain values."""
    grad = tensor.grad
    return {
        "data": _plain(tensor.detach()),
        "requires_grad": tensor.requires_grad,
        "is_leaf": tensor.is_leaf,
        "grad_fn": None if tensor.grad_fn is None else tensor.grad_fn.name(),
        "grad": None if grad is None else _plain(grad),
    }


def _plain(tensor: torch.Tensor):
    values = tensor.double()
    return values.item() if values.dim() == 0 else values.tolist()
