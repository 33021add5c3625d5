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
from typing import Any, Iterator, Optional, Sequence

from autodiff.errors import UsageError
from autodiff.files import STDIN
from autodiff.results import DerivativeResult, json_number
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
    "verify": "a table { derivative = \"2*sin(x)*cos(x)\", range = { x = [-3, 3] } }",
    "taylor": "a table { order = 4, expect = [1, 1, 0.5, 0.16666666666666666, 0.041666666666666664] }",
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
# The keys of a verify case (autodiff verify's options), and what each holds.
VERIFY_KEYS = {
    "derivative": "the claimed derivative: one expression string, as autodiff verify --derivative",
    "wrt": "the name of the variable the derivative is by",
    "order": "a whole number ≥ 1: the derivative is claimed to be the N-th",
    "range": "a table of one variable's [low, high], e.g. { x = [-3, 3] }",
    "points": "a whole number ≥ 2: how many evenly spaced points of the range are checked",
}
# The keys of a taylor case (autodiff taylor's options), and what each holds.
TAYLOR_KEYS = {
    "order": "a whole number ≥ 0: the highest degree",
    "expect": "the coefficients c0..cN as a list (one variable), or a table keyed by monomial, e.g. { \"1\" = 0, \"x*y\" = 1 }",
}
# The keys that run a command at `at` (grad, partial, hessian, jacobian), beside a minimize, verify or taylor case.
POINT_KEYS = ("value", "grad", "order", "partial", "hessian", "jacobian", "grad_output")
PARTIAL_KEYS = {"wrt": "a variable name or a list of them", "expect": "a number, or a list for a vector point"}
VALUE = "a number, a constant expression as a string (\"pi/4\"), or a list of them"


@dataclass
class Failure:
    """One unmet expectation or disagreement in a case."""

    what: str  # "f", "∂f/∂x", "H[x,y]", "f′" (verify), "c3" or "x^2*y" (taylor), or "error"
    reason: str  # "expected", "disagree", "no symbolic", "wrong", "disproved", "error"
    message: str
    expected: Any = None
    derivative: Optional[DerivativeResult] = None
    fields: Optional[dict] = None  # further JSON keys (a verify or taylor failure's values)

    def to_json(self) -> dict:
        result = {"what": self.what, "reason": self.reason, "message": self.message}
        if self.derivative is not None:  # its values, and its `expected` where it has one
            result.update((key, value) for key, value in self.derivative.to_json().items() if key != "expect_met")
        elif self.expected is not None:
            result["expected"] = json_number(self.expected)
        result.update(self.fields or {})
        return result


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
        """The case's point: `at`, or a minimize case's start; a verify case
        without `at` has none ({}: its range is in its report)."""
        if "at" in self.data:
            return self.data["at"]
        return self.data["minimize"]["from"] if "minimize" in self.data else {}


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

    _refuse_unknown(data, CASE_KEYS, "", fail)
    # A minimize case starts at its own `from`, a verify case checks its range: neither needs `at`; taylor does.
    pointless = ("minimize" in data or "verify" in data) and "taylor" not in data
    for key in ("expr",) if pointless else ("expr", "at"):
        if key not in data:
            why = "the point taylor expands about, " if key == "at" and "taylor" in data else ""
            raise CaseFileError(f"{named}: missing key {key!r}: {why}{CASE_KEYS[key]}")

    def check(key: str, ok: bool) -> None:
        if key in data and not ok:
            raise fail(key, f"expected {CASE_KEYS[key]}, got {_describe(data[key])}")

    expr = data["expr"]
    check("expr", isinstance(expr, str) or ("jacobian" in data and _is_list_of(expr, str) and expr))
    check("name", isinstance(data.get("name"), str))
    check("at", isinstance(data.get("at"), dict))
    check("value", _is_value(data.get("value")) or is_matrix(data.get("value")))
    check("grad", isinstance(data.get("grad"), dict) and bool(data.get("grad")))
    kinds = [kind for kind in ("verify", "taylor") if kind in data]
    if kinds and not isinstance(expr, str):
        raise fail("expr", f"a {kinds[0]} case takes one expression string, not a list")
    if "minimize" in data:
        _validate_minimize(data["minimize"], fail)
    if "verify" in data:
        _validate_verify(data["verify"], data.get("at", {}), fail)
    if "taylor" in data:
        _validate_taylor(data["taylor"], fail)
        for name, value in data.get("at", {}).items():
            if isinstance(value, list):
                raise fail(f"at.{name}", "taylor expands about one point: give each variable one value, not a list")
    if kinds and "order" in data and "grad" not in data:
        raise fail("order", f"applies to grad only; a {kinds[0]} case's order goes in its table ({kinds[0]} = {{ order = 2 }})")
    needing = [key for key in POINT_KEYS if key in data]
    if needing and "at" not in data:  # a minimize or verify case, which needs no `at` of its own
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
    _refuse_unknown(table, MINIMIZE_KEYS, "minimize.", fail)
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


