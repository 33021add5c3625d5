"""`autodiff check`: TOML case files run in one process, through the real CLI
(in process, with typer's CliRunner) and through `autodiff.check`.

What is pinned here: the seeds pass; wrong expectations fail with readable
diffs naming the expected, autograd, symbolic and finite-difference values;
malformed files are refused (exit 2) before any case runs, with a one-line
message naming the file, the case and the key; a bad expression fails only
its case; -k selection; skips; stdin; several files; tolerances; constant
expressions as strings; JUnit XML (validated strictly); JSON; and the
Python API agreeing with the CLI.

Case files are written into a temporary directory that is also the working
directory, so the file names in the output are short and exact.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import invoke, invoke_json, strict_loads, wrong_symbolic
from typer.testing import CliRunner

import autodiff
import autodiff.commands.cases as cases
from autodiff.presentation.junit import junit_xml
from autodiff.frontends.cli import app
from autodiff.points import is_vector

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SEEDS = Path(__file__).parent / "cases" / "seeds.toml"
SEED_CASES = tomllib.loads(SEEDS.read_text(encoding="utf-8"))["case"]


# --- helpers ------------------------------------------------------------------




def invoke_stdin(data, *args: str):
    """Like helpers.invoke, with `data` (str or bytes) on standard input."""
    return CliRunner().invoke(app, list(args), input=data, env={"COLUMNS": "100", "NO_COLOR": "1"})


def lines(result) -> list[str]:
    return result.stdout.splitlines()


def case_lines(result) -> list[str]:
    """The per-case lines at the top of the human view (✓, ✗, -, file
    headers): up to the first blank line, the closing count left out."""
    out = []
    for line in lines(result)[:-1]:
        if not line:
            break
        out.append(line)
    return out


def block(result, header: str) -> list[str]:
    """The failure block that starts with `header`, up to the blank line."""
    text = lines(result)
    start = text.index(header)
    end = text.index("", start)
    return text[start:end]


def without_seconds(value):
    if isinstance(value, dict):
        return {k: without_seconds(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [without_seconds(v) for v in value]
    return value


def close(actual, expected, rel=1e-9, abs_=1e-9) -> bool:
    if isinstance(expected, list):
        return is_vector(actual) and len(actual) == len(expected) and all(
            close(a, e, rel, abs_) for a, e in zip(actual, expected)
        )
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_)


# JUnit: the elements and attributes allowed, and those required.
# The attributes the common JUnit XSD (Jenkins' junit-10.xsd) allows: no
# `skipped` on <testsuites>, no `file` on <testcase>.
JUNIT = {
    "testsuites": ({"name", "tests", "failures", "errors", "time"}, {"tests", "failures", "errors", "time"}),
    "testsuite": ({"name", "tests", "failures", "errors", "skipped", "time"}, {"name", "tests", "failures", "errors", "time"}),
    "testcase": ({"classname", "name", "time"}, {"classname", "name", "time"}),
    "failure": ({"message", "type"}, {"message", "type"}),
    "error": ({"message", "type"}, {"message", "type"}),
    "skipped": ({"message"}, set()),
}


def _attributes(element: ET.Element) -> None:
    allowed, required = JUNIT[element.tag]
    assert set(element.attrib) <= allowed, (element.tag, element.attrib)
    assert required <= set(element.attrib), (element.tag, element.attrib)
    if "time" in element.attrib:
        assert float(element.attrib["time"]) >= 0
    for key in ("tests", "failures", "errors", "skipped"):
        if key in element.attrib:
            assert element.attrib[key].isdigit(), (element.tag, key, element.attrib[key])


def _blank(text) -> bool:
    return text is None or not text.strip()


def validate_junit(text: str) -> ET.Element:
    """Parse a JUnit report and check its structure strictly; return the root."""
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    _attributes(root)
    assert _blank(root.text)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in root:
        assert suite.tag == "testsuite"
        _attributes(suite)
        assert _blank(suite.text)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        time = 0.0
        for testcase in suite:
            assert testcase.tag == "testcase"
            _attributes(testcase)
            counts["tests"] += 1
            time += float(testcase.attrib["time"])
            children = list(testcase)
            assert len(children) <= 1, [c.tag for c in children]
            for child in children:
                assert child.tag in ("failure", "error", "skipped"), child.tag
                _attributes(child)
                assert list(child) == []
                counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[child.tag]] += 1
                if child.tag != "failure":
                    assert _blank(child.text)
        for key, count in counts.items():
            assert int(suite.attrib.get(key, "0")) == count, (suite.attrib, counts)
            totals[key] += count
        assert math.isclose(float(suite.attrib["time"]), time, abs_tol=1e-5 * (counts["tests"] + 1))
    for key, count in totals.items():
        if key != "skipped":  # <testsuites> carries no skipped count
            assert int(root.attrib[key]) == count, (root.attrib, totals)
    return root


def outcome_of(testcase: ET.Element) -> str:
    children = list(testcase)
    return {"failure": "failed", "error": "error", "skipped": "skipped"}[children[0].tag] if children else "passed"


WRONG = """\
[[case]]
# The tutorial's wrong answer: 3x^2 + 4x + 3 at 2 is 23.
name = "tutorial 17"
expr = "x**3 + 2*x**2 + 3*x + 4"
at = { x = 2 }
grad = { x = 17 }

[[case]]
name = "wrong value"
expr = "x^2"
at = { x = 3 }
value = 10
grad = { x = 6 }

[[case]]
name = "wrong partial"
expr = "u^3 + v^2 + 4*u*v"
at = { u = 3, v = 4 }
partial = { wrt = ["u", "v"], expect = 5 }

[[case]]
# The Hessian of x^2 y at (1, 2) is [[4, 2], [2, 0]]: only H[y,y] is wrong.
name = "wrong hessian"
expr = "x^2*y"
at = { x = 1, y = 2 }
hessian = [[4, 2], [2, 1]]

[[case]]
# The Jacobian of (xy, x + y) at (2, 3) is [[3, 2], [1, 1]]: only the last entry is wrong.
name = "wrong jacobian"
expr = ["x*y", "x+y"]
at = { x = 2, y = 3 }
jacobian = [[3, 2], [1, 2]]

[[case]]
name = "wrong vector entry"
expr = "x^2"
at = { x = [1, 2, 3] }
grad = { x = [2, 4, 7] }

