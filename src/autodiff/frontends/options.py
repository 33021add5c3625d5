"""The command line's options, each declared once, and the groups commands take.

An option is an `Annotated` alias (its flags and help) and, where commands
share it, one row of SHARED (the alias and its default). A command takes the
shared options it needs with `@with_options(...)`, which extends its
signature in the order given, so typer builds them as if listed by hand:
`--help` shows them in that order, and the command receives them in its
`**options`. `library_options` turns what a command received into the
library's keyword arguments (`--no-symbolic` is `symbolic=False`, …), the one
translation every command shares; `parsed_once` parses what the lines of a
stream share (the definitions and the point).

Only typer is imported here: `--help` must not load torch or SymPy.
"""

import inspect
import operator
from enum import Enum
from typing import Annotated, Callable, List, Optional

import typer


def examples(*lines: str) -> str:
    """A command's help epilog: examples, kept on their lines (click's \\b)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def _complete_expression(incomplete: str):
    from autodiff.frontends.completion import expression_completions

    return expression_completions(incomplete)


class DType(str, Enum):
    float64 = "float64"
    float32 = "float32"


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"
    auto = "auto"


class Engine(str, Enum):
    auto = "auto"
    taylor = "taylor"
    autograd = "autograd"


class Notation(str, Enum):
    plain = "plain"
    python = "python"
    latex = "latex"


def expression_argument(help: str):
    """The expression argument of a command, with function names completed."""
    return typer.Argument(help=help, show_default=False, autocompletion=_complete_expression)


ExpressionArgument = Annotated[
    str,
    expression_argument(
        'The expression, e.g. "6*x^2+2*x+4" (see `autodiff functions`); - reads one per line from stdin.'
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object (strict JSON) instead of a table.")]
AtOption = Annotated[
    Optional[List[str]],
    typer.Option(
        "--at",
        "-a",
        help="The point: x=3, x=pi/4, x=[1,2,3] (vector), x=-5:5:101 (grid: start:stop:count). "
        "Repeatable, or comma-separated: --at x=3,y=4.",
    ),
]
DefineOption = Annotated[
    Optional[List[str]],
    typer.Option(
        "--define", "-D", metavar="DEF",
        help='A name of your own: "f(t) = t^2 + 1" (a function) or "a = 2.5" (a constant). Repeatable.',
    ),
]
DerivativeOption = Annotated[
    Optional[List[str]],
    typer.Option(
        "--derivative", metavar="DEF",
        help='The derivative of a function given with --define, used as its backward in autograd and checked: '
        '"f(t) = 2*t"; one per parameter for several: "g(a, b) = [b, a]". Repeatable.',
    ),
]
FrozenOption = Annotated[
    Optional[List[str]],
    typer.Option(
        "--frozen", metavar="VAR",
        help="A variable that is a leaf without requires_grad: no derivative is taken with respect to it. "
        "Repeatable, or comma-separated.",
    ),
]
WrtOption = Annotated[
    Optional[List[str]],
    typer.Option("--wrt", "-w", help="Variables to differentiate with respect to, comma-separated (default: all)."),
]
RtolOption = Annotated[
    Optional[float],
    typer.Option("--rtol", help="Relative tolerance of the cross-check (default 1e-7; 1e-4 for float32).", min=0),
]
AtolOption = Annotated[
    Optional[float],
    typer.Option("--atol", help="Absolute tolerance of the cross-check (default 1e-9; 1e-5 for float32).", min=0),
]
ExpectOption = Annotated[
    Optional[List[str]],
    typer.Option(
        "--expect",
        "-e",
        help="Exit 1 unless autograd gives these values: 38, or 6,4 (one per derivative, in --wrt order), or x=6,y=4, or x=[8,64].",
    ),
]
DtypeOption = Annotated[DType, typer.Option("--dtype", help="Floating-point type of the torch computation.")]
NoSymbolicOption = Annotated[
    bool, typer.Option("--no-symbolic", help="Skip SymPy; finite differences decide agreement.")
]
NoExactOption = Annotated[
    bool,
    typer.Option("--no-exact", help="Skip the exact witness (ball arithmetic); symbolic or finite differences decide."),
]
TimeoutOption = Annotated[
    float,
    typer.Option("--symbolic-timeout", help="Seconds SymPy may take before it is stopped.", min=0),
]
LimitOption = Annotated[
    Optional[List[str]],
    typer.Option(
        "--limit",
        metavar="NAME=VALUE",
        help="Raise (or lower) a limit, e.g. points=1e8 or memory=8G (repeatable). Names: length, depth, "
        "integer-digits, exact-digits, points, order, matrix-entries, matrix-values, build-seconds, "
        "graph-nodes (counted nodes of autograd's graphs), exact-operations, exact-bits, memory; and "
        "autograd-seconds, a wall-clock timeout on autograd's work, off unless set (it alone depends on the "
        "machine's speed and load). Taylor mode's: series-work (counted products) and "
        "taylor-autograd-nodes (nested autograd beside it in taylor).",
        show_default=False,
    ),
]
DeviceOption = Annotated[
    Device,
    typer.Option(
        "--device",
        help="Where autograd runs: cpu, cuda, mps, or auto (CUDA or MPS where torch sees one, else the CPU). "
        "The witnesses run on the CPU.",
    ),
]
EngineOption = Annotated[
    Engine,
    typer.Option(
        "--engine",
        help="What takes a derivative of order 2 or more along one variable: auto (Taylor mode where it has a rule "
        "for every function, else nested autograd), taylor, or autograd (nested torch.autograd.grad, whose graph "
        "grows exponentially with the order).",
    ),
]
NotationOption = Annotated[
    Notation,
    typer.Option(
        "--notation",
        help="How expressions are shown: plain (x^2, abs, as you type them), python (x**2, as in JSON) or latex.",
    ),
]
QuietOption = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Print only the answer's numbers, one line per derivative (or matrix row); no warnings."),
]
GradOutputOption = Annotated[
    Optional[str],
    typer.Option(
        "--grad-output",
        help="The gradient= argument of backward, comma-separated, one per element of a vector point (default ones).",
    ),
]
JobsOption = Annotated[
    int,
    typer.Option(
        "--jobs", "-j", min=1,
        help="With - (stdin): answer the lines in N worker processes (forked from this one) at once; the answers "
        "stay in input order, exactly as with one.",
    ),
]
WidthOption = Annotated[Optional[int], typer.Option("--width", help="Columns of the --plot chart.", min=20, max=10000)]
HeightOption = Annotated[Optional[int], typer.Option("--height", help="Rows of the --plot chart.", min=8, max=10000)]

# The options several commands take: name → (declaration, default).
SHARED = {
    "rtol": (RtolOption, None),
    "atol": (AtolOption, None),
    "dtype": (DtypeOption, DType.float64),
    "no_symbolic": (NoSymbolicOption, False),
    "no_exact": (NoExactOption, False),
    "symbolic_timeout": (TimeoutOption, 5.0),
    "limit": (LimitOption, None),
    "define": (DefineOption, None),
    "derivative": (DerivativeOption, None),
    "frozen": (FrozenOption, None),
    "device": (DeviceOption, Device.cpu),
    "engine": (EngineOption, Engine.auto),
    "notation": (NotationOption, Notation.plain),
    "quiet": (QuietOption, False),
    "jobs": (JobsOption, 1),
    "json_output": (JsonOption, False),
}

# The groups, in the order `--help` shows them.
TOLERANCES = ("rtol", "atol")
WITNESSES = ("dtype", "no_symbolic", "no_exact", "symbolic_timeout")
INPUTS = ("limit", "define", "derivative", "frozen")
# grad, partial, hessian and jacobian take every one.
DERIVATIVE_OPTIONS = (*TOLERANCES, *WITNESSES, *INPUTS, "device", "notation", "quiet", "jobs", "json_output")
# grad and partial also choose the engine of high orders along one variable.
ORDER_OPTIONS = (*TOLERANCES, *WITNESSES, *INPUTS, "device", "engine", "notation", "quiet", "jobs", "json_output")


def with_options(*names: str) -> Callable:
    """Give a command the shared options `names`, in this order, after its
    own parameters; it receives them in its `**options`.

    A name the command declares itself, keyword-only (after `*`), is its own
    option at that place: a shared name with help of its own (minimize's
    --rtol), or an option only it has, placed among the shared ones (check's
    --shard before --json)."""

    def attach(command: Callable) -> Callable:
        signature = inspect.signature(command)
        leading = [p for p in signature.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
        own = {p.name: p for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY}
        unplaced = set(own) - set(names)
        if unplaced:  # a mistake in this package: it would be missing from --help
            raise TypeError(f"{command.__name__} declares {', '.join(sorted(unplaced))} without a place among its options")
        placed = [own[name] if name in own else _shared(name) for name in names]
        # typer reads the signature (inspect.signature honours __signature__) and calls with keywords.
        command.__signature__ = signature.replace(parameters=[*leading, *placed])
        return command

    return attach


def _shared(name: str) -> inspect.Parameter:
    declaration, default = SHARED[name]
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=declaration, default=default)


def limits(texts: Optional[List[str]]):
    """--limit NAME=VALUE options, as a Limits (parsed on first use: errors exit 2)."""
    from autodiff.limits import as_limits

    return as_limits(texts or None)


def split(values: Optional[List[str]]) -> Optional[List[str]]:
    """`--wrt x,y --wrt z` → [x, y, z]."""
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _value(choice: Enum) -> str:
    return choice.value


# How a shared option reaches the library: its keyword there, and how its value is read.
_LIBRARY = {
    "rtol": ("rtol", None),
    "atol": ("atol", None),
    "dtype": ("dtype", _value),
    "no_symbolic": ("symbolic", operator.not_),
    "no_exact": ("exact", operator.not_),
    "symbolic_timeout": ("symbolic_timeout", None),
    "limit": ("limits", limits),
    "define": ("define", None),
    "derivative": ("derivative", None),
    "frozen": ("frozen", split),
    "device": ("device", _value),
    "engine": ("engine", _value),
}


def library_options(options: dict) -> dict:
    """The library's keyword arguments for the shared options in `options`.
    The front end's own (notation, quiet, jobs, json_output) stay out. Call it
    inside the computation: a bad --limit is then the answer's error (exit 2)."""
    arguments = {}
    for name, value in options.items():
        if name in _LIBRARY:
            keyword, read = _LIBRARY[name]
            arguments[keyword] = value if read is None else read(value)
    return arguments


def parsed_once(at, arguments: dict) -> dict:
    """What every line of a stream shares, parsed before the first: the
    definitions (with their declared derivatives) and the point. `arguments`:
    the library's, from library_options."""
    from autodiff.commands import api
    from autodiff.commands.prepare import scope_of

    define = api.definitions(arguments["define"], arguments["limits"], arguments["derivative"])
    point = api.as_point(at, limits=arguments["limits"], scope=scope_of(define, arguments["limits"]))
    return {"define": define, "derivative": None, "at": point}  # the derivatives are attached to the definitions

