"""What every command does first, and the one derivative core.

`prepare` reads a command's input: it parses the expression (`parse`),
checks the point, the options and the limits before torch is imported (a
usage error stays fast), and returns a `Prepared`: the texts SymPy prints
and a `Problem`, the expressions at the point with the settings of the run.

`Problem.derivatives` is the core that grad, partial, taylor and verify
call: SymPy answers a list of differentiation sequences under one deadline,
autograd answers them from one forward pass, and `Witnesses` judges each
answer. hessian, jacobian and plot share its parts (`symbolic_derivatives`,
`autograd`, `program`) around the engine's matrix calculus.
"""

from __future__ import annotations

import functools
import math
import warnings as _warnings
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence, Union

from autodiff.errors import LimitError, PointError, UnsupportedError, UsageError
from autodiff.limits import DEFAULT_LIMITS, Limits, as_limits, bytes_text, raise_hint
from autodiff.engine.values import parse_assignments, point_from_mapping
from autodiff.language.scope import EMPTY, Scope
from autodiff.points import Point, natural_order
from autodiff.results import DerivativeResult, as_tensor, numbers
from autodiff.text import value_text
from autodiff.witnesses.exact import MAX_LIMITS
from autodiff.witnesses.verdict import JUDGES, Witnesses, symbolic_text

# torch warns on stderr when NumPy is absent; nothing here uses NumPy.
_warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

PointLike = Union[Point, Mapping[str, object], Sequence[str], None]
# define=: "f(t) = t^2 + 1", a list of such texts, a mapping {"f(t)": "t^2 + 1", "a": 2.5}, or Definitions.
DefineLike = Union[str, Sequence[str], Mapping[str, object], None]

DTYPES = ("float64", "float32")


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


def scope_of(define: DefineLike, limits=DEFAULT_LIMITS, derivative: Union[str, Sequence[str], None] = None) -> Scope:
    """The scope a command parses with: the user's definitions and declared derivatives."""
    defined = definitions(define, limits, derivative)
    return Scope(defined) if defined else EMPTY


def with_definitions(function):
    """Adds define= (and derivative=) to a command of the API: the expression
    (and the point) are parsed with the user's names (the option scope=)."""

    @functools.wraps(function)
    def wrapper(*args, define: DefineLike = None, derivative=None, **options):
        if define or derivative:
            options["scope"] = scope_of(define, options.get("limits", DEFAULT_LIMITS), derivative)
        return function(*args, **options)

    return wrapper


def as_point(at: PointLike, option: str = "--at", limits: Limits = DEFAULT_LIMITS, names=None,
             scope: Scope = EMPTY) -> Optional[Point]:
    """A Point from CLI texts (`["x=3,y=4"]` or `"x=3,y=4"`), a mapping
    (`{"x": 3}`), a Point, or (with `names`, for expectations) a bare number;
    values may use the names of `scope`."""
    if at is None or isinstance(at, Point):
        return at
    if isinstance(at, Mapping):
        return point_from_mapping({name: value_text(value) for name, value in at.items()}, option, limits, scope)
    if isinstance(at, (int, float)) and not isinstance(at, bool):
        at = value_text(at)
    if isinstance(at, str):
        at = [at]
    return parse_assignments(list(at), option, limits, names, scope)


def as_names(wrt) -> Optional[list[str]]:
    """`wrt` as a list of names: "x,y" and "x" are accepted as well as ["x", "y"]."""
    if wrt is None:
        return None
    if isinstance(wrt, str):
        return [name.strip() for name in wrt.split(",") if name.strip()]
    return list(wrt)


def check_distinct(wrt: Optional[Sequence[str]]) -> None:
    if wrt and len(set(wrt)) != len(wrt):
        raise UsageError(f"--wrt names a variable twice: {','.join(wrt)}")


def check_order(order: int, limits: Limits, option: str = "--order") -> None:
    if order > limits.max_order:
        raise LimitError(f"{option} asks for order {order}; the limit is {limits.max_order} ({raise_hint('order', order)})")


