"""Case files for `autodiff check`: TOML in the format of the project's seeds
(`[[case]]` tables with `expr`, `at` and expectations), validated before
anything runs, then run in one process and reported like a test runner —
as a summary, as JSON, and as JUnit XML for CI systems.

A malformed file (bad TOML, an unknown key, a missing `expr`, a value of the
wrong type) is a usage error naming the file, the case and the key: nothing
runs. An expression that does not parse, or a point it cannot be evaluated
at, fails its case and the run goes on.
"""

from __future__ import annotations

import difflib
import errno
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence, Union

from autodiff.errors import (
    EXIT_CHECK_FAILED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_OUTPUT, AutodiffError, UsageError,
)
from autodiff.results import DerivativeResult, as_tensor, derivative_label, json_number, subscript
from autodiff.frontends.streaming import STDIN

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib



class CaseFileError(UsageError):
    """A case file that cannot be read or does not follow the format."""

    type = "invalid_case_file"


# What each key of a case holds, for the messages about a wrong one.
CASE_KEYS = {
    "name": "a string",
    "expr": "an expression string (a list of them for a jacobian case)",
    "at": "a table of values, e.g. { x = 3, y = [1, 2] }",
    "value": "a number, or a list for a vector point",
    "grad": "a table of expected derivatives, e.g. { x = 18 }",
    "order": "a whole number ≥ 1",
    "partial": "a table { wrt = [\"u\", \"v\"], expect = 4 }",
    "hessian": "a matrix, e.g. [[2, 0], [0, 2]]",
    "jacobian": "a matrix, e.g. [[1, 1], [1, -1]]",
    "grad_output": "a number or a list of numbers",
    "rtol": "a number ≥ 0",
    "atol": "a number ≥ 0",
    "exact": "true or false: whether the exact witness judges autograd (default true)",
    "skip": "true, or a string giving the reason",
    "minimize": "a table { from = { x = 3 }, optimizer = \"gd\", lr = 0.1, steps = 100, expect = { x = -0.75 } }",
}
# The keys of a minimize case (autodiff minimize's options), and what each holds.
MINIMIZE_KEYS = {
    "from": "a table of start values, e.g. { x = 3 }",
    "optimizer": "an optimizer name, \"adam,lbfgs\" or a list of names",
    "lr": "a number > 0",
    "steps": "a whole number ≥ 1",
    "tol": "a number ≥ 0",
    "maximize": "true or false",
    "expect": "a table of the final point's values, e.g. { x = -0.75 }",
    "value": "a number: f at the final point",
}
PARTIAL_KEYS = {"wrt": "a variable name or a list of them", "expect": "a number, or a list for a vector point"}
VALUE = "a number, a constant expression as a string (\"pi/4\"), or a list of them"


@dataclass
class Case:
    file: str
    index: int  # 1-based, in its file
    data: dict
    define: tuple = ()  # the file's [define] table, as definition texts ("f(t) = t^2")

    @property
    def name(self) -> str:
        return self.data.get("name") or _expression_text(self.data["expr"])

    @property
    def where(self) -> str:
        return f"{self.file}, case {self.index}"

    @property
    def point(self) -> dict:
        """The case's point: `at`, or a minimize case's start."""
        return self.data["at"] if "at" in self.data else self.data["minimize"]["from"]


@dataclass
class Failure:
    """One unmet expectation or disagreement in a case."""

    what: str  # "f", "∂f/∂x", "H[x,y]", or "error"
    reason: str  # "expected", "disagree", "no symbolic", "error"
    message: str
    expected: Any = None
    derivative: Optional[DerivativeResult] = None

    def to_json(self) -> dict:
        result = {"what": self.what, "reason": self.reason, "message": self.message}
        if self.derivative is not None:  # its values, and its `expected` where it has one
            result.update((key, value) for key, value in self.derivative.to_json().items() if key != "expect_met")
        elif self.expected is not None:
            result["expected"] = json_number(self.expected)
        return result


@dataclass
class CaseResult:
    case: Case
    outcome: str  # "passed", "failed", "skipped" or "error" (a bug in autodiff)
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    reports: list = field(default_factory=list)  # the command results the case ran
    message: Optional[str] = None  # why it was skipped, or the internal error
    printed: Optional[str] = None  # the expression as the first command printed it (kept by `compact`)

    @property
    def expression(self) -> str:
        if self.printed is not None:
            return self.printed
        return self.reports[0].expression if self.reports else _expression_text(self.case.data["expr"])

    def compact(self) -> "CaseResult":
        """This result without its command results (kept for the closing
        details of a failure: the messages, the expression and the point)."""
        return CaseResult(self.case, self.outcome, self.seconds, self.failures, [], self.message, self.expression)

    def junit_record(self) -> tuple:
        details = ""
        if self.outcome == "failed":
            details = "\n".join([f"{self.expression} at {point_text(self.case.point)}"] + [f.message for f in self.failures])
        message = self.failures[0].message if self.outcome == "failed" else self.message
        reason = self.failures[0].reason if self.outcome == "failed" else None
        return (self.case.file, self.case.name, self.seconds, self.outcome, message, reason, details)

    def to_json(self) -> dict:
        result = {
            "file": self.case.file,
            "index": self.case.index,
            "name": self.case.name,
            "expression": self.expression,
            "outcome": self.outcome,
            "seconds": round(self.seconds, 6),
            "failures": [failure.to_json() for failure in self.failures],
            "results": [report.to_json() for report in self.reports],
        }
        if self.message is not None:
            result["message"] = self.message
        return result


