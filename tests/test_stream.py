"""Streaming: an expression of `-` reads one expression per line from stdin.

`grad`, `partial`, `hessian`, `jacobian` and `graph` answer each line in turn
in one process. With --json the output is JSON Lines: one strict object per
expression line, `"line": N` (the input line number) first, errors in place;
without it, one table per expression separated by a blank line, errors and
warnings on stderr prefixed `line N: `. The exit status is the most severe
over the lines (70 > 2 > 1 > 0).

Most tests run the CLI in process (typer's CliRunner feeds stdin); a few run
the installed console script, for what only a real process shows: a closed
pipe, the real stdin's bytes, a thousand lines in one process.
"""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autodiff.commands import api
from autodiff.frontends import streaming
from autodiff.frontends.cli import app
from helpers import invoke, strict_loads

ENV = {"COLUMNS": "100", "NO_COLOR": "1"}
LIMIT = 10_000  # characters in one line (autodiff.limits.Limits.max_length)
REPLACEMENT = "\ufffd"


def stream(*args: str, input: str | bytes):
    """`autodiff ARGS` in process, with `input` on stdin."""
    return CliRunner().invoke(app, list(args), input=input, env=ENV)


def json_lines(result) -> list[dict]:
    """Every stdout line, each one strict JSON with "line" as its first key."""
    objects = [strict_loads(line) for line in result.stdout.splitlines()]
    for obj in objects:
        assert next(iter(obj)) == "line", obj
    return objects


def single_json(*args: str) -> dict:
    """The one-expression answer (no streaming), for comparison."""
    result = invoke(*args, "--json")
    return strict_loads(result.stdout)


def without_line(obj: dict) -> dict:
    return {key: value for key, value in obj.items() if key != "line"}


def approx(value):
    return pytest.approx(value, rel=1e-12, abs=1e-12)


# --- 1. the issue's example ----------------------------------------------------


def test_the_issue_example_gives_three_json_lines_and_exit_2():
    result = stream("grad", "-", "--at", "x=3", "--json", input="6*x^2+2*x+4\nx+\nsin(x)\n")
    assert result.exit_code == 2
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 3
    first, second, third = json_lines(result)

    assert first["line"] == 1
    assert first["command"] == "grad" and first["expression"] == "6*x**2 + 2*x + 4"
    assert first["value"] == 64.0
    assert first["gradient"]["x"]["autograd"] == 38.0
    assert first["gradient"]["x"]["symbolic"] == "12*x + 2"
    assert first["agree"] is True

    assert second == {
        "line": 2,
        "error": {
            "type": "parse_error",
            "message": "unexpected end of input; expected a number, a name or '(' at column 3",
            "position": 3,
        },
    }

    assert third["line"] == 3
    assert third["expression"] == "sin(x)"
    assert third["gradient"]["x"]["autograd"] == approx(math.cos(3))
    assert third["gradient"]["x"]["symbolic"] == "cos(x)"


def test_a_streamed_answer_is_the_single_answer_with_its_line_number():
    result = stream("grad", "-", "--at", "x=3", "--json", input="6*x^2+2*x+4\nx+\nsin(x)\n")
    first, second, third = json_lines(result)
    assert without_line(first) == single_json("grad", "6*x^2+2*x+4", "--at", "x=3")
    assert without_line(second) == single_json("grad", "x+", "--at", "x=3")
    assert without_line(third) == single_json("grad", "sin(x)", "--at", "x=3")


# --- 2. alignment: errors, comments and blanks in the middle -------------------

