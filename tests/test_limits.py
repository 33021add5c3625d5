"""The limits of README's "## Limits" (autodiff.limits): every named limit
refuses its input with exit 2, JSON type `limit_exceeded` and a message that
names the limit and says `--limit NAME=`; `--limit` lowers (and raises) each
one for every command that takes it; bad `--limit` values are usage errors;
the Python API takes limits as a mapping, texts or a Limits alike; suggested
values are rounded up, so that re-running with one is enough.

Heavy defaults are not exercised by brute force: where a default breach
would cost real work (a 10^7-element vector), the limit is lowered instead.
"""

from __future__ import annotations

import re

import pytest

import autodiff
from autodiff.commands import api
from autodiff.errors import LimitError, UsageError
from autodiff.limits import DEFAULT_LIMITS, NAMES, Limits, as_limits, bytes_text, raise_hint
from helpers import invoke, invoke_json, strict_loads

TOWER = "cos(exp(exp(exp(e))))+x"  # SymPy never finishes evaluating this constant
FIVE = "sin(x)*exp(x)*cos(x)*tanh(x)*log(2+x)"  # each order of its derivative records ~3.4x the nodes of the last
COMMANDS = ("grad", "partial", "hessian", "jacobian", "plot", "graph", "check")


def limit_error(args, name: str, *fragments: str, stdin=None) -> str:
    """Run the CLI with --json; assert exit 2 and a limit_exceeded error whose
    message names `name` as `--limit NAME=` and holds every fragment."""
    result = invoke(*args, "--json", input=stdin)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    error = strict_loads(result.stdout)["error"]
    assert error["type"] == "limit_exceeded", error
    assert f"--limit {name}=" in error["message"], error
    for fragment in fragments:
        assert fragment in error["message"], (fragment, error)
    return error["message"]


def ok(*args: str, stdin=None) -> dict:
    result = invoke(*args, "--json", input=stdin)
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return strict_loads(result.stdout)


def usage_error(*args: str) -> str:
    result, report = invoke_json(*args)
    assert result.exit_code == 2, (result.exit_code, result.stdout)
    assert report["error"]["type"] == "usage_error", report
    return report["error"]["message"]


def variables(count: int) -> list[str]:
    return [f"x{i}" for i in range(1, count + 1)]


# -- every limit, breached at its default (or a lowered value where the default is heavy) ------------

BREACHES = [
    ("length", ["grad", "x" * 10_001, "--at", "x=1"], ["10001 characters long", "the limit is 10000", "--limit length=10001"]),
    ("depth", ["grad", "(" * 101 + "x" + ")" * 101, "--at", "x=1"], ["nests deeper than 100 levels"]),
    ("integer-digits", ["grad", "1" * 1001 + "*x", "--at", "x=1"],
     ["integer literal of 1001 digits", "the limit is 1000 digits", "--limit integer-digits=1001"]),
    ("exact-digits", ["grad", "9^9^9^9", "--at", "x=1"], ["the limit is 4000"]),
    ("exact-digits", ["grad", "2^10^10", "--at", "x=1"], ["3.01e+09 digits", "the limit is 4000"]),
    ("exact-digits", ["grad", "10^4000*10^4000*x", "--at", "x=1"], ["more than 4000 digits"]),
    ("exact-digits", ["grad", "1.5^1e4001*x", "--at", "x=1"], ["the limit is 10^4000"]),
    ("points", ["grad", "x", "--at", "x=0:1:1000000000000"],
     ["1000000000000 points is more than the limit of 10000000", "--limit points=1000000000000"]),
    ("points", ["grad", "x", "--at", "x=[1,2,3,4]", "--limit", "points=3"],
     ["4 points is more than the limit of 3", "--limit points=4"]),
    ("points", ["plot", "sin(x)", "--points", "20000000"],
     ["--points 20000000 is more than the limit of 10000000", "--limit points=20000000"]),
    ("memory", ["grad", "sin(x)", "--at", "x=0:1:100", "--limit", "memory=1K"],
     ["100 points of this expression need about 25 KiB", "more than the memory limit of 1 KiB", "--limit memory=25K"]),
    ("order", ["grad", "x", "--at", "x=1", "--order", "101"],
     ["--order asks for order 101; the limit is 100", "--limit order=101"]),
    ("order", ["partial", "x", "--at", "x=1", "--wrt", ",".join(["x"] * 101)],
     ["--wrt asks for order 101; the limit is 100", "--limit order=101"]),
    ("matrix-entries", ["hessian", "+".join(variables(201)), "--at", ",".join(f"{v}=1" for v in variables(201))],
     ["40401 entries, more than the limit of 40000", "--limit matrix-entries=40401"]),
    ("matrix-entries", ["jacobian", "[" + ",".join(variables(201)) + "]", "--at", ",".join(f"{v}=1" for v in variables(201))],
     ["40401 entries, more than the limit of 40000"]),
    ("matrix-values", ["hessian", "*".join(variables(9)), "--at", "x1=0:1:250000",
                       "--at", ",".join(f"{v}=1" for v in variables(9)[1:]), "--limit", "memory=1T"],
     ["81 entries at 250000 points are 20250000 numbers, more than the limit of 20000000",
      "--limit matrix-values=20250000"]),
    ("build-seconds", ["grad", TOWER, "--at", "x=1", "--limit", "build-seconds=0.2"],
     ["SymPy took longer than 0.2 s to build"]),
    ("graph-nodes", ["grad", FIVE, "--order", "20", "--at", "x=0.5", "--no-symbolic", "--engine", "autograd"],
     ["derivative of order 20 would record about", "by order 5, which recorded 1,615",
      "more than the limit of 1,000,000 graph nodes"]),
    ("autograd-seconds", ["grad", FIVE, "--order", "3", "--at", "x=0.5", "--no-symbolic", "--limit", "autograd-seconds=1e-9",
                          "--engine", "autograd"],
     ["was stopped after order 1", "past the wall-clock timeout of 1e-09 s"]),
    ("series-work", ["grad", "exp(x)", "--order", "100", "--at", "x=0:1:1000000", "--engine", "taylor"],
     ["Taylor mode to degree 100 in 1 variable(s) would take about 41,208,000,000 coefficient products",
      "(2 operations at 1,000,000 points): more than the limit of 500,000,000", "--limit series-work=41208000000"]),
    ("series-work", ["taylor", "exp(x+y)", "--at", "x=0,y=0", "--order", "10", "--limit", "series-work=1000"],
     ["Taylor mode to degree 10 in 2 variable(s) would take about", "more than the limit of 1,000"]),
]