[[case]]
name = "right"
expr = "x^2"
at = { x = 3 }
value = 9
grad = { x = 6 }
"""

WRONG_NAMES = ["tutorial 17", "wrong value", "wrong partial", "wrong hessian", "wrong jacobian", "wrong vector entry"]


# --- 1. the seeds pass ---------------------------------------------------------


def test_the_seeds_pass_in_the_human_view(ran):
    result = invoke("check", str(SEEDS))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert lines(result)[-1] == "16 passed, 0 failed"
    assert case_lines(result) == [f"✓ {case['name']}" for case in SEED_CASES]
    assert sum(line.startswith("✓ ") for line in lines(result)) == 16
    assert not any(line.startswith(("✗", "- ")) for line in lines(result))
    assert ran == [case["name"] for case in SEED_CASES]


def test_the_seeds_pass_in_the_json_view():
    result, report = invoke_json("check", str(SEEDS))
    assert result.exit_code == 0
    assert report["command"] == "check"
    assert report["files"] == [str(SEEDS)]
    assert (report["passed"], report["failed"], report["skipped"], report["errors"], report["deselected"]) == (16, 0, 0, 0, 0)
    assert report["summary"] == "16 passed, 0 failed"
    assert len(report["cases"]) == 16
    assert isinstance(report["seconds"], float) and report["seconds"] >= 0
    assert sum(c["seconds"] for c in report["cases"]) <= report["seconds"] + 1e-3
    for index, (case, seed) in enumerate(zip(report["cases"], SEED_CASES), start=1):
        assert set(case) == {"file", "index", "name", "expression", "outcome", "seconds", "failures", "results"}
        assert (case["file"], case["index"], case["name"]) == (str(SEEDS), index, seed["name"])
        assert case["outcome"] == "passed" and case["failures"] == []
        assert len(case["results"]) == 1
        run = case["results"][0]
        assert run["command"] == ("partial" if "partial" in seed else "grad")
        assert run["expression"] == case["expression"]
        assert run["agree"] is True and run["checked_by"] == "exact" and run["expect_met"] is True
        if "value" in seed:
            assert close(run["value"], seed["value"])
        if "partial" in seed:
            entries = [(run["partial"], seed["partial"]["expect"])]
        else:
            assert run["order"] == seed.get("order", 1)
            entries = [(run["gradient"][name], expected) for name, expected in seed["grad"].items()]
        for entry, expected in entries:
            assert entry["agree"] is True and entry["expect_met"] is True
            assert close(entry["autograd"], expected)
            assert close(entry["symbolic_value"], expected)
            assert close(entry["numeric"], expected, rel=1e-6, abs_=1e-6)
            assert close(entry["expected"], expected)


def test_the_seeds_correct_the_tutorials_wrong_answers():
    _, report = invoke_json("check", str(SEEDS), "-k", "x^3 + 2x^2")
    by_name = {c["name"]: c["results"][0]["gradient"]["x"]["autograd"] for c in report["cases"]}
    assert by_name == {
        "first derivative of x^3 + 2x^2 + 3x + 4 at x = 2": 23.0,  # the tutorial prints 17
        "second derivative of x^3 + 2x^2 + 3x + 4 at x = 2": 16.0,  # the tutorial prints 10
    }


# --- 2. wrong expectations fail with readable diffs ------------------------------


def test_wrong_expectations_fail_with_readable_diffs(write, ran):
    write("wrong.toml", WRONG)
    result = invoke("check", "wrong.toml")
    assert result.exit_code == 1
    assert result.stderr == ""
    assert case_lines(result) == [f"✗ {name}" for name in WRONG_NAMES] + ["✓ right"]
    assert lines(result)[-1] == "1 passed, 6 failed"
    assert ran == WRONG_NAMES + ["right"]  # a failure does not stop the run

    assert block(result, "✗ tutorial 17 (wrong.toml, case 1)") == [
        "✗ tutorial 17 (wrong.toml, case 1)",
        "  x^3 + 2*x^2 + 3*x + 4 at x = 2",
        "  ∂f/∂x: expected 17, autograd 23, symbolic 3*x^2 + 4*x + 3 = 23, finite diff. 23",
    ]
    assert block(result, "✗ wrong value (wrong.toml, case 2)")[1:] == ["  x^2 at x = 3", "  f: expected 10, got 9"]
    partial = block(result, "✗ wrong partial (wrong.toml, case 3)")
    assert partial[1] == "  u^3 + 4*u*v + v^2 at u = 3, v = 4"
    assert len(partial) == 3
    assert partial[2].startswith("  ∂²f/∂v∂u: expected 5, autograd 4, symbolic 4 = 4, finite diff. ")
    hessian = block(result, "✗ wrong hessian (wrong.toml, case 4)")
    assert hessian[1] == "  x^2*y at x = 1, y = 2"
    assert len(hessian) == 3  # one line: only the one wrong entry
    assert hessian[2].startswith("  H[y,y]: expected 1, autograd 0, symbolic 0 = 0, finite diff. ")
    assert block(result, "✗ wrong jacobian (wrong.toml, case 5)")[1:] == [
        "  [x*y, x + y] at x = 2, y = 3",
        "  ∂f₂/∂y: expected 2, autograd 1, symbolic 1 = 1, finite diff. 1",
    ]
    assert block(result, "✗ wrong vector entry (wrong.toml, case 6)")[1:] == [
        "  x^2 at x = [1, 2, 3]",
        "  ∂f/∂x: expected [2, 4, 7], autograd [2, 4, 6], symbolic 2*x = [2, 4, 6], finite diff. [2, 4, 6]",
    ]
    assert "✗ right" not in result.stdout


def test_wrong_expectations_in_the_json_view(write):
    write("wrong.toml", WRONG)
    result, report = invoke_json("check", "wrong.toml")
    assert result.exit_code == 1
    assert (report["passed"], report["failed"], report["summary"]) == (1, 6, "1 passed, 6 failed")
    cases_ = {c["name"]: c for c in report["cases"]}
    assert [c["outcome"] for c in report["cases"]] == ["failed"] * 6 + ["passed"]

    [f] = cases_["tutorial 17"]["failures"]
    assert (f["what"], f["reason"], f["expected"], f["autograd"]) == ("∂f/∂x", "expected", 17.0, 23.0)
    assert (f["symbolic"], f["symbolic_value"], f["agree"]) == ("3*x**2 + 4*x + 3", 23.0, True)
    assert abs(f["numeric"] - 23) < 1e-6
    assert cases_["tutorial 17"]["results"][0]["expect_met"] is False
    assert cases_["tutorial 17"]["results"][0]["gradient"]["x"]["expected"] == 17.0

    [f] = cases_["wrong value"]["failures"]
    assert f == {"what": "f", "reason": "expected", "message": "f: expected 10, got 9", "expected": 10.0}

    [f] = cases_["wrong partial"]["failures"]
    assert (f["what"], f["expected"], f["autograd"], f["symbolic"]) == ("∂²f/∂v∂u", 5.0, 4.0, "4")

    [f] = cases_["wrong hessian"]["failures"]
    assert (f["what"], f["expected"], f["autograd"], f["symbolic_value"]) == ("H[y,y]", 1.0, 0.0, 0.0)
    assert cases_["wrong hessian"]["results"][0]["command"] == "hessian"

    [f] = cases_["wrong jacobian"]["failures"]
    assert (f["what"], f["expected"], f["autograd"]) == ("∂f₂/∂y", 2.0, 1.0)
    assert cases_["wrong jacobian"]["results"][0]["command"] == "jacobian"

    [f] = cases_["wrong vector entry"]["failures"]
    assert (f["what"], f["expected"], f["autograd"]) == ("∂f/∂x", [2.0, 4.0, 7.0], [2.0, 4.0, 6.0])
    assert f["symbolic_value"] == [2.0, 4.0, 6.0]

    assert cases_["right"]["failures"] == [] and cases_["right"]["results"][0]["value"] == 9.0


def test_autograd_and_symbolic_disagreeing_fails_the_case(write, monkeypatch):
    wrong_symbolic(monkeypatch)  # SymPy says 2*x + 1
    write("wrong.toml", """\
        [[case]]
        name = "square"
        expr = "x^2"
        at = { x = 3 }
        grad = { x = 6 }
        """)
    result = invoke("check", "wrong.toml")
    assert result.exit_code == 1
    detail = block(result, "✗ square (wrong.toml, case 1)")[2]
    assert detail.startswith("  ∂f/∂x: autograd 6, symbolic 2*x + 1 = 7, finite diff.")
    assert detail.endswith("(autograd and symbolic disagree)")
    _, report = invoke_json("check", "wrong.toml")
    [f] = report["cases"][0]["failures"]
    assert (f["reason"], f["agree"], f["autograd"], f["symbolic_value"]) == ("disagree", False, 6.0, 7.0)


def test_a_kink_is_not_a_failure(write):
    # relu at 0: autograd takes the subgradient 0, SymPy's Heaviside(0) is
    # 1/2; the derivative does not exist, which is a warning, not a mismatch.
    write("kink.toml", """\
        [[case]]
        name = "relu at its kink"
        expr = "relu(x)"
        at = { x = 0 }
        grad = { x = 0 }
        """)
    result, report = invoke_json("check", "kink.toml")
    assert result.exit_code == 0, result.stdout
    [case] = report["cases"]
    entry = case["results"][0]["gradient"]["x"]
    assert (entry["differentiable"], entry["left"], entry["right"], entry["agree"]) == (False, 0.0, 1.0, None)


def test_no_symbolic_derivative_fails_the_case(write):
    write("a.toml", """\
        [[case]]
        name = "cubic"
        expr = "x^3"
        at = { x = 2 }
        grad = { x = 12 }
        """)
    result, report = invoke_json("check", "a.toml", "--symbolic-timeout", "0")
    assert result.exit_code == 1
    [f] = report["cases"][0]["failures"]
    assert (f["what"], f["reason"]) == ("symbolic", "no symbolic")
    assert f["message"].startswith("no symbolic derivative to compare with")


# --- 3. JUnit XML ---------------------------------------------------------------


def test_junit_report_for_two_files(write, monkeypatch):
    write("first.toml", """\
        [[case]]
        name = "passes"
        expr = "x^2"
        at = { x = 3 }
        grad = { x = 6 }

        [[case]]
        name = "tutorial 17"
        expr = "x**3 + 2*x**2 + 3*x + 4"
        at = { x = 2 }
        grad = { x = 17 }

        [[case]]
        name = "later"
        expr = "x"
        at = { x = 1 }
        skip = "not yet"
        """)
    write("second.toml", """\
        [[case]]
        name = "also passes"
        expr = "sin(x)"
        at = { x = 0 }
        grad = { x = 1 }

        [[case]]
        name = "explodes"
        expr = "x^2*y"
        at = { x = 1, y = 2 }
        hessian = [[4, 2], [2, 0]]

        [[case]]
        name = "skipped too"
        expr = "x"
        at = { x = 1 }
        skip = true
        """)
    from autodiff.commands import api

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api, "hessian", boom)  # an internal error inside one case
    result = invoke("check", "first.toml", "second.toml", "--junit", "report.xml")
    assert result.exit_code == 70  # an internal error outranks a failure
    root = validate_junit(Path("report.xml").read_text(encoding="utf-8"))
    assert root.attrib["name"] == "autodiff check"
    assert (root.attrib["tests"], root.attrib["failures"], root.attrib["errors"]) == ("6", "1", "1")
    suites = list(root)
    assert [s.attrib["name"] for s in suites] == ["first.toml", "second.toml"]
    assert [(s.attrib["tests"], s.attrib["failures"], s.attrib["errors"], s.attrib["skipped"]) for s in suites] == [
        ("3", "1", "0", "1"),
        ("3", "0", "1", "1"),
    ]
    first, second = suites
    assert [(t.attrib["classname"], t.attrib["name"]) for t in first] == [
        ("first", "passes"),
        ("first", "tutorial 17"),
        ("first", "later"),
    ]
    assert [outcome_of(t) for t in first] == ["passed", "failed", "skipped"]
    assert [outcome_of(t) for t in second] == ["passed", "error", "skipped"]

    failure = first[1].find("failure")
    diff = "∂f/∂x: expected 17, autograd 23, symbolic 3*x**2 + 4*x + 3 = 23, finite diff. 23"
    assert failure.attrib == {"message": diff, "type": "expected"}
    assert failure.text.splitlines() == ["x**3 + 2*x**2 + 3*x + 4 at x = 2", diff]
    assert first[2].find("skipped").attrib == {"message": "not yet"}
    assert second[2].find("skipped").attrib == {"message": "skipped"}
    error = second[1].find("error")
    assert error.attrib == {"message": "internal error: RuntimeError: boom", "type": "internal_error"}

    # The human view of the same run: file headers, the error, the counts.
    assert case_lines(result) == [
        "first.toml", "✓ passes", "✗ tutorial 17", "- later skipped (not yet)",
        "second.toml", "✓ also passes", "✗ explodes error", "- skipped too skipped",
    ]
    assert block(result, "✗ explodes (second.toml, case 2)")[2] == "  internal error: RuntimeError: boom (please report this)"
    assert lines(result)[-1] == "2 passed, 1 failed, 2 skipped, 1 error"


def test_a_passing_run_writes_a_junit_report_too(write):
    result = invoke("check", str(SEEDS), "--junit", "seeds.xml")
    assert result.exit_code == 0
    root = validate_junit(Path("seeds.xml").read_text(encoding="utf-8"))
    assert (root.attrib["tests"], root.attrib["failures"], root.attrib["errors"]) == ("16", "0", "0")
    [suite] = list(root)
    assert suite.attrib["name"] == str(SEEDS)
    assert [t.attrib["name"] for t in suite] == [c["name"] for c in SEED_CASES]
    assert {t.attrib["classname"] for t in suite} == {"seeds"}
    assert all(list(t) == [] for t in suite)
    assert float(root.attrib["time"]) > 0


def test_junit_of_stdin_and_of_a_selection(write):
    text = Path(SEEDS).read_text(encoding="utf-8")
    result = invoke_stdin(text, "check", "-", "-k", "mixed", "--junit", "stdin.xml")
    assert result.exit_code == 0
    root = validate_junit(Path("stdin.xml").read_text(encoding="utf-8"))
    [suite] = list(root)
    assert suite.attrib["name"] == "<stdin>"
    [testcase] = list(suite)  # the deselected cases are not in the report
    assert testcase.attrib["classname"] == "stdin"
    assert testcase.attrib["name"] == "mixed partial of u^3 + v^2 + 4uv"


@pytest.mark.parametrize("where", ["no/such/dir/report.xml", "."])
def test_an_unwritable_junit_path_is_refused_before_anything_runs(write, ran, where):
    write("a.toml", """\
        [[case]]
        expr = "x^2"
        at = { x = 3 }
        """)
    result = invoke("check", "a.toml", "--junit", where)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: --junit ") and where in result.stderr
    assert ran == []
    assert not Path("no").exists()
    result, report = invoke_json("check", "a.toml", "--junit", where)
    assert result.exit_code == 2 and report["error"]["type"] == "usage_error"
    assert ran == []


def test_a_malformed_file_writes_no_junit_report(write):
    write("bad.toml", "[[case]]\nexpr = \"x\"\n")
    result = invoke("check", "bad.toml", "--junit", "report.xml")
    assert result.exit_code == 2
    assert not Path("report.xml").exists()


# --- 4. malformed case files ----------------------------------------------------

MALFORMED = [
    # (id, file text, fragments the message must hold besides the file name)
    ("bad TOML", "[[case]\nexpr = \"x\"\n", ["not valid TOML", "line 1"]),
    (
        "unknown key, did you mean",
        '[[case]]\nname = "c1"\nexpr = "x"\nat = { x = 1 }\ngrda = { x = 1 }\n',
        ["case 1 ('c1')", "'grda'", "unknown key", "did you mean 'grad'?"],
    ),
    (
        "unknown key, no close match",
        '[[case]]\nexpr = "x"\nat = { x = 1 }\nzzzzzz = 1\n',
        ["case 1", "'zzzzzz'", "unknown key", "known keys: name, expr, at"],
    ),
    (
        "missing expr in the second case",
        '[[case]]\nexpr = "x"\nat = { x = 1 }\n[[case]]\nname = "second"\nat = { x = 1 }\n',
        ["case 2 ('second')", "missing key 'expr'"],
    ),
    ("missing at", '[[case]]\nname = "c1"\nexpr = "x"\n', ["case 1 ('c1')", "missing key 'at'"]),
    ("bool in at", '[[case]]\nname = "b"\nexpr = "x"\nat = { x = true }\n', ["case 1 ('b')", "at.x", "the boolean true"]),
    ("nested list in at", '[[case]]\nexpr = "x"\nat = { x = [[1]] }\n', ["case 1", "at.x", "a list"]),
    ("bool in grad", '[[case]]\nexpr = "x"\nat = { x = 1 }\ngrad = { x = false }\n', ["grad.x", "the boolean false"]),
    ("empty grad", '[[case]]\nexpr = "x"\nat = { x = 1 }\ngrad = {}\n', ["grad:"]),
    ("order = 0", '[[case]]\nexpr = "x"\nat = { x = 1 }\norder = 0\n', ["order", "whole number", "the number 0"]),
    ("order = \"2\"", '[[case]]\nexpr = "x"\nat = { x = 1 }\norder = "2"\n', ["order", "the string '2'"]),
    ("order = 1.5", '[[case]]\nexpr = "x"\nat = { x = 1 }\norder = 1.5\n', ["order", "the number 1.5"]),
    ("hessian not a matrix", '[[case]]\nexpr = "x*y"\nat = { x = 1, y = 2 }\nhessian = [1, 2]\n', ["hessian", "a matrix"]),
    ("jacobian row not a list", '[[case]]\nexpr = ["x", "y"]\nat = { x = 1, y = 2 }\njacobian = [[1, 0], 1]\n', ["jacobian", "a matrix"]),
    ("expr list without jacobian", '[[case]]\nexpr = ["x", "y"]\nat = { x = 1, y = 2 }\n', ["expr", "a list"]),
    ("expr a number", '[[case]]\nexpr = 3\nat = { x = 1 }\n', ["expr", "the number 3"]),
    ("at not a table", '[[case]]\nexpr = "x"\nat = 3\n', ["at:", "the number 3"]),
    ("name not a string", '[[case]]\nname = 3\nexpr = "x"\nat = { x = 1 }\n', ["case 1", "name", "the number 3"]),
    ("negative rtol", '[[case]]\nexpr = "x"\nat = { x = 1 }\nrtol = -1\n', ["rtol", "≥ 0", "the number -1"]),
    ("skip a number", '[[case]]\nexpr = "x"\nat = { x = 1 }\nskip = 1\n', ["skip", "the number 1"]),
    ("empty grad_output", '[[case]]\nexpr = "x"\nat = { x = [1, 2] }\ngrad_output = []\n', ["grad_output", "an empty list"]),
    (
        "unknown key in partial",
        '[[case]]\nname = "p"\nexpr = "x*y"\nat = { x = 1, y = 2 }\npartial = { wrt = "x", expct = 2 }\n',
        ["case 1 ('p')", "partial.expct", "unknown key"],
    ),
    (
        "missing partial.wrt",
        '[[case]]\nexpr = "x*y"\nat = { x = 1, y = 2 }\npartial = { expect = 2 }\n',
        ["case 1", "missing key 'partial.wrt'"],
    ),
    ("partial not a table", '[[case]]\nexpr = "x*y"\nat = { x = 1, y = 2 }\npartial = "x"\n', ["partial", "the string 'x'"]),
    ("top-level unknown key", 'title = "t"\n[[case]]\nexpr = "x"\nat = { x = 1 }\n', ["unknown top-level key 'title'"]),
    ("empty file", "", ["no cases"]),
    ("only comments", "# nothing here\n", ["no cases"]),
    ("case a table, not an array", '[case]\nexpr = "x"\nat = { x = 1 }\n', ["no cases"]),
]


@pytest.mark.parametrize(("text", "fragments"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_case_file_is_exit_2_before_anything_runs(write, ran, text, fragments):
    write("bad.toml", text)
    result = invoke("check", "bad.toml")
    assert result.exit_code == 2
    assert result.stdout == ""
    message = result.stderr
    assert message.startswith("error: bad.toml: ") and message.endswith("\n")
    assert message.count("\n") == 1, message  # one line
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert ran == []

    result, report = invoke_json("check", "bad.toml")
    assert result.exit_code == 2
    assert set(report) == {"error"}
    assert report["error"]["type"] == "invalid_case_file"
    assert report["error"]["message"] == message[len("error: "):-1]
    assert ran == []


def test_a_missing_file_is_exit_2(write, ran):
    result, report = invoke_json("check", "missing.toml")
    assert result.exit_code == 2
    assert report["error"]["type"] == "invalid_case_file"
    assert report["error"]["message"].startswith("cannot read case file missing.toml")
    assert ran == []


def test_a_directory_as_case_file_is_exit_2(write):
    Path("cases").mkdir()
    result, report = invoke_json("check", "cases")
    assert result.exit_code == 2 and report["error"]["type"] == "invalid_case_file"
    assert "cases" in report["error"]["message"]


def test_a_non_utf8_file_is_exit_2(write, ran):
    Path("latin1.toml").write_bytes(b'[[case]]\nname = "caf\xe9"\nexpr = "x"\nat = { x = 1 }\n')
    result = invoke("check", "latin1.toml")
    assert result.exit_code == 2
    assert result.stderr == "error: latin1.toml: not UTF-8 text (byte 21)\n"
    _, report = invoke_json("check", "latin1.toml")
    assert report == {"error": {"type": "invalid_case_file", "message": "latin1.toml: not UTF-8 text (byte 21)"}}
    assert ran == []


def test_a_malformed_second_file_stops_the_run(write, ran):
    write("good.toml", """\
        [[case]]
        name = "fine"
        expr = "x^2"
        at = { x = 3 }
        grad = { x = 6 }
        """)
    write("bad.toml", """\
        [[case]]
        name = "fine too"
        expr = "x"
        at = { x = 1 }

        [[case]]
        name = "typo"
        expr = "x"
        at = { x = 1 }
        valeu = 1
        """)
    result = invoke("check", "good.toml", "bad.toml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "error: bad.toml: case 2 ('typo'): 'valeu': unknown key; did you mean 'value'?\n"
    assert ran == []
    result, report = invoke_json("check", "good.toml", "bad.toml")
    assert result.exit_code == 2 and report["error"]["type"] == "invalid_case_file"
    assert "cases" not in report


def test_no_files_at_all_is_a_usage_error():
    result = invoke("check")
    assert result.exit_code == 2


# --- 5. a bad expression fails only its case ----------------------------------


def test_a_bad_expression_fails_only_its_case(write, ran):
    write("mixed.toml", """\
        [[case]]
        name = "before"
        expr = "x^2"
        at = { x = 3 }
        grad = { x = 6 }

        [[case]]
        name = "broken"
        expr = "x+"
        at = { x = 1 }
        grad = { x = 1 }

        [[case]]
        name = "unknown variable"
        expr = "x*y"
        at = { x = 3 }

        [[case]]
        name = "after"
        expr = "sin(x)"
        at = { x = 0 }
        value = 0
        grad = { x = 1 }
        """)
    result = invoke("check", "mixed.toml")
    assert result.exit_code == 1
    assert case_lines(result) == ["✓ before", "✗ broken", "✗ unknown variable", "✓ after"]
    assert ran == ["before", "broken", "unknown variable", "after"]
    assert block(result, "✗ broken (mixed.toml, case 2)") == [
        "✗ broken (mixed.toml, case 2)",
        "  x+ at x = 1",
        "  unexpected end of input; expected a number, a name or '(' at column 3",
    ]
    assert "no value for y" in block(result, "✗ unknown variable (mixed.toml, case 3)")[2]
    assert lines(result)[-1] == "2 passed, 2 failed"

    _, report = invoke_json("check", "mixed.toml")
    broken = report["cases"][1]
    assert broken["outcome"] == "failed" and broken["results"] == []
    [failure] = broken["failures"]
    assert (failure["what"], failure["reason"]) == ("error", "parse_error")
    assert "column 3" in failure["message"]
    assert report["cases"][2]["failures"][0]["what"] == "error"
    assert [c["outcome"] for c in report["cases"]] == ["passed", "failed", "failed", "passed"]
    assert report["errors"] == 0


def test_a_bad_string_value_fails_only_its_case(write):
    write("point.toml", """\
        [[case]]
        name = "bad point"
        expr = "x"
        at = { x = "pi/" }

        [[case]]
        name = "good"
        expr = "x"
        at = { x = "pi" }
        """)
    result, report = invoke_json("check", "point.toml")
    assert result.exit_code == 1
    assert [c["outcome"] for c in report["cases"]] == ["failed", "passed"]
    assert report["cases"][0]["failures"][0]["what"] == "error"


def test_an_internal_error_in_one_case_is_exit_70_and_the_run_goes_on(write, monkeypatch, ran):
    write("a.toml", """\
        [[case]]
        name = "explodes"
        expr = "x^2*y"
        at = { x = 1, y = 2 }
        hessian = [[4, 2], [2, 0]]

        [[case]]
        name = "fine"
        expr = "x^2"
        at = { x = 3 }
        grad = { x = 6 }
        """)
    from autodiff.commands import api

    def boom(*args, **kwargs):
        raise ZeroDivisionError("in the Hessian")

    monkeypatch.setattr(api, "hessian", boom)
    result, report = invoke_json("check", "a.toml")
    assert result.exit_code == 70
    assert ran == ["explodes", "fine"]
    assert (report["passed"], report["failed"], report["errors"]) == (1, 0, 1)
    assert report["summary"] == "1 passed, 0 failed, 1 error"
    exploded = report["cases"][0]
    assert exploded["outcome"] == "error"
    assert exploded["message"] == "internal error: ZeroDivisionError: in the Hessian"


# --- 6. -k selection -------------------------------------------------------------

SELECTION = """\
[[case]]
name = "Alpha one"
expr = "x"
at = { x = 1 }