@dataclass
class CheckReport:
    """`autodiff check`: the outcome of every selected case, in file order.

    `results` holds every CaseResult when the run keeps them (the Python
    API); the command line streams them instead and keeps only what its
    closing lines need: the tally, the failed cases, and a compact record
    of each case for a JUnit file (memory flat in the number of cases)."""

    files: list[str]
    results: list[CaseResult] = field(default_factory=list)
    deselected: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    output_error: Optional[str] = None  # the --junit file could not be written
    tally: Counter = field(default_factory=Counter)
    broken: list[CaseResult] = field(default_factory=list)  # failed or error, without their command results
    records: list[tuple] = field(default_factory=list)  # (file, name, seconds, outcome, message, details) for JUnit
    interrupted: bool = False  # Ctrl-C: the cases so far
    shard: Optional[tuple[int, int]] = None  # (k, n): this run is the k-th of n shares

    command = "check"

    def add(self, result: CaseResult, keep: bool, record: bool) -> None:
        self.tally[result.outcome] += 1
        if result.outcome in ("failed", "error"):
            self.broken.append(result.compact())
        if record:
            self.records.append(result.junit_record())
        if keep:
            self.results.append(result)

    def count(self, outcome: str) -> int:
        return self.tally[outcome]

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.output_error:
            return EXIT_OUTPUT
        if self.count("error"):
            return EXIT_INTERNAL
        return EXIT_CHECK_FAILED if self.count("failed") else EXIT_OK

    def summary(self) -> str:
        """`16 passed, 0 failed`, then skipped, errors and deselected where there are any."""
        parts = [f"{self.count('passed')} passed", f"{self.count('failed')} failed"]
        if self.count("skipped"):
            parts.append(f"{self.count('skipped')} skipped")
        if self.count("error"):
            parts.append(f"{self.count('error')} error{'s' if self.count('error') != 1 else ''}")
        if self.deselected:
            parts.append(f"{self.deselected} deselected")
        text = ", ".join(parts)
        if self.shard:
            text += f" (shard {self.shard[0]}/{self.shard[1]})"
        return f"{text} (interrupted)" if self.interrupted else text

    def closing_json(self) -> dict:
        """Every key but "cases" (which a stream writes first, a case at a time)."""
        return {
            "command": self.command,
            "files": list(self.files),
            "passed": self.count("passed"),
            "failed": self.count("failed"),
            "skipped": self.count("skipped"),
            "errors": self.count("error"),
            "deselected": self.deselected,
            "seconds": round(self.seconds, 6),
            "summary": self.summary(),
            **({"interrupted": True} if self.interrupted else {}),
            **({"shard": list(self.shard)} if self.shard else {}),
            **({"output_error": self.output_error} if self.output_error else {}),
        }

    def to_json(self) -> dict:
        closing = self.closing_json()
        cases = [result.to_json() for result in self.results]
        return {**closing, "cases": cases}

    def to_junit(self) -> str:
        return junit_xml(self)


# --- reading and validating ---------------------------------------------------


def load_cases(paths: Sequence[str], read_stdin=None) -> list[Case]:
    """Every case of every file, validated; CaseFileError on the first problem."""
    return [case for text, label in _texts(paths, read_stdin) for case in _cases_in(text, label)]


def _texts(paths: Sequence[str], read_stdin=None) -> list[tuple[str, str]]:
    """(text, label) of each case file: text is compact beside its parse,
    so a file is read once and parsed a case at a time, twice over."""
    if not paths:
        raise CaseFileError("check needs at least one case file")
    return [(_read(path, read_stdin), "<stdin>" if path == STDIN else path) for path in paths]


# A [[case]] header at the start of a line: where a case file is cut, so that
# a file of a million cases is parsed a table at a time, never all at once.
_CASE_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*case[ \t]*\]\]", re.M)


