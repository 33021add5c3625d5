"""The `verify` and `taylor` kinds of a case file for `autodiff check`.

Pinned here: a right claimed derivative passes and a wrong one fails with
the largest error, where, and the values there; Taylor coefficients
compared with `expect` (a list for one variable, a table keyed by monomial
for several), a wrong one failing with its index and both values;
malformed tables refused (exit 2) with one line naming the file, the case
and the key; -k, --junit, --json, --shard and --jobs for the new kinds; and
run_case, the Python entry point, giving the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import invoke, invoke_json
from test_check import validate_junit

import autodiff.commands.cases as cases
from autodiff.commands.case_files import cases_in, monomial_powers, taylor_order
from autodiff.limits import as_limits

KINDS = """\
[[case]]
name = "verify sin squared"
expr = "sin(x)^2"
verify = { derivative = "2*sin(x)*cos(x)", range = { x = [-3, 3] } }

[[case]]
name = "verify wrong"
expr = "sin(x)^2"
verify = { derivative = "2*sin(x)", range = { x = [-3, 3] }, points = 7 }

[[case]]
name = "taylor exp"
expr = "exp(x)"
at = { x = 0 }
taylor = { order = 4, expect = [1, 1, 0.5, 0.16666666666666666, 0.041666666666666664] }

