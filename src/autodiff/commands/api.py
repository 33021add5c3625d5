"""The library behind every command: parse, lower, differentiate three ways,
compare. The CLI is a thin layer over these functions, and they are the
public Python API.
"""

from __future__ import annotations

import functools
import math
import warnings as _warnings
from dataclasses import dataclass, field, replace
from typing import Mapping, Optional, Sequence, Union

from autodiff.language.functions import CONSTANTS_BY_NAME
from autodiff.errors import LimitError, PointError, UnsupportedError, UsageError
from autodiff.limits import DEFAULT_LIMITS, Limits, as_limits, bytes_text, raise_hint
from autodiff.points import Point, natural_order, parse_assignments, point_from_mapping
from autodiff.results import (
    DerivativeResult,
    GradResult,
    HessianResult,
    JacobianResult,
    GraphReport,
    PartialResult,
    PlotReport,
    as_tensor,
    numbers,
)
from autodiff.witnesses.verdict import JUDGES, Witnesses, plot_curve, symbolic_text

# torch warns on stderr when NumPy is absent; nothing here uses NumPy.
_warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

PointLike = Union[Point, Mapping[str, object], Sequence[str], None]
# define=: "f(t) = t^2 + 1", a list of such texts, a mapping {"f(t)": "t^2 + 1", "a": 2.5}, or Definitions.
DefineLike = Union[str, Sequence[str], Mapping[str, object], None]


def definitions(define: DefineLike, limits=DEFAULT_LIMITS, derivative: Union[str, Sequence[str], None] = None):
    """The user's definitions (`define=`, `--define`, a case file's [define]) parsed,
    with the declared derivatives of `derivative` (`--derivative "f(t) = 2*t"`, autodiff.language.declared)."""
    from autodiff.language.definitions import Definitions, parse_definitions

    if derivative:
        from autodiff.language.declared import attach

        return attach(definitions(define, limits), derivative, as_limits(limits))
    if define is None or isinstance(define, Definitions):
        return define
    if isinstance(define, str):
        texts = [define]
    elif isinstance(define, Mapping):
        texts = [f"{head} = {value_text(body) if not isinstance(body, str) else body}" for head, body in define.items()]
    else:
        texts = list(define)
    return parse_definitions(texts, as_limits(limits))


def _with_definitions(function):
    """Adds define= to a command of the API: the expression (and the point)
    are parsed with the user's names."""

    @functools.wraps(function)
    def wrapper(*args, define: DefineLike = None, derivative=None, **options):
        if not define and not derivative:
            return function(*args, **options)
        from autodiff.language.definitions import active

        with active(definitions(define, options.get("limits", DEFAULT_LIMITS), derivative)):
            return function(*args, **options)

    return wrapper

DTYPES = ("float64", "float32")


def as_point(at: PointLike, option: str = "--at", limits: Limits = DEFAULT_LIMITS, names=None) -> Optional[Point]:
    """A Point from CLI texts (`["x=3,y=4"]` or `"x=3,y=4"`), a mapping
    (`{"x": 3}`), a Point, or (with `names`, for expectations) a bare number."""
    if at is None or isinstance(at, Point):
        return at
    if isinstance(at, Mapping):
        return point_from_mapping({name: value_text(value) for name, value in at.items()}, option, limits)
    if isinstance(at, (int, float)) and not isinstance(at, bool):
        at = value_text(at)
    if isinstance(at, str):
        at = [at]
    return parse_assignments(list(at), option, limits, names)