def _cases_in(text: str, label: str, define: tuple = (), found: Optional[list] = None) -> Iterator[Case]:
    """The validated cases of one file's text, in order. `define`: the
    file's definitions, given to each case (found in a first pass, which
    appends the texts of its [define] table to `found`)."""
    index = 0
    for document in _documents(text, label):
        unknown = sorted(set(document) - {"case", "define", "derivative"})
        if unknown:
            raise CaseFileError(
                f"{label}: unknown top-level key {unknown[0]!r}; a case file holds [[case]] tables "
                "and a [define] and a [derivative] table only"
            )
        if "define" in document and found is not None:
            found.extend(_definition_texts(document["define"], label))
        if "derivative" in document and found is not None:  # declared derivatives, marked among the texts
            found.extend(DERIVATIVE + text for text in _definition_texts(document["derivative"], label, "[derivative]"))
        tables = document.get("case", [])
        if not isinstance(tables, list):
            raise CaseFileError(f"{label}: no cases; add [[case]] tables with expr and at")
        for data in tables:
            index += 1
            if not isinstance(data, dict):
                raise CaseFileError(f"{label}: case {index} is not a table; write [[case]]")
            case = Case(label, index, data, define)
            _validate(case)
            yield case
    if index == 0:
        raise CaseFileError(f"{label}: no cases; add [[case]] tables with expr and at")


def _documents(text: str, label: str) -> Iterator[dict]:
    """The file's TOML a [[case]] table at a time. Where a piece does not
    parse on its own (a [[case]] line inside a multi-line string, or a real
    error), the whole file is parsed at once: that gives the error its true
    line, or the cases the pieces could not."""
    cuts = [match.start() for match in _CASE_HEADER.finditer(text)]
    pieces = [text[start:end] for start, end in zip([0] + cuts, cuts + [len(text)]) if end > start]
    done = 0  # cases yielded so far
    for piece in pieces:
        try:
            document = _parse(piece, label)
        except CaseFileError:
            whole = _parse(text, label)
            tables = whole.get("case")
            yield {**whole, "case": tables[done:]} if isinstance(tables, list) else whole
            return
        tables = document.get("case")
        done += len(tables) if isinstance(tables, list) else 0
        yield document


def _definition_texts(table, label: str, kind: str = "[define]") -> list[str]:
    """A [define] (or [derivative]) table's entries as definition texts, each checked:
    `f = "t^2"` is refused (a function's key names its parameters: "f(t)")."""
    if not isinstance(table, dict):
        raise CaseFileError(f"{label}: {kind} must be a table of definitions, e.g. \"f(t)\" = \"t^2 + 1\"")
    texts = []
    for head, body in table.items():
        if isinstance(body, bool) or not isinstance(body, (str, int, float)):
            raise CaseFileError(
                f"{label}: {kind} {head!r}: expected an expression string or a number, got {_describe(body)}"
            )
        texts.append(f"{head} = {_text(body)}")
    return texts


def _definitions(texts: tuple, limits):
    """Parsed definitions, remembered: every case of a file shares its [define]."""
    from autodiff.commands.api import definitions

    key = (texts, limits)
    if key not in _PARSED_DEFINITIONS:
        if len(_PARSED_DEFINITIONS) > 64:
            _PARSED_DEFINITIONS.clear()
        plain = [text for text in texts if not text.startswith(DERIVATIVE)]
        declared = [text[len(DERIVATIVE):] for text in texts if text.startswith(DERIVATIVE)]
        _PARSED_DEFINITIONS[key] = definitions(plain, limits, declared)
    return _PARSED_DEFINITIONS[key]


_PARSED_DEFINITIONS: dict = {}
# Marks a declared derivative (--derivative, a [derivative] table) among a case's definition texts.
DERIVATIVE = "\x00derivative\x00"