[[case]]
name = "taylor wrong"
expr = "exp(x)"
at = { x = 0 }
taylor = { expect = [1, 1, 0.5, 0.2] }
"""

VERIFY_WRONG = (
    "f′: the claimed derivative 2*sin(x) is wrong at 6 of 7 points, x from -3 to 3; largest error |D − f′| = "
    "2.575397349 at x = -2 (claimed -1.818594854, autograd 0.7568024953, exact 0.7568024953)"
)
TAYLOR_WRONG = "c3, the coefficient of x^3: expected 0.2, got 0.1666666667 (SymPy 1/6)"




# --- the report ---------------------------------------------------------------


def test_verify_and_taylor_cases_pass_and_fail_with_readable_lines(write):
    write("kinds.toml", KINDS)
    result = invoke("check", "kinds.toml", env={"COLUMNS": "300"})  # each failure line whole
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "✓ verify sin squared",
        "✗ verify wrong",
        "✓ taylor exp",
        "✗ taylor wrong",
        "",
        "✗ verify wrong (kinds.toml, case 2)",
        "  sin(x)^2",  # no point: the range is in the failure line
        f"  {VERIFY_WRONG}",
        "",
        "✗ taylor wrong (kinds.toml, case 4)",
        "  exp(x) at x = 0",
        f"  {TAYLOR_WRONG}",
        "",
        "2 passed, 2 failed",
    ]


def test_the_passing_kinds_exit_0(write):
    write("kinds.toml", KINDS)
    result = invoke("check", "kinds.toml", "-k", "sin squared", "-k", "taylor exp")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["✓ verify sin squared", "✓ taylor exp", "2 passed, 0 failed, 2 deselected"]


def test_json_failures_carry_the_values(write):
    write("kinds.toml", KINDS)
    result, report = invoke_json("check", "kinds.toml")
    assert result.exit_code == 1
    assert [(case["name"], case["outcome"]) for case in report["cases"]] == [
        ("verify sin squared", "passed"), ("verify wrong", "failed"), ("taylor exp", "passed"), ("taylor wrong", "failed"),
    ]
    assert [[r["command"] for r in case["results"]] for case in report["cases"]] == [["verify"], ["verify"], ["taylor"], ["taylor"]]
    passing = report["cases"][0]["results"][0]
    assert passing["right"] is True and passing["wrong_count"] == 0 and passing["points"] == 401

    [wrong] = report["cases"][1]["failures"]
    assert wrong["what"] == "f′" and wrong["reason"] == "wrong"
    assert wrong["message"] == VERIFY_WRONG
    assert wrong["derivative"] == "2*sin(x)"
    assert (wrong["wrong_count"], wrong["compared"]) == (6, 7)
    assert wrong["max_error_at"] == {"x": -2.0} and wrong["at"] == {"x": -2.0}
    assert wrong["max_error"] == pytest.approx(2.575397348959292, rel=1e-12)
    assert wrong["claimed"] == pytest.approx(-1.8185948536513634, rel=1e-12)
    assert wrong["autograd"] == pytest.approx(0.7568024953079283, rel=1e-12) == wrong["expected"]
    assert wrong["exact"] == "7.5680249530792825e-01"

    [coefficient] = report["cases"][3]["failures"]
    assert coefficient == {
        "what": "c3", "reason": "expected",
        "message": "c3, the coefficient of x**3: expected 0.2, got 0.1666666667 (SymPy 1/6)",
        "expected": 0.2, "powers": {"x": 3}, "monomial": "x**3", "coefficient": 0.16666666666666666,
        "autograd": 0.16666666666666666, "symbolic": "1/6", "exact": "1.6666666666666667e-01",
    }
    assert report["summary"] == "2 passed, 2 failed"


def test_select_junit_shard_and_jobs_for_the_new_kinds(write, ran):
    write("kinds.toml", KINDS)
    result = invoke("check", "kinds.toml", "-k", "wrong", "--junit", "report.xml")
    assert result.exit_code == 1
    assert ran == ["verify wrong", "taylor wrong"]
    assert result.stdout.splitlines()[-1] == "0 passed, 2 failed, 2 deselected"
    root = validate_junit(Path("report.xml").read_text(encoding="utf-8"))
    [suite] = list(root)
    assert [(t.attrib["classname"], t.attrib["name"]) for t in suite] == [("kinds", "verify wrong"), ("kinds", "taylor wrong")]
    failures = [t.find("failure") for t in suite]
    assert [f.attrib["type"] for f in failures] == ["wrong", "expected"]
    assert failures[0].attrib["message"] == VERIFY_WRONG
    assert failures[0].text == f"sin(x)**2\n{VERIFY_WRONG}"  # machine form, as JUnit gives every case; no " at "
    assert failures[1].text == "exp(x) at x = 0\n" + TAYLOR_WRONG.replace("x^3", "x**3")

    shard = invoke("check", "kinds.toml", "--shard", "2/2", "--jobs", "2")
    assert shard.stdout.splitlines()[:2] == ["✗ verify wrong", "✗ taylor wrong"]
    assert shard.stdout.splitlines()[-1] == "0 passed, 2 failed, 2 deselected (shard 2/2)"


# --- verify -------------------------------------------------------------------


def test_verify_cases_of_every_shape(write):
    write("verify.toml", """\
        [[case]]
        name = "the default range"
        expr = "log(x)"
        verify = { derivative = "1/x" }

        [[case]]
        name = "constant bounds, a second derivative"
        expr = "tan(x)"
        verify = { derivative = "2*tan(x)*(1 + tan(x)^2)", order = 2, range = { x = ["-pi/4", "pi/4"] }, points = 9 }

        [[case]]
        name = "wrt with a vector at"
        expr = "x*y^2"
        at = { x = 2, y = [1, 2, 3] }
        verify = { derivative = "2*x*y", wrt = "y" }

        [[case]]
        name = "the range names the variable"
        expr = "x*y^2"
        at = { x = 2 }
        verify = { derivative = "x*2*y", range = { y = [0, 1] }, points = 3 }

        [[case]]
        name = "disproved"
        expr = "x^2"
        verify = { derivative = "2*x + 1e-12", range = { x = [1, 2] } }

        [[case]]
        name = "verify beside grad"
        expr = "x^2"
        at = { x = 3 }
        verify = { derivative = "2*x" }
        grad = { x = 7 }
        """)
    result, report = invoke_json("check", "verify.toml")
    assert result.exit_code == 1
    outcomes = {case["name"]: case["outcome"] for case in report["cases"]}
    assert outcomes == {
        "the default range": "passed", "constant bounds, a second derivative": "passed",
        "wrt with a vector at": "passed", "the range names the variable": "passed",
        "disproved": "failed", "verify beside grad": "failed",
    }
    by_name = {case["name"]: case for case in report["cases"]}
    second = by_name["constant bounds, a second derivative"]["results"][0]
    assert (second["order"], second["points"], second["proof"]) == (2, 9, "proved")
    vector = by_name["wrt with a vector at"]["results"][0]
    assert (vector["variable"], vector["points"]) == ("y", 3)
    assert by_name["the range names the variable"]["results"][0]["variable"] == "y"
    [disproved] = by_name["disproved"]["failures"]
    assert (disproved["reason"], disproved["message"]) == ("disproved", "f′: SymPy: D − f′ simplifies to 1e-12, not 0")
    beside = by_name["verify beside grad"]
    assert [r["command"] for r in beside["results"]] == ["verify", "grad"]
    assert [(f["what"], f["reason"]) for f in beside["failures"]] == [("∂f/∂x", "expected")]


def test_a_verify_case_without_at_runs_no_grad(write):
    write("v.toml", """\
        [[case]]
        expr = "x^3"
        verify = { derivative = "3*x^2", range = { x = [0, 1] }, points = 2 }
        """)
    [case] = cases_in(Path("v.toml").read_text(encoding="utf-8"), "v.toml")
    assert case.point == {}
    result = cases.run_case(case, {"dtype": "float64", "symbolic_timeout": 5.0, "exact": True, "limits": as_limits(None)})
    assert isinstance(result, cases.CaseResult)
    assert result.outcome == "passed" and result.failures == []
    assert [report.command for report in result.reports] == ["verify"]
    assert result.reports[0].right is True and result.reports[0].points == 2
    assert result.expression == "x**3"


# --- taylor -------------------------------------------------------------------


def test_taylor_cases_of_every_shape(write):
    write("taylor.toml", """\
        [[case]]
        name = "two variables by monomial"
        expr = "sin(x)*y"
        at = { x = 0, y = 1 }
        taylor = { order = 3, expect = { "1" = 0, "x" = 1, "x*y" = 1, "x**3" = "-1/6", "y^2" = 0 } }

        [[case]]
        name = "a wrong monomial"
        expr = "sin(x)*y"
        at = { x = 0, y = 1 }
        taylor = { expect = { "x*y" = 2 } }

        [[case]]
        name = "a list for two variables"
        expr = "x*y"
        at = { x = 0, y = 0 }
        taylor = { expect = [0, 0, 1] }

        [[case]]
        name = "a variable not expanded"
        expr = "x*y"
        at = { x = 0, y = 0 }
        taylor = { expect = { "z^2" = 1 } }

        [[case]]
        name = "the limit of sin(x)/x, constant expressions"
        expr = "sin(x)/x"
        at = { x = 0 }
        taylor = { expect = ["1", 0, "-1/6"] }

        [[case]]
        name = "about 1"
        expr = "x^3"
        at = { x = 1 }
        taylor = { expect = [1, 3, 3, 1] }

        [[case]]
        name = "no expect: taylor's own verdict"
        expr = "exp(x)"
        at = { x = 0 }
        taylor = { order = 6 }

        [[case]]
        name = "the case's tolerance"
        expr = "exp(x)"
        at = { x = 0 }
        atol = 0.01
        taylor = { expect = [1, 1, 0.5, 0.17] }
        """)
    result, report = invoke_json("check", "taylor.toml")
    assert result.exit_code == 1
    by_name = {case["name"]: case for case in report["cases"]}
    assert {name: case["outcome"] for name, case in by_name.items()} == {
        "two variables by monomial": "passed", "a wrong monomial": "failed", "a list for two variables": "failed",
        "a variable not expanded": "failed", "the limit of sin(x)/x, constant expressions": "passed",
        "about 1": "passed", "no expect: taylor's own verdict": "passed", "the case's tolerance": "passed",
    }
    [wrong] = by_name["a wrong monomial"]["failures"]
    assert (wrong["what"], wrong["expected"], wrong["coefficient"], wrong["powers"]) == ("x*y", 2.0, 1.0, {"x": 1, "y": 1})
    assert wrong["message"] == "x*y, the coefficient of x*(y - 1): expected 2, got 1"
    assert by_name["a wrong monomial"]["results"][0]["order"] == 2  # the highest degree named
    [listed] = by_name["a list for two variables"]["failures"]
    assert listed["message"] == (
        "taylor.expect as a list gives the coefficients of one variable; this expansion is in x, y: key them by "
        "monomial, e.g. expect = { \"1\" = …, \"x*y\" = … }"
    )
    [unknown] = by_name["a variable not expanded"]["failures"]
    assert unknown["message"] == "taylor.expect 'z^2' names z, which is not a variable of the expansion (x, y)"
    assert by_name["no expect: taylor's own verdict"]["results"][0]["order"] == 6


def test_a_coefficient_its_judge_does_not_confirm_fails(write, monkeypatch):
    """taylor's own verdict: a term whose exact value disagrees with Taylor mode fails the case."""
    import autodiff.commands.taylor as taylor

    real = taylor._judge

    def judged_wrong(problem, terms, *args):
        fields = real(problem, terms, *args)
        terms[2].agree = False
        return fields

    monkeypatch.setattr(taylor, "_judge", judged_wrong)
    write("t.toml", """\
        [[case]]
        expr = "exp(x)"
        at = { x = 0 }
        taylor = { order = 2 }
        """)
    result, report = invoke_json("check", "t.toml")
    assert result.exit_code == 1
    [failure] = report["cases"][0]["failures"]
    assert (failure["what"], failure["reason"]) == ("c2", "disagree")
    assert failure["message"] == (
        "c2, the coefficient of x**2: Taylor mode 0.5, autograd 0.5, SymPy 1/2, exact 0.5 "
        "(Taylor mode and the exact value disagree)"
    )