@dataclass(frozen=True)
class Options:
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
    scope: Scope = EMPTY  # the user's definitions (--define, --derivative) for every parse of the command
    # A calculus.Budget that counts the graph nodes of several derivatives as
    # one command's (taylor's coefficients, verify's points share the limit
    # graph-nodes); None: each call counts its own.
    budget: object = None
    # Which engine takes the derivatives of order ≥ 2 along one variable
    # (grad --order N, partial --wrt x,x,x): "auto" (Taylor mode where it has
    # a rule for every function, else nested autograd), "taylor" or "autograd"
    # (nested torch.autograd.grad with create_graph).
    engine: str = "auto"

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")
        object.__setattr__(self, "limits", as_limits(self.limits))
        object.__setattr__(self, "frozen", tuple(dict.fromkeys(as_names(
            [self.frozen] if isinstance(self.frozen, str) else [n for text in self.frozen or () for n in as_names(text)]
        ))))
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and 0 <= value < math.inf):
                raise UsageError(f"--{name} must be a number >= 0, not {value!r}")


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


def check_memory(exprs, size: Optional[int], limits: Limits, copies: int = 1, **per) -> None:
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


def printed(expr) -> str:
    """The expression as SymPy prints it (machine form)."""
    from autodiff.language.notation import machine

    try:
        return machine(expr)
    except (ArithmeticError, ValueError, TypeError, AttributeError) as error:
        # SymPy orders terms by evaluating constants; some it cannot (hypot(2, gamma(-oo))).
        raise UnsupportedError(f"SymPy cannot print this expression ({type(error).__name__})") from None


def symbolic_derivative(expr, sequence, symbols=None):
    """SymPy's derivative along `sequence`: the one the commands compare with
    (tests make it wrong here to see the witnesses catch it)."""
    from autodiff.engine.symbolic import symbolic_derivative as diff

    return diff(expr, sequence, symbols)


ENGINES = ("auto", "taylor", "autograd")


