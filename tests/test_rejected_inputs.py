"""What autodiff must REJECT, through the real CLI, in process.

In the spirit of simpleeval's tests: every input here is one a user (or an
attacker) might type, and every one must end in exit 2 with a one-line error
that says what is wrong and where -- never a traceback, never a result, never
a file written. Design §2 (the language), §5 (the error contract) and §7 (the
limits).

Each case runs twice: with --json (stdout is one strict JSON error object)
and without (stdout is empty; stderr has "error: ..." and, where the input
has a column, the offending text with a caret under that column).
"""

from __future__ import annotations

import json
import os
import re

import pytest
from typer.testing import CliRunner

from autodiff.frontends.cli import app
from autodiff.limits import DEFAULT_LIMITS

# No colour, whatever the environment of the test run says; wide enough that
# nothing wraps.
_ENV = {"NO_COLOR": "1", "COLUMNS": "200", "FORCE_COLOR": None, "TTY_COMPATIBLE": None, "TTY_INTERACTIVE": None}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _reject_constant(name: str):
    raise ValueError(f"non-strict JSON constant {name}")


def invoke(args: list[str]):
    return CliRunner().invoke(app, args, env=_ENV)


def _no_traceback(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"a Python exception escaped: {result.exception!r}"
    )
    text = result.stdout + result.stderr
    assert "Traceback" not in text


def run_json(args: list[str]) -> tuple[object, dict]:
    """Run with --json; check the common contract of an error and return it."""
    result = invoke(args + ["--json"])
    _no_traceback(result)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    payload = json.loads(result.stdout, parse_constant=_reject_constant)
    assert isinstance(payload, dict) and set(payload) == {"error"}, payload
    error = payload["error"]
    assert isinstance(error["type"], str) and error["type"]
    assert isinstance(error["message"], str) and error["message"]
    assert "\n" not in error["message"], "the message is one line"
    assert "Traceback" not in error["message"]
    return result, error


def run_human(args: list[str]) -> tuple[object, list[str]]:
    """Run without --json; the error goes to stderr, nothing to stdout."""
    result = invoke(args)
    _no_traceback(result)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == "", "nothing but the answer on stdout; an error goes to stderr"
    stderr = _ANSI.sub("", result.stderr)
    lines = stderr.rstrip("\n").split("\n")
    assert lines[0].startswith("error: "), stderr
    return result, lines


def assert_caret(lines: list[str], source: str, position: int) -> None:
    """The last two lines are the source and a caret under `position`."""
    caret = lines[-1]
    assert caret.strip() == "^", lines
    shown = lines[-2]
    index = caret.index("^")
    if len(source) <= 76:  # not windowed: the whole text, indented by two
        assert shown == "  " + source, lines
        assert index == 2 + position - 1, (index, position, lines)
    else:  # windowed: the caret sits under the character at `position`
        assert shown.startswith("  "), lines
        if position <= len(source):
            assert shown[index] == source[position - 1], (shown, index)


# ---------------------------------------------------------------------------
# Expressions that must not parse. (id, text, type, position, words in the
# message). Position None: the error has no column (and no caret line).
# ---------------------------------------------------------------------------

