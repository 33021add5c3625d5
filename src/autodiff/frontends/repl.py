"""`autodiff repl`: an interactive calculator session.

Each line is answered by the command line the shell runs: `grad 6x^2+2x+4
--at x=3` inside is `autodiff grad 6x^2+2x+4 --at x=3` outside, dispatched
in process to the same click command (every option works the same), with
the session's definitions (`--define`), current point (`--at`; minimize's
`--from`; verify none, it checks its range), `--json` and `--notation`
added where the command takes them and the line gives none. A word that
stands alone and is one of the command's options, short (`-q`) or long,
is that option, never part of the expression; an unknown `--word` is an
error.
A bare expression is `grad EXPR` at the current point; `NAME = …` and
`NAME(PARAMS) = …` define names; the words of SESSION_WORDS manage the
session.

Interactive (standard input and output both terminals): a prompt_toolkit
prompt with a history file and completion; Ctrl-C cancels the running line,
never the session, and at once: each command line runs in a forked child
(autodiff.frontends.forked) that Ctrl-C ends even inside a long call into
C++. Otherwise the lines of standard input are a script: no
prompt, each answer printed, and the exit status the most severe of the
lines' (as when streaming).

Torch and SymPy load in a background thread while the first prompt waits
for input. The main thread waits for that thread before it answers a line,
so no module is ever imported by two threads at once.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Iterable, Optional

from autodiff.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    AutodiffError,
    UsageError,
    most_severe,
)
from autodiff.frontends import forked
from autodiff.frontends.runner import SCRIPT_LINE, command_line, line_prefix, quiet_when_the_reader_leaves, report_bug

PROMPT = "autodiff> "

SESSION_WORDS = {
    "at": "at x=3, y=2: the current point, for every command given without --at (minimize: --from; "
          "verify: none, it checks its range); at: show it; at none: clear it",
    "names": "the names defined in this session, and the current point",
    "del": "del NAME …: remove definitions",
    "json": "json on|off: answers as JSON objects (--json) or as tables",
    "notation": "notation plain|python|latex: how expressions are shown (--notation)",
    "help": "help: this list; help COMMAND: the command's options",
    "quit": "leave the session (also exit, or Ctrl-D)",
    "exit": "leave the session",
}
NOTATIONS = ("plain", "python", "latex")

_FIRST_WORD = re.compile(r"([A-Za-z_]\w*)(?=\s|$)")
_TRAILING_NAME = re.compile(r"[A-Za-z_]\w*$")


def run(command, at: Optional[list[str]] = None, define: Optional[list[str]] = None, notation: str = "plain",
        json_output: bool = False, history: Optional[str] = None, no_history: bool = False) -> int:
    """The `repl` command: a session on a terminal, a script otherwise; its exit code.
    `command`: the click group of `autodiff`, which answers each line."""
    session = Session(command, json_output=json_output, notation=notation)
    if not (sys.stdin is not None and sys.stdin.isatty() and sys.stdout.isatty()):
        code = session.start(define or [], at or [])
        return script(session) if code == EXIT_OK else code
    # Everything the prompt needs is imported first: the warm-up thread then
    # imports nothing that this thread is importing too.
    prompt = prompt_session(session, open_history(history, enabled=not no_history))
    if forked.AVAILABLE:
        session.children = forked.Children(session.answer_in_child, session.warm_up_child)
    session.loading = threading.Thread(target=_warm_up, name="autodiff-warm-up", daemon=True)
    session.loading.start()
    code = session.start(define or [], at or [])
    return interactive(session, prompt) if code == EXIT_OK else code


class Session:
    """What a session holds (its names, its point, its output settings) and
    the answer to one line."""

    def __init__(self, command, json_output: bool = False, notation: str = "plain"):
        self.command = command  # the click group of `autodiff`
        self.definitions: dict[str, str] = {}  # name → its definition as typed
        self.point: list[str] = []  # --at texts
        self.json = json_output
        self.notation = notation
        self.leaving = False
        self.loading: Optional[threading.Thread] = None  # the warm-up, until it is done
        self.children: Optional[forked.Children] = None  # interactive: each command line in a forked child

    def start(self, definitions: Iterable[str], point: list[str]) -> int:
        """The repl command's --define and --at, checked before the first prompt."""
        definitions = list(definitions)
        try:
            if definitions or point:
                self.wait_for_imports()
            for text in definitions:
                self._define(text)
            if point:
                self._at(", ".join(point))
        except AutodiffError as error:
            return self.report(error)
        return EXIT_OK

    def run(self, line: str) -> int:
        """Answer one line; its exit code (0, 1 a failed --expect, 2 bad input, …)."""
        text = line.strip()
        if not text or text.startswith("#"):
            return EXIT_OK
        return self._answered(lambda: self._line(text))

    def _line(self, text: str) -> int:
        word = _FIRST_WORD.match(text)
        if word and word.group(1) in SESSION_WORDS:
            return getattr(self, "_" + word.group(1))(text[word.end():].strip())
        self.wait_for_imports()
        if word and word.group(1) in self.command.commands:
            return self.dispatch(self._command_words(text))
        if _is_definition(text):
            return self._define(text)
        if word and text[word.end():].strip():
            self._refuse_a_mistyped_command(word.group(1))
        if _has_options(self.command.commands["grad"], text):  # `x^2 --order 2`, `x^2 -q`: grad's options too
            return self.dispatch(self._command_words("grad " + text))
        return self.dispatch(self._with_session(["grad", text]))

    def _answered(self, work) -> int:
        """`work()`'s exit code; an error is its one line, the session goes on."""
        try:
            return work()
        except AutodiffError as error:
            return self.report(error)
        except (KeyboardInterrupt, BrokenPipeError, SystemExit):
            raise
        except BaseException as error:  # a bug (or a deadline that got away): one line, the session goes on
            return report_bug(error, self.json)

    def _refuse_a_mistyped_command(self, word: str) -> None:
        """`hesian x^2*y`: a first word close to a command's (and no name of
        the session or the function table) is a typo, not a product."""
        import difflib

        from autodiff.language.functions import FUNCTIONS_BY_NAME

        if word in FUNCTIONS_BY_NAME or word in self.definitions or len(word) < 4:
            return
        close = difflib.get_close_matches(word, [*self.command.commands, *SESSION_WORDS], n=1, cutoff=0.75)
        if close:
            raise UsageError(f"no such command '{word}'; did you mean {close[0]}?")

    def wait_for_imports(self) -> None:
        if self.loading is not None:
            self.loading.join()
            self.loading = None
            if self.children is not None:  # in this thread: torch's thread count is the calling thread's
                self.children.keep_the_pool_for_children()

    def dispatch(self, args: list[str]) -> int:
        """Run `autodiff ARGS`; its exit code. Interactive, in a forked child
        that Ctrl-C ends at once; otherwise in this process."""
        self.wait_for_imports()
        if self.children is not None:
            return self.children.run({"args": args, "json": self.json})
        return self._dispatch_here(args)

    def warm_up_child(self) -> None:
        """In a spare child, before its line comes: a line answered out of
        sight, through the path a line takes (click, the runner, the
        command, rich), so that the pages it touches are the child's own."""
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            self.answer_in_child({"args": ["grad", "x^2*sin(x)", "--at", "x=1.5"], "json": False})

    def answer_in_child(self, request: dict) -> int:
        """In a forked child: the request's command line, as dispatch would
        run it here (the child's session may be older than the request)."""
        self.json = request["json"]
        return self._answered(lambda: self._dispatch_here(request["args"]))

    def _dispatch_here(self, args: list[str]) -> int:
        try:
            command_line(args, lambda: self.command)
            code = EXIT_OK
        except SystemExit as leaving:
            code = leaving.code if isinstance(leaving.code, int) else EXIT_OK if leaving.code is None else 1
        finally:
            _disarm_alarm()
            sys.stdout.flush()
        return code

    def report(self, error: AutodiffError) -> int:
        from autodiff.presentation import render

        if self.json:
            render.write_json(error.to_json())
        else:
            render.render_error(error, render.stderr_console(), line_prefix())
        return error.exit_code

    # ---------------------------------------------------------------- lines

    def _command_words(self, text: str) -> list[str]:
        try:
            words = shlex.split(text)
        except ValueError as error:  # an unclosed quote
            raise UsageError(f"cannot read the line: {str(error).lower()}") from None
        name, sub = words[0], self.command.commands[words[0]]
        if name == "repl":
            raise UsageError("this is a session already: type the lines here")
        others, positional = _arguments(sub, words[1:])
        single = [p for p in sub.params if p.param_type_name == "argument"]
        if len(positional) > 1 and len(single) == 1 and single[0].nargs == 1:
            # `grad 6x^2 + 2x + 4 --at x=3`: the expression the shell would have needed quotes for
            positional = [" ".join(positional)]
        if "-" in positional:
            raise UsageError(
                f"{name} reads nothing from standard input in a session: type each expression at the prompt "
                f"(or pipe them into `autodiff {name} -` in the shell)"
            )
        return self._with_session([name, *others, *(["--"] if "--" in words else []), *positional])

    def _with_session(self, words: list[str]) -> list[str]:
        """The session's definitions, point, --json and --notation, where the
        command takes them and `words` give none."""
        name, rest = words[0], words[1:]
        options = {p.name: p for p in self.command.commands[name].params if p.param_type_name == "option"}
        given = {word.split("=", 1)[0] for word in rest if word.startswith("-")}
        added: list[str] = []
        if "define" in options:
            for text in self.definitions.values():
                added += ["--define", text]
        # verify's --at would replace its range (-5:5) by the one point: verify gets none.
        # minimize starts from the point: its --from.
        start = "at" if name != "verify" else None
        start = "start" if name == "minimize" else start
        if start in options and self.point and not given & set(options[start].opts):
            for text in self._point_for([word for word in rest if not word.startswith("-")]):
                added += [options[start].opts[0], text]
        if "json_output" in options and self.json and "--json" not in given:
            added.append("--json")
        if "notation" in options and self.notation != "plain" and "--notation" not in given:
            added += ["--notation", self.notation]
        return [name, *added, *rest]

    def _point_for(self, words: list[str]) -> list[str]:
        """The session's point, limited to the variables the command's words
        (and the definitions) name: after `at x=1, y=2`, `hessian x^2` is
        the Hessian in x alone. A bare value (`at 3`) goes as it is."""
        from autodiff.language.parsing import names_in

        assignments = _assignments(self.point)
        if assignments is None:
            return list(self.point)
        used = {name for text in [*words, *self.definitions.values()] for name in names_in(text)}
        kept = [part for name, part in assignments.items() if name in used]
        return [", ".join(kept)] if kept else list(self.point)

    def _define(self, text: str) -> int:
        from autodiff.language.definitions import parse_definitions, split

        name = split(text).name
        texts = {**self.definitions, name: text}
        parse_definitions(texts.values())  # the whole set: a cycle, an unknown name
        self.definitions = texts
        return EXIT_OK

    def parsed_definitions(self):
        from autodiff.language.definitions import parse_definitions

        return parse_definitions(self.definitions.values()) if self.definitions else None

    # ---------------------------------------------------- session commands

    def _at(self, rest: str) -> int:
        if not rest:
            say(f"at {', '.join(self.point)}" if self.point else "no current point: at x=3 sets one")
        elif rest in ("none", "clear"):
            self.point = []
        else:
            if "=" in rest:  # a bare value (at 3) names the one variable of each expression: checked there
                self.wait_for_imports()
                from autodiff.commands import api
                from autodiff.commands.prepare import scope_of

                api.as_point([rest], scope=scope_of(self.parsed_definitions()))
            # `at y=2` after `at x=1`: y is added (or replaced), x stays.
            old, new = _assignments(self.point), _assignments([rest])
            self.point = [", ".join({**old, **new}.values())] if old and new else [rest]
        return EXIT_OK

    def _names(self, rest: str) -> int:
        self._no_arguments("names", rest)
        for text in self.definitions.values():
            say(text)
        if not self.definitions:
            say("no names defined: f(t) = t^2 + 1 defines a function, a = 2.5 a constant")
        say(f"at {', '.join(self.point)}" if self.point else "no current point")
        return EXIT_OK

    def _del(self, rest: str) -> int:
        from autodiff.language.definitions import split
        from autodiff.language.parsing import names_in

        self.wait_for_imports()
        names = rest.replace(",", " ").split()
        if not names:
            raise UsageError("del NAME: which definition to remove (names lists them)")
        for name in names:
            if name not in self.definitions:
                raise UsageError(f"no definition named {name}" + (f"; defined: {', '.join(self.definitions)}" if self.definitions else ""))
        remaining = {name: text for name, text in self.definitions.items() if name not in names}
        for name, text in remaining.items():
            definition = split(text)
            used = [word for word in names_in(definition.body_text) if word in names and word not in (definition.params or ())]
            if used:
                raise UsageError(f"{definition.head} uses {used[0]}: del {name} first, or both at once (del {used[0]} {name})")
        self.definitions = remaining
        return EXIT_OK

    def _json(self, rest: str) -> int:
        if rest not in ("", "on", "off"):
            raise UsageError(f"json on or json off, not json {rest}")
        if rest:
            self.json = rest == "on"
        else:
            say(f"json {'on' if self.json else 'off'}")
        return EXIT_OK

    def _notation(self, rest: str) -> int:
        if rest and rest not in NOTATIONS:
            raise UsageError(f"notation {rest}: the notations are {', '.join(NOTATIONS)}")
        if rest:
            self.notation = rest
        else:
            say(f"notation {self.notation}")
        return EXIT_OK

    def _help(self, rest: str) -> int:
        if rest in self.command.commands:
            return self.dispatch([rest, "--help"])
        if rest in SESSION_WORDS:
            say(SESSION_WORDS[rest])
            return EXIT_OK
        if rest:
            raise UsageError(f"no command {rest}; help lists them")
        say("Commands, each with the options it takes in the shell (help COMMAND lists them):")
        for name, sub in self.command.commands.items():
            if name != "repl":
                say(f"  {name:<11} {sub.get_short_help_str(limit=66)}")
        say("Session:")
        for word, text in SESSION_WORDS.items():
            say(f"  {word:<11} {text}")
        say("A bare expression is grad EXPR at the current point: at x=3, then 6x^2+2x+4.")
        say("Names: f(t) = t^3 defines a function, a = 2.5 a constant; every command then knows them.")
        return EXIT_OK

    def _quit(self, rest: str) -> int:
        self._no_arguments("quit", rest)
        self.leaving = True
        return EXIT_OK

    _exit = _quit

    @staticmethod
    def _no_arguments(word: str, rest: str) -> None:
        if rest:
            raise UsageError(f"{word} takes nothing after it")