@pytest.mark.parametrize("name, args, fragments", BREACHES, ids=[f"{b[0]}-{i}" for i, b in enumerate(BREACHES)])
def test_a_breach_is_exit_2_naming_the_limit(name, args, fragments):
    limit_error(args, name, *fragments)


# The exact witness's limits are budgets, not refusals: past them it stops,
# says so, and the other witnesses decide (tested below).
BUDGETS = {"exact-operations", "exact-bits", "taylor-autograd-nodes"}


def test_every_named_limit_has_a_breach_above():
    assert {name for name, _, _ in BREACHES} | BUDGETS == set(NAMES)
    assert set(NAMES.values()) == {f for f in Limits.__dataclass_fields__}


def test_a_breach_in_the_human_view_names_the_limit_on_stderr():
    result = invoke("grad", "x", "--at", "x=0:1:1000000000000")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "error:" in result.stderr
    assert "more than the limit of 10000000 (raise it with --limit points=1000000000000)" in result.stderr


def test_graph_nodes_stops_a_derivative_that_would_record_millions_of_nodes():
    # The 20th derivative would record some 10^10 nodes; the counted growth
    # stops it after order 5 (it returns at all: the test would hang otherwise).
    message = limit_error(["grad", FIVE, "--order", "20", "--at", "x=0.5", "--no-symbolic", "--engine", "autograd"],
                          "graph-nodes")
    assert message == (
        "autograd's derivative of order 20 would record about 7,800,000,000 graph nodes (counted: 2,421 by order 5, "
        "which recorded 1,615, 3× as many as order 4; predicted: orders 6 to 19 at ×2.9 each): more than the limit "
        "of 1,000,000 graph nodes; lower the order, or raise it with --limit graph-nodes=2100000000000 (an upper "
        "estimate: the growth per order rising to ×6.1 by order 19)"
    )


def test_graph_nodes_lowered_and_enough():
    limit_error(["grad", FIVE, "--order", "4", "--at", "x=0.5", "--no-symbolic", "--limit", "graph-nodes=100", "--engine",
                 "autograd"],
                "graph-nodes", "derivative of order 4 would record about 310 graph nodes (counted: 86 by order 2, which "
                "recorded 66, 3.3× as many as order 1; predicted: order 3 at ×3.3): more than the limit of 100 graph "
                "nodes", "--limit graph-nodes=320 (an upper estimate")
    # 20 + 66 counted and 66 × 3.3 predicted, rounded up: the suggested limit is
    # enough (orders 1 to 3 record 20 + 66 + 184 = 270 nodes; the 4th, none).
    report = ok("grad", FIVE, "--order", "4", "--at", "x=0.5", "--no-symbolic", "--limit", "graph-nodes=310", "--engine",
                "autograd")
    assert report["gradient"]["x"]["autograd"] == pytest.approx(report["gradient"]["x"]["numeric"], rel=1e-4)


def test_autograd_seconds_is_a_wall_clock_timeout_off_by_default():
    assert DEFAULT_LIMITS.max_autograd_seconds is None
    message = limit_error(["grad", FIVE, "--order", "3", "--at", "x=0.5", "--no-symbolic", "--engine", "autograd",
                           "--limit", "autograd-seconds=1e-9"], "autograd-seconds")
    assert "wall-clock timeout" in message and "depends on the machine and its load" in message
    report = ok("grad", "x^3", "--order", "2", "--at", "x=2", "--limit", "autograd-seconds=60")
    assert report["gradient"]["x"]["autograd"] == 12.0


