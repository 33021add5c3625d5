"""Why a value is nan or infinite: the first operation that made it so
(design §6: "a warning naming the function and point").

The program is traced at the point, and the first instruction (in
evaluation order, among those the output depends on) whose value is not
finite although its arguments are, is the culprit: log(x) at x = -1, 1/x at
x = 0, exp(x) at x = 1000.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import sympy
import torch

from autodiff.engine.lowering import Program
from autodiff.language.notation import language_names, plain_text
from autodiff.text import number_text as _number, shortened as _short
from autodiff.language.symbolic_functions import root

# The operations that are not functions of the language, named for a message.
_OPERATIONS = {"Pow": "pow", "Mul": "a product", "Add": "a sum"}


@dataclass(frozen=True)
class Culprit:
    node: object  # the SymPy node
    value: float  # its value: nan or ±inf
    reason: str  # "log of a negative number (-1)"

    def describe(self, where: str = "") -> str:
        """`log(x) is nan at x=-1: log of a negative number (-1)`."""
        at = f" at {where}" if where else ""
        return f"{_short(plain_text(self.node))} is {_number(self.value)}{at}: {self.reason}"


def find_culprit(program: Program, env: dict[str, torch.Tensor], output: int, element: int,
                 dtype: torch.dtype = torch.float64) -> Optional[Culprit]:
    """The operation that first made output `output` non-finite at `element`
    (an index into the flattened point), or None if it is finite there."""
    with torch.no_grad():
        values = program.trace(env, dtype)

    def at(slot) -> float:
        value = torch.as_tensor(values[slot]).detach()
        flat = value.reshape(-1)
        return float(flat[element if flat.numel() > 1 else 0])

    slot = program.output_slots[output]
    if math.isfinite(at(slot)):
        return None
    needed = _ancestors(program, slot)
    for index in sorted(needed):
        instruction = program.instructions[index]
        value = at(index)
        if math.isfinite(value) or instruction.name is not None:
            continue
        args = [at(arg) for arg in instruction.args]
        if all(math.isfinite(a) for a in args):
            node = program.expr_of(index)
            return Culprit(node, value, _reason(node, args, value))
    return None


def _ancestors(program: Program, slot: int) -> set[int]:
    seen, stack = set(), [slot]
    while stack:
        index = stack.pop()
        if index not in seen:
            seen.add(index)
            stack.extend(program.instructions[index].args)
    return seen


def _reason(node, args: list[float], value: float) -> str:
    if not args:
        return "too large for float64" if math.isinf(value) else "not a real number"
    a = args[0]
    name = type(node).__name__
    if isinstance(node, sympy.Pow):
        exponent = args[1] if len(args) > 1 else float(node.exp)
        if a == 0 and exponent < 0:
            return "division by zero" if exponent == -1 else f"zero to a negative power ({_number(exponent)})"
        if a < 0 and not float(exponent).is_integer():
            if exponent == 0.5:
                return f"square root of a negative number ({_number(a)})"
            return f"a negative number ({_number(a)}) to a non-integer power ({_number(exponent)})"
    elif isinstance(node, sympy.log):
        if a < 0:
            return f"log of a negative number ({_number(a)})"
        if a == 0:
            return "log of zero"
    elif isinstance(node, (sympy.asin, sympy.acos)):
        return f"{_language(name)} outside [-1, 1] ({_number(a)})"
    elif isinstance(node, sympy.acosh):
        return f"acosh below 1 ({_number(a)})"
    elif isinstance(node, sympy.atanh):
        return f"atanh outside (-1, 1) ({_number(a)})"
    elif isinstance(node, (sympy.asec, sympy.acsc)) and abs(a) < 1:
        return f"{_language(name)} inside (-1, 1) ({_number(a)})"
    elif isinstance(node, sympy.asech) and (a < 0 or a > 1):
        return f"asech outside (0, 1] ({_number(a)})"
    elif isinstance(node, sympy.acoth) and abs(a) < 1:
        return f"acoth inside (-1, 1) ({_number(a)})"
    elif isinstance(node, root) and a < 0 and args[1] != 0:
        kind = "an even" if float(args[1]).is_integer() else "a non-integer"
        return f"{kind} root (n = {_number(args[1])}) of a negative number ({_number(a)})"
    elif isinstance(node, (sympy.gamma, sympy.loggamma, sympy.polygamma, sympy.digamma)) and a <= 0 and a.is_integer():
        return f"a pole of {_language(name)} at {_number(a)}"
    elif isinstance(node, (sympy.tan, sympy.cot, sympy.sec, sympy.csc, sympy.coth, sympy.csch, sympy.acsch,
                           sympy.asech, sympy.acoth)) and math.isinf(value):
        return f"a pole of {_language(name)} at {_number(a)}"
    if math.isinf(value):
        return f"{_language(name)} overflows at {', '.join(_number(x) for x in args)}"
    return f"{_language(name)} is undefined at {', '.join(_number(x) for x in args)}"


def _language(name: str) -> str:
    return _OPERATIONS.get(name) or language_names().get(name, name)
