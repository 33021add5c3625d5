"""Usage errors in one line, in plain words, with a hint where a natural
guess went wrong (`autodiff "x^2"`, `grad "x^2" x=3`, `autodiff diff …`)."""

from __future__ import annotations

import difflib
import re

# Every command of the app (tests/test_usage.py holds this to cli.app's list).
COMMANDS = (
    "grad", "partial", "hessian", "jacobian", "plot", "graph", "check", "taylor", "verify", "minimize", "repl",
    "functions", "server", "completion",
)

# What people type for a command we name otherwise.
_GUESSES = {
    "diff": "grad", "d": "grad", "derivative": "grad", "derive": "grad", "deriv": "grad", "gradient": "grad",
    "differentiate": "grad", "df": "grad", "dx": "grad", "jac": "jacobian", "hess": "hessian", "hes": "hessian",
    "partials": "partial", "pd": "partial", "chart": "plot", "draw": "plot", "test": "check", "run": "check",
    "list": "functions", "help": "--help", "series": "taylor", "expand": "taylor", "optimize": "minimize",
    "optimise": "minimize", "minimise": "minimize", "min": "minimize", "shell": "repl", "interactive": "repl",
    "daemon": "server",
}


def usage_message(error, args: list[str]) -> str:
    """The one-line message of click's usage error `error` for `args`."""
    message = _plain(error.format_message())
    command = args[0] if args and args[0] in COMMANDS else None
    hint = _hint(message, args, command)
    where = f"; see autodiff {command} -h" if command else "; see autodiff -h"
    return f"{message}; {hint}" if hint else message + where


# An argument's metavar (coercion.METAVARS) as a missing-argument message names it.
_ARGUMENTS = {"EXPR": "expression", "FILE...": "FILE...", "FILE": "case file (FILE)"}


def _plain(message: str) -> str:
    """click's wording, in ours: one line, no trailing period."""
    message = " ".join(message.split())
    message = re.sub(r"^Invalid value for '([^']+)'(?: / '[^']+')?: ", r"\1 ", message)
    message = re.sub(r"^Missing argument '([^']+)'\.?", lambda m: f"missing the {_ARGUMENTS.get(m[1], m[1].lower())}",
                     message)
    message = re.sub(r"\.? Choose from:? ", "; choose from ", message)  # missing the shell; choose from bash, …
    message = re.sub(r"^Got unexpected extra argument(?:s|\(s\))? \((.*)\)$", r"unexpected extra argument: \1", message)
    message = re.sub(r"^No such command ('.*?')\..*", r"no such command \1", message)  # our own hint follows
    message = re.sub(r"\.? Did you mean ", "; did you mean ", message.replace("No such option: ", "no such option "))
    message = re.sub(r" \(Possible options: (.*)\)", r"; did you mean one of \1?", message)
    message = message.replace("missing the FILE...", "missing the case file (FILE)")
    return message.replace("Option '", "option '").rstrip(".")


def _hint(message: str, args: list[str], command: str | None) -> str:
    word = args[0] if args else ""
    if message.startswith("no such command"):
        if word in _GUESSES:
            return f"did you mean autodiff {_GUESSES[word]}?"
        close = difflib.get_close_matches(word, COMMANDS, n=1, cutoff=0.6)
        if close:
            return f"did you mean autodiff {close[0]}?"
        return f"to differentiate it: autodiff grad {_quoted(word)} --at …"
    if message.startswith("unexpected extra argument"):
        named = message.split(": ", 1)[1].split(" ") if ": " in message else []
        extra = [arg for arg in named if "=" in arg and not arg.startswith("-")]
        if extra:
            return f"give the point with --at: --at {','.join(extra)}"
        if any(arg.startswith("-") for arg in named) and "--" in args:
            return "after `--` every word is the expression; put options before it"
        return "quote the expression as one argument: \"2*x + 1\""
    if message.startswith("no such option") and not command:
        return f"a command comes first: autodiff grad {_quoted(word)} --at …"
    if message.startswith("missing the expression"):
        return f'autodiff {command} "x^2" --at x=3'
    return ""


def _quoted(text: str) -> str:
    return f"'{text}'" if "'" not in text else f'"{text}"'
