"""Vector points without Python lists: grids (points.Grid), results
(results.Values), and the witnesses of a large point at a sample.

A grid is its formula until torch builds it, and must give the very numbers
the list formula gave; results over a vector point keep their tensor and
read like lists; beyond WITNESS_POINTS elements, symbolic values and finite
differences run at every step-th element while autograd, f, domains and
kinks cover all of them."""

import json
import math

import pytest
import torch

from autodiff.commands import api
from autodiff.commands.prepare import Options, prepare
from autodiff.witnesses import verdict as witnesses
from autodiff.frontends.cli import main
from autodiff.points import Grid, is_vector
from autodiff.results import Values, json_number

from tests.helpers import wrong_symbolic


def list_formula(start, stop, count):
    """The grid as a Python list, as points.grid built it before Grid."""
    if count == 1:
        return [start]
    last = count - 1
    step = (stop - start) / last
    if math.isfinite(step):
        return [start + i * step for i in range(last)] + [stop]
    return [start * (1 - i / last) + stop * (i / last) for i in range(last)] + [stop]


GRIDS = [(0.0, 1.0, 5), (-5.0, 5.0, 101), (0.1, 0.7, 13), (-1e308, 1e308, 7), (2.0, 5.0, 1), (1e-300, 2e-300, 9),
         (-2.5, 7.3, 100003), (3.0, -3.0, 4)]


@pytest.mark.parametrize("start, stop, count", GRIDS)
def test_a_grid_gives_the_list_formulas_numbers_one_by_one_and_as_a_tensor(start, stop, count):
    grid, expected = Grid(start, stop, count), list_formula(start, stop, count)
    assert len(grid) == count and grid.tolist() == expected and list(grid) == expected and grid == expected
    assert grid.tensor(torch.float64).tolist() == expected  # bit for bit, not torch.linspace's rounding
    assert grid[0] == expected[0] and grid[-1] == expected[-1] and grid[1:3] == expected[1:3]
    with pytest.raises(IndexError):
        grid[count]
    assert is_vector(grid)


def test_a_grid_as_float32_is_the_float64_grid_rounded():
    assert Grid(0.0, 1.0, 7).tensor(torch.float32).tolist() == torch.tensor(list_formula(0.0, 1.0, 7)).float().tolist()


def test_values_read_like_a_list():
    values = Values(torch.tensor([1.0, 2.5, float("nan"), float("inf")], dtype=torch.float64))
    assert len(values) == 4 and values[1] == 2.5 and values[-1] == math.inf and values[0:2] == [1.0, 2.5]
    assert list(values)[:2] == [1.0, 2.5] and values.tolist()[3] == math.inf
    assert Values(torch.tensor([1.0, 2.0])) == [1.0, 2.0] and Values(torch.tensor([1.0, 2.0])) != [1.0, 3.0]
    assert json_number(values) == [1.0, 2.5, "nan", "inf"]
    assert json_number(Values(torch.tensor([0.5, 1.5]))) == [0.5, 1.5]
    assert json_number(Grid(0.0, 1.0, 3)) == [0.0, 0.5, 1.0]
    assert Values(torch.tensor([True, False])).tolist() == [True, False]
    with pytest.raises(IndexError):
        values[4]
    assert "…" not in repr(values) and "(20 values)" in repr(Values(torch.zeros(20)))


def test_grid_results_are_values_equal_to_the_pointwise_answers():
    result = api.grad("x^3 - 2*x", at={"x": "-1:2:7"})
    d = result.gradient["x"]
    assert isinstance(d.autograd, Values) and isinstance(result.value, Values) and isinstance(d.differentiable, Values)
    for element, x in enumerate(list_formula(-1.0, 2.0, 7)):
        one = api.grad("x^3 - 2*x", at={"x": x}).gradient["x"]
        assert d.autograd[element] == one.autograd == pytest.approx(3 * x**2 - 2, abs=1e-12)
        assert d.symbolic_value[element] == one.symbolic_value
    assert d.checked_points is None and "checked_points" not in result.to_json()["gradient"]["x"]


@pytest.fixture
def small_sample(monkeypatch):
    monkeypatch.setattr(witnesses, "WITNESS_POINTS", 50)


