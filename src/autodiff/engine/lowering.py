"""The torch target of the program compiler (autodiff.engine.program):
SymPy tree → a straight-line program on tensors.

The target's table maps node classes to torch operations; its overrides
keep autograd right where a plain operation would not: a Piecewise feeds
each branch variables that carry gradient only where the branch is taken,
detach(...) is marked so that other evaluations hold it fixed, and a
declared derivative (a DeclaredCall) is a torch.autograd.Function.
"""

from __future__ import annotations

import functools
from typing import Any, Optional

import sympy
import torch

from autodiff.engine.declared import torch_function
from autodiff.engine.floats import double
from autodiff.engine.program import Compiled, Instruction, Op, float_exponent, function_rules, root_power
from autodiff.language.declared import DeclaredCall
from autodiff.language.functions import FUNCTIONS_BY_NAME

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


TORCH_RULES: dict[type, Op] = {
    sympy.Add: _reduce(torch.add),
    sympy.Mul: _reduce(torch.mul),
    sympy.Pow: _pow,
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
    sympy.Piecewise: _piecewise,
    **function_rules(lambda spec: spec.torch, torch),
}

_ROOTS: dict[str, Op] = {"sqrt": torch.sqrt, "rsqrt": torch.rsqrt, "reciprocal": torch.reciprocal}


class Program(Compiled):
    """A compiled expression: call it with tensors for its variables.

    A program compiled from several expressions (a Jacobian's components,
    a Hessian's symbolic entries) computes their shared subexpressions once;
    `outputs` gives all their values, calling it the first one's.
    """

    target = "with torch"
    rules = TORCH_RULES
    overrides = {**Compiled.overrides, DeclaredCall: "_compile_declared", _DETACH: "_compile_detach"}
    constant = staticmethod(double)  # as a float; a tensor of each dtype once run (_constants_for)

    def __init__(self, *exprs):
        super().__init__(exprs)
        self.output = self.output_slots[0]
        self._constants: dict[torch.dtype, dict[int, torch.Tensor]] = {}

    @staticmethod
    def numeric_power(exponent) -> Optional[Op]:
        """Integer powers stay exact in sign (torch.pow with an int)."""
        root = root_power(exponent)
        if root is not None:
            return _ROOTS[root]
        power = float_exponent(exponent)
        return None if power is None else lambda x: torch.pow(x, power)

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

    def expr_of(self, slot: int):
        """The SymPy node an instruction computes."""
        return self.nodes[slot]

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
        append = values.append
        for index, (op, args, name, _, _) in enumerate(self.instructions):
            if frozen and index in frozen:
                append(frozen[index])
            elif op is not None:
                append(op(*[values[i] for i in args]))
            elif name is not None:
                append(env[name])
            else:
                append(constants[index])
        return values

    def _constants_for(self, dtype: torch.dtype) -> dict[int, torch.Tensor]:
        if dtype not in self._constants:
            self._constants[dtype] = {
                index: _constant_tensor(i.value.hex() if isinstance(i.value, float) else i.value, dtype)
                for index, i in enumerate(self.instructions)
                if i.op is None and i.name is None
            }
        return self._constants[dtype]

    def _compile_symbol(self, node, gate: Optional[int]) -> int:
        if gate is not None:  # under a mask slot: gradient flows only where the mask holds (_compile_piecewise)
            return self.append(Instruction(_gated, (gate, self.emit(node))))
        return super()._compile_symbol(node, gate)

    def _compile_detach(self, node, gate: Optional[int]) -> int:
        return self.apply(self.rules[_DETACH], node.args, gate, detach=True)

    def _compile_declared(self, node, gate: Optional[int]) -> int:
        # A declared derivative: a torch.autograd.Function.
        return self.apply(torch_function(type(node), compile_expressions).apply, node.args, gate)

    def _compile_piecewise(self, node, gate: Optional[int]) -> int:
        """where(c1, e1, where(c2, e2, …)), each branch fed variables that
        carry gradient only where that branch is taken.

        torch.where passes a zero gradient to the untaken branch, and a zero
        times a nan or infinite local derivative (sqrt at -1) is nan: without
        the gate, where(x > 0, sqrt(x), 0) has gradient nan at x = -1.
        """
        args: list[int] = []
        earlier: Optional[int] = None  # any earlier condition held
        for value, condition in node.args:
            held = self.emit(condition, gate)
            taken = held if earlier is None else self.append(Instruction(_first_hold, (held, earlier)))
            if gate is not None:
                taken = self.append(Instruction(torch.logical_and, (taken, gate)))
            args += [self.emit(value, taken), held]
            earlier = held if earlier is None else self.append(Instruction(torch.logical_or, (earlier, held)))
        return self.append(Instruction(self.rules[sympy.Piecewise], tuple(args)))


@functools.lru_cache(maxsize=4096)
def _constant_tensor(value, dtype: torch.dtype) -> torch.Tensor:
    """A constant's 0-d tensor, made once for every program (a stream makes
    one per line; nothing writes into a constant). `value`: a float's hex
    text (-0.0 is not 0.0 there), a bool, or an int."""
    if isinstance(value, str):
        value = float.fromhex(value)
    return torch.tensor(value, dtype=torch.bool if isinstance(value, bool) else dtype)


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