X, Y = 0.5, 2.0
# (input line, expected: {variable: autograd} for an answer, or the error type).
# Every variable of the point gets a derivative, 0 where the line lacks it (as
# in a single run).
MIXED = [
    ("x^2", {"x": 2 * X, "y": 0}),
    ("", None),
    ("# a comment", None),
    ("    # an indented comment", None),
    ("sin(x)*exp(x)", {"x": math.exp(X) * (math.sin(X) + math.cos(X)), "y": 0}),
    ("x+*2", "parse_error"),
    ("z*x", "invalid_point"),  # no value for z
    ("foo(x)", "parse_error"),  # unknown function
    ("   ", None),
    ("  log(x)  ", {"x": 1 / X, "y": 0}),
    ("\t", None),
    ("atan(x)", {"x": 1 / (1 + X**2), "y": 0}),
    ("x^", "parse_error"),
    ("#x^2", None),
    ("x*y", {"x": Y, "y": X}),
    ("\t#\ttabbed comment", None),
    ("cosh(x)", {"x": math.sinh(X), "y": 0}),  # the last line has no newline
]


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_line_fields_follow_the_input_lines_through_errors_comments_and_blanks(newline):
    text = newline.join(line for line, _ in MIXED)
    result = stream("grad", "-", "--at", f"x={X},y={Y}", "--json", input=text)
    assert result.exit_code == 2
    answers = json_lines(result)
    expected = [(number, want) for number, (_, want) in enumerate(MIXED, start=1) if want is not None]
    assert [answer["line"] for answer in answers] == [number for number, _ in expected]
    for answer, (number, want) in zip(answers, expected):
        if isinstance(want, str):
            assert set(answer) == {"line", "error"}, answer
            assert answer["error"]["type"] == want, answer
        else:
            assert "error" not in answer, answer
            gradient = {name: entry["autograd"] for name, entry in answer["gradient"].items()}
            assert gradient == {name: approx(value) for name, value in want.items()}, number
            assert answer["agree"] is True


def test_errors_in_the_stream_are_the_errors_of_single_runs():
    result = stream("grad", "-", "--at", f"x={X},y={Y}", "--json", input="x+*2\nz*x\nfoo(x)\n")
    answers = json_lines(result)
    assert answers[0]["error"]["position"] == 3
    assert "z" in answers[1]["error"]["message"]
    assert "foo" in answers[2]["error"]["message"]
    for answer, expression in zip(answers, ["x+*2", "z*x", "foo(x)"]):
        assert without_line(answer) == single_json("grad", expression, "--at", f"x={X},y={Y}")


def test_an_expression_repeated_gives_the_same_answer_each_time():
    # Nothing leaks from one line into the next (the point is shared).
    result = stream("grad", "-", "--at", "x=[1,2],y=3", "--json", input="x*y^2\nx^3\nx*y^2\n")
    first, middle, again = json_lines(result)
    assert without_line(first) == without_line(again)
    assert first["gradient"]["x"]["autograd"] == [9.0, 9.0]
    assert first["gradient"]["y"]["autograd"] == [6.0, 12.0]
    assert middle["gradient"]["x"]["autograd"] == [3.0, 12.0]


# --- 3. exit status: the most severe line ---------------------------------------

GOOD, EXPECT_FAILS, PARSE_ERROR = "x^2", "x^3", "x+"  # with --at x=3 --expect 6


def test_exit_0_when_every_line_is_good():
    result = stream("grad", "-", "--at", "x=3", "--expect", "6", "--json", input="x^2\n2*x+x^2-2*x\n")
    assert result.exit_code == 0
    answers = json_lines(result)
    assert [a["expect_met"] for a in answers] == [True, True]
    assert [a["gradient"]["x"]["autograd"] for a in answers] == [6.0, 6.0]


def test_exit_1_when_one_expect_fails():
    result = stream("grad", "-", "--at", "x=3", "--expect", "6", "--json", input="x^2\nx^3\nx^2\n")
    assert result.exit_code == 1
    answers = json_lines(result)
    assert [a["expect_met"] for a in answers] == [True, False, True]
    assert answers[1]["gradient"]["x"]["autograd"] == 27.0
    assert answers[1]["gradient"]["x"]["expected"] == 6.0


