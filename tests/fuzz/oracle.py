"""The fuzz oracle: what autodiff may do with any input, and nothing else.

Allowed outcomes:
  - parser and Python API: a result object, or autodiff.errors.AutodiffError;
    every .to_json() is strict JSON (no NaN/Infinity), every error message
    one non-empty line;
  - the CLI (autodiff.frontends.cli.main, in process): exit 0, 1 or 2, never 70 and
    never a traceback; with --json, stdout is strict JSON (one object, or one
    per line when streaming); exit 2 without --json has an error message on
    stderr;
  - no file written (the working directory stays as the harness left it, and
    the sentinel a hostile input would `touch` never appears);
  - no hang: each input is bounded by a wall-clock deadline.

The deadline cannot use SIGALRM/ITIMER_REAL: autodiff.engine.symbolic owns that
timer (--symbolic-timeout) and resets it to 0 when SymPy finishes, which
would silently disarm ours. A watchdog thread instead sends SIGUSR1 to the
main thread, whose handler raises FuzzTimeout (a BaseException, so that no
`except Exception` in autodiff swallows it). A hang inside C code (torch, a
bignum) cannot be interrupted by any Python signal handler; for that,
faulthandler dumps every thread and kills the process at 3× the deadline.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import threading
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from autodiff.errors import AutodiffError
from fuzz.generators import REPO, SENTINEL, Call

ENV = {"COLUMNS": "100", "NO_COLOR": "1", "FORCE_COLOR": None, "TTY_COMPATIBLE": None, "TTY_INTERACTIVE": None}
DEFAULT_DEADLINE = float(os.environ.get("AUTODIFF_FUZZ_DEADLINE", "10"))


class OracleFailure(AssertionError):
    """An outcome the contract does not allow."""

    def __init__(self, kind: str, where: str, detail: str):
        super().__init__(f"{kind} in {where}: {detail}")
        self.kind, self.where, self.detail = kind, where, detail


class FuzzTimeout(BaseException):
    """The input ran past its deadline."""


# --------------------------------------------------------------------------
# deadline

_armed = threading.Event()
_crash_log = None  # a file outside the sandbox that names the input running now


def set_crash_log(path) -> None:
    """Name each input in `path` before it runs: if a hang in C code gets the
    process killed (faulthandler, below), the file says which input it was."""
    global _crash_log
    _crash_log = open(path, "w", encoding="utf-8", errors="backslashreplace")


def _log_current(where: str) -> None:
    if _crash_log is not None:
        _crash_log.seek(0)
        _crash_log.write(where + "\n")
        _crash_log.truncate()
        _crash_log.flush()


def _on_watchdog(signum, frame):
    if _armed.is_set():
        _armed.clear()
        raise FuzzTimeout()


@contextmanager
def deadline(seconds: float = DEFAULT_DEADLINE, where: str = "input"):
    """Raise OracleFailure('hang') if the block runs longer than `seconds`."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0 or not hasattr(signal, "pthread_kill"):
        yield
        return
    _log_current(where)
    previous = signal.signal(signal.SIGUSR1, _on_watchdog)
    main = threading.main_thread().ident
    timer = threading.Timer(seconds, lambda: _armed.is_set() and signal.pthread_kill(main, signal.SIGUSR1))
    timer.daemon = True
    faulthandler.dump_traceback_later(seconds * 3 + 5, exit=True)
    _armed.set()
    timer.start()
    try:
        yield
    except FuzzTimeout:
        raise OracleFailure("hang", where, f"still running after {seconds:g} s") from None
    finally:
        _armed.clear()
        timer.cancel()
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGUSR1, previous)


# --------------------------------------------------------------------------
# strict JSON


def _reject_constant(name: str):
    raise ValueError(f"non-strict JSON constant {name}")


def strict_loads(text: str):
    return json.loads(text, parse_constant=_reject_constant)


def check_strict(payload, where: str) -> None:
    """payload (a to_json() value) is strict JSON and reads back the same."""
    try:
        text = json.dumps(payload, allow_nan=False, ensure_ascii=False)
        strict_loads(text)
    except (TypeError, ValueError) as error:
        raise OracleFailure("non-strict JSON", where, f"{type(error).__name__}: {error}") from None


