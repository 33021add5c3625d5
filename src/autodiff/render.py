"""Renderers: results to a rich view for people or to strict JSON.

Answers go to stdout; warnings and errors go to stderr. Colour only where
rich finds a terminal, and never when NO_COLOR is set (rich honours it).
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from typing import Optional

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from autodiff.errors import AutodiffError
from autodiff.results import (
    DerivativeResult, HessianResult, MatrixReport, PointReport, Values, derivative_label, exact_text, subscript,
)
from autodiff.points import is_vector

MAX_ROWS = 10  # vector points: rows shown before eliding the middle



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


def _escape_surrogates(text: str) -> str:
    """An undecodable byte of the input (a lone surrogate, always inside a
    JSON string) as its JSON escape, as ensure_ascii writes it: stdout could not encode it."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _expression_text(text: str) -> str:
    """An expression as people read it: every expression text of the human
    view (f, symbolic derivatives, graph nodes) goes through here."""
    return text


def format_number(value) -> str:
    if value is None:
        return "—"
    if is_vector(value):
        return "[" + ", ".join(format_number(v) for v in elide(value)) + "]"
    if isinstance(value, str):  # the "…" marker from elide
        return value
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.10g}"


def elide(values: list, keep: int = MAX_ROWS) -> list:
    if len(values) <= keep:
        return list(values)
    return list(values[: keep // 2]) + ["…"] + list(values[-(keep // 2) :])


def _add_row(table: Table, *cells) -> None:
    """Cells as plain text: user text and SymPy output are never rich markup ("[lo, hi]")."""
    table.add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in cells))


def mark(ok: Optional[bool], excluded: bool = False) -> Text:
    """✓, ✗, or for a derivative not compared because it does not exist, ⚠."""
    if ok is None:
        return Text("⚠", style="yellow") if excluded else Text("")
    return Text("✓", style="green") if ok else Text("✗", style="bold red")


def _point_text(at: dict) -> str:
    return ", ".join(f"{name} = {format_number(value)}" for name, value in at.items())


def _rows(derivative: DerivativeResult, index: Optional[int]):
    autograd = derivative.autograd if index is None or derivative.autograd is None else derivative.autograd[index]
    return [
        format_number(autograd),
        format_number(derivative.witness_at(derivative.symbolic_value, index)),
        format_number(derivative.witness_at(derivative.numeric, index)),
        exact_text(derivative.witness_at(derivative.exact, index)),
    ]


def render_report(result: PointReport, console: Console) -> None:
    """grad and partial: the function, the point, f, then one row per derivative."""
    labelled = [(derivative_label(d.wrt), d) for d in result.derivatives()]
    if not _render_header(result, console, labelled):
        return
    console.print(_derivative_table(result, labelled))
    for line in _verdicts(result, labelled):
        console.print(line)


def _render_header(result: PointReport, console: Console, labelled) -> bool:
    """The function and the point; without a point, the symbolic derivatives
    (and False: there is nothing more to show)."""
    # Text, not markup: user text and SymPy output may contain '[...]'.
    arguments = f"({', '.join(result.variables)})" if result.variables else ""
    console.print(Text(f"f{arguments} = {result.expression}"), soft_wrap=True)
    if result.at is None:
        for label, derivative in labelled:
            shown = "(not available: see the warning)" if derivative.symbolic is None else derivative.symbolic
            console.print(Text(f"{label} = {shown}"), soft_wrap=True)
        return False
    console.print(Text(f"at {_point_text(result.at)}"), soft_wrap=True)
    console.print(Text(f"f = {format_number(result.value)}{_exact_value_note(result)}"), soft_wrap=True)
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


