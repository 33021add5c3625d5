"""The command line: the `autodiff` app, its commands in the order `--help`
lists them (each with its examples), and `main`, which runs one command line.

The derivative commands live in cli_derivatives.py, the others that compute
in cli_analyses.py; the commands about the tool itself (functions, repl,
server, completion) live here. Only typer is imported at start-up; torch and SymPy
load inside the commands that need them, so `--help` and `--version` stay
fast.
"""

import functools
import sys
from enum import Enum
from typing import Annotated, List, Optional

import typer

from autodiff import __version__
from autodiff.frontends import cli_analyses, cli_derivatives
from autodiff.frontends.completion import Shell
from autodiff.frontends.options import AtOption, examples, with_options
from autodiff.frontends.runner import command_line, quiet_when_the_reader_leaves

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
    epilog=examples(
        'autodiff grad "6*x^2+2*x+4" --at x=3',
        'autodiff hessian "x^2*y + y^3" --at x=1,y=2',
        "autodiff check cases.toml --junit report.xml",
        "autodiff COMMAND -h",
    ),
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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


@with_options("json_output")
def functions(**options) -> None:
    """The functions and constants expressions may use, with arity and a description.
    """
    from autodiff.presentation import render as renderers
    from autodiff.language.functions import listing

    with quiet_when_the_reader_leaves():
        if options["json_output"]:
            typer.echo(renderers.dumps(listing()))
        else:
            renderers.render_functions(listing(), renderers.stdout_console())


@with_options("define", "notation", "history", "no_history", "json_output")
def repl(
    at: AtOption = None,
    *,
    history: Annotated[
        Optional[str],
        typer.Option("--history", metavar="FILE",
                     help="The history file (default $XDG_STATE_HOME/autodiff/history, ~/.local/state/autodiff/history)."),
    ] = None,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Save no history: Up recalls this session's lines only.")
    ] = False,
    **options,
) -> None:
    """An interactive session: every command with its options, a bare expression for
    grad at the current point (at x=3), names of your own (f(t) = t^3, a = 2.5),
    history and completion. Not on a terminal, the lines of stdin run as a script.
    """
    from autodiff.frontends.repl import run

    raise typer.Exit(run(command(), at=at, define=options["define"], notation=options["notation"].value,
                         json_output=options["json_output"], history=history, no_history=no_history))


class ServerAction(str, Enum):
    start = "start"
    stop = "stop"
    status = "status"


@with_options("idle", "json_output")
def server(
    action: Annotated[ServerAction, typer.Argument(help="start, stop or status.", show_default=False)],
    *,
    idle: Annotated[
        Optional[float],
        typer.Option("--idle", metavar="SECONDS", min=1,
                     help="start: exit after this long without a call (default 900, or AUTODIFF_SERVER_IDLE)."),
    ] = None,
    **options,
) -> None:
    """The resident server that answers one-shot calls from a process with torch and
    SymPy already imported (started by the first call that finds none; off with
    AUTODIFF_SERVER=off, and under CI). status: its pid, uptime, calls, memory and key.
    """
    from autodiff.frontends.client import command as serve

    raise typer.Exit(serve(action.value, idle, options["json_output"]))


def completion(
    shell: Annotated[Shell, typer.Argument(help="The shell to print the script for.", show_default=False)],
) -> None:
    """Print the shell completion script (the files in completions/ are its output).
    """
    from autodiff.frontends.completion import script

    with quiet_when_the_reader_leaves():
        typer.echo(script(shell), nl=False)