_LIMIT = DEFAULT_LIMITS.max_length
_TOO_LONG = "x" + "+x" * (_LIMIT // 2 + 1)  # a little over the length limit
assert len(_TOO_LONG) > _LIMIT

EXPRESSION_CASES = [
    # nothing there
    ("empty", "", "parse_error", 1, ["empty expression"]),
    ("whitespace", "   ", "parse_error", 4, ["empty expression"]),
    # unbalanced or incomplete
    ("dangling-plus", "x+", "parse_error", 3, ["unexpected end of input", "expected a number, a name or '('"]),
    ("dangling-power", "x^", "parse_error", 3, ["unexpected end of input"]),
    ("dangling-starstar", "x**", "parse_error", 4, ["unexpected end of input"]),
    ("leading-starstar", "**x", "parse_error", 1, ["unexpected '**'"]),
    ("unclosed-paren", "(x", "parse_error", 3, ["unexpected end of input", "expected ')'"]),
    ("extra-close-paren", "x)", "parse_error", 2, ["unexpected ')'"]),
    ("top-level-comma", "x,y", "parse_error", 2, ["unexpected ','"]),
    ("two-numbers", "2 3", "parse_error", 3, ["missing operator before the number 3"]),
    ("two-decimal-points", "1.2.3", "parse_error", 4, ["missing operator"]),
    # calls
    ("no-args", "sin()", "parse_error", 4, ["sin() takes 1 argument, got 0", "sin(x)"]),
    ("too-many-args", "sin(x, y)", "parse_error", 9, ["sin() takes 1 argument, got 2"]),
    ("nary-too-few", "min(x)", "parse_error", 6, ["min() takes 2 or more arguments, got 1"]),
    ("nary-none", "min()", "parse_error", 4, ["min() takes 2 or more arguments, got 0"]),
    ("log-three", "log(x,2,3)", "parse_error", 10, ["log() takes 1 or 2 arguments, got 3"]),
    ("atan2-one", "atan2(x)", "parse_error", 8, ["atan2() takes 2 arguments, got 1", "atan2(y, x)"]),
    ("clamp-two", "clamp(x,1)", "parse_error", 10, ["clamp() takes 3 arguments, got 2"]),
    ("unknown-function", "foo(x)", "parse_error", 1, ["unknown function 'foo'"]),
    ("misspelt-function", "sine(x)", "parse_error", 1, ["unknown function 'sine'", "did you mean 'sin'?"]),
    ("eval-call", "eval(x)", "parse_error", 1, ["unknown function 'eval'"]),
    ("variable-called", "x(2)", "parse_error", 1, ["unknown function 'x'", "x*(...)"]),
    ("function-uncalled", "sin", "parse_error", 1, ["sin is a function", "sin(x)"]),
    ("function-space-arg", "sin x", "parse_error", 1, ["sin is a function"]),
    ("constant-called", "pi(x)", "parse_error", 1, ["pi is a constant, not a function", "pi*(...)"]),
    ("e-called", "e(x)", "parse_error", 1, ["e is a constant"]),
    # Python, not our language
    ("dunder-import", "__import__('os')", "parse_error", 12, ["strings are not part of the language"]),
    ("dunder-name", "__import__", "parse_error", 1, ["reserved word"]),
    ("dunder-class", "__class__", "parse_error", 1, ["reserved word"]),
    ("attribute", "x.real", "parse_error", 2, ["'.' is not an operator", "attribute access"]),
    ("attribute-of-literal", "(1).real", "parse_error", 4, ["attribute access"]),
    ("dunder-attribute", "x.__class__", "parse_error", 2, ["attribute access"]),
    ("lambda", "lambda x: x", "parse_error", 9, ["':' is not an operator"]),
    ("lambda-word", "lambda", "parse_error", 1, ["'lambda' is a reserved word"]),
    ("import", "import os", "parse_error", 1, ["'import' is a reserved word"]),
    ("none", "None", "parse_error", 1, ["reserved word"]),
    ("true", "True", "parse_error", 1, ["reserved word"]),
    ("assignment", "x = 1", "parse_error", 3, ["'=' is not an operator", "'=='"]),
    ("exec", "exec('1')", "parse_error", 6, ["strings are not part of the language"]),
    ("double-quotes", '"x"', "parse_error", 1, ["strings are not part of the language"]),
    ("semicolon", "x; y", "parse_error", 2, ["only one expression is allowed"]),
    ("comparison-outside-where", "x < 1", "parse_error", 3, ["comparison '<'", "where(cond, a, b)"]),
    ("equality-outside-where", "x==y", "parse_error", 2, ["comparison '=='"]),
    ("chained-comparison", "where(0<x<1, 1, 0)", "parse_error", 10, ["chained comparisons are not supported"]),
    ("where-without-comparison", "where(x, 1, 0)", "parse_error", 8, ["a comparison"]),
    ("where-two-args", "where(x>0, 1)", "parse_error", 13, ["where() takes 3 arguments, got 2"]),
    ("list-outside-jacobian", "[x, y]", "parse_error", 1, ["a list", "jacobian"]),
    # characters that are not operators
    ("matmul", "x @ y", "parse_error", 3, ["unexpected character '@'"]),
    ("modulo", "x % 2", "parse_error", 3, ["'%' is not an operator"]),
    ("factorial", "x!", "parse_error", 2, ["'!' is not an operator", "factorial"]),
    ("backtick", "`x`", "parse_error", 1, ["unexpected character '`'"]),
    ("braces", "{x}", "parse_error", 1, ["unexpected character '{'"]),
    ("dollar", "$x", "parse_error", 1, ["unexpected character '$'"]),
    ("backslash", "x\\y", "parse_error", 2, ["unexpected character '\\\\'"]),
    ("integral-sign", "∫x", "parse_error", 1, ["unexpected character '∫'", "(integral)", "ASCII"]),
    ("less-or-equal-sign", "where(x≤1, x, 1)", "parse_error", 8, ["unexpected character '≤'", "write <="]),
    ("open-bar", "2|x - 1", "parse_error", 8, ["'|' at column 2 is not closed"]),
    ("zero-width-space", "x\u200by", "parse_error", 2, ["unexpected character"]),
    # limits (design §7)
    ("power-tower", "9^9^9^9", "limit_exceeded", 4, ["digits", "the limit is 4000"]),
    ("power-of-power", "(9^9)^9^9", "limit_exceeded", 6, ["digits", "the limit is"]),
    ("nesting-200", "(" * 200 + "x" + ")" * 200, "limit_exceeded", 101, ["nests deeper than 100 levels"]),
    ("nesting-calls", "sin(" * 60 + "x" + ")" * 60, "limit_exceeded", None, ["nests deeper than 100 levels"]),
    ("integer-5000-digits", "7" * 5000, "limit_exceeded", 1, ["integer literal of 5000 digits", "the limit is 1000 digits"]),
    ("too-long", _TOO_LONG, "limit_exceeded", None, [f"{len(_TOO_LONG)} characters long", f"the limit is {_LIMIT}"]),
]

@pytest.mark.parametrize(
    "text, kind, position, words", [c[1:] for c in EXPRESSION_CASES], ids=[c[0] for c in EXPRESSION_CASES]
)
def test_expression_rejected_json(text, kind, position, words):
    _, error = run_json(["grad", text, "--at", "x=1"])
    assert error["type"] == kind, error
    for word in words:
        assert word in error["message"], (word, error["message"])
    if position is not None:
        assert error["position"] == position, error
        # the message says the same column as the position field
        assert f"column {position}" in error["message"], error
    elif text is _TOO_LONG:
        assert "position" not in error, "the length limit has no column"


@pytest.mark.parametrize(
    "text, kind, position, words", [c[1:] for c in EXPRESSION_CASES], ids=[c[0] for c in EXPRESSION_CASES]
)
def test_expression_rejected_human(text, kind, position, words):
    _, lines = run_human(["grad", text, "--at", "x=1"])
    for word in words:
        assert word in lines[0], (word, lines[0])
    if position is not None:
        assert_caret(lines, text, position)
    elif text is _TOO_LONG:
        assert len(lines) == 1, "no caret without a column"
    else:
        assert lines[-1].strip() == "^"


def test_every_case_has_a_unique_id():
    ids = [c[0] for c in EXPRESSION_CASES]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------------------
# Exact messages: these fail if the wording regresses.
# ---------------------------------------------------------------------------

EXACT_MESSAGES = [
    ("", "empty expression; expected a number, a name or '(' at column 1"),
    ("x+", "unexpected end of input; expected a number, a name or '(' at column 3"),
    ("sine(x)", "unknown function 'sine'; did you mean 'sin'? at column 1"),
    ("sin(x, y)", "sin() takes 1 argument, got 2: sin(x) at column 9"),
    ("x < 1", "comparison '<' is only allowed as the first argument of where(cond, a, b) at column 3"),
    ("x; y", "only one expression is allowed at column 2"),
    ("x.real", "'.' is not an operator; attribute access is not part of the language at column 2"),
    ("sin", "sin is a function; call it as sin(x) at column 1"),
    ("9^9^9^9", "the exact value of this power would have about 3.7e+08 digits (the limit is 4000; raise it with --limit exact-digits=N) at column 4"),
    ("7" * 5000, "an integer literal of 5000 digits (the limit is 1000 digits; raise it with --limit integer-digits=5000) at column 1"),
    ("(" * 200 + "x" + ")" * 200, "the expression nests deeper than 100 levels (raise it with --limit depth=N) at column 101"),
    (_TOO_LONG, f"the expression is {len(_TOO_LONG)} characters long; the limit is {_LIMIT} "
     f"(raise it with --limit length={len(_TOO_LONG)})"),
]


@pytest.mark.parametrize("text, message", EXACT_MESSAGES, ids=[f"exact-{i}" for i in range(len(EXACT_MESSAGES))])
def test_exact_message(text, message):
    _, error = run_json(["grad", text, "--at", "x=1"])
    assert error["message"] == message
    _, lines = run_human(["grad", text, "--at", "x=1"])
    assert lines[0] == f"error: {message}"


def test_exact_message_missing_variable():
    _, error = run_json(["grad", "x*y", "--at", "x=1"])
    assert error == {"type": "invalid_point", "message": "no value for y; add --at y=…"}


def test_exact_message_repeated_variable():
    _, error = run_json(["grad", "x", "--at", "x=1,x=2"])
    assert error == {"type": "invalid_point", "message": "--at 'x=1,x=2': x is given twice (column 5)", "position": 5}


def test_caret_for_the_exact_human_layout():
    """The whole stderr, byte for byte, for one case."""
    result = invoke(["grad", "x + $", "--at", "x=1"])
    assert result.exit_code == 2
    assert _ANSI.sub("", result.stderr) == "error: unexpected character '$' at column 5\n  x + $\n      ^\n"


# ---------------------------------------------------------------------------
# Inputs that are rejected today, with a known bug in how.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["x\ny"], ids=["newline"])
def test_oddities_are_rejected_with_x_only(text):
    """With only x given, these are at least refused cleanly (exit 2)."""
    _, error = run_json(["grad", text, "--at", "x=1"])
    assert error["type"] in {"parse_error", "invalid_point"}


def test_superscript_is_an_exponent_not_part_of_a_name():
    # x² is x^2; the point still needs a value for x, not for "x²".
    _, error = run_json(["grad", "x²", "--at", "x²=3"])
    assert error["type"] == "invalid_point"
    assert "no value for x" in error["message"]


def test_newline_inside_the_expression_is_rejected():
    _, error = run_json(["grad", "x\ny", "--at", "x=1,y=2"])
    assert error["type"] == "parse_error"
    assert error["position"] == 2


# ---------------------------------------------------------------------------
# Never a traceback: inputs that crash today (design §5: "Never a Python
# traceback for any input"). Each should be an exit-2 error object.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    # The last three are decimal exponents (found by the property tests):
    # mpmath turned them into integers with that many digits (exit 70).
    ["2^(10^400)", "2^2^2000", "(1/2)^(2^5000)", "9^9^92.5E+42", "9^9^91e400", "9^9^91e4009^9^9", "1.5^1e4001"],
)
def test_huge_exponent_is_a_limit_not_a_crash(text):
    _, error = run_json(["grad", text, "--at", "x=1"])
    assert error["type"] == "limit_exceeded"
    assert "the limit is" in error["message"]