def test_build_seconds_lowered_and_enough():
    for command in (["grad", TOWER, "--at", "x=1"], ["graph", TOWER, "--at", "x=1"], ["plot", TOWER]):
        limit_error([*command, "--limit", "build-seconds=0.2"], "build-seconds", "longer than 0.2 s")
    assert ok("grad", "x^2", "--at", "x=3", "--limit", "build-seconds=2")["gradient"]["x"]["autograd"] == 6.0


def test_limits_on_the_text_answer_before_torch_work():
    # Each returns (a hang here would be the failure), with the limit named.
    limit_error(["grad", "9^9^9^9", "--at", "x=1"], "exact-digits")
    limit_error(["hessian", "9^9^9^9*x*y", "--at", "x=1,y=1"], "exact-digits")
    limit_error(["jacobian", "[x, 2^10^10*x]", "--at", "x=1"], "exact-digits")
    limit_error(["graph", "2^10^10*x", "--at", "x=1"], "exact-digits")
    limit_error(["plot", "2^10^10*x"], "exact-digits")


# -- memory: the suggested value is enough ---------------------------------------------------------

def suggested(message: str, name: str) -> str:
    match = re.search(rf"--limit {re.escape(name)}=(\S+?)\)?$", message)
    assert match, message
    return match.group(1)


def test_memory_suggestion_for_a_100_point_grid_is_enough():
    message = limit_error(["grad", "sin(x)", "--at", "x=0:1:100", "--limit", "memory=1K"], "memory")
    value = suggested(message, "memory")
    assert value == "25K"
    report = ok("grad", "sin(x)", "--at", "x=0:1:100", "--limit", f"memory={value}")
    assert len(report["gradient"]["x"]["autograd"]) == 100
    # One byte less is not enough: the suggestion is tight.
    limit_error(["grad", "sin(x)", "--at", "x=0:1:100", "--limit", f"memory={25 * 1024 - 1}"], "memory")


def test_memory_suggestion_with_a_fraction_is_accepted():
    message = limit_error(["grad", "sin(x)", "--at", "x=0:1:101", "--limit", "memory=1K"], "memory", "25.3 KiB")
    value = suggested(message, "memory")
    assert value == "25.3K"
    ok("grad", "sin(x)", "--at", "x=0:1:101", "--limit", f"memory={value}")


def test_memory_limit_for_plot_and_matrices():
    limit_error(["plot", "sin(x)", "--points", "3", "--limit", "memory=100"], "memory", "3 points",
                "memory limit of 100 bytes")
    assert ok("plot", "sin(x)", "--points", "3", "--limit", "memory=1K")["points"] == 3
    limit_error(["hessian", "x*y", "--at", "x=[1,2,3],y=1", "--limit", "memory=100"], "memory")
    limit_error(["jacobian", "[x*y, x+y]", "--at", "x=[1,2,3],y=1", "--limit", "memory=100"], "memory")
    limit_error(["graph", "x*y", "--at", "x=[1,2,3],y=1", "--limit", "memory=100"], "memory")


# -- streaming: the line length -------------------------------------------------------------------