[[case]]
name = "alpha two"
expr = "2*x"
at = { x = 1 }
grad = { x = 2 }

[[case]]
name = "Beta"
expr = "x^2"
at = { x = 1 }

[[case]]
name = "gamma ALPHABET"
expr = "x^3"
at = { x = 1 }

[[case]]
expr = "sin(x)"
at = { x = 0 }
"""


@pytest.mark.parametrize(
    ("patterns", "chosen"),
    [
        (["alpha"], ["Alpha one", "alpha two", "gamma ALPHABET"]),
        (["ALPHA T"], ["alpha two"]),
        (["beta", "one"], ["Alpha one", "Beta"]),
        (["beta", "BETA"], ["Beta"]),  # a case matched twice runs once
        (["SIN("], ["sin(x)"]),  # a case without a name is named by its expression
    ],
)
def test_k_selects_by_case_insensitive_substring(write, ran, patterns, chosen):
    write("sel.toml", SELECTION)
    args = [arg for pattern in patterns for arg in ("-k", pattern)]
    result = invoke("check", "sel.toml", *args)
    assert result.exit_code == 0
    assert ran == chosen
    assert case_lines(result) == [f"✓ {name}" for name in chosen]
    deselected = 5 - len(chosen)
    assert lines(result)[-1] == f"{len(chosen)} passed, 0 failed, {deselected} deselected"
    _, report = invoke_json("check", "sel.toml", *args)
    assert report["deselected"] == deselected
    assert [c["name"] for c in report["cases"]] == chosen
    assert [c["index"] for c in report["cases"]] == [
        ["Alpha one", "alpha two", "Beta", "gamma ALPHABET", "sin(x)"].index(name) + 1 for name in chosen
    ]


def test_select_is_the_long_form_of_k(write):
    write("sel.toml", SELECTION)
    _, report = invoke_json("check", "sel.toml", "--select", "beta")
    assert [c["name"] for c in report["cases"]] == ["Beta"] and report["deselected"] == 4


def test_k_with_no_match_is_exit_2(write, ran):
    write("sel.toml", SELECTION)
    result = invoke("check", "sel.toml", "-k", "delta", "-k", "epsilon")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "error: no case name contains 'delta' or 'epsilon'\n"
    assert ran == []
    result, report = invoke_json("check", "sel.toml", "-k", "delta")
    assert result.exit_code == 2
    assert report == {"error": {"type": "usage_error", "message": "no case name contains 'delta'"}}


def test_k_across_files(write):
    write("a.toml", SELECTION)
    write("b.toml", '[[case]]\nname = "beta in b"\nexpr = "x"\nat = { x = 2 }\n')
    result, report = invoke_json("check", "a.toml", "b.toml", "-k", "beta")
    assert result.exit_code == 0
    assert [(c["file"], c["name"]) for c in report["cases"]] == [("a.toml", "Beta"), ("b.toml", "beta in b")]
    assert report["deselected"] == 4


# --- 7. skip ---------------------------------------------------------------------


def test_skipped_cases(write, ran):
    write("skips.toml", """\
        [[case]]
        name = "runs"
        expr = "x^2"
        at = { x = 3 }
        grad = { x = 6 }

        [[case]]
        name = "with a reason"
        expr = "x+"
        at = { x = 1 }
        skip = "the parser is not ready"

        [[case]]
        name = "plainly"
        expr = "x"
        at = { x = 1 }
        grad = { x = 99 }
        skip = true

        [[case]]
        name = "not skipped"
        expr = "x"
        at = { x = 1 }
        skip = false
        """)
    result = invoke("check", "skips.toml")
    assert result.exit_code == 0  # skipped cases, even broken ones, do not fail the run
    assert case_lines(result) == [
        "✓ runs",
        "- with a reason skipped (the parser is not ready)",
        "- plainly skipped",
        "✓ not skipped",
    ]
    assert lines(result)[-1] == "2 passed, 0 failed, 2 skipped"

    _, report = invoke_json("check", "skips.toml")
    assert (report["passed"], report["failed"], report["skipped"]) == (2, 0, 2)
    skipped = report["cases"][1]
    assert (skipped["outcome"], skipped["message"], skipped["results"], skipped["failures"]) == (
        "skipped", "the parser is not ready", [], [],
    )
    assert report["cases"][2]["outcome"] == "skipped" and "message" not in report["cases"][2]
    assert report["cases"][3]["outcome"] == "passed"


# --- 8. stdin and several files -------------------------------------------------


def test_a_case_file_on_stdin(write):
    text = """\