def check_error(error: AutodiffError, where: str) -> str:
    message = error.message
    if not isinstance(message, str) or not message.strip():
        raise OracleFailure("empty error message", where, repr(error))
    if "\n" in message or "\r" in message:
        raise OracleFailure("multi-line error message", where, repr(message[:300]))
    if error.exit_code not in (1, 2):
        raise OracleFailure("error exit code", where, f"{type(error).__name__} has exit_code {error.exit_code}")
    check_strict(error.to_json(), where)
    return f"error:{error.type}"


def _unexpected(error: BaseException, where: str) -> OracleFailure:
    frames = traceback.extract_tb(error.__traceback__)
    inside = [f for f in frames if "/autodiff/" in f.filename or "/sympy/" in f.filename or "/torch/" in f.filename]
    last = (inside or frames)[-1] if frames else None
    place = f" at {Path(last.filename).name}:{last.lineno} ({last.name})" if last else ""
    message = str(error).splitlines()[0][:300] if str(error) else ""
    return OracleFailure("exception", where, f"{type(error).__name__}: {message}{place}")


# --------------------------------------------------------------------------
# the three ways in


def run_parser(text: str, seconds: float = DEFAULT_DEADLINE) -> str:
    from autodiff.language.parsing import parse_expression

    where = f"parse_expression({text!r})" if len(text) < 300 else f"parse_expression(<{len(text)} chars: {text[:120]!r}…>)"
    with deadline(seconds, where):
        try:
            parse_expression(text)
            return "result"
        except AutodiffError as error:
            return check_error(error, where)
        except Exception as error:
            raise _unexpected(error, where) from error


def _short(call_repr: str) -> str:
    return call_repr if len(call_repr) < 600 else call_repr[:500] + f"… <{len(call_repr)} chars>"


def run_api(call: Call, seconds: float = DEFAULT_DEADLINE) -> str:
    from autodiff.commands import api

    where = _short(repr(call))
    with deadline(seconds, where):
        try:
            result = getattr(api, call.command)(call.expression, **call.kwargs)
        except AutodiffError as error:
            return check_error(error, where)
        except Exception as error:
            raise _unexpected(error, where) from error
        check_strict(result.to_json(), where)
        if result.exit_code not in (0, 1):
            raise OracleFailure("exit code", where, f"result.exit_code is {result.exit_code}")
        return f"result:exit{result.exit_code}"


def run_check_api(paths: list[str], stdin_text: Optional[str] = None, seconds: float = DEFAULT_DEADLINE,
                  **options) -> str:
    """autodiff.commands.cases.check on case files (`stdin_text`: what `-` reads)."""
    from autodiff.commands.cases import check

    where = f"autodiff.commands.cases.check({paths!r}, **{options!r})"
    if stdin_text is not None:
        where += f" with stdin {stdin_text[:400]!r}"
    with deadline(seconds, where):
        try:
            report = check(paths, read_stdin=(lambda: stdin_text) if stdin_text is not None else None, **options)
        except AutodiffError as error:
            return check_error(error, where)
        except Exception as error:
            raise _unexpected(error, where) from error
        check_strict(report.to_json(), where)
        errors = [r.message for r in report.results if r.outcome == "error"]
        if errors or report.exit_code == 70:
            raise OracleFailure("internal error in a case", where, "; ".join(str(m) for m in errors)[:400])
        return f"result:exit{report.exit_code}"


def _json_mode(argv: list[str]) -> bool:
    return "--json" in argv or (argv[:1] == ["graph"] and any(
        a == "json" and b in ("--format", "-f") for b, a in zip(argv, argv[1:])))


