"""The CLI's exact output in both views, exit codes, and the error paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from typer.testing import CliRunner

from autodiff.commands import api
from autodiff.frontends import cli
from autodiff.frontends.cli import app
from helpers import invoke, invoke_json, strict_loads

README = Path(__file__).parent.parent / "README.md"

HEADLINE = """\
f(x) = 6*x^2 + 2*x + 4
at x = 3
f = 64
derivative   autograd   symbolic   symbolic value      exact   finite diff.    
───────────────────────────────────────────────────────────────────────────────
∂f/∂x              38   12*x + 2               38         38             38   ✓
✓ autograd and the exact value agree
"""


def test_headline_human_view_exactly():
    result = invoke("grad", "6*x^2+2*x+4", "--at", "x=3")
    assert result.exit_code == 0
    assert result.stdout == HEADLINE
    assert result.stderr == ""


def test_headline_json_view_exactly():
    result, report = invoke_json("grad", "6*x^2+2*x+4", "--at", "x=3")
    assert result.exit_code == 0
    numeric = report["gradient"]["x"].pop("numeric")
    assert abs(numeric - 38) < 1e-9
    assert report == {
        "command": "grad",
        "expression": "6*x**2 + 2*x + 4",
        "variables": ["x"],
        "at": {"x": 3.0},
        "value": 64.0,
        "value_exact": "6.4000000000000000e+01",
        "value_digits": 17,
        "value_exact_source": "ball",
        "dtype": "float64",
        "order": 1,
        "gradient": {
            "x": {"autograd": 38.0, "symbolic": "12*x + 2", "symbolic_value": 38.0, "agree": True, "numeric_agree": True,
                  "checked_by": "exact", "differentiable": True, "exact": "3.8000000000000000e+01", "exact_digits": 38,
                  "exact_radius": "0", "exact_source": "ball", "autograd_digits": 17, "symbolic_digits": 17,
                  "accurate": True, "cause": None}
        },
        "agree": True,
        "checked_by": "exact",
        "warnings": [],
    }


def test_vector_point_human_view_exactly():
    result = invoke("grad", "x*y", "--at", "x=[1,2],y=3")
    assert result.exit_code == 0
    assert result.stdout == (
        "f(x, y) = x*y\n"
        "at x = [1, 2], y = 3\n"
        "f = [3, 6]\n"
        "derivative      point   autograd   symbolic   symbolic value      exact   finite diff.    \n"
        "──────────────────────────────────────────────────────────────────────────────────────────\n"
        "∂f/∂x             [0]          3   y                       3          3              3   ✓\n"
        "                  [1]          3                           3          3              3    \n"
        "∂f/∂y             [0]          1   x                       1          1              1   ✓\n"
        "                  [1]          2                           2          2              2    \n"
        "✓ autograd and the exact value agree\n"
    )


def test_vector_point_json_lists_every_number():
    _, report = invoke_json("grad", "x*y", "--at", "x=[1,2],y=3")
    assert report["at"] == {"x": [1.0, 2.0], "y": 3.0}
    assert report["value"] == [3.0, 6.0]
    assert report["gradient"]["x"]["autograd"] == [3.0, 3.0]
    assert report["gradient"]["y"]["autograd"] == [1.0, 2.0]
    assert report["gradient"]["y"]["symbolic_value"] == [1.0, 2.0]


def test_long_grids_are_elided_in_the_human_view_but_not_in_json():
    result = invoke("grad", "x^2", "--at", "x=0:1:101")
    assert result.exit_code == 0
    assert result.stdout.count("\n") < 20 and "…" in result.stdout
    _, report = invoke_json("grad", "x^2", "--at", "x=0:1:101")
    assert len(report["gradient"]["x"]["autograd"]) == 101
    assert report["gradient"]["x"]["autograd"][-1] == 2.0


def test_symbolic_only_without_a_point():
    result = invoke("grad", "6*x^2+2*x+4")
    assert result.exit_code == 0
    assert result.stdout == "f(x) = 6*x^2 + 2*x + 4\n∂f/∂x = 12*x + 2\n"
    _, report = invoke_json("grad", "6*x^2+2*x+4")
    assert report["at"] is None and report["agree"] is None
    assert report["gradient"]["x"]["symbolic"] == "12*x + 2"
    assert report["gradient"]["x"]["autograd"] is None


def test_expect_not_met_exits_1_in_both_views():
    result = invoke("grad", "6*x^2+2*x+4", "--at", "x=3", "--expect", "39")
    assert result.exit_code == 1
    assert "✗ --expect not met for ∂f/∂x" in result.stdout
    assert re.search(r"∂f/∂x\s+38\s+12\*x \+ 2\s+38\s+38\s+38\s+39\s+✗", result.stdout)
    result, report = invoke_json("grad", "6*x^2+2*x+4", "--at", "x=3", "--expect", "39")
    assert result.exit_code == 1
    assert report["expect_met"] is False and report["agree"] is True
    assert report["gradient"]["x"]["expected"] == 39.0


@pytest.mark.parametrize("expect", ["38", "x=38", "37.99999999999"])
def test_expect_met_exits_0(expect):
    result, report = invoke_json("grad", "6*x^2+2*x+4", "--at", "x=3", "--expect", expect)
    assert result.exit_code == 0
    assert report["expect_met"] is True


def test_expect_in_variable_order_and_by_name():
    result, report = invoke_json("grad", "3*x**2 + 4*y + 2", "--at", "x=1,y=2", "--expect", "6,4")
    assert result.exit_code == 0 and report["expect_met"] is True
    result, report = invoke_json("grad", "3*x**2 + 4*y + 2", "--at", "x=1,y=2", "--expect", "y=4,x=7")
    assert result.exit_code == 1
    assert report["gradient"]["x"]["expect_met"] is False and report["gradient"]["y"]["expect_met"] is True


def test_parse_error_human_view_exactly():
    result = invoke("grad", "x+")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "error: unexpected end of input; expected a number, a name or '(' at column 3\n  x+\n    ^\n"


def test_parse_error_json_view_exactly():
    result, report = invoke_json("grad", "x+")
    assert result.exit_code == 2
    assert report == {
        "error": {
            "type": "parse_error",
            "message": "unexpected end of input; expected a number, a name or '(' at column 3",
            "position": 3,
        }
    }


def test_missing_value_names_the_variable():
    result, report = invoke_json("grad", "x*y", "--at", "x=1")
    assert result.exit_code == 2
    assert report["error"] == {"type": "invalid_point", "message": "no value for y; add --at y=…"}


def test_wrt_chooses_and_orders_variables():
    _, report = invoke_json("grad", "x*y*z", "--at", "x=1,y=2,z=3", "--wrt", "z,x")
    assert list(report["gradient"]) == ["z", "x"]
    assert report["gradient"]["z"]["autograd"] == 2.0


def test_variables_in_natural_order():
    _, report = invoke_json("grad", "x10 + 2*x2 + 3*x1", "--at", "x1=0,x2=0,x10=0")
    assert list(report["gradient"]) == ["x1", "x2", "x10"]
    assert [d["autograd"] for d in report["gradient"].values()] == [3.0, 2.0, 1.0]


def test_order_three():
    result, report = invoke_json("grad", "x^5", "--at", "x=2", "--order", "3")
    assert result.exit_code == 0
    assert report["order"] == 3
    assert report["gradient"]["x"]["autograd"] == 240.0
    assert report["gradient"]["x"]["symbolic"] == "60*x**2"


def test_dtype_float32():
    result, report = invoke_json("grad", "sin(x)", "--at", "x=1", "--dtype", "float32")
    assert result.exit_code == 0 and report["dtype"] == "float32"
    assert abs(report["gradient"]["x"]["autograd"] - 0.5403023058681398) < 1e-6
    assert report["gradient"]["x"]["autograd"] != 0.5403023058681398  # really float32


def test_no_symbolic_lets_finite_differences_decide():
    result, report = invoke_json("grad", "x^3", "--at", "x=2", "--no-symbolic")
    assert result.exit_code == 0
    assert report["checked_by"] == "numeric"
    assert report["gradient"]["x"]["symbolic"] is None
    assert report["gradient"]["x"]["agree"] is True


def test_grad_output_weights_the_backward():
    _, report = invoke_json("grad", "x^2", "--at", "x=[1,2,3]", "--grad-output", "1,0,2")
    assert report["gradient"]["x"]["autograd"] == [2.0, 0.0, 12.0]
    assert report["gradient"]["x"]["symbolic_value"] == [2.0, 0.0, 12.0]
    assert report["agree"] is True


def test_grad_output_of_the_wrong_length_is_exit_2():
    result, report = invoke_json("grad", "x^2", "--at", "x=[1,2,3]", "--grad-output", "1,2")
    assert result.exit_code == 2
    assert report["error"]["message"] == "--grad-output has 2 values; the point has 3 element(s)"


def test_non_finite_numbers_are_strings_in_json():
    result, report = invoke_json("grad", "1/x", "--at", "x=0")
    assert report["value"] in ("inf", "nan")
    result, report = invoke_json("grad", "log(x)", "--at", "x=-1")
    assert report["value"] == "nan"


def test_symbolic_timeout_is_reported_and_finite_differences_decide():
    _, report = invoke_json("grad", "sin(x)^2", "--at", "x=1", "--symbolic-timeout", "0")
    assert report["checked_by"] == "numeric"
    assert report["gradient"]["x"]["symbolic"] is None
    assert report["agree"] is True
    assert "--symbolic-timeout" in report["warnings"][0]


def test_partial_mixed_derivative():
    result, report = invoke_json("partial", "u^3+v^2+4*u*v", "--wrt", "u,v", "--at", "u=3,v=4")
    assert result.exit_code == 0
    assert report["partial"]["wrt"] == ["u", "v"]
    assert report["partial"]["autograd"] == 4.0 and report["partial"]["symbolic_value"] == 4.0


def test_partial_needs_wrt_for_several_variables():
    result, report = invoke_json("partial", "x*y", "--at", "x=1,y=2")
    assert result.exit_code == 2
    assert "partial needs --wrt" in report["error"]["message"]


def test_bad_option_value_is_a_json_error_object_with_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["grad", "x", "--at", "x=1", "--dtype", "float16", "--json"])
    assert exit_info.value.code == 2
    report = strict_loads(capsys.readouterr().out)
    assert report["error"]["type"] == "usage_error"
    assert "float16" in report["error"]["message"]


def test_a_bug_is_one_line_with_exit_70(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(api, "grad", broken)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["grad", "x", "--at", "x=1"])
    assert exit_info.value.code == 70
    captured = capsys.readouterr()
    assert captured.err == "error: internal error: RuntimeError: boom (please report this)\n"
    assert "Traceback" not in captured.out + captured.err


def test_version():
    from autodiff import __version__

    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"autodiff {__version__}\n"


@pytest.mark.parametrize("command", ["grad", "partial", "hessian", "jacobian", "graph", "plot", "check", "completion",
                                     "repl"])
def test_every_command_has_help_and_is_in_the_readme(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    if command not in ("check", "completion"):
        assert "--at" in result.stdout
    if command != "completion":
        assert "--json" in result.stdout
    readme = README.read_text()
    assert f"autodiff {command}" in readme
    for option in re.findall(r"--[a-z][a-z-]+", result.stdout):
        assert option in readme, f"{command} {option} is not documented in the README"


def test_colour_only_on_a_terminal_and_never_with_no_color():
    plain = invoke("grad", "x^2", "--at", "x=1", env={"NO_COLOR": ""})
    assert "\x1b[" not in plain.stdout  # not a terminal
    forced = invoke("grad", "x^2", "--at", "x=1", env={"NO_COLOR": "", "FORCE_COLOR": "1"})
    assert "\x1b[32m✓" in forced.stdout  # as on a terminal
    refused = invoke("grad", "x^2", "--at", "x=1", env={"NO_COLOR": "1", "FORCE_COLOR": "1"})
    # NO_COLOR removes colour (foreground codes 30-39, 90-97); bold may stay.
    assert not re.search(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|9[0-7])m", refused.stdout)
    assert "✓" in refused.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grad", "x^2", "--at", "x=3", "--expect", "x=[1,2]"], "--expect gives 2 values for x; the point has 1 element(s)"),
        (["grad", "x^2", "--at", "x=[1,2,3]", "--expect", "x=[1,2]"], "--expect gives 2 values for x; the point has 3 element(s)"),
        (["grad", "x^2", "--at", "x=3", "--expect", "y=3"], "--expect names y, which is not among the derivatives (x)"),
        (["partial", "x^2", "--at", "x=3", "--expect", "x=3"], "partial's --expect is one value (a vector for a vector point), without a name"),
        (["grad", "x^2", "--expect", "3"], "--expect needs a point: add --at"),
    ],
)
def test_bad_expectations_are_exit_2_with_a_message(args, message):
    result, report = invoke_json(*args)
    assert result.exit_code == 2
    assert report["error"]["message"] == message


def test_a_scalar_expectation_applies_to_every_element():
    result, report = invoke_json("grad", "x^2", "--at", "x=[1,1,1]", "--expect", "2")
    assert result.exit_code == 0 and report["expect_met"] is True
    result, report = invoke_json("grad", "x^2", "--at", "x=[1,2]", "--expect", "2")
    assert result.exit_code == 1 and report["expect_met"] is False


def test_too_few_positional_expectations_are_exit_2():
    result, report = invoke_json("grad", "x*y^2", "--at", "x=1,y=2", "--wrt", "y,x", "--expect", "4")
    assert result.exit_code == 2
    assert report["error"]["message"].startswith("--expect gives 1 value(s) for 2 derivatives (y, x)")
    result, report = invoke_json("grad", "x*y^2", "--at", "x=1,y=2", "--expect", "y=4")  # named: a subset
    assert result.exit_code == 0 and report["gradient"]["y"]["expect_met"] is True


def test_symbolic_timeout_inf_means_no_limit():
    result, report = invoke_json("grad", "x^2", "--at", "x=1", "--symbolic-timeout", "inf")
    assert result.exit_code == 0
    assert report["checked_by"] == "exact" and report["warnings"] == []


def test_grad_output_accepts_brackets():
    _, report = invoke_json("grad", "x^2", "--at", "x=[1,2]", "--grad-output", "[1,2]")
    assert report["gradient"]["x"]["autograd"] == [2.0, 8.0]


def test_a_constant_expression_has_no_argument_list():
    result = invoke("grad", "2^10", "--at", "x=1")
    assert result.stdout.startswith("f = 1024\nat x = 1\nf = 1024\n")


def test_piped_output_is_not_folded_to_80_columns():
    # COLUMNS unset and stdout not a terminal: the table keeps every column whole.
    result = CliRunner().invoke(
        app, ["grad", "sin(x)*exp(y)*cos(z)+log(x*y*z)", "--at", "x=1,y=2,z=3", "--expect", "1,2,3"],
        env={"NO_COLOR": "1", "COLUMNS": None},
    )
    assert "symbolic value" in result.stdout
    assert "exp(y)*sin(x)*sin(z) + 1/z" in result.stdout.replace("-exp", "exp")


def test_a_bug_in_json_mode_is_an_error_object_with_exit_70(monkeypatch, capsys):
    monkeypatch.setattr(api, "grad", lambda *a, **k: (_ for _ in ()).throw(RuntimeError('bad "quote"')))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["grad", "x", "--at", "x=1", "--json"])
    assert exit_info.value.code == 70
    assert strict_loads(capsys.readouterr().out) == {
        "error": {"type": "internal_error", "message": 'internal error: RuntimeError: bad "quote"'}
    }


def test_a_bad_grad_output_is_refused_before_sympy_works(monkeypatch):
    from autodiff.engine import symbolic

    def never(*args, **kwargs):
        raise AssertionError("SymPy ran before --grad-output was validated")

    monkeypatch.setattr(symbolic, "symbolic_derivative", never)
    result, report = invoke_json("grad", "x^2", "--at", "x=[1,2,3]", "--grad-output", "1,2")
    assert result.exit_code == 2 and "--grad-output has 2 values" in report["error"]["message"]


def test_functions_command_lists_the_table():
    from autodiff.language.functions import CONSTANTS, FUNCTIONS

    result = invoke("functions")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    for spec in FUNCTIONS:
        assert any(line.startswith(spec.signature + " ") and spec.summary in line for line in lines), spec.name
    assert any(line.split()[:2] == ["atan2(y,", "x)"] and " 2 " in line for line in lines)
    assert any(line.startswith("min(a, b, ...)") and " 2+ " in line for line in lines)
    assert any(line.startswith("clamp(x, lo, hi)") and "x limited to [lo, hi]" in line for line in lines)  # not markup
    for constant in CONSTANTS:
        assert any(line.startswith(constant.name + " ") and constant.summary in line for line in lines)
    help_text = invoke("functions", "--help").stdout
    assert "--json" in help_text and "autodiff functions" in README.read_text()


def test_functions_json_is_the_table():
    from autodiff.language.functions import CONSTANTS, FUNCTIONS

    result, listing = invoke_json("functions")
    assert result.exit_code == 0
    assert listing["command"] == "functions"
    assert [f["name"] for f in listing["functions"]] == [spec.name for spec in FUNCTIONS]
    atan2 = next(f for f in listing["functions"] if f["name"] == "atan2")
    assert atan2 == {
        "name": "atan2", "signature": "atan2(y, x)", "arity": "2", "min_args": 2, "max_args": 2,
        "description": atan2["description"],
    }
    assert next(f for f in listing["functions"] if f["name"] == "max")["max_args"] is None
    assert [c["name"] for c in listing["constants"]] == [c.name for c in CONSTANTS]


HESSIAN_SADDLE = {
    "command": "hessian",
    "expression": "x**2 - y**2",
    "variables": ["x", "y"],
    "at": {"x": 0.0, "y": 0.0},
    "value": 0.0,
    "value_exact": "0",
    "value_digits": 17,
    "value_exact_source": "ball",
    "dtype": "float64",
    "hessian": {
        "variables": ["x", "y"],
        "autograd": [[2.0, 0.0], [0.0, -2.0]],
        "symbolic": [["2", "0"], ["0", "-2"]],
        "symbolic_value": [[2.0, 0.0], [0.0, -2.0]],
        "entry_agree": [[True, True], [True, True]],
        "differentiable": [[True, True], [True, True]],
        "exact": [["2.0000000000000000e+00", "0"], ["0", "-2.0000000000000000e+00"]],
        "exact_digits": [[38, 38], [38, 38]],
        "exact_radius": [["0", "0"], ["0", "0"]],
        "exact_source": [["ball", "ball"], ["ball", "ball"]],
        "autograd_digits": [[17, 17], [17, 17]],
        "symbolic_digits": [[17, 17], [17, 17]],
        "accurate": [[True, True], [True, True]],
        "cause": [[None, None], [None, None]],
        "agree": True,
        "symmetric": True,
        "eigenvalues": [-2.0, 2.0],
        "definiteness": "indefinite",
        "gradient": [0.0, 0.0],
        "critical_point": "saddle point",
    },
    "agree": True,
    "checked_by": "exact",
    "warnings": [],
}


def test_hessian_json_view_exactly():
    result, report = invoke_json("hessian", "x^2 - y^2", "--at", "x=0,y=0")
    assert result.exit_code == 0
    numeric = report["hessian"].pop("numeric")
    assert numeric == [[pytest.approx(2.0), pytest.approx(0.0, abs=1e-9)], [pytest.approx(0.0, abs=1e-9), pytest.approx(-2.0)]]
    assert report == HESSIAN_SADDLE


def test_jacobian_json_view_exactly():
    result, report = invoke_json("jacobian", "[x*y, x+y, sin(x)]", "--at", "x=0,y=2")
    assert result.exit_code == 0
    numeric = report["jacobian"].pop("numeric")
    assert numeric == [[pytest.approx(v, abs=1e-9) for v in row] for row in [[2, 0], [1, 1], [1, 0]]]
    assert report == {
        "command": "jacobian",
        "expression": "[x*y, x + y, sin(x)]",
        "variables": ["x", "y"],
        "at": {"x": 0.0, "y": 2.0},
        "value": [0.0, 2.0, 0.0],
        "value_exact": ["0", "2.0000000000000000e+00", "0"],
        "value_digits": [17, 17, 17],
        "value_exact_source": ["ball", "ball", "ball"],
        "dtype": "float64",
        "jacobian": {
            "functions": ["x*y", "x + y", "sin(x)"],
            "variables": ["x", "y"],
            "autograd": [[2.0, 0.0], [1.0, 1.0], [1.0, 0.0]],
            "symbolic": [["y", "x"], ["1", "1"], ["cos(x)", "0"]],
            "symbolic_value": [[2.0, 0.0], [1.0, 1.0], [1.0, 0.0]],
            "entry_agree": [[True, True], [True, True], [True, True]],
            "differentiable": [[True, True], [True, True], [True, True]],
            "exact": [["2.0000000000000000e+00", "0"], ["1.0000000000000000e+00", "1.0000000000000000e+00"],
                      ["1.0000000000000000e+00", "0"]],
            "exact_digits": [[38, 38], [38, 38], [38, 38]],
            "exact_radius": [["0", "0"], ["0", "0"], ["0", "0"]],
            "exact_source": [["ball", "ball"], ["ball", "ball"], ["ball", "ball"]],
            "autograd_digits": [[17, 17], [17, 17], [17, 17]],
            "symbolic_digits": [[17, 17], [17, 17], [17, 17]],
            "accurate": [[True, True], [True, True], [True, True]],
            "cause": [[None, None], [None, None], [None, None]],
            "agree": True,
        },
        "agree": True,
        "checked_by": "exact",
        "warnings": [],
    }


def test_hessian_vector_point_human_view_exactly():
    result = invoke("hessian", "x^2*y + y^3", "--at", "x=[1,0],y=[2,0]", "--wrt", "y,x")
    assert result.exit_code == 0
    assert result.stdout == """\