def test_taylor_order_and_monomials():
    assert taylor_order({"order": 3, "expect": [1, 2, 3, 4]}) == 3
    assert taylor_order({"expect": [1, 2, 3]}) == 2
    assert taylor_order({"expect": {"x^2*y": 1, "y": 2}}) == 3
    assert taylor_order({}) == 4  # autodiff taylor's default
    assert monomial_powers("1") == {}
    assert monomial_powers("x^2*y") == {"x": 2, "y": 1}
    assert monomial_powers("x**2 * y") == {"x": 2, "y": 1}
    assert monomial_powers("x*x") == {"x": 2}
    for bad in ("2*x", "x^0", "x^", "", "x y", "x^-1"):
        assert monomial_powers(bad) is None, bad


# --- malformed tables -----------------------------------------------------------


MALFORMED = [
    ("taylor-typo", 'expr = "exp(x)"\nat = { x = 0 }\ntaylor = { ordr = 4 }',
     "case 1: taylor.ordr: unknown key; did you mean 'order'?"),
    ("taylor-no-at", 'expr = "exp(x)"\ntaylor = { order = 4 }',
     "case 1: missing key 'at': the point taylor expands about, a table of values, e.g. { x = 3, y = [1, 2] }"),
    ("taylor-count", 'expr = "exp(x)"\nat = { x = 0 }\ntaylor = { order = 4, expect = [1, 2] }',
     "case 1: taylor.expect: lists c0..cN, 5 values for order 4; got 2"),
    ("taylor-degree", 'expr = "exp(x)"\nat = { x = 0 }\ntaylor = { order = 2, expect = { "x^3" = 1 } }',
     "case 1: taylor.expect.'x^3': has degree 3, above the order 2"),
    ("taylor-monomial", 'expr = "exp(x)"\nat = { x = 0 }\ntaylor = { expect = { "2*x" = 1 } }',
     "case 1: taylor.expect.'2*x': expected a monomial such as \"x^2*y\", \"x\" or \"1\" (the constant term)"),
    ("taylor-value", 'expr = "exp(x)"\nat = { x = 0 }\ntaylor = { expect = [1, true] }',
     "case 1: taylor.expect[1]: expected a number or a constant expression, got the boolean true"),
    ("taylor-order", 'expr = "exp(x)"\nat = { x = 0 }\ntaylor = { order = -1 }',
     "case 1: taylor.order: expected a whole number ≥ 0: the highest degree, got the number -1"),
    ("taylor-vector", 'expr = "exp(x)"\nat = { x = [0, 1] }\ntaylor = { order = 2 }',
     "case 1: at.x: taylor expands about one point: give each variable one value, not a list"),
    ("top-order", 'expr = "exp(x)"\nat = { x = 0 }\norder = 3\ntaylor = { order = 2 }',
     "case 1: order: applies to grad only; a taylor case's order goes in its table (taylor = { order = 2 })"),
    ("verify-typo", 'expr = "sin(x)"\nverify = { derivativ = "cos(x)" }',
     "case 1: verify.derivativ: unknown key; did you mean 'derivative'?"),
    ("verify-missing", 'expr = "sin(x)"\nverify = { range = { x = [0, 1] } }',
     "case 1: verify: missing key 'derivative' (the claimed derivative: one expression string, as autodiff verify "
     "--derivative)"),
    ("verify-list", 'expr = "sin(x)"\nverify = { derivative = ["cos(x)"] }',
     "case 1: verify.derivative: expected the claimed derivative: one expression string, as autodiff verify "
     "--derivative, got a list"),
    ("verify-string", 'expr = "sin(x)"\nverify = "cos(x)"',
     "case 1: verify: expected a table { derivative = \"2*sin(x)*cos(x)\", range = { x = [-3, 3] } }, got the string "
     "'cos(x)'"),
    ("verify-down", 'expr = "sin(x)"\nverify = { derivative = "cos(x)", range = { x = [1, 0] } }',
     "case 1: verify.range.x: the range must go up: 1 is not below 0"),
    ("verify-bounds", 'expr = "sin(x)"\nverify = { derivative = "cos(x)", range = { x = [0] } }',
     "case 1: verify.range.x: expected [low, high], numbers or constant expressions, got a list"),
    ("verify-two", 'expr = "sin(x)"\nverify = { derivative = "cos(x)", range = { x = [0, 1], y = [0, 1] } }',
     "case 1: verify.range: names 2 variables; a range is over one"),
    ("verify-wrt", 'expr = "sin(x)*y"\nverify = { derivative = "cos(x)", wrt = "y", range = { x = [0, 1] } }',
     "case 1: verify.range: names x, but the derivative is by y (wrt)"),
    ("verify-both", 'expr = "sin(x)"\nat = { x = 1 }\nverify = { derivative = "cos(x)", range = { x = [0, 1] } }',
     "case 1: verify.range: x takes its values from the range or from at, not both"),
    ("verify-points", 'expr = "sin(x)"\nverify = { derivative = "cos(x)", points = 1 }',
     "case 1: verify.points: expected a whole number ≥ 2"),
    ("verify-grad-no-at", 'expr = "sin(x)"\nverify = { derivative = "cos(x)" }\ngrad = { x = 1 }',
     "case 1: missing key 'at': grad is checked at a point"),
    ("verify-jacobian", 'expr = ["sin(x)", "x"]\nat = { x = 0 }\njacobian = [[1], [1]]\nverify = { derivative = "cos(x)" }',
     "case 1: expr: a verify case takes one expression string, not a list"),
    ("kind-typo", 'expr = "exp(x)"\nat = { x = 0 }\ntaylr = { order = 2 }',
     "case 1: 'taylr': unknown key; did you mean 'taylor'?"),
]


