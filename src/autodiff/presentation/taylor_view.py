"""`autodiff taylor` as a table: a row per coefficient (Taylor mode's, nested
autograd's where it ran, SymPy's exact one, the exact value, the verdict),
the polynomial, the notes on which witnesses ran, and the verdict line."""

from __future__ import annotations

from typing import Optional

from autodiff.commands.taylor import TaylorResult
from autodiff.presentation.lines import Wrapped, print_line
from autodiff.presentation.render import WITNESS_NAMES, mark, table_fits, value_block
from autodiff.text import exact_text, format_number, point_text

SOURCES = {"symbolic": "", "exact": " (exact coefficients)", "taylor mode": " (Taylor mode's coefficients)"}


def render_taylor(result: TaylorResult, console, typed: Optional[str] = None, notation: str = "plain") -> None:
    """The function and point, one row per coefficient (Taylor mode's, nested
    autograd's where it ran, SymPy's exact one, the exact value, the
    verdict), the polynomial, the notes and the verdict lines."""
    from autodiff.language.notation import show

    arguments = f"({', '.join(result.variables)})" if result.variables else ""
    print_line(console, f"f{arguments} = {show(result.expression, notation)}")
    print_line(console, f"at {point_text(result.at)}")
    print_line(console, f"Taylor coefficients f⁽ᵅ⁾(a)/α! to degree {result.order}")
    console.print(_coefficients(result, console, notation))
    if result.polynomial is not None:
        print_line(console, f"f ≈ {show(result.polynomial, notation)}{SOURCES[result.polynomial_source]}")
    for note in result.notes:
        print_line(console, note, style="dim")
    for line in verdict_lines(result):
        print_line(console, line, layout=True)


def _coefficients(result: TaylorResult, console, notation: str):
    """A row per coefficient where the table fits with every number whole
    (SymPy's expressions may fold, between words); else a block per term."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from autodiff.language.notation import show

    autograd = result.autograd_order is not None
    symbolic = any(term.symbolic is not None for term in result.terms)
    columns = [("term", "left"), ("Taylor mode", "right")]
    columns += [("autograd", "right")] if autograd else []
    columns += [("SymPy", "left")] if symbolic else []
    columns += [("exact", "right"), ("", "left")]
    rows = []
    for term in result.terms:
        row = [show(term.monomial, notation), format_number(term.taylor_mode)]
        if autograd:
            row.append("—" if term.autograd is None else format_number(term.autograd))
        if symbolic:
            row.append("—" if term.symbolic is None else show(term.symbolic, notation))
        excluded = term.differentiable is False or term.exact_source == "limit"
        rows.append((row + [exact_text(term.exact) if term.exact is not None else "—"], mark(term.agree, excluded)))
    headers = [header for header, _ in columns]
    cells = [[header, *(texts[i] for texts, _ in rows)] for i, header in enumerate(headers[:-1])]
    cells.append(["", *(verdict.plain for _, verdict in rows)])
    if table_fits(cells, console.width, folding=(headers.index("SymPy"),) if symbolic else ()):
        table = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 3, 0, 0), header_style="bold")
        for header, justify in columns:
            table.add_column(header, justify=justify, no_wrap=header != "SymPy", overflow="fold")
        for texts, verdict in rows:  # SymPy's text folds between tokens, never inside a number
            table.add_row(*(Wrapped(text) for text in texts), verdict)
        return table
    names = headers[1:-1]
    return Group(*(
        value_block(Text.assemble(texts[0], " ", verdict) if verdict.plain else Text(texts[0]),
                    list(zip(names, texts[1:])), console.width, folding=("SymPy",))
        for texts, verdict in rows
    ))


def verdict_lines(result: TaylorResult) -> list:
    """The verdict, and a line for the coefficients that do not exist at the point."""
    from rich.text import Text

    missing = Text("⚠ not compared: a coefficient does not exist at the point as written (see the warnings)",
                   style="yellow")
    verdict = _verdict(result)
    lines = [] if verdict is None else [verdict]
    if any(term.exact_source == "limit" for term in result.terms):
        lines.append(Text("⚠ not compared: f is undefined at the point as written; the coefficients are its "
                          "limit's (see the warnings)", style="yellow"))
    return lines + [missing] if any(term.differentiable is False for term in result.terms) else lines


def _verdict(result: TaylorResult):
    from rich.text import Text

    from autodiff.language.notation import show

    witness = "autograd" if result.checked_by == "autograd" else WITNESS_NAMES.get(result.checked_by, "the exact value")
    compared = any(term.autograd_agree is not None for term in result.terms)
    sides = "Taylor mode, autograd" if compared and witness != "autograd" else "Taylor mode"
    if result.agree is True:
        return Text(f"✓ {sides} and {witness} agree on every coefficient compared", style="green")
    if result.agree is False:
        wrong = [show(term.monomial) for term in result.terms if term.agree is False]
        shown = ", ".join(wrong[:10]) + (f" and {len(wrong) - 10} more" if len(wrong) > 10 else "")
        return Text(f"✗ {sides} and {witness} disagree for {shown}", style="bold red")
    return None