@dataclass
class Problem:
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
    budget: object = None  # the calculus.Budget of the command that made this call; None: its own
    # The limits the exact witness may ask SymPy for where a ball is undefined (taylor: so many per coefficient).
    max_limits: int = MAX_LIMITS
    engine: str = "auto"  # Options.engine
    answered_by: str = "autograd"  # which engine gave the derivatives: "autograd" or "taylor mode"
    kinked: bool = False  # Taylor mode found no derivative where f has a value (auto: nested autograd then answers)
    # The point's tensors by dtype, built once: autograd's leaves and the
    # witnesses' plain tensors share them (a grid of 10^7 is 80 MB a copy).
    _tensors: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def expr(self):
        return self.exprs[0]

    def derivatives(self, sequences: dict, warnings: list[str]):
        """Value, a DerivativeResult for each differentiation sequence of the one
        expression (by the keys of `sequences`), and the Witnesses that judged
        them (None without a point)."""
        tasks = [(0, list(sequence)) for sequence in sequences.values()]
        weights = None if self.point is None else self.grad_output_tensor()  # validated before SymPy works
        symbolic = self.symbolic_derivatives(
            lambda: [symbolic_derivative(self.expr, sequence) for _, sequence in tasks], len(tasks), warnings
        )
        if self.point is None:
            return None, dict(zip(sequences, self.symbolic_only(tasks, symbolic))), None
        program = self.program()
        value, autograd = self.autograd(self.autograd_program(program), sequences, weights)
        witnesses = Witnesses(self, program, weights)
        results = witnesses.cross_check(tasks, list(autograd.values()), symbolic, warnings, [value])
        if self.answered_by != "autograd":
            for result in results:
                result.engine = self.answered_by
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

    def autograd(self, program, sequences: dict, weights=None):
        """f and autograd's derivative along each of `sequences` (by key),
        from one forward pass, on the CPU: first partials in one backward
        pass, nested ones each counted against the command's Budget."""
        import torch

        from autodiff.engine.calculus import Budget, derivative, evaluate, gradient, on_device

        leaves = self.leaves(requires_grad=True)
        if self.device != "cpu":  # the point's tensors (shared with the witnesses) stay on the CPU
            leaves = {name: leaf.detach().to(self.device).requires_grad_(leaf.requires_grad) for name, leaf in leaves.items()}
            weights = None if weights is None else weights.to(self.device)
        with on_device(self.device):
            output = evaluate(program, leaves, getattr(torch, self.dtype))
            if not sequences:  # f alone (taylor to order 0)
                derivatives = {}
            elif all(len(seq) == 1 for seq in sequences.values()):
                by_name = gradient(output, leaves, [seq[0] for seq in sequences.values()], weights)
                derivatives = {key: by_name[seq[0]] for key, seq in sequences.items()}
            elif (series := self.taylor_mode(leaves, sequences, weights)) is not None and not self.kinked:
                derivatives = series
            else:
                budget = self.budget
                if budget is None:  # one for all the sequences, each predicted before it runs
                    budget = Budget(self.limits.max_graph_nodes, self.limits.max_autograd_seconds)
                    budget.plan(sequences.values())
                try:
                    derivatives = {key: derivative(output, leaves, seq, weights, budget) for key, seq in sequences.items()}
                except LimitError:
                    if series is None:
                        raise
                    derivatives, self.answered_by = series, "taylor mode"  # nested autograd refused: Taylor mode's nan
        return output.detach().cpu(), {key: value.cpu() for key, value in derivatives.items()}

    def taylor_mode(self, leaves: dict, sequences: dict, weights=None) -> Optional[dict]:
        """The derivatives by Taylor mode (autodiff.engine.series), N!·c_N,
        where every sequence repeats one variable to an order ≥ 2 and the
        engine allows it; None where nested autograd takes them (--engine
        autograd, a mixed partial, a function Taylor mode has no rule for, or a
        variable with fewer elements than f: autograd sums over the rest)."""
        import torch

        from autodiff.engine.series import check_series_work
        from autodiff.engine.taylor_mode import SeriesProgram

        if self.engine == "autograd" or any(len(seq) < 2 or len(set(seq)) != 1 for seq in sequences.values()):
            return None
        try:
            program = SeriesProgram(self.autograd_exprs or self.exprs)
            values = {name: leaf.detach() for name, leaf in leaves.items()}
            points = math.prod(torch.broadcast_shapes(*(v.shape for v in values.values()))) if values else 1
            for name in dict.fromkeys(seq[0] for seq in sequences.values()):
                order = max(len(seq) for seq in sequences.values() if seq[0] == name)
                check_series_work(len(program.instructions), 1, order, points, self.limits)
        except (UnsupportedError, LimitError):
            if self.engine == "taylor":
                raise
            return None  # auto: nested autograd takes it (its own limit, graph-nodes, then decides)
        by_name = {}
        for name in dict.fromkeys(seq[0] for seq in sequences.values()):
            order = max(len(seq) for seq in sequences.values() if seq[0] == name)
            coefficients = program.coefficients(values, [name], order, getattr(torch, self.dtype))[0]
            if coefficients.shape[:-1] != values[name].shape:
                if self.engine == "taylor":
                    raise UnsupportedError(f"Taylor mode differentiates a variable with as many elements as f; {name} has fewer")
                return None
            by_name[name] = coefficients
        value = by_name[next(iter(by_name))][..., 0]
        highest = torch.stack([by_name[seq[0]][..., len(seq)] for seq in sequences.values()])
        # A kink or a branch point somewhere (nan where f has a value): in auto, nested autograd answers where its
        # graph is affordable, and the kink report says what it gives; where it is refused, Taylor mode's nan stands.
        self.kinked = self.engine == "auto" and bool((highest.isnan() & value.isfinite()).any())
        self.answered_by = "autograd" if self.kinked else "taylor mode"
        derivatives = {}
        for key, seq in sequences.items():
            derivative = by_name[seq[0]][..., len(seq)] * float(math.factorial(len(seq)))
            derivatives[key] = derivative if weights is None else derivative * weights
        return derivatives

    def symbolic_derivatives(self, work, count: int, warnings) -> list:
        """Run `work` (a list of SymPy derivatives) and print each, all under
        one deadline: a list of (derivative, text), or of None where SymPy
        is off, too slow, or failed."""
        from autodiff.deadline import SymbolicTimeout, with_deadline

        def printed_all():
            from autodiff.language.notation import machine

            return [(d, machine(d)) for d in work()]

        decided = "; finite differences decided agreement" if self.point is not None else ""
        if self.symbolic:
            try:
                return with_deadline(printed_all, self.symbolic_timeout)
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


