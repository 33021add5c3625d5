"""The package's API functions stay functions: no submodule shadows one."""

from __future__ import annotations

import pkgutil

import autodiff


def test_no_module_is_named_like_an_api_function():
    modules = {info.name for info in pkgutil.iter_modules(autodiff.__path__)}
    assert not modules & set(autodiff._API)


def test_api_functions_can_be_called_again_and_again():
    for _ in range(2):
        assert autodiff.graph("x^2", at={"x": 1}).value == 1.0
        assert autodiff.taylor("exp(x)", {"x": 0}, order=2).terms[2].symbolic == "1/2"
        assert autodiff.verify("x^2", "2*x", over="x=0:1", points=3).right is True
        assert callable(autodiff.minimize) and callable(autodiff.check)
