"""The commands that study a function beyond its derivative at a point:
plot (over a range), graph (autograd's graph), check (case files), taylor,
verify (a hand-derived derivative) and minimize.

Each declares what is its own and takes the shared options it needs from
options.py; the library's arguments come from options.library_options.
"""

from enum import Enum
from typing import Annotated, List, Optional

import typer

from autodiff.errors import AutodiffError
from autodiff.files import STDIN
from autodiff.frontends.options import (
    INPUTS,
    TOLERANCES,
    WITNESSES,
    AtOption,
    ExpressionArgument,
    HeightOption,
    WidthOption,
    expression_argument,
    library_options,
    limits,
    parsed_once,
    with_options,
)
from autodiff.frontends.runner import echo_json, quiet_when_the_reader_leaves, run, run_one


def _one_expression(expression: str, what: str) -> None:
    """plot, taylor and verify answer one expression, never a stream."""
    if expression == STDIN:
        from autodiff.errors import UsageError

        raise UsageError(f'{what}, given as its argument; it does not read "-" (stdin)')


def _draw_chart(chart, console, width, height, rows: int, typed: Optional[str] = None) -> None:
    """A --plot chart under (or over) a command's table, in the terminal's colours."""
    from autodiff.presentation.plotting import chart_size, terminal_chart

    color = console.is_terminal and not console.no_color
    text = terminal_chart(chart, *chart_size(console, width, height, rows), color, typed=typed)
    console.file.write(text.rstrip("\n") + "\n")
    console.file.flush()


@with_options(*TOLERANCES, *WITNESSES, *INPUTS, "device", "json_output")
def plot(
    expression: Annotated[
        str, expression_argument('The expression, e.g. "sin(x)" (see `autodiff functions`). One expression: plot does not read stdin.'),
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
            help="The y range, e.g. -10:10 (default: every curve whole, a pole cut at its curve's bulk; "
            "what lies beyond is clipped and counted).",
            show_default=False,
        ),
    ] = None,
    *,
    no_symbolic: Annotated[bool, typer.Option("--no-symbolic", help="Skip SymPy: the curves are drawn, not compared.")] = False,
    **options,
) -> None:
    """f beside its derivative(s) over a range: autograd on the whole grid at once,
    checked against the symbolic derivative on the same grid. The chart fills
    the terminal; y spans every curve whole, but a pole stops at its
    curve's bulk, so it cannot flatten them (--ylim to choose)."""
    y_range = None

    def compute():
        nonlocal y_range
        from autodiff.commands import api
        from autodiff.presentation.plotting import parse_ylim, write_file, y_window

        _one_expression(expression, "plot draws one expression")
        y_range = parse_ylim(ylim) if ylim is not None else None
        result = api.plot(
            expression, over=over, points=points, order=order, at=at, symbolic=not no_symbolic,
            **library_options(options),
        )
        if output:
            write_file(result, output, width or 800, height or 500, y_window(result, y_range), expression)
            result.output = output
        return result

    def render(result, console):
        from autodiff.presentation.plotting import render_plot

        render_plot(result, console, width, height, y_range, expression)

    run_one(options["json_output"], compute, render)


class GraphFormat(str, Enum):
    tree = "tree"
    dot = "dot"
    json = "json"


@with_options(*INPUTS, "jobs", "json_output")
def graph(
    expression: ExpressionArgument,
    at: AtOption = None,
    output_format: Annotated[
        GraphFormat,
        typer.Option("--format", "-f", help="tree (for people), dot (Graphviz: pipe into `dot -Tsvg`) or json."),
    ] = GraphFormat.tree,
    **options,
) -> None:
    """The autograd graph: grad_fn nodes from the output back to the leaves, with each
    tensor's data, requires_grad, is_leaf, grad_fn and grad after backward.
    """
    shared = {}  # streaming: the point and the definitions, parsed once

    def arguments() -> dict:
        return {"at": at, **library_options(options), **shared}

    def prepare():
        shared.update(parsed_once(at, arguments()))

    def compute(text: str):
        from autodiff.commands import api

        given = arguments()
        return api.graph(text, given.pop("at"), **given)

    def render(result, console):
        from autodiff.presentation import graph_view

        if output_format is GraphFormat.dot:
            typer.echo(graph_view.graph_dot(result))
        else:
            graph_view.render_graph(result, console)

    as_json = options["json_output"] or output_format is GraphFormat.json
    run(as_json, compute, render, expression, prepare, options["limit"], jobs=options["jobs"])