def _is_definition(text: str) -> bool:
    """`f(t) = t^3`, `a = 2`: a name (and parameters) left of a single `=`
    (not part of ==, <=, >= or !=). `x^2 --at x=3` is no definition."""
    from autodiff.language.definitions import looks_like_definition

    return looks_like_definition(text)


def _has_options(sub, text: str) -> bool:
    """Whether `text` holds options of `sub` after its expression: a word
    that stands alone (spaces either side) and is one of `sub`'s options,
    in full (`--order`, `--at=x=1`) or short (`-q`, `-n`), or any `--word`
    (an unknown option is an error, never part of the expression). So
    `x - -a` is x and --at; `x - a`, `x -a1` and `x-a` are expressions."""
    return any(_is_option(sub, word) or _is_long(word) for word in text.split())


def _is_long(word: str) -> bool:
    """`--word` or `--word=…`: an option's spelling, known or not."""
    return word.startswith("--") and len(word) > 2


def _arguments(sub, words: list[str]) -> tuple[list[str], list[str]]:
    """`words` of a command parted into its options (with their values) and
    the rest, its arguments."""
    valued = {name for p in sub.params if p.param_type_name == "option" and not p.is_flag for name in p.opts}
    if "--" in words:  # after it, arguments only
        end = words.index("--")
        others, positional = _arguments(sub, words[:end])
        return others, positional + words[end + 1:]
    others, positional, index = [], [], 0
    while index < len(words):
        word = words[index]
        if word in valued:
            others += words[index : index + 2]
            index += 2
            continue
        if word.startswith("-") and word != "-" and _is_option(sub, word):
            others.append(word)
        elif _is_long(word):  # `grad x --bogus`: no option, and no part of the expression either
            raise UsageError(f"no such option {word.split('=', 1)[0]}: help {sub.name} lists {sub.name}'s options")
        else:
            positional.append(word)
        index += 1
    return others, positional