[[case]]
name = "from stdin"
expr = "x^3"
at = { x = 2 }
grad = { x = 12 }

[[case]]
name = "wrong on stdin"
expr = "x^3"
at = { x = 2 }
grad = { x = 13 }
"""
    result = invoke_stdin(text, "check", "-")
    assert result.exit_code == 1
    assert case_lines(result) == ["✓ from stdin", "✗ wrong on stdin"]
    assert block(result, "✗ wrong on stdin (<stdin>, case 2)")[2] == (
        "  ∂f/∂x: expected 13, autograd 12, symbolic 3*x^2 = 12, finite diff. 12"
    )
    result = invoke_stdin(text, "check", "-", "--json")
    report = strict_loads(result.stdout)
    assert report["files"] == ["<stdin>"]
    assert [(c["file"], c["index"], c["outcome"]) for c in report["cases"]] == [
        ("<stdin>", 1, "passed"),
        ("<stdin>", 2, "failed"),
    ]


def test_a_malformed_file_on_stdin_names_stdin():
    result = invoke_stdin('[[case]]\nexpr = "x"\n', "check", "-")
    assert result.exit_code == 2
    assert result.stderr == "error: <stdin>: case 1: missing key 'at': a table of values, e.g. { x = 3, y = [1, 2] }\n"


def test_several_files_get_headers_in_the_human_view(write):
    write("a.toml", '[[case]]\nname = "a one"\nexpr = "x"\nat = { x = 1 }\n[[case]]\nname = "a two"\nexpr = "x^2"\nat = { x = 1 }\n')
    write("b.toml", '[[case]]\nname = "b one"\nexpr = "x^2"\nat = { x = 2 }\ngrad = { x = 5 }\n')
    result = invoke_stdin('[[case]]\nname = "s one"\nexpr = "x"\nat = { x = 1 }\n', "check", "a.toml", "-", "b.toml")
    assert result.exit_code == 1
    assert case_lines(result) == ["a.toml", "✓ a one", "✓ a two", "<stdin>", "✓ s one", "b.toml", "✗ b one"]
    assert "✗ b one (b.toml, case 1)" in lines(result)
    assert lines(result)[-1] == "3 passed, 1 failed"


def test_one_file_gets_no_header(write):
    write("a.toml", '[[case]]\nname = "a one"\nexpr = "x"\nat = { x = 1 }\n')
    result = invoke("check", "a.toml")
    assert lines(result) == ["✓ a one", "1 passed, 0 failed"]


# --- 9. tolerances --------------------------------------------------------------

TOLERANCES = """\
[[case]]
name = "default"
expr = "x**3 + 2*x**2 + 3*x + 4"
at = { x = 2 }
grad = { x = 23.001 }