def _parse(text: str, label: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CaseFileError(f"{label}: not valid TOML: {error}") from None
    except RecursionError:
        raise CaseFileError(f"{label}: arrays or tables nested too deeply") from None
    except ValueError as error:  # Python refuses integers of more than 4300 digits
        raise CaseFileError(f"{label}: a number too long to read ({str(error).split(':')[0]})") from None


def _read(path: str, read_stdin) -> str:
    label = "<stdin>" if path == STDIN else path
    if path == STDIN:
        if read_stdin is not None:
            return read_stdin()
        try:
            if sys.stdin is None:  # started with standard input closed (<&-)
                raise OSError(errno.EBADF, "standard input is closed")
            buffer = getattr(sys.stdin, "buffer", None)
            if buffer is None:  # already text (an embedding application)
                return sys.stdin.read()
            data = buffer.read()
        except OSError as error:  # closed, or a directory
            raise CaseFileError(f"cannot read the case file from standard input: {error.strerror or error}") from None
    else:
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise CaseFileError(f"cannot read case file {path}: {error.strerror or error}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CaseFileError(f"{label}: not UTF-8 text (byte {error.start + 1})") from None


def _validate(case: Case) -> None:
    data = case.data
    named = f"{case.file}: case {case.index}"
    if isinstance(data.get("name"), str):
        named += f" ({data['name']!r})"

    def fail(key: str, problem: str) -> CaseFileError:
        return CaseFileError(f"{named}: {key}: {problem}")

    for key in data:
        if key not in CASE_KEYS:
            close = difflib.get_close_matches(key, CASE_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(CASE_KEYS)}"
            raise fail(repr(key), f"unknown key{hint}")
    for key in ("expr", "at") if "minimize" not in data else ("expr",):  # a minimize case starts at its own `from`
        if key not in data:
            raise CaseFileError(f"{named}: missing key {key!r}: {CASE_KEYS[key]}")

    def check(key: str, ok: bool) -> None:
        if key in data and not ok:
            raise fail(key, f"expected {CASE_KEYS[key]}, got {_describe(data[key])}")

    expr = data["expr"]
    check("expr", isinstance(expr, str) or ("jacobian" in data and _is_list_of(expr, str) and expr))
    check("name", isinstance(data.get("name"), str))
    check("at", isinstance(data.get("at"), dict))
    check("value", _is_value(data.get("value")) or _is_matrix(data.get("value")))
    check("grad", isinstance(data.get("grad"), dict) and bool(data.get("grad")))
    if "minimize" in data:
        _validate_minimize(data["minimize"], fail)
        needing = [key for key in ("value", "grad", "order", "partial", "hessian", "jacobian", "grad_output") if key in data]
        if needing and "at" not in data:
            raise CaseFileError(f"{named}: missing key 'at': {needing[0]} is checked at a point ({CASE_KEYS['at']})")
    for table in ("at", "grad"):
        for name, value in data.get(table, {}).items():
            if not _is_value(value):
                raise fail(f"{table}.{name}", f"expected {VALUE}, got {_describe(value)}")
    check("order", _is_int(data.get("order")) and data.get("order", 0) >= 1)
    check("hessian", _is_matrix(data.get("hessian")))
    check("jacobian", _is_matrix(data.get("jacobian")))
    check("grad_output", _is_number(data.get("grad_output")) or (_is_list_of(data.get("grad_output"), _NUMBER) and data.get("grad_output")))
    check("rtol", _is_number(data.get("rtol")) and data.get("rtol", 0) >= 0)
    check("atol", _is_number(data.get("atol")) and data.get("atol", 0) >= 0)
    check("exact", isinstance(data.get("exact"), bool))
    check("skip", isinstance(data.get("skip"), (bool, str)))
    commands = [key for key in ("grad", "partial", "hessian", "jacobian") if key in data]
    if "order" in data and commands and "grad" not in commands:
        raise fail("order", "applies to grad only; for a repeated partial use partial.wrt = [\"x\", \"x\"]")
    if "grad_output" in data and commands and not {"grad", "partial"} & set(commands):
        raise fail("grad_output", "applies to grad and partial only")
    if "partial" in data:
        partial = data["partial"]
        if not isinstance(partial, dict):
            raise fail("partial", f"expected {CASE_KEYS['partial']}, got {_describe(partial)}")
        for key in partial:
            if key not in PARTIAL_KEYS:
                raise fail(f"partial.{key}", f"unknown key; known keys: {', '.join(PARTIAL_KEYS)}")
        wrt = partial.get("wrt")
        if wrt is None:
            raise CaseFileError(f"{named}: missing key 'partial.wrt' ({PARTIAL_KEYS['wrt']})")
        if not (isinstance(wrt, str) or (_is_list_of(wrt, str) and wrt)):
            raise fail("partial.wrt", f"expected {PARTIAL_KEYS['wrt']}, got {_describe(wrt)}")
        if "expect" in partial and not _is_value(partial["expect"]):
            raise fail("partial.expect", f"expected {PARTIAL_KEYS['expect']}, got {_describe(partial['expect'])}")


def _validate_minimize(table, fail) -> None:
    if not isinstance(table, dict):
        raise fail("minimize", f"expected {CASE_KEYS['minimize']}, got {_describe(table)}")
    for key in table:
        if key not in MINIMIZE_KEYS:
            close = difflib.get_close_matches(key, MINIMIZE_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(MINIMIZE_KEYS)}"
            raise fail(f"minimize.{key}", f"unknown key{hint}")
    if "from" not in table:
        raise fail("minimize", f"missing key 'from' ({MINIMIZE_KEYS['from']})")
    checks = {
        "from": isinstance(table["from"], dict) and bool(table["from"]),
        "optimizer": isinstance(table.get("optimizer"), str) or (_is_list_of(table.get("optimizer"), str) and table.get("optimizer")),
        "lr": _is_number(table.get("lr")) and table.get("lr", 0) > 0,
        "steps": _is_int(table.get("steps")) and table.get("steps", 0) >= 1,
        "tol": _is_number(table.get("tol")) and table.get("tol", 0) >= 0,
        "maximize": isinstance(table.get("maximize"), bool),
        "expect": isinstance(table.get("expect"), dict) and bool(table.get("expect")),
        "value": _is_scalar(table.get("value")),
    }
    for key, ok in checks.items():
        if key in table and not ok:
            raise fail(f"minimize.{key}", f"expected {MINIMIZE_KEYS[key]}, got {_describe(table[key])}")
    for key in ("from", "expect"):
        for name, value in table.get(key, {}).items():
            if not _is_scalar(value):
                raise fail(f"minimize.{key}.{name}", f"expected a number or a constant expression, got {_describe(value)}")


_NUMBER = (int, float)


def _is_number(value) -> bool:
    """An int or float that fits a float (TOML integers are unbounded)."""
    if isinstance(value, bool) or not isinstance(value, _NUMBER):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_scalar(value) -> bool:
    """A number, or a constant expression as text ("pi/4", "sqrt(2)")."""
    return _is_number(value) or isinstance(value, str)


def _is_list_of(value, kind) -> bool:
    if not isinstance(value, list):
        return False
    if kind is _NUMBER:
        return all(_is_number(v) for v in value)
    return all(isinstance(v, kind) for v in value)


def _is_value(value) -> bool:
    return _is_scalar(value) or (isinstance(value, list) and bool(value) and all(_is_scalar(v) for v in value))


def _is_matrix(value) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(row, list) and row and all(_is_scalar(v) for v in row) for row in value)
    )