@pytest.mark.parametrize(("text", "fragment"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_kind_is_exit_2_before_anything_runs(write, ran, text, fragment):
    write("bad.toml", "[[case]]\n" + text + "\n")
    result = invoke("check", "bad.toml")
    assert result.exit_code == 2
    assert result.stdout == "" and result.stderr.startswith("error: bad.toml: case 1: ")
    result, report = invoke_json("check", "bad.toml")  # the message unwrapped
    assert result.exit_code == 2
    assert report["error"]["type"] == "invalid_case_file"
    assert report["error"]["message"].startswith("bad.toml: " + fragment), report["error"]["message"]
    assert "\n" not in report["error"]["message"]
    assert ran == []


def test_more_coefficients_than_the_expansion_has_fail_the_case_and_name_both(write):
    """A constant's expansion has c0 alone: a second expected coefficient is
    never dropped unchecked."""
    write("constant.toml", """
        [[case]]
        expr = "5"
        at = {}
        taylor = { expect = [5, 0] }
        """)
    result, report = invoke_json("check", "constant.toml")
    assert result.exit_code == 1
    [failure] = report["cases"][0]["failures"]
    assert failure["message"] == "taylor.expect lists 2 coefficients; the expansion has 1 (c0 only)"


def test_a_verify_failure_past_the_listed_points_names_the_point_its_values_are_of(write):
    write("wide.toml", """
        [[case]]
        expr = "sin(x)^2"
        verify = { derivative = "2*sin(x)", range = { x = [-3, 3] } }
        """)
    result = invoke("check", "wide.toml", env={"COLUMNS": "400"})
    assert result.exit_code == 1
    assert ("largest error |D − f′| = 2.597994506 at x = -2.1 (the first wrong point, x = -3: claimed -0.2822400161, "
            "autograd 0.2794154982, exact 0.2794154982)") in result.stdout
