"""Every table at every terminal width: a number is printed whole or not at
all, never cropped or ellipsised; every ✓/✗ is printed; an expression may
fold onto more lines but keeps every character. Each command is run twice,
for its JSON answer and for the human view at 40, 60, 80 and 120 columns."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import pytest
from helpers import invoke, invoke_json

from autodiff.language.notation import show
from autodiff.presentation.render import expression_text
from autodiff.text import elide, format_number
from autodiff.text import exact_text

WIDTHS = (40, 60, 80, 120)
CASES = Path(__file__).parent / "cases"

COMMANDS = {
    "hessian": ["hessian", "x^2*y + y^3", "--at", "x=1,y=2"],
    "vector": ["grad", "x^2", "--at", "x=[1,2,3]"],
    "gradient of three variables": ["grad", "x^2*y*z + sin(x*y)", "--at", "x=1.3,y=2.7,z=-0.4"],
    "jacobian": ["jacobian", "[x*y, sin(x)*exp(y), x^2+y^2, atan2(y, x)]", "--at", "x=1.3,y=2.7"],
    "long expression": ["grad", "sin(x)*exp(cos(x^2))*log(1+x^2)/(1+tanh(x))^3 + sqrt(x^2+1)", "--at", "x=0.7"],
    "partial": ["partial", "u^3*v^2 + 4*u*v + exp(u/v)", "--wrt", "u,v", "--at", "u=1.5,v=-2.25"],
    "vector hessian": ["hessian", "x^2*y + y^3 + x*y*z", "--at", "x=[1,2],y=[0.5,2],z=[1,3]"],
    "grid": ["grad", "x^3 - x", "--at", "x=0:1:21"],
    "tiny and huge": ["grad", "exp(x) + 1e300*y^2", "--at", "x=-700.5,y=1.75"],
    "expect not met": ["grad", "x^3", "--at", "x=1.1", "--expect", "3.7"],
    "second order": ["grad", "sin(x)^2", "--at", "x=0.3", "--order", "2"],
}

NUMBER_KEYS = ("autograd", "symbolic_value", "numeric", "exact", "expected")
MARKS = re.compile("[✓✗]")


def shown(number) -> str:
    """A JSON number as the table formats it."""
    if number in ("nan", "inf", "-inf"):
        return number
    return format_number(float(number))


def leaves(values) -> list:
    """The numbers of a JSON value; a list over points is elided as the table elides it."""
    if not isinstance(values, list):
        return [values]
    if values and not isinstance(values[0], list):
        return [v for v in elide(values) if v != "…"]
    return [leaf for value in values for leaf in leaves(value)]


def entries(payload: dict) -> list[dict]:
    """Each derivative the table lists, as {key: JSON value}."""
    if "gradient" in payload:
        return list(payload["gradient"].values())
    if "partial" in payload:
        return [payload["partial"]]
    matrix = payload.get("hessian") or payload["jacobian"]
    hessian = "hessian" in payload
    rows = range(len(matrix["autograd"]))
    columns = range(len(matrix["variables"]))
    listed = [(i, j) for i in rows for j in columns if not hessian or j >= i]  # a Hessian lists its upper triangle
    return [{key: matrix[key][i][j] for key in NUMBER_KEYS + ("symbolic",) if key in matrix} for i, j in listed]


def expected_numbers(payload: dict) -> list[str]:
    numbers = [shown(v) for v in leaves(payload["value"])]
    for entry in entries(payload):
        for key in NUMBER_KEYS:
            for value in leaves(entry.get(key)):
                if value is not None:
                    numbers.append(exact_text(value) if key == "exact" else shown(value))
    for value in leaves(payload.get("hessian", {}).get("eigenvalues", [])):
        numbers.append(shown(value))
    return numbers


def flat(text: str) -> str:
    """The output without whitespace: a text folded or wrapped onto several lines reads whole again."""
    return re.sub(r"\s", "", text)


def table_column(text: str, header: str = "symbolic") -> str:
    """The table's symbolic column, top to bottom, without whitespace: a
    cell folded onto several lines of a table reads whole again."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        match = re.search(rf"(?<= ){header}(?=  |$)", line) if line.startswith("derivative") else None
        if match:
            start = match.start()
            cells = []
            for row in lines[number + 2 :]:
                if not row.startswith(("∂", " ")):
                    break
                cell = re.match(r" ?\S+(?: \S+)*", row[start:])  # columns are at least three spaces apart
                cells.append(cell.group(0) if cell else "")
            return flat("".join(cells))
    return ""


