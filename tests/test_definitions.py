"""User-defined names (`--define`, a case file's [define], `define=`).

The oracle for each derivative is the same expression written out by hand
(or mpmath), never the definition machinery itself.
"""

from __future__ import annotations

import json
import math

import pytest

from autodiff.commands import api
from autodiff.language.definitions import Definitions, parse_definitions, split
from autodiff.language.scope import Scope
from autodiff.errors import ParseError
from autodiff.language.parsing import parse_expression
from helpers import invoke


def run_cli(args, stdin=None):
    result = invoke(*args, input=stdin)
    return result.exit_code, result.stdout, result.stderr


# --- parsing definitions ------------------------------------------------------


def test_a_function_and_a_constant():
    definitions = parse_definitions(["f(t) = t^2 + 1", "a = 2.5"])
    assert list(definitions) == ["f", "a"]
    assert definitions["f"].params == ("t",) and definitions["f"].is_function
    assert definitions["a"].params is None and not definitions["a"].is_function
    assert str(definitions["f"]) == "f(t) = t^2 + 1"
    scope = Scope(definitions)
    assert str(parse_expression("f(x) + a", scope=scope)) == str(parse_expression("x^2 + 1 + 2.5", scope=scope))


def test_definitions_may_use_each_other_in_any_order():
    definitions = parse_definitions(["g(u, v) = f(u)*v + a", "f(t) = sin(t)", "a = 2"])
    scope = Scope(definitions)
    assert parse_expression("g(x, y)", scope=scope) == parse_expression("sin(x)*y + 2", scope=scope)


def test_arguments_replace_parameters_at_once():
    # f(y, x) with body x - y: a substitution one parameter at a time would give 0.
    scope = Scope(parse_definitions(["f(x, y) = x - y"]))
    assert parse_expression("f(y, x)", scope=scope) == parse_expression("y - x", scope=scope)
    assert parse_expression("f(x + 1, 2)", scope=scope) == parse_expression("x - 1", scope=scope)


def test_a_parameter_hides_a_defined_constant_of_the_same_name():
    scope = Scope(parse_definitions(["a = 10", "f(a) = a^2"]))
    assert parse_expression("f(3)", scope=scope) == 9
    assert parse_expression("a", scope=scope) == 10


def test_without_definitions_the_names_are_unknown_again():
    scope = Scope(parse_definitions(["f(t) = t"]))
    parse_expression("f(x)", scope=scope)
    with pytest.raises(ParseError, match="unknown function 'f'"):
        parse_expression("f(x)")


@pytest.mark.parametrize(
    "texts, message",
    [
        (["f(t) = f(t) + 1"], "f is defined in terms of itself"),
        (["f(t) = g(t)", "g(t) = h(t)", "h(t) = f(t)"], "circular definitions: f → g → h → f"),
        (["a = b", "b = a"], "circular definitions: a → b → a"),
        (["sin(t) = t"], "sin is a built-in function"),
        (["pi = 3"], "pi is a built-in constant"),
        (["f(x, x) = x"], "names its parameter x twice"),
        (["f(exp) = 1"], "exp is a built-in function; a parameter"),
        (["f(t) = t*y"], "y is not a parameter of this definition"),
        (["a = x + 1"], "x is not a parameter"),
        (["x + 1"], "no '=' here"),
        (["f(t) ="], "nothing after '='"),
        (["2f(t) = t"], "the left side of a definition"),
        (["f(t) = t +"], "in the definition of f(t)"),
        (["f(t) = sinn(t)"], "unknown function 'sinn'"),
    ],
)
def test_bad_definitions_are_parse_errors_that_say_why(texts, message):
    with pytest.raises(ParseError) as caught:
        parse_definitions(texts)
    assert message in caught.value.message


def test_an_error_in_a_body_points_at_its_column_in_the_definition():
    with pytest.raises(ParseError) as caught:
        parse_definitions(["f(t) = t*y"])
    assert caught.value.position == 10 and "at column 10" in caught.value.message
    assert caught.value.source == "f(t) = t*y"


