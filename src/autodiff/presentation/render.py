"""Renderers: results to a rich view for people or to strict JSON.

Answers go to stdout; warnings and errors go to stderr. Colour only where
rich finds a terminal, and never when NO_COLOR is set (rich honours it).
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Optional

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from autodiff.errors import AutodiffError
from autodiff.points import is_vector
from autodiff.presentation.lines import Wrapped, least_width, print_line
from autodiff.results import DerivativeResult, HessianResult, MatrixReport, PointReport, Values
from autodiff.text import derivative_label, elide, exact_text, format_number, point_text, subscript



PIPED_WIDTH = 200  # columns when stdout is not a terminal and COLUMNS is unset


class _AnswerConsole(Console):
    """rich exits 1 when the reader of stdout goes away; 1 means "a check
    failed" here, so the error is handed to the CLI, which exits 141."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def stdout_console() -> Console:
    # Piped output is the answer: never fold it to rich's default 80 columns.
    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return _AnswerConsole(highlight=False, width=PIPED_WIDTH if piped else None)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def dumps(payload: dict) -> str:
    """Strict JSON: callers have already turned non-finite floats into strings."""
    return _escape_surrogates(json.dumps(payload, ensure_ascii=False, allow_nan=False))


def write_json(payload: dict, file=None) -> None:
    """`dumps(payload)` and a newline, written in pieces as it is encoded:
    a large answer (a graph of 10^6 points) is never one string in memory."""
    file = file if file is not None else sys.stdout
    if _small(payload, [_SMALL]):  # one line of a stream: the C encoder, in one piece
        file.write(dumps(payload) + "\n")
        file.flush()
        return
    encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
    pieces: list[str] = []
    size = 0
    for piece in encoder.iterencode(payload):
        pieces.append(piece)
        size += len(piece)
        if size >= _PIECE:
            file.write(_escape_surrogates("".join(pieces)))
            pieces, size = [], 0
    file.write(_escape_surrogates("".join(pieces)) + "\n")
    file.flush()


_PIECE = 1 << 16  # characters written at once
_SMALL = 4096  # values in a payload that is encoded as one string


def _small(value, budget: list) -> bool:
    """Whether `value` holds fewer values than budget[0]: the sizes of its
    dicts and lists, summed as it walks (only containers are visited, and
    the walk stops as soon as the budget runs out)."""
    containers = (dict, list, tuple)
    left = budget[0]
    pending = [value]
    while pending:
        item = pending.pop()
        items = item.values() if isinstance(item, dict) else item if isinstance(item, (list, tuple)) else ()
        left -= len(items) + 1
        if left <= 0:
            return False
        pending.extend(inner for inner in items if isinstance(inner, containers))
    return True


