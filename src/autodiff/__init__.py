"""autodiff: derivatives from PyTorch autograd, checked against SymPy and
finite differences.

    >>> import autodiff
    >>> result = autodiff.grad("6*x^2+2*x+4", at={"x": 3})
    >>> result.gradient["x"].autograd, result.gradient["x"].symbolic
    (38.0, '12*x + 2')

Importing this package stays cheap (no torch, no SymPy): `--help` and
`--version` depend on it. The functions below load `autodiff.commands.api` (and with
it torch and SymPy) on first use.
"""

from autodiff.errors import AutodiffError

__version__ = "0.1.0"

# The public API: the same library functions the command line calls.
# No module of the package may share one of these names: importing it would
# replace the function on the package (tests/test_api_names.py).
_API = ("grad", "partial", "hessian", "jacobian", "graph", "plot", "check", "minimize", "taylor", "verify")

__all__ = [*_API, "AutodiffError", "__version__"]


def __getattr__(name: str):
    if name in _API:
        if name == "check":
            from autodiff.commands.cases import check as function
        else:
            from autodiff.commands import api

            function = getattr(api, name)
        return function  # not cached: autodiff.grad is always autodiff.commands.api.grad
    raise AttributeError(f"module 'autodiff' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(_API))