def _derivative_table(result: PointReport, labelled: list) -> Table:
    size = _point_size(result)
    has_expect = any(d.expected is not None for _, d in labelled)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    # Numbers never fold or truncate; a long symbolic derivative folds instead.
    number = {"justify": "right", "no_wrap": True, "min_width": 8}
    table.add_column("derivative", no_wrap=True)
    if size is not None:
        table.add_column("point", **number)
    table.add_column("autograd", **number)
    table.add_column("symbolic", overflow="fold", min_width=8)
    table.add_column("symbolic value", **number)
    has_exact = any(d.exact is not None for _, d in labelled)
    if has_exact:
        table.add_column("exact", **number)
    table.add_column("finite diff.", **number)
    if has_expect:
        table.add_column("expected", **number)
    table.add_column("", no_wrap=True)
    for label, derivative in labelled:
        ok = derivative.agree is not False and derivative.expect_met is not False
        indices = [None] if size is None else elide(range(size))
        for row, index in enumerate(indices):
            first = row == 0
            if index == "…":
                _add_row(table, "", "…", "…", "", "…", *(["…"] if has_exact else []), "…", *(["…"] if has_expect else []), "")
                continue
            cells = [label if first else ""]
            if size is not None:
                cells.append(f"[{index}]")
            values = _rows(derivative, index)
            cells += [values[0], (derivative.symbolic or "—") if first else "", values[1]]
            cells += [values[3], values[2]] if has_exact else [values[2]]
            if has_expect:
                expected = derivative.expected
                shown = expected[index] if is_vector(expected) and index is not None else expected
                cells.append(format_number(shown))
            verdict = ok if derivative.agree is not None or not ok else None
            _add_row(table, *cells, mark(verdict, _missing(derivative)) if first else "")
    return table


def _verdicts(result: PointReport, labelled: list) -> list[Text]:
    lines = []
    witness = WITNESS_NAMES.get(result.checked_by, "finite differences")
    if result.agree is True:
        lines.append(Text(f"✓ autograd and {witness} agree", style="green"))
    elif result.agree is None and any(_missing(d) for _, d in labelled):
        lines.append(Text("⚠ not compared: the derivative does not exist at the point (see the warnings)", style="yellow"))
    elif result.agree is False:
        names = _capped([label for label, d in labelled if d.agree is False])
        lines.append(Text(f"✗ autograd and {witness} disagree for {', '.join(names)}", style="bold red"))
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


def _missing(derivative: DerivativeResult) -> bool:
    """Whether the derivative does not exist somewhere (a kink, outside the domain, infinite)."""
    flags = derivative.differentiable
    if isinstance(flags, Values):
        return not bool(flags.tensor.all())
    return flags is False or (isinstance(flags, list) and not all(flags))


def _capped(labels: list[str], keep: int = 10) -> list[str]:
    return labels if len(labels) <= keep else labels[:keep] + [f"and {len(labels) - keep} more"]


MAX_ENTRY_ROWS = 24  # matrix entries listed before the rest are summarised
MAX_GRID_COLUMNS = 8  # widest matrix drawn as a grid


def render_matrix_report(result: MatrixReport, console: Console) -> None:
    """hessian and jacobian: the entries autograd beside symbolic, the matrix,
    and for a Hessian its eigenvalues, definiteness and critical point."""
    hessian = isinstance(result, HessianResult)
    labelled = _matrix_labels(result, hessian)
    shown = [(label, d) for label, d, listed in labelled if listed]
    if not _render_header(result, console, shown):
        return
    listed = _listed(shown)
    console.print(_derivative_table(result, listed))
    if len(listed) < len(shown):
        console.print(Text(f"  … {len(shown) - len(listed)} more entries, all agreeing (--json lists every entry)"))
    if _point_size(result) is None and len(result.columns) <= MAX_GRID_COLUMNS:
        console.print(Text("Hessian (autograd)" if hessian else "Jacobian (autograd)"))
        console.print(_matrix_grid(result, hessian))
    if hessian:
        for line in _curvature_lines(result):
            console.print(line)
    for line in _verdicts(result, [(label, d) for label, d, _ in labelled]):
        console.print(line)


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
    failed = [item for item in shown if _fails(item[1]) or _missing(item[1])]
    room = max(0, MAX_ENTRY_ROWS - len(failed))
    keep = {id(item[1]) for item in failed} | {id(item[1]) for item in shown[:room]}
    return [item for item in shown if id(item[1]) in keep]


def _matrix_grid(result: MatrixReport, hessian: bool) -> Table:
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    table.add_column("", no_wrap=True)
    for name in result.columns:
        table.add_column(name, justify="right", no_wrap=True)
    for i, row in enumerate(result.entries):
        label = result.rows[i] if hessian else f"f{subscript(i + 1)}"
        _add_row(table, label, *(format_number(entry.autograd) for entry in row))
    return table


