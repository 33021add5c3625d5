"""SymPy tree → torch operations on tensors.

`compile_expression` walks the tree once, in the style of SymPy's printers
(the rule for a node is the first class in its MRO that has one), and emits
a straight-line program: one instruction per distinct subexpression, so a
shared subtree is computed once, and calling the program again (finite
differences, symbolic derivatives, many points) costs no more tree walks.
Closed world: a node without a rule is an UnsupportedError.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

import sympy
import torch

from autodiff.engine.declared import torch_function
from autodiff.language.declared import DeclaredCall
from autodiff.errors import UnsupportedError
from autodiff.language.functions import FUNCTIONS, FUNCTIONS_BY_NAME
from autodiff.language.parsing import float_decimal

Op = Callable[..., Any]

# Node classes with their own torch operation, from the one function table.
_FUNCTION_OPS: dict[type, Op] = {
    spec.symbolic(sympy): spec.torch(torch) for spec in FUNCTIONS if spec.torch is not None
}


_DETACH = FUNCTIONS_BY_NAME["detach"].symbolic(sympy)


def _heaviside(x, h0=None):
    # Not torch.heaviside: it has no derivative formula. The step is flat
    # away from 0, so a comparison (no gradient) is the right derivative.
    at_zero = 0.5 if h0 is None else h0
    return torch.where(x > 0, 1.0, torch.where(x < 0, 0.0, at_zero)).to(x.dtype)


def _dirac_delta(x, *order):
    # Zero away from 0; no real value at 0.
    return torch.where(x == 0, torch.nan, torch.zeros_like(x))


def _polygamma(n, x):
    return torch.polygamma(int(n.item()), x)


def _pow(base, exponent):
    """base ** exponent for a tensor exponent.

    torch.pow's double backward drops the exponent's derivative where the
    exponent is 0 ((1+x)^x: second derivative 1 instead of 2), so a positive
    base goes through exp(e·log b). The other branch sees a safe base of 1:
    an untaken branch of torch.where must not produce nan, or its zero
    gradient becomes 0·nan = nan.
    """
    positive = base > 0
    safe_base = torch.where(positive, base, torch.ones_like(base))
    return torch.where(positive, torch.exp(exponent * torch.log(safe_base)), torch.pow(base, exponent))


def _reduce(op: Op) -> Op:
    return lambda *args: functools.reduce(op, args)


def _piecewise(*values_and_conditions):
    # where(c1, e1, where(c2, e2, ... default)); without a final True, nan.
    pairs = list(zip(values_and_conditions[::2], values_and_conditions[1::2]))
    result = torch.tensor(torch.nan, dtype=pairs[0][0].dtype)
    for value, condition in reversed(pairs):
        result = torch.where(condition, value, result)
    return result


_NODE_OPS: dict[type, Op] = {
    sympy.Add: _reduce(torch.add),
    sympy.Mul: _reduce(torch.mul),
    sympy.Min: _reduce(torch.minimum),
    sympy.Max: _reduce(torch.maximum),
    sympy.Heaviside: _heaviside,
    sympy.DiracDelta: _dirac_delta,
    sympy.polygamma: _polygamma,
    sympy.StrictLessThan: torch.lt,
    sympy.LessThan: torch.le,
    sympy.StrictGreaterThan: torch.gt,
    sympy.GreaterThan: torch.ge,
    sympy.Equality: torch.eq,
    sympy.Unequality: torch.ne,
    sympy.And: _reduce(torch.logical_and),
    sympy.Or: _reduce(torch.logical_or),
    sympy.Not: torch.logical_not,
    # where(where(c, a, b) > 1, ...): SymPy folds the inner where into the condition as ITE(c, a > 1, b > 1).
    sympy.ITE: torch.where,
    **_FUNCTION_OPS,
}


def _pow_op(exponent) -> Optional[Op]:
    """A unary op for a numeric exponent, keeping integer powers exact in sign."""
    if exponent == sympy.Rational(1, 2):
        return torch.sqrt
    if exponent == sympy.Rational(-1, 2):
        return torch.rsqrt
    if exponent == -1:
        return torch.reciprocal
    if isinstance(exponent, sympy.Integer) and abs(int(exponent)) <= 2**53:
        power = int(exponent)
        return lambda x: torch.pow(x, power)
    if exponent.is_Number and exponent.is_real:
        try:
            power = float(exponent)  # an integer beyond int64 too: torch.pow takes no such int
        except OverflowError:
            raise UnsupportedError(f"the exponent {_digits(exponent)} is beyond the range of float64") from None
        return lambda x: torch.pow(x, power)
    return None


def _digits(number) -> str:
    text = str(abs(int(number)))
    return f"{'-' if number < 0 else ''}{text[0]}…({len(text)} digits)" if len(text) > 20 else str(number)


def _constant(node) -> float | bool:
    if node is sympy.true or node is sympy.false:
        return bool(node)
    if node is sympy.zoo or node is sympy.nan:
        return math.nan
    if isinstance(node, sympy.Float) and node._prec > 53:
        # SymPy holds the literal 1.106527255605534 in 56 bits; rounding those to
        # 53 is a second rounding (1.1065272556055339). The double nearest the
        # decimal itself is one rounding (Python's float() of text is correctly rounded).
        text = float_decimal(node)
        if text is not None:
            return float(text)
    try:
        return float(node)
    except (TypeError, ValueError):  # complex (I, log(-1) = I*pi): no real value
        return math.nan


@dataclass(frozen=True)
class Instruction:
    op: Optional[Op]  # None: load a variable (name) or a constant (value)
    args: tuple[int, ...] = ()
    name: Optional[str] = None
    value: Any = None
    detach: bool = False  # the node is detach(...): no gradient flows through it


class Program:
    """A compiled expression: call it with tensors for its variables.

    A program compiled from several expressions (a Jacobian's components,
    a Hessian's symbolic entries) computes their shared subexpressions once;
    `outputs` gives all their values, calling it the first one's.
    """

    def __init__(self, *exprs):
        self.exprs = exprs
        self.instructions: list[Instruction] = []
        self._slots: dict[Any, int] = {}
        self.output_slots = [self._emit(expr) for expr in exprs]
        self.output = self.output_slots[0]
        self._constants: dict[torch.dtype, dict[int, torch.Tensor]] = {}

    def __call__(
        self,
        env: dict[str, torch.Tensor],
        dtype: torch.dtype = torch.float64,
        frozen: Optional[dict[int, torch.Tensor]] = None,
    ) -> torch.Tensor:
        """Run the program; `frozen` overrides the values of some instructions."""
        return self._run(env, dtype, frozen or {})[self.output]

    def outputs(
        self,
        env: dict[str, torch.Tensor],
        dtype: torch.dtype = torch.float64,
        frozen: Optional[dict[int, torch.Tensor]] = None,
    ) -> list[torch.Tensor]:
        """The value of every expression the program was compiled from."""
        values = self._run(env, dtype, frozen or {})
        return [values[slot] for slot in self.output_slots]

    def trace(self, env: dict[str, torch.Tensor], dtype: torch.dtype = torch.float64) -> list[Any]:
        """Every instruction's value, in order (`autodiff graph` reads the intermediates)."""
        return self._run(env, dtype, {})

    def slot(self, node) -> Optional[int]:
        """The instruction that computes `node` (ungated), None if none does."""
        return self._slots.get((None, node))

    def expr_of(self, slot: int):
        """The SymPy node an instruction computes."""
        return next(node for (_, node), index in self._slots.items() if index == slot)

    def nodes_by_slot(self) -> dict[int, Any]:
        """The SymPy node of every instruction that computes one (`autodiff graph` labels its nodes)."""
        return {index: node for (_, node), index in self._slots.items()}

    def detached_values(self, env: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[int, torch.Tensor]:
        """The value of every detach(...) at `env`, to hold fixed while other
        evaluations move the variables (finite differences), as autograd does."""
        if not any(i.detach for i in self.instructions):
            return {}
        with torch.no_grad():
            values = self._run(env, dtype, {})
        return {index: values[index] for index, i in enumerate(self.instructions) if i.detach}

    def _run(self, env, dtype, frozen) -> list[Any]:
        constants = self._constants_for(dtype)
        values: list[Any] = []
        for index, instruction in enumerate(self.instructions):
            if index in frozen:
                values.append(frozen[index])
            elif instruction.op is not None:
                values.append(instruction.op(*(values[i] for i in instruction.args)))
            elif instruction.name is not None:
                values.append(env[instruction.name])
            else:
                values.append(constants[index])
        return values

    def _constants_for(self, dtype: torch.dtype) -> dict[int, torch.Tensor]:
        if dtype not in self._constants:
            self._constants[dtype] = {
                index: torch.tensor(i.value, dtype=torch.bool if isinstance(i.value, bool) else dtype)
                for index, i in enumerate(self.instructions)
                if i.op is None and i.name is None
            }
        return self._constants[dtype]

    def _emit(self, node, gate: Optional[int] = None) -> int:
        """The slot of `node`'s value; under `gate` (a mask slot), variables
        carry gradient only where the mask holds (see _emit_piecewise)."""
        key = (gate, node)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = self._emit_new(node, gate)
        return slot

    def _append(self, instruction: Instruction) -> int:
        self.instructions.append(instruction)
        return len(self.instructions) - 1

    def _emit_new(self, node, gate: Optional[int]) -> int:
        if isinstance(node, sympy.Symbol):
            if gate is not None:
                return self._append(Instruction(_gated, (gate, self._emit(node))))
            return self._append(Instruction(None, name=node.name))
        if not node.free_symbols and (node.is_Atom or isinstance(node, sympy.logic.boolalg.BooleanAtom)):
            return self._append(Instruction(None, value=_constant(node)))
        if isinstance(node, sympy.Pow):
            unary = _pow_op(node.exp)
            if unary is not None:
                return self._append(Instruction(unary, (self._emit(node.base, gate),)))
            return self._append(Instruction(_pow, (self._emit(node.base, gate), self._emit(node.exp, gate))))
        if isinstance(node, sympy.Piecewise):
            return self._emit_piecewise(node, gate)
        if isinstance(node, DeclaredCall):  # a declared derivative: a torch.autograd.Function
            return self._append(Instruction(torch_function(type(node), compile_expressions).apply, tuple(self._emit(arg, gate) for arg in node.args)))
        for cls in type(node).__mro__:
            op = _NODE_OPS.get(cls)
            if op is not None:
                args = tuple(self._emit(arg, gate) for arg in node.args)
                return self._append(Instruction(op, args, detach=cls is _DETACH))
        raise UnsupportedError(f"cannot evaluate {type(node).__name__} ({node}) with torch")

    def _emit_piecewise(self, node, gate: Optional[int]) -> int:
        """where(c1, e1, where(c2, e2, …)), each branch fed variables that
        carry gradient only where that branch is taken.

        torch.where passes a zero gradient to the untaken branch, and a zero
        times a nan or infinite local derivative (sqrt at -1) is nan: without
        the gate, where(x > 0, sqrt(x), 0) has gradient nan at x = -1.
        """
        args: list[int] = []
        earlier: Optional[int] = None  # any earlier condition held
        for value, condition in node.args:
            held = self._emit(condition, gate)
            taken = held if earlier is None else self._append(Instruction(_first_hold, (held, earlier)))
            if gate is not None:
                taken = self._append(Instruction(torch.logical_and, (taken, gate)))
            args += [self._emit(value, taken), held]
            earlier = held if earlier is None else self._append(Instruction(torch.logical_or, (earlier, held)))
        return self._append(Instruction(_piecewise, tuple(args)))


def _gated(mask, variable):
    # Gradient flows into `variable` only where `mask` holds.
    return torch.where(mask, variable, variable.detach())


def _first_hold(held, earlier):
    return held & ~earlier


def compile_expression(expr) -> Program:
    return Program(expr)


def compile_expressions(exprs) -> Program:
    """One program for several expressions; `Program.outputs` gives each value."""
    return Program(*exprs)