def assert_whole(text: str, number: str) -> None:
    token = rf"(?<![\w.+\-]){re.escape(number)}(?![\w.])"
    assert re.search(token, text, re.M), f"{number} is not printed whole"


def assert_no_ellipsis_for_digits(text: str) -> None:
    # An elided row or list is a lone "…": never one that stands for cut digits or letters.
    for match in re.finditer("…", text):
        before = text[match.start() - 1] if match.start() else " "
        after = text[match.end()] if match.end() < len(text) else " "
        assert before in " [\n(" and after in " ,]\n", f"a cut text: {text[max(0, match.start() - 20):match.end() + 5]!r}"


def marks(text: str) -> list[str]:
    return MARKS.findall(text)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", COMMANDS)
def test_every_number_and_mark_at_every_width(name, width):
    args = COMMANDS[name]
    result, payload = invoke_json(*args)
    human = invoke(*args, env={"COLUMNS": str(width)})
    assert human.exit_code == result.exit_code, human.stdout + human.stderr
    text = human.stdout
    for number in expected_numbers(payload):
        assert_whole(text, number)
    assert_no_ellipsis_for_digits(text)
    # every verdict: one mark per derivative listed, and the closing line(s)
    assert marks(text) == marks(invoke(*args, env={"COLUMNS": "400"}).stdout)
    assert len(marks(text)) > len(entries(payload))
    # expressions may fold, but every character is printed
    searchable = flat(text) + "\n" + table_column(text)
    assert flat(expression_text(payload["expression"])) in flat(text)
    for entry in entries(payload):
        assert flat(expression_text(entry["symbolic"])) in searchable, entry["symbolic"]
    # every line fits, but the header's (f's text, the point, f), which are never folded
    for line in text.splitlines()[3:]:
        assert len(line) <= width, line


def test_the_crops_that_were_reported_are_gone():
    # At 60 columns the Hessian printed 1.99999… and 4.00000… and no ✓ column,
    # and the vector gradient had no symbolic column.
    text = invoke(*COMMANDS["hessian"], env={"COLUMNS": "60"}).stdout
    assert "1.999999999" in text and "4.000000002" in text and text.count("✓") == 4
    text = invoke(*COMMANDS["vector"], env={"COLUMNS": "60"}).stdout
    assert "2*x" in text and text.count("✓") == 2


def test_the_layout_follows_the_width():
    # wide: the table with its symbolic column
    wide = invoke(*COMMANDS["gradient of three variables"], env={"COLUMNS": "120"}).stdout
    assert re.search(r"^derivative +autograd +symbolic +symbolic value", wide, re.M)
    # a little narrower: each derivative's symbolic text on a line of its own, above a table of
    # numbers whose headers take two lines
    middle = invoke(*COMMANDS["gradient of three variables"], env={"COLUMNS": "80"}).stdout
    assert re.search(r"^ +symbolic +finite *\nderivative +autograd +value +exact +diff\. *\n─+\n∂f/∂x +-5.326835646", middle, re.M)
    assert re.search(r"^∂f/∂x = 2\*x\*y\*z \+ y\*cos\(x\*y\)$", middle, re.M)
    # narrow: one block per derivative, a `name: value` line per number
    narrow = invoke(*COMMANDS["gradient of three variables"], env={"COLUMNS": "60"}).stdout
    assert "derivative" not in narrow
    assert re.search(r"^∂f/∂x ✓\n  symbolic: +2\*x\*y\*z \+ y\*cos\(x\*y\)\n  autograd: +\S+", narrow, re.M)