# The commands, in the order `autodiff --help` lists them, with the examples under each one's help.
_COMMANDS = (
    (cli_derivatives.grad, (
        'autodiff grad "6*x^2+2*x+4" --at x=3',
        'autodiff grad "x^2*y + sin(y)" --at x=1,y=2 --json',
        'autodiff grad "sin(x)" --order 3 --at x=0',
        'x=$(autodiff grad "x^2" --at 3 -q)',
    )),
    (cli_derivatives.partial, (
        'autodiff partial "x^2*y^3" --wrt x,y --at x=1,y=2',
        'autodiff partial "exp(x*y)" --wrt y --at x=1,y=0',
        'autodiff partial "sin(x)" --wrt x,x,x',
    )),
    (cli_derivatives.hessian, (
        'autodiff hessian "x^2*y + y^3" --at x=1,y=2',
        'autodiff hessian "x^2 + y^2" --at x=0,y=0 --json',
        'autodiff hessian "x^4 - 2x^2 + y^2"',
    )),
    (cli_derivatives.jacobian, (
        'autodiff jacobian "[x*y, x+y, sin(x)]" --at x=1,y=2',
        'autodiff jacobian "[r*cos(t), r*sin(t)]" --at r=2,t=pi/4 --json',
    )),
    (cli_analyses.plot, (
        'autodiff plot "sin(x)" --range x=-5:5',
        'autodiff plot "tan(x)" --order 2 --ylim -10:10',
        'autodiff plot "x^3 - 2x" --output cubic.png',
    )),
    (cli_analyses.graph, (
        'autodiff graph "sin(x)*exp(x) + x^2" --at x=1',
        'autodiff graph "x*y + y" --at x=2,y=3 --format dot | dot -Tsvg > graph.svg',
        'autodiff graph "x^2" --at x=3 --format json',
    )),
    (cli_analyses.check, (
        'autodiff check cases.toml',
        'autodiff check cases.toml --junit report.xml',
        'autodiff check cases.toml -k tanh --json',
        'autodiff check cases.toml --shard 2/4 --jobs 2 --junit shard-2.xml',
    )),
    (cli_analyses.taylor, (
        'autodiff taylor "exp(x)" --at x=0 --order 5',
        'autodiff taylor "sin(x)*exp(y)" --at x=0,y=0 --order 3',
        'autodiff taylor "log(1+x)" --at 0 --order 4 --plot --range x=-0.9:2',
    )),
    (cli_analyses.verify, (
        'autodiff verify "x^3 + 2*x^2 + 3*x + 4" --derivative "3*x^2 + 4*x + 3" --range x=-5:5',
        'autodiff verify "sin(x)^2" --derivative "2*sin(x)*cos(x)" --at x=[0,1,2]',
        'autodiff verify "x^2*y" --derivative "2*y" --order 2 --wrt x --at y=3 --plot',
    )),
    (cli_analyses.minimize, (
        'autodiff minimize "2*x^2+3*x+1" --from x=3 --optimizer gd --lr 0.1 --steps 100',
        'autodiff minimize "(1-x)^2 + 100*(y-x^2)^2" --from x=-1.2,y=1 --optimizer adam,lbfgs --steps 5000',
        'autodiff minimize "x^2 - y^2" --from x=1,y=0 --optimizer all --plot',
        'autodiff minimize "sin(x)" --from x=1 --maximize --trace | jq -c "select(.step)"',
    )),
    (functions, (
        'autodiff functions',
        'autodiff functions --json | jq -r ".functions[].name"',
    )),
    (repl, (
        "autodiff repl",
        'autodiff repl --at x=3 --define "f(t) = t^3"',
        "printf 'at x=3\\n6x^2+2x+4\\n' | autodiff repl",
    )),
    (server, (
        "autodiff server status",
        "autodiff server stop",
        "autodiff server start --idle 3600",
    )),
    (completion, (
        'autodiff completion bash > ~/.local/share/bash-completion/completions/autodiff',
        'autodiff completion zsh > "${fpath[1]}/_autodiff"',
        'autodiff completion fish > ~/.config/fish/completions/autodiff.fish',
    )),
)


def _register() -> None:
    for function, lines in _COMMANDS:
        app.command(epilog=examples(*lines), short_help=summary(function))(function)


def summary(function) -> str:
    """A command's line in `autodiff --help`: its docstring's first sentence,
    whole (click would cut it at 45 characters, with ...)."""
    paragraph = " ".join((function.__doc__ or "").strip().split("\n\n")[0].split())
    sentence = paragraph.split(". ")[0].rstrip(".")
    if len(sentence) > 72:  # a long one to its first clause: "Gradient descent … side by side"
        cuts = [index for index in (sentence.find(mark) for mark in (": ", "; ", " (", ", each")) if index >= 20]
        sentence = sentence[: min(cuts)] if cuts else sentence
    return sentence


_register()


@functools.cache
def command():
    """The click command typer builds from `app`, with our own option
    converters in place of typer's pydantic layer (see coercion.py); built
    once per process (the resident server's children share it)."""
    from autodiff.frontends.coercion import install

    built = typer.main.get_command(app)
    install(built)
    return built


def main(argv: Optional[List[str]] = None) -> None:
    """Console-script entry point: never a traceback, always a documented exit code."""
    command_line(sys.argv[1:] if argv is None else list(argv), command)
