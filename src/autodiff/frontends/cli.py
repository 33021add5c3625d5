"""The command line: options in, one library call, a renderer out.

Only typer is imported at start-up; torch and SymPy load inside the commands
that need them, so `--help` and `--version` stay fast.
"""

import errno
import os
import sys
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Callable, List, Optional

import typer

from autodiff import __version__
from autodiff.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    AutodiffError,
    most_severe,
)
from autodiff.frontends.completion import Shell
from autodiff.frontends.streaming import STDIN


def _examples(*lines: str) -> str:
    """A command's help epilog: examples, kept on their lines (click's \\b)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


app = typer.Typer(
    name="autodiff",
    help=(
        "Derivatives from PyTorch autograd, side by side with SymPy's symbolic derivative "
        "and a finite-difference estimate, with a verdict on whether they agree."
    ),
    add_completion=False,
    # Plain help (click's format): typer's rich help imports rich's markdown
    # and table machinery, which triples the time of `autodiff --help`.
    rich_markup_mode=None,
    epilog=_examples(
        'autodiff grad "6*x^2+2*x+4" --at x=3',
        'autodiff hessian "x^2*y + y^3" --at x=1,y=2',
        "autodiff check cases.toml --junit report.xml",
        "autodiff COMMAND -h",
    ),
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class DType(str, Enum):
    float64 = "float64"
    float32 = "float32"


def _complete_expression(incomplete: str):
    from autodiff.frontends.completion import expression_completions

    return expression_completions(incomplete)


# Arguments and options shared by every command, declared once.
ExpressionArgument = Annotated[
    str,
    typer.Argument(
        help='The expression, e.g. "6*x^2+2*x+4" (see `autodiff functions`); - reads one per line from stdin.',
        show_default=False,
        autocompletion=_complete_expression,
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
        "machine's speed and load).",
        show_default=False,
    ),
]
class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"
    auto = "auto"


DeviceOption = Annotated[
    Device,
    typer.Option(
        "--device",
        help="Where autograd runs: cpu, cuda, mps, or auto (CUDA or MPS where torch sees one, else the CPU). "
        "The witnesses run on the CPU.",
    ),
]


class Notation(str, Enum):
    plain = "plain"
    python = "python"
    latex = "latex"


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


def _version(value: bool) -> None:
    if value:
        typer.echo(f"autodiff {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Derivatives from PyTorch autograd, checked against SymPy and finite differences."""
    from autodiff.language import notation

    notation.use("plain")  # each command starts from the default; --notation sets another


def _limits(texts: Optional[List[str]]):
    """--limit NAME=VALUE options, as a Limits (parsed on first use: errors exit 2)."""
    from autodiff.limits import as_limits

    return as_limits(texts or None)


def _split(values: Optional[List[str]]) -> Optional[List[str]]:
    """`--wrt x,y --wrt z` → [x, y, z]."""
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _run(
    json_output: bool,
    compute: Callable[[str], object],
    render: Callable[[object, object], None],
    expression: str,
    prepare: Optional[Callable[[], None]] = None,
    limit: Optional[List[str]] = None,
    quiet: bool = False,
) -> None:
    """Answer `expression`, or each line of standard input when it is `-`;
    exit with the answer's code (the most severe one when streaming).
    `limit`: the --limit texts (a streamed line is held to their length);
    `quiet`: no warnings on stderr (errors still are)."""
    if expression != STDIN:
        # The library parses the expression before the point: a typo in the
        # expression is reported before torch is loaded to evaluate `--at`.
        return _run_one(json_output, lambda: compute(expression), render, quiet)
    with _quiet_when_the_reader_leaves():
        # Streaming: what every line shares (--at, --grad-output) is parsed once.
        if prepare is not None:
            code = _answer(json_output, prepare, render, line=None)
            if code != EXIT_OK:
                raise typer.Exit(code)
        raise typer.Exit(_stream(json_output, compute, render, _limits(limit), quiet))


def _run_one(json_output: bool, compute: Callable[[], object], render, quiet: bool = False) -> None:
    with _quiet_when_the_reader_leaves():
        raise typer.Exit(_answer(json_output, compute, render, quiet=quiet))


def _answer(json_output: bool, compute: Callable[[], object], render, line: Optional[int] = None,
            quiet: bool = False) -> int:
    """Compute and print one answer (or its error); return its exit code.

    `line`: the input line it answers, when streaming; JSON objects then
    carry it, and human-readable errors and warnings name it.
    """
    from autodiff.presentation import render as renderers

    try:
        try:
            result = compute()
        except MemoryError:
            raise _out_of_memory() from None
        if result is None:  # a preparation step: nothing to print
            return EXIT_OK
        if json_output:
            _echo_json(result.to_json(), line)
        else:
            render(result, renderers.stdout_console())  # may refuse too: a chart it cannot draw
            if not quiet:
                renderers.render_warnings(result.warnings, renderers.stderr_console(), _where(line))
        return result.exit_code
    except AutodiffError as error:
        if json_output:
            _echo_json(error.to_json(), line)
        else:
            renderers.render_error(error, renderers.stderr_console(), _where(line))
        return error.exit_code


def _out_of_memory() -> AutodiffError:
    from autodiff.errors import LimitError
    from autodiff.limits import DEFAULT_LIMITS, bytes_text

    limit = DEFAULT_LIMITS.memory()
    known = f" (the memory limit is {bytes_text(limit)})" if limit else ""
    return LimitError(
        f"out of memory{known}: the computation needs more than the machine gives it; "
        "use a smaller point or grid, or lower --limit memory so the estimate refuses it before it starts"
    )