@pytest.mark.parametrize("text", ["2^33219", "x*10^5000"])
def test_power_just_under_the_digit_limit_does_not_crash(text):
    result = invoke(["grad", text, "--at", "x=1", "--json"])
    _no_traceback(result)
    assert result.exit_code in (0, 2)
    if result.exit_code == 2:
        assert json.loads(result.stdout)["error"]["type"] == "limit_exceeded"


@pytest.mark.parametrize("text", ["where(sqrt(-1) > 0, x, 0)", "where(x > log(-1), x, 0)"])
def test_comparison_with_a_non_real_value_is_an_error_not_a_crash(text):
    _, error = run_json(["grad", text, "--at", "x=1"])
    assert error["type"] in {"parse_error", "unsupported"}
    assert error.get("position") is not None


@pytest.mark.parametrize("text", [
    # mpmath's hypot of a complex constant (asin(2pi)), raised while SymPy folds the power: was exit 70
    "(1 + (hypot(1, 1 + (asin(2pi))^2))^2)^sigmoid(x)",
])
def test_constants_sympy_cannot_fold_are_an_error_at_the_operator(text):
    _, error = run_json(["grad", text, "--at", "x=1"])
    assert error["type"] == "parse_error"
    assert "cannot evaluate" in error["message"]
    assert error["position"] == text.index(")^sigmoid") + 2