[[case]]
name = "own rtol"
expr = "x**3 + 2*x**2 + 3*x + 4"
at = { x = 2 }
value = 26.002
grad = { x = 23.001 }
rtol = 1e-3

[[case]]
name = "own atol"
expr = "x**3 + 2*x**2 + 3*x + 4"
at = { x = 2 }
grad = { x = 23.001 }
atol = 0.01

[[case]]
name = "own tight rtol"
expr = "x**3 + 2*x**2 + 3*x + 4"
at = { x = 2 }
grad = { x = 23.001 }
rtol = 1e-12

[[case]]
name = "value off"
expr = "x**3 + 2*x**2 + 3*x + 4"
at = { x = 2 }
value = 26.002
"""


def test_per_case_tolerances(write):
    write("tol.toml", TOLERANCES)
    result, report = invoke_json("check", "tol.toml")
    assert result.exit_code == 1
    assert {c["name"]: c["outcome"] for c in report["cases"]} == {
        "default": "failed",
        "own rtol": "passed",
        "own atol": "passed",
        "own tight rtol": "failed",
        "value off": "failed",
    }
    assert report["cases"][0]["failures"][0]["message"].startswith("∂f/∂x: expected 23.001, autograd 23,")
    assert report["cases"][4]["failures"][0]["message"] == "f: expected 26.002, got 26"


@pytest.mark.parametrize("option", [["--rtol", "1e-3"], ["--atol", "0.01"]])
def test_command_line_tolerances_apply_to_cases_without_their_own(write, option):
    write("tol.toml", TOLERANCES)
    result, report = invoke_json("check", "tol.toml", *option)
    outcomes = {c["name"]: c["outcome"] for c in report["cases"]}
    assert outcomes["default"] == "passed"
    assert outcomes["value off"] == "passed"  # 26.002 vs 26 is within both
    assert outcomes["own tight rtol"] == ("failed" if option[0] == "--rtol" else "passed")
    assert outcomes["own rtol"] == outcomes["own atol"] == "passed"


def test_a_case_rtol_wins_over_the_command_line(write):
    write("tol.toml", TOLERANCES)
    result, report = invoke_json("check", "tol.toml", "--rtol", "1e-3", "-k", "tight")
    assert result.exit_code == 1
    assert report["cases"][0]["outcome"] == "failed"
    result, report = invoke_json("check", "tol.toml", "--rtol", "1e-12", "-k", "own rtol")
    assert result.exit_code == 0  # the case's own 1e-3 wins over 1e-12


def test_a_negative_command_line_tolerance_is_exit_2(write):
    write("tol.toml", TOLERANCES)
    assert invoke("check", "tol.toml", "--rtol", "-1").exit_code == 2


# --- 10. constant expressions as strings ----------------------------------------


def test_string_values_in_at_grad_and_value(write):
    write("strings.toml", """\
        [[case]]
        name = "sin at pi/2"
        expr = "sin(x)"
        at = { x = "pi/2" }
        value = "sqrt(4)/2"
        grad = { x = "0" }

        [[case]]
        name = "cos at pi"
        expr = "cos(x)"
        at = { x = "pi" }
        value = -1
        grad = { x = "pi - pi" }

        [[case]]
        name = "vector of strings"
        expr = "sin(x)"
        at = { x = ["0", "pi/2", "pi"] }
        value = ["0", 1, 0]
        grad = { x = [1, "0", "-1"] }

        [[case]]
        name = "partial with pi"
        expr = "x*y"
        at = { x = "pi", y = "e" }
        partial = { wrt = ["x", "y"], expect = "1" }
        grad = { x = "e", y = "pi" }

        [[case]]
        name = "wrong string"
        expr = "x^2"
        at = { x = "pi/2" }
        grad = { x = "2*pi" }
        """)
    result = invoke("check", "strings.toml")
    assert result.exit_code == 1
    assert case_lines(result) == ["✓ sin at pi/2", "✓ cos at pi", "✓ vector of strings", "✓ partial with pi", "✗ wrong string"]
    wrong = block(result, "✗ wrong string (strings.toml, case 5)")
    assert wrong[1] == "  x^2 at x = pi/2"  # the point as written
    assert wrong[2].startswith("  ∂f/∂x: expected 6.28318530")
    assert "autograd 3.14159265" in wrong[2]
    _, report = invoke_json("check", "strings.toml")
    assert report["cases"][0]["results"][0]["at"] == {"x": math.pi / 2}
    assert report["cases"][1]["results"][0]["at"] == {"x": math.pi}
    assert report["cases"][3]["results"][0]["at"] == {"x": math.pi, "y": math.e}
    assert report["cases"][4]["failures"][0]["expected"] == 2 * math.pi


# --- 11. the Python API ----------------------------------------------------------


def test_the_python_api_agrees_with_the_cli(write):
    write("wrong.toml", WRONG)
    write("sel.toml", SELECTION)
    report = autodiff.check(["wrong.toml", "sel.toml"], select_names=["wrong", "17", "ALPHA"])
    assert isinstance(report, cases.CheckReport)
    assert report.exit_code == 1
    assert report.summary() == "3 passed, 6 failed, 3 deselected"
    assert [r.case.name for r in report.results] == WRONG_NAMES + ["Alpha one", "alpha two", "gamma ALPHABET"]
    assert [r.outcome for r in report.results] == ["failed"] * 6 + ["passed"] * 3
    assert report.deselected == 3

    # to_json is strict JSON and equals the CLI's, up to the timings.
    api_json = strict_loads(json.dumps(report.to_json(), allow_nan=False))
    result, cli_json = invoke_json("check", "wrong.toml", "sel.toml", "-k", "wrong", "-k", "17", "-k", "ALPHA")
    assert result.exit_code == report.exit_code
    assert without_seconds(api_json) == without_seconds(cli_json)
    assert api_json["files"] == ["wrong.toml", "sel.toml"]

    # junit_xml of the report is the same document the CLI writes, up to the timings.
    invoke("check", "wrong.toml", "sel.toml", "-k", "wrong", "-k", "17", "-k", "ALPHA", "--junit", "cli.xml")
    api_root = validate_junit(junit_xml(report))
    cli_root = validate_junit(Path("cli.xml").read_text(encoding="utf-8"))

    def shape(element):
        attrib = {k: v for k, v in element.attrib.items() if k != "time"}
        return (element.tag, attrib, (element.text or "").strip(), [shape(child) for child in element])

    assert shape(api_root) == shape(cli_root)
    assert [s.attrib["tests"] for s in api_root] == ["6", "3"]


def test_the_python_api_with_alpha_selection(write):
    write("sel.toml", SELECTION)
    report = autodiff.check(["sel.toml"], select_names=["alpha"])
    assert [r.case.name for r in report.results] == ["Alpha one", "alpha two", "gamma ALPHABET"]
    assert [r.outcome for r in report.results] == ["passed"] * 3
    assert report.exit_code == 0 and report.deselected == 2
    assert report.to_json()["summary"] == "3 passed, 0 failed, 2 deselected"


def test_the_python_api_reads_stdin_through_a_callable():
    text = SEEDS.read_text(encoding="utf-8")
    report = autodiff.check(["-"], select_names=["log"], read_stdin=lambda: text)
    assert report.files == ["<stdin>"]
    [result] = report.results
    assert result.case.name == "log(x) at x = 2" and result.outcome == "passed"
    assert result.reports[0].gradient["x"].autograd == 0.5


def test_the_python_api_raises_on_a_malformed_file(write):
    write("bad.toml", '[[case]]\nexpr = "x"\nat = { x = 1 }\nordr = 2\n')
    with pytest.raises(autodiff.AutodiffError) as caught:
        autodiff.check(["bad.toml"])
    assert caught.value.exit_code == 2
    assert caught.value.type == "invalid_case_file"
    assert caught.value.message == "bad.toml: case 1: 'ordr': unknown key; did you mean 'order'?"


# --- regressions: bugs found while writing these tests ------------------------


def test_an_empty_at_table_is_not_an_internal_error(write):
    write("const.toml", '[[case]]\nname = "constant"\nexpr = "2+3"\nat = {}\nvalue = 5\n')
    result, report = invoke_json("check", "const.toml")
    assert result.exit_code == 0, report
    assert report["cases"][0]["outcome"] == "passed"
    assert report["cases"][0]["results"][0]["value"] == 5


def test_an_infinite_value_can_be_expected(write):
    # With the exact witness off: on, it fails the case (autograd's inf overflows float64).
    write("inf.toml", '[[case]]\nname = "overflow"\nexpr = "exp(x)"\nat = { x = 1000 }\nvalue = inf\nexact = false\n')
    result, report = invoke_json("check", "inf.toml")
    assert report["cases"][0]["failures"] == []
    assert result.exit_code == 0


def test_non_utf8_bytes_on_stdin_are_exit_2():
    result = invoke_stdin(b'[[case]]\nname = "caf\xe9"\nexpr = "x"\nat = { x = 1 }\n', "check", "-")
    assert result.exit_code == 2
    assert "<stdin>" in result.stderr and "UTF-8" in result.stderr


def test_junit_stays_well_formed_with_control_characters(write):
    write("ctl.toml", r'''
        [[case]]
        name = "bell\u0007 <&> \"quoted\""
        expr = "x\u0001"
        at = { x = 1 }
        ''')
    result = invoke("check", "ctl.toml", "--junit", "ctl.xml")
    assert result.exit_code == 1
    root = validate_junit(Path("ctl.xml").read_text(encoding="utf-8"))
    assert "<&>" in root[0][0].attrib["name"]


def test_torch_and_sympy_load_before_the_first_case_is_timed():
    script = textwrap.dedent(f"""\
        import sys
        import autodiff.commands.cases as cases
        seen = []
        def spy(case, options):
            seen.append("torch" in sys.modules and "sympy" in sys.modules)
            return cases.CaseResult(case, "skipped", message="spy")
        cases.run_case = spy
        cases.check([{str(SEEDS)!r}], select_names=["log"])
        print(seen)
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[True]"


