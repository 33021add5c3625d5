"""Case files for `autodiff check`, read and validated: TOML in the format of
the project's seeds (`[[case]]` tables with `expr`, `at` and expectations,
a [define] and a [derivative] table), every file checked before anything
runs (autodiff.commands.cases runs them).

A malformed file (bad TOML, an unknown key, a missing `expr`, a value of the
wrong type) is a usage error naming the file, the case and the key.
"""

from __future__ import annotations

import difflib
import errno
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence

from autodiff.errors import UsageError
from autodiff.files import STDIN
from autodiff.text import value_text

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
        return self.data.get("name") or expression_text(self.data["expr"])

    @property
    def where(self) -> str:
        return f"{self.file}, case {self.index}"

    @property
    def point(self) -> dict:
        """The case's point: `at`, or a minimize case's start."""
        return self.data["at"] if "at" in self.data else self.data["minimize"]["from"]


def read_texts(paths: Sequence[str], read_stdin=None) -> list[tuple[str, str]]:
    """(text, label) of each case file: text is compact beside its parse,
    so a file is read once and parsed a case at a time, twice over."""
    if not paths:
        raise CaseFileError("check needs at least one case file")
    return [(_read(path, read_stdin), "<stdin>" if path == STDIN else path) for path in paths]


# A [[case]] header at the start of a line: where a case file is cut, so that
# a file of a million cases is parsed a table at a time, never all at once.
_CASE_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*case[ \t]*\]\]", re.M)


def cases_in(text: str, label: str, define: tuple = (), found: Optional[list] = None) -> Iterator[Case]:
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
        texts.append(f"{head} = {value_text(body)}")
    return texts


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
    check("value", _is_value(data.get("value")) or is_matrix(data.get("value")))
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
    check("hessian", is_matrix(data.get("hessian")))
    check("jacobian", is_matrix(data.get("jacobian")))
    check("grad_output", is_number(data.get("grad_output")) or (_is_list_of(data.get("grad_output"), _NUMBER) and data.get("grad_output")))
    check("rtol", is_number(data.get("rtol")) and data.get("rtol", 0) >= 0)
    check("atol", is_number(data.get("atol")) and data.get("atol", 0) >= 0)
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
        "lr": is_number(table.get("lr")) and table.get("lr", 0) > 0,
        "steps": _is_int(table.get("steps")) and table.get("steps", 0) >= 1,
        "tol": is_number(table.get("tol")) and table.get("tol", 0) >= 0,
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


def is_number(value) -> bool:
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
    return is_number(value) or isinstance(value, str)


def _is_list_of(value, kind) -> bool:
    if not isinstance(value, list):
        return False
    if kind is _NUMBER:
        return all(is_number(v) for v in value)
    return all(isinstance(v, kind) for v in value)


def _is_value(value) -> bool:
    return _is_scalar(value) or (isinstance(value, list) and bool(value) and all(_is_scalar(v) for v in value))


def is_matrix(value) -> bool:
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
    if isinstance(value, int) and not is_number(value):
        return f"an integer of {len(str(abs(value)))} digits, too large for a float"
    if is_number(value):
        return f"the number {value!r}"
    return f"a {type(value).__name__}"


def expression_text(expr) -> str:
    return expr if isinstance(expr, str) else "[" + ", ".join(expr) + "]"