def stream(*args: str, stdin: str) -> tuple[int, list[dict]]:
    result = invoke(*args, "--json", input=stdin)
    return result.exit_code, [strict_loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("command", ["grad", "graph"])
def test_an_overlong_streamed_line_is_an_error_for_that_line_only(command):
    code, answers = stream(command, "-", "--at", "x=1", stdin="x^2\n" + "x" * 10_001 + "\nx^3\n")
    assert code == 2
    assert [a["line"] for a in answers] == [1, 2, 3]
    assert "error" not in answers[0] and "error" not in answers[2]
    error = answers[1]["error"]
    assert error["type"] == "limit_exceeded"
    assert "line 2 is longer than the limit of 10000 characters" in error["message"]
    assert "--limit length=" in error["message"]


def test_a_lowered_length_applies_to_each_streamed_line():
    code, answers = stream("grad", "-", "--at", "x=1", "--limit", "length=5", stdin="x\nx+x+x+x\nx+x\n")
    assert code == 2
    assert answers[0]["gradient"]["x"]["autograd"] == 1.0
    assert answers[1]["error"]["type"] == "limit_exceeded"
    assert "--limit length=" in answers[1]["error"]["message"]
    assert answers[2]["gradient"]["x"]["autograd"] == 2.0


def test_a_raised_length_applies_to_streamed_lines():
    line = "+".join(["x"] * 6001)  # 12001 characters: accepted as an argument with the raised limit
    assert ok("grad", line, "--at", "x=1", "--limit", "length=20000")["gradient"]["x"]["autograd"] == 6001.0
    code, answers = stream("grad", "-", "--at", "x=1", "--limit", "length=20000", stdin=line + "\n")
    assert code == 0, answers
    assert answers[0]["gradient"]["x"]["autograd"] == 6001.0


# -- --limit lowers (and raises) each limit, for every command that takes it ----------------------

def test_grad_lowered_limits():
    limit_error(["grad", "x", "--at", "x=[1,2,3,4]", "--limit", "points=3"], "points", "more than the limit of 3")
    assert ok("grad", "x", "--at", "x=[1,2,3]", "--limit", "points=3")["gradient"]["x"]["autograd"] == [1.0] * 3
    limit_error(["grad", "x", "--at", "x=0:1:4", "--limit", "points=3"], "points", "4 points")
    limit_error(["grad", "((((((x))))))", "--at", "x=1", "--limit", "depth=5"], "depth", "deeper than 5 levels")
    # The whole expression is a level too: x is 1 deep, (x) 2, so depth=5 takes four parentheses.
    assert ok("grad", "((((x))))", "--at", "x=1", "--limit", "depth=5")["value"] == 1.0
    limit_error(["grad", "x+x+x", "--at", "x=1", "--limit", "length=4"], "length", "5 characters long",
                "the limit is 4", "--limit length=5")
    assert ok("grad", "x+x+x", "--at", "x=1", "--limit", "length=5")["value"] == 3.0
    limit_error(["grad", "x", "--at", "x=1", "--order", "3", "--limit", "order=2"], "order",
                "--order asks for order 3; the limit is 2", "--limit order=3")
    assert ok("grad", "x^3", "--at", "x=1", "--order", "2", "--limit", "order=2")["gradient"]["x"]["autograd"] == 6.0
    limit_error(["grad", "1234*x", "--at", "x=1", "--limit", "integer-digits=3"], "integer-digits", "4 digits",
                "--limit integer-digits=4")
    assert ok("grad", "123*x", "--at", "x=1", "--limit", "integer-digits=3")["value"] == 123.0
    limit_error(["grad", "10^6*x", "--at", "x=1", "--limit", "exact-digits=5"], "exact-digits", "the limit is 5")
    assert ok("grad", "10^5*x", "--at", "x=1", "--limit", "exact-digits=5")["value"] == 1e5


def test_grad_lowered_points_also_bound_expect():
    limit_error(["grad", "x", "--at", "x=[1,2,3]", "--expect", "x=[1,1,1,1]", "--limit", "points=3"], "points",
                "--expect 'x=[1,1,1,1]': 4 points is more than the limit of 3")


def test_grad_raised_limits():
    limit_error(["grad", "x", "--at", "x=1", "--order", "101"], "order")
    assert ok("grad", "x^2", "--at", "x=1", "--order", "101", "--limit", "order=101")["gradient"]["x"]["autograd"] == 0.0
    deep = "(" * 120 + "x" + ")" * 120
    assert ok("grad", deep, "--at", "x=2", "--limit", "depth=150")["value"] == 2.0
    assert ok("grad", "1" * 1001 + "*x", "--at", "x=1", "--limit", "integer-digits=1001", "--no-exact")["expression"].startswith("1" * 20)
    assert ok("grad", "x" + "+x" * 5000, "--at", "x=1", "--limit", "length=10001")["value"] == 5001.0


def test_exact_digits_cannot_be_raised_past_pythons_str_limit():
    # Python itself refuses to print an integer of more than 4300 digits, so
    # a higher limit would only move the failure: refused as a usage error.
    result, report = invoke_json("grad", "10^5000*x", "--at", "x=1", "--limit", "exact-digits=6000")
    assert result.exit_code == 2 and report["error"]["type"] == "usage_error"
    assert "at most 4300" in report["error"]["message"]
    # 4201 digits print; f and f′ overflow float64, which the exact witness reports (exit 1)
    assert ok("grad", "10^4200*x", "--at", "x=1", "--limit", "exact-digits=4300", "--no-exact")["value"] == "inf"


def test_repeated_limit_options_the_last_wins_and_several_combine():
    assert ok("grad", "x", "--at", "x=[1,2,3]", "--limit", "points=2", "--limit", "points=3")["value"] == [1.0, 2.0, 3.0]
    args = ["grad", "x+x+x", "--at", "x=[1,2,3]", "--limit", "points=3", "--limit", "length=4"]
    limit_error(args, "length")
    assert ok("grad", "x+x+x", "--at", "x=[1,2,3]", "--limit", "points=3", "--limit", "length=5")["value"] == [3.0, 6.0, 9.0]


def test_partial_lowered_limits():
    limit_error(["partial", "x^3", "--at", "x=1", "--wrt", "x,x,x", "--limit", "order=2"], "order",
                "--wrt asks for order 3; the limit is 2", "--limit order=3")
    assert ok("partial", "x^3", "--at", "x=1", "--wrt", "x,x", "--limit", "order=2")["partial"]["autograd"] == 6.0
    limit_error(["partial", "x*y", "--at", "x=[1,2,3,4],y=1", "--wrt", "x", "--limit", "points=3"], "points")
    assert ok("partial", "x*y", "--at", "x=[1,2,3],y=2", "--wrt", "x", "--limit", "points=3")["partial"]["autograd"] == [2.0] * 3
    limit_error(["partial", "((x))*y", "--at", "x=1,y=1", "--wrt", "x", "--limit", "depth=1"], "depth")


def test_hessian_lowered_limits():
    limit_error(["hessian", "x*y", "--at", "x=1,y=2", "--limit", "matrix-entries=3"], "matrix-entries",
                "the matrix would have 4 entries, more than the limit of 3", "choose fewer variables with --wrt",
                "--limit matrix-entries=4")
    assert ok("hessian", "x*y", "--at", "x=1,y=2", "--limit", "matrix-entries=4")["hessian"]["autograd"] == [[0.0, 1.0], [1.0, 0.0]]
    # Fewer columns with --wrt fit under the same limit, as the message advises.
    assert ok("hessian", "x*y", "--at", "x=1,y=2", "--wrt", "x", "--limit", "matrix-entries=3")["hessian"]["autograd"] == [[0.0]]
    limit_error(["hessian", "x*y", "--at", "x=[1,2],y=2", "--limit", "matrix-values=7"], "matrix-values",
                "4 entries at 2 points are 8 numbers, more than the limit of 7", "--limit matrix-values=8")
    ok("hessian", "x*y", "--at", "x=[1,2],y=2", "--limit", "matrix-values=8")
    limit_error(["hessian", "x*y", "--at", "x=[1,2,3,4],y=2", "--limit", "points=3"], "points")


def test_jacobian_lowered_limits():
    limit_error(["jacobian", "[x*y, x+y]", "--at", "x=1,y=2", "--limit", "matrix-entries=3"], "matrix-entries",
                "4 entries", "--limit matrix-entries=4")
    report = ok("jacobian", "[x*y, x+y]", "--at", "x=1,y=2", "--limit", "matrix-entries=4")
    assert report["jacobian"]["autograd"] == [[2.0, 1.0], [1.0, 1.0]]
    limit_error(["jacobian", "[x*y, x+y]", "--at", "x=[1,2],y=2", "--limit", "matrix-values=7"], "matrix-values",
                "8 numbers")
    limit_error(["jacobian", "[x*y, x+y]", "--at", "x=1,y=2", "--limit", "length=5"], "length")
    limit_error(["jacobian", "[x, 123*y]", "--at", "x=1,y=2", "--limit", "integer-digits=2"], "integer-digits")


def test_plot_lowered_limits():
    limit_error(["plot", "sin(x)", "--points", "4", "--limit", "points=3"], "points",
                "--points 4 is more than the limit of 3", "--limit points=4")
    assert ok("plot", "sin(x)", "--points", "3", "--limit", "points=3")["points"] == 3
    limit_error(["plot", "sin(x)", "--limit", "length=5"], "length", "6 characters long")
    limit_error(["plot", "sin((x))", "--limit", "depth=1"], "depth")


def test_graph_lowered_limits():
    limit_error(["graph", "x+x+x", "--at", "x=1", "--limit", "length=4"], "length", "--limit length=5")
    limit_error(["graph", "x", "--at", "x=[1,2,3,4]", "--limit", "points=3"], "points", "4 points")
    assert ok("graph", "x", "--at", "x=[1,2,3]", "--limit", "points=3")["value"] == [1.0, 2.0, 3.0]
    limit_error(["graph", "((x))", "--at", "x=1", "--limit", "depth=1"], "depth")
    assert ok("graph", "((x))", "--at", "x=1", "--limit", "depth=3")["value"] == 1.0


CASES = """\
[[case]]
name = "small"
expr = "x^2"
at = { x = 3 }
grad = { x = 6 }

[[case]]
name = "deep"
expr = "((((x))))"
at = { x = 3 }
grad = { x = 1 }

[[case]]
name = "vector"
expr = "x^2"
at = { x = [1, 2, 3, 4] }
grad = { x = [2, 4, 6, 8] }

[[case]]
name = "third"
expr = "x^3"
at = { x = 1 }
order = 3
grad = { x = 6 }

[[case]]
name = "matrix"
expr = "x*y"
at = { x = 1, y = 2 }
hessian = [[0, 1], [1, 0]]
"""


@pytest.fixture(scope="module")
def cases_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("limits") / "limits.toml"
    path.write_text(CASES, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "limit, failing, fragment",
    [
        ("depth=3", "deep", "nests deeper than 3 levels"),
        ("length=4", "deep", "9 characters long; the limit is 4"),
        ("points=3", "vector", "4 points is more than the limit of 3"),
        ("order=2", "third", "--order asks for order 3; the limit is 2"),
        ("matrix-entries=3", "matrix", "4 entries, more than the limit of 3"),
    ],
)
def test_check_fails_only_the_case_beyond_a_lowered_limit(cases_file, limit, failing, fragment):
    result = invoke("check", cases_file, "--limit", limit, "--json")
    assert result.exit_code == 1, result.stdout
    report = strict_loads(result.stdout)
    assert (report["passed"], report["failed"], report["errors"]) == (4, 1, 0)
    outcomes = {case["name"]: case["outcome"] for case in report["cases"]}
    assert outcomes == {name: "failed" if name == failing else "passed" for name in outcomes}
    (case,) = [case for case in report["cases"] if case["name"] == failing]
    (failure,) = case["failures"]
    assert failure["reason"] == "limit_exceeded"
    assert fragment in failure["message"]
    assert f"--limit {limit.split('=')[0]}=" in failure["message"]


def test_check_human_view_shows_the_limit_message(cases_file):
    result = invoke("check", cases_file, "--limit", "order=2")
    assert result.exit_code == 1
    assert "✗ third" in result.stdout
    assert "--order asks for order 3; the limit is 2 (raise it with --limit order=3)" in result.stdout
    assert "4 passed, 1 failed" in result.stdout


def test_check_python_api_takes_limits(cases_file):
    report = autodiff.check(cases_file, limits={"points": 3})
    assert [case.outcome for case in report.results] == ["passed", "passed", "failed", "passed", "passed"]


# -- bad --limit values ---------------------------------------------------------------------------

def command_args(command: str, tmp_path) -> list[str]:
    if command == "check":
        path = tmp_path / "one.toml"
        path.write_text(CASES.split("\n\n")[0] + "\n", encoding="utf-8")
        return ["check", str(path)]
    return {
        "grad": ["grad", "x", "--at", "x=1"],
        "partial": ["partial", "x", "--at", "x=1"],
        "hessian": ["hessian", "x*y", "--at", "x=1,y=1"],
        "jacobian": ["jacobian", "[x, y]", "--at", "x=1,y=1"],
        "plot": ["plot", "sin(x)", "--points", "3"],
        "graph": ["graph", "x", "--at", "x=1"],
    }[command]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_refuses_a_bad_limit_and_accepts_a_good_one(command, tmp_path):
    args = command_args(command, tmp_path)
    message = usage_error(*args, "--limit", "point=3")
    assert "--limit has no limit 'point'; did you mean points?" in message
    assert ", ".join(NAMES) in message
    assert invoke(*args, "--limit", "points=1e3", "--json").exit_code == 0


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("point=3", "no limit 'point'; did you mean points?"),
        ("speed=3", "--limit has no limit 'speed'; names: length"),
        ("points", "--limit takes NAME=VALUE, not 'points'"),
        ("points=abc", "--limit points must be a number, not 'abc'"),
        ("points=", "--limit points must be a number, not ''"),
        ("points=0", "--limit points must be a positive finite number, not '0'"),
        ("points=-5", "must be a positive finite number, not '-5'"),
        ("points=inf", "must be a positive finite number, not 'inf'"),
        ("points=nan", "must be a positive finite number, not 'nan'"),
        ("points=2.5", "--limit points must be a whole number, not '2.5'"),
        ("order=1.5", "--limit order must be a whole number"),
        ("build-seconds=0", "--limit build-seconds must be a positive finite number"),
        ("autograd-seconds=-1", "--limit autograd-seconds must be a positive finite number"),
        ("memory=lots", "--limit memory must be a number (with K, M, G or T), not 'lots'"),
        ("memory=8X", "(with K, M, G or T)"),
        ("memory=0G", "must be a positive finite number"),
    ],
)
def test_bad_limit_values_are_usage_errors(text, fragment):
    message = usage_error("grad", "x", "--at", "x=1", "--limit", text)
    assert fragment in message
    with pytest.raises(UsageError, match=re.escape(fragment)):
        as_limits([text])


