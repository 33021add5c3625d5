"""The lowering: SymPy tree → a straight-line torch program."""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy
import torch

from autodiff.errors import UnsupportedError
from autodiff.engine.lowering import compile_expression
from autodiff.language.parsing import parse_expression

x, y = sympy.symbols("x y", real=True)


def run(text: str, dtype=torch.float64, **values):
    env = {name: torch.tensor(value, dtype=dtype) for name, value in values.items()}
    return compile_expression(parse_expression(text))(env, dtype)


def test_a_shared_subexpression_is_computed_once():
    program = compile_expression(parse_expression("sin(x^2)^2 + cos(sin(x^2)) + x^2"))
    ops = [instruction.op for instruction in program.instructions]
    assert ops.count(torch.sin) == 1
    assert len([i for i in program.instructions if i.name == "x"]) == 1
    assert run("sin(x^2)^2 + cos(sin(x^2)) + x^2", x=0.5).item() == pytest.approx(
        math.sin(0.25) ** 2 + math.cos(math.sin(0.25)) + 0.25
    )


def test_a_constant_expression_is_a_tensor_of_the_requested_dtype():
    # SymPy's torch lambdify returns a Python int here; we return a tensor.
    for dtype in (torch.float64, torch.float32):
        value = run("2 + 3", dtype)
        assert isinstance(value, torch.Tensor) and value.dtype == dtype and value.item() == 5


def test_float32_programs_compute_in_float32():
    value = run("sin(x) * x", torch.float32, x=1.0)
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(math.sin(1.0), rel=1e-6)


def test_integer_powers_of_negative_numbers_stay_real():
    assert run("x^3", x=-2.0).item() == -8.0
    assert run("cbrt(x)", x=-8.0).item() == pytest.approx(-2.0)
    assert math.isnan(run("x^(1/3)", x=-8.0).item())  # the principal real root does not exist


def test_gamma_has_the_right_sign_for_negative_arguments():
    assert run("gamma(x)", x=-0.5).item() == pytest.approx(-2 * math.sqrt(math.pi))
    assert run("gamma(x)", x=-1.5).item() == pytest.approx(4 * math.sqrt(math.pi) / 3)
    assert run("gamma(x)", x=5.0).item() == pytest.approx(24.0)


def test_where_and_heaviside():
    assert run("where(x > 0, x^2, -x)", x=-3.0).item() == 3.0
    assert run("where(x > 0, x^2, -x)", x=3.0).item() == 9.0
    assert [run("heaviside(x)", x=v).item() for v in (-1.0, 0.0, 2.0)] == [0.0, 0.5, 1.0]


def test_complex_values_are_nan_over_the_reals():
    assert math.isnan(run("sqrt(-4) + x", x=1.0).item())
    assert math.isnan(run("log(-1) + x", x=1.0).item())


def test_detached_values_hold_detach_nodes_fixed():
    program = compile_expression(parse_expression("x * detach(x^2)"))
    frozen = program.detached_values({"x": torch.tensor(3.0, dtype=torch.float64)}, torch.float64)
    assert [value.item() for value in frozen.values()] == [9.0]
    moved = program({"x": torch.tensor(4.0, dtype=torch.float64)}, torch.float64, frozen)
    assert moved.item() == 36.0  # 4 * 9, not 4 * 16


def test_a_node_without_a_rule_is_a_clear_error():
    with pytest.raises(UnsupportedError, match="cannot evaluate Integral"):
        compile_expression(sympy.Integral(x, x))


def autograd(text: str, order: int, at: float) -> float:
    leaf = torch.tensor(at, dtype=torch.float64, requires_grad=True)
    value = compile_expression(parse_expression(text))({"x": leaf}, torch.float64)
    for step in range(order):
        (value,) = torch.autograd.grad(value, leaf, create_graph=step < order - 1)
    return value.item()


@pytest.mark.parametrize(
    ("text", "at", "expected"),
    [
        ("where(x > 0, sqrt(x), 0)", -1.0, 0.0),  # torch.where alone: nan (0 · inf)
        ("where(x > 0, x*log(x), 0)", -1.0, 0.0),
        ("where(x < 1, asin(x), 2x)", 2.0, 2.0),
        ("where(x > 0, x^2, where(x > -2, sqrt(-x), 1))", -3.0, 0.0),  # nested: the default branch
        ("where(x > 0, x^2, where(x > -2, sqrt(-x), 1))", -1.0, -0.5),
    ],
)
def test_an_untaken_where_branch_does_not_poison_the_gradient(text, at, expected):
    assert autograd(text, 1, at) == pytest.approx(expected)


def test_a_variable_exponent_has_the_right_second_derivative_at_zero():
    # torch.pow's double backward gives 1 here; d²/dx² (1+x)^x at 0 is 2.
    assert autograd("(1+x)^x", 2, 0.0) == pytest.approx(2.0)
    assert autograd("(-2)^x", 0, 3.0) == pytest.approx(-8.0)  # negative bases keep torch.pow's value


def test_softplus_is_not_linear_above_twenty():
    # torch.nn.functional.softplus is exactly linear above its threshold 20.
    sigmoid_prime = math.exp(-30) / (1 + math.exp(-30)) ** 2
    assert autograd("softplus(x)", 2, 30.0) == pytest.approx(sigmoid_prime, rel=1e-9)


def test_several_expressions_share_one_program():
    from autodiff.engine.lowering import compile_expressions
    from autodiff.language.parsing import parse_list

    program = compile_expressions(parse_list("[sin(x^2) + y, cos(sin(x^2)), 3]"))
    assert [i.op for i in program.instructions].count(torch.sin) == 1
    env = {"x": torch.tensor(0.5, dtype=torch.float64), "y": torch.tensor(2.0, dtype=torch.float64)}
    first, second, third = program.outputs(env)
    assert first.item() == pytest.approx(math.sin(0.25) + 2)
    assert second.item() == pytest.approx(math.cos(math.sin(0.25)))
    assert third.item() == 3.0
    assert program(env).item() == first.item()