def _curvature_lines(result: HessianResult) -> list:
    size = _point_size(result)
    if size is None:
        lines = [
            Text(f"eigenvalues: {', '.join(format_number(v) for v in elide(result.eigenvalues))}"),
            Text(f"{result.definiteness}{'' if result.symmetric else ' (of the symmetric part: autograd is not symmetric)'}"),
            Text(_critical_text(result.critical_point, result.definiteness)),
        ]
        return lines
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name in ("point", "eigenvalues", "definiteness", "critical point"):
        table.add_column(name, no_wrap=name != "eigenvalues", overflow="fold")
    for index in elide(list(range(size))):
        if index == "…":
            _add_row(table, "…", "…", "…", "…")
            continue
        eigenvalues = ", ".join(
            column if column == "…" else format_number(column[index]) for column in elide(result.eigenvalues)
        )
        _add_row(table, f"[{index}]", eigenvalues, result.definiteness[index], result.critical_point[index] or "—")
    return [table]


def _critical_text(kind: Optional[str], definiteness: str) -> str:
    if definiteness == "undefined":
        return "the Hessian is not finite here: no definiteness, no critical-point test"
    if kind is None:
        return "not a critical point: the gradient is not zero"
    if kind == "inconclusive":
        return "critical point (gradient zero); the second-derivative test is inconclusive"
    return f"critical point (gradient zero): {kind}"


def render_functions(listing: dict, console: Console) -> None:
    """`autodiff functions`: one row per function, then the constants."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("function", no_wrap=True)
    table.add_column("arguments", justify="right", no_wrap=True)
    table.add_column("description", overflow="fold")
    for function in listing["functions"]:
        _add_row(table, function["signature"], function["arity"], function["description"])
    console.print(table)
    constants = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    constants.add_column("constant", no_wrap=True)
    constants.add_column("description", overflow="fold")
    for constant in listing["constants"]:
        _add_row(constants, constant["name"], constant["description"])
    console.print(constants)


def render_graph(result, console: Console) -> None:
    """`autodiff graph`: the grad_fn tree from the output back to the leaves;
    a node reached again is named, not expanded again (the graph is a DAG)."""
    from rich.tree import Tree

    arguments = f"({', '.join(result.variables)})" if result.variables else ""
    console.print(Text(f"f{arguments} = {result.expression}"), soft_wrap=True)
    console.print(Text(f"at {_point_text(result.at)}"), soft_wrap=True)
    console.print(Text(f"f = {format_number(result.value)}"), soft_wrap=True)
    by_id = {node.id: node for node in result.nodes}
    if result.output is not None:
        tree = Tree(_graph_label(by_id[result.output]))
        shown = {result.output}
        stack = [(tree, by_id[result.output])]
        while stack:
            branch, node = stack.pop()
            children = []
            for child_id in node.inputs:
                child = by_id[child_id]
                if child_id in shown:
                    branch.add(Text(f"{_graph_title(child)} #{child.id} (shared: shown above)"))
                    continue
                shown.add(child_id)
                children.append((branch.add(_graph_label(child)), child))
            stack.extend(reversed(children))
        console.print(tree)
    console.print(Text("leaves after backward:"))
    for name, info in result.leaves.items():
        grad = format_number(info["grad"]) if info["grad"] is not None else "None (no gradient path from the output)"
        console.print(Text(f"  {name}: data={format_number(info['data'])}  requires_grad={info['requires_grad']}  "
                           f"is_leaf={info['is_leaf']}  grad={grad}"), soft_wrap=True)


def _graph_label(node) -> Text:
    if node.kind == "untracked":
        return Text(f"∅ {node.name}", style="dim")
    label = Text(f"{_graph_title(node)} #{node.id}", style="bold" if node.kind == "function" else "cyan")
    if node.tensor is not None:
        info = node.tensor
        grad = "None" if info["grad"] is None else format_number(info["grad"])
        label.append(
            f"  data={format_number(info['data'])} requires_grad={info['requires_grad']} is_leaf={info['is_leaf']}"
            f" grad_fn={info['grad_fn']} grad={grad}"
        )
    return label


def _graph_title(node) -> str:
    return f"{node.variable} ({node.name})" if node.kind == "leaf" else node.name


def graph_dot(result) -> str:
    """Graphviz DOT: one node per grad_fn, leaf and untracked input; an edge
    from each input to the node that consumed it (the forward direction)."""
    lines = ["digraph autograd {", '  rankdir="BT";', '  node [shape=box, fontname="monospace"];']
    for node in result.nodes:
        parts = [_graph_title(node)]
        if node.tensor is not None:
            parts.append(f"data = {format_number(node.tensor['data'])}")
            if node.tensor["grad"] is not None:
                parts.append(f"grad = {format_number(node.tensor['grad'])}")
        style = {"leaf": ', style=filled, fillcolor="lightblue"', "untracked": ", style=dashed"}.get(node.kind, "")
        lines.append(f'  n{node.id} [label="{_dot_escape(chr(10).join(parts))}"{style}];')
    for source, target in result.edges():
        lines.append(f"  n{target} -> n{source};")
    lines.append("}")
    return "\n".join(lines)


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_warnings(warnings: list[str], console: Console, where: str = "") -> None:
    """`where`: a prefix naming the input, e.g. "line 3: " when streaming."""
    for warning in warnings:
        console.print(Text(f"{where}warning: {warning}", style="yellow"), soft_wrap=True)


def render_error(error: AutodiffError, console: Console, where: str = "") -> None:
    console.print(Text(f"{where}error: {error.message}", style="bold red"), soft_wrap=True)
    for line in error.caret_lines():
        console.print(Text(line), soft_wrap=True)


def render_check(report, console: Console) -> None:
    """`autodiff check`: a line per case, the details of each failure, and
    the closing count (`16 passed, 0 failed`)."""
    file = None
    for result in report.results:
        file = render_check_case(result, console, several_files=len(report.files) > 1, previous_file=file)
    render_check_closing(report, console)


def render_check_case(result, console: Console, several_files: bool, previous_file: Optional[str]) -> str:
    """One case's line, as it finishes (with its file's name first, where
    several files run and this is the file's first case); returns its file."""
    if several_files and result.case.file != previous_file:
        console.print(Text(_printable(result.case.file), style="bold"), soft_wrap=True)
    console.print(_case_line(result), soft_wrap=True)
    return result.case.file


