"""What people type at the command line (issue: language and terminal):
a leading minus, a bare point, natural guesses answered with a hint, usage
errors in one line, --quiet for the shell, --notation, and help with examples.

These run `autodiff.frontends.cli.main`, the console script's own entry point (the
leading-minus handling and the error style live there, before click).
"""

from __future__ import annotations

import json
import re

import pytest
import typer

from autodiff.frontends import cli


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as leaving:
        cli.main(list(args))
    out, err = capsys.readouterr()
    return leaving.value.code, out, err


@pytest.fixture(autouse=True)
def _plain(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")


# -- a leading minus ----------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (["grad", "-x^2", "--at", "x=1"], {"x": -2.0}),
    (["grad", "--at", "x=1", "-x^2"], {"x": -2.0}),
    (["grad", "-4x", "--at", "x=1"], {"x": -4.0}),
    (["grad", "-z + x/y", "--at", "x=1,y=2,z=3"], {"x": 0.5, "y": -0.25, "z": -1.0}),
    (["grad", "-n", "2", "-x^3", "--at", "x=1"], {"x": -6.0}),
    (["grad", "--order=2", "-x^3", "--at=x=1"], {"x": -6.0}),
])
def test_an_expression_may_begin_with_a_minus(capsys, args, expected):
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    gradient = json.loads(out)["gradient"]
    assert {name: entry["autograd"] for name, entry in gradient.items()} == expected


def test_a_minus_word_after_the_expression_is_still_an_option(capsys):
    code, out, err = run(capsys, "grad", "x^2", "-x")
    assert code == 2
    assert err.startswith("error: no such option -x")


def test_partial_and_hessian_take_a_leading_minus_too(capsys):
    code, out, _ = run(capsys, "partial", "-x^2*y", "--wrt", "x,y", "--at", "x=1,y=1", "--json")
    assert code == 0 and json.loads(out)["partial"]["autograd"] == -2.0
    code, out, _ = run(capsys, "hessian", "-x^2", "--at", "x=1", "--json")
    assert code == 0 and json.loads(out)["hessian"]["autograd"] == [[-2.0]]


# -- a bare point -------------------------------------------------------------