def test_batched_rows_fall_back_to_one_backward_per_row(monkeypatch):
    """Where vmap has no batching rule for an operation, each row of a
    Jacobian is its own backward pass, with the same result."""
    from autodiff.engine.calculus import hessian
    from autodiff.engine.values import parse_assignments

    program = compile_expression(parse_expression("x^2*y + sin(x*y) + y^3"))
    point = parse_assignments(["x=[1,0.5],y=[2,-1]"])
    expected = hessian(program, point, ["x", "y"], ["x", "y"], torch.float64)
    real_grad = torch.autograd.grad
    calls = []

    def no_batching(*args, **kwargs):
        calls.append(kwargs.get("is_grads_batched", False))
        if kwargs.get("is_grads_batched"):
            raise RuntimeError("Batching rule not implemented")
        return real_grad(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", no_batching)
    value, gradient, matrix = hessian(program, point, ["x", "y"], ["x", "y"], torch.float64)
    assert calls.count(True) == 1 and calls.count(False) == 3  # the gradient, then one pass per row
    assert torch.equal(value, expected[0]) and torch.equal(gradient, expected[1])
    assert torch.allclose(matrix, expected[2], rtol=1e-15, atol=0)
    # x^2*y + sin(xy) + y^3 at (1, 2): H = [[2y - y² sin(xy), 2x + cos(xy) - xy sin(xy)], [·, -x² sin(xy) + 6y]]
    xs, ys = 1.0, 2.0
    assert matrix[0, 0, 0].item() == pytest.approx(2 * ys - ys**2 * math.sin(xs * ys))
    assert matrix[0, 1, 0].item() == pytest.approx(2 * xs + math.cos(xs * ys) - xs * ys * math.sin(xs * ys))
    assert matrix[1, 1, 0].item() == pytest.approx(-(xs**2) * math.sin(xs * ys) + 6 * ys)


def _derivatives(text: str, at: float, orders: int) -> list[float]:
    """f and its first `orders` derivatives at `at`, by autograd on the program."""
    leaf = torch.tensor(at, dtype=torch.float64, requires_grad=True)
    value = compile_expression(parse_expression(text))({"x": leaf}, torch.float64)
    found = [value.item()]
    for _ in range(orders):
        (value,) = torch.autograd.grad(value, leaf, create_graph=True)
        found.append(value.item())
    return found


def test_sinc_is_the_unnormalised_one_with_every_derivative_at_zero():
    # torch.sinc is sin(pi x)/(pi x), and its gradient is set to 0 at 0 for every order.
    assert _derivatives("sinc(x)", 0.0, 4) == pytest.approx([1.0, 0.0, -1 / 3, 0.0, 1 / 5], abs=1e-15)
    assert run("sinc(x)", x=math.pi).item() == pytest.approx(0.0, abs=1e-16)
    for at in (1e-8, 0.3, 0.5, 2.0, -7.0):  # both sides of the switch to sin(x)/x at 1/2
        with mpmath.workdps(50):  # (x cos x - sin x)/x^2 in floats cancels near 0: mpmath's
            expected = [float(mpmath.diff(lambda u: mpmath.sin(u) / u, mpmath.mpf(at), k)) for k in (0, 1)]
        assert _derivatives("sinc(x)", at, 1) == pytest.approx(expected, rel=1e-14, abs=1e-30)


def test_root_is_real_for_odd_indices_and_nan_outside_its_domain():
    assert run("root(x, 3)", x=-8.0).item() == pytest.approx(-2.0)
    assert run("root(x, 5)", x=-32.0).item() == pytest.approx(-2.0)
    assert run("root(x, -3)", x=-8.0).item() == pytest.approx(-0.5)
    assert run("root(x, 4)", x=16.0).item() == pytest.approx(2.0)
    for text in ("root(x, 2)", "root(x, 2.5)", "root(x, 0)"):
        assert math.isnan(run(text, x=-4.0).item()), text
    assert _derivatives("root(x, 3)", -8.0, 1)[1] == pytest.approx(1 / 12)


def test_reciprocal_functions_and_their_inverses():
    cases = {  # hand-written from their definitions
        "sech(x)": lambda v: 1 / math.cosh(v), "csch(x)": lambda v: 1 / math.sinh(v),
        "coth(x)": lambda v: 1 / math.tanh(v), "asec(x)": lambda v: math.acos(1 / v),
        "acsc(x)": lambda v: math.asin(1 / v), "acot(x)": lambda v: math.atan(1 / v),
        "asech(x)": lambda v: math.acosh(1 / v), "acsch(x)": lambda v: math.asinh(1 / v),
        "acoth(x)": lambda v: math.atanh(1 / v), "exp2(x)": lambda v: 2.0**v,
    }
    for text, formula in cases.items():
        for at in (0.4, 0.9, -1.7, 3.5):
            try:
                expected = formula(at)
            except ValueError:  # outside the real domain: nan here too
                assert math.isnan(run(text, x=at).item()), (text, at)
                continue
            assert run(text, x=at).item() == pytest.approx(expected, rel=1e-14), (text, at)
    assert run("acot(x)", x=0.0).item() == math.pi / 2  # SymPy's acot(0)
    assert _derivatives("acot(x)", 0.0, 2) == pytest.approx([math.pi / 2, -1.0, 0.0])
    assert _derivatives("sech(x)", 0.0, 2) == pytest.approx([1.0, 0.0, -1.0])  # not abs(x): its gradient at 0 is 0