def test_limit_values_that_parse():
    assert as_limits(["points=1e8"]).max_points == 10**8
    assert as_limits([" points = 7 "]).max_points == 7
    assert as_limits(["build-seconds=0.5"]).max_build_seconds == 0.5
    assert as_limits({"autograd-seconds": 2.5}).max_autograd_seconds == 2.5
    assert as_limits(["graph-nodes=2e6"]).max_graph_nodes == 2_000_000
    assert as_limits({"matrix_entries": 9}).max_matrix_entries == 9  # underscores read as hyphens
    assert as_limits(None) is DEFAULT_LIMITS
    assert as_limits("order=3").max_order == 3
    limits = as_limits({"points": 3})
    assert limits == Limits(max_points=3)
    assert isinstance(limits.max_points, int)


@pytest.mark.parametrize(
    "text, size",
    [
        ("8G", 8 * 2**30), ("8g", 8 * 2**30), ("512M", 512 * 2**20), ("1.5G", 3 * 2**29), ("100KiB", 100 * 1024),
        ("100kb", 100 * 1024), ("2T", 2 * 2**40), ("2048", 2048), ("1e3", 1000), ("2.5K", 2560), ("64 M", 64 * 2**20),
    ],
)
def test_memory_sizes_parse_to_bytes(text, size):
    assert as_limits([f"memory={text}"]).max_memory == size
    assert as_limits({"memory": text}).max_memory == size
    assert as_limits([f"memory={text}"]).memory() == size