def test_a_bare_point_names_the_only_variable(capsys):
    code, out, _ = run(capsys, "grad", "x^2", "--at", "3", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["at"] == {"x": 3.0} and data["gradient"]["x"]["autograd"] == 6.0


def test_a_bare_point_with_two_variables_is_refused(capsys):
    code, out, err = run(capsys, "grad", "x*y", "--at", "3")
    assert code == 2
    assert "expected name=value" in err and "has one" in err


# -- usage errors: one line, plain words, hints -----------------------------

@pytest.mark.parametrize("args, message", [
    (["x^2"], "error: no such command 'x^2'; to differentiate it: autodiff grad 'x^2' --at …"),
    (["diff", "x^2"], "error: no such command 'diff'; did you mean autodiff grad?"),
    (["derivative", "x^2"], "error: no such command 'derivative'; did you mean autodiff grad?"),
    (["grd", "x"], "error: no such command 'grd'; did you mean autodiff grad?"),
    (["grad", "x^2", "x=3"], "error: unexpected extra argument: x=3; give the point with --at: --at x=3"),
    (["grad", "x", "--order", "0"], "error: --order must be at least 1, not 0; see autodiff grad -h"),
    (["grad", "x", "--dtype", "float16"],
     "error: --dtype must be one of float64, float32, not 'float16'; see autodiff grad -h"),
    (["grad"], 'error: missing the expression; autodiff grad "x^2" --at x=3'),
    (["grad", "x", "--at"], "error: option '--at' requires an argument; see autodiff grad -h"),
    (["-x^2"], "error: no such option -x; a command comes first: autodiff grad '-x^2' --at …"),
])
def test_usage_errors_are_one_line_with_a_hint(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert err == message + "\n"
    assert "Usage:" not in err and "Input should" not in err and "Try '" not in err


def test_usage_errors_in_json_mode_are_json(capsys):
    code, out, err = run(capsys, "grad", "x", "--rtol", "abc", "--json")
    assert code == 2
    assert json.loads(out) == {"error": {"type": "usage_error", "message": "--rtol must be a number, not 'abc'; see autodiff grad -h"}}


# -- --quiet ------------------------------------------------------------------

@pytest.mark.parametrize("args, lines", [
    (["grad", "x^2", "--at", "x=3"], ["6"]),
    (["grad", "x^2*y", "--at", "x=3,y=2"], ["12", "9"]),
    (["grad", "x^2", "--at", "x=[1,2,3]"], ["2,4,6"]),
    (["grad", "0.1*x", "--at", "x=1"], ["0.1"]),
    (["partial", "x^2*y", "--wrt", "x,y", "--at", "x=3,y=2"], ["6"]),
    (["hessian", "x^2*y", "--at", "x=3,y=2"], ["4 6", "6 0"]),
    (["jacobian", "[x*y, x+y]", "--at", "x=1,y=2"], ["2 1", "1 1"]),
    (["grad", "x^3"], ["3*x^2"]),
])
def test_quiet_prints_only_the_numbers(capsys, args, lines):
    code, out, err = run(capsys, *args, "-q")
    assert code == 0
    assert out.splitlines() == lines
    assert err == ""


def test_quiet_keeps_the_exit_code_of_a_failed_check(capsys):
    code, out, err = run(capsys, "grad", "x^2", "--at", "x=3", "--expect", "7", "-q")
    assert code == 1 and out == "6\n"
    assert err == "✗ --expect not met for ∂f/∂x\n"  # said, in one line, where the numbers do not go


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_quiet_stream_keeps_its_answers_in_step_with_its_lines(jobs):
    from helpers import invoke

    result = invoke("grad", "-", "--at", "x=2", "-q", "--jobs", jobs, input="x^2\nx+\nx^3\n")
    assert result.exit_code == 2
    assert result.stdout.splitlines() == ["4", "error", "12"]
    assert "line 2: error: unexpected end of input" in result.stderr


# -- --notation ---------------------------------------------------------------

@pytest.mark.parametrize("notation, shown", [
    ("plain", "∂f/∂x = 3*x^2*abs(y)"),
    ("python", "∂f/∂x = 3*x**2*Abs(y)"),
    ("latex", "∂f/∂x = 3 x^{2} \\left|{y}\\right|"),
])
def test_notation_of_the_symbolic_derivative(capsys, notation, shown):
    code, out, _ = run(capsys, "grad", "x^3*|y|", "--wrt", "x", "--notation", notation)
    assert code == 0
    assert shown in out


def test_json_keeps_the_machine_form_whatever_the_notation(capsys):
    code, out, _ = run(capsys, "grad", "3.5x + x^2.0", "--at", "x=1", "--notation", "latex", "--json")
    entry = json.loads(out)["gradient"]["x"]
    assert entry["symbolic"] == "2*x + 3.5"


@pytest.mark.parametrize("text, shown", [("3.5x", "3.5"), ("6*x^2+2*x+4", "12*x + 2"), ("x^2.0", "2*x"),
                                         ("x^1.5", "1.5*x^0.5"), ("0.1*x^2", "0.2*x")])
def test_answers_come_back_in_the_notation_typed(capsys, text, shown):
    code, out, _ = run(capsys, "grad", text)
    assert code == 0
    assert out.splitlines()[-1] == f"∂f/∂x = {shown}"


# -- help ---------------------------------------------------------------------

COMMANDS = sorted(typer.main.get_command(cli.app).commands)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_examples(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    examples = out[out.index("Examples:"):].splitlines()[1:]
    commands = [line.strip() for line in examples if "autodiff " in line]
    assert len(commands) >= 2, out
    assert all(f"autodiff {command}" in line for line in commands), commands
    assert "\\[" not in out  # no stray escapes of rich markup


def test_help_lines_never_break_a_path_or_a_command(capsys):
    code, out, _ = run(capsys, "completion", "--help")
    assert "autodiff completion bash > ~/.local/share/bash-completion/completions/autodiff" in out


def test_a_notation_lasts_one_command_only(capsys):
    run(capsys, "grad", "x^3", "--notation", "latex")
    code, out, _ = run(capsys, "graph", "x^3", "--at", "x=1")
    assert code == 0 and "x^3" in out and "x^{3}" not in out


def test_an_option_after_a_double_dash_is_named_as_such(capsys):
    code, out, err = run(capsys, "grad", "--at", "x=1", "--", "-x", "-q")
    assert code == 2
    assert err == "error: unexpected extra argument: -q; after `--` every word is the expression; put options before it\n"


def test_the_hints_know_every_command():
    from autodiff.frontends.hints import COMMANDS

    assert set(cli.command().commands) == set(COMMANDS)


def test_no_command_prints_the_help_as_help_does_and_exits_2(capsys):
    code, out, err = run(capsys)
    assert code == 2 and err == ""
    assert out.startswith("Usage: autodiff [OPTIONS] COMMAND [ARGS]...")
    assert "\n  grad " in out and "error:" not in out  # a laid-out help, not one error line


@pytest.mark.parametrize("args, message", [
    (["completion"], "error: missing the shell; choose from bash, zsh, fish, powershell; see autodiff completion -h"),
    (["server"], "error: missing the action; choose from start, stop, status; see autodiff server -h"),
    (["check"], "error: missing the case file (FILE); see autodiff check -h"),
    (["grad"], 'error: missing the expression; autodiff grad "x^2" --at x=3'),
])
def test_a_missing_choice_names_the_choices_in_one_readable_line(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2 and err.strip() == message


def test_a_zero_is_never_shown_with_a_sign(capsys):
    from autodiff.text import number_text

    assert number_text(-0.0) == "0" and number_text(-1e-300) == "-1e-300"
    code, out, _ = run(capsys, "hessian", "sin(x)*cos(y)", "--at", "x=0,y=0")
    assert code == 0 and "-0 " not in out and "-0\n" not in out


def test_nan_as_a_point_says_what_is_wrong(capsys):
    code, _, err = run(capsys, "grad", "x^2", "--at", "x=nan")
    assert code == 2 and "nan is not a number a point can take: give a finite real value" in err


@pytest.mark.parametrize("command", ["grad", "partial", "hessian", "jacobian", "plot", "graph", "check", "taylor",
                                     "verify", "minimize", "repl", "server", "completion"])
def test_help_names_values_in_words_not_python_types(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert "{expression" not in out.splitlines()[0], command  # the usage line: {EXPR}
    for internal in ("list[str]", "int range", "float range", "str"):  # an option's or argument's value, in words
        assert not re.search(rf"--[a-z-]+ <{re.escape(internal)}>", out), (command, internal)
        assert f"<{internal}>" not in out, (command, internal)


def test_warnings_name_functions_as_the_user_writes_them():
    import autodiff

    kink = autodiff.grad("max(x, y) + abs(y)", {"x": 1, "y": 1}).warnings
    assert any("where max(x, y) switches branches" in warning for warning in kink), kink
    assert not any("Max(" in warning or "Abs(" in warning for warning in kink)
    domain = autodiff.grad("abs(sin(x))*log(x - 2)", {"x": 1}).warnings
    assert any(warning.startswith("log(x - 2) is nan at x=1") for warning in domain), domain


def test_a_piecewise_is_shown_as_where_in_plain_and_latex_and_kept_in_json():
    from autodiff.language.notation import show

    text = "Piecewise((2*x, x > 0), (Piecewise((1, x < -1), (0, True)), True))"
    assert show(text) == "where(x > 0, 2*x, where(x < -1, 1, 0))"
    assert show("Piecewise((1, x > 2))") == "where(x > 2, 1, nan)"  # no default branch: no value there
    assert show(text, "python") == text  # JSON's machine form stays SymPy's
    assert "Piecewise" not in show(text, "latex")


def test_the_command_list_shows_whole_summaries(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    commands = out.split("Commands:")[1].split("Examples:")[0]
    assert "..." not in commands
    assert "taylor      Taylor coefficients" in commands and "repl        An interactive session" in commands


@pytest.mark.parametrize("expression, message", [
    ("sin^2(x)", "error: sin^n(x) is not a power of sin here: write sin(x)^n, e.g. sin(x)^2 at column 1"),
    ("xy", "error: no value for xy; xy is one name: for a product write x*y"),
    ("d/dx x^2", "error: no value for d, dx; autodiff takes no d/dx: the command differentiates, "
                 "e.g. autodiff grad 'x^2' --at x=1"),
    ("x*z", "error: no value for z; add --at z=…"),
])
def test_textbook_spellings_get_a_hint(capsys, expression, message):
    code, _, err = run(capsys, "grad", expression, "--at", "x=1,y=2")
    assert code == 2 and err.splitlines()[0] == message


@pytest.mark.parametrize("expression, at, derivative", [
    ("abs(sqrt(x)-1)", "x=4", "sign(sqrt(x) - 1)/(2*sqrt(x))"),
    ("sign(sqrt(x)-1)*x", "x=4", "sqrt(x)*DiracDelta(sqrt(x) - 1) + sign(sqrt(x) - 1)"),
    ("abs(x)", "x=4", "sign(x)"),
])
def test_abs_and_sign_differentiate_by_the_tables_rule(expression, at, derivative):
    import autodiff

    result = autodiff.grad(expression, at)
    assert result.gradient["x"].symbolic == derivative and result.agree is True and not result.warnings


def test_a_large_whole_float_is_shown_as_typed_in_exponent_form():
    from autodiff.language.notation import show

    assert show("1000000000000.0*x") == "1e12*x" and show("1230000000000.0*x") == "1.23e12*x"
    assert show("1000000000000.0*x", "python") == "1000000000000.0*x"  # JSON's machine form is SymPy's
    assert show("123456789.0*x") == "123456789.0*x"  # shorter in full
    for text in ["1e12", "1.23e12"]:
        assert float(text) == float(show(f"{float(text)!r}"))  # reads back as the same double


def test_a_plot_title_names_the_values_the_other_variables_are_held_at():
    from helpers import invoke

    result = invoke("plot", "x^2*y", "--at", "y=3", "--width", "60", "--height", "12")
    assert result.exit_code == 0 and "f(x) = x^2*y at y = 3" in result.stdout
    alone = invoke("plot", "sin(x)", "--width", "60", "--height", "12")
    assert "f(x) = sin(x)" in alone.stdout and " at " not in alone.stdout.splitlines()[0]