def test_a_vector_point_in_blocks_groups_the_numbers_by_point():
    text = invoke(*COMMANDS["vector"], env={"COLUMNS": "40"}).stdout
    assert "  [1] autograd:       4" in text
    assert "      finite diff.:   6" in text


def test_a_wide_matrix_is_listed_row_by_row():
    args = ["hessian", "x^2*y*z*w + exp(x*y*z*w)/7", "--at", "x=1.1,y=1.2,z=1.3,w=1.4"]
    _, payload = invoke_json(*args)
    text = invoke(*args, env={"COLUMNS": "40"}).stdout
    assert flat("Hessian (autograd), row by row; columns w, x, y, z") in flat(text)
    for row, values in zip(payload["hessian"]["variables"], payload["hessian"]["autograd"]):
        assert flat(f"{row}: {', '.join(shown(v) for v in values)}") in flat(text)
    for value in leaves(payload["hessian"]["autograd"]):
        assert_whole(text, shown(value))


@pytest.mark.parametrize("width", WIDTHS)
def test_functions_at_every_width(width):
    _, listing = invoke_json("functions")
    text = invoke("functions", env={"COLUMNS": str(width)}).stdout
    lines = text.splitlines()
    for function in listing["functions"]:
        line = next(line for line in lines if line.startswith(function["signature"] + " "))
        assert re.search(rf"\s{re.escape(function['arity'])}\s", line), line
        assert flat(function["description"]) in flat(text)
    for constant in listing["constants"]:
        assert any(line.startswith(constant["name"] + " ") for line in lines)
        assert flat(constant["description"]) in flat(text)
    assert all(len(line) <= width for line in lines)


@pytest.mark.parametrize("width", WIDTHS)
def test_check_at_every_width(width):
    files = [str(CASES / "seeds.toml"), str(CASES / "tutorial_mistakes.toml")]
    result, report = invoke_json("check", *files)
    human = invoke("check", *files, env={"COLUMNS": str(width)})
    assert human.exit_code == result.exit_code == 1
    text = human.stdout
    for case in report["cases"]:
        assert flat(case["name"]) in flat(text)
        for failure in case.get("failures", []):
            assert flat(show(failure["message"])) in flat(text)  # in the notation people type
            for key in ("autograd", "symbolic_value", "expected"):
                if isinstance(failure.get(key), float) and math.isfinite(failure[key]):
                    assert_whole(text, shown(failure[key]))
    assert_no_ellipsis_for_digits(text)
    assert marks(text) == marks(invoke("check", *files, env={"COLUMNS": "400"}).stdout)
    passed = sum(case["outcome"] == "passed" for case in report["cases"])
    assert marks(text).count("✓") == passed


def test_below_forty_columns_each_value_goes_below_its_name():
    args = COMMANDS["tiny and huge"]
    _, payload = invoke_json(*args)
    text = invoke(*args, env={"COLUMNS": "24"}).stdout
    for number in expected_numbers(payload):
        assert_whole(text, number)
    assert re.search(r"^  autograd: *\n    5\.980196119e-305 *$", text, re.M)
    assert_no_ellipsis_for_digits(text)


def test_an_exact_value_beyond_decimals_exponents_is_shown_not_a_crash():
    """exp(1e308*y) at y = -1: the exact value's exponent has 308 digits, beyond Decimal's."""
    huge = "9.4885930457173431e-" + "4342944819032518324192756696" * 11
    assert exact_text(huge) == "9.488593046e-" + "4342944819032518324192756696" * 11
    result = invoke("partial", "exp(y)^(1e308)", "--at", "y=-1", "--wrt", "y", "--symbolic-timeout", "0")
    assert result.exit_code == 0 and "exactly 9.488593046e-434294481903" in result.stdout