@pytest.mark.parametrize("order", list(itertools.permutations([GOOD, EXPECT_FAILS, PARSE_ERROR])), ids="|".join)
def test_exit_2_beats_1_whatever_the_order(order):
    result = stream("grad", "-", "--at", "x=3", "--expect", "6", "--json", input="\n".join(order) + "\n")
    assert result.exit_code == 2
    answers = json_lines(result)
    assert [a["line"] for a in answers] == [1, 2, 3]
    by_text = dict(zip(order, answers))
    assert by_text[GOOD]["expect_met"] is True
    assert by_text[EXPECT_FAILS]["expect_met"] is False
    assert by_text[PARSE_ERROR]["error"]["type"] == "parse_error"


@pytest.fixture
def grad_bug(monkeypatch):
    """api.grad raises a plain exception (a bug) for the expression `boom`."""
    real = api.grad

    def grad(text, **arguments):
        if text == "boom":
            raise RuntimeError("kaboom")
        return real(text, **arguments)

    monkeypatch.setattr(api, "grad", grad)


@pytest.mark.parametrize("lines", [["boom", "x+", "x^3"], ["x^3", "x+", "boom"], ["x+", "boom", "x^2"]])
def test_an_internal_error_is_one_line_in_place_and_exit_70(grad_bug, lines):
    result = stream("grad", "-", "--at", "x=3", "--expect", "6", "--json", input="\n".join(lines) + "\n")
    assert result.exit_code == 70
    answers = json_lines(result)
    assert [a["line"] for a in answers] == [1, 2, 3]
    bug = answers[lines.index("boom")]
    assert bug == {"line": lines.index("boom") + 1,
                   "error": {"type": "internal_error", "message": "internal error: RuntimeError: kaboom"}}


def test_an_internal_error_in_human_mode_names_its_line(grad_bug):
    result = stream("grad", "-", "--at", "x=3", input="x^2\nboom\nx^3\n")
    assert result.exit_code == 70
    assert result.stderr == "line 2: error: internal error: RuntimeError: kaboom (please report this)\n"
    assert result.stdout.count("f(x) = ") == 2


# --- 4. partial, hessian, jacobian, graph ---------------------------------------


def test_partial_streams_with_the_same_wrt_on_every_line():
    text = "x*y\nx^2*y^3\nsin(x)*cos(y)\nx+\n"
    result = stream("partial", "-", "--at", "x=2,y=3", "--wrt", "x,y", "--json", input=text)
    assert result.exit_code == 2
    answers = json_lines(result)
    assert [a["line"] for a in answers] == [1, 2, 3, 4]
    assert [a["partial"]["wrt"] for a in answers[:3]] == [["x", "y"]] * 3
    assert answers[0]["partial"]["autograd"] == 1.0
    assert answers[1]["partial"]["autograd"] == 108.0  # 6*x*y^2
    assert answers[1]["partial"]["symbolic"] == "6*x*y**2"
    assert answers[2]["partial"]["autograd"] == approx(-math.cos(2) * math.sin(3))
    assert answers[3]["error"]["type"] == "parse_error"


def test_partial_without_wrt_fails_only_the_lines_of_several_variables():
    result = stream("partial", "-", "--at", "x=1,y=2", "--json", input="x*y\nx^3\n")
    assert result.exit_code == 2
    need_wrt, cube = json_lines(result)
    assert need_wrt["line"] == 1 and need_wrt["error"]["type"] == "usage_error"
    assert "--wrt" in need_wrt["error"]["message"]
    assert cube["line"] == 2 and cube["partial"]["autograd"] == 3.0


def test_hessian_streams():
    text = "x^2*y+y^3\n\nx*y\nexp(x+y)\n"
    result = stream("hessian", "-", "--at", "x=1,y=2", "--json", input=text)
    assert result.exit_code == 0
    first, second, third = json_lines(result)
    assert [first["line"], second["line"], third["line"]] == [1, 3, 4]
    assert first["hessian"]["autograd"] == [[4.0, 2.0], [2.0, 12.0]]
    assert first["hessian"]["symbolic"] == [["2*y", "2*x"], ["2*x", "6*y"]]
    assert first["hessian"]["definiteness"] == "positive definite"
    assert second["hessian"]["autograd"] == [[0.0, 1.0], [1.0, 0.0]]
    assert second["hessian"]["definiteness"] == "indefinite"
    e3 = math.exp(3)
    assert third["hessian"]["autograd"] == [[approx(e3)] * 2] * 2