def _where(line: Optional[int]) -> str:
    return "" if line is None else f"line {line}: "


def _echo_json(payload: dict, line: Optional[int]) -> None:
    from autodiff.presentation.render import write_json

    write_json(payload if line is None else {"line": line, **payload})


def _stream(json_output: bool, compute: Callable[[str], object], render, limits, quiet: bool = False) -> int:
    """Answer each expression line of standard input in turn, in one process."""
    from autodiff.frontends.streaming import expression_lines, text_stdin

    worst, tables = EXIT_OK, 0

    def separated(result, console):
        nonlocal tables
        if tables and not quiet:
            console.print()  # a blank line between two tables
        render(result, console)
        tables += 1

    for number, text in expression_lines(text_stdin(), limits):
        try:
            code = _answer(json_output, lambda text=text: _line(compute, text), separated, line=number, quiet=quiet)
        except BrokenPipeError:
            raise
        except Exception as error:  # a bug on one line must not desynchronise the stream
            code = _report_bug(error, json_output, number)
        worst = most_severe(worst, code)
    return worst


def _line(compute, text):
    if isinstance(text, AutodiffError):  # the line itself was refused (too long)
        raise text
    return compute(text)


@contextmanager
def _quiet_when_the_reader_leaves():
    """`autodiff grad - --json < many | head -1`: when the reader closes the
    pipe, stop without a traceback or a message, exit 141 like other Unix
    tools killed by SIGPIPE."""
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit must not fail again
        raise typer.Exit(EXIT_BROKEN_PIPE) from None


def _report_bug(error: Exception, json_output: bool, line: Optional[int] = None) -> int:
    message = f"internal error: {type(error).__name__}: {error}".splitlines()[0]
    if json_output:
        _echo_json({"error": {"type": "internal_error", "message": message}}, line)
    else:
        typer.echo(f"{_where(line)}error: {message} (please report this)", err=True)
    return EXIT_INTERNAL


def _derivative_command(function_name: str, json_output: bool, no_symbolic: bool, dtype: DType,
                        grad_output: Optional[str] = None, notation: Notation = Notation.plain, quiet: bool = False,
                        **arguments) -> None:
    """grad, partial, hessian, jacobian: one call into autodiff.commands.api, then its renderer."""
    from autodiff.language import notation as notations

    notations.use(notation.value)
    key = "expressions" if function_name == "jacobian" else "expression"
    expression = arguments.pop(key)

    if grad_output:
        arguments["grad_output"] = grad_output  # the library parses the text

    def prepare():  # streaming: what every line shares is parsed once
        from autodiff.commands import api
        from autodiff.language.definitions import active
        from autodiff.points import parse_values

        if grad_output:
            arguments["grad_output"] = parse_values(grad_output, "--grad-output", _limits(arguments["limits"]))
        arguments["define"] = api.definitions(
            arguments.get("define"), _limits(arguments["limits"]), arguments.pop("derivative", None)
        )
        with active(arguments["define"]):
            arguments["at"] = api.as_point(arguments["at"], limits=_limits(arguments["limits"]))

    def compute(text: str):
        from autodiff.commands import api

        return getattr(api, function_name)(text, symbolic=not no_symbolic, dtype=dtype.value, **arguments)

    def render(result, console):
        from autodiff.presentation.render import render_matrix_report, render_report
        from autodiff.results import MatrixReport

        if quiet:
            from autodiff.presentation.quiet import lines

            for line in lines(result):
                typer.echo(line)
            return
        (render_matrix_report if isinstance(result, MatrixReport) else render_report)(result, console)

    _run(json_output, compute, render, expression, prepare, arguments["limits"], quiet)


@app.command(epilog=_examples(
    'autodiff grad "6*x^2+2*x+4" --at x=3',
    'autodiff grad "x^2*y + sin(y)" --at x=1,y=2 --json',
    'autodiff grad "sin(x)" --order 3 --at x=0',
    'x=$(autodiff grad "x^2" --at 3 -q)',
))
def grad(
    expression: ExpressionArgument,
    at: AtOption = None,
    wrt: WrtOption = None,
    order: Annotated[
        int, typer.Option("--order", "-n", help="Derivative order (at most 20): the N-th pure partial for each variable.", min=1)
    ] = 1,
    grad_output: GradOutputOption = None,
    expect: ExpectOption = None,
    rtol: RtolOption = None,
    atol: AtolOption = None,
    dtype: DtypeOption = DType.float64,
    no_symbolic: NoSymbolicOption = False,
    no_exact: NoExactOption = False,
    symbolic_timeout: TimeoutOption = 5.0,
    limit: LimitOption = None,
    define: DefineOption = None,
    derivative: DerivativeOption = None,
    frozen: FrozenOption = None,
    device: DeviceOption = Device.cpu,
    notation: NotationOption = Notation.plain,
    quiet: QuietOption = False,
    json_output: JsonOption = False,
) -> None:
    """Value and gradient at a point, autograd beside symbolic and finite differences.

    Without --at, prints the symbolic derivatives only.
    """
    _derivative_command(
        "grad", json_output, no_symbolic, dtype, grad_output, expression=expression, at=at, wrt=_split(wrt),
        order=order, expect=expect, rtol=rtol, atol=atol, symbolic_timeout=symbolic_timeout, exact=not no_exact, limits=limit, define=define,
        derivative=derivative, frozen=_split(frozen),
        notation=notation, quiet=quiet, device=device.value,
    )


