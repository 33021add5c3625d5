"""The pytest plugin (autodiff.frontends.pytest_plugin): `pytest cases.toml`
runs each [[case]] of a case file as a test item named by the case."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TUTORIAL = (Path(__file__).parent / "cases" / "tutorial_mistakes.toml").read_text()

CASES = """
[define]
"f(t)" = "t^2 + 1"
"mylog(t)" = "log(t)"

[derivative]
"mylog(t)" = "1/t"

[[case]]
name = "square at 3"
expr = "x^2"
at = { x = 3 }
grad = { x = 6 }

[[case]]
name = "a wrong slope"
expr = "x^3 + 2*x^2 + 3*x + 4"
at = { x = 2 }
grad = { x = 17 }

[[case]]
name = "defined f"
expr = "f(x)"
at = { x = 3 }
value = 10
grad = { x = 6 }

[[case]]
name = "declared mylog"
expr = "mylog(x)"
at = { x = 2 }
grad = { x = 0.5 }

[[case]]
name = "not yet"
expr = "x"
at = { x = 1 }
skip = "waiting for the exact witness"

[[case]]
name = "loose slope"
expr = "x^2"
at = { x = 1 }
grad = { x = 2.001 }
rtol = 0.01

[[case]]
expr = "x^2"
at = { x = 2 }
value = 4