def test_hessian_expect_applies_to_every_line():
    result = stream("hessian", "-", "--at", "x=1,y=2", "--expect", "[[2,0],[0,0]]", "--json",
                    input="x^2\nx^2+y\nx*y\n")
    assert result.exit_code == 1
    answers = json_lines(result)
    assert [a["hessian"]["expect_met"] for a in answers] == [True, True, False]


def test_jacobian_streams_one_list_per_line():
    text = "[x*y, x+y]\n[sin(x), y^2]\nx*y\n[x, ]\n"
    result = stream("jacobian", "-", "--at", "x=1,y=2", "--json", input=text)
    assert result.exit_code == 2
    first, second, third, fourth = json_lines(result)
    assert first["line"] == 1
    assert first["jacobian"]["functions"] == ["x*y", "x + y"]
    assert first["jacobian"]["autograd"] == [[2.0, 1.0], [1.0, 1.0]]
    assert first["value"] == [2.0, 3.0]
    assert second["jacobian"]["autograd"] == [[approx(math.cos(1)), 0.0], [0.0, 4.0]]
    assert second["jacobian"]["symbolic"] == [["cos(x)", "0"], ["0", "2*y"]]
    assert third["jacobian"]["autograd"] == [[2.0, 1.0]]  # one expression: a 1-row Jacobian
    assert fourth == {"line": 4, "error": fourth["error"]} and fourth["error"]["type"] == "parse_error"


def test_graph_streams_and_leaf_grads_do_not_accumulate():
    text = "x*y\nsin(x)\nx+\nx*y\n"
    result = stream("graph", "-", "--at", "x=1,y=2", "--json", input=text)
    assert result.exit_code == 2
    product, sine, error, again = json_lines(result)
    assert product["line"] == 1 and product["value"] == 2.0
    assert product["leaves"]["x"]["grad"] == 2.0 and product["leaves"]["y"]["grad"] == 1.0
    assert [n["name"] for n in product["nodes"]] == ["MulBackward0", "AccumulateGrad", "AccumulateGrad"]
    assert sine["line"] == 2 and sine["leaves"]["x"]["grad"] == approx(math.cos(1))
    assert sine["nodes"][0]["name"] == "SinBackward0"
    assert error["line"] == 3 and error["error"]["type"] == "parse_error"
    assert again["line"] == 4 and without_line(again) == without_line(product)


def test_graph_format_json_streams_like_json():
    result = stream("graph", "-", "--at", "x=3", "--format", "json", input="x^2\n")
    assert result.exit_code == 0
    (answer,) = json_lines(result)
    assert answer["line"] == 1 and answer["leaves"]["x"]["grad"] == 6.0


def test_graph_dot_streams_one_digraph_per_line():
    result = stream("graph", "-", "--at", "x=3", "--format", "dot", input="x^2\nsin(x)\n")
    assert result.exit_code == 0
    first, second = result.stdout.split("\n\n")
    assert first.startswith("digraph autograd {") and "PowBackward0" in first and "grad = 6" in first
    assert second.startswith("digraph autograd {") and "SinBackward0" in second
    assert second.endswith("}\n")


def test_graph_without_a_point_fails_each_line():
    result = stream("graph", "-", "--json", input="x^2\nx^3\n")
    assert result.exit_code == 2
    assert [(a["line"], a["error"]["type"]) for a in json_lines(result)] == [(1, "usage_error"), (2, "usage_error")]


# --- 5. human mode ------------------------------------------------------------------


def test_human_mode_prints_one_table_per_line_separated_by_a_blank_line():
    result = stream("grad", "-", "--at", "x=3", input="6*x^2+2*x+4\nx+\nsin(x)\n")
    assert result.exit_code == 2
    first = invoke("grad", "6*x^2+2*x+4", "--at", "x=3")
    third = invoke("grad", "sin(x)", "--at", "x=3")
    assert result.stdout == first.stdout + "\n" + third.stdout
    error = invoke("grad", "x+", "--at", "x=3")
    assert error.stderr.startswith("error: ")
    assert result.stderr == "line 2: " + error.stderr
    assert result.stderr.splitlines()[0] == (
        "line 2: error: unexpected end of input; expected a number, a name or '(' at column 3"
    )