def _refuse_unknown(table: dict, known: dict, prefix: str, fail) -> None:
    """An unknown key of a case (prefix "") or of its `prefix` table, with the closest known one."""
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
            raise fail(f"{prefix}{key}" if prefix else repr(key), f"unknown key{hint}")


def _validate_verify(table, at: dict, fail) -> None:
    if not isinstance(table, dict):
        raise fail("verify", f"expected {CASE_KEYS['verify']}, got {_describe(table)}")
    _refuse_unknown(table, VERIFY_KEYS, "verify.", fail)
    if "derivative" not in table:
        raise fail("verify", f"missing key 'derivative' ({VERIFY_KEYS['derivative']})")
    over = table.get("range")
    if isinstance(over, dict) and len(over) != 1:
        raise fail("verify.range", f"names {len(over)} variables; a range is over one, the variable the derivative "
                                   "is by (the others take their values from at)")
    checks = {
        "derivative": isinstance(table["derivative"], str) and bool(table["derivative"].strip()),
        "wrt": isinstance(table.get("wrt"), str) and table.get("wrt", "").isidentifier(),
        "order": _is_int(table.get("order")) and table.get("order", 0) >= 1,
        "range": isinstance(over, dict),
        "points": _is_int(table.get("points")) and table.get("points", 0) >= 2,
    }
    for key, ok in checks.items():
        if key in table and not ok:
            raise fail(f"verify.{key}", f"expected {VERIFY_KEYS[key]}, got {_describe(table[key])}")
    for name, bounds in (over or {}).items():
        if not (isinstance(bounds, list) and len(bounds) == 2 and all(_is_scalar(v) for v in bounds)):
            raise fail(f"verify.range.{name}", f"expected [low, high], numbers or constant expressions, got {_describe(bounds)}")
        if all(is_number(v) for v in bounds) and not bounds[0] < bounds[1]:
            raise fail(f"verify.range.{name}", f"the range must go up: {bounds[0]!r} is not below {bounds[1]!r}")
        if "wrt" in table and table["wrt"] != name:
            raise fail("verify.range", f"names {name}, but the derivative is by {table['wrt']} (wrt)")
        if name in at:
            raise fail("verify.range", f"{name} takes its values from the range or from at, not both")


def _validate_taylor(table, fail) -> None:
    if not isinstance(table, dict):
        raise fail("taylor", f"expected {CASE_KEYS['taylor']}, got {_describe(table)}")
    _refuse_unknown(table, TAYLOR_KEYS, "taylor.", fail)
    expect = table.get("expect")
    checks = {
        "order": _is_int(table.get("order")) and table.get("order", 0) >= 0,
        "expect": (isinstance(expect, list) or isinstance(expect, dict)) and bool(expect),
    }
    for key, ok in checks.items():
        if key in table and not ok:
            raise fail(f"taylor.{key}", f"expected {TAYLOR_KEYS[key]}, got {_describe(table[key])}")
    order = taylor_order(table)
    if isinstance(expect, list):
        for index, value in enumerate(expect):
            if not _is_scalar(value):
                raise fail(f"taylor.expect[{index}]", f"expected a number or a constant expression, got {_describe(value)}")
        if len(expect) != order + 1:
            raise fail("taylor.expect", f"lists c0..cN, {order + 1} values for order {order}; got {len(expect)}")
    for key, value in (expect if isinstance(expect, dict) else {}).items():
        powers = monomial_powers(key)
        if powers is None:
            raise fail(f"taylor.expect.{key!r}", "expected a monomial such as \"x^2*y\", \"x\" or \"1\" (the constant term)")
        if sum(powers.values()) > order:
            raise fail(f"taylor.expect.{key!r}", f"has degree {sum(powers.values())}, above the order {order}")
        if not _is_scalar(value):
            raise fail(f"taylor.expect.{key!r}", f"expected a number or a constant expression, got {_describe(value)}")


def taylor_order(table: dict) -> int:
    """A taylor case's degree: `order`, else the last of a list of
    coefficients (c0..cN), else the highest degree its table of monomials
    names, else autodiff taylor's default, 4."""
    if "order" in table:
        return table["order"]
    expect = table.get("expect")
    if isinstance(expect, list):
        return len(expect) - 1
    if isinstance(expect, dict):
        return max((sum(p.values()) for p in map(monomial_powers, expect) if p is not None), default=0)
    return 4


_FACTOR = re.compile(r"\s*([^\W\d]\w*)\s*(?:(?:\^|\*\*)\s*(\d+))?\s*\Z")


def monomial_powers(text: str) -> Optional[dict]:
    """A monomial key of a taylor case's `expect` as powers: "x^2*y" →
    {"x": 2, "y": 1} ("**" works as "^"), "1" → {}; None where it is not one."""
    if text.strip() == "1":
        return {}
    powers: dict = {}
    for factor in text.replace("**", "^").split("*"):
        match = _FACTOR.match(factor)
        if not match or int(match.group(2) or 1) == 0:
            return None
        powers[match.group(1)] = powers.get(match.group(1), 0) + int(match.group(2) or 1)
    return powers


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