[[case]]
expr = "x^2"
at = { x = 2 }
value = 5
"""


@pytest.fixture(autouse=True, scope="module")
def loaded():
    """torch, SymPy, the witnesses and the views, loaded before the first
    in-process run: pytester removes the modules a run imports (torch cannot
    load twice, and a view imported again would render with a second rich
    for the tests that run after these)."""
    import autodiff
    import autodiff.frontends.cli  # noqa: F401 - the app, rich and every view
    import autodiff.presentation.check_view  # noqa: F401
    import autodiff.presentation.junit  # noqa: F401

    autodiff.check(str(Path(__file__).parent / "cases" / "tutorial_mistakes.toml"))


def run(pytester, *args):
    """pytest in this process, on pytester's directory (without Hypothesis's
    plugin, which costs a second a run and has nothing to do here)."""
    return pytester.runpytest("-p", "no:hypothesispytest", *args)


def test_importing_the_plugin_loads_neither_torch_nor_sympy():
    # pytest loads every pytest11 plugin at start-up, in every project where autodiff is installed.
    probe = (
        "import sys, autodiff.frontends.pytest_plugin\n"
        "print(','.join(sorted(n for n in sys.modules if n.split('.')[0] in ('torch', 'sympy', 'numpy', 'mpmath')"
        " or n.startswith(('autodiff.engine', 'autodiff.language', 'autodiff.witnesses')))))"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == ""


def test_the_entry_point_registers_the_plugin():
    points = {point.name: point.value for point in importlib.metadata.entry_points(group="pytest11")}
    assert points.get("autodiff") == "autodiff.frontends.pytest_plugin"


def test_each_case_is_an_item_named_by_the_case(pytester):
    pytester.makefile(".toml", cases=CASES)
    result = run(pytester, "cases.toml", "--collect-only", "-q")
    names = [line.split("::", 1)[1] for line in result.outlines if line.startswith("cases.toml::")]
    assert names == [
        "square at 3", "a wrong slope", "defined f", "declared mylog", "not yet", "loose slope", "x^2", "x^2 (case 8)",
    ]


def test_a_run_passes_fails_and_skips_as_check_does(pytester):
    pytester.makefile(".toml", cases=CASES)
    result = run(pytester, "cases.toml", "-rs")
    result.assert_outcomes(passed=5, failed=2, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] cases.toml: waiting for the exact witness"])


def test_a_wrong_expectation_shows_the_witnesses_side_by_side_without_a_traceback(pytester):
    pytester.makefile(".toml", tutorial=TUTORIAL)
    result = run(pytester, "tutorial.toml", "-k", "first", "-vv")  # -vv: the summary line in full
    result.assert_outcomes(failed=1, deselected=2)
    text = result.stdout.str()
    assert (
        "✗ the tutorial's first derivative of x^3 + 2x^2 + 3x + 4 at 2 (tutorial.toml, case 1)\n"
        "  x^3 + 2*x^2 + 3*x + 4 at x = 2\n"
        "  ∂f/∂x: expected 17, autograd 23, symbolic 3*x^2 + 4*x + 3 = 23, finite diff. 23\n"
    ) in text
    assert "Traceback" not in text and "autodiff/" not in text and "CaseFailed" not in text
    # The short summary line carries the witnesses too.
    assert "FAILED tutorial.toml::the tutorial's first derivative of x^3 + 2x^2 + 3x + 4 at 2 - ∂f/∂x: expected 17" in text


def test_minus_k_selects_by_case_name(pytester):
    pytester.makefile(".toml", cases=CASES)
    result = run(pytester, "cases.toml", "-k", "slope and not loose", "-v")
    result.assert_outcomes(failed=1, deselected=7)
    result.stdout.fnmatch_lines(["cases.toml::a wrong slope FAILED*"])


def test_minus_x_stops_at_the_first_failure(pytester):
    pytester.makefile(".toml", tutorial=TUTORIAL)
    run(pytester, "tutorial.toml", "-x").assert_outcomes(failed=1)
    run(pytester, "tutorial.toml").assert_outcomes(failed=3)


def test_junitxml_names_each_case(pytester):
    pytester.makefile(".toml", cases=CASES)
    run(pytester, "cases.toml", "--junitxml=report.xml")
    cases = ElementTree.parse(pytester.path / "report.xml").getroot().iter("testcase")
    outcomes = {case.get("name"): [child.tag for child in case] for case in cases}
    assert outcomes == {
        "square at 3": [], "a wrong slope": ["failure"], "defined f": [], "declared mylog": [], "not yet": ["skipped"],
        "loose slope": [], "x^2": [], "x^2 (case 8)": ["failure"],
    }
    root = ElementTree.parse(pytester.path / "report.xml").getroot()
    failure = next(case for case in root.iter("testcase") if case.get("name") == "a wrong slope").find("failure")
    assert failure.get("message") == "∂f/∂x: expected 17, autograd 23, symbolic 3*x^2 + 4*x + 3 = 23, finite diff. 23"
    assert "x^3 + 2*x^2 + 3*x + 4 at x = 2" in failure.text


@pytest.mark.parametrize(
    "text, message",
    [
        ('[[case]]\nname = "slope"\nexpr = "x"\nat = { x = 1 }\ngrd = { x = 1 }\n',
         "bad.toml: case 1 ('slope'): 'grd': unknown key; did you mean 'grad'?"),
        ('[define]\n"f(t)" = "t^"\n[[case]]\nexpr = "f(x)"\nat = { x = 1 }\n',
         "bad.toml: [define]: in the definition of f(t): unexpected end of input; expected a number, a name or '(' at column 10"),
        ("[[case]\n", "bad.toml: not valid TOML: *"),
    ],
    ids=["unknown key", "bad define", "not TOML"],
)
def test_a_malformed_file_is_a_one_line_collection_error(pytester, text, message):
    pytester.makefile(".toml", bad=text)
    result = run(pytester, "bad.toml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ERROR collecting bad.toml*", message, "*short test summary*"])
    assert "Traceback" not in result.stdout.str()


def test_only_named_files_and_the_pattern_are_collected(pytester):
    pytester.makefile(".toml", pyproject="[project]\nname = 'x'\n", cases=CASES)
    (pytester.path / "sub").mkdir()
    (pytester.path / "sub" / "slopes.autodiff.toml").write_text(TUTORIAL)
    (pytester.path / "sub" / "seeds.toml").write_text(CASES)
    result = run(pytester, "--collect-only", "-q")  # the directory: the pattern only
    assert [line for line in result.outlines if "::" in line] == [
        "sub/slopes.autodiff.toml::the tutorial's first derivative of x^3 + 2x^2 + 3x + 4 at 2",
        "sub/slopes.autodiff.toml::the tutorial's second derivative of x^3 + 2x^2 + 3x + 4 at 2",
        "sub/slopes.autodiff.toml::the tutorial's accumulated gradient of x^2 and x^3 at 2",
    ]
    named = run(pytester, "sub/seeds.toml", "--collect-only", "-q")  # named on the command line
    assert len([line for line in named.outlines if line.startswith("sub/seeds.toml::")]) == 8


def test_the_ini_option_sets_the_pattern(pytester):
    pytester.makeini("[pytest]\nautodiff_case_files = cases_*.toml\n")
    (pytester.path / "cases_slopes.toml").write_text(TUTORIAL)
    (pytester.path / "slopes.autodiff.toml").write_text(TUTORIAL)
    result = run(pytester, "--collect-only", "-q")
    assert sorted({line.split("::")[0] for line in result.outlines if "::" in line}) == ["cases_slopes.toml"]


def test_the_command_line_tolerances_apply_to_cases_that_set_none(pytester):
    pytester.makefile(".toml", near='[[case]]\nexpr = "x^2"\nat = { x = 1 }\ngrad = { x = 2.001 }\n')
    run(pytester, "near.toml").assert_outcomes(failed=1)
    run(pytester, "near.toml", "--autodiff-rtol", "0.01").assert_outcomes(passed=1)
    run(pytester, "near.toml", "--autodiff-atol", "0.01").assert_outcomes(passed=1)


def test_an_internal_error_is_reported_in_one_line(pytester, monkeypatch):
    from autodiff.commands import cases

    monkeypatch.setattr(cases, "run_case", lambda case, options: cases.CaseResult(case, "error", message="internal error: boom"))
    pytester.makefile(".toml", near='[[case]]\nexpr = "x^2"\nat = { x = 1 }\n')
    result = run(pytester, "near.toml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["✗ x^2 (near.toml, case 1)", "  x^2 at x = 1", "  internal error: boom (please report this)"])