def test_human_mode_without_errors_separates_each_pair_of_tables():
    result = stream("grad", "-", input="x^2\ny^3\n\n# comment\nx*y\n")
    assert result.exit_code == 0
    assert result.stdout == (
        "f(x) = x^2\n∂f/∂x = 2*x\n"
        "\n"
        "f(y) = y^3\n∂f/∂y = 3*y^2\n"
        "\n"
        "f(x, y) = x*y\n∂f/∂x = y\n∂f/∂y = x\n"
    )
    assert result.stderr == ""


def test_human_mode_warnings_name_their_line():
    result = stream("grad", "-", "--at", "x=0", input="x^2\n\n1/x\n")
    assert result.exit_code == 0
    assert result.stderr.startswith("line 3: warning: 1/x is inf at x=0: division by zero")
    assert result.stdout.count("f(x) = ") == 2


def test_human_mode_leaves_no_trailing_blank_line_when_the_last_line_fails():
    result = stream("grad", "-", "--at", "x=3", input="x^2\nx+\n")
    assert result.exit_code == 2
    assert result.stdout == invoke("grad", "x^2", "--at", "x=3").stdout


# --- 6. options parsed once: --at and --grad-output --------------------------------


@pytest.fixture
def stdin_must_not_be_read(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("stdin was read")

    monkeypatch.setattr(streaming, "expression_lines", refuse)


@pytest.mark.parametrize("command", ["grad", "partial", "hessian", "jacobian", "graph"])
def test_a_bad_at_is_one_error_and_no_line_is_read(stdin_must_not_be_read, command):
    result = stream(command, "-", "--at", "x=[", "--json", input="x^2\nx^3\n")
    assert result.exit_code == 2
    assert len(result.stdout.splitlines()) == 1
    error = strict_loads(result.stdout)
    assert "line" not in error
    assert error["error"]["type"] == "invalid_point"
    assert error["error"]["message"].startswith("--at 'x=['")
    assert result.stderr == ""


def test_a_bad_at_in_human_mode_prints_one_error(stdin_must_not_be_read):
    result = stream("grad", "-", "--at", "x=[", input="x^2\nx^3\n")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: --at 'x=['")
    assert result.stderr.count("error:") == 1


def test_a_bad_grad_output_is_one_error_and_no_line_is_read(stdin_must_not_be_read):
    result = stream("grad", "-", "--at", "x=[1,2]", "--grad-output", "abc", "--json", input="x^2\nx^3\n")
    assert result.exit_code == 2
    error = strict_loads(result.stdout)
    assert "line" not in error and "--grad-output" in error["error"]["message"]


def test_grad_output_weights_every_line_of_a_vector_point():
    result = stream("grad", "-", "--at", "x=[1,2]", "--grad-output", "1,10", "--json",
                    input="x^2\nx^3\nsin(x)\n")
    assert result.exit_code == 0
    squares, cubes, sines = json_lines(result)
    assert squares["gradient"]["x"]["autograd"] == [2.0, 40.0]
    assert cubes["gradient"]["x"]["autograd"] == [3.0, 120.0]
    assert sines["gradient"]["x"]["autograd"] == [approx(math.cos(1)), approx(10 * math.cos(2))]
    assert [squares["value"], cubes["value"]] == [[1.0, 4.0], [1.0, 8.0]]


def test_wrt_and_order_apply_to_every_line():
    result = stream("grad", "-", "--at", "x=1,y=2", "--wrt", "x", "--order", "3", "--json",
                    input="x^4*y\nsin(x)\ny\n")
    assert result.exit_code == 0
    answers = json_lines(result)
    assert [list(a["gradient"]) for a in answers] == [["x"]] * 3
    assert [a["order"] for a in answers] == [3, 3, 3]
    assert answers[0]["gradient"]["x"]["autograd"] == 48.0  # 24*x*y
    assert answers[1]["gradient"]["x"]["autograd"] == approx(-math.cos(1))
    assert answers[2]["gradient"]["x"]["autograd"] == 0.0


# --- 7. the length limit ---------------------------------------------------------


def test_an_overlong_line_is_an_error_in_place_and_the_stream_goes_on():
    at_limit = "x" + " " * (LIMIT - 3) + "+1"  # x + 1, exactly LIMIT characters
    assert len(at_limit) == LIMIT
    lines = [
        "x^2",
        "x+" * 5001 + "x",  # 10,003 characters
        at_limit,
        "y" * (LIMIT + 1),  # one over
        "x^3",
        "1+" * 10_000 + "x",  # over two read chunks
        "x^4",
        "z" * (LIMIT + 1),  # one over, the last line, with no newline
    ]
    result = stream("grad", "-", "--at", "x=2", "--json", input="\n".join(lines))
    assert result.exit_code == 2
    answers = json_lines(result)
    assert [a["line"] for a in answers] == [1, 2, 3, 4, 5, 6, 7, 8]
    for number in (2, 4, 6, 8):
        assert answers[number - 1] == {
            "line": number,
            "error": {"type": "limit_exceeded",
                      "message": f"line {number} is longer than the limit of {LIMIT} characters (raise it with --limit length=N)"},
        }
    assert answers[0]["gradient"]["x"]["autograd"] == 4.0
    assert answers[2]["expression"] == "x + 1" and answers[2]["gradient"]["x"]["autograd"] == 1.0
    assert answers[4]["gradient"]["x"]["autograd"] == 12.0
    assert answers[6]["gradient"]["x"]["autograd"] == 32.0


def test_a_line_exactly_at_the_limit_is_not_a_length_error_even_last_and_with_crlf():
    at_limit = "x" + " " * (LIMIT - 3) + "+1"
    result = stream("grad", "-", "--at", "x=2", "--json", input=f"{at_limit}\r\n{at_limit}")
    assert result.exit_code == 0
    answers = json_lines(result)
    assert [(a["line"], a["gradient"]["x"]["autograd"]) for a in answers] == [(1, 1.0), (2, 1.0)]


def test_an_overlong_line_in_human_mode_names_its_line():
    result = stream("grad", "-", "--at", "x=2", input="x^2\n" + "x" * (LIMIT + 1) + "\nx^3\n")
    assert result.exit_code == 2
    assert result.stderr == f"line 2: error: line 2 is longer than the limit of {LIMIT} characters (raise it with --limit length=N)\n"
    assert result.stdout.count("f(x) = ") == 2


# --- 8. undecodable bytes ----------------------------------------------------------


def test_undecodable_bytes_are_a_parse_error_for_their_line_only():
    data = b"x^2\nx\xff+1\n\xe9\n\xe2\x82\nsin(x)\n"
    result = stream("grad", "-", "--at", "x=3", "--json", input=data)
    assert result.exit_code == 2
    answers = json_lines(result)
    assert [a["line"] for a in answers] == [1, 2, 3, 4, 5]
    assert answers[0]["gradient"]["x"]["autograd"] == 6.0
    assert answers[1]["error"] == {"type": "parse_error",
                                   "message": f"unexpected character '{REPLACEMENT}' at column 2", "position": 2}
    for bad in answers[2:4]:
        assert bad["error"]["type"] == "parse_error" and bad["error"]["position"] == 1
        assert REPLACEMENT in bad["error"]["message"]
    assert answers[4]["gradient"]["x"]["autograd"] == approx(math.cos(3))


def test_undecodable_bytes_in_human_mode():
    result = stream("grad", "-", "--at", "x=3", input=b"x\xff+1\nx^2\n")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"line 1: error: unexpected character '{REPLACEMENT}' at column 2\n")
    assert result.stdout == invoke("grad", "x^2", "--at", "x=3").stdout