@app.command(epilog=_examples(
    'autodiff partial "x^2*y^3" --wrt x,y --at x=1,y=2',
    'autodiff partial "exp(x*y)" --wrt y --at x=1,y=0',
    'autodiff partial "sin(x)" --wrt x,x,x',
))
def partial(
    expression: ExpressionArgument,
    at: AtOption = None,
    wrt: Annotated[
        Optional[List[str]],
        typer.Option(
            "--wrt",
            "-w",
            help="The differentiation sequence: u,v is ∂²f/∂v∂u (as sympy.diff(f, u, v)); x,x,x the third "
            "derivative. Optional for a function of one variable.",
        ),
    ] = None,
    grad_output: GradOutputOption = None,
    expect: Annotated[
        Optional[List[str]],
        typer.Option("--expect", "-e", help="Exit 1 unless autograd gives this value (a vector for vector points)."),
    ] = None,
    rtol: RtolOption = None,
    atol: AtolOption = None,
    dtype: DtypeOption = DType.float64,
    no_symbolic: NoSymbolicOption = False,
    no_exact: NoExactOption = False,
    symbolic_timeout: TimeoutOption = 5.0,
    limit: LimitOption = None,
    define: DefineOption = None,
    derivative: DerivativeOption = None,
    frozen: FrozenOption = None,
    device: DeviceOption = Device.cpu,
    notation: NotationOption = Notation.plain,
    quiet: QuietOption = False,
    json_output: JsonOption = False,
) -> None:
    """One partial derivative, possibly mixed or repeated, autograd beside symbolic.

    Without --at, prints the symbolic derivative only.
    """
    _derivative_command(
        "partial", json_output, no_symbolic, dtype, grad_output, expression=expression, at=at, wrt=_split(wrt),
        expect=expect, rtol=rtol, atol=atol, symbolic_timeout=symbolic_timeout, exact=not no_exact, limits=limit, define=define,
        derivative=derivative, frozen=_split(frozen),
        notation=notation, quiet=quiet, device=device.value,
    )


MatrixExpectOption = Annotated[
    Optional[List[str]],
    typer.Option(
        "--expect",
        "-e",
        help="Exit 1 unless autograd gives this matrix: [[4,2],[2,12]], or its entries row by row (4,2,2,12), "
        "or one row per --expect. The same matrix at every point of a vector point.",
    ),
]
ColumnsOption = Annotated[
    Optional[List[str]],
    typer.Option(
        "--wrt",
        "-w",
        help="The variables of the columns, comma-separated, in this order (default: every variable, natural order).",
    ),
]


@app.command(epilog=_examples(
    'autodiff hessian "x^2*y + y^3" --at x=1,y=2',
    'autodiff hessian "x^2 + y^2" --at x=0,y=0 --json',
    'autodiff hessian "x^4 - 2x^2 + y^2"',
))
def hessian(
    expression: ExpressionArgument,
    at: AtOption = None,
    wrt: ColumnsOption = None,
    expect: MatrixExpectOption = None,
    rtol: RtolOption = None,
    atol: AtolOption = None,
    dtype: DtypeOption = DType.float64,
    no_symbolic: NoSymbolicOption = False,
    no_exact: NoExactOption = False,
    symbolic_timeout: TimeoutOption = 5.0,
    limit: LimitOption = None,
    define: DefineOption = None,
    derivative: DerivativeOption = None,
    frozen: FrozenOption = None,
    device: DeviceOption = Device.cpu,
    notation: NotationOption = Notation.plain,
    quiet: QuietOption = False,
    json_output: JsonOption = False,
) -> None:
    """The Hessian matrix, autograd beside symbolic and finite differences, with
    symmetry, eigenvalues, definiteness and the kind of critical point.

    Without --at, prints the symbolic Hessian only.
    """
    _derivative_command(
        "hessian", json_output, no_symbolic, dtype, expression=expression, at=at, wrt=_split(wrt),
        expect=expect, rtol=rtol, atol=atol, symbolic_timeout=symbolic_timeout, exact=not no_exact, limits=limit, define=define,
        derivative=derivative, frozen=_split(frozen),
        notation=notation, quiet=quiet, device=device.value,
    )


@app.command(epilog=_examples(
    'autodiff jacobian "[x*y, x+y, sin(x)]" --at x=1,y=2',
    'autodiff jacobian "[r*cos(t), r*sin(t)]" --at r=2,t=pi/4 --json',
))
def jacobian(
    expressions: Annotated[
        str,
        typer.Argument(help='The functions as a list, e.g. "[x*y, x+y, sin(x)]" (one expression: a 1-row Jacobian); '
                       "- reads one list per line from stdin.", show_default=False, autocompletion=_complete_expression),
    ],
    at: AtOption = None,
    wrt: ColumnsOption = None,
    expect: MatrixExpectOption = None,
    rtol: RtolOption = None,
    atol: AtolOption = None,
    dtype: DtypeOption = DType.float64,
    no_symbolic: NoSymbolicOption = False,
    no_exact: NoExactOption = False,
    symbolic_timeout: TimeoutOption = 5.0,
    limit: LimitOption = None,
    define: DefineOption = None,
    derivative: DerivativeOption = None,
    frozen: FrozenOption = None,
    device: DeviceOption = Device.cpu,
    notation: NotationOption = Notation.plain,
    quiet: QuietOption = False,
    json_output: JsonOption = False,
) -> None:
    """The Jacobian of a list of functions, autograd beside symbolic and finite differences.

    Without --at, prints the symbolic Jacobian only.
    """
    _derivative_command(
        "jacobian", json_output, no_symbolic, dtype, expressions=expressions, at=at, wrt=_split(wrt),
        expect=expect, rtol=rtol, atol=atol, symbolic_timeout=symbolic_timeout, exact=not no_exact, limits=limit, define=define,
        derivative=derivative, frozen=_split(frozen),
        notation=notation, quiet=quiet, device=device.value,
    )