@pytest.mark.parametrize("text", ["٣.5", "x + ٣٣e2"])
def test_non_ascii_digits_in_a_decimal_do_not_crash(text):
    result = invoke(["grad", text, "--at", "x=1", "--json"])
    _no_traceback(result)
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["type"] == "parse_error"


def test_a_non_ascii_digit_after_e_is_part_of_a_name():
    # Numbers are ASCII only; "e٣" is an identifier like "x1", so 1e٣ is 1*e٣.
    result = invoke(["grad", "1e٣", "--at", "x=1", "--json"])
    _no_traceback(result)
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["message"] == "no value for e٣; add --at e٣=…"


# ---------------------------------------------------------------------------
# --at values that must be refused. (id, expression, --at text, type,
# position, words). Positions are columns in the --at text.
# ---------------------------------------------------------------------------

POINT_CASES = [
    ("bare-name", "x", "x", "invalid_point", 1, ["a value cannot contain variables (x)"]),
    ("bare-value-two-variables", "x*y", "3", "invalid_point", 1, ["expected name=value", "has one"]),
    ("no-value", "x", "x=", "invalid_point", 3, ["expected a number"]),
    ("blank-value", "x", "x= ", "invalid_point", 4, ["expected a number"]),
    ("no-name", "x", "=1", "invalid_point", 1, ["expected name=value"]),
    ("double-equals", "x", "x==1", "invalid_point", 1, ["expected name=value"]),
    ("trailing-comma", "x", "x=1,", "invalid_point", 5, ["expected name=value"]),
    ("digit-name", "x", "1x=2", "invalid_point", 1, ["expected name=value"]),
    ("variable-value", "x", "x=y", "invalid_point", 3, ["a value cannot contain variables (y)"]),
    ("vector-lengths", "x*y", "x=[1,2],y=[1,2,3]", "invalid_point", None, ["same length", "x has 2", "y has 3"]),
    ("empty-vector", "x", "x=[]", "invalid_point", 3, ["an empty vector"]),
    ("vector-hole", "x", "x=[1,,2]", "invalid_point", 6, ["expected a number"]),
    ("grid-two-parts", "x", "x=1:2", "invalid_point", 3, ["a grid is start:stop:count"]),
    ("grid-four-parts", "x", "x=1:2:3:4", "invalid_point", 3, ["a grid is start:stop:count"]),
    ("grid-zero-count", "x", "x=0:1:0", "invalid_point", 7, ["count must be a whole number of at least 1", "'0'"]),
    ("grid-negative-count", "x", "x=1:2:-1", "invalid_point", 7, ["count must be a whole number"]),
    ("grid-fractional-count", "x", "x=1:2:2.5", "invalid_point", 7, ["count must be a whole number"]),
    ("grid-variable-start", "x", "x=a:2:3", "invalid_point", 3, ["cannot contain variables (a)"]),
    ("grid-too-big", "x", "x=0:1:1000000000000", "limit_exceeded", 7, ["1000000000000 points", "limit of 10000000"]),
    ("grid-one-over", "x", "x=0:1:10000001", "limit_exceeded", 7, ["10000001 points"]),
    ("not-real-sqrt", "x", "x=sqrt(-1)", "invalid_point", 3, ["sqrt(-1) is not a finite real number"]),
    ("not-real-log", "x", "x=log(0)", "invalid_point", 3, ["log(0) is not a finite real number"]),
    ("division-by-zero", "x", "x=1/0", "invalid_point", 3, ["not a finite real number"]),
    ("given-twice", "x", "x=1,x=2", "invalid_point", 5, ["x is given twice"]),
    ("unknown-function", "x", "x=foo(1)", "parse_error", 3, ["unknown function 'foo'"]),
    ("two-numbers", "x", "x=1 2", "parse_error", 5, ["missing operator before the number 2"]),
    ("unclosed-paren", "x", "x=(1", "parse_error", 5, ["expected ')'"]),
    ("semicolon", "x", "x=1;y=2", "parse_error", 4, ["only one expression"]),
    ("python", "x", "x=__import__('os')", "parse_error", 14, ["strings are not part of the language"]),
    ("power-tower", "x", "x=9^9^9^9", "limit_exceeded", 6, ["digits", "the limit is 4000"]),
]