# --- 10. nothing to answer -----------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "# only\n  # comments\n\n\t\n", "# no newline"],
                         ids=["empty", "blank", "comments", "comment-no-newline"])
@pytest.mark.parametrize("command", ["grad", "partial", "hessian", "jacobian", "graph"])
@pytest.mark.parametrize("json_flag", [["--json"], []], ids=["json", "human"])
def test_no_expression_lines_no_output_exit_0(text, command, json_flag):
    result = stream(command, "-", "--at", "x=1", *json_flag, input=text)
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""


# --- 9. the real console script -----------------------------------------------------

SCRIPT = Path(sys.executable).parent / ("autodiff.exe" if sys.platform == "win32" else "autodiff")
needs_script = pytest.mark.skipif(not SCRIPT.exists(), reason="the autodiff console script is not installed")


def _script_env() -> dict:
    return {**os.environ, **ENV}


@needs_script
@pytest.mark.skipif(sys.platform == "win32", reason="SIGPIPE and exit 141 are Unix")
@pytest.mark.parametrize("json_flag", [["--json"], []], ids=["json", "human"])
def test_a_closed_pipe_ends_quietly_with_exit_141(tmp_path, json_flag):
    # `yes x^2 | head -3000 | autodiff grad - --at x=1 | head -1`
    source = tmp_path / "lines.txt"
    source.write_text("x^2\n" * 3000)
    with source.open("rb") as stdin:
        process = subprocess.Popen(
            [str(SCRIPT), "grad", "-", "--at", "x=1", *json_flag],
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_script_env(),
        )
        try:
            first = process.stdout.readline()
            process.stdout.close()  # the reader leaves; 3000 answers cannot fit in the pipe
            stderr = process.stderr.read()
            code = process.wait(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    if json_flag:
        answer = strict_loads(first.decode())
        assert answer["line"] == 1 and answer["gradient"]["x"]["autograd"] == 2.0
    else:
        assert first == b"f(x) = x^2\n"
    assert stderr == b""
    assert code == 141


@needs_script
def test_a_thousand_expressions_in_one_process():
    lines, expected = [], []
    for k in range(1, 1001):
        lines.append(f"{k}*x^2 + {k}")
        expected.append((len(lines), k))
        if k % 10 == 0:
            lines.append(f"# after {k}")
        if k % 25 == 0:
            lines.append("")
    completed = subprocess.run(
        [str(SCRIPT), "grad", "-", "--at", "x=0.5", "--json"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, env=_script_env(), timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    out = completed.stdout.splitlines()
    assert len(out) == 1000
    answers = [strict_loads(line) for line in out]
    assert [a["line"] for a in answers] == [n for n, _ in expected]
    # k*x^2 + k at x = 1/2: value 1.25*k, derivative 2*k*x = k
    assert [a["value"] for a in answers] == [1.25 * k for _, k in expected]
    assert [a["gradient"]["x"]["autograd"] for a in answers] == [float(k) for _, k in expected]
    assert all(a["agree"] is True for a in answers)


@needs_script
def test_undecodable_bytes_through_the_real_stdin():
    completed = subprocess.run(
        [str(SCRIPT), "grad", "-", "--at", "x=3", "--json"],
        input=b"x^2\nx\xff+1\n\xc3\nsin(x)\n", capture_output=True, env=_script_env(), timeout=120,
    )
    assert completed.returncode == 2
    assert completed.stderr == b""
    answers = [strict_loads(line) for line in completed.stdout.decode("utf-8").splitlines()]
    assert [a["line"] for a in answers] == [1, 2, 3, 4]
    assert answers[0]["gradient"]["x"]["autograd"] == 6.0
    assert answers[1]["error"] == {"type": "parse_error",
                                   "message": f"unexpected character '{REPLACEMENT}' at column 2", "position": 2}
    assert answers[2]["error"]["type"] == "parse_error" and answers[2]["error"]["position"] == 1
    assert answers[3]["gradient"]["x"]["autograd"] == approx(math.cos(3))
