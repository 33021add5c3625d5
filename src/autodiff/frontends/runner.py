"""The runner shared by the command line and the REPL: one answer, a stream
of answers, and the run of a whole command line, each ending in a
documented exit code, never a traceback.

A command hands `run` three functions: `compute` (the library call),
`render` (the table), and for streaming `prepare` (what every line shares,
parsed once). The runner decides between the table and JSON, puts warnings
and errors on stderr (or in the JSON), names the input line when streaming,
and turns a reader that left, a full disk, a lack of memory or a bug into
its exit code.
"""

import errno
import os
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, List, Optional

import typer

from autodiff.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    AutodiffError,
    most_severe,
)
from autodiff.files import STDIN
from autodiff.frontends.options import limits


def run(
    json_output: bool,
    compute: Callable[[str], object],
    render: Callable[[object, object], None],
    expression: str,
    prepare: Optional[Callable[[], None]] = None,
    limit: Optional[List[str]] = None,
    quiet: bool = False,
    jobs: int = 1,
) -> None:
    """Answer `expression`, or each line of standard input when it is `-`;
    exit with the answer's code (the most severe one when streaming).
    `limit`: the --limit texts (a streamed line is held to their length);
    `quiet`: no warnings on stderr (errors still are); `jobs`: worker
    processes answering the lines of a stream (--jobs)."""
    if expression != STDIN:
        # The library parses the expression before the point: a typo in the
        # expression is reported before torch is loaded to evaluate `--at`.
        return run_one(json_output, lambda: compute(expression), render, quiet)
    with quiet_when_the_reader_leaves():
        # Streaming: what every line shares (--at, --grad-output) is parsed once.
        if prepare is not None:
            code = answer(json_output, prepare, render, line=None)
            if code != EXIT_OK:
                raise typer.Exit(code)
        raise typer.Exit(stream(json_output, compute, render, limits(limit), quiet, jobs))


def run_one(json_output: bool, compute: Callable[[], object], render, quiet: bool = False) -> None:
    """Answer once and exit with the answer's code."""
    with quiet_when_the_reader_leaves():
        raise typer.Exit(answer(json_output, compute, render, quiet=quiet))