# --- every number whole on a terminal (issue 29) -------------------------------

TERMINAL_WIDTHS = (40, 50, 60)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
DURATION = re.compile(r"\d+(?:\.\d+)? (?:ms|µs|s)\b")  # minimize's wall times differ from run to run
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w.])")

ON_A_TERMINAL = {
    "minimize, Himmelblau": ["minimize", "(x^2+y-11)^2+(x+y^2-7)^2", "--from", "x=2.5,y=2.5", "--optimizer", "adam,lbfgs"],
    "minimize, Styblinski-Tang": ["minimize", "0.5*((x^4-16x^2+5x)+(y^4-16y^2+5y))", "--from", "x=-3,y=-3",
                                  "--optimizer", "lbfgs"],
    "minimize, one variable": ["minimize", "x^4-3x^2+x", "--from", "x=0.9646844", "--optimizer", "gd,lbfgs"],
    "minimize, a family": ["minimize", "(x+y)^2", "--from", "x=0.9646844,y=0.5123456", "--optimizer", "gd"],
    "warning, a kink": ["grad", "abs(x-0.9646844)", "--at", "x=0.9646844"],
    "warning, domain edge": ["grad", "sqrt(x)", "--at", "x=0"],
    "warning, outside the domain": ["grad", "log(x)", "--at", "x=-0.5123456"],
    "warning, cancellation": ["grad", "1-cos(x)", "--at", "x=1e-8"],
    "hessian": ["hessian", "x^2*y + y^3", "--at", "x=1.0123456,y=2.9646844"],
    "jacobian": ["jacobian", "[x*y, sin(x)*exp(y), x^2+y^2, atan2(y, x)]", "--at", "x=1.3,y=2.7"],
    "taylor": ["taylor", "sin(x)*exp(y)", "--at", "x=0.9646844,y=0.5123456", "--order", "3"],
    "verify, wrong": ["verify", "log(x)", "-d", "1/x+0.001"],
    "graph": ["graph", "x^2 + detach(y)", "--at", "x=2.9646844,y=3.5123456"],
    "check": ["check", str(CASES / "seeds.toml"), str(CASES / "tutorial_mistakes.toml")],
}


def on_screen(text: str, width: int) -> str:
    """`text` as a terminal `width` columns wide shows it: each line longer
    than the terminal folded at its last column, whatever stands there."""
    from rich.cells import cell_len

    lines = []
    for line in ANSI.sub("", text).splitlines():
        while cell_len(line) > width:
            cut = next(i for i in range(len(line), 0, -1) if cell_len(line[:i]) <= width)
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return "\n".join(lines)


def numbers(text: str) -> Counter:
    return Counter(NUMBER.findall(DURATION.sub("", text)))


@pytest.mark.parametrize("width", TERMINAL_WIDTHS)
@pytest.mark.parametrize("name", ON_A_TERMINAL)
def test_every_number_is_whole_on_a_terminal(name, width):
    args = ON_A_TERMINAL[name]
    wide = invoke(*args, env={"COLUMNS": "200"})
    narrow = invoke(*args, env={"COLUMNS": str(width), "TTY_COMPATIBLE": "1"})  # rich: a terminal
    assert narrow.exit_code == wide.exit_code, narrow.stdout + narrow.stderr
    shown = on_screen(narrow.stdout, width) + "\n" + on_screen(narrow.stderr, width)
    expected, seen = numbers(wide.stdout + wide.stderr), numbers(shown)
    split = {number: count for number, count in expected.items() if seen[number] < count}
    assert not split, f"split or cropped at {width} columns: {split}\n{shown}"
    # nothing was left for the terminal to fold: every line fits
    for line in ANSI.sub("", narrow.stdout + narrow.stderr).splitlines():
        assert len(line) <= width, line


