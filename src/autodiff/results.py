"""Plain result objects, shared by the renderers and the Python API.

Numbers are Python floats, or lists of floats for vector/grid points.
`to_json()` gives the design's strict-JSON shape: non-finite numbers become
the strings "nan", "inf" and "-inf".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from autodiff.errors import EXIT_CHECK_FAILED, EXIT_OK
from autodiff.points import Vector, is_vector


class Values(Vector):
    """The numbers (or flags) of a vector point, kept in their 1-D tensor.

    Reads like a list of floats (bools for flags): `len`, `[i]`, slices,
    iteration, `== [...]`, `tolist()`; `.tensor` is the tensor itself. A
    10^7-point grid's derivative is then 80 MB instead of a 320 MB list.
    """

    __slots__ = ("tensor",)

    def __init__(self, tensor):
        self.tensor = tensor.detach().reshape(-1)

    def __len__(self) -> int:
        return self.tensor.numel()

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.tensor[index].tolist()
        if not -len(self) <= index < len(self):
            raise IndexError("index out of range")
        return self.tensor[index].item()

    def tolist(self) -> list:
        return self.tensor.tolist()


Number = Union[float, list[float], Vector]


def as_tensor(value, dtype):
    """A float, a list, a grid or Values as a tensor of `dtype` (Values without a copy when it can)."""
    import torch

    if isinstance(value, Values):
        return value.tensor.to(dtype)
    return torch.tensor(value.tolist() if isinstance(value, Vector) else value, dtype=dtype)


def numbers(tensor):
    """A 0-d tensor as a float, a vector as Values."""
    if tensor is None:
        return None
    values = tensor.detach().double()
    return values.item() if values.dim() == 0 else Values(values)


def json_number(value: Any) -> Any:
    """Floats (or nested lists of them) with non-finite values as strings."""
    if type(value) is float:  # the common case first: isinstance on the Vector ABC is slow
        return value if math.isfinite(value) else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    if isinstance(value, Values) and value.tensor.is_floating_point() and bool(value.tensor.isfinite().all()):
        return value.tolist()  # nothing to spell out: one conversion, no walk
    if isinstance(value, Vector):
        value = value.tolist()
        if all(type(item) is float and math.isfinite(item) for item in value):
            return value
    if isinstance(value, list):
        return [json_number(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


# The exact witness's keys in a derivative's JSON (lists over a vector point).
EXACT_KEYS = (
    "exact", "exact_digits", "exact_radius", "exact_source", "autograd_digits", "symbolic_digits", "accurate", "cause",
)


@dataclass
class DerivativeResult:
    """One derivative (a gradient entry, or a partial), from every side."""

    wrt: list[str]
    autograd: Optional[Number] = None
    symbolic: Optional[str] = None
    symbolic_value: Optional[Number] = None
    numeric: Optional[Number] = None
    agree: Optional[bool] = None
    numeric_agree: Optional[bool] = None
    expected: Optional[Number] = None
    expect_met: Optional[bool] = None
    # The witness that judged `agree`: "exact", "symbolic" or "numeric"
    # (the weakest one used, over a vector point); None when not compared.
    checked_by: Optional[str] = None
    # Whether the derivative exists at the point (a list over a vector
    # point): false at a kink, outside f's domain, or where it is infinite.
    differentiable: Union[bool, list, None] = None
    # At a kink: the one-sided derivatives and which of them autograd gave
    # ("left", "right", "average", "other"); None where there is no kink.
    left: Optional[Number] = None
    right: Optional[Number] = None
    convention: Union[str, list, None] = None
    # On a large vector point: the elements symbolic_value and numeric are
    # for (every step-th); None when they cover every element.
    checked_points: Optional[range] = None
    # Not checked somewhere: no exact value there, and autograd agrees only
    # with the float symbolic value (which shares its rounding) while finite
    # differences disagree. `agree` is then None unless an element disagrees.
    unchecked: bool = False
    # The exact witness (design §11), at the same elements as symbolic_value:
    # the exact value as a decimal string (17 significant digits), the
    # digits its enclosure guarantees and its radius, where it comes from
    # ("ball", or "limit" where the expression as written is undefined),
    # the correct digits of autograd's answer and of the float symbolic
    # value, whether autograd is within the tolerance of it, and why
    # autograd lost digits where it did.
    exact: Union[str, list, None] = None
    exact_digits: Union[int, list, None] = None
    exact_radius: Union[str, list, None] = None
    exact_source: Union[str, list, None] = None
    autograd_digits: Union[int, list, None] = None
    symbolic_digits: Union[int, list, None] = None
    accurate: Union[bool, list, None] = None
    cause: Optional[str] = None
    # The engine that computed `autograd`: None for torch.autograd, "taylor
    # mode" for a derivative of order ≥ 2 along one variable (design §15).
    engine: Optional[str] = None

    def witness_at(self, value, element: Optional[int]):
        """symbolic_value or numeric at an element of the point (None where not sampled)."""
        if element is None or value is None:
            return value
        if self.checked_points is None:
            return value[element]
        return value[self.checked_points.index(element)] if element in self.checked_points else None

    @property
    def kinked(self) -> bool:
        return self.convention is not None

    def to_json(self) -> dict:
        return {
            "autograd": json_number(self.autograd),
            "symbolic": self.symbolic,
            "symbolic_value": json_number(self.symbolic_value),
            "numeric": json_number(self.numeric),
            "agree": self.agree,
            "numeric_agree": self.numeric_agree,
            "checked_by": self.checked_by,
            "differentiable": self.differentiable.tolist() if isinstance(self.differentiable, Vector) else self.differentiable,
            **{key: getattr(self, key) for key in EXACT_KEYS},
            **(
                {"left": json_number(self.left), "right": json_number(self.right), "convention": self.convention}
                if self.kinked else {}
            ),
            **({"expected": json_number(self.expected), "expect_met": self.expect_met} if self.expected is not None else {}),
            **({"checked_points": list(self.checked_points)} if self.checked_points is not None else {}),
            **({"unchecked": True} if self.unchecked else {}),
            **({"engine": self.engine} if self.engine is not None else {}),
        }


@dataclass
class PointReport:
    """Fields every derivative command shares; subclasses add their body."""

    expression: str
    at: Optional[dict[str, Number]]
    value: Optional[Number]
    checked_by: Optional[str]  # "symbolic", "numeric", or None without a point
    warnings: list[str] = field(default_factory=list)
    dtype: str = "float64"
    variables: list[str] = field(default_factory=list)  # the expression's, in natural order
    # f's exact value (a decimal string, a list over a vector point's checked
    # elements, one per function for a Jacobian) and the correct digits of `value`.
    value_exact: Union[str, list, None] = None
    value_digits: Union[int, list, None] = None
    value_exact_source: Union[str, list, None] = None  # "ball", or "limit" where f as written is undefined
    frozen: list[str] = field(default_factory=list)  # --frozen: variables not differentiated (no entry of their own)
    declared: list[dict] = field(default_factory=list)  # declared derivatives checked (autodiff.witnesses.declared.check)

    command = "?"

    def derivatives(self) -> list[DerivativeResult]:
        raise NotImplementedError

    @property
    def agree(self) -> Optional[bool]:
        verdicts = [d.agree for d in self.derivatives() if d.agree is not None]
        verdicts += [c["agree"] for c in self.declared if c["agree"] is not None]
        return all(verdicts) if verdicts else None

    @property
    def expect_met(self) -> Optional[bool]:
        verdicts = [d.expect_met for d in self.derivatives() if d.expect_met is not None]
        return all(verdicts) if verdicts else None

    @property
    def exit_code(self) -> int:
        return EXIT_CHECK_FAILED if self.agree is False or self.expect_met is False else EXIT_OK

    def body(self) -> dict:
        raise NotImplementedError

    def to_json(self) -> dict:
        result = {
            "command": self.command,
            "expression": self.expression,
            "variables": list(self.variables),
            "at": None if self.at is None else {name: json_number(v) for name, v in self.at.items()},
            "value": json_number(self.value),
            "value_exact": self.value_exact,
            "value_digits": self.value_digits,
            "value_exact_source": self.value_exact_source,
            "dtype": self.dtype,
            **self.body(),
            "agree": self.agree,
            "checked_by": self.checked_by,
            "warnings": list(self.warnings),
        }
        if self.frozen:
            result["frozen"] = list(self.frozen)
        if self.declared:
            result["declared_derivatives"] = [dict(c) for c in self.declared]
        if self.expect_met is not None:
            result["expect_met"] = self.expect_met
        return result


@dataclass
class GradResult(PointReport):
    """`autodiff grad`: f and its first (or order-th pure) partials."""

    order: int = 1
    gradient: dict[str, DerivativeResult] = field(default_factory=dict)

    command = "grad"

    def derivatives(self) -> list[DerivativeResult]:
        return list(self.gradient.values())

    def body(self) -> dict:
        return {"order": self.order, "gradient": {name: d.to_json() for name, d in self.gradient.items()}}


@dataclass
class PartialResult(PointReport):
    """`autodiff partial`: one partial derivative along a sequence of variables."""

    partial: Optional[DerivativeResult] = None

    command = "partial"

    def derivatives(self) -> list[DerivativeResult]:
        return [self.partial]

    def body(self) -> dict:
        return {"partial": {"wrt": list(self.partial.wrt), **self.partial.to_json()}}


@dataclass
class MatrixReport(PointReport):
    """A matrix of derivatives (Hessian, Jacobian): `entries[i][j]`, one
    DerivativeResult per entry, rows by `rows`, columns by `columns`."""

    rows: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    entries: list[list[DerivativeResult]] = field(default_factory=list)

    def derivatives(self) -> list[DerivativeResult]:
        return [entry for row in self.entries for entry in row]

    def matrix(self, attribute: str) -> list:
        return [[json_number(getattr(entry, attribute)) for entry in row] for row in self.entries]

    def _sided(self, attribute: str) -> list:
        """A matrix of one-sided values: null (a list of nulls at a vector point) where there is no kink."""
        def shown(entry):
            value = getattr(entry, attribute)
            if value is None and is_vector(entry.autograd):
                return [None] * len(entry.autograd)
            return json_number(value)

        return [[shown(entry) for entry in row] for row in self.entries]

    def matrix_json(self) -> dict:
        result = {
            "variables": list(self.columns),
            "autograd": self.matrix("autograd"),
            "symbolic": self.matrix("symbolic"),
            "symbolic_value": self.matrix("symbolic_value"),
            "numeric": self.matrix("numeric"),
            "entry_agree": self.matrix("agree"),
            "differentiable": self.matrix("differentiable"),
            **{key: self.matrix(key) for key in EXACT_KEYS},
            "agree": self.agree,
        }
        if any(entry.kinked for entry in self.derivatives()):
            result.update({key: self._sided(key) for key in ("left", "right", "convention")})
        if any(entry.expected is not None for entry in self.derivatives()):
            result["expected"] = self.matrix("expected")
            result["expect_met"] = self.expect_met
        sampled = next((entry.checked_points for entry in self.derivatives() if entry.checked_points is not None), None)
        if sampled is not None:  # one sample for every entry
            result["checked_points"] = list(sampled)
        return result


@dataclass
class HessianResult(MatrixReport):
    """`autodiff hessian`: the Hessian, its symmetry, eigenvalues and definiteness.

    With a vector point, `eigenvalues[k]`, `definiteness`, `gradient[i]` and
    `critical_point` are lists over the points, like every number.
    """

    gradient: Optional[list] = None  # autograd's first partials, by column
    symmetric: Optional[bool] = None
    eigenvalues: Optional[list] = None
    definiteness: Union[str, list, None] = None
    critical_point: Union[str, list, None] = None

    command = "hessian"

    def body(self) -> dict:
        return {
            "hessian": {
                **self.matrix_json(),
                "symmetric": self.symmetric,
                "eigenvalues": json_number(self.eigenvalues),
                "definiteness": self.definiteness,
                "gradient": json_number(self.gradient),
                "critical_point": self.critical_point,
            }
        }


@dataclass
class JacobianResult(MatrixReport):
    """`autodiff jacobian`: ∂f_i/∂x_j of a list of functions; `value` is the
    list of their values, `rows` the functions as SymPy prints them."""

    command = "jacobian"

    def body(self) -> dict:
        return {"jacobian": {"functions": list(self.rows), **self.matrix_json()}}


@dataclass
class GraphReport:
    """`autodiff graph`: the autograd graph from the output back to the leaves.

    `nodes` are autodiff.engine.tracing.GraphNode objects, the output first; `leaves`
    holds every variable's tensor attributes after backward (a variable with
    `grad` None has no gradient path from the output)."""

    expression: str
    variables: list[str]
    at: dict
    value: Number
    nodes: list = field(default_factory=list)
    output: Optional[int] = None
    leaves: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    frozen: list[str] = field(default_factory=list)  # --frozen: leaves without requires_grad

    command = "graph"
    exit_code = EXIT_OK

    def edges(self) -> list[tuple[int, int]]:
        """(from, to): gradient flows from a node to each of its inputs."""
        return [(node.id, child) for node in self.nodes for child in node.inputs]

    def to_json(self) -> dict:
        return {
            "command": self.command,
            "expression": self.expression,
            "variables": list(self.variables),
            "at": {name: json_number(v) for name, v in self.at.items()},
            "value": json_number(self.value),
            "output": self.output,
            "nodes": [
                {
                    "id": node.id,
                    "kind": node.kind,
                    "name": node.name,
                    "variable": node.variable,
                    "subexpression": node.subexpression,
                    "within": node.within,
                    "inputs": list(node.inputs),
                    "tensor": None if node.tensor is None else {k: json_number(v) for k, v in node.tensor.items()},
                }
                for node in self.nodes
            ],
            "edges": [{"from": a, "to": b} for a, b in self.edges()],
            "leaves": {name: {k: json_number(v) for k, v in info.items()} for name, info in self.leaves.items()},
            "warnings": list(self.warnings),
            **({"frozen": list(self.frozen)} if self.frozen else {}),
        }


@dataclass
class PlotReport:
    """`autodiff plot`: f and its derivatives sampled over a range of one variable.

    `curves[k]` is the k-th derivative (k = 1..order): autograd's values on
    the whole grid, the symbolic derivative and its values, the largest
    |autograd − symbolic| where both are finite, and whether they agree.
    """

    expression: str
    variable: str
    start: float
    stop: float
    at: dict
    x: list
    f: list
    curves: list = field(default_factory=list)
    checked_by: Optional[str] = None
    output: Optional[str] = None
    warnings: list[str] = field(default_factory=list)
    tree: Any = field(default=None, repr=False)  # the SymPy expression (for a typeset title); not in JSON
    # A bool tensor, one per interval between neighbouring points: a switch of
    # f (abs, sign, where…) changes branch there, so a curve may jump; not in JSON.
    switches: Any = field(default=None, repr=False)

    command = "plot"

    @property
    def agree(self) -> Optional[bool]:
        verdicts = [curve["agree"] for curve in self.curves if curve["agree"] is not None]
        return all(verdicts) if verdicts else None

    @property
    def exit_code(self) -> int:
        return EXIT_CHECK_FAILED if self.agree is False else EXIT_OK

    def to_json(self) -> dict:
        return {
            "command": self.command,
            "expression": self.expression,
            "variable": self.variable,
            "range": [self.start, self.stop],
            "points": len(self.x),
            "at": {name: json_number(v) for name, v in self.at.items()},
            "x": json_number(self.x),
            "f": json_number(self.f),
            "derivatives": [
                {key: (json_number(value) if key != "symbolic" else value) for key, value in curve.items()}
                for curve in self.curves
            ],
            "agree": self.agree,
            "checked_by": self.checked_by,
            "output": self.output,
            "warnings": list(self.warnings),
        }