@dataclass
class Parsed:
    """A command's expressions, parsed and printed; no point yet (`at` adds it)."""

    exprs: list
    text: str  # the expression as SymPy prints it (a list for jacobian)
    texts: list[str]  # each expression's text
    variables: list[str]  # the expressions' variables, in natural order
    source: Union[str, list]  # as given: autograd's trees are parsed from it again where a derivative is declared
    many: bool = False

    def at(self, at: PointLike, wrt: Optional[Sequence[str]], expect: PointLike, options: Options,
           one_point: Optional[str] = None) -> "Prepared":
        """The expressions at the point `at`, validated (`one_point`: the
        refusal of a vector or a grid, for a command that takes one value
        per variable), with the settings of the run."""
        variables = set(self.variables)
        # `--at 3` names the one variable there is.
        point = as_point(at, "--at", options.limits, sorted(variables) if len(variables) == 1 else None, options.scope)
        if one_point is not None and point is not None and point.size is not None:
            raise PointError(one_point)
        _check_not_defined(point, wrt, options.scope.definitions)
        if point is None and (expect is not None or options.grad_output):
            raise UsageError(f"--{'expect' if expect is not None else 'grad-output'} needs a point: add --at")
        if point is None and not options.symbolic:
            raise UsageError("without --at there is only the symbolic derivative, and --no-symbolic turns it off: add --at")
        if point is not None:
            missing = natural_order((variables | set(wrt or ())) - set(point.values))
            if missing:
                given = ",".join(f"{name}=…" for name in missing)
                raise PointError(f"no value for {', '.join(missing)}; {_missing_hint(missing, set(point.values), given)}")
            check_memory(self.exprs, point.size, options.limits)
        _check_frozen(options.frozen, wrt, variables | set(point.values if point is not None else ()))
        autograd_exprs = self._autograd_exprs(options.limits, options.scope)
        from autodiff.witnesses.checks import Tolerance  # imports torch

        tolerance = Tolerance.for_dtype(options.dtype, options.rtol, options.atol)
        problem = Problem(
            self.exprs, point, options.dtype, _grad_output(options), options.symbolic, options.symbolic_timeout,
            tolerance, options.limits, options.exact, _device(options), autograd_exprs, options.frozen, options.budget,
        )
        problem.engine = options.engine
        return Prepared(problem, self.text, self.texts, self.variables)

    def _autograd_exprs(self, limits: Limits, scope: Scope) -> Optional[list]:
        """The trees autograd lowers where a declared derivative is called: each kept as a node."""
        from autodiff.language.declared import calls_in
        from autodiff.language.parsing import parse_expression, parse_list

        if not scope.declares:
            return None
        opaque = scope.for_autograd()
        if not isinstance(self.source, str):
            trees = [parse_expression(text, limits, scope=opaque) for text in self.source]
        elif self.many:
            trees = parse_list(self.source, limits, opaque)
        else:
            trees = [parse_expression(self.source, limits, scope=opaque)]
        return trees if calls_in(trees) else None