def _describe(value) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int) and not _is_number(value):
        return f"an integer of {len(str(abs(value)))} digits, too large for a float"
    if _is_number(value):
        return f"the number {value!r}"
    return f"a {type(value).__name__}"


def _expression_text(expr) -> str:
    return expr if isinstance(expr, str) else "[" + ", ".join(expr) + "]"


def _text(value) -> str:
    """A TOML value as the text of an --at or --expect value."""
    from autodiff.commands.api import value_text

    return value_text(value)


def point_text(at: dict) -> str:
    """`x = 2, y = [1, 2]`: a case's point as its reports show it."""

    def shown(value) -> str:
        return "[" + ", ".join(shown(v) for v in value) + "]" if isinstance(value, list) else _text(value)

    return ", ".join(f"{name} = {shown(value)}" for name, value in at.items())


# --- running ------------------------------------------------------------------


def select(cases: list[Case], patterns: Optional[Sequence[str]]) -> list[Case]:
    """The cases whose name contains any of `patterns` (case-insensitive)."""
    return [case for case in cases if _selected(case, patterns)]


def check(
    paths: Union[str, Sequence[str]],
    *,
    select_names: Optional[Sequence[str]] = None,
    dtype: str = "float64",
    rtol: Optional[float] = None,
    atol: Optional[float] = None,
    symbolic_timeout: float = 5.0,
    exact: bool = True,
    read_stdin=None,
    limits=None,
    on_result: Optional[Callable[[CaseResult], None]] = None,
    keep_results: bool = True,
    junit_records: bool = True,
    shard: Optional[tuple[int, int]] = None,
    jobs: int = 1,
    define: Optional[Sequence[str]] = None,
    derivative: Optional[Sequence[str]] = None,
) -> CheckReport:
    """Run the case files `paths` (`-` is standard input) in this process.

    `select_names`: run only the cases whose name contains one of these
    (case-insensitive). `rtol`/`atol` apply to cases that set none;
    `exact=False` turns the exact witness off for cases that do not set it.
    `limits`: as for every command (a Limits, or {"points": 10**8}).
    `shard=(k, n)`: only the k-th of n deterministic shares of the selected
    cases (every n-th, from the k-th), so that n CI machines run a file
    together. `jobs`: worker processes running cases at once; results
    still come in case order. `define`: definitions ("f(t) = t^2") every
    case may use, beside each file's own [define] table (which wins).

    Every file is validated before any case runs (a bad file is an error,
    exit 2, with nothing run). Then the cases run one at a time:
    `on_result` sees each result as it finishes; `keep_results=False`
    keeps none of them in the report (memory flat in the number of cases).
    Ctrl-C stops the run; the report says so and holds the cases so far.
    """
    from autodiff.limits import as_limits

    limits = as_limits(limits)
    if shard is not None and not (1 <= shard[0] <= shard[1]):
        raise UsageError(f"--shard {shard[0]}/{shard[1]}: K/N needs 1 <= K <= N")
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {jobs}")
    started = time.perf_counter()
    paths = list(dict.fromkeys([paths] if isinstance(paths, str) else paths))  # a file named twice runs once
    texts = _texts(paths, read_stdin)
    total = chosen = 0
    defines: dict[str, tuple] = {}  # each file's [define] texts, after --define's (later ones win)
    for text, label in texts:  # the first pass validates and counts, keeping nothing
        found: list[str] = []
        for case in _cases_in(text, label, found=found):
            total += 1
            chosen += _selected(case, select_names)
        defines[label] = tuple(define or ()) + tuple(DERIVATIVE + text for text in derivative or ()) + tuple(found)
    if not chosen:
        raise UsageError(f"no case name contains {' or '.join(repr(p) for p in select_names or ())}")
    import sympy  # noqa: F401  (torch and SymPy load here, not inside the first case's time)

    for label, texts_of_file in defines.items():  # a bad definition is the file's error, before any case runs
        try:
            _definitions(texts_of_file, limits)
        except AutodiffError as error:
            raise CaseFileError(f"{label}: [define]: {error.message}") from None

    import autodiff.witnesses.checks  # noqa: F401
    options = {
        "dtype": dtype, "rtol": rtol, "atol": atol, "symbolic_timeout": symbolic_timeout, "exact": exact, "limits": limits,
    }
    files = list(dict.fromkeys(label for _, label in texts))
    mine = _share(texts, select_names, shard, defines)
    report = CheckReport(files, deselected=total - chosen, shard=shard)
    report.deselected += chosen - (len(range(shard[0] - 1, chosen, shard[1])) if shard else chosen)
    try:
        for result in _results(mine, options, jobs):
            report.add(result, keep_results, junit_records)
            if on_result is not None:
                on_result(result)
    except KeyboardInterrupt:
        report.interrupted = True
    report.seconds = time.perf_counter() - started
    return report


