"""The one program compiler: a SymPy tree → a straight-line program, for
any target (torch tensors in `lowering`, balls in `balls`, plain floats in
`floats`).

The tree is walked once, in the style of SymPy's printers: the rule for a
node is the first class in its MRO that has one, either an override (a
method of the compiler: symbols, constants, powers, Piecewise) or an entry
of the target's table of operations. Each distinct subexpression gets one
slot, so a shared subtree is computed once, and running the program again
(finite differences, many points, more precision) costs no more tree walks.

A target is a subclass of `Compiled`: its table (`rules`, class →
operation on its values), how it holds a constant (`constant`) and which
numeric exponents it computes by an operation of one argument
(`numeric_power`). Closed world: a node without a rule is an
UnsupportedError, never a generic fallback.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, ClassVar, Iterable, NamedTuple, Optional

import sympy

from autodiff.errors import UnsupportedError
from autodiff.language.functions import FUNCTIONS, FunctionSpec, Resolver

Op = Callable[..., Any]


class Instruction(NamedTuple):  # a tuple: cheap to make, as a stream compiles a program per line
    op: Optional[Op]  # None: load a variable (name) or a constant (value)
    args: tuple[int, ...] = ()
    name: Optional[str] = None
    value: Any = None  # a constant, as the target holds it
    detach: bool = False  # the node is detach(...): no gradient flows through it


def function_rules(resolver: Callable[[FunctionSpec], Optional[Resolver]], module: Any) -> dict[type, Op]:
    """The target's operation for each function of the one table that has
    a node class of its own: `resolver(spec)` applied to `module`."""
    return {
        spec.symbolic(sympy): resolver(spec)(module) for spec in FUNCTIONS if resolver(spec) is not None
    }


def rules_by_name(by_name: dict[str, Op]) -> dict[type, Op]:
    """The node class → rule of each function of the one table that
    `by_name` names and that has a node class of its own (a target whose
    rules are written by function name: Taylor mode, the ball series)."""
    rules: dict[type, Op] = {}
    for spec in FUNCTIONS:
        rule = by_name.get(spec.name)
        node = spec.symbolic(sympy)
        if rule is not None and isinstance(node, type):
            rules[node] = rule
    return rules


def sum_of(*args):
    """args[0] + args[1] + …, left to right (any values with +)."""
    total = args[0]
    for arg in args[1:]:
        total = total + arg
    return total


def product_of(*args):
    """args[0] * args[1] * …, left to right (any values with *)."""
    total = args[0]
    for arg in args[1:]:
        total = total * arg
    return total


class Compiled:
    """SymPy expressions compiled to a straight-line program.

    `instructions[i]` computes slot i from earlier slots; `nodes[i]` is the
    SymPy node it computes (None for a step of the target's own, such as
    torch's gradient gates); `output_slots` holds each expression's slot.
    Subclasses run the program on their values.
    """

    target: ClassVar[str]  # how an error names the target: "with torch"
    rules: ClassVar[dict[type, Op]]
    # Node classes compiled by a method rather than by the table.
    overrides: ClassVar[dict[type, str]] = {
        sympy.Symbol: "_compile_symbol",
        sympy.Atom: "_compile_constant",
        sympy.logic.boolalg.BooleanAtom: "_compile_constant",
        sympy.Pow: "_compile_power",
        sympy.Piecewise: "_compile_piecewise",
    }

    def __init__(self, exprs: Iterable):
        self.exprs = tuple(exprs)
        self.instructions: list[Instruction] = []
        self.nodes: list = []
        self._slots: dict = {}
        if len(self.exprs) == 1 and isinstance(self.exprs[0], Plan):
            self.output_slots = self._lower(self.exprs[0])
        else:
            self.output_slots = [self.emit(expr) for expr in self.exprs]

    def _lower(self, plan: "Plan") -> list[int]:
        """The instructions of a Plan (SymEngine trees walked once) on this target; the output slots."""
        slots: list[int] = []
        instructions = self.instructions
        table = _LOWERED.setdefault(type(self), {})
        if len(table) > 20_000:  # the constants of many expressions: start again
            table.clear()
        for kind, value, args in plan.steps:
            entry = table.get((kind, value))
            if entry is None:
                entry = table[(kind, value)] = self._lowered_step(kind, value)
            op, load = entry
            if op is None:  # a variable or a constant
                instructions.append(load)
            else:
                args = tuple([slots[i] for i in args])
                if load is not None:  # the general power: its constant exponent first
                    instructions.append(load)
                    args = (*args, len(instructions) - 1)
                instructions.append(Instruction(op, args))
            slots.append(len(instructions) - 1)
        self.nodes = [None] * len(instructions)
        return [slots[output] for output in plan.outputs]

    def _lowered_step(self, kind: str, value) -> tuple:
        """(operation, a load instruction) of a Plan's step on this target:
        (None, load) for a variable or a constant, (op, None) for an
        operation, (the general power, the exponent's load) for a power
        the target has no operation of one argument for."""
        target = type(self)
        if kind == "symbol":
            return None, Instruction(None, name=value)
        if kind == "constant":
            return None, Instruction(None, value=_constant_of(target, value))
        if kind == "power":
            unary = _power_of(target, value)
            if unary is None:
                return self.rules[sympy.Pow], Instruction(None, value=_constant_of(target, value))
            return unary, None
        op = self.rules.get(value)
        if op is None:
            raise UnsupportedError(f"cannot evaluate {value.__name__} {self.target}")
        return op, None

    @staticmethod
    def constant(node) -> Any:
        """A constant node's value, as the target holds it."""
        raise NotImplementedError

    @staticmethod
    def numeric_power(exponent) -> Optional[Op]:
        """An operation of one argument for a numeric exponent (sqrt for
        1/2); None: the table's general power of two arguments."""
        return None

    def emit(self, node, gate: Optional[int] = None) -> int:
        """The slot of `node`'s value; `gate` is the torch target's (a mask
        slot: see lowering.Program), None for the others."""
        key = (gate, node)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = self._compile(node, gate)
            self.nodes[slot] = node
        return slot

    def append(self, instruction: Instruction) -> int:
        self.instructions.append(instruction)
        self.nodes.append(None)
        return len(self.instructions) - 1

    def apply(self, op: Op, args: Iterable, gate: Optional[int] = None, detach: bool = False) -> int:
        """An instruction applying `op` to the values of the nodes `args`."""
        return self.append(Instruction(op, tuple(self.emit(arg, gate) for arg in args), detach=detach))

    def _compile(self, node, gate: Optional[int]) -> int:
        for cls in type(node).__mro__:
            override = self.overrides.get(cls)
            if override is not None:
                return getattr(self, override)(node, gate)
            op = self.rules.get(cls)
            if op is not None:
                return self.apply(op, node.args, gate)
        raise self.unsupported(node)

    def unsupported(self, node) -> UnsupportedError:
        return UnsupportedError(f"cannot evaluate {type(node).__name__} ({node}) {self.target}")

    def _compile_symbol(self, node, gate: Optional[int]) -> int:
        return self.append(Instruction(None, name=node.name))

    def _compile_constant(self, node, gate: Optional[int]) -> int:
        return self.append(Instruction(None, value=self.constant(node)))

    def _compile_power(self, node, gate: Optional[int]) -> int:
        unary = self.numeric_power(node.exp)
        if unary is not None:
            return self.apply(unary, (node.base,), gate)
        return self.apply(self.rules[sympy.Pow], node.args, gate)

    def _compile_piecewise(self, node, gate: Optional[int]) -> int:
        # The table's Piecewise takes value, condition, value, condition, ...
        return self.apply(self.rules[sympy.Piecewise], [part for pair in node.args for part in pair], gate)

    def slot(self, node) -> Optional[int]:
        """The instruction that computes `node` (ungated), None if none does."""
        return self._slots.get((None, node))

    def nodes_by_slot(self) -> dict[int, Any]:
        """The SymPy node of every instruction that computes one."""
        return {index: node for index, node in enumerate(self.nodes) if node is not None}


_MINUS_HALF = sympy.Rational(-1, 2)
_SYMENGINE = "symengine.lib.symengine_wrapper"
# Per target class, each Plan step's lowering ((kind, value) → `_lowered_step`), shared by every program.
_LOWERED: dict[type, dict] = {}


class Plan:
    """SymEngine trees (the scalar path's) as a straight-line program of
    no target: each distinct subexpression a step, ("symbol", name, ()),
    ("constant", node, ()), ("power", numeric exponent, (base,)) or
    ("rule", SymPy class, args), args being earlier steps. The trees are
    walked once; each target lowers the steps by its table (a target given
    a Plan: `FloatProgram(plan)`), with the same operations as SymPy's tree
    of the same expression. `head(n)`: the steps of the first n outputs
    alone (they come first)."""

    def __init__(self, exprs: Iterable = ()):
        self.steps: list[tuple] = []
        self._slots: dict = {}
        self.outputs = [self._emit(expr) for expr in exprs]

    def head(self, count: int) -> "Plan":
        plan = Plan()
        plan.outputs = self.outputs[:count]
        plan.steps = self.steps[: max(plan.outputs) + 1]
        return plan

    def _emit(self, node) -> int:
        slot = self._slots.get(node)
        if slot is not None:
            return slot
        if node.is_Symbol:
            step = ("symbol", node.name, ())
        else:
            args = node.args
            if not args:  # a number or a named constant
                step = ("constant", node, ())
            elif node.is_Pow and type(args[0]).__name__ == "Exp1":  # SymEngine holds exp(u) as e**u
                step = ("rule", sympy.exp, (self._emit(args[1]),))
            elif node.is_Pow and args[1].is_Number:
                step = ("power", args[1], (self._emit(args[0]),))
            else:
                cls = sympy.Pow if node.is_Pow else symengine_classes().get(type(node))
                if cls is None:
                    raise UnsupportedError(f"cannot evaluate {type(node).__name__} ({node})")
                step = ("rule", cls, tuple(self._emit(arg) for arg in args))
        self.steps.append(step)
        slot = self._slots[node] = len(self.steps) - 1
        return slot


@functools.cache
def symengine_classes() -> dict[type, type]:
    """SymEngine's node class → SymPy's, for the nodes of the scalar path's
    trees (autodiff.language.scalar_parsing) and their derivatives."""
    import symengine

    x = symengine.Symbol("x")
    classes = {symengine.Add: sympy.Add, symengine.Mul: sympy.Mul, type(symengine.polygamma(0, x)): sympy.polygamma}
    for spec in FUNCTIONS:
        node = getattr(symengine, spec.symbolic(sympy).__name__, None) if isinstance(spec.symbolic(sympy), type) else None
        if node is not None and spec.max_args == 1 and spec.symbolic(sympy) not in (sympy.Abs, sympy.sign, sympy.floor, sympy.ceiling):
            built = node(x)
            if type(built).__module__ == _SYMENGINE and built.args == (x,):
                classes[type(built)] = spec.symbolic(sympy)
    return classes


@functools.lru_cache(maxsize=1024)
def _power_of(target: type, exponent):
    """The target's operation of one argument for a SymEngine numeric exponent (None: the general power)."""
    return target.numeric_power(_sympy_atom(exponent))


@functools.lru_cache(maxsize=4096)
def _constant_of(target: type, node):
    """A SymEngine constant's value as `target` holds it (computed once: the same small numbers recur)."""
    return target.constant(_sympy_atom(node))


@functools.lru_cache(maxsize=4096)
def _sympy_atom(node):
    """A SymEngine number or named constant as SymPy's (the targets' constants read SymPy's)."""
    return node._sympy_()


def root_power(exponent) -> Optional[str]:
    """"sqrt" for the exponent 1/2, "rsqrt" for -1/2, "reciprocal" for -1
    (0.5 and -1.0 too): what a float target computes by an operation of its own."""
    if exponent == sympy.S.Half:
        return "sqrt"
    if exponent == _MINUS_HALF:
        return "rsqrt"
    if exponent == -1:
        return "reciprocal"
    return None


def float_exponent(exponent) -> Optional[float | int]:
    """A numeric exponent as a float power takes it: an int where it is one
    within 2^53 (exact in sign), else a float; None where it is not a real
    number (a symbol, I)."""
    if isinstance(exponent, sympy.Integer) and abs(int(exponent)) <= 2**53:
        return int(exponent)
    if exponent.is_Number and exponent.is_real:
        try:
            return float(exponent)  # an integer beyond int64 too: torch.pow takes no such int
        except OverflowError:
            raise UnsupportedError(f"the exponent {_digits(exponent)} is beyond the range of float64") from None
    return None


def _digits(number) -> str:
    text = str(abs(int(number)))
    return f"{'-' if number < 0 else ''}{text[0]}…({len(text)} digits)" if len(text) > 20 else str(number)