@app.command(epilog=_examples(
    'autodiff plot "sin(x)" --range x=-5:5',
    'autodiff plot "tan(x)" --order 2 --ylim -10:10',
    'autodiff plot "x^3 - 2x" --output cubic.png',
))
def plot(
    expression: Annotated[
        str,
        typer.Argument(
            help='The expression, e.g. "sin(x)" (see `autodiff functions`). One expression: plot does not read stdin.',
            show_default=False,
            autocompletion=_complete_expression,
        ),
    ],
    over: Annotated[
        Optional[str],
        typer.Option("--range", "-r", help="The variable and its range, x=-5:5 (default: the one variable, -5 to 5)."),
    ] = None,
    points: Annotated[int, typer.Option("--points", "-p", help="Sample points on the range.", min=2)] = 400,
    order: Annotated[
        int, typer.Option("--order", "-n", help="Derivatives to draw beside f: 1 (f′), 2 (f′, f″) or 3.", min=1, max=3)
    ] = 1,
    at: Annotated[
        Optional[List[str]], typer.Option("--at", "-a", help="Values for the other variables: --at y=2.")
    ] = None,
    output: Annotated[
        Optional[str], typer.Option("--output", "-o", help="Write a .png, .svg or .pdf figure instead of drawing in the terminal.")
    ] = None,
    width: Annotated[
        Optional[int],
        typer.Option("--width", help="Width: pixels for --output (default 800), columns in the terminal.", min=20, max=10000),
    ] = None,
    height: Annotated[
        Optional[int],
        typer.Option("--height", help="Height: pixels for --output (default 500), rows in the terminal.", min=8, max=10000),
    ] = None,
    ylim: Annotated[
        Optional[str],
        typer.Option(
            "--ylim",
            metavar="LOW:HIGH",
            help="The y range, e.g. -10:10 (default: the bulk of every curve; what lies beyond is clipped and counted).",
            show_default=False,
        ),
    ] = None,
    rtol: RtolOption = None,
    atol: AtolOption = None,
    dtype: DtypeOption = DType.float64,
    no_symbolic: Annotated[bool, typer.Option("--no-symbolic", help="Skip SymPy: the curves are drawn, not compared.")] = False,
    no_exact: NoExactOption = False,
    symbolic_timeout: TimeoutOption = 5.0,
    limit: LimitOption = None,
    define: DefineOption = None,
    derivative: DerivativeOption = None,
    frozen: FrozenOption = None,
    device: DeviceOption = Device.cpu,
    json_output: JsonOption = False,
) -> None:
    """f beside its derivative(s) over a range: autograd on the whole grid at once,
    checked against the symbolic derivative on the same grid. The chart fills
    the terminal; y spans the bulk of the curves, so a pole cannot flatten
    them (--ylim to choose)."""
    y_range = None

    def compute():
        nonlocal y_range
        from autodiff.commands import api
        from autodiff.presentation.plotting import parse_ylim, write_file, y_window

        if expression == STDIN:
            from autodiff.errors import UsageError

            raise UsageError('plot draws one expression, given as its argument; it does not read "-" (stdin)')
        y_range = parse_ylim(ylim) if ylim is not None else None
        result = api.plot(
            expression, over=over, points=points, order=order, at=at, rtol=rtol, atol=atol, dtype=dtype.value,
            symbolic=not no_symbolic, symbolic_timeout=symbolic_timeout, exact=not no_exact, limits=_limits(limit),
            device=device.value, define=define, derivative=derivative, frozen=_split(frozen),
        )
        if output:
            write_file(result, output, width or 800, height or 500, y_window(result, y_range), expression)
            result.output = output
        return result

    def render(result, console):
        from autodiff.presentation.plotting import render_plot

        render_plot(result, console, width, height, y_range, expression)

    _run_one(json_output, compute, render)


class GraphFormat(str, Enum):
    tree = "tree"
    dot = "dot"
    json = "json"


@app.command(epilog=_examples(
    'autodiff graph "sin(x)*exp(x) + x^2" --at x=1',
    'autodiff graph "x*y + y" --at x=2,y=3 --format dot | dot -Tsvg > graph.svg',
    'autodiff graph "x^2" --at x=3 --format json',
))
def graph(
    expression: ExpressionArgument,
    at: AtOption = None,
    output_format: Annotated[
        GraphFormat,
        typer.Option("--format", "-f", help="tree (for people), dot (Graphviz: pipe into `dot -Tsvg`) or json."),
    ] = GraphFormat.tree,
    limit: LimitOption = None,
    define: DefineOption = None,
    derivative: DerivativeOption = None,
    frozen: FrozenOption = None,
    json_output: JsonOption = False,
) -> None:
    """The autograd graph: grad_fn nodes from the output back to the leaves, with each
    tensor's data, requires_grad, is_leaf, grad_fn and grad after backward.
    """
    as_json = json_output or output_format is GraphFormat.json

    point = {"at": at, "define": define, "derivative": derivative}

    def prepare():
        from autodiff.commands import api
        from autodiff.language.definitions import active

        point["define"] = api.definitions(define, _limits(limit), derivative)
        point["derivative"] = None  # attached to the definitions
        with active(point["define"]):
            point["at"] = api.as_point(at, limits=_limits(limit))

    def compute(text: str):
        from autodiff.commands import api

        return api.graph(text, point["at"], limits=_limits(limit), define=point["define"],
                         derivative=point["derivative"], frozen=_split(frozen))

    def render(result, console):
        from autodiff.presentation import render as renderers

        if output_format is GraphFormat.dot:
            typer.echo(renderers.graph_dot(result))
        else:
            renderers.render_graph(result, console)

    _run(as_json, compute, render, expression, prepare, limit)