def test_memory_default_is_half_the_available_memory(monkeypatch):
    import autodiff.limits as limits

    monkeypatch.setattr(limits, "available_memory", lambda: 10 * 2**30)
    assert Limits().memory() == 5 * 2**30
    monkeypatch.setattr(limits, "available_memory", lambda: None)
    assert Limits().memory() is None
    assert Limits(max_memory=123).memory() == 123


# -- the Python API ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "limits", [{"points": 3}, ["points=3"], "points=3", Limits(max_points=3), {"points": "3"}],
    ids=["mapping", "texts", "text", "Limits", "mapping-of-text"],
)
def test_python_api_takes_limits_in_every_form(limits):
    with pytest.raises(LimitError, match=re.escape("4 points is more than the limit of 3 (raise it with --limit points=4)")):
        autodiff.grad("x^2", at={"x": [1, 2, 3, 4]}, limits=limits)
    result = autodiff.grad("x^2", at={"x": [1, 2, 3]}, limits=limits)
    assert result.gradient["x"].autograd == [2.0, 4.0, 6.0]


def test_python_api_limits_for_every_function():
    tight = {"order": 2, "matrix-entries": 3, "points": 3, "length": 20}
    with pytest.raises(LimitError, match="--limit order="):
        api.grad("x^3", at={"x": 1}, order=3, limits=tight)
    with pytest.raises(LimitError, match="--limit order="):
        api.partial("x^3", at={"x": 1}, wrt=["x", "x", "x"], limits=tight)
    with pytest.raises(LimitError, match="--limit matrix-entries=4"):
        api.hessian("x*y", at={"x": 1, "y": 2}, limits=tight)
    with pytest.raises(LimitError, match="--limit matrix-entries=4"):
        api.jacobian(["x*y", "x+y"], at={"x": 1, "y": 2}, limits=tight)
    with pytest.raises(LimitError, match="--limit points=4"):
        api.plot("sin(x)", points=4, limits=tight)
    with pytest.raises(LimitError, match="--limit length=21"):
        api.graph("x" + "+x" * 10, at={"x": 1}, limits=tight)
    with pytest.raises(UsageError, match="did you mean points"):
        api.grad("x", at={"x": 1}, limits={"point": 3})
    assert api.grad("x^3", at={"x": 1}, order=2, limits=tight).gradient["x"].autograd == 6.0


