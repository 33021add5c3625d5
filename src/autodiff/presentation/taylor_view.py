"""`autodiff taylor` as a table: a row per coefficient, the polynomial, and
the verdict lines every derivative command prints."""

from __future__ import annotations

from typing import Optional

from autodiff.commands.taylor import TaylorResult
from autodiff.presentation.render import mark, verdicts
from autodiff.text import exact_text, format_number, point_text


def render_taylor(result: TaylorResult, console, typed: Optional[str] = None, notation: str = "plain") -> None:
    """The function and point, one row per coefficient (autograd's, SymPy's
    exact one, the exact witness's value, the verdict), the polynomial, and
    the verdict lines of the other commands."""
    from rich.table import Table
    from rich.text import Text

    from autodiff.language.notation import show

    arguments = f"({', '.join(result.variables)})" if result.variables else ""
    console.print(Text(f"f{arguments} = {show(result.expression, notation)}"), soft_wrap=True)
    console.print(Text(f"at {point_text(result.at)}"), soft_wrap=True)
    console.print(Text(f"Taylor coefficients f⁽ᵅ⁾(a)/α! to degree {result.order}"), soft_wrap=True)
    table = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 3, 0, 0), header_style="bold")
    for header, justify in (("term", "left"), ("autograd", "right"), ("SymPy", "left"), ("exact", "right"), ("", "left")):
        table.add_column(header, justify=justify, no_wrap=header != "SymPy", overflow="fold")
    for term in result.terms:
        derivative = term.derivative
        verdict = mark(term.agree, derivative is not None and derivative.differentiable is False)
        table.add_row(
            Text(show(term.monomial, notation)), Text(format_number(term.coefficient)),
            Text("—" if term.symbolic is None else show(term.symbolic, notation)), Text(exact_text(term.exact)), verdict,
        )
    console.print(table)
    if result.polynomial is not None:
        source = "" if result.polynomial_source == "symbolic" else " (autograd's coefficients)"
        console.print(Text(f"f ≈ {show(result.polynomial, notation)}{source}"), soft_wrap=True)
    labelled = [(show(term.monomial, notation), term.derivative) for term in result.terms if term.derivative is not None]
    for line in verdicts(result, labelled):
        console.print(line)