@pytest.mark.parametrize(
    "expression, at, kind, position, words", [c[1:] for c in POINT_CASES], ids=[c[0] for c in POINT_CASES]
)
def test_point_rejected_json(expression, at, kind, position, words):
    _, error = run_json(["grad", expression, "--at", at])
    assert error["type"] == kind, error
    for word in words:
        assert word in error["message"], (word, error["message"])
    if position is None:
        assert "position" not in error
    else:
        assert error["position"] == position, error
        assert error["message"].startswith(f"--at {at!r}: "), error["message"]
        assert error["message"].endswith(f"(column {position})"), error["message"]


@pytest.mark.parametrize(
    "expression, at, kind, position, words", [c[1:] for c in POINT_CASES], ids=[c[0] for c in POINT_CASES]
)
def test_point_rejected_human(expression, at, kind, position, words):
    _, lines = run_human(["grad", expression, "--at", at])
    for word in words:
        assert word in lines[0], (word, lines[0])
    if position is None:
        assert len(lines) == 1
    else:
        assert_caret(lines, at, position)


def test_repeated_option_names_a_variable_twice():
    _, error = run_json(["grad", "x", "--at", "x=1", "--at", "x=2"])
    assert error["type"] == "invalid_point"
    assert "x is given twice" in error["message"]
    assert error["message"].startswith("--at 'x=2'")