@pytest.mark.parametrize(
    "expression, message",
    [
        ("f", "f is a function you defined; call it as f(t)"),
        ("f(1, 2)", "f() takes 1 argument, got 2: f(t)"),
        ("a(2)", "a is a constant you defined (a = 3), not a function"),
    ],
)
def test_misused_definitions(expression, message):
    scope = Scope(parse_definitions(["f(t) = t^2", "a = 3"]))
    with pytest.raises(ParseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_expression(expression, scope=scope)


def test_comparison_operators_are_not_the_definition_sign():
    definition = split("f(t) = where(t >= 0, t, 0)")
    assert definition.name == "f" and definition.body_text.strip() == "where(t >= 0, t, 0)"


def test_a_later_definition_of_a_name_wins():
    definitions = parse_definitions(["a = 1", "a = 2"])
    scope = Scope(definitions)
    assert parse_expression("a", scope=scope) == 2


# --- the API ------------------------------------------------------------------


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def test_api_grad_with_a_definition_equals_the_expression_written_out():
    defined = api.grad("f(x) * g(x, y)", at={"x": 0.7, "y": -1.3},
                       define={"f(t)": "exp(-t^2)", "g(u, v)": "u*v + c", "c": 2})
    written = api.grad("exp(-x^2) * (x*y + 2)", at={"x": 0.7, "y": -1.3})
    assert defined.agree and written.agree
    assert _same(defined.value, written.value)
    for name in ("x", "y"):
        assert _same(defined.gradient[name].autograd, written.gradient[name].autograd)
        assert defined.gradient[name].symbolic == written.gradient[name].symbolic


def test_api_define_accepts_a_text_a_list_or_definitions():
    for define in ("f(t) = t^3", ["f(t) = t^3"], parse_definitions(["f(t) = t^3"])):
        assert api.grad("f(x)", at={"x": 2}, define=define).gradient["x"].autograd == 12.0


def test_api_hessian_jacobian_partial_plot_and_graph_take_definitions():
    define = ["f(t) = t^3", "a = 2"]
    hessian = api.hessian("f(x)*y", at={"x": 1, "y": 2}, define=define)
    assert [[entry.autograd for entry in row] for row in hessian.entries] == [[12.0, 3.0], [3.0, 0.0]]
    jacobian = api.jacobian(["f(x)", "a*x"], at={"x": 1}, define=define)
    assert [row[0].autograd for row in jacobian.entries] == [3.0, 2.0]
    partial = api.partial("f(x)*f(y)", at={"x": 1, "y": 2}, wrt=["x", "y"], define=define)
    assert partial.partial.autograd == 3.0 * 12.0
    plotted = api.plot("f(x)", over="x=0:1", points=3, define=define)
    assert plotted.f == [0.0, 0.125, 1.0] and plotted.curves[0]["autograd"] == [0.0, 0.75, 3.0]
    graph = api.graph("f(x) + a", at={"x": 1}, define=define)
    assert graph.value == 3.0


def test_the_point_may_use_a_defined_constant():
    result = api.grad("x^2", at=["x=a"], define="a = pi/2")
    assert _same(result.gradient["x"].autograd, math.pi)


# --- the command line ---------------------------------------------------------


def test_done_means_sin_2_on_every_side():
    code, out, _ = run_cli(["grad", "f(x)", "--define", "f(t) = sin(t)^2", "--at", "x=1", "--json"])
    assert code == 0
    gradient = json.loads(out)["gradient"]["x"]
    expected = math.sin(2)
    assert gradient["agree"] is True and gradient["checked_by"] == "exact"
    for side in ("autograd", "symbolic_value", "numeric"):
        assert math.isclose(gradient[side], expected, rel_tol=1e-9), side
    assert math.isclose(float(gradient["exact"]), expected, rel_tol=1e-15)


def test_define_is_repeatable_and_has_a_short_form():
    code, out, _ = run_cli(["grad", "g(x)", "-D", "g(t) = k*t^2", "-D", "k = 3", "--at", "x=2", "-q"])
    assert code == 0 and out.split() == ["12"]


def test_a_bad_definition_is_exit_2_with_one_line():
    code, out, err = run_cli(["grad", "f(x)", "--define", "f(t) = g(t)", "--define", "g(t) = f(t)", "--at", "x=1"])
    assert code == 2 and out == ""
    assert "circular definitions: f → g → f" in err and "Traceback" not in err
    code, out, _ = run_cli(["grad", "x", "--define", "exp(t) = t", "--at", "x=1", "--json"])
    assert code == 2
    assert json.loads(out)["error"] == {
        "type": "parse_error", "message": "exp is a built-in function; a definition cannot be named exp", "position": 1,
    }


def test_streaming_parses_the_definitions_once_for_every_line():
    code, out, _ = run_cli(["grad", "-", "-D", "f(t) = t^2", "-D", "a = 3", "--at", "x=a", "--json"],
                           stdin="f(x)\nf(x) + a*x\n")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["gradient"]["x"]["autograd"] for line in lines] == [6.0, 9.0]