def test_a_large_point_is_checked_at_a_sample_and_differentiated_everywhere(small_sample):
    result = api.grad("sin(x)*x^2", at={"x": "-3:3:201"})
    d = result.gradient["x"]
    assert result.agree is True and result.checked_by == "exact"
    assert d.checked_points == range(0, 201, 5)
    assert len(d.autograd) == 201 and len(d.symbolic_value) == len(d.numeric) == 41
    xs = list_formula(-3.0, 3.0, 201)
    for element in (0, 5, 100, 200):
        x = xs[element]
        assert d.witness_at(d.symbolic_value, element) == pytest.approx(x**2 * math.cos(x) + 2 * x * math.sin(x), abs=1e-12)
        assert d.witness_at(d.numeric, element) == pytest.approx(d.autograd[element], abs=1e-6)
    assert d.witness_at(d.numeric, 3) is None
    data = json.loads(json.dumps(result.to_json()))
    assert data["gradient"]["x"]["checked_points"] == list(range(0, 201, 5))
    assert len(data["gradient"]["x"]["autograd"]) == 201 and len(data["gradient"]["x"]["numeric"]) == 41


def test_a_wrong_symbolic_derivative_is_caught_at_the_sample(small_sample, monkeypatch):
    wrong_symbolic(monkeypatch)
    assert api.grad("x^2", at={"x": "0:1:201"}).agree is False


def test_a_kink_between_sampled_elements_is_still_found(small_sample):
    # 0 is element 101 of -1:1:203, not a multiple of the step (5): kinks and domains cover every element.
    result = api.grad("abs(x)", at={"x": "-1:1:203"})
    d = result.gradient["x"]
    assert 101 not in d.checked_points and d.differentiable[101] is False and d.differentiable[100] is True
    assert any("does not exist at x=0 (point [101])" in w for w in result.warnings)
    undefined = api.grad("log(x)", at={"x": "-1:1:203"})
    assert undefined.gradient["x"].differentiable[3] is False and undefined.gradient["x"].differentiable[150] is True


def test_the_table_says_where_the_witnesses_ran(small_sample, capsys):
    with pytest.raises(SystemExit) as leaving:
        main(["grad", "x^2", "--at", "x=0:1:201"])
    assert leaving.value.code == 0
    out = capsys.readouterr().out
    assert "exact, symbolic and finite differences checked at 41 of 201 points (every 5th from [0]; autograd at every point)" in out
    assert "[200]" in out and "—" in out  # an element outside the sample shows no witness


def test_grid_leaves_share_one_tensor_per_dtype():
    prepared = prepare("x*y", {"x": "0:1:11", "y": 2}, None, None, Options())
    problem = prepared.problem
    plain, leaves = problem.leaves(False), problem.leaves(True)
    assert leaves["x"].requires_grad and not plain["x"].requires_grad
    assert leaves["x"].data_ptr() == plain["x"].data_ptr()  # the same storage, built once
    assert plain["x"].tolist() == list_formula(0.0, 1.0, 11) and plain["y"].tolist() == [2.0] * 11


def test_the_finite_mask_shortcut_agrees_with_isfinite():
    from autodiff.witnesses.verdict import _finite

    cases = [
        torch.linspace(-5, 5, 10_000, dtype=torch.float64),
        torch.full((10_000,), 1e308, dtype=torch.float64),  # every element finite, the sum is not
        torch.cat([torch.zeros(9_999, dtype=torch.float64), torch.tensor([float("nan")])]),
        torch.cat([torch.ones(9_999, dtype=torch.float64), torch.tensor([-float("inf")])]),
        torch.tensor([1.0, float("inf")]),
    ]
    for tensor in cases:
        assert torch.equal(_finite(tensor), torch.isfinite(tensor))


@pytest.mark.parametrize("command, expression", [("hessian", "x^2*y"), ("jacobian", ["x*y", "x+y"])])
def test_matrices_of_a_large_point_say_where_their_witnesses_ran(small_sample, command, expression):
    result = getattr(api, command)(expression, at={"x": "0:1:201", "y": 2})
    data = json.loads(json.dumps(result.to_json()))[command]
    assert result.agree is True and data["checked_points"] == list(range(0, 201, 5))
    assert len(data["autograd"][0][0]) == 201 and len(data["numeric"][0][0]) == len(data["symbolic_value"][0][0]) == 41
