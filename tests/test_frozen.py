"""Frozen variables (`--frozen y`, `frozen=`): leaves without requires_grad.

Oracles: derivatives worked out by hand (∂(xy)/∂x = y), and what a frozen
variable must not have (an entry, a gradient, requires_grad).
"""

from __future__ import annotations

import pytest

from autodiff.commands import api
from autodiff.errors import UsageError
from helpers import invoke, strict_loads


def run(*args):
    result = invoke(*args)
    return result.exit_code, result.stdout, result.stderr


def run_json(*args):
    code, out, err = run(*args, "--json")
    return code, strict_loads(out), err


def test_grad_takes_no_derivative_with_respect_to_a_frozen_variable():
    code, data, _ = run_json("grad", "x*y", "--at", "x=2,y=3", "--frozen", "y")
    assert code == 0
    assert list(data["gradient"]) == ["x"] and data["gradient"]["x"]["autograd"] == 3.0
    assert data["frozen"] == ["y"] and data["variables"] == ["x", "y"] and data["value"] == 6.0


def test_the_table_says_frozen_not_zero():
    code, out, _ = run("grad", "x*y", "--at", "x=2,y=3", "--frozen", "y")
    assert code == 0
    assert "∂f/∂y: frozen (y has requires_grad=False" in out
    assert not any(line.startswith("∂f/∂y ") for line in out.splitlines())


def test_no_frozen_key_without_frozen_variables():
    _, data, _ = run_json("grad", "x*y", "--at", "x=2,y=3")
    assert "frozen" not in data and set(data["gradient"]) == {"x", "y"}


@pytest.mark.parametrize("options", [["--frozen", "y,z"], ["--frozen", "y", "--frozen", "z"]])
def test_comma_lists_and_repeats(options):
    code, data, _ = run_json("grad", "x*y*z", "--at", "x=2,y=3,z=5", *options)
    assert code == 0 and data["frozen"] == ["y", "z"] and data["gradient"]["x"]["autograd"] == 15.0
    assert list(data["gradient"]) == ["x"]


def test_hessian_has_no_row_or_column_for_a_frozen_variable():
    code, data, _ = run_json("hessian", "x^2*y + y^3", "--at", "x=1,y=2", "--frozen", "y")
    assert code == 0
    assert data["hessian"]["variables"] == ["x"] and data["hessian"]["autograd"] == [[4.0]]  # 2y
    assert data["frozen"] == ["y"]


def test_jacobian_and_partial():
    code, data, _ = run_json("jacobian", "[x*y, x + y]", "--at", "x=2,y=3", "--frozen", "y")
    assert code == 0 and data["jacobian"]["variables"] == ["x"] and data["jacobian"]["autograd"] == [[3.0], [1.0]]
    # Without --wrt, partial differentiates the one variable that is not frozen.
    code, data, _ = run_json("partial", "x^2*y", "--at", "x=2,y=3", "--frozen", "y")
    assert code == 0 and data["partial"]["wrt"] == ["x"] and data["partial"]["autograd"] == 12.0


def test_graph_shows_an_untracked_leaf():
    code, data, _ = run_json("graph", "x*y + y^2", "--at", "x=2,y=3", "--frozen", "y")
    assert code == 0
    assert data["leaves"]["y"]["requires_grad"] is False and data["leaves"]["y"]["grad"] is None
    assert data["leaves"]["x"]["grad"] == 3.0
    frozen = [node for node in data["nodes"] if node["variable"] == "y"]
    assert frozen and all(node["kind"] == "untracked" for node in frozen)
    assert frozen[0]["tensor"]["requires_grad"] is False and frozen[0]["tensor"]["is_leaf"] is True
    assert not any(node["name"] == "PowBackward0" for node in data["nodes"])  # y^2 is not tracked
    assert data["frozen"] == ["y"]
    code, out, _ = run("graph", "x*y", "--at", "x=2,y=3", "--frozen", "y")
    assert code == 0 and "frozen leaf, requires_grad=False" in out


def test_frozen_differs_from_detach():
    # detach(y) stops one path: ∂/∂y of x*detach(y) + y^2 is still 2y = 6.
    _, data, _ = run_json("grad", "x*detach(y) + y^2", "--at", "x=2,y=3")
    assert data["gradient"]["y"]["autograd"] == 6.0
    _, data, _ = run_json("grad", "x*y + y^2", "--at", "x=2,y=3", "--frozen", "y")
    assert "y" not in data["gradient"] and data["gradient"]["x"]["autograd"] == 3.0


@pytest.mark.parametrize(("args", "message"), [
    (["grad", "x*y", "--at", "x=2,y=3", "--frozen", "y", "--wrt", "y"], "--wrt y: y is frozen"),
    (["grad", "x*y", "--at", "x=2,y=3", "--frozen", "z"], "--frozen z: z is not a variable"),
    (["partial", "x*y", "--at", "x=2,y=3", "--frozen", "x", "--wrt", "x,y"], "--wrt x: x is frozen"),
    (["hessian", "x*y", "--at", "x=2,y=3", "--frozen", "x,y"], "no variables to differentiate"),
    (["plot", "x*y", "--at", "y=3", "--range", "x=-1:1", "--frozen", "x"], "which is frozen"),
])
def test_bad_frozen_options_are_one_line_usage_errors(args, message):
    code, out, err = run(*args)
    assert code == 2, (out, err)
    assert message in err and "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1


def test_plot_with_another_variable_frozen():
    code, data, _ = run_json("plot", "x*y", "--at", "y=3", "--range", "x=-1:1", "--points", "5", "--frozen", "y")
    assert code == 0 and data["derivatives"][0]["autograd"] == [3.0] * 5


def test_the_api_takes_frozen():
    result = api.grad("x*y", at={"x": 2, "y": 3}, frozen="y")
    assert list(result.gradient) == ["x"] and result.frozen == ["y"]
    result = api.hessian("x*y*z", at={"x": 1, "y": 2, "z": 3}, frozen=["z"])
    assert result.columns == ["x", "y"]
    with pytest.raises(UsageError, match="is frozen"):
        api.grad("x*y", at={"x": 2, "y": 3}, frozen="y", wrt="y")