# --- regressions from review ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expr", "at", "passes"),
    [
        ("inf", "x", "{ x = 1 }", False),  # an infinite expectation is not met by a finite value
        ("1e400", "x", "{ x = 1 }", False),  # TOML reads 1e400 as inf
        ("[-inf, 2]", "x", "{ x = [1, 2] }", False),
        ("inf", "exp(x)", "{ x = 1000 }", False),  # f overflows: autograd is inaccurate (design §11)
        ("-inf", "log(x)", "{ x = 0 }", True),
    ],
)
def test_infinite_expected_values_are_compared_exactly(write, value, expr, at, passes):
    write("inf.toml", f'[[case]]\nexpr = "{expr}"\nat = {at}\nvalue = {value}\n')
    result, report = invoke_json("check", "inf.toml")
    assert (report["passed"], report["failed"]) == ((1, 0) if passes else (0, 1))
    assert result.exit_code == (0 if passes else 1)


@pytest.mark.parametrize("at", ['{ x = "2,y=3" }', '{ "y=3,x" = 2 }'])
def test_a_value_or_name_cannot_smuggle_in_another_variable(write, at):
    write("smuggle.toml", f'[[case]]\nexpr = "x*y"\nat = {at}\nvalue = 6\n')
    result, report = invoke_json("check", "smuggle.toml")
    assert result.exit_code == 1
    failure = report["cases"][0]["failures"][0]
    assert failure["reason"] == "invalid_point"
    assert failure["message"].startswith("at")


