"""`autodiff verify` as text: where D was checked, the largest error, the
points where it is wrong (beside autograd and the exact value), and
SymPy's proof."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from autodiff.commands.verify import VerifyResult
from autodiff.presentation.lines import print_line
from autodiff.presentation.render import table_fits, value_block
from autodiff.text import exact_text, format_number, prime


def render_verify(result: VerifyResult, console, notation: str = "plain") -> None:
    from autodiff.language.notation import show

    mark = prime(result.order)
    print_line(console, f"f({result.variable}) = {show(result.expression, notation)}")
    print_line(console, f"claimed f{mark}({result.variable}) = {show(result.claimed, notation)}")
    skipped = result.points - result.compared
    print_line(console, f"checked at {_where(result)}" + (f"; {skipped} not compared (see the warnings)" if skipped else ""))
    if result.max_error is not None:
        at = ", ".join(f"{n} = {format_number(v)}" for n, v in result.max_error_at.items() if n == result.variable)
        print_line(console, f"largest error |D − f{mark}| = {format_number(result.max_error)} at {at}")
    if result.wrong:
        print_line(console, Text(
            f"✗ the claimed derivative is wrong at {result.wrong_count} of {result.compared} points"
            + (f"; the first {len(result.wrong)}:" if result.wrong_count > len(result.wrong) else ":"),
            style="bold red",
        ))
        console.print(_wrong_table(result, mark, console.width))
    elif result.compared:
        where = f"all {result.compared} points" if result.compared > 1 else "the point"
        print_line(console, Text(f"✓ the claimed derivative agrees with autograd at {where}", style="green"))
    if result.derivative.agree is False:
        print_line(console, Text("✗ autograd's own derivative disagrees with its witnesses here: see the warnings",
                                 style="bold red"))
    proof, style = _proof_line(result, mark, notation)
    if proof:
        print_line(console, Text(proof, style=style))


def _where(result: VerifyResult) -> str:
    """`400 points, x from -5 to 5 (y = 3)`, `3 points`, or `1 point, x = 2`."""
    values = result.at[result.variable]
    if result.points > 1 and hasattr(values, "start"):
        where = f"{result.points} points, {result.variable} from {format_number(values.start)} to {format_number(values.stop)}"
    elif result.points > 1:
        where = f"{result.points} points"
    else:
        where = "1 point, " + ", ".join(f"{n} = {format_number(v)}" for n, v in result.at.items())
    others = {n: v for n, v in result.at.items() if n != result.variable}
    if others and result.points > 1:
        where += " (" + ", ".join(f"{n} = {format_number(v)}" for n, v in others.items()) + ")"
    return where


def _wrong_table(result: VerifyResult, mark: str, width: int):
    """A row per wrong point where the table fits whole, else a block per point."""
    headers = (result.variable, "claimed", f"f{mark} (autograd)", "exact", "error")
    rows = [
        (format_number(point.at[result.variable]), format_number(point.claimed), format_number(point.autograd),
         exact_text(point.exact), format_number(point.error))
        for point in result.wrong
    ]
    if not table_fits([[header, *column] for header, column in zip(headers, zip(*rows))], width):
        return Group(*(
            value_block(Text(f"{result.variable} = {row[0]}"), list(zip(headers[1:], row[1:])), width) for row in rows
        ))
    table = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 3, 0, 0), header_style="bold")
    for header in headers:
        table.add_column(header, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


def _proof_line(result: VerifyResult, mark: str, notation: str) -> tuple[str, str]:
    """SymPy's verdict on D − f⁽ᴺ⁾ = 0, and its style ("" when SymPy was off)."""
    from autodiff.language.notation import show

    return {
        "proved": ("✓ SymPy proves D − f" + mark + " = 0", "green"),
        "disproved": (f"✗ SymPy: D − f{mark} simplifies to {show(result.difference or '', notation)}, not 0", "bold red"),
        "not proved": (f"SymPy neither proves nor disproves D = f{mark} (D − f{mark} simplifies to "
                       f"{show(result.difference or '?', notation)})", "yellow"),
        "timeout": ("SymPy ran out of time (--symbolic-timeout) before deciding D − f" + mark + " = 0", "yellow"),
        "off": ("", ""),
    }[result.proof]