def value_text(value: object) -> str:
    """A number, string or list as the text of an --at or --expect value,
    read back as exactly that number: a float as its shortest text (which
    the point parser reads back as the same double), an int or a Fraction
    exactly, a NumPy or torch number or array through `tolist` (a float32
    as the double it equals, not as its own shortest text)."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(value_text(v) for v in value) + "]"
    if isinstance(value, float):
        return float.__repr__(value)  # a float subclass's repr may not be a number (np.float64(1.5))
    if not isinstance(value, (str, bytes, int)) and callable(getattr(value, "tolist", None)):
        return value_text(value.tolist())  # NumPy and torch scalars and arrays: Python numbers, exactly
    return str(value)  # ints and Fractions stay exact; strings are value expressions ("pi/4")


@dataclass
class _Problem:
    """Expressions at one point, with the settings of a run.

    Every command is a list of derivative tasks, (output, sequence): which
    expression (a Jacobian has several) and which differentiation sequence.
    Autograd answers them, SymPy answers them under one deadline, and
    `Witnesses` compares the answers with finite differences.
    """

    exprs: list
    point: Optional[Point]
    dtype: str
    grad_output: Optional[list[float]]
    symbolic: bool
    symbolic_timeout: float
    tolerance: object  # checks.Tolerance
    limits: Limits = DEFAULT_LIMITS
    exact: bool = True  # the exact witness (ball arithmetic) judges where it has a value
    device: str = "cpu"  # where autograd runs (resolved: never "auto")
    # The trees autograd lowers where a declared derivative is called (autodiff.language.declared); None: `exprs`.
    autograd_exprs: Optional[list] = None
    frozen: tuple = ()  # --frozen: leaves without requires_grad, never differentiated
    budget: object = None  # the calculus.Budget of the command that made this call (taylor); None: its own
    # The point's tensors by dtype, built once: autograd's leaves and the
    # witnesses' plain tensors share them (a grid of 10^7 is 80 MB a copy).
    _tensors: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def expr(self):
        return self.exprs[0]

    def derivatives(self, sequences: dict[str, list[str]], warnings: list[str]):
        """Value, a DerivativeResult for each differentiation sequence of the one
        expression, and the Witnesses that judged them (None without a point)."""
        tasks = [(0, list(sequence)) for sequence in sequences.values()]
        weights = None if self.point is None else self.grad_output_tensor()  # validated before SymPy works
        symbolic = self.symbolic_derivatives(
            lambda: [symbolic_derivative(self.expr, sequence) for _, sequence in tasks], len(tasks), warnings
        )
        if self.point is None:
            return None, dict(zip(sequences, self.symbolic_only(tasks, symbolic))), None
        program = self.program()
        value, autograd = self._autograd(self.autograd_program(program), sequences, weights)
        witnesses = Witnesses(self, program, weights)
        results = witnesses.cross_check(tasks, list(autograd.values()), symbolic, warnings, [value])
        return numbers(value), dict(zip(sequences, results)), witnesses

    def program(self):
        from autodiff.engine.lowering import compile_expressions

        return compile_expressions(self.exprs)

    def autograd_program(self, program):
        """The program autograd runs: `program` (the witnesses'), or one whose
        declared derivatives are torch.autograd.Functions."""
        from autodiff.engine.lowering import compile_expressions

        return program if self.autograd_exprs is None else compile_expressions(self.autograd_exprs)

    @staticmethod
    def symbolic_only(tasks, symbolic) -> list[DerivativeResult]:
        return [DerivativeResult(list(sequence), symbolic=symbolic_text(s)) for (_, sequence), s in zip(tasks, symbolic)]

    def leaves(self, requires_grad: bool, dtype: Optional[str] = None):
        """One tensor per variable; with `requires_grad`, new leaves over the
        same storage (nothing writes into these tensors)."""
        import torch

        from autodiff.engine.calculus import make_leaves

        dtype = dtype or self.dtype
        if dtype not in self._tensors:
            self._tensors[dtype] = make_leaves(self.point, list(self.point.values), getattr(torch, dtype), False)
        tensors = self._tensors[dtype]
        if requires_grad:
            return {name: tensor.detach().requires_grad_(name not in self.frozen) for name, tensor in tensors.items()}
        return dict(tensors)

    def grad_output_tensor(self):
        """The `gradient=` weights for backward, shaped like the point."""
        import torch

        if self.grad_output is None:
            return None
        size = self.point.size
        if len(self.grad_output) not in (1, size or 1):
            raise PointError(f"--grad-output has {len(self.grad_output)} values; the point has {size or 1} element(s)")
        weights = as_tensor(self.grad_output, getattr(torch, self.dtype))
        return weights.reshape(()) if size is None else weights.expand(size)

    def _autograd(self, program, sequences, weights):
        import torch

        from autodiff.engine.calculus import Budget, derivative, evaluate, gradient, on_device

        leaves = self.leaves(requires_grad=True)
        if self.device != "cpu":  # the point's tensors (shared with the witnesses) stay on the CPU
            leaves = {name: leaf.detach().to(self.device).requires_grad_(leaf.requires_grad) for name, leaf in leaves.items()}
            weights = None if weights is None else weights.to(self.device)
        with on_device(self.device):
            output = evaluate(program, leaves, getattr(torch, self.dtype))
            if all(len(seq) == 1 for seq in sequences.values()):
                by_name = gradient(output, leaves, [seq[0] for seq in sequences.values()], weights)
                derivatives = {key: by_name[seq[0]] for key, seq in sequences.items()}
            else:
                budget = self.budget
                if budget is None:  # one for all the sequences, each predicted before it runs
                    budget = Budget(self.limits.max_graph_nodes, self.limits.max_autograd_seconds)
                    budget.plan(sequences.values())
                derivatives = {key: derivative(output, leaves, seq, weights, budget) for key, seq in sequences.items()}
        return output.detach().cpu(), {key: value.cpu() for key, value in derivatives.items()}

    def symbolic_derivatives(self, work, count: int, warnings) -> list:
        """Run `work` (a list of SymPy derivatives) and print each, all under
        one deadline: a list of (derivative, text), or of None where SymPy
        is off, too slow, or failed."""
        from autodiff.deadline import SymbolicTimeout, with_deadline

        def printed():
            from autodiff.language.notation import machine

            return [(d, machine(d)) for d in work()]

        decided = "; finite differences decided agreement" if self.point is not None else ""
        if self.symbolic:
            try:
                return with_deadline(printed, self.symbolic_timeout)
            except SymbolicTimeout:
                warnings.append(
                    f"the symbolic derivative took longer than --symbolic-timeout {self.symbolic_timeout:g} s "
                    f"and was stopped{decided}"
                )
            except RecursionError:
                warnings.append(f"the symbolic derivative is too deeply nested for SymPy{decided}")
            except (ArithmeticError, ValueError, TypeError, AttributeError) as error:
                # SymPy is a third-party engine: its failure is a missing witness, not a crash.
                warnings.append(
                    f"SymPy could not differentiate this expression ({type(error).__name__}: {error}){decided}"
                )
        return [None] * count


def symbolic_derivative(expr, sequence, symbols=None):
    from autodiff.engine.symbolic import symbolic_derivative as diff

    return diff(expr, sequence, symbols)


def _symbols(exprs) -> dict:
    from autodiff.engine.symbolic import symbols_of

    return symbols_of(exprs)


def _check_expectations(results: dict[str, DerivativeResult], expect: Point, tolerance) -> None:
    import torch

    for name, expected in expect.values.items():
        if name not in results:
            if list(results) == [PARTIAL]:
                raise UsageError("partial's --expect is one value (a vector for a vector point), without a name")
            raise UsageError(f"--expect names {name}, which is not among the derivatives ({', '.join(results)})")
        result = results[name]
        result.expected = expected
        if result.autograd is None:
            continue
        actual = as_tensor(result.autograd, torch.float64)
        wanted = as_tensor(expected, torch.float64)
        if wanted.dim() and wanted.shape != actual.shape:
            raise PointError(
                f"--expect gives {wanted.numel()} values for {name}; the point has {actual.numel() or 1} element(s)"
            )
        result.expect_met = bool(tolerance.close(actual, wanted.expand_as(actual)).all())


@dataclass(frozen=True)
class _Options:
    """The options every command shares (design §4)."""

    dtype: str = "float64"
    grad_output: Optional[Sequence[float]] = None
    symbolic: bool = True
    symbolic_timeout: float = 5.0
    exact: bool = True
    rtol: Optional[float] = None
    atol: Optional[float] = None
    limits: Limits = DEFAULT_LIMITS  # or a mapping {"points": 10**8} or texts ["points=1e8"]
    device: str = "cpu"  # where autograd runs: cpu, cuda, mps or auto (the witnesses stay on the CPU)
    frozen: Union[str, Sequence[str]] = ()  # variables that are leaves without requires_grad ("y" or ["y", "z"])
    # A calculus.Budget that counts the graph nodes of several calls as one
    # command's (taylor's coefficients share the limit graph-nodes); None:
    # each call counts its own.
    budget: object = None

    def __post_init__(self):
        object.__setattr__(self, "limits", as_limits(self.limits))
        object.__setattr__(self, "frozen", tuple(dict.fromkeys(_names(
            [self.frozen] if isinstance(self.frozen, str) else [n for text in self.frozen or () for n in _names(text)]
        ))))
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and 0 <= value < math.inf):
                raise UsageError(f"--{name} must be a number >= 0, not {value!r}")


def _check_order(order: int, limits: Limits, option: str = "--order") -> None:
    if order > limits.max_order:
        raise LimitError(f"{option} asks for order {order}; the limit is {limits.max_order} ({raise_hint('order', order)})")


def estimated_bytes(exprs, size: int, copies: int = 1, per_node: int = 32, per_point: int = 128,
                    per_copy: int = 64) -> int:
    """Bytes a point of `size` elements takes: every distinct subexpression
    keeps `per_node` bytes per element (a value for backward, its gradient
    and temporaries: four doubles), each of the `copies` derivatives kept at
    once `per_copy` more, and each element `per_point` besides."""
    import sympy

    nodes = len({node for expr in exprs for node in sympy.preorder_traversal(expr)})
    return size * (per_node * nodes + per_copy * copies + per_point)


# A matrix entry keeps autograd's, the symbolic and the finite-difference
# values and their JSON lists, and a Hessian's second derivatives keep their
# graphs: measured (tests/test_memory_limit.py) 1.2x and 1.3x below these.
HESSIAN_BYTES = {"per_copy": 160}
JACOBIAN_BYTES = {"per_copy": 128}


# graph --json also holds every node's data and grad as Python floats, and
# the leaves' and the output's beside them: measured (the peak of anonymous
# memory, tests/test_memory_limit.py) 48 bytes per node and 490 per element;
# the estimate is about 1.3x that.
GRAPH_BYTES = {"per_node": 64, "per_point": 640}


def _check_memory(exprs, size: Optional[int], limits: Limits, copies: int = 1, **per) -> None:
    """Refuse a point whose tensors would not fit in memory (estimated_bytes)."""
    if not size:
        return
    memory = limits.memory()
    if memory is None:
        return
    needed = estimated_bytes(exprs, size, copies, **per)
    if needed > memory:
        raise LimitError(
            f"{size} points of this expression need about {bytes_text(needed)}, more than the memory limit of "
            f"{bytes_text(memory)}{' (half the available memory)' if limits.max_memory is None else ''}; "
            f"use fewer points, or {raise_hint('memory', needed)}"
        )


def _check_not_defined(point, wrt) -> None:
    """A name of your own is not a variable: --at x=1 with x defined would be ignored."""
    from autodiff.language.definitions import current

    defined = current()
    if not defined:
        return
    for name in list(point.values if point is not None else ()):
        if name in defined:
            raise PointError(
                f"--at gives {name}, a name you defined ({defined[name]}); a defined name is not a variable: "
                f"drop it from --at, or the definition"
            )
    for name in wrt or ():
        if name in defined:
            raise UsageError(f"--wrt {name}: {name} is a name you defined ({defined[name]}), not a variable")


def _prepare(
    expression: str, at: PointLike, wrt: Optional[Sequence[str]], expect: PointLike, options: _Options,
    many: bool = False,
):
    """Parse and validate everything before torch is imported (errors stay fast).

    `many`: the expression is a list `[f1, f2, ...]` (jacobian).
    """
    from autodiff.language.parsing import parse_expression, parse_list, sympy_work

    if options.dtype not in DTYPES:
        raise UsageError(f"--dtype must be one of {', '.join(DTYPES)}, not {options.dtype!r}")
    listed = list(expression) if many and not isinstance(expression, str) else None
    if listed is not None:  # a list of functions: each parsed on its own
        exprs = [parse_expression(text, options.limits) for text in expression]
        expression = "[" + ", ".join(expression) + "]"
    else:
        exprs = parse_list(expression, options.limits) if many else [parse_expression(expression, options.limits)]
    texts = sympy_work(lambda: [_printed(expr) for expr in exprs], expression, options.limits)
    text = "[" + ", ".join(texts) + "]" if many else texts[0]
    variables = {symbol.name for expr in exprs for symbol in expr.free_symbols}
    # `--at 3` names the one variable there is.
    point = as_point(at, "--at", options.limits, sorted(variables) if len(variables) == 1 else None)
    _check_not_defined(point, wrt)
    if point is None and (expect is not None or options.grad_output):
        raise UsageError(f"--{'expect' if expect is not None else 'grad-output'} needs a point: add --at")
    if point is None and not options.symbolic:
        raise UsageError("without --at there is only the symbolic derivative, and --no-symbolic turns it off: add --at")
    if point is not None:
        missing = natural_order((variables | set(wrt or ())) - set(point.values))
        if missing:
            given = ",".join(f"{name}=…" for name in missing)
            raise PointError(f"no value for {', '.join(missing)}; add --at {given}")
        _check_memory(exprs, point.size, options.limits)
    _check_frozen(options.frozen, wrt, variables | set(point.values if point is not None else ()))
    autograd_exprs = None
    from autodiff.language import declared, definitions

    if declared.declares(definitions.current()):  # the trees autograd lowers: declared derivatives kept as nodes
        with declared.opaque():
            if listed is not None:
                trees = [parse_expression(text, options.limits) for text in listed]
            else:
                trees = parse_list(expression, options.limits) if many else [parse_expression(expression, options.limits)]
        autograd_exprs = trees if declared.calls_in(trees) else None

    from autodiff.witnesses.checks import Tolerance  # imports torch

    tolerance = Tolerance.for_dtype(options.dtype, options.rtol, options.atol)
    grad_output = options.grad_output
    if isinstance(grad_output, str):
        from autodiff.points import parse_values

        grad_output = parse_values(grad_output, "--grad-output", options.limits)
    elif isinstance(grad_output, (int, float)):
        grad_output = [float(grad_output)]
    grad_output = list(grad_output) if grad_output else None
    from autodiff.engine.calculus import resolve_device

    try:
        device = resolve_device(options.device, options.dtype)
    except ValueError as error:
        raise UsageError(str(error)) from None
    problem = _Problem(
        exprs, point, options.dtype, grad_output, options.symbolic, options.symbolic_timeout, tolerance,
        options.limits, options.exact, device, autograd_exprs, options.frozen, options.budget,
    )
    return _Prepared(problem, text, texts, natural_order(variables))


def _check_frozen(frozen: Sequence[str], wrt: Optional[Sequence[str]], names: set) -> None:
    """--frozen names variables of the expression or the point, none of them in --wrt."""
    for name in frozen:
        if wrt and name in wrt:
            raise UsageError(f"--wrt {name}: {name} is frozen (--frozen {name}), so no derivative is taken with respect to it")
        if name not in names:
            raise UsageError(f"--frozen {name}: {name} is not a variable of the expression or the point")


@dataclass
class _Prepared:
    problem: _Problem
    text: str  # the expression as SymPy prints it (a list for jacobian)
    texts: list[str]  # each expression's text
    variables: list[str]  # the expression's variables, in natural order

    def columns(self, wrt: Optional[Sequence[str]]) -> list[str]:
        """The variables to differentiate by: --wrt, or every variable of the
        expression and the point, in natural order."""
        if wrt:
            return list(wrt)
        point = self.problem.point
        return natural_order((set(self.variables) | set(point.values if point else ())) - set(self.problem.frozen))

    def fields(self, value, derivatives: Sequence[DerivativeResult], warnings, witnesses=None) -> dict:
        """The fields every point result shares; `witnesses` (after its
        cross_check) gives f's exact value."""
        point = self.problem.point
        symbolic_used = any(d.symbolic_value is not None for d in derivatives)
        judges = [d.checked_by for d in derivatives if d.checked_by is not None]
        checked_by = min(judges, key=JUDGES.index) if judges else "symbolic" if symbolic_used else "numeric"
        checks = (witnesses.value_checks if witnesses is not None else []) or [{}]
        if len(self.problem.exprs) > 1:  # a Jacobian: one value per function
            checks = [{key: [check.get(key) for check in checks] for key in VALUE_KEYS}]
        return {
            "expression": self.text,
            "variables": list(self.variables),
            "at": None if point is None else dict(point.values),
            "value": value,
            "checked_by": None if point is None else checked_by,
            "warnings": warnings,
            "dtype": self.problem.dtype,
            "frozen": list(self.problem.frozen),
            "declared": _declared_checks(self.problem) if witnesses is not None else [],
            **checks[0],
        }


VALUE_KEYS = ("value_exact", "value_digits", "value_exact_source")  # f's exact value, from Witnesses.value_checks


def _declared_checks(problem) -> list[dict]:
    """Each declared derivative the expression calls, checked against its definition (autodiff.language.declared)."""
    if problem.autograd_exprs is None:
        return []
    from autodiff.witnesses.declared import check

    return check(problem)


def _names(wrt) -> Optional[list[str]]:
    """`wrt` as a list of names: "x,y" and "x" are accepted as well as ["x", "y"]."""
    if wrt is None:
        return None
    if isinstance(wrt, str):
        return [name.strip() for name in wrt.split(",") if name.strip()]
    return list(wrt)


def _check_distinct(wrt: Optional[Sequence[str]]) -> None:
    if wrt and len(set(wrt)) != len(wrt):
        raise UsageError(f"--wrt names a variable twice: {','.join(wrt)}")


def _printed(expr) -> str:
    from autodiff.language.notation import machine

    try:
        return machine(expr)
    except (ArithmeticError, ValueError, TypeError, AttributeError) as error:
        # SymPy orders terms by evaluating constants; some it cannot (hypot(2, gamma(-oo))).
        raise UnsupportedError(f"SymPy cannot print this expression ({type(error).__name__})") from None


@_with_definitions
def grad(
    expression: str,
    at: PointLike = None,
    *,
    wrt: Optional[Sequence[str]] = None,
    order: int = 1,
    expect: PointLike = None,
    **options,
) -> GradResult:
    """Value and first partials of `expression` at `at`, or its `order`-th
    pure partials; without `at`, the symbolic derivatives alone.

    Options: dtype, grad_output, symbolic, symbolic_timeout, exact, rtol, atol, limits, device, define,
    budget (a calculus.Budget shared with other calls of one command: one count of graph nodes).
    """
    wrt = _names(wrt)
    settings = _Options(**options)
    if order < 1:
        raise UsageError(f"--order must be at least 1, not {order}")
    _check_order(order, settings.limits)
    _check_distinct(wrt)
    prepared = _prepare(expression, at, wrt, expect, settings)
    names = prepared.columns(wrt)
    warnings: list[str] = []
    value, results, witnesses = prepared.problem.derivatives({name: [name] * order for name in names}, warnings)
    if expect is not None:
        _check_expectations(results, as_point(expect, "--expect", settings.limits, names), prepared.problem.tolerance)
    fields = prepared.fields(value, list(results.values()), warnings, witnesses)
    return GradResult(order=order, gradient=results, **fields)


@_with_definitions
def partial(
    expression: str,
    at: PointLike = None,
    *,
    wrt: Optional[Sequence[str]] = None,
    expect: PointLike = None,
    **options,
) -> PartialResult:
    """One partial derivative; `wrt` is the differentiation sequence, as in
    sympy.diff(f, *wrt): ["u", "v"] is ∂²f/∂v∂u, ["x", "x", "x"] is f‴.

    Options: dtype, grad_output, symbolic, symbolic_timeout, exact, rtol, atol, limits, device, define,
    budget (a calculus.Budget shared with other calls of one command: one count of graph nodes).
    """
    wrt = _names(wrt)
    settings = _Options(**options)
    if wrt:
        _check_order(len(wrt), settings.limits, "--wrt")
    prepared = _prepare(expression, at, wrt, expect, settings)
    if not wrt:
        variables = [v for v in prepared.variables if v not in settings.frozen]
        if len(variables) != 1:
            raise UsageError(
                f"partial needs --wrt for a function of {', '.join(variables) or 'no variables'}; e.g. --wrt "
                + ",".join(variables[:2] or ["x"])
            )
        wrt = variables
    warnings: list[str] = []
    value, results, witnesses = prepared.problem.derivatives({PARTIAL: list(wrt)}, warnings)
    if expect is not None:
        _check_expectations(results, as_point(expect, "--expect", settings.limits, [PARTIAL]), prepared.problem.tolerance)
    fields = prepared.fields(value, list(results.values()), warnings, witnesses)
    return PartialResult(partial=results[PARTIAL], **fields)


PARTIAL = "partial"  # the key of the one derivative in `partial`'s results


@_with_definitions
def hessian(
    expression: str,
    at: PointLike = None,
    *,
    wrt: Optional[Sequence[str]] = None,
    expect=None,
    **options,
) -> HessianResult:
    """The Hessian of `expression` at `at`: autograd (reverse over reverse)
    beside SymPy and finite differences, with symmetry, eigenvalues,
    definiteness and, where the gradient is zero, the kind of critical point.
    Columns are `wrt`, or every variable in natural order. Without `at`, the
    symbolic Hessian alone. `expect`: a matrix, [[4, 2], [2, 12]] or "4,2,2,12".

    Options: dtype, symbolic, symbolic_timeout, exact, rtol, atol, limits, device, define.
    """
    wrt = _names(wrt)
    settings = _Options(**options)
    _check_distinct(wrt)
    prepared = _prepare(expression, at, wrt, expect, settings)
    names = _matrix_columns(prepared, wrt, rows=None, settings=settings)
    problem, n = prepared.problem, len(names)
    expected = _expected_matrix(expect, (n, n), settings)
    upper = [(i, j) for i in range(n) for j in range(i, n)]
    warnings: list[str] = []

    def symbolic_hessian():
        symbols = _symbols(problem.exprs)
        first = [symbolic_derivative(problem.expr, [name], symbols) for name in names]
        return [symbolic_derivative(first[i], [names[j]], symbols) for i, j in upper]

    by_entry = dict(zip(upper, problem.symbolic_derivatives(symbolic_hessian, len(upper), warnings)))
    cells = [(i, j) for i in range(n) for j in range(n)]
    tasks = [(0, [names[i], names[j]]) for i, j in cells]
    symbolic = [by_entry[min(i, j), max(i, j)] for i, j in cells]  # Schwarz: mirror the upper triangle
    fields = {"rows": names, "columns": names}
    if problem.point is None:
        entries = _square(problem.symbolic_only(tasks, symbolic), n)
        return HessianResult(entries=entries, **fields, **prepared.fields(None, [], warnings))

    import torch

    from autodiff.engine.calculus import hessian as autograd_hessian, on_device

    program = problem.program()
    with on_device(problem.device):
        value, gradient, matrix = autograd_hessian(
            problem.autograd_program(program), problem.point, list(problem.point.values), names, getattr(torch, problem.dtype)
        )
    value, gradient, matrix = value.cpu(), gradient.cpu(), matrix.cpu()
    autograd = list(matrix.flatten(0, 1).unbind(0))  # cells in row-major order
    witnesses = Witnesses(problem, program)
    results = witnesses.cross_check(tasks, autograd, symbolic, warnings, [value])
    entries = _square(results, n)
    _meet_expectations(entries, expected, problem.tolerance)
    from autodiff.engine.curvature import Curvature

    curvature = Curvature(matrix, gradient, problem.tolerance)
    return HessianResult(
        entries=entries,
        gradient=[numbers(g) for g in gradient],
        symmetric=curvature.symmetric,
        eigenvalues=curvature.eigenvalues,
        definiteness=curvature.definiteness,
        critical_point=curvature.critical_point,
        **fields,
        **prepared.fields(numbers(value), results, warnings, witnesses),
    )


@_with_definitions
def jacobian(
    expressions: Union[str, Sequence[str]],
    at: PointLike = None,
    *,
    wrt: Optional[Sequence[str]] = None,
    expect=None,
    **options,
) -> JacobianResult:
    """The Jacobian ∂f_i/∂x_j of `[f1, f2, ...]` (a string, or a list of
    expression strings) at `at`, autograd beside SymPy and finite
    differences. Columns are `wrt`, or every variable in natural order.
    Without `at`, the symbolic Jacobian alone. `expect`: a matrix.

    Options: dtype, symbolic, symbolic_timeout, exact, rtol, atol, limits, device, define.
    """
    wrt = _names(wrt)
    settings = _Options(**options)
    _check_distinct(wrt)
    if not isinstance(expressions, str):
        expressions = list(expressions)
        if not expressions or not all(isinstance(e, str) for e in expressions):
            raise UsageError("jacobian needs a list of expression strings, or one string \"[f1, f2]\"")
    prepared = _prepare(expressions, at, wrt, expect, settings, many=True)
    problem = prepared.problem
    names = _matrix_columns(prepared, wrt, rows=len(problem.exprs), settings=settings)
    expected = _expected_matrix(expect, (len(problem.exprs), len(names)), settings)
    tasks = [(k, [name]) for k in range(len(problem.exprs)) for name in names]
    warnings: list[str] = []

    def symbolic_jacobian():
        symbols = _symbols(problem.exprs)
        return [symbolic_derivative(problem.exprs[k], sequence, symbols) for k, sequence in tasks]

    symbolic = problem.symbolic_derivatives(symbolic_jacobian, len(tasks), warnings)
    fields = {"rows": prepared.texts, "columns": names}
    if problem.point is None:
        entries = _square(problem.symbolic_only(tasks, symbolic), len(names))
        return JacobianResult(entries=entries, **fields, **prepared.fields(None, [], warnings))

    import torch

    from autodiff.engine.calculus import jacobian as autograd_jacobian, on_device

    program = problem.program()
    with on_device(problem.device):
        values, matrix = autograd_jacobian(
            problem.autograd_program(program), problem.point, list(problem.point.values), names, getattr(torch, problem.dtype)
        )
    values, matrix = values.cpu(), matrix.cpu()
    autograd = list(matrix.flatten(0, 1).unbind(0))  # (k, j) in row-major order
    witnesses = Witnesses(problem, program)
    results = witnesses.cross_check(tasks, autograd, symbolic, warnings, list(values))
    entries = _square(results, len(names))
    _meet_expectations(entries, expected, problem.tolerance)
    value = [numbers(v) for v in values]
    return JacobianResult(entries=entries, **fields, **prepared.fields(value, results, warnings, witnesses))


def _matrix_columns(prepared: _Prepared, wrt, rows: Optional[int], settings: _Options) -> list[str]:
    names = prepared.columns(wrt)
    if not names:
        raise UsageError("the expression has no variables to differentiate by; name them with --wrt or --at")
    entries = (rows or len(names)) * len(names)
    if entries > settings.limits.max_matrix_entries:
        raise LimitError(
            f"the matrix would have {entries} entries, more than the limit of {settings.limits.max_matrix_entries}; "
            f"choose fewer variables with --wrt, or {raise_hint('matrix-entries', entries)}"
        )
    point = prepared.problem.point
    _check_memory(prepared.problem.exprs, point.size if point is not None else None, settings.limits, copies=entries,
                  **(HESSIAN_BYTES if rows is None else JACOBIAN_BYTES))
    values = entries * (point.size or 1) if point is not None else 0
    if values > settings.limits.max_matrix_values:
        raise LimitError(
            f"{entries} entries at {point.size} points are {values} numbers, more than the limit of "
            f"{settings.limits.max_matrix_values}; choose fewer variables with --wrt or fewer points, "
            f"or {raise_hint('matrix-values', values)}"
        )
    return names


def _square(results: list, columns: int) -> list[list]:
    return [results[start : start + columns] for start in range(0, len(results), columns)]


def _expected_matrix(expect, shape: tuple[int, int], settings: _Options) -> Optional[list[list[float]]]:
    """The expected matrix, parsed before any heavy work: a text (`[[4,2],[2,12]]`,
    `4,2,2,12`), texts that are its rows, or nested numbers."""
    from autodiff.points import parse_matrix

    if expect is None:
        return None
    if isinstance(expect, str):
        return parse_matrix(expect, "--expect", shape, settings.limits)
    if isinstance(expect, (list, tuple)) and expect and all(isinstance(e, str) for e in expect):
        # One text is the matrix; several are its rows (`-e [4,2] -e [2,12]`).
        text = expect[0] if len(expect) == 1 else "[" + ",".join(expect) + "]"
        return parse_matrix(text, "--expect", shape, settings.limits)
    try:
        expected = [[float(v) for v in row] for row in expect]
    except (TypeError, ValueError):
        expected = None
    if expected is None or [len(row) for row in expected] != [shape[1]] * shape[0]:
        raise PointError(f"expect must be a {shape[0]}×{shape[1]} matrix")
    return expected


def _meet_expectations(entries: list[list[DerivativeResult]], expected, tolerance) -> None:
    """Compare each entry's autograd value with the expected matrix (the same at every point)."""
    import torch

    if expected is None:
        return
    for row, wanted_row in zip(entries, expected):
        for entry, wanted in zip(row, wanted_row):
            entry.expected = wanted
            actual = as_tensor(entry.autograd, torch.float64)
            entry.expect_met = bool(tolerance.close(actual, as_tensor(wanted, torch.float64).expand_as(actual)).all())


@_with_definitions
def graph(expression: str, at: PointLike, **options) -> GraphReport:
    """The autograd graph of `expression` at `at`: grad_fn nodes from the
    output back to the leaves, each tensor's data, requires_grad, is_leaf,
    grad_fn and (after backward on the output, weighted by ones) grad.

    Options: limits, define.
    """
    settings = _Options(**options)
    if at is None:
        raise UsageError("graph needs a point to run the forward pass: add --at")
    prepared = _prepare(expression, at, None, None, settings)
    problem = prepared.problem
    _check_memory(problem.exprs, problem.point.size, settings.limits, **GRAPH_BYTES)
    from autodiff.engine.tracing import trace

    nodes, output, leaves, value = trace(problem.autograd_program(problem.program()), problem.point,
                                         list(problem.point.values), problem.frozen)
    warnings = []
    if output is None:
        warnings.append("the output does not require grad (a constant, or everything detached): there is no graph")
    fields = prepared.fields(numbers(value), [], warnings)
    del fields["checked_by"], fields["dtype"], fields["declared"]
    return GraphReport(nodes=nodes, output=output, leaves=leaves, **fields)


@_with_definitions
def plot(
    expression: str,
    *,
    over: Optional[str] = None,
    points: int = 400,
    order: int = 1,
    at: PointLike = None,
    **options,
) -> PlotReport:
    """f and its first `order` derivatives over the range `over` ("x=-5:5"; default
    -5:5 of the one free variable), the others fixed by `at`. Autograd
    differentiates the whole grid at once (backward on the sum); the symbolic
    derivative is evaluated on the same grid and compared.

    Options: dtype, symbolic, symbolic_timeout, exact, rtol, atol, limits, device, define.
    """
    from autodiff.points import grid, parse_range

    settings = _Options(**options)
    if not 1 <= order <= 3:
        raise UsageError(f"--order must be 1, 2 or 3 for plot, not {order}")
    if points < 2:
        raise UsageError(f"--points must be at least 2, not {points}")
    if points > settings.limits.max_points:
        raise LimitError(
            f"--points {points} is more than the limit of {settings.limits.max_points} ({raise_hint('points', points)})"
        )
    name, start, stop = parse_range(over, "--range", settings.limits) if over else ("", -5.0, 5.0)
    fixed = as_point(at, "--at", settings.limits)
    if fixed is not None and fixed.size is not None:
        raise PointError("plot fixes the other variables at single values; --at takes no vectors here")
    # Parsed without a point (the grid is built below); `symbolic=True` only
    # because _prepare refuses "no --at and --no-symbolic", which plot allows.
    prepared = _prepare(expression, None, None, None, replace(settings, symbolic=True))
    if name in CONSTANTS_BY_NAME:
        raise UsageError(f"--range names {name}, which is a constant, not a variable")
    if not name:
        free = [v for v in prepared.variables if fixed is None or v not in fixed.values]
        if len(free) > 1:
            raise UsageError(f"plot draws one variable; choose it with --range, e.g. --range {free[0]}=-5:5")
        name = free[0] if free else "x"
    if name in settings.frozen:
        raise UsageError(f"plot draws the derivative with respect to {name}, which is frozen (--frozen {name})")
    others = {} if fixed is None else {k: v for k, v in fixed.values.items() if k != name}
    missing = [v for v in prepared.variables if v != name and v not in others]
    if missing:
        raise PointError(f"no value for {', '.join(missing)}; add --at {','.join(f'{v}=…' for v in missing)}")
    _check_memory(prepared.problem.exprs, points, settings.limits, copies=order)
    values = grid(start, stop, points)
    point = Point({name: values, **others})
    problem = replace(prepared.problem, point=point, symbolic=settings.symbolic)
    warnings: list[str] = []
    sequences = [[name] * k for k in range(1, order + 1)]
    symbolic = problem.symbolic_derivatives(
        lambda: [symbolic_derivative(problem.expr, sequence) for sequence in sequences], order, warnings
    )
    import torch

    from autodiff.engine.calculus import make_leaves, on_device

    dtype = getattr(torch, problem.dtype)
    program = problem.program()
    derivatives = []
    with on_device(problem.device):
        leaves = make_leaves(point, list(point.values), dtype, requires_grad=True)
        for frozen in problem.frozen:
            leaves[frozen].requires_grad_(False)
        current = problem.autograd_program(program)(leaves, dtype).expand(points)
        f = current.detach().cpu()
        for k in range(1, order + 1):
            if current.requires_grad:
                (current,) = torch.autograd.grad(
                    current, leaves[name], torch.ones_like(current), create_graph=k < order,
                    allow_unused=True, materialize_grads=True,  # f may not depend on the plotted variable
                )
            else:
                current = torch.zeros_like(current)
            # clone: the materialized zero gradient of a kink has no storage of its own
            derivatives.append(current.detach().clone().cpu())
    curves = []
    witnesses = Witnesses(problem, program)
    domains = len(warnings)  # where the domain warnings go, once the exact witness has said where f only overflowed
    exact = witnesses.symbolic_values(symbolic, (points,), warnings)
    for k, derivative in enumerate(derivatives, start=1):
        curves.append(plot_curve(k, derivative, symbolic[k - 1], exact[k - 1], problem.tolerance))
    real_f = witnesses.judge_curves(curves, symbolic, name, values, f, warnings)
    undefined = (~torch.isfinite(f) & ~real_f).unsqueeze(0)
    if bool(undefined.any()):
        warnings[domains:domains] = witnesses.domain_warnings([(0, [name])], [f], undefined, "the curves have gaps there")
    for curve in curves:
        if curve.get("symbolic_missing"):
            count = curve["symbolic_missing"]
            warnings.append(
                f"{curve['label']}: SymPy's {curve['symbolic']} has no value at {count} point{'s' if count > 1 else ''} "
                "where autograd has one (a switch point of a kink?); not compared there"
            )
    checked = "symbolic" if all(c["symbolic_values"] is not None for c in curves) else None
    # plot makes no finite-difference check: without SymPy the curves are not compared.
    warnings = [w.replace("finite differences decided agreement", "the curves are not compared") for w in warnings]
    return PlotReport(
        expression=prepared.text, variable=name, start=start, stop=stop, at=others, x=values, f=numbers(f),
        curves=curves, checked_by=checked, warnings=warnings, tree=problem.expr,
    )


@_with_definitions
def minimize(expression: str, start: PointLike = None, **options):
    """Gradient descent and torch.optim's optimisers from `start`, side by
    side, beside the critical points SymPy finds (autodiff.minimize).

    Options: optimizer, lr, steps, tol, maximize, expect, record, dtype,
    symbolic, symbolic_timeout, rtol, atol, limits, define.
    """
    from autodiff.commands.minimize import minimize as run

    return run(expression, start, **options)


def taylor(expression: str, at: PointLike, *, order: int = 4, **options):
    """The Taylor coefficients f⁽ᵅ⁾(a)/α! of `expression` about `at` up to
    total degree `order`, from autograd beside SymPy's exact ones (a
    series.TaylorResult). `plot=True, over="x=-1:1"` adds the curves.

    Options: dtype, symbolic, symbolic_timeout, exact, rtol, atol, limits, device, define.
    """
    from autodiff.commands.taylor import taylor as expand

    return expand(expression, at, order=order, **options)


def verify(expression: str, derivative: str, **options):
    """Check `derivative`, claimed to be the derivative of `expression`
    (`wrt=`, `order=`), over `over="x=-5:5"` (`points=`) or at `at=`: a
    verification.VerifyResult whose `right` is the verdict.

    Options: dtype, symbolic, symbolic_timeout, exact, rtol, atol, limits, define.
    """
    from autodiff.commands.verify import verify as check

    return check(expression, derivative, **options)