def test_jacobian_functions_from_a_toml_array_are_parsed_one_by_one(write):
    write("jac.toml", '[[case]]\nexpr = ["x*y", "x+y, x"]\nat = { x = 1, y = 2 }\njacobian = [[2, 1], [1, 1], [1, 0]]\n')
    result, report = invoke_json("check", "jac.toml")
    assert result.exit_code == 1
    assert report["cases"][0]["failures"][0]["reason"] == "parse_error"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("value = " + "1" * 330, "case 1: value: expected a number, or a list for a vector point, got an integer of 330 digits"),
        ("rtol = " + "1" * 330, "case 1: rtol: expected a number ≥ 0, got an integer of 330 digits"),
        ("value = " + "[" * 50_000 + "]" * 50_000, "arrays or tables nested too deeply"),
        ("order = 2\npartial = { wrt = \"x\" }", "case 1: order: applies to grad only"),
        ("grad_output = [1]\nhessian = [[2]]", "case 1: grad_output: applies to grad and partial only"),
    ],
)
def test_more_malformed_cases_are_exit_2(write, body, message):
    write("bad.toml", f'[[case]]\nexpr = "x^2"\nat = {{ x = 1 }}\n{body}\n')
    result, report = invoke_json("check", "bad.toml")
    assert result.exit_code == 2
    assert report["error"]["type"] == "invalid_case_file"
    assert message in report["error"]["message"]