def _escape_surrogates(text: str) -> str:
    """An undecodable byte of the input (a lone surrogate, always inside a
    JSON string) as its JSON escape, as ensure_ascii writes it: stdout could not encode it."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def expression_text(text: str, notation: str = "plain") -> str:
    """An expression as people read it, in the notation chosen (--notation,
    design §10): every expression text of the human view (f, symbolic
    derivatives, graph nodes) goes through here."""
    from autodiff.language.notation import show

    return show(text, notation)


def _add_row(table: Table, *cells) -> None:
    """Cells as plain text: user text and SymPy output are never rich markup ("[lo, hi]")."""
    table.add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in cells))


def mark(ok: Optional[bool], excluded: bool = False) -> Text:
    """✓, ✗, or for a derivative not compared because it does not exist, ⚠."""
    if ok is None:
        return Text("⚠", style="yellow") if excluded else Text("")
    return Text("✓", style="green") if ok else Text("✗", style="bold red")


def _rows(derivative: DerivativeResult, index: Optional[int]):
    autograd = derivative.autograd if index is None or derivative.autograd is None else derivative.autograd[index]
    return [
        format_number(autograd),
        format_number(derivative.witness_at(derivative.symbolic_value, index)),
        format_number(derivative.witness_at(derivative.numeric, index)),
        exact_text(derivative.witness_at(derivative.exact, index)),
    ]


def render_report(result: PointReport, console: Console, notation: str = "plain") -> None:
    """grad and partial: the function, the point, f, then one row per derivative."""
    labelled = [(derivative_label(d.wrt), d) for d in result.derivatives()]
    if not _render_header(result, console, labelled, notation):
        return
    console.print(_derivatives_view(result, labelled, console.width, notation))
    for line in verdicts(result, labelled):
        print_line(console, line, layout=True)


def _render_header(result: PointReport, console: Console, labelled, notation: str) -> bool:
    """The function and the point; without a point, the symbolic derivatives
    (and False: there is nothing more to show)."""
    # Text, not markup: user text and SymPy output may contain '[...]'.
    arguments = f"({', '.join(result.variables)})" if result.variables else ""
    print_line(console, f"f{arguments} = {expression_text(result.expression, notation)}")
    if result.at is None:
        for label, derivative in labelled:
            shown = "(not available: see the warning)" if derivative.symbolic is None else expression_text(derivative.symbolic, notation)
            print_line(console, f"{label} = {shown}")
        return False
    print_line(console, f"at {point_text(result.at)}")
    print_line(console, f"f = {format_number(result.value)}{_exact_value_note(result)}")
    return True


def _exact_value_note(result: PointReport) -> str:
    """The exact f beside the float one, where fewer digits are right than the header shows."""
    digits = result.value_digits
    if digits is None or is_vector(result.value) or isinstance(digits, list) or digits >= 10:
        return ""
    if result.value_exact_source == "limit":
        return f" (its limit: {exact_text(result.value_exact)})"
    return f" (exactly {exact_text(result.value_exact)})"


def _point_size(result: PointReport) -> Optional[int]:
    return next((len(v) for v in result.at.values() if is_vector(v)), None)


NARROWEST = 8  # the least width of a number column and of the symbolic column
SYMBOLIC_LEAST = 16  # the narrowest symbolic column worth a table
SYMBOLIC_LINES = 4  # the most lines a symbolic derivative folds onto in a table cell (roughly)
SEPARATOR = 3  # between two columns of a SIMPLE_HEAD table without edges: padding, rule, padding


@dataclass
class _Entry:
    """One derivative's texts, for either layout; `rows` holds (point,
    numbers) per point shown: point None at a scalar point, "[i]", or "…"
    where points are elided."""

    label: str
    symbolic: str
    verdict: Text
    rows: list


def _derivatives_view(result: PointReport, labelled: list, width: int, notation: str) -> RenderableType:
    """The widest layout whose numbers, labels and marks fit whole in
    `width`: a number is never cut, nor a column dropped. A table with a
    symbolic column; else each `label = symbolic derivative` on its own line
    above a table of the numbers; else one block per derivative."""
    headers, entries = _entries(result, labelled, notation)
    vector = _point_size(result) is not None
    if _table_width(headers, entries, vector, symbolic=True) <= width:
        return _derivative_table(headers, entries, vector, symbolic=True)
    stacked = [header.replace(" ", "\n") for header in headers]  # "symbolic\nvalue": narrower columns
    if _table_width(stacked, entries, vector, symbolic=False) <= width:
        lines = [Wrapped(f"{entry.label} = {entry.symbolic}") for entry in entries]
        return Group(*lines, _derivative_table(stacked, entries, vector, symbolic=False))
    return _derivative_blocks(headers, entries, vector, width)


def engine_name(labelled: list) -> str:
    """"Taylor mode" where it computed every derivative shown, else "autograd"."""
    taylor = labelled and all(d.engine == "taylor mode" for _, d in labelled)
    return "Taylor mode" if taylor else "autograd"


def _entries(result: PointReport, labelled: list, notation: str) -> tuple[list[str], list[_Entry]]:
    """The headers of the number columns, and each derivative's texts."""
    size = _point_size(result)
    has_exact = any(d.exact is not None for _, d in labelled)
    has_expect = any(d.expected is not None for _, d in labelled)
    headers = [engine_name(labelled), "symbolic value", *(["exact"] if has_exact else []), "finite diff."]
    headers += ["expected"] if has_expect else []
    entries = []
    for label, derivative in labelled:
        rows = []
        for index in [None] if size is None else elide(range(size)):
            if index == "…":
                rows.append(("…", ["…"] * len(headers)))
                continue
            autograd, symbolic_value, numeric, exact = _rows(derivative, index)
            numbers = [autograd, symbolic_value, *([exact] if has_exact else []), numeric]
            if has_expect:
                expected = derivative.expected
                numbers.append(format_number(expected[index] if is_vector(expected) and index is not None else expected))
            rows.append((None if index is None else f"[{index}]", numbers))
        symbolic = "—" if derivative.symbolic is None else expression_text(derivative.symbolic, notation)
        entries.append(_Entry(label, symbolic, _verdict_mark(derivative), rows))
    return headers, entries