@app.command(epilog=_examples(
    'autodiff check cases.toml',
    'autodiff check cases.toml --junit report.xml',
    'autodiff check cases.toml -k tanh --json',
    'autodiff check cases.toml --shard 2/4 --jobs 2 --junit shard-2.xml',
))
def check(
    files: Annotated[
        List[str],
        typer.Argument(help="TOML case files (the format of the README's case files); - reads one from stdin.",
                       show_default=False, metavar="FILE"),
    ],
    select: Annotated[
        Optional[List[str]],
        typer.Option("-k", "--select", metavar="TEXT",
                     help="Run only the cases whose name contains this text (case-insensitive; repeatable: any)."),
    ] = None,
    junit: Annotated[
        Optional[str],
        typer.Option("--junit", metavar="FILE", help="Also write a JUnit XML report to this file, for CI systems."),
    ] = None,
    rtol: Annotated[
        Optional[float], typer.Option("--rtol", help="Relative tolerance for cases that set none (default 1e-7; 1e-4 for float32).", min=0)
    ] = None,
    atol: Annotated[
        Optional[float], typer.Option("--atol", help="Absolute tolerance for cases that set none (default 1e-9; 1e-5 for float32).", min=0)
    ] = None,
    dtype: DtypeOption = DType.float64,
    symbolic_timeout: TimeoutOption = 5.0,
    no_exact: NoExactOption = False,
    limit: LimitOption = None,
    define: DefineOption = None,
    derivative: DerivativeOption = None,
    shard: Annotated[
        Optional[str],
        typer.Option("--shard", metavar="K/N",
                     help="Run only the K-th of N shares of the cases (every N-th from the K-th), for a CI matrix."),
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Worker processes running cases at once; output stays in case order.", min=1)
    ] = 1,
    json_output: JsonOption = False,
) -> None:
    """Run case files of expressions and expected values in one process: a line per
    case, the details of each failure, and `N passed, M failed`. Exit 0 only when
    every case passes.
    """

    from autodiff.presentation import render as renderers

    streamed = {"file": None, "cases": 0}
    console = renderers.stdout_console()

    def print_case(result) -> None:  # each case as it finishes: memory stays flat in the number of cases
        if json_output:
            typer.echo(('{"cases": [' if not streamed["cases"] else ", ") + renderers.dumps(result.to_json()), nl=False)
        else:
            streamed["file"] = renderers.render_check_case(result, console, len(set(files)) > 1, streamed["file"])
        streamed["cases"] += 1

    def compute():
        from autodiff.commands.cases import check as run_cases, check_writable, parse_shard, write_junit

        share = parse_shard(shard) if shard is not None else None
        if junit is not None:
            check_writable(junit, files)
        report = run_cases(
            files, select_names=select, dtype=dtype.value, rtol=rtol, atol=atol, symbolic_timeout=symbolic_timeout,
            exact=not no_exact, limits=_limits(limit), define=define, derivative=derivative, on_result=print_case, keep_results=False,
            junit_records=junit is not None, shard=share, jobs=jobs,
        )
        if junit is not None:
            write_junit(report, junit)
        return report

    with _quiet_when_the_reader_leaves():
        try:
            report = compute()
        except AutodiffError as error:  # a bad file or option: before any case ran
            if json_output:
                _echo_json(error.to_json(), None)
            else:
                renderers.render_error(error, renderers.stderr_console())
            raise typer.Exit(error.exit_code) from None
        if json_output:
            closing = renderers.dumps(report.closing_json())
            typer.echo(('{"cases": [' if not streamed["cases"] else "") + "], " + closing[1:])
        else:
            renderers.render_check_closing(report, console)
            renderers.render_warnings(report.warnings, renderers.stderr_console())
        if report.output_error:  # the cases ran and the report stands; the file did not get written
            typer.echo(f"error: {report.output_error}", err=True)
        raise typer.Exit(report.exit_code)


