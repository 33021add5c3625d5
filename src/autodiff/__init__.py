"""autodiff: derivatives from PyTorch autograd, checked against SymPy and
finite differences.

Importing this package stays cheap (no torch, no SymPy): `--help` and
`--version` depend on it.
"""

__version__ = "0.1.0"