def test_control_characters_in_names_do_not_reach_the_terminal(write):
    write("ctl.toml", '[[case]]\nname = "\\u001b]0;pwned\\u0007\\u001b[2J evil"\nexpr = "x"\nat = { x = 1 }\ngrad = { x = 2 }\n')
    result = invoke("check", "ctl.toml")
    assert result.exit_code == 1
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\ufffd]0;pwned\ufffd\ufffd[2J evil" in result.stdout


def test_an_empty_skip_reason_still_skips(write):
    write("skip.toml", '[[case]]\nexpr = "x+"\nat = { x = 1 }\nskip = ""\n')
    result = invoke("check", "skip.toml")
    assert result.exit_code == 0
    assert lines(result)[-1] == "0 passed, 0 failed, 1 skipped"


def test_an_empty_junit_path_is_refused(write):
    write("ok.toml", '[[case]]\nexpr = "x"\nat = { x = 1 }\n')
    result = invoke("check", "ok.toml", "--junit", "")
    assert result.exit_code == 2
    assert "--junit" in result.stderr


def test_a_file_named_twice_runs_once(write):
    write("ok.toml", '[[case]]\nexpr = "x"\nat = { x = 1 }\n')
    result = invoke("check", "ok.toml", "ok.toml")
    assert lines(result) == ["✓ x", "1 passed, 0 failed"]


def test_the_api_takes_one_path_as_a_string():
    import autodiff

    assert autodiff.check(str(SEEDS), select_names=["log"]).summary() == "1 passed, 0 failed, 15 deselected"


# -- check streams: a line per case as it finishes, flat memory, Ctrl-C ---------

THREE = "".join(f'[[case]]\nname = "c{i}"\nexpr = "x^{i}"\nat = {{ x = 2 }}\n' for i in (1, 2, 3))


def test_each_case_line_is_printed_as_the_case_finishes(write, monkeypatch):
    write("three.toml", THREE)
    seen = []
    real = cases.run_case

    def spy(case, options):
        sys.stdout.flush()
        seen.append(sys.stdout.buffer.getvalue().decode())  # CliRunner's captured stdout so far
        return real(case, options)

    monkeypatch.setattr(cases, "run_case", spy)
    result = CliRunner().invoke(app, ["check", "three.toml"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0
    assert seen[0] == "" and "✓ c1" in seen[1] and "✓ c2" in seen[2] and "c3" not in seen[2]


def test_streamed_json_is_one_strict_object(write):
    write("three.toml", THREE)
    result, data = invoke_json("check", "three.toml")
    assert result.exit_code == 0
    assert [case["name"] for case in data["cases"]] == ["c1", "c2", "c3"]
    assert data["passed"] == 3 and data["summary"] == "3 passed, 0 failed"
    assert data["cases"][1]["results"][0]["gradient"]["x"]["autograd"] == 4.0


def test_ctrl_c_prints_the_summary_so_far_and_exits_130(write, monkeypatch):
    write("three.toml", THREE)
    real = cases.run_case

    def interrupted(case, options):
        if case.index == 2:
            raise KeyboardInterrupt
        return real(case, options)

    monkeypatch.setattr(cases, "run_case", interrupted)
    result = invoke("check", "three.toml")
    assert result.exit_code == 130
    assert result.stdout.splitlines() == ["✓ c1", "1 passed, 0 failed (interrupted)"]
    monkeypatch.setattr(cases, "run_case", interrupted)
    result, data = invoke_json("check", "three.toml")
    assert result.exit_code == 130 and data["interrupted"] is True and len(data["cases"]) == 1


def test_the_command_line_keeps_no_case_results(write, monkeypatch):
    write("three.toml", THREE)
    reports = []
    real = cases.check
    monkeypatch.setattr(cases, "check", lambda *a, **k: reports.append(real(*a, **k)) or reports[-1])
    assert invoke("check", "three.toml").exit_code == 0
    assert reports[0].results == [] and reports[0].count("passed") == 3


def test_a_case_header_inside_a_multiline_string_is_not_a_cut(write):
    write("odd.toml", '[[case]]\nname = """two\n[[case]]\nlines"""\nexpr = "x"\nat = { x = 1 }\n' + THREE)
    result, data = invoke_json("check", "odd.toml")
    assert result.exit_code == 0
    assert [case["name"] for case in data["cases"]] == ["two\n[[case]]\nlines", "c1", "c2", "c3"]


def test_a_toml_error_names_its_line_in_the_whole_file(write):
    write("bad.toml", THREE + '[[case]]\nname = "broken\nexpr = "x"\n')
    result = invoke("check", "bad.toml")
    assert result.exit_code == 2 and result.stdout == ""
    assert "(at line 14, column 15)" in result.stderr  # the line in the file, not in its last piece


# -- CI scale: --shard K/N and --jobs N -----------------------------------------

SHARDED = [str(Path(__file__).parent / "cases" / name) for name in ("seeds.toml", "tutorial_mistakes.toml")]


def _verdicts(data: dict) -> list[tuple]:
    return [(case["file"], case["index"], case["name"], case["outcome"]) for case in data["cases"]]


def test_four_shards_with_two_jobs_give_the_verdicts_of_one_plain_run(tmp_path):
    plain_result, plain = invoke_json("check", *SHARDED)
    shards = []
    for k in range(1, 5):
        junit = tmp_path / f"shard-{k}.xml"
        result, data = invoke_json("check", *SHARDED, "--shard", f"{k}/4", "--jobs", "2", "--junit", str(junit))
        assert data["shard"] == [k, 4] and data["summary"].endswith(f"(shard {k}/4)")
        assert ET.parse(junit).getroot().get("name") == f"autodiff check (shard {k}/4)"
        shards.append((result.exit_code, data))
    together = sorted(v for _, data in shards for v in _verdicts(data))
    assert together == sorted(_verdicts(plain))
    assert [len(data["cases"]) for _, data in shards] == [5, 5, 5, 4]  # every 4th case, from the k-th
    assert max(code for code, _ in shards) == plain_result.exit_code == 1  # tutorial_mistakes has failures


def test_jobs_keep_the_case_order_and_the_results():
    _, plain = invoke_json("check", *SHARDED)
    _, parallel = invoke_json("check", *SHARDED, "--jobs", "2")
    assert _verdicts(parallel) == _verdicts(plain)
    assert [c["results"][0]["value"] for c in parallel["cases"] if c["results"]] == \
        [c["results"][0]["value"] for c in plain["cases"] if c["results"]]


@pytest.mark.parametrize("args, message", [
    (["--shard", "5/4"], "--shard '5/4': give K/N with 1 <= K <= N"),
    (["--shard", "two"], "--shard 'two': give K/N"),
    (["--jobs", "0"], "must be at least 1, not 0"),
])
def test_bad_shards_and_jobs_are_usage_errors(args, message, capsys):
    from autodiff.frontends import cli

    with pytest.raises(SystemExit) as leaving:
        cli.main(["check", SHARDED[0], *args])
    assert leaving.value.code == 2
    assert message in capsys.readouterr().err