f(x, y) = x^2*y + y^3
at x = [1, 0], y = [2, 0]
f = [10, 0]
derivative      point   autograd   symbolic   symbolic value      exact   finite diff.    
──────────────────────────────────────────────────────────────────────────────────────────
∂²f/∂y²           [0]         12   6*y                    12         12             12   ✓
                  [1]          0                           0          0              0    
∂²f/∂x∂y          [0]          2   2*x                     2          2    1.999999999   ✓
                  [1]          0                           0          0              0    
∂²f/∂x²           [0]          4   2*y                     4          4    4.000000002   ✓
                  [1]          0                           0          0              0    
point   eigenvalues                definiteness        critical point
─────────────────────────────────────────────────────────────────────
[0]     3.527864045, 12.47213595   positive definite   —             
[1]     0, 0                       zero                inconclusive  
✓ autograd and the exact value agree
"""


def test_symbolic_only_matrices_human_view_exactly():
    result = invoke("hessian", "x^2*y + y^3")
    assert result.exit_code == 0
    assert result.stdout == "f(x, y) = x^2*y + y^3\n∂²f/∂x² = 2*y\n∂²f/∂y∂x = 2*x\n∂²f/∂y² = 6*y\n"
    result = invoke("jacobian", "[x*y, exp(y)]")
    assert result.exit_code == 0
    assert result.stdout == "f(x, y) = [x*y, exp(y)]\n∂f₁/∂x = y\n∂f₁/∂y = x\n∂f₂/∂x = 0\n∂f₂/∂y = exp(y)\n"
    result, report = invoke_json("hessian", "x*y")
    assert report["hessian"]["symbolic"] == [["0", "1"], ["1", "0"]]
    assert report["hessian"]["autograd"] == [[None, None], [None, None]]
    assert report["agree"] is None and report["hessian"]["eigenvalues"] is None


def test_matrix_expect_unmet_shows_expected_and_exits_1():
    result = invoke("hessian", "x*y", "--at", "x=1,y=2", "--expect", "[[0,1],[1,5]]")
    assert result.exit_code == 1
    assert "✗ --expect not met for ∂²f/∂y²" in result.stdout
    assert "✓ autograd and the exact value agree" in result.stdout


def test_large_hessian_lists_failures_and_summarises_the_rest():
    text = " + ".join(f"(x{i} - x{i + 1})^2" for i in range(1, 10))
    at = ",".join(f"x{i}={i}" for i in range(1, 11))
    result = invoke("hessian", text, "--at", at, "--no-symbolic")
    assert result.exit_code == 0
    assert "  … 31 more entries, all agreeing (--json lists every entry)" in result.stdout
    assert "Hessian (autograd)" not in result.stdout  # 10 columns: no grid
    assert "positive semidefinite" in result.stdout  # constant direction: all equal
    result = invoke("hessian", text, "--at", at, "--no-symbolic", "--expect", ",".join(["0"] * 100))
    assert result.exit_code == 1
    assert "∂²f/∂x10²" in result.stdout  # a failing entry beyond the first 24 is still listed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["hessian", "3"], "the expression has no variables to differentiate by; name them with --wrt or --at"),
        (["hessian", "x*y", "--at", "x=1,y=2", "--wrt", "x,x"], "--wrt names a variable twice: x,x"),
        (["hessian", "x*y", "--at", "x=1,y=2", "--expect", "1,2,3"], "--expect has 3 values; the 2×2 matrix has 4"),
        (["jacobian", "[x, y]", "--at", "x=1"], "no value for y; add --at y=…"),
        (["hessian", "[x, y]", "--at", "x=1,y=1"], "a list [f1, f2, ...] is only allowed as the expression of"),
    ],
)
def test_matrix_usage_errors(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    result, report = invoke_json(*args)
    assert result.exit_code == 2 and message in report["error"]["message"]


def test_matrix_limit_is_exit_2_naming_the_limit():
    from autodiff.limits import Limits

    with pytest.raises(api.LimitError, match="more than the limit of 3"):
        api.hessian("x*y", at={"x": 1, "y": 2}, limits=Limits(max_matrix_entries=3))


def test_the_python_api_accepts_strings_where_the_cli_does():
    import autodiff

    assert autodiff.partial("x^2*y", at={"x": 1, "y": 2}, wrt="x,y").partial.autograd == 2.0
    assert autodiff.grad("x^2", at={"x": [1, 2]}, grad_output="1,2").gradient["x"].autograd == [2.0, 8.0]
    assert autodiff.grad("x^2", at="x=3", expect=6).expect_met is True
    assert autodiff.grad("x^2", at={"x": 3}, expect=7).expect_met is False


@pytest.mark.parametrize("at", [{"x": "2,y=3"}, {"y=3,x": 2}, {"x": "[1,2],y=[3,4]"}])
def test_a_mapping_point_cannot_name_other_variables(at):
    import autodiff

    with pytest.raises(autodiff.AutodiffError) as caught:
        autodiff.grad("x*y", at=at)
    assert caught.value.type == "invalid_point"


def test_jacobian_of_a_python_list_parses_each_function_alone():
    import autodiff

    with pytest.raises(autodiff.AutodiffError) as caught:
        autodiff.jacobian(["x*y", "x+y, x"], at={"x": 1, "y": 2})
    assert caught.value.type == "parse_error"
    assert autodiff.jacobian(["x*y", "x+y"], at={"x": 1, "y": 2}).matrix("autograd") == [[2.0, 1.0], [1.0, 1.0]]