def test_limit_errors_are_exit_2_autodiff_errors():
    with pytest.raises(LimitError) as caught:
        api.grad("x", at={"x": [1, 2]}, limits={"points": 1})
    assert caught.value.exit_code == 2
    assert caught.value.to_json()["error"]["type"] == "limit_exceeded"


# -- suggested values round up ----------------------------------------------------------------------

UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def hint_value(size) -> str:
    text = raise_hint("memory", size)
    assert text.startswith("raise it with --limit memory=")
    return text.split("=", 1)[1]


def numeric(value: str) -> float:
    unit = value[-1] if value[-1] in "KMGT" else ""
    return float(value[: len(value) - len(unit)]) * UNITS[unit]


SIZES = [1, 2, 999, 1023, 1024, 1025, 1536, 2047, 25856, 10**6, 2**20 + 1, 2**30 - 1, 2**30 + 1, 1.5 * 2**30 + 1,
         5 * 2**40 + 1, 999.95 * 2**40, 0.5, 1023.5]


@pytest.mark.parametrize("size", SIZES)
def test_memory_suggestions_never_fall_short(size):
    value = hint_value(size)
    assert numeric(value) >= size, value
    assert numeric(value) <= max(size * 1.1, size + 1), value  # and not wastefully more (within a tenth of a unit)
    human = bytes_text(size)
    number, unit = human.split()
    assert float(number) * {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}[unit] >= size, human


@pytest.mark.parametrize(
    "size, human, hint",
    [
        (1023, "1023 bytes", "1023"), (1024, "1 KiB", "1K"), (1025, "1.1 KiB", "1.1K"), (25600, "25 KiB", "25K"),
        (25856, "25.3 KiB", "25.3K"), (3 * 2**29, "1.5 GiB", "1.5G"), (2**30 + 1, "1.1 GiB", "1.1G"),
        (8 * 2**40, "8 TiB", "8T"),
    ],
)
def test_bytes_text_exact(size, human, hint):
    assert bytes_text(size) == human
    assert hint_value(size) == hint