def test_the_reported_splits_are_gone():
    """`x = 0⏎.9646844` in a warning, and minimize's critical points folded
    inside their numbers, at 50 columns."""
    terminal = {"COLUMNS": "50", "TTY_COMPATIBLE": "1"}
    result = invoke(*ON_A_TERMINAL["warning, a kink"], env=terminal)
    assert ANSI.sub("", result.stderr).splitlines() == [
        "warning: ∂f/∂x does not exist at x=0.9646844,",
        "where abs(x - 0.9646844) switches branches (left",
        "derivative -1, right 1); autograd gives 0 (their",
        "average), SymPy 0",
    ]
    text = ANSI.sub("", invoke(*ON_A_TERMINAL["minimize, Himmelblau"], env=terminal).stdout)
    assert "x = -3.073025751, y = -0.08135304429:\nf = 104.0151629, saddle point, reached by —\n" in text


def test_a_name_and_its_value_stay_together():
    from rich.text import Text

    from autodiff.presentation.lines import wrap_units

    text = "lbfgs (lr 1): converged, 7 steps: x = 3.385154184, y = 0.07385187984, f = 13.31192627"
    for width in range(20, 60):
        lines = wrap_units(Text(text), width).plain.splitlines()
        assert " ".join(lines) == text
        assert all(not line.endswith(" =") and not line.startswith("= ") for line in lines)
        assert {"x = 3.385154184,", "y = 0.07385187984,", "f = 13.31192627"} <= {
            unit for line in lines for unit in re.findall(r"\w = \S+", line)
        }


def test_a_number_wider_than_the_line_stands_whole_on_its_own():
    from rich.text import Text

    from autodiff.presentation.lines import wrap_units

    wrapped = wrap_units(Text("  f = 0 (exactly 9.488593046e-4342944819032518324192756696)"), 20).plain
    assert wrapped.splitlines() == ["  f = 0 (exactly", "  9.488593046e-4342944819032518324192756696)"]


def test_a_long_expression_folds_between_tokens_never_inside_a_number():
    from rich.text import Text

    from autodiff.presentation.lines import wrap_units

    expression = "f ≈ exp(40027/78125)*sin(2411711/2500000) + (exp(40027/78125)*cos(-2411711.5e-3))*(x - 0.9646844)"
    for width in range(18, 40):  # its widest token, "(-2411711.5e-3))*", is 17
        lines = wrap_units(Text(expression), width).plain.splitlines()
        assert "".join(lines).replace(" ", "") == expression.replace(" ", "")
        assert all(len(line) <= width for line in lines), lines
        for number in ("40027", "78125", "2411711", "2500000", "-2411711.5e-3", "0.9646844"):
            assert any(re.search(rf"(?<![\d.e-]){re.escape(number)}(?![\d.e])", line) for line in lines), (number, lines)
        # a function's name stays with the bracket of its call: no line ends in `exp` or `sin`
        assert not any(re.search(r"(exp|sin|cos)$", line.rstrip()) for line in lines), lines


def test_off_a_terminal_a_warning_is_one_line_whatever_columns_says():
    # A program reading a pipe gets each line whole; only a terminal folds it.
    result = invoke(*ON_A_TERMINAL["warning, a kink"], env={"COLUMNS": "50"})
    assert result.stderr.count("\n") == 1 and "at x=0.9646844, where abs(x - 0.9646844) switches" in result.stderr


def test_taylor_and_verify_turn_to_blocks_rather_than_crop():
    # At 50 columns the tables cropped 0.04166666667 to 0.0416666666 and 13.33433333 to 13.334…
    text = invoke("taylor", "exp(x)", "--at", "x=0", "--order", "5", env={"COLUMNS": "50"}).stdout
    assert re.search(r"^x\^4 ✓\n  Taylor mode: 0\.04166666667\n", text, re.M)
    text = invoke("verify", "log(x)", "-d", "1/x+0.001", env={"COLUMNS": "40"}).stdout
    assert re.search(r"^x = 0\.075\n  claimed: +13\.33433333\n", text, re.M)