@app.command(epilog=_examples(
    'autodiff taylor "exp(x)" --at x=0 --order 5',
    'autodiff taylor "sin(x)*exp(y)" --at x=0,y=0 --order 3',
    'autodiff taylor "log(1+x)" --at 0 --order 4 --plot --range x=-0.9:2',
))
def taylor(
    expression: ExpressionArgument,
    at: AtOption = None,
    order: Annotated[
        int, typer.Option("--order", "-n", help="The highest total degree of the polynomial (at most 20).", min=0)
    ] = 4,
    plot: Annotated[bool, typer.Option("--plot", help="Draw f beside its Taylor polynomials (one variable).")] = False,
    over: Annotated[
        Optional[str], typer.Option("--range", "-r", help="The range of --plot, x=-1:1 (default: the point ± 2).")
    ] = None,
    width: Annotated[Optional[int], typer.Option("--width", help="Columns of the --plot chart.", min=20, max=10000)] = None,
    height: Annotated[Optional[int], typer.Option("--height", help="Rows of the --plot chart.", min=8, max=10000)] = None,
    rtol: RtolOption = None,
    atol: AtolOption = None,
    dtype: DtypeOption = DType.float64,
    no_symbolic: NoSymbolicOption = False,
    no_exact: NoExactOption = False,
    symbolic_timeout: TimeoutOption = 5.0,
    limit: LimitOption = None,
    define: DefineOption = None,
    notation: NotationOption = Notation.plain,
    json_output: JsonOption = False,
) -> None:
    """Taylor coefficients f⁽ᵅ⁾(a)/α! up to total degree N from autograd (nested
    derivatives), beside SymPy's exact coefficients and the exact witness.
    """
    from autodiff.language import notation as notations

    notations.use(notation.value)

    def compute():
        from autodiff.commands.taylor import taylor as expand

        if expression == STDIN:
            from autodiff.errors import UsageError

            raise UsageError('taylor expands one expression, given as its argument; it does not read "-" (stdin)')

        return expand(
            expression, at, order=order, plot=plot, over=over, rtol=rtol, atol=atol, dtype=dtype.value,
            symbolic=not no_symbolic, symbolic_timeout=symbolic_timeout, exact=not no_exact, limits=_limits(limit),
            define=define,
        )

    def render(result, console):
        from autodiff.commands.taylor import render_taylor

        render_taylor(result, console)
        if result.chart is not None:
            from autodiff.presentation.plotting import chart_size, terminal_chart

            color = console.is_terminal and not console.no_color
            chart = terminal_chart(result.chart, *chart_size(console, width, height, 1), color, typed=expression)
            console.file.write(chart.rstrip("\n") + "\n")
            console.file.flush()

    _run_one(json_output, compute, render)


@app.command(epilog=_examples(
    'autodiff verify "x^3 + 2*x^2 + 3*x + 4" --derivative "3*x^2 + 4*x + 3" --range x=-5:5',
    'autodiff verify "sin(x)^2" --derivative "2*sin(x)*cos(x)" --at x=[0,1,2]',
    'autodiff verify "x^2*y" --derivative "2*y" --order 2 --wrt x --at y=3 --plot',
))
def verify(
    expression: ExpressionArgument,
    claimed: Annotated[
        str, typer.Option("--derivative", "-d", metavar="D", help="The derivative you derived, to be checked.")
    ],
    wrt: Annotated[
        Optional[str], typer.Option("--wrt", "-w", help="The variable D is the derivative by (default: f's one free variable).")
    ] = None,
    over: Annotated[
        Optional[str], typer.Option("--range", "-r", help="Where to check: x=-5:5 (the default), as --points points.")
    ] = None,
    at: Annotated[
        Optional[List[str]],
        typer.Option("--at", "-a", help="Values of the other variables; or of the variable itself (a number, [vector] or grid) instead of --range."),
    ] = None,
    order: Annotated[int, typer.Option("--order", "-n", help="D is claimed to be the N-th derivative.", min=1)] = 1,
    points: Annotated[int, typer.Option("--points", "-p", help="Points of the range checked.", min=2)] = 400,
    plot: Annotated[bool, typer.Option("--plot", help="Draw D beside autograd's derivative over the range.")] = False,
    width: Annotated[Optional[int], typer.Option("--width", help="Columns of the --plot chart.", min=20, max=10000)] = None,
    height: Annotated[Optional[int], typer.Option("--height", help="Rows of the --plot chart.", min=8, max=10000)] = None,
    rtol: RtolOption = None,
    atol: AtolOption = None,
    no_symbolic: NoSymbolicOption = False,
    no_exact: NoExactOption = False,
    symbolic_timeout: TimeoutOption = 5.0,
    limit: LimitOption = None,
    define: DefineOption = None,
    notation: NotationOption = Notation.plain,
    json_output: JsonOption = False,
) -> None:
    """Check a hand-derived derivative D over a range: the largest error, the points
    where D is wrong (beside autograd and the exact value), and SymPy's proof.
    Exit 0 only when D is right everywhere checked.
    """
    from autodiff.language import notation as notations

    notations.use(notation.value)

    def compute():
        from autodiff.commands.verify import verify as check_derivative

        if expression == STDIN:
            from autodiff.errors import UsageError

            raise UsageError('verify checks one expression, given as its argument; it does not read "-" (stdin)')
        return check_derivative(
            expression, claimed, wrt=wrt, over=over, at=at, order=order, points=points, plot=plot, rtol=rtol,
            atol=atol, symbolic=not no_symbolic, symbolic_timeout=symbolic_timeout, exact=not no_exact,
            limits=_limits(limit), define=define,
        )

    def render(result, console):
        from autodiff.commands.verify import render_verify

        if result.chart is not None:
            from autodiff.presentation.plotting import chart_size, terminal_chart

            color = console.is_terminal and not console.no_color
            chart = terminal_chart(result.chart, *chart_size(console, width, height, 8), color, typed=expression)
            console.file.write(chart.rstrip("\n") + "\n")
            console.file.flush()
        render_verify(result, console)

    _run_one(json_output, compute, render)