def test_hessian_and_graph_commands_take_define():
    code, out, _ = run_cli(["hessian", "f(x, y)", "-D", "f(a, b) = a^2*b", "--at", "x=1,y=2", "--json"])
    assert code == 0
    assert json.loads(out)["hessian"]["autograd"] == [[4.0, 2.0], [2.0, 0.0]]
    code, out, _ = run_cli(["graph", "f(x)", "-D", "f(t) = exp(t)", "--at", "x=0", "--format", "json"])
    assert code == 0 and json.loads(out)["value"] == 1.0


# --- case files -----------------------------------------------------------------


def test_a_case_file_define_table(tmp_path):
    path = tmp_path / "cases.toml"
    path.write_text(
        '[define]\n"f(t)" = "sin(t)^2"\nk = 2\n\n'
        '[[case]]\nname = "defined"\nexpr = "f(x) + k*x"\nat = { x = 1 }\ngrad = { x = "sin(2) + 2" }\n'
        '[[case]]\nname = "wrong"\nexpr = "f(x)"\nat = { x = 1 }\ngrad = { x = 1 }\n'
    )
    code, out, _ = run_cli(["check", str(path), "--json"])
    assert code == 1
    answer = json.loads(out)
    assert [case["outcome"] for case in answer["cases"]] == ["passed", "failed"]


def test_define_on_the_command_line_reaches_every_case_and_the_file_wins(tmp_path):
    path = tmp_path / "cases.toml"
    path.write_text('[define]\nk = 5\n[[case]]\nexpr = "g(x)"\nat = { x = 1 }\ngrad = { x = 10 }\n')
    code, out, _ = run_cli(["check", str(path), "-D", "g(t) = k*t^2", "-D", "k = 1"])
    assert code == 0, out


@pytest.mark.parametrize(
    "table, message",
    [
        ('[define]\n"sin(t)" = "t"\n', "sin is a built-in function"),
        ('[define]\nf = ["t"]\n', "expected an expression string or a number"),
        ('define = 3\n', "[define] must be a table"),
    ],
)
def test_a_bad_define_table_is_the_file_s_error_before_any_case_runs(tmp_path, table, message):
    path = tmp_path / "cases.toml"
    path.write_text(table + '[[case]]\nexpr = "x"\nat = { x = 1 }\n')
    code, out, err = run_cli(["check", str(path)])
    assert code == 2 and message in err and "Traceback" not in err


def test_definitions_parsed_once_are_a_mapping():
    definitions = parse_definitions(["f(t) = t"])
    assert isinstance(definitions, Definitions) and len(definitions) == 1 and "f" in definitions
    assert definitions.texts() == ["f(t) = t"]


def test_names_are_compared_as_the_parser_reads_them():
    for texts, message in [(["f(π) = π^2"], "pi is a built-in constant"), (["π = 3"], "pi is a built-in constant"),
                           (["f(ℯ) = 1"], "e is a built-in constant")]:
        with pytest.raises(ParseError, match=message):
            parse_definitions(texts)
    scope = Scope(parse_definitions(["ｇ(t) = t^2"]))  # full-width g is g
    assert parse_expression("g(3)", scope=scope) == 9


def test_a_defined_name_is_not_a_variable_of_the_point_or_wrt():
    code, _, err = run_cli(["grad", "x^2", "-D", "x = 5", "--at", "x=1"])
    assert code == 2 and "--at gives x, a name you defined (x = 5)" in err
    code, _, err = run_cli(["partial", "a*x", "-D", "a = 2", "--wrt", "a", "--at", "x=1"])
    assert code == 2 and "--wrt a: a is a name you defined (a = 2)" in err


def test_a_long_chain_of_definitions_is_no_recursion_error():
    texts = [f"c{i} = c{i + 1} + 1" for i in range(1, 1500)] + ["c1500 = 1"]
    scope = Scope(parse_definitions(texts))
    assert parse_expression("c1", scope=scope) == 1500
