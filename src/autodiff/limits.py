"""Bounds on the work one input can ask for (design §7).

The defaults never bother an honest user; they stop inputs that would hang
the tool or exhaust memory (`9^9^9^9`, a 10^12-point grid) before any work is
done.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_length: int = 10_000  # characters of expression text
    max_depth: int = 100  # nesting of parentheses, calls and operators
    max_integer_digits: int = 1_000  # digits of an integer literal
    max_exact_digits: int = 4_000  # digits of an exact number like 9^9^9 (below Python's str limit)
    max_points: int = 10_000_000  # elements in a vector or grid point
    max_order: int = 20  # derivative order
    max_matrix_entries: int = 40_000  # entries of a Hessian or Jacobian (200 variables' Hessian)
    max_matrix_values: int = 20_000_000  # entries × points of a Hessian or Jacobian
    # SymPy evaluates constants while it builds and prints a tree; a tower
    # like cos(exp(exp(exp(e)))) would take it forever.
    max_build_seconds: float = 5.0


DEFAULT_LIMITS = Limits()