@app.command(epilog=_examples(
    'autodiff minimize "2*x^2+3*x+1" --from x=3 --optimizer gd --lr 0.1 --steps 100',
    'autodiff minimize "(1-x)^2 + 100*(y-x^2)^2" --from x=-1.2,y=1 --optimizer adam,lbfgs --steps 5000',
    'autodiff minimize "x^2 - y^2" --from x=1,y=0 --optimizer all --plot',
    'autodiff minimize "sin(x)" --from x=1 --maximize --trace | jq -c "select(.step)"',
))
def minimize(
    expression: ExpressionArgument,
    start: Annotated[
        Optional[List[str]],
        typer.Option("--from", help="The start: x=3, or x=-1.2,y=1 (repeatable); a bare value for one variable."),
    ] = None,
    optimizer: Annotated[
        Optional[List[str]],
        typer.Option(
            "--optimizer", metavar="NAME[,NAME…]",
            help="gd (the hand-written loop), sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad, lbfgs, "
            "newton, or all; comma-separated or repeated (default gd).",
        ),
    ] = None,
    lr: Annotated[
        Optional[float],
        typer.Option("--lr", help="Learning rate of every optimiser (default 0.01; 1 for lbfgs and newton)."),
    ] = None,
    steps: Annotated[int, typer.Option("--steps", help="The most steps each optimiser takes.", min=1)] = 1000,
    tol: Annotated[float, typer.Option("--tol", help="Stop (converged) when the gradient's norm is at most this.")] = 1e-8,
    maximize: Annotated[bool, typer.Option("--maximize", help="Climb to a maximum instead.")] = False,
    expect: Annotated[
        Optional[List[str]],
        typer.Option("--expect", "-e", help="Exit 1 unless every optimiser ends at this point: -0.75, or x=1,y=1 "
                     "(within --rtol/--atol, default 1e-6)."),
    ] = None,
    trace: Annotated[
        bool, typer.Option("--trace", help="JSON Lines: an object per step per optimiser, then the result's object.")
    ] = False,
    plot: Annotated[bool, typer.Option("--plot", help="Draw f against the step for every optimiser in the terminal.")] = False,
    output: Annotated[
        Optional[str],
        typer.Option("--output", "-o", help="Also write a .png, .svg or .pdf: each path over f (one or two variables) "
                     "beside f against the step."),
    ] = None,
    width: Annotated[Optional[int], typer.Option("--width", help="Columns of the --plot chart.", min=20, max=10000)] = None,
    height: Annotated[Optional[int], typer.Option("--height", help="Rows of the --plot chart.", min=8, max=10000)] = None,
    rtol: Annotated[
        Optional[float], typer.Option("--rtol", help="Relative tolerance of --expect and of the curvature (zero eigenvalues).", min=0)
    ] = None,
    atol: Annotated[
        Optional[float], typer.Option("--atol", help="Absolute tolerance of --expect and of the curvature.", min=0)
    ] = None,
    dtype: DtypeOption = DType.float64,
    no_symbolic: Annotated[bool, typer.Option("--no-symbolic", help="Skip SymPy's critical points.")] = False,
    symbolic_timeout: TimeoutOption = 5.0,
    limit: LimitOption = None,
    define: DefineOption = None,
    notation: NotationOption = Notation.plain,
    json_output: JsonOption = False,
) -> None:
    """Gradient descent and torch.optim's optimisers from one start, side by side:
    the point each reaches, f there, the gradient's norm, the steps, the time, and
    whether it converged, stalled or diverged; beside them the critical points SymPy
    finds, each classified by its Hessian. Exit 1 unless every optimiser converges.
    """
    from autodiff.language import notation as notations

    notations.use(notation.value)
    settings = {"define": define}

    def prepare():  # streaming: the definitions are parsed once
        from autodiff.commands import api

        settings["define"] = api.definitions(define, _limits(limit))

    def compute(text: str):
        from autodiff.commands import api

        if output and expression == STDIN:
            from autodiff.errors import UsageError

            raise UsageError("--output draws one expression; it does not go with \"-\" (stdin)")
        result = api.minimize(
            text, start, optimizer=optimizer, lr=lr, steps=steps, tol=tol, maximize=maximize, expect=expect,
            record=trace or plot or output is not None, dtype=dtype.value, symbolic=not no_symbolic,
            symbolic_timeout=symbolic_timeout, rtol=rtol, atol=atol, limits=_limits(limit), define=settings["define"],
        )
        if output:
            from autodiff.commands.minimize import write_figure

            write_figure(result, output, typed=text)
            result.output = output
        if trace:
            for step in result.trace():
                _echo_json(step, None)
        return result

    def render(result, console):
        from autodiff.commands.minimize import render_minimize, terminal_chart

        render_minimize(result, console)
        if plot:
            from autodiff.presentation.plotting import chart_size

            color = console.is_terminal and not console.no_color
            chart = terminal_chart(result, *chart_size(console, width, height, len(result.runs) + 1), color)
            console.file.write(chart.rstrip("\n") + "\n")
            console.file.flush()
        if result.output:
            console.print(f"wrote {result.output}", soft_wrap=True, highlight=False, markup=False)

    _run(json_output or trace, compute, render, expression, prepare, limit)


@app.command(epilog=_examples(
    'autodiff functions',
    'autodiff functions --json | jq -r ".functions[].name"',
))
def functions(json_output: JsonOption = False) -> None:
    """The functions and constants expressions may use, with arity and a description.
    """
    from autodiff.presentation import render as renderers
    from autodiff.language.functions import listing

    with _quiet_when_the_reader_leaves():
        if json_output:
            typer.echo(renderers.dumps(listing()))
        else:
            renderers.render_functions(listing(), renderers.stdout_console())