def _assignments(texts: list[str]) -> Optional[dict[str, str]]:
    """A point's texts as {variable: "x=…"} in order; None where a part is a bare value (`at 3`)."""
    from autodiff.points import ASSIGNMENT, split_top_level

    found: dict[str, str] = {}
    for text in texts:
        for _, part in split_top_level(text):
            match = ASSIGNMENT.match(part)
            if match is None:
                return None
            found[match.group(1)] = part.strip()
    return found


def _is_option(sub, word: str) -> bool:
    names = {"-h", "--help"} | {name for p in sub.params if p.param_type_name == "option" for name in p.opts + p.secondary_opts}
    return word in names or (word.startswith("--") and word.split("=", 1)[0] in names)


def _disarm_alarm() -> None:
    """No timer signal outlives a line: a Ctrl-C that lands in the symbolic
    deadline's own clean-up (autodiff.deadline) could leave its timer armed, and
    its alarm would then strike at the prompt."""
    if hasattr(signal, "setitimer"):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, _ALARM_HANDLER)


_ALARM_HANDLER = signal.getsignal(signal.SIGALRM) if hasattr(signal, "SIGALRM") else None


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _warm_up() -> None:
    """Import torch, SymPy and the rest, and answer one expression out of
    sight: the first line typed is then answered as fast as the others."""
    try:
        import io

        from rich.console import Console

        from autodiff.commands import api
        from autodiff.presentation import render

        result = api.grad("x^2*sin(x)", at={"x": 1.5})
        render.render_report(result, Console(file=io.StringIO(), width=100))
    except BaseException:  # noqa: BLE001 - the first line typed meets the same problem in the open
        pass