def render_check_closing(report, console: Console) -> None:
    """After the case lines: the details of each failure, and the count."""
    from autodiff.cases import point_text

    broken = report.broken
    for result in broken:
        console.print()
        console.print(Text(_printable(f"✗ {result.case.name} ({result.case.where})"), style="bold red"), soft_wrap=True)
        point = point_text(result.case.data["at"])
        console.print(Text(_printable(f"  {result.expression}" + (f" at {point}" if point else ""))), soft_wrap=True)
        lines = [f.message for f in result.failures] if result.outcome == "failed" else [f"{result.message} (please report this)"]
        for line in lines:
            console.print(Text(_printable(f"  {line}")), soft_wrap=True)
    if broken:
        console.print()
    style = "bold red" if broken else "bold green"
    console.print(Text(report.summary(), style=style), soft_wrap=True)


def _case_line(result) -> Text:
    name = _printable(result.case.name)
    if result.outcome == "passed":
        missing = any(_missing(d) for report in result.reports for d in report.derivatives())
        note = (" (a derivative does not exist at the point: not compared; --json has the warnings)", "yellow")
        return Text.assemble(("✓", "green"), f" {name}", *([note] if missing else []))
    if result.outcome == "skipped":
        reason = f" ({_printable(result.message)})" if result.message else ""
        return Text.assemble(("-", "yellow"), f" {name}", (f" skipped{reason}", "yellow"))
    label = " error" if result.outcome == "error" else ""
    return Text.assemble(("✗", "red"), f" {name}", (label, "red"))


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    """Text from a case file without control characters: an escape sequence
    in a case name must not rewrite the terminal or a CI log."""
    return _CONTROL.sub("\ufffd", text)
