"""grad, partial, hessian and jacobian: the derivative commands.

Each declares only what is its own (the expression, --at, --wrt, --expect,
grad's --order, --grad-output); the options they share come from
options.DERIVATIVE_OPTIONS, and one body serves all four.
"""

from typing import Annotated, List, Optional

import typer

from autodiff.frontends.options import (
    DERIVATIVE_OPTIONS,
    ORDER_OPTIONS,
    AtOption,
    ExpectOption,
    ExpressionArgument,
    GradOutputOption,
    WrtOption,
    expression_argument,
    library_options,
    parsed_once,
    split,
    with_options,
)
from autodiff.frontends.runner import run

OrderOption = Annotated[
    int, typer.Option("--order", "-n", help="Derivative order (at most 100): the N-th pure partial for each variable, by Taylor mode from 2 on.", min=1)
]
SequenceOption = Annotated[
    Optional[List[str]],
    typer.Option(
        "--wrt",
        "-w",
        help="The differentiation sequence: u,v is ∂²f/∂v∂u (as sympy.diff(f, u, v)); x,x,x the third "
        "derivative. Optional for a function of one variable.",
    ),
]
ValueExpectOption = Annotated[
    Optional[List[str]],
    typer.Option("--expect", "-e", help="Exit 1 unless autograd gives this value (a vector for vector points)."),
]
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
ExpressionsArgument = Annotated[
    str,
    expression_argument('The functions as a list, e.g. "[x*y, x+y, sin(x)]" (one expression: a 1-row Jacobian); '
                        "- reads one list per line from stdin."),
]


@with_options(*ORDER_OPTIONS)
def grad(
    expression: ExpressionArgument,
    at: AtOption = None,
    wrt: WrtOption = None,
    order: OrderOption = 1,
    grad_output: GradOutputOption = None,
    expect: ExpectOption = None,
    **options,
) -> None:
    """Value and gradient at a point, autograd beside symbolic and finite differences.

    Without --at, prints the symbolic derivatives only.
    """
    answer_derivative("grad", expression, at, wrt, expect, options, grad_output, order=order)


@with_options(*ORDER_OPTIONS)
def partial(
    expression: ExpressionArgument,
    at: AtOption = None,
    wrt: SequenceOption = None,
    grad_output: GradOutputOption = None,
    expect: ValueExpectOption = None,
    **options,
) -> None:
    """One partial derivative, possibly mixed or repeated, autograd beside symbolic.

    Without --at, prints the symbolic derivative only.
    """
    answer_derivative("partial", expression, at, wrt, expect, options, grad_output)


@with_options(*DERIVATIVE_OPTIONS)
def hessian(
    expression: ExpressionArgument,
    at: AtOption = None,
    wrt: ColumnsOption = None,
    expect: MatrixExpectOption = None,
    **options,
) -> None:
    """The Hessian matrix, autograd beside symbolic and finite differences, with
    symmetry, eigenvalues, definiteness and the kind of critical point.

    Without --at, prints the symbolic Hessian only.
    """
    answer_derivative("hessian", expression, at, wrt, expect, options)


@with_options(*DERIVATIVE_OPTIONS)
def jacobian(
    expressions: ExpressionsArgument,
    at: AtOption = None,
    wrt: ColumnsOption = None,
    expect: MatrixExpectOption = None,
    **options,
) -> None:
    """The Jacobian of a list of functions, autograd beside symbolic and finite differences.

    Without --at, prints the symbolic Jacobian only.
    """
    answer_derivative("jacobian", expressions, at, wrt, expect, options)


def answer_derivative(command: str, expression: str, at, wrt, expect, options: dict,
                      grad_output: Optional[str] = None, **own) -> None:
    """The body of the four: one call of autodiff.commands.api's `command` per
    expression, then its renderer. `options`: the shared options the command
    received; `own`: its other arguments for the library (grad's order)."""
    notation = options["notation"].value
    quiet = options["quiet"]
    shared = {}  # streaming: what every line shares, parsed once

    def arguments() -> dict:
        given = {"at": at, "wrt": split(wrt), "expect": expect, **own, **library_options(options)}
        if grad_output:
            given["grad_output"] = grad_output  # the library parses the text
        return {**given, **shared}

    def prepare():
        from autodiff.engine.values import parse_values

        given = arguments()
        if grad_output:
            shared["grad_output"] = parse_values(grad_output, "--grad-output", given["limits"])
        shared.update(parsed_once(at, given))

    def compute(text: str):
        from autodiff.commands import api

        return getattr(api, command)(text, **arguments())

    def render(result, console):
        from autodiff.presentation.render import render_matrix_report, render_report
        from autodiff.results import MatrixReport

        if quiet:
            from autodiff.presentation.quiet import lines, unmet

            for line in lines(result, notation):
                typer.echo(line)
            missed = None if isinstance(result, MatrixReport) else unmet(result)
            if missed:
                typer.echo(missed, err=True)
            return
        (render_matrix_report if isinstance(result, MatrixReport) else render_report)(result, console, notation)

    run(options["json_output"], compute, render, expression, prepare, options["limit"], quiet, options["jobs"])