def parse(expression: Union[str, Sequence[str]], options: Options, many: bool = False) -> Parsed:
    """The expression parsed and printed (`many`: a list `[f1, f2, ...]`, or
    a list of expression texts, as jacobian takes)."""
    from autodiff.language.parsing import parse_expression, parse_list, sympy_work

    if options.dtype not in DTYPES:
        raise UsageError(f"--dtype must be one of {', '.join(DTYPES)}, not {options.dtype!r}")
    source = list(expression) if many and not isinstance(expression, str) else expression
    if not isinstance(source, str):  # a list of functions: each parsed on its own
        exprs = [parse_expression(text, options.limits, scope=options.scope) for text in source]
        expression = "[" + ", ".join(source) + "]"
    else:
        exprs = (
            parse_list(expression, options.limits, options.scope) if many
            else [parse_expression(expression, options.limits, scope=options.scope)]
        )
    texts = sympy_work(lambda: [printed(expr) for expr in exprs], expression, options.limits)
    text = "[" + ", ".join(texts) + "]" if many else texts[0]
    variables = natural_order({symbol.name for expr in exprs for symbol in expr.free_symbols})
    return Parsed(exprs, text, texts, variables, source, many)


def prepare(
    expression: Union[str, Sequence[str]], at: PointLike, wrt: Optional[Sequence[str]], expect: PointLike,
    options: Options, many: bool = False, one_point: Optional[str] = None,
) -> "Prepared":
    """Parse and validate everything before torch is imported (errors stay fast).

    `many`: the expression is a list `[f1, f2, ...]` (jacobian). `one_point`:
    the refusal of a vector or a grid point (taylor).
    """
    return parse(expression, options, many).at(at, wrt, expect, options, one_point)


def _missing_hint(missing: list[str], known: set, given: str) -> str:
    """What to do about variables without a value: `d/dx x^2` is no
    notation of ours; `xy` is one name, unless x and y are meant."""
    if "d" in missing and any(name.startswith("d") and len(name) > 1 for name in missing):
        return "autodiff takes no d/dx: the command differentiates, e.g. autodiff grad 'x^2' --at x=1"
    for name in missing:
        letters = list(name)
        if len(letters) > 1 and all(letter in known for letter in letters):
            return f"{name} is one name: for a product write {'*'.join(letters)}"
    return f"add --at {given}"


def _check_not_defined(point, wrt, defined: Mapping) -> None:
    """A name of your own is not a variable: --at x=1 with x defined would be ignored."""
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


def _check_frozen(frozen: Sequence[str], wrt: Optional[Sequence[str]], known: set) -> None:
    """--frozen names variables of the expression or the point, none of them in --wrt."""
    for name in frozen:
        if wrt and name in wrt:
            raise UsageError(f"--wrt {name}: {name} is frozen (--frozen {name}), so no derivative is taken with respect to it")
        if name not in known:
            raise UsageError(f"--frozen {name}: {name} is not a variable of the expression or the point")


def _grad_output(options: Options) -> Optional[list]:
    grad_output = options.grad_output
    if isinstance(grad_output, str):
        from autodiff.engine.values import parse_values

        grad_output = parse_values(grad_output, "--grad-output", options.limits, options.scope)
    elif isinstance(grad_output, (int, float)):
        grad_output = [float(grad_output)]
    return list(grad_output) if grad_output else None


def _device(options: Options) -> str:
    from autodiff.engine.calculus import resolve_device

    try:
        return resolve_device(options.device, options.dtype)
    except ValueError as error:
        raise UsageError(str(error)) from None


VALUE_KEYS = ("value_exact", "value_digits", "value_exact_source")  # f's exact value, from Witnesses.value_checks


@dataclass
class Prepared:
    problem: Problem
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
        checks = (witnesses.value_checks if witnesses is not None else []) or [{}]
        if judges:
            checked_by = min(judges, key=JUDGES.index)
        elif not derivatives and checks[0].get("value_exact") is not None:  # f alone (taylor to order 0): exactly
            checked_by = "exact"
        else:
            checked_by = "symbolic" if symbolic_used else "numeric"
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


def _declared_checks(problem) -> list[dict]:
    """Each declared derivative the expression calls, checked against its definition (autodiff.witnesses.declared)."""
    if problem.autograd_exprs is None:
        return []
    from autodiff.witnesses.declared import check

    return check(problem)
