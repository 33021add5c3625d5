"""Declared derivatives (`--derivative`, a case file's [derivative], `derivative=`).

The oracles are derivatives worked out by hand (d/dt log t = 1/t, so 0.5 at
2), never the declaration machinery itself; what autograd gives with a wrong
declaration is the declared formula's value, worked out by hand too.
"""

from __future__ import annotations

import pytest

from autodiff.commands import api
from autodiff.errors import ParseError
from helpers import invoke, strict_loads

MYLOG = ["--define", "mylog(t) = log(t)"]
G = ["--define", "g(a, b) = a*b^2"]


def run(*args, stdin=None):
    result = invoke(*args, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def run_json(*args):
    code, out, err = run(*args, "--json")
    return code, strict_loads(out), err


def test_a_right_declaration_agrees_on_every_side():
    code, out, _ = run_json("grad", "mylog(x)", *MYLOG, "--derivative", "mylog(t) = 1/t", "--at", "x=2")
    assert code == 0
    x = out["gradient"]["x"]
    assert x["autograd"] == 0.5 and x["symbolic_value"] == 0.5 and x["numeric"] == pytest.approx(0.5, rel=1e-9)
    assert x["agree"] is True and out["agree"] is True
    [check] = out["declared_derivatives"]
    assert check["function"] == "mylog" and check["parameter"] == "t" and check["agree"] is True
    assert check["points"] >= 5


def test_the_table_says_the_declaration_was_checked():
    code, out, _ = run("grad", "mylog(x)", *MYLOG, "--derivative", "mylog(t) = 1/t", "--at", "x=2")
    assert code == 0
    assert "✓ the declared derivative of mylog with respect to t agrees" in out


def test_a_wrong_declaration_is_autograd_s_backward_and_fails():
    code, out, _ = run("grad", "mylog(x)", *MYLOG, "--derivative", "mylog(t) = 1/t^2", "--at", "x=2")
    assert code == 1
    assert ("the declared derivative of mylog with respect to t, 1/t^2, is wrong: at t = 2 it gives 0.25, "
            "the definition's derivative is 0.5") in " ".join(out.split())
    code, data, _ = run_json("grad", "mylog(x)", *MYLOG, "--derivative", "mylog(t) = 1/t^2", "--at", "x=2")
    x = data["gradient"]["x"]
    assert x["autograd"] == 0.25  # 1/2^2: the declared formula is the backward
    assert x["symbolic_value"] == 0.5 and x["agree"] is False  # the witnesses differentiate log itself
    [check] = data["declared_derivatives"]
    assert check["agree"] is False and check["at"] == {"t": 2.0}
    assert check["declared_value"] == 0.25 and check["definition_value"] == 0.5


def test_a_declaration_right_only_at_the_point_fails():
    # 1/t + (t - 2)^2 is 1/t at t = 2 alone: autograd agrees there, the check around it does not.
    code, data, _ = run_json("grad", "mylog(x)", *MYLOG, "--derivative", "mylog(t) = 1/t + (t - 2)^2", "--at", "x=2")
    assert code == 1
    assert data["gradient"]["x"]["autograd"] == 0.5 and data["gradient"]["x"]["agree"] is True
    assert data["agree"] is False
    [check] = data["declared_derivatives"]
    t = check["at"]["t"]
    assert t != 2 and check["declared_value"] == pytest.approx(1 / t + (t - 2) ** 2)
    assert check["definition_value"] == pytest.approx(1 / t)
    assert "mylog" in check["message"] and "respect to t" in check["message"]


def test_the_check_is_at_the_call_s_arguments():
    # mylog(x^2) at x = 3 calls mylog at t = 9: d/dx = 2x * (1/x^2) = 2/3.
    code, data, _ = run_json("grad", "mylog(x^2)", *MYLOG, "--derivative", "mylog(t) = 1/t", "--at", "x=3")
    assert code == 0 and data["gradient"]["x"]["autograd"] == pytest.approx(2 / 3, rel=1e-12)
    code, data, _ = run_json("grad", "mylog(x^2)", *MYLOG, "--derivative", "mylog(t) = 2/t", "--at", "x=3")
    assert code == 1 and data["declared_derivatives"][0]["at"] == {"t": 9.0}


def test_two_arguments_one_partial_each_renamed_parameters():
    code, data, _ = run_json("grad", "g(x, y)", *G, "--derivative", "g(u, v) = [v^2, 2*u*v]", "--at", "x=2,y=3")
    assert code == 0
    assert data["gradient"]["x"]["autograd"] == 9.0 and data["gradient"]["y"]["autograd"] == 12.0
    assert [c["parameter"] for c in data["declared_derivatives"]] == ["a", "b"]
    assert all(c["agree"] for c in data["declared_derivatives"])


def test_two_arguments_wrong_in_the_second_away_from_the_point():
    # 2ab + (b - 3) is right on the line b = 3 only.
    code, data, _ = run_json("grad", "g(x, y)", *G, "--derivative", "g(a, b) = [b^2, 2*a*b + (b - 3)]",
                             "--at", "x=2,y=3")
    assert code == 1
    first, second = data["declared_derivatives"]
    assert first["agree"] is True and second["agree"] is False and second["parameter"] == "b"
    a, b = second["at"]["a"], second["at"]["b"]
    assert b != 3 and second["declared_value"] == pytest.approx(2 * a * b + b - 3)


def test_higher_orders_go_through_the_declared_formula():
    code, data, _ = run_json("grad", "mylog(x)", *MYLOG, "--derivative", "mylog(t) = 1/t", "--order", "2", "--at", "x=2")
    assert code == 0 and data["gradient"]["x"]["autograd"] == pytest.approx(-0.25, rel=1e-12)
    code, data, _ = run_json("hessian", "g(x, y)", *G, "--derivative", "g(a, b) = [b^2, 2*a*b]", "--at", "x=2,y=3")
    assert code == 0
    assert data["hessian"]["autograd"] == [[0.0, 6.0], [6.0, 4.0]]  # [[0, 2y], [2y, 2x]]


def test_a_wrong_declaration_fails_hessian_and_jacobian():
    code, data, _ = run_json("hessian", "g(x, y)", *G, "--derivative", "g(a, b) = [b^2, a*b]", "--at", "x=2,y=3")
    assert code == 1 and data["hessian"]["autograd"][1][1] == 2.0  # ∂(xy)/∂y = x, not 2x = 4
    code, data, _ = run_json("jacobian", "[mylog(x), x]", *MYLOG, "--derivative", "mylog(t) = 2/t", "--at", "x=4")
    assert code == 1 and data["jacobian"]["autograd"][0] == [0.5]


def test_a_declared_function_inside_another_definition_keeps_its_backward():
    code, data, _ = run_json("grad", "sq(x)", *MYLOG, "--define", "sq(t) = mylog(t)^2",
                             "--derivative", "mylog(t) = 2/t", "--at", "x=2")
    # 2*log(2) * (2/2): the declared mylog' inside sq, against 2*log(2)/2 from the witnesses.
    assert code == 1 and data["gradient"]["x"]["autograd"] == pytest.approx(2 * 0.6931471805599453, rel=1e-12)


def test_without_sympy_finite_differences_check_the_declaration():
    code, data, _ = run_json("grad", "mylog(x)", *MYLOG, "--derivative", "mylog(t) = 1/t + (t-2)^2",
                             "--at", "x=2", "--no-symbolic")
    assert code == 1 and data["declared_derivatives"][0]["checked_by"] == "numeric"
    code, data, _ = run_json("grad", "mylog(x)", *MYLOG, "--derivative", "mylog(t) = 1/t", "--at", "x=2", "--no-symbolic")
    assert code == 0


def test_a_vector_point():
    code, data, _ = run_json("grad", "mylog(x)", *MYLOG, "--derivative", "mylog(t) = 1/t", "--at", "x=[1,2,4]")
    assert code == 0 and data["gradient"]["x"]["autograd"] == [1.0, 0.5, 0.25]


def test_graph_shows_the_function_as_one_node():
    code, data, _ = run_json("graph", "x*mylog(x)", *MYLOG, "--derivative", "mylog(t) = 1/t", "--at", "x=2")
    assert code == 0
    assert "mylogBackward" in [node["name"] for node in data["nodes"]]
    assert data["leaves"]["x"]["grad"] == pytest.approx(0.6931471805599453 + 1)  # log x + 1


def test_streaming_parses_the_declaration_once_for_every_line():
    code, out, _ = run("grad", "-", *MYLOG, "--derivative", "mylog(t) = 1/t", "--at", "x=2", "-q",
                       stdin="mylog(x)\nmylog(x^2)\n")
    assert code == 0 and out.split() == ["0.5", "1"]


def test_the_api_takes_derivative():
    result = api.grad("mylog(x)", at={"x": 2}, define="mylog(t) = log(t)", derivative="mylog(t) = 1/t")
    assert result.agree is True and result.gradient["x"].autograd == 0.5
    result = api.grad("g(x, y)", at={"x": 1, "y": 1}, define=["g(a, b) = a*b^2"], derivative=["g(a, b) = [b^2, 1]"])
    assert result.agree is False and result.exit_code == 1
    with pytest.raises(ParseError, match="not defined"):
        api.grad("x", at={"x": 1}, derivative="h(t) = 1")


CASES = """
[define]
"mylog(t)" = "log(t)"

[derivative]
"mylog(t)" = "{declared}"

[[case]]
expr = "mylog(x)"
at = {{ x = 2 }}
grad = {{ x = 0.5 }}
"""


def test_a_case_file_derivative_table(tmp_path):
    right = tmp_path / "right.toml"
    right.write_text(CASES.format(declared="1/t"))
    assert run("check", str(right))[0] == 0
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(CASES.format(declared="1/t + (t-2)^2"))
    code, out, _ = run("check", str(wrong))
    assert code == 1 and "the declared derivative of mylog with respect to t" in out


def test_check_takes_derivative_on_the_command_line(tmp_path):
    path = tmp_path / "cases.toml"
    path.write_text('[[case]]\nexpr = "mylog(x)"\nat = { x = 2 }\ngrad = { x = 0.5 }\n')
    assert run("check", str(path), *MYLOG, "--derivative", "mylog(t) = 1/t")[0] == 0
    assert run("check", str(path), *MYLOG, "--derivative", "mylog(t) = 2/t")[0] == 1


@pytest.mark.parametrize(("args", "message"), [
    ([*G, "--derivative", "g(a, b) = [b^2]"], "give one partial derivative per parameter, 2 in all"),
    ([*G, "--derivative", "g(a) = b^2"], "g(a, b) has 2 parameter(s)"),
    (["--derivative", "g(a, b) = [b, a]"], "g is not defined"),
    (["--define", "k = 2", "--derivative", "k(t) = 1"], "k is a constant"),
    ([*G, "--derivative", "g(a, b) = [b^2, c]"], "c is not a parameter"),
    ([*G, "--derivative", "g(a, b) = [b^2, 2*a*b"], "--derivative g(a, b)"),
    ([*G, "--derivative", "1/t"], "a definition is NAME"),
])
def test_bad_declarations_are_one_line_usage_errors(args, message):
    code, out, err = run("grad", "g(x, y)" if "g(" in " ".join(args) else "x", *args, "--at", "x=2,y=3")
    assert code == 2, (out, err)
    assert message in err and "Traceback" not in err + out
    assert err.startswith("error:") and not out


def test_help_and_version_stay_light():
    assert "--derivative" in invoke("grad", "--help").stdout


def test_a_kink_of_the_definition_is_not_held_against_the_declaration():
    # relu has no derivative at 0: where(t > 0, 1, 0) is right everywhere else.
    code, data, _ = run_json("grad", "r(x)", "--define", "r(t) = relu(t)", "--derivative", "r(t) = where(t > 0, 1, 0)",
                             "--at", "x=0")
    assert data["declared_derivatives"][0]["agree"] is True and data["declared_derivatives"][0]["points"] == 4
    # ... but a declaration wrong on one side of the kink is found there.
    code, data, _ = run_json("grad", "r(x)", "--define", "r(t) = abs(t)", "--derivative", "r(t) = 1", "--at", "x=0")
    assert code == 1 and data["declared_derivatives"][0]["at"]["t"] < 0