@with_options(*TOLERANCES, "dtype", "symbolic_timeout", "no_exact", "limit", "define", "derivative", "shard", "jobs",
              "json_output")
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
    *,
    rtol: Annotated[
        Optional[float], typer.Option("--rtol", help="Relative tolerance for cases that set none (default 1e-7; 1e-4 for float32).", min=0)
    ] = None,
    atol: Annotated[
        Optional[float], typer.Option("--atol", help="Absolute tolerance for cases that set none (default 1e-9; 1e-5 for float32).", min=0)
    ] = None,
    shard: Annotated[
        Optional[str],
        typer.Option("--shard", metavar="K/N",
                     help="Run only the K-th of N shares of the cases (every N-th from the K-th), for a CI matrix."),
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Worker processes (forked from this one) running cases at once; the output stays in case order.",
                          min=1)
    ] = 1,
    **options,
) -> None:
    """Run case files of expressions and expected values in one process: a line per
    case, the details of each failure, and `N passed, M failed`. Exit 0 only when
    every case passes.
    """
    from autodiff.presentation import check_view, render as renderers

    json_output = options["json_output"]
    streamed = {"file": None, "cases": 0}
    console = renderers.stdout_console()

    def print_case(result) -> None:  # each case as it finishes: memory stays flat in the number of cases
        if json_output:
            typer.echo(('{"cases": [' if not streamed["cases"] else ", ") + renderers.dumps(result.to_json()), nl=False)
        else:
            streamed["file"] = check_view.render_check_case(result, console, len(set(files)) > 1, streamed["file"])
        streamed["cases"] += 1

    def compute():
        from autodiff.commands.cases import check as run_cases, parse_shard
        from autodiff.presentation.junit import check_writable, write_junit

        share = parse_shard(shard) if shard is not None else None
        if junit is not None:
            check_writable(junit, files)
        report = run_cases(
            files, select_names=select, rtol=rtol, atol=atol, **library_options(options), on_result=print_case,
            keep_results=False, junit_records=junit is not None, shard=share, jobs=jobs,
        )
        if junit is not None:
            write_junit(report, junit)
        return report

    with quiet_when_the_reader_leaves():
        try:
            report = compute()
        except AutodiffError as error:  # a bad file or option: before any case ran
            if json_output:
                echo_json(error.to_json(), None)
            else:
                renderers.render_error(error, renderers.stderr_console())
            raise typer.Exit(error.exit_code) from None
        if json_output:
            closing = renderers.dumps(report.closing_json())
            typer.echo(('{"cases": [' if not streamed["cases"] else "") + "], " + closing[1:])
        else:
            check_view.render_check_closing(report, console)
            renderers.render_warnings(report.warnings, renderers.stderr_console())
        if report.output_error:  # the cases ran and the report stands; the file did not get written
            typer.echo(f"error: {report.output_error}", err=True)
        raise typer.Exit(report.exit_code)


@with_options(*TOLERANCES, *WITNESSES, "limit", "define", "device", "notation", "json_output")
def taylor(
    expression: ExpressionArgument,
    at: AtOption = None,
    order: Annotated[
        int, typer.Option("--order", "-n", help="The highest total degree of the polynomial (at most 100).", min=0)
    ] = 4,
    plot: Annotated[bool, typer.Option("--plot", help="Draw f beside its Taylor polynomials (one variable).")] = False,
    over: Annotated[
        Optional[str], typer.Option("--range", "-r", help="The range of --plot, x=-1:1 (default: the point ± 2).")
    ] = None,
    width: WidthOption = None,
    height: HeightOption = None,
    **options,
) -> None:
    """Taylor coefficients f⁽ᵅ⁾(a)/α! up to total degree N from Taylor mode, each
    judged by its exact value (ball series), beside nested autograd (where
    affordable) and SymPy's exact coefficients.
    """
    notation = options["notation"].value

    def compute():
        from autodiff.commands.taylor import taylor as expand

        _one_expression(expression, "taylor expands one expression")
        return expand(expression, at, order=order, plot=plot, over=over, **library_options(options))

    def render(result, console):
        from autodiff.presentation.taylor_view import render_taylor

        render_taylor(result, console, notation=notation)
        if result.chart is not None:
            _draw_chart(result.chart, console, width, height, 1, typed=expression)

    run_one(options["json_output"], compute, render)