# ------------------------------------------------------------------ the loops


def answer(session: Session, line: str) -> int:
    """One line's answer; Ctrl-C while it runs is exit code 130, said once."""
    try:
        code = session.run(line)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    finally:
        _disarm_alarm()
    if code == EXIT_INTERRUPTED:
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
    return code


def prompt_session(session: Session, history):
    from prompt_toolkit import PromptSession

    from autodiff.language import functions  # noqa: F401 - the completer's table, imported in this thread

    return PromptSession(history=history, completer=Completer(session), complete_while_typing=False)


def interactive(session: Session, prompt) -> int:
    try:
        while not session.leaving:
            try:
                line = prompt.prompt(PROMPT)
                if _typed_ctrl_c_ahead(prompt):
                    sys.stderr.write("interrupted\n")
                    continue
                answer(session, line)
            except KeyboardInterrupt:  # Ctrl-C at the prompt: a fresh line
                continue
            except EOFError:  # Ctrl-D
                break
    finally:
        if session.children is not None:
            session.children.close()
    return EXIT_OK


def _typed_ctrl_c_ahead(prompt) -> bool:
    """Whether Ctrl-C came right after Enter, before the terminal was given
    back its usual mode (it is a key then, not SIGINT): the line is
    cancelled, as if it had begun. Other keys typed ahead stay for the next prompt."""
    from prompt_toolkit.input.typeahead import get_typeahead, store_typeahead
    from prompt_toolkit.keys import Keys

    ahead = get_typeahead(prompt.input)
    with prompt.input.raw_mode():  # keys still in the terminal's queue, read as the prompt reads them
        ahead += prompt.input.read_keys() + prompt.input.flush_keys()
    if any(press.key == Keys.ControlC for press in ahead):
        return True
    store_typeahead(prompt.input, ahead)
    return False