@app.command(epilog=_examples(
    "autodiff repl",
    'autodiff repl --at x=3 --define "f(t) = t^3"',
    "printf 'at x=3\\n6x^2+2x+4\\n' | autodiff repl",
))
def repl(
    at: AtOption = None,
    define: DefineOption = None,
    notation: NotationOption = Notation.plain,
    history: Annotated[
        Optional[str],
        typer.Option("--history", metavar="FILE",
                     help="The history file (default $XDG_STATE_HOME/autodiff/history, ~/.local/state/autodiff/history)."),
    ] = None,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Save no history: Up recalls this session's lines only.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """An interactive session: every command with its options, a bare expression for
    grad at the current point (at x=3), names of your own (f(t) = t^3, a = 2.5),
    history and completion. Not on a terminal, the lines of stdin run as a script.
    """
    from autodiff.frontends.repl import run

    raise typer.Exit(run(at=at, define=define, notation=notation.value, json_output=json_output,
                         history=history, no_history=no_history))


@app.command(epilog=_examples(
    'autodiff completion bash > ~/.local/share/bash-completion/completions/autodiff',
    'autodiff completion zsh > "${fpath[1]}/_autodiff"',
    'autodiff completion fish > ~/.config/fish/completions/autodiff.fish',
))
def completion(
    shell: Annotated[Shell, typer.Argument(help="The shell to print the script for.", show_default=False)],
) -> None:
    """Print the shell completion script (the files in completions/ are its output).
    """
    from autodiff.frontends.completion import script

    with _quiet_when_the_reader_leaves():
        typer.echo(script(shell), nl=False)


def _error_json(kind: str, message: str) -> None:
    import json

    typer.echo(json.dumps({"error": {"type": kind, "message": message}}))


def main(argv: Optional[List[str]] = None, command=None) -> None:
    """Console-script entry point: never a traceback, always a documented exit code.
    `command`: the click command, when the caller has built it (`repl`, once a session)."""
    from autodiff.frontends.terminal import sane_environment

    sane_environment()
    args = sys.argv[1:] if argv is None else list(argv)
    if os.environ.get("_AUTODIFF_COMPLETE"):  # the shell asks for completions (completions/)
        from autodiff.frontends.completion import setup

        setup()
    try:
        command = command or _command()
        _run_command(command, _expression_first(command, args), _wants_json(args))
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        try:
            with _quiet_when_the_reader_leaves():
                raise
        except typer.Exit as leaving:
            sys.exit(leaving.exit_code)
    except OSError as error:
        if error.errno not in _OUTPUT_ERRNOS:
            sys.exit(_report_bug(error, _wants_json(args)))
        from autodiff.__main__ import output_failed

        sys.exit(output_failed(error))
    except MemoryError:  # outside the computation (rendering, a stream's set-up): still a named limit
        error = _out_of_memory()
        if _wants_json(args):
            _error_json(error.type, error.message)
        else:
            typer.echo(f"error: {error.message}", err=True)
        sys.exit(error.exit_code)
    except Exception as error:  # a bug: one line, exit 70
        sys.exit(_report_bug(error, _wants_json(args)))


def _command():
    """The click command typer builds from `app`, with our own option
    converters in place of typer's pydantic layer (see coercion.py)."""
    from autodiff.frontends.coercion import install

    command = typer.main.get_command(app)
    install(command)
    return command


def _wants_json(args: List[str]) -> bool:
    """--json, or graph's --format json (-f json, --format=json): errors are JSON too."""
    pairs = zip(args, args[1:])
    return "--json" in args or "--format=json" in args or any(
        option in ("--format", "-f") and value == "json" for option, value in pairs
    )


# A write of the answer failed: a full disk, a file-size limit, a closed or broken output.
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EIO, errno.EBADF, errno.EDQUOT}


def _run_command(command, args: List[str], json_output: bool) -> None:
    """Run the click command; a usage error is one line in our own style
    (`error: …`, with a hint where a natural guess went wrong), or a JSON
    error object with --json; exit 2."""
    try:
        code = command.main(args=args, prog_name="autodiff", standalone_mode=False)
    except Exception as error:
        # click's UsageError and its kinds (typer vendors its own click: known by shape, not class).
        if not (hasattr(error, "format_message") and getattr(error, "exit_code", None) == EXIT_USAGE):
            raise
        from autodiff.frontends.hints import usage_message

        message = usage_message(error, args)
        if json_output:
            _error_json("usage_error", message)
        else:
            typer.echo(f"error: {message}", err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(code or 0)


def _expression_first(command, args: List[str]) -> List[str]:
    """`grad "-x^2" --at x=1`: an expression that begins with '-' is not an
    option. The first word after the command that starts with '-' and is no
    option of the command, before any other argument, is the expression:
    it moves behind `--`, where click reads only arguments."""
    sub = getattr(command, "commands", {}).get(args[0]) if args else None
    if sub is None or "--" in args or not any(p.param_type_name == "argument" for p in sub.params):
        return args
    names = {"-h", "--help"} | {name for p in sub.params if p.param_type_name == "option" for name in p.opts + p.secondary_opts}
    takes_value = {name for p in sub.params if p.param_type_name == "option" and not p.is_flag for name in p.opts}
    index = 1
    while index < len(args):
        word = args[index]
        if word == "-" or not word.startswith("-"):
            return args  # the expression (or stdin's "-") is where click will find it
        if word.startswith("--") and (word.split("=", 1)[0] in names or word[2:3].isalpha()):
            index += 1 if "=" in word or word not in takes_value else 2  # an option, and its value
        elif word in names:
            index += 2 if word in takes_value else 1
        else:
            return args[:index] + args[index + 1 :] + ["--", word]
    return args