def test_huge_memory_suggestions_never_fall_short():
    size = 123456.01 * 2**40
    assert numeric(hint_value(size)) >= size


@pytest.mark.parametrize("size", [1025, 10**6, 2**30 + 1])
def test_memory_suggestions_are_accepted_by_limit(size):
    assert as_limits([f"memory={hint_value(size)}"]).max_memory >= size


def test_other_hints_carry_the_value_needed():
    assert raise_hint("points") == "raise it with --limit points=N"
    assert raise_hint("points", 10**12) == "raise it with --limit points=1000000000000"
    assert raise_hint("order", 21) == "raise it with --limit order=21"
    for name in NAMES:
        assert f"--limit {name}=" in raise_hint(name)


# -- --help -----------------------------------------------------------------------------------------

def help_text(command: str) -> str:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stdout).split())


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command_lists_limit(command):
    text = help_text(command)
    assert "--limit NAME=VALUE" in text
    assert "points=1e8" in text and "memory=8G" in text


@pytest.mark.parametrize("command", ["functions", "completion"])
def test_commands_without_limits_do_not_list_it(command):
    assert "--limit" not in help_text(command)


def test_help_names_every_limit():
    for command in COMMANDS:
        text = help_text(command)
        missing = [name for name in NAMES if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)]
        assert not missing, (command, missing)


def test_the_growth_of_counted_nodes_predicts_the_orders_to_come():
    """Budget's decisions from counts alone: the next order only, while an
    order records fewer than 1,000 nodes; every order to come, at the smaller
    of the last two growths, from then on."""
    from autodiff.engine.calculus import Budget
    from autodiff.errors import LimitError

    early = Budget(nodes=10_000)
    for done, count in enumerate([10, 100, 900], start=1):  # ×10, ×9: 900 × 9 = 8,100 next
        early.step(count, done, 20)
    assert early.recorded == 1_010
    steady = Budget(nodes=2_000_000)
    for done, count in enumerate([100, 300, 1_200], start=1):  # ×3, ×4: predicted at ×3
        steady.step(count, done, 10)
    assert steady.predict(6) == (sum(1_200 * 3**k for k in range(1, 7)), 3.0, 6)  # 1,310,400: under the limit
    with pytest.raises(LimitError) as caught:
        steady.step(7_200, 4, 10)  # ×6: orders 5 to 9 predicted at ×4, the smaller growth
    assert str(caught.value) == (
        "autograd's derivative of order 10 would record about 9,900,000 graph nodes (counted: 8,800 by order 4, which "
        "recorded 7,200, 6× as many as order 3; predicted: orders 5 to 9 at ×4 each): more than the limit of 2,000,000 "
        "graph nodes; lower the order, or raise it with --limit graph-nodes=930000000 (an upper estimate: the growth "
        "per order rising to ×15 by order 9)"
    )
    counted = Budget(nodes=1_000)
    counted.step(400, 1, 3)
    with pytest.raises(LimitError, match=r"order 3 has recorded 1,100 graph nodes \(counted: 1,100 by order 2, which recorded 700, 1.8× as many as order 1\): "):
        counted.step(700, 2, 3)  # the last order records nothing: nothing predicted, counted alone
    flat = Budget(nodes=1_000)
    for done in range(1, 20):
        flat.step(3, done, 20)  # x^5 and the like: no growth, never refused
    assert flat.recorded == 57


def test_exact_operations_bounds_the_exact_witness_and_says_so():
    args = ("grad", "sin(x)*exp(x)", "--at", "x=0:1:5000", "--limit", "exact-operations=20000")
    result, report = invoke_json(*args)
    assert result.exit_code == 0
    (warning,) = [w for w in report["warnings"] if "exact witness checked" in w]
    checked = int(re.search(r"checked (\d+) of 5000 points within its 20,000 ball operations", warning).group(1))
    assert 0 < checked < 5000 and "--limit exact-operations=" in warning
    exact = report["gradient"]["x"]["exact"]
    assert sum(e is not None for e in exact) == checked and exact[-1] is None
    assert report["gradient"]["x"]["agree"] is True  # symbolic and finite differences decided the rest
    # Counted, not timed: the same points every run.
    assert invoke_json(*args)[1]["warnings"] == report["warnings"]


def test_exact_bits_caps_the_precision_and_says_so():
    # (1 - cos(x))/x^2 at 1e-30 cancels about 200 bits: 128 bits are not enough.
    result, report = invoke_json("grad", "(1-cos(x))/x^2", "--at", "x=1e-30", "--limit", "exact-bits=128")
    assert report["gradient"]["x"]["exact"] is None
    assert any("within 128 bits" in w and "--limit exact-bits=" in w for w in report["warnings"])
    result, report = invoke_json("grad", "(1-cos(x))/x^2", "--at", "x=1e-30")
    assert result.exit_code == 1 and report["value_exact"] == "5.0000000000000000e-01"