def answer(json_output: bool, compute: Callable[[], object], render, line: Optional[int] = None,
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
            echo_json(result.to_json(), line)
        else:
            render(result, renderers.stdout_console())  # may refuse too: a chart it cannot draw
            if not quiet:
                renderers.render_warnings(result.warnings, renderers.stderr_console(), line_prefix(line))
        return result.exit_code
    except AutodiffError as error:
        if json_output:
            echo_json(error.to_json(), line)
        else:
            if quiet and line is not None:  # a stream's answers stay in step with its input lines
                from autodiff.presentation.quiet import ERROR_LINE

                typer.echo(ERROR_LINE)
            renderers.render_error(error, renderers.stderr_console(), line_prefix(line))
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


# The line of a REPL script being answered: its errors and warnings name it, as a stream's do.
SCRIPT_LINE: ContextVar[Optional[int]] = ContextVar("script_line", default=None)


def line_prefix(line: Optional[int] = None) -> str:
    """`line 3: ` before an error or a warning: a stream's line, else the REPL script's, else nothing."""
    line = line if line is not None else SCRIPT_LINE.get()
    return "" if line is None else f"line {line}: "



def echo_json(payload: dict, line: Optional[int]) -> None:
    """One JSON object on stdout; `line`: the input line it answers, when streaming."""
    from autodiff.presentation.render import write_json

    write_json(payload if line is None else {"line": line, **payload})


def stream(json_output: bool, compute: Callable[[str], object], render, limits, quiet: bool = False,
           jobs: int = 1) -> int:
    """Answer each expression line of standard input in turn: in this
    process, or with `jobs` > 1 in that many forked worker processes, the
    answers written in input order exactly as this process writes them."""
    from autodiff.frontends.streaming import answer_in_workers, expression_lines, text_stdin

    def answer_line(number: int, text, table) -> int:
        try:
            return answer(json_output, lambda: _line(compute, text), table, line=number, quiet=quiet)
        except BrokenPipeError:
            raise
        except Exception as error:  # a bug on one line must not desynchronise the stream
            return report_bug(error, json_output, number)

    def lost(number: int, error: Exception) -> int:  # the worker answering the line died
        return report_bug(error, json_output, number)

    if jobs > 1 and _can_fork():
        _import_what_answers_need()
        return answer_in_workers(answer_line, render, limits, jobs, lost, blank_lines=not quiet)

    worst, tables = EXIT_OK, 0

    def separated(result, console):
        nonlocal tables
        if tables and not quiet:
            console.print()  # a blank line between two tables
        render(result, console)
        tables += 1

    settled = False
    for number, text in expression_lines(text_stdin(), limits):
        worst = most_severe(worst, answer_line(number, text, separated))
        if not settled:  # after the first answer: see _settled
            _settled()
            settled = True
    return worst


def _settled() -> None:
    """Move what the imports and the first answer made (torch, SymPy, the
    caches: some 300 MiB of objects) out of the garbage collector's sight:
    a stream's lines make short-lived objects, and each full collection
    would otherwise walk all of those again (a sixth of a small line's time)."""
    import gc

    gc.collect()
    gc.freeze()


def _can_fork() -> bool:
    from autodiff.parallel import AVAILABLE

    return AVAILABLE


def _import_what_answers_need() -> None:
    """Everything below the front ends, imported once here: the workers are
    forked after, and start with it (torch, SymPy, the witnesses) instead of
    importing it again each."""
    import autodiff.commands
    import autodiff.engine
    import autodiff.language
    import autodiff.presentation
    import autodiff.witnesses
    from autodiff.parallel import import_packages

    import_packages(autodiff.language, autodiff.engine, autodiff.witnesses, autodiff.commands, autodiff.presentation)


def _line(compute, text):
    if isinstance(text, AutodiffError):  # the line itself was refused (too long)
        raise text
    return compute(text)


@contextmanager
def quiet_when_the_reader_leaves():
    """`autodiff grad - --json < many | head -1`: when the reader closes the
    pipe, stop without a traceback or a message, exit 141 like other Unix
    tools killed by SIGPIPE."""
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit must not fail again
        raise typer.Exit(EXIT_BROKEN_PIPE) from None


def report_bug(error: BaseException, json_output: bool, line: Optional[int] = None) -> int:
    """A bug in one line (or JSON object), not a traceback; exit code 70."""
    message = f"internal error: {type(error).__name__}: {error}".splitlines()[0]
    if json_output:
        echo_json({"error": {"type": "internal_error", "message": message}}, line)
    else:
        typer.echo(f"{line_prefix(line)}error: {message} (please report this)", err=True)
    return EXIT_INTERNAL


def _error_json(kind: str, message: str) -> None:
    import json

    typer.echo(json.dumps({"error": {"type": kind, "message": message}}))


def command_line(args: List[str], build_command: Callable[[], object]) -> None:
    """Run `autodiff ARGS` with the click command `build_command` gives (built
    here, so a bug building it is reported as any other); never a traceback,
    always a documented exit code (raised as SystemExit)."""
    from autodiff.frontends.terminal import output_failed, sane_environment

    sane_environment()
    if os.environ.get("_AUTODIFF_COMPLETE"):  # the shell asks for completions (completions/)
        from autodiff.frontends.completion import setup

        setup()
    try:
        command = build_command()
        _run_command(command, expression_first(command, args), _wants_json(args))
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        try:
            with quiet_when_the_reader_leaves():
                raise
        except typer.Exit as leaving:
            sys.exit(leaving.exit_code)
    except OSError as error:
        if error.errno not in _OUTPUT_ERRNOS:
            sys.exit(report_bug(error, _wants_json(args)))
        sys.exit(output_failed(error))
    except MemoryError:  # outside the computation (rendering, a stream's set-up): still a named limit
        error = _out_of_memory()
        if _wants_json(args):
            _error_json(error.type, error.message)
        else:
            typer.echo(f"error: {error.message}", err=True)
        sys.exit(error.exit_code)
    except Exception as error:  # a bug: one line, exit 70
        sys.exit(report_bug(error, _wants_json(args)))


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
        if type(error).__name__ == "NoArgsIsHelpError" and not json_output:
            # `autodiff` alone: the help as --help lays it out (not crammed into one error line), exit 2.
            command.main(args=[*args, "--help"], prog_name="autodiff", standalone_mode=False)
            sys.exit(EXIT_USAGE)
        from autodiff.frontends.hints import usage_message

        message = usage_message(error, args)
        if json_output:
            _error_json("usage_error", message)
        else:
            typer.echo(f"{line_prefix()}error: {message}", err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(code or 0)


def expression_first(command, args: List[str]) -> List[str]:
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
