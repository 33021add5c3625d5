"""`-q/--quiet`: only the answer's numbers, for the shell.

    x=$(autodiff grad "x^2" --at x=3 -q)      # 6

One line per derivative (grad, in --wrt order; partial) or per matrix row
(hessian, jacobian), numbers separated by spaces; a vector point's values of
one derivative are separated by commas. Each number is the shortest text
that reads back as the same double (6, 0.1, 1e-10, nan, inf). Without a
point, the symbolic derivatives, one per line. A stream's line that is an
error prints `error` in its place, so that the answers stay in step with
the input lines; an --expect that is not met is said on stderr.
"""

from __future__ import annotations

import math

from autodiff.language.notation import show
from autodiff.points import is_vector
from autodiff.results import MatrixReport


def lines(result, notation: str = "plain") -> list[str]:
    """The quiet answer of a grad, partial, hessian or jacobian result."""
    if isinstance(result, MatrixReport):
        return [" ".join(_entry(entry, result.at, notation) for entry in row) for row in result.entries]
    return [_entry(derivative, result.at, notation) for derivative in result.derivatives()]


def _entry(derivative, at, notation: str) -> str:
    if at is None:  # no point: the symbolic derivative is the answer
        return show(derivative.symbolic, notation) if derivative.symbolic else "?"
    value = derivative.autograd
    if is_vector(value):
        return ",".join(number(v) for v in value)
    return number(value)


def number(value) -> str:
    if value is None:  # not computed: nothing to read back
        return "nan"
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


ERROR_LINE = "error"  # a stream's line that failed, in its place among the answers


def unmet(result) -> str | None:
    """The one line on stderr for an --expect not met, else None."""
    from autodiff.text import derivative_label

    labels = [derivative_label(d.wrt) for d in result.derivatives() if d.expect_met is False]
    return f"✗ --expect not met for {', '.join(labels)}" if labels else None