@with_options(*TOLERANCES, "no_symbolic", "no_exact", "symbolic_timeout", "limit", "define", "notation", "json_output")
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
    points: Annotated[int, typer.Option("--points", "-p", help="Points of the range checked.", min=2)] = 401,
    plot: Annotated[bool, typer.Option("--plot", help="Draw D beside autograd's derivative over the range.")] = False,
    width: WidthOption = None,
    height: HeightOption = None,
    **options,
) -> None:
    """Check a hand-derived derivative D over a range: the largest error, the points
    where D is wrong (beside autograd and the exact value), and SymPy's proof.
    Exit 0 only when D is right everywhere checked.
    """
    notation = options["notation"].value

    def compute():
        from autodiff.commands.verify import verify as check_derivative

        _one_expression(expression, "verify checks one expression")
        return check_derivative(
            expression, claimed, wrt=wrt, over=over, at=at, order=order, points=points, plot=plot,
            **library_options(options),
        )

    def render(result, console):
        from autodiff.presentation.verify_view import render_verify

        if result.chart is not None:
            _draw_chart(result.chart, console, width, height, 8, typed=expression)
        render_verify(result, console, notation)

    run_one(options["json_output"], compute, render)


@with_options("rtol", "atol", "dtype", "no_symbolic", "symbolic_timeout", "limit", "define", "notation", "jobs",
              "json_output")
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
    width: WidthOption = None,
    height: HeightOption = None,
    *,
    rtol: Annotated[
        Optional[float], typer.Option("--rtol", help="Relative tolerance of --expect and of the curvature (zero eigenvalues).", min=0)
    ] = None,
    atol: Annotated[
        Optional[float], typer.Option("--atol", help="Absolute tolerance of --expect and of the curvature.", min=0)
    ] = None,
    no_symbolic: Annotated[bool, typer.Option("--no-symbolic", help="Skip SymPy's critical points.")] = False,
    **options,
) -> None:
    """Gradient descent and torch.optim's optimisers from one start, side by side:
    the point each reaches, f there, the gradient's norm, the steps, the time, and
    whether it converged, stalled or diverged; beside them the critical points SymPy
    finds, each classified by its Hessian. Exit 1 unless every optimiser converges.
    """
    notation = options["notation"].value
    shared = {}  # streaming: the definitions, parsed once

    def prepare():
        from autodiff.commands import api

        shared["define"] = api.definitions(options["define"], limits(options["limit"]))

    def compute(text: str):
        from autodiff.commands import api

        if output and expression == STDIN:
            from autodiff.errors import UsageError

            raise UsageError("--output draws one expression; it does not go with \"-\" (stdin)")
        result = api.minimize(
            text, start, optimizer=optimizer, lr=lr, steps=steps, tol=tol, maximize=maximize, expect=expect,
            record=trace or plot or output is not None, symbolic=not no_symbolic, rtol=rtol, atol=atol,
            **{**library_options(options), **shared},
        )
        if output:
            from autodiff.presentation.minimize_view import write_figure

            write_figure(result, output, typed=text)
            result.output = output
        if trace:
            for step in result.trace():
                echo_json(step, None)
        return result

    def render(result, console):
        from autodiff.presentation.minimize_view import render_minimize, terminal_chart

        render_minimize(result, console, notation)
        if plot:
            from autodiff.presentation.plotting import chart_size

            color = console.is_terminal and not console.no_color
            chart = terminal_chart(result, *chart_size(console, width, height, len(result.runs) + 1), color)
            console.file.write(chart.rstrip("\n") + "\n")
            console.file.flush()
        if result.output:
            console.print(f"wrote {result.output}", soft_wrap=True, highlight=False, markup=False)

    run(options["json_output"] or trace, compute, render, expression, prepare, options["limit"], jobs=options["jobs"])