def script(session: Session) -> int:
    """Standard input that is no terminal: each line in turn, no prompt.
    The exit status is the most severe of the lines' (70, 2, 1, 0); Ctrl-C
    stops the script with 130, a reader that left with 141. Each error and
    warning names its line (`line 3: error: …`)."""
    from autodiff.limits import DEFAULT_LIMITS
    from autodiff.frontends.streaming import expression_lines, text_stdin

    worst = EXIT_OK
    try:
        for number, line in expression_lines(text_stdin(), DEFAULT_LIMITS):
            numbered = SCRIPT_LINE.set(number)  # its errors and warnings say `line N:`, as a stream's do
            try:
                code = session.report(line) if isinstance(line, AutodiffError) else answer(session, line)
            finally:
                SCRIPT_LINE.reset(numbered)
            if code in (EXIT_INTERRUPTED, EXIT_BROKEN_PIPE):
                return code
            worst = most_severe(worst, code)
            if session.leaving:
                break
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        try:
            with quiet_when_the_reader_leaves():
                raise
        except SystemExit:
            return EXIT_BROKEN_PIPE
    return worst


# ---------------------------------------------------------------- history


def history_path() -> Path:
    """$XDG_STATE_HOME/autodiff/history (~/.local/state/autodiff/history)."""
    state = os.environ.get("XDG_STATE_HOME", "")
    root = Path(state) if os.path.isabs(state) else Path.home() / ".local" / "state"
    return root / "autodiff" / "history"