@pytest.mark.parametrize(
    "expression, at, missing",
    [("x*y", ["x=1"], "y"), ("x*y*z", ["y=1"], "x, z"), ("x", ["y=1"], "x"), ("sin(theta) + x", ["x=0"], "theta")],
)
def test_missing_value_names_the_variable(expression, at, missing):
    args = ["grad", expression]
    for text in at:
        args += ["--at", text]
    _, error = run_json(args)
    assert error["type"] == "invalid_point"
    assert error["message"].startswith(f"no value for {missing};"), error["message"]
    _, lines = run_human(args)
    assert f"no value for {missing}" in lines[0]


@pytest.mark.parametrize("at", ["x=[1,2", "x=[1)"])
def test_unclosed_vector_message_is_about_the_vector(at):
    _, error = run_json(["grad", "x", "--at", at])
    assert "jacobian" not in error["message"]
    assert "]" in error["message"]


def test_point_limit_message_names_one_column():
    _, error = run_json(["grad", "x", "--at", "x=9^9^9^9"])
    assert error["position"] == 6
    assert "column 4" not in error["message"]


def test_grid_count_with_a_superscript_digit_does_not_crash():
    _, error = run_json(["grad", "x", "--at", "x=0:1:²"])
    assert error["type"] == "invalid_point"
    assert error["position"] == 7


@pytest.mark.parametrize("at", ["x=0:inf:3", "x=-inf:inf:3"])
def test_grid_with_an_infinite_end_is_refused(at):
    _, error = run_json(["grad", "x", "--at", at])
    assert error["type"] == "invalid_point"


# ---------------------------------------------------------------------------
# No files: nothing a rejected input says can make the tool write one.
# ---------------------------------------------------------------------------

HOSTILE = [
    ["grad", "__import__('os').system('touch pwned')", "--at", "x=1"],
    ["grad", "exec('open(\"pwned\", \"w\")')", "--at", "x=1"],
    ["grad", "x; import os; os.system('touch pwned')", "--at", "x=1"],
    ["grad", "x", "--at", "x=__import__('os').system('touch pwned')"],
    ["grad", "open('pwned', 'w')", "--at", "x=1"],
    ["grad", "9^9^9^9", "--at", "x=1"],
    ["grad", "x", "--at", "x=0:1:1000000000000"],
    ["grad", "(" * 200 + "x" + ")" * 200, "--at", "x=1"],
]


@pytest.mark.parametrize("json_mode", [False, True], ids=["human", "json"])
def test_rejected_inputs_write_no_file(json_mode, tmp_path, monkeypatch):
    # typer's CliRunner (0.29, with its vendored click) has no
    # isolated_filesystem(); an empty temporary working directory does the same.
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for args in HOSTILE:
        result = runner.invoke(app, args + (["--json"] if json_mode else []), env=_ENV)
        _no_traceback(result)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert os.listdir(tmp_path) == [], (args, os.listdir(tmp_path))
        assert os.getcwd() == str(tmp_path)