def _verdict_mark(derivative: DerivativeResult) -> Text:
    ok = derivative.agree is not False and derivative.expect_met is not False
    excluded = nondifferentiable_somewhere(derivative) or _unchecked(derivative)
    return mark(ok if derivative.agree is not None or not ok else None, excluded)


def _table_width(headers: list[str], entries: list[_Entry], vector: bool, symbolic: bool) -> int:
    """The table's width with every column whole but the symbolic one, which
    may fold to SYMBOLIC_LEAST columns or SYMBOLIC_LINES lines, the wider."""
    rows = [row for entry in entries for row in entry.rows]
    widths = [_width(["derivative", *(entry.label for entry in entries)])]
    if vector:
        widths.append(_width(["point", *(point for point, _ in rows)], NARROWEST))
    widths += [_width([header, *(numbers[i] for _, numbers in rows)], NARROWEST) for i, header in enumerate(headers)]
    if symbolic:
        longest = _width(["symbolic", *(entry.symbolic for entry in entries)])
        unsplit = max(least_width(entry.symbolic) for entry in entries)  # no number folded
        widths.append(max(NARROWEST, unsplit, min(longest, max(SYMBOLIC_LEAST, -(-longest // SYMBOLIC_LINES)))))
    widths.append(_width([entry.verdict.plain for entry in entries], 1))
    return _columns_width(widths)


def _width(texts, least: int = 0) -> int:
    return max([least, *(cell_len(line) for text in texts for line in text.splitlines())])


def _columns_width(widths: list[int]) -> int:
    return sum(widths) + SEPARATOR * (len(widths) - 1)


def _derivative_table(headers: list[str], entries: list[_Entry], vector: bool, symbolic: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    # Numbers never fold or truncate; a long symbolic derivative folds instead.
    # Without it, every cell is one line, and headers of two lines sit on the rule.
    vertical = "top" if symbolic else "bottom"
    number = {"justify": "right", "no_wrap": True, "min_width": NARROWEST, "vertical": vertical}
    table.add_column("derivative", no_wrap=True, vertical=vertical)
    if vector:
        table.add_column("point", **number)
    table.add_column(headers[0], **number)
    if symbolic:
        table.add_column("symbolic", overflow="fold", min_width=NARROWEST)
    for header in headers[1:]:
        table.add_column(header, **number)
    table.add_column("", no_wrap=True, vertical=vertical)
    for entry in entries:
        for row, (point, numbers) in enumerate(entry.rows):
            first = row == 0
            cells = [entry.label if first else "", *([point] if vector else []), numbers[0]]
            cells += [Wrapped(entry.symbolic) if first else ""] if symbolic else []
            cells += numbers[1:]
            _add_row(table, *cells, entry.verdict if first else "")
    return table


def _derivative_blocks(headers: list[str], entries: list[_Entry], vector: bool, width: int) -> Group:
    """One block per derivative: its label and verdict, then `name: value`
    lines, point by point at a vector point; only the symbolic text folds."""
    numbers = [number for entry in entries for _, row in entry.rows for number in row]
    least = max([_width(numbers), *(_folding_width(entry.symbolic) for entry in entries)])
    blocks = []
    for entry in entries:
        blocks.append(Text.assemble(entry.label, " ", entry.verdict) if entry.verdict.plain else Text(entry.label))
        lines = [("", "symbolic:", entry.symbolic)]
        for point, row in entry.rows:
            if point == "…":
                lines.append(("…", "", ""))
                continue
            lines += [(point if i == 0 else "", f"{header}:", number) for i, (header, number) in enumerate(zip(headers, row))]
        blocks.append(Padding(_named_values(lines, vector, width - 2, least), (0, 0, 0, 2), expand=False))
    return Group(*blocks)


def value_block(title: Text, values: list[tuple[str, str]], width: int, folding: tuple = ()) -> Group:
    """A block of a view too narrow for its table: `title`, then each
    (name, value) as an indented `name: value` line, or the value on the
    line under its name where the two do not fit side by side. Numbers are
    never folded; only the values of the names in `folding` (expressions) may be."""
    least = max(_folding_width(value) if name in folding else cell_len(value) for name, value in values)
    lines = [("", f"{name}:", value) for name, value in values]
    return Group(title, Padding(_named_values(lines, False, width - 2, least), (0, 0, 0, 2), expand=False))


def _named_values(lines: list[tuple], vector: bool, width: int, least: int) -> Table:
    """(point, name, value) as `name: value` lines, after a point column at a
    vector point; where that leaves no `least` columns for a value (a whole
    number), each value goes on a line of its own below its name."""
    point_width = _width([point for point, _, _ in lines]) + 1 if vector else 0
    stacked = point_width + _width([name for _, name, _ in lines]) + 1 + least > width
    grid = Table.grid(padding=(0, 1))
    for _ in range(int(vector) + int(not stacked)):  # the point, the name
        grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for point, name, value in lines:
        at = [point] if vector else []
        if not stacked:
            _add_row(grid, *at, name, Wrapped(value))
            continue
        _add_row(grid, *at, name)
        if value:
            grid.add_row(*([""] if vector else []), Padding(Wrapped(value), (0, 0, 0, 2)))
    return grid


def table_fits(columns: list[list[str]], width: int, folding: tuple = ()) -> bool:
    """Whether a table of `columns` (each its header and cells), three cells
    apart, fits `width` with every cell whole, but those of the columns
    whose indices are in `folding`, which fold (`_folding_width`)."""
    widths = [
        max(_folding_width(text) for text in column) if index in folding else _width(column)
        for index, column in enumerate(columns)
    ]
    return _columns_width(widths) <= width


def _folding_width(text: str) -> int:
    """The narrowest a text that may fold is given: SYMBOLIC_LEAST columns,
    and never so narrow that a number in it folds."""
    return max(cell_len(text[:SYMBOLIC_LEAST]), least_width(text))


def verdicts(result: PointReport, labelled: list) -> list[Text]:
    """The lines under a report's derivatives (`labelled`: (label, DerivativeResult)):
    the verdict, frozen variables, declared derivatives, where the witnesses ran, --expect."""
    lines = [  # --frozen: no derivative, rather than a 0
        Text(f"{derivative_label([name])}: frozen ({name} has requires_grad=False: no derivative is taken)")
        for name in getattr(result, "frozen", ())
    ]
    witness = WITNESS_NAMES.get(result.checked_by, "finite differences")
    engine = engine_name(labelled)
    if result.agree is True:
        lines.append(Text(f"✓ {engine} and {witness} agree", style="green"))
    elif result.agree is None and any(nondifferentiable_somewhere(d) for _, d in labelled):
        lines.append(Text("⚠ not compared: the derivative does not exist at the point (see the warnings)", style="yellow"))
    elif result.agree is None and any(_unchecked(d) for _, d in labelled):
        lines.append(Text(
            f"⚠ not checked: no witness independent of {engine}'s float64 rounding decided (see the warnings)",
            style="yellow",
        ))
    elif result.agree is False and any(d.agree is False for _, d in labelled):
        names = _capped([label for label, d in labelled if d.agree is False])
        lines.append(Text(f"✗ {engine} and {witness} disagree for {', '.join(names)}", style="bold red"))
    lines += _declared_lines(result)
    sampled = next((d.checked_points for _, d in labelled if d.checked_points is not None), None)
    if sampled is not None:
        lines.append(Text(
            f"{'exact, ' if any(d.exact is not None for _, d in labelled) else ''}symbolic and finite differences "
            f"checked at {len(sampled)} of {_point_size(result)} points "
            f"(every {_ordinal(sampled.step)} from [0]; autograd at every point)", style="dim"
        ))
    unmet = _capped([label for label, d in labelled if d.expect_met is False])
    if unmet:
        lines.append(Text(f"✗ --expect not met for {', '.join(unmet)}", style="bold red"))
    elif result.expect_met:
        lines.append(Text("✓ --expect met", style="green"))
    return lines


WITNESS_NAMES = {"exact": "the exact value", "symbolic": "symbolic", "numeric": "finite differences"}


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def nondifferentiable_somewhere(derivative: DerivativeResult) -> bool:
    """Whether the derivative does not exist somewhere (a kink, outside the domain, infinite)."""
    flags = derivative.differentiable
    if isinstance(flags, Values):
        return not bool(flags.tensor.all())
    return flags is False or (isinstance(flags, list) and not all(flags))


def _unchecked(derivative: DerivativeResult) -> bool:
    """Whether the derivative was not checked somewhere: no exact value, and
    only the float symbolic value (which shares autograd's rounding) agrees."""
    return derivative.unchecked and derivative.agree is None


def _capped(labels: list[str], keep: int = 10) -> list[str]:
    return labels if len(labels) <= keep else labels[:keep] + [f"and {len(labels) - keep} more"]


MAX_ENTRY_ROWS = 24  # matrix entries listed before the rest are summarised
MAX_GRID_COLUMNS = 8  # widest matrix drawn as a grid


def render_matrix_report(result: MatrixReport, console: Console, notation: str = "plain") -> None:
    """hessian and jacobian: the entries autograd beside symbolic, the matrix,
    and for a Hessian its eigenvalues, definiteness and critical point."""
    hessian = isinstance(result, HessianResult)
    labelled = _matrix_labels(result, hessian)
    shown = [(label, d) for label, d, listed in labelled if listed]
    if not _render_header(result, console, shown, notation):
        return
    listed = _listed(shown)
    console.print(_derivatives_view(result, listed, console.width, notation))
    if len(listed) < len(shown):
        print_line(console, f"  … {len(shown) - len(listed)} more entries, all agreeing (--json lists every entry)", layout=True)
    if _point_size(result) is None and len(result.columns) <= MAX_GRID_COLUMNS:
        console.print(_matrix_view(result, hessian, console.width))
    if hessian:
        for line in _curvature_lines(result, console.width):
            if isinstance(line, Text):
                print_line(console, line, layout=True)
            else:
                console.print(line)
    for line in verdicts(result, [(label, d) for label, d, _ in labelled]):
        print_line(console, line, layout=True)


def _fails(entry: DerivativeResult) -> bool:
    return entry.agree is False or entry.expect_met is False


def _matrix_labels(result: MatrixReport, hessian: bool) -> list:
    """(label, entry, listed) for every entry; a Hessian lists its upper
    triangle, and a lower entry only where it fails and its mirror does not."""
    labelled = []
    for i, row in enumerate(result.entries):
        function = "f" if hessian else f"f{subscript(i + 1)}"
        for j, entry in enumerate(row):
            listed = not hessian or j >= i or (_fails(entry) and not _fails(result.entries[j][i]))
            labelled.append((derivative_label(entry.wrt, function), entry, listed))
    return labelled


def _listed(shown: list) -> list:
    """At most MAX_ENTRY_ROWS entries, keeping every one that failed."""
    if len(shown) <= MAX_ENTRY_ROWS:
        return shown
    failed = [item for item in shown if _fails(item[1]) or nondifferentiable_somewhere(item[1])]
    room = max(0, MAX_ENTRY_ROWS - len(failed))
    keep = {id(item[1]) for item in failed} | {id(item[1]) for item in shown[:room]}
    return [item for item in shown if id(item[1]) in keep]


def _matrix_view(result: MatrixReport, hessian: bool, width: int) -> Group:
    """The autograd matrix as a grid where it fits whole, else row by row."""
    title = "Hessian (autograd)" if hessian else "Jacobian (autograd)"
    labels = [result.rows[i] if hessian else f"f{subscript(i + 1)}" for i in range(len(result.entries))]
    rows = [[format_number(entry.autograd) for entry in row] for row in result.entries]
    widths = [_width(labels)] + [_width([name, *(row[j] for row in rows)]) for j, name in enumerate(result.columns)]
    if _columns_width(widths) > width:
        lines = Table.grid(padding=(0, 1))
        lines.add_column(no_wrap=True)
        lines.add_column(overflow="fold")  # wraps between numbers, never inside one
        for label, row in zip(labels, rows):
            _add_row(lines, f"{label}:", Wrapped(", ".join(row)))
        return Group(Text(f"{title}, row by row; columns {', '.join(result.columns)}"), lines)
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    table.add_column("", no_wrap=True)
    for name in result.columns:
        table.add_column(name, justify="right", no_wrap=True)
    for label, row in zip(labels, rows):
        _add_row(table, label, *row)
    return Group(Text(title), table)


def _curvature_lines(result: HessianResult, width: int) -> list:
    size = _point_size(result)
    if size is None:
        lines = [
            Text(f"eigenvalues: {', '.join(format_number(v) for v in elide(result.eigenvalues))}"),
            Text(f"{result.definiteness}{'' if result.symmetric else ' (of the symmetric part: autograd is not symmetric)'}"),
            Text(_critical_text(result.critical_point, result.definiteness)),
        ]
        return lines
    headers = ("point", "eigenvalues", "definiteness", "critical point")
    rows = []
    for index in elide(list(range(size))):
        if index == "…":
            rows.append(["…", ["…"], "…", "…"])
            continue
        eigenvalues = [column if column == "…" else format_number(column[index]) for column in elide(result.eigenvalues)]
        rows.append([f"[{index}]", eigenvalues, result.definiteness[index], result.critical_point[index] or "—"])
    # The eigenvalues fold between numbers, never inside one.
    cells = [[header, *(text for row in rows for text in ([row[i]] if i != 1 else row[i]))] for i, header in enumerate(headers)]
    widths = [_width(column) for column in cells]
    if _columns_width(widths) > width:  # a block per point, as the derivatives have
        lines = []
        for point, values, definiteness, critical in rows:
            texts = [", ".join(values), definiteness, critical]
            lines += [("…", "", "")] if point == "…" else [
                (point if i == 0 else "", f"{header}:", text) for i, (header, text) in enumerate(zip(headers[1:], texts))
            ]
        return [_named_values(lines, True, width, _width([value for row in rows for value in row[1]]))]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name in headers:
        table.add_column(name, no_wrap=name != "eigenvalues", overflow="fold")
    for point, values, definiteness, critical in rows:
        _add_row(table, point, Wrapped(", ".join(values)), definiteness, critical)
    return [table]


def _critical_text(kind: Optional[str], definiteness: str) -> str:
    if definiteness == "undefined":
        return "the Hessian is not finite here: no definiteness, no critical-point test"
    if kind is None:
        return "not a critical point: the gradient is not zero"
    if kind == "inconclusive":
        return "critical point (gradient zero); the second-derivative test is inconclusive"
    return f"critical point (gradient zero): {kind}"


DESCRIPTION_LEAST = 24  # the narrowest description column worth a table; below it, a block per name


def render_functions(listing: dict, console: Console) -> None:
    """`autodiff functions`: one row per function, then the constants; where
    the table would squeeze the descriptions, a block per name."""
    functions = [(f["signature"], f["arity"], f["description"]) for f in listing["functions"]]
    names = [_width(["function", *(signature for signature, _, _ in functions)]), _width(["arguments"])]
    if _columns_width([*names, DESCRIPTION_LEAST]) > console.width:
        for signature, arity, description in functions:
            plural = "" if arity == "1" else "s"
            console.print(Text.assemble(signature, (f"  {arity} argument{plural}", "dim")))
            console.print(Padding(Text(description), (0, 0, 0, 2), expand=False))
    else:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("function", no_wrap=True)
        table.add_column("arguments", justify="right", no_wrap=True)
        table.add_column("description", overflow="fold")
        for row in functions:
            _add_row(table, *row)
        console.print(table)
    constants = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    constants.add_column("constant", no_wrap=True)
    constants.add_column("description", overflow="fold")
    for constant in listing["constants"]:
        _add_row(constants, constant["name"], constant["description"])
    console.print(constants)


def render_warnings(warnings: list[str], console: Console, where: str = "") -> None:
    """`where`: a prefix naming the input, e.g. "line 3: " when streaming."""
    for warning in warnings:
        print_line(console, Text(f"{where}warning: {warning}", style="yellow"))


def render_error(error: AutodiffError, console: Console, where: str = "") -> None:
    """The message, wrapped between words; the input and its caret as they
    are (a caret must stay under its column)."""
    print_line(console, Text(f"{where}error: {error.message}", style="bold red"))
    for line in error.caret_lines():
        console.print(Text(line), soft_wrap=True)


def _declared_lines(result) -> list[Text]:
    """Each declared derivative's check (autodiff.language.declared)."""
    lines = []
    for check in getattr(result, "declared", ()):
        if check["agree"] is False:
            lines.append(Text(f"✗ {check['message']}", style="bold red"))
        elif check["agree"]:
            points = check["points"]
            lines.append(Text(
                f"✓ the declared derivative of {check['function']} with respect to {check['parameter']} agrees with "
                f"the definition's at {points} point{'s' if points != 1 else ''}", style="green"))
    return lines