def open_history(path: Optional[str], enabled: bool = True):
    """The prompt's history: the file, or this session's lines only when it
    is turned off or cannot be written (said in one line)."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    if not enabled:
        return InMemoryHistory()
    try:
        file = Path(path) if path else history_path()
        file.parent.mkdir(parents=True, exist_ok=True)
        with open(file, "a", encoding="utf-8"):
            pass
    except (OSError, RuntimeError) as error:  # RuntimeError: no home directory
        _note(f"history is kept for this session only: cannot write {path or 'the history file'} "
              f"({getattr(error, 'strerror', None) or error})")
        return InMemoryHistory()

    class Kept(FileHistory):
        def store_string(self, string: str) -> None:
            try:
                super().store_string(string)
            except OSError as error:  # a full disk later on: the session goes on
                _note(f"history is no longer saved: {error.strerror or error}")
                self.store_string = lambda string: None

    return Kept(str(file))


def _note(text: str) -> None:
    sys.stderr.write(f"note: {text}\n")
    sys.stderr.flush()


# -------------------------------------------------------------- completion


def completions(session: Session, text: str) -> list[tuple[str, str]]:
    """(word, description) that may complete the end of `text`, the line
    before the cursor: commands and session words first on a line, then
    options, function and constant names, and the session's own names."""
    words = text.split()
    first = words[0] if words else ""
    partial = "" if not text or text[-1].isspace() else words[-1]
    commands = session.command.commands
    if len(words) <= 1 and partial.isidentifier():
        table = {name: sub.get_short_help_str(limit=50) for name, sub in commands.items()}
        table.update({word: about.split(":")[0] for word, about in SESSION_WORDS.items()})
        table.update(_names(session))
        return _starting(table, partial)
    choices = {"json": {"on": "", "off": ""}, "notation": {name: "" for name in NOTATIONS},
               "help": {**{name: "" for name in commands}, **{word: "" for word in SESSION_WORDS}},
               "del": {name: text for name, text in session.definitions.items()}}
    if first in choices:
        return _starting(choices[first], partial)
    if partial.startswith("-") and first in commands:
        options = {name: (p.help or "")[:50] for p in commands[first].params if p.param_type_name == "option"
                   for name in p.opts + p.secondary_opts}
        return _starting(options, partial)
    name = _TRAILING_NAME.search(text)
    return _starting(_names(session), name.group() if name else "") if name else []


def _names(session: Session) -> dict[str, str]:
    """Function names (each with its `(`), constants and the session's names."""
    from autodiff.language.functions import CONSTANTS, FUNCTIONS

    table = {spec.name + "(": spec.summary for spec in FUNCTIONS}
    table.update({spec.name: spec.summary for spec in CONSTANTS})
    for name, text in session.definitions.items():
        head = text.split("=", 1)[0]
        table[name + ("(" if "(" in head else "")] = text
    return table


def _starting(table: dict[str, str], partial: str) -> list[tuple[str, str]]:
    return sorted((word, about) for word, about in table.items() if word.startswith(partial))


def Completer(session: Session):
    """prompt_toolkit's side of `completions`."""
    from prompt_toolkit.completion import Completer as Base, Completion

    class SessionCompleter(Base):
        def get_completions(self, document, complete_event):
            text = document.text_before_cursor
            word = re.search(r"\S*$", text).group()
            name = _TRAILING_NAME.search(text)
            for completion, about in completions(session, text):
                # An option or a first word replaces the word; a name, the name alone (`sin(x)+co`).
                start = len(word) if completion.startswith("-") or not name else len(name.group())
                yield Completion(completion, start_position=-start, display_meta=about)

    return SessionCompleter()