def parse_shard(text: str) -> tuple[int, int]:
    """`--shard 2/4` → (2, 4)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise UsageError(f"--shard {text!r}: give K/N with 1 <= K <= N, e.g. --shard 2/4")
    return int(match.group(1)), int(match.group(2))


def _share(texts, select_names, shard, defines: dict) -> Iterator[Case]:
    """The selected cases, in file order; with `shard` (k, n), every n-th from the k-th."""
    index = 0
    for text, label in texts:
        for case in _cases_in(text, label, defines.get(label, ())):
            if _selected(case, select_names):
                if shard is None or index % shard[1] == shard[0] - 1:
                    yield case
                index += 1


def _results(cases: Iterator[Case], options: dict, jobs: int) -> Iterator[CaseResult]:
    """Each case's result, in case order: in this process, or in `jobs`
    worker processes with a bounded number of cases in flight."""
    if jobs == 1:
        for case in cases:
            yield run_case(case, options)
        return
    import multiprocessing
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: torch's thread pools are not safe to fork.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending: deque = deque()
        try:
            for case in cases:
                pending.append(pool.submit(run_case, case, options))
                if len(pending) >= 4 * jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _selected(case: Case, patterns: Optional[Sequence[str]]) -> bool:
    return not patterns or any(pattern.lower() in case.name.lower() for pattern in patterns)


def run_case(case: Case, options: dict) -> CaseResult:
    """One case: its commands, then every expectation and cross-check."""
    skip = case.data.get("skip", False)
    if skip is True or isinstance(skip, str):
        return CaseResult(case, "skipped", message=skip or None if isinstance(skip, str) else None)
    started = time.perf_counter()
    reports: list = []
    try:
        failures = _run(case, options, reports)
    except AutodiffError as error:  # the case's own input is bad: the case fails
        failures = [Failure("error", error.type, error.message)]
    except RecursionError:
        failures = [Failure("error", "limit_exceeded", "the expression is too deeply nested")]
    except Exception as error:  # a bug in autodiff: reported, and the run goes on
        message = f"internal error: {type(error).__name__}: {error}".splitlines()[0]
        return CaseResult(case, "error", time.perf_counter() - started, reports=reports, message=message)
    outcome = "failed" if failures else "passed"
    return CaseResult(case, outcome, time.perf_counter() - started, failures, reports)


def _run(case: Case, options: dict, reports: list) -> list[Failure]:
    data = case.data
    settings = {
        **options,
        "rtol": data.get("rtol", options.get("rtol")),
        "atol": data.get("atol", options.get("atol")),
        "exact": data.get("exact", options.get("exact", True)),
    }
    if case.define:
        from autodiff.language.definitions import active

        with active(_definitions(case.define, options["limits"])):
            return _run_commands(case, settings, reports)
    return _run_commands(case, settings, reports)


def _run_commands(case: Case, settings: dict, reports: list) -> list[Failure]:
    from autodiff.commands import api
    from autodiff.points import point_from_mapping

    data, options = case.data, settings
    failures = []
    if "minimize" in data:
        failures += _minimize_failures(data["minimize"], data["expr"], options, reports)
        if "at" not in data:
            return failures
    at = point_from_mapping({name: _text(value) for name, value in data["at"].items()}, "at", options["limits"])
    grad_output = data.get("grad_output")
    if grad_output is not None:
        grad_output = [float(v) for v in (grad_output if isinstance(grad_output, list) else [grad_output])]
    expr = data["expr"]  # a list of functions stays a list: each is parsed on its own
    if "jacobian" in data:
        reports.append(api.jacobian(expr, at, expect=_text(data["jacobian"]), **settings))
    if "hessian" in data:
        reports.append(api.hessian(expr, at, expect=_text(data["hessian"]), **settings))
    if "partial" in data:
        partial = data["partial"]
        wrt = [partial["wrt"]] if isinstance(partial["wrt"], str) else list(partial["wrt"])
        expect = [_text(partial["expect"])] if "expect" in partial else None
        reports.append(api.partial(expr, at, wrt=wrt, expect=expect, grad_output=grad_output, **settings))
    if "grad" in data or len(reports) == ("minimize" in data):
        expect = None
        if "grad" in data:
            expect = point_from_mapping({name: _text(value) for name, value in data["grad"].items()}, "grad")
        reports.append(
            api.grad(expr, at, order=data.get("order", 1), expect=expect, grad_output=grad_output, **settings)
        )
    derivative_reports = [report for report in reports if report.command != "minimize"]
    if "value" in data:
        failures.extend(_value_failures(derivative_reports[0], data["value"], settings))
    for report in derivative_reports:
        failures.extend(_report_failures(report))
    return failures


def _minimize_failures(table: dict, expr, settings: dict, reports: list) -> list[Failure]:
    """Run a minimize case: every optimiser must converge, and reach `expect` (and `value`) when given."""
    from autodiff.commands import api

    options = {key: table[key] for key in ("optimizer", "lr", "steps", "tol", "maximize") if key in table}
    expect = {name: _text(value) for name, value in table["expect"].items()} if "expect" in table else None
    start = {name: _text(value) for name, value in table["from"].items()}
    report = api.minimize(
        expr, start, expect=expect, dtype=settings["dtype"], symbolic_timeout=settings["symbolic_timeout"],
        rtol=settings.get("rtol"), atol=settings.get("atol"), limits=settings["limits"], **options,
    )
    reports.append(report)
    failures = []
    for run in report.runs:
        where = ", ".join(f"{name} = {value:.10g}" for name, value in run.point.items())
        if run.status != "converged":
            said = run.message if run.status == "diverged" else f"{run.status}: {run.message}"  # "diverged at step …"
            failures.append(Failure(run.optimizer, run.status, f"{run.optimizer} {said}"))
        if run.expect_met is False:
            wanted = ", ".join(f"{name} = {value:.10g}" for name, value in report.expected.items())
            failures.append(Failure(run.optimizer, "expected", f"{run.optimizer}: expected {wanted}, got {where}"))
        if "value" in table:
            failures.extend(_final_value_failures(run, table["value"], settings))
    return failures


def _final_value_failures(run, expected, settings) -> list[Failure]:
    from autodiff.witnesses.checks import Tolerance
    from autodiff.commands.minimize import EXPECT_ATOL, EXPECT_RTOL
    from autodiff.points import parse_values

    wanted = float(expected) if _is_number(expected) else parse_values(expected, "value")[0]
    rtol, atol = settings.get("rtol"), settings.get("atol")
    tolerance = Tolerance(EXPECT_RTOL if rtol is None else rtol, EXPECT_ATOL if atol is None else atol)
    if tolerance.close_float(run.value, wanted):
        return []
    return [Failure("f", "expected", f"{run.optimizer}: f expected {wanted:.10g}, got {run.value:.10g}", wanted)]


def _value_failures(report, expected, settings) -> list[Failure]:
    import torch

    from autodiff.witnesses.checks import Tolerance
    from autodiff.points import parse_values
    from autodiff.presentation.render import format_number

    def number(value) -> float:
        # TOML's inf and nan are numbers here; strings are constant expressions ("pi^2/4").
        return float(value) if _is_number(value) else parse_values(value, "value")[0]

    if _is_matrix(expected):
        wanted: Any = [[number(v) for v in row] for row in expected]
    elif isinstance(expected, list):
        wanted = [number(v) for v in expected]
    else:
        wanted = number(expected)
    tolerance = Tolerance.for_dtype(settings["dtype"], settings["rtol"], settings["atol"])
    actual = as_tensor(report.value, torch.float64)
    target = as_tensor(wanted, torch.float64)
    try:
        met = bool(tolerance.close(actual, target.expand_as(actual)).all())
    except RuntimeError:  # shapes that do not match: a list for a single point, say
        met = False
    if met:
        return []
    return [Failure("f", "expected", f"f: expected {format_number(wanted)}, got {format_number(report.value)}", wanted)]


def _report_failures(report) -> list[Failure]:
    from autodiff.results import MatrixReport

    failures = []
    if report.derivatives() and report.checked_by == "numeric":
        why = "; ".join(report.warnings) or "SymPy gave no derivative"
        failures.append(Failure("symbolic", "no symbolic", f"no symbolic derivative to compare with: {why}"))
    for label, derivative in _labelled(report, isinstance(report, MatrixReport)):
        if derivative.expect_met is False:
            failures.append(Failure(label, "expected", _detail(label, derivative, "expected"), derivative=derivative))
        elif derivative.agree is False:
            failures.append(Failure(label, "disagree", _detail(label, derivative, "disagree"), derivative=derivative))
        elif derivative.unchecked:
            failures.append(Failure(label, "unchecked", _detail(label, derivative, "unchecked"), derivative=derivative))
    for declared in getattr(report, "declared", ()):  # a declared derivative that its definition contradicts
        if declared["agree"] is False:
            failures.append(Failure(f"{declared['function']}'", "declared", declared["message"]))
    return failures


def _labelled(report, matrix: bool):
    if not matrix:
        return [(derivative_label(d.wrt), d) for d in report.derivatives()]
    labels = []
    for i, row in enumerate(report.entries):
        for j, entry in enumerate(row):
            if report.command == "hessian":
                labels.append((f"H[{report.rows[i]},{report.columns[j]}]", entry))
            else:
                labels.append((derivative_label(entry.wrt, f"f{subscript(i + 1)}"), entry))
    return labels


def _detail(label: str, derivative: DerivativeResult, reason: str) -> str:
    from autodiff.presentation.render import format_number
    from autodiff.results import exact_text

    parts = []
    if reason == "expected":
        parts.append(f"expected {format_number(derivative.expected)}")
    parts.append(f"autograd {format_number(derivative.autograd)}")
    if derivative.symbolic is not None:
        parts.append(f"symbolic {derivative.symbolic} = {format_number(derivative.symbolic_value)}")
    parts.append(f"finite diff. {format_number(derivative.numeric)}")
    if derivative.exact is not None and _has_false(derivative.accurate):  # the exact value, where autograd misses it
        if isinstance(derivative.exact, str):
            parts.append(f"exact {exact_text(derivative.exact)}")
        else:
            parts.append("exact [" + ", ".join(map(exact_text, derivative.exact)) + "]")
    verdict = ""
    if reason == "unchecked":
        verdict = (
            " (not checked: no exact value, and autograd agrees only with SymPy's derivative in float64, which "
            "shares its rounding, while finite differences disagree)"
        )
    elif reason != "expected":
        # Floats lost the digits (the cause says where): inaccurate, not a disagreement with SymPy.
        lost = derivative.checked_by == "exact" and derivative.cause is not None
        verdict = f" (autograd is inaccurate: {derivative.cause})" if lost else " (autograd and symbolic disagree)"
    return f"{label}: " + ", ".join(parts) + verdict


def _has_false(flags) -> bool:
    return flags is False or (isinstance(flags, list) and False in flags)


# --- JUnit XML ----------------------------------------------------------------


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """Text XML 1.0 can hold: control characters become U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def junit_xml(report: CheckReport) -> str:
    """The report as JUnit XML (the schema Jenkins, GitLab and GitHub
    reporters read): one <testsuite> per file, one <testcase> per case,
    from the report's compact records."""
    import xml.etree.ElementTree as ET

    def counts(records: list[tuple]) -> dict:
        return {
            "tests": str(len(records)),
            "failures": str(sum(r[3] == "failed" for r in records)),
            "errors": str(sum(r[3] == "error" for r in records)),
            "skipped": str(sum(r[3] == "skipped" for r in records)),
            "time": f"{sum(r[2] for r in records):.6f}",
        }

    totals = counts(report.records)
    del totals["skipped"]  # not an attribute of <testsuites> in the JUnit XSD
    name = "autodiff check" + (f" (shard {report.shard[0]}/{report.shard[1]})" if report.shard else "")
    root = ET.Element("testsuites", {"name": name, **totals})
    for file in report.files:
        records = [r for r in report.records if r[0] == file]
        suite = ET.SubElement(root, "testsuite", {"name": _xml_text(file), **counts(records)})
        for _, name, seconds, outcome, message, reason, details in records:
            testcase = ET.SubElement(
                suite,
                "testcase",
                {
                    "classname": _xml_text(Path(file).stem if file != "<stdin>" else "stdin"),
                    "name": _xml_text(name),
                    "time": f"{seconds:.6f}",
                },
            )
            if outcome == "failed":
                element = ET.SubElement(testcase, "failure", {"message": _xml_text(message), "type": reason})
                element.text = _xml_text(details)
            elif outcome == "error":
                ET.SubElement(testcase, "error", {"message": _xml_text(message or ""), "type": "internal_error"})
            elif outcome == "skipped":
                ET.SubElement(testcase, "skipped", {"message": _xml_text(message or "skipped")})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def check_writable(path: str, inputs: Sequence[str] = ()) -> None:
    """Refuse a --junit path that cannot be written, or that is one of the
    case files, before any case runs."""
    from autodiff.files import refuse_overwriting_inputs

    refuse_overwriting_inputs("--junit", path, inputs)
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--junit {path} is a directory; name a file")
    if not target.parent.is_dir():
        raise UsageError(f"--junit {path}: the directory {target.parent} does not exist")


def write_junit(report: CheckReport, path: str) -> None:
    """The JUnit report, written whole or not at all (autodiff.files); a
    failed write is said in the report's warnings and its exit code (74),
    and the report itself is still printed."""
    from autodiff.files import write_atomically

    xml = report.to_junit().encode("utf-8")
    try:
        write_atomically(path, lambda file: file.write(xml))
    except OSError as error:
        report.output_error = f"cannot write --junit {path}: {error.strerror or error}"