def run_cli(argv: list[str], stdin=None, seconds: float = DEFAULT_DEADLINE) -> str:
    """`autodiff ARGV` through the real entry point (autodiff.frontends.cli.main), in process."""
    from typer.testing import CliRunner

    from autodiff.frontends import cli

    where = f"autodiff {_short(repr(argv))}" + (f" with stdin {_short(repr(stdin))}" if stdin is not None else "")
    with deadline(seconds, where):
        with CliRunner().isolation(input=stdin, env=ENV) as (out, err, _):
            try:
                cli.main(list(argv))
                code = 0
            except SystemExit as leaving:
                code = leaving.code if isinstance(leaving.code, int) else (0 if leaving.code is None else 1)
            except Exception as error:  # main() promises never to let one out
                raise _unexpected(error, where) from error
            raw_out, raw_err = out.getvalue(), err.getvalue()
    try:
        stdout, stderr = raw_out.decode("utf-8"), raw_err.decode("utf-8")
    except UnicodeDecodeError as error:
        raise OracleFailure("output not UTF-8", where, str(error)) from None
    if "Traceback (most recent call last)" in stdout + stderr:
        raise OracleFailure("traceback", where, (stderr or stdout)[-600:])
    if code not in (0, 1, 2):
        raise OracleFailure(f"exit {code}", where, (stderr.strip() or stdout.strip())[:600])
    asked_help = any(a in ("--help", "-h") for a in argv)
    if _json_mode(argv) and not asked_help:
        streaming = len(argv) > 1 and argv[1] == "-" and argv[0] != "check"
        documents = [line for line in stdout.splitlines() if line.strip()] if streaming else [stdout]
        if not streaming and not stdout.strip():
            raise OracleFailure("no JSON on stdout", where, f"exit {code}, stderr {stderr[-300:]!r}")
        for document in documents:
            try:
                strict_loads(document)
            except ValueError as error:
                raise OracleFailure("non-strict JSON", where, f"{error}: {document[:300]!r}") from None
    elif code == 2 and not asked_help:
        if "error" not in stderr.lower():
            raise OracleFailure("exit 2 without an error message", where, f"stderr {stderr[-300:]!r}, stdout {stdout[-300:]!r}")
    return f"exit:{code}"


# --------------------------------------------------------------------------
# no file written


@dataclass
class Sandbox:
    """A working directory that must stay as the harness leaves it."""

    path: Path

    def __post_init__(self):
        self.path = Path(self.path).resolve()
        self.allowed: set[str] = set(self._files())
        self.preexisting = {p for p in self._sentinels() if p.exists()}

    def _sentinels(self) -> list[Path]:
        return [place / name for place in (self.path, REPO, REPO / "tests", Path("/tmp")) for name in (SENTINEL, "PWNED")]

    def _files(self) -> list[str]:
        return sorted(str(p.relative_to(self.path)) for p in self.path.rglob("*"))

    def write(self, name: str, text: str) -> str:
        target = self.path / name
        target.write_text(text, encoding="utf-8", errors="surrogatepass")
        self.allowed.add(name)
        return name

    def remove(self, name: str) -> None:
        (self.path / name).unlink(missing_ok=True)
        self.allowed.discard(name)

    def check(self, where: str) -> None:
        if Path.cwd().resolve() != self.path:
            raise OracleFailure("working directory changed", where, f"now {os.getcwd()}")
        unexpected = [f for f in self._files() if f not in self.allowed]
        if unexpected:
            for name in unexpected:  # report once, then carry on from a clean directory
                target = self.path / name
                if target.is_file() or target.is_symlink():
                    target.unlink()
            raise OracleFailure("file written", where, ", ".join(unexpected[:10]))
        for sentinel in self._sentinels():
            if sentinel not in self.preexisting and sentinel.exists():
                raise OracleFailure("hostile input ran", where, f"{sentinel} exists")


@contextmanager
def sandbox(path):
    """chdir into `path` for the block; yields a Sandbox."""
    previous = os.getcwd()
    Path(path).mkdir(parents=True, exist_ok=True)
    os.chdir(path)
    try:
        yield Sandbox(Path(path))
    finally:
        os.chdir(previous)


# --------------------------------------------------------------------------
# bugs found and still open, each pinned by a strict xfail test in
# tests/test_fuzz.py; the campaigns count them apart so that they keep looking
# for new ones. When one is fixed, remove its entry and its xfail mark.


def known_bug(failure: OracleFailure) -> Optional[str]:
    return None  # none open: every bug the campaigns found is fixed and has a regression test
