"""Renderers: results to a rich view for people or to strict JSON.

Answers go to stdout; warnings and errors go to stderr. Colour only where
rich finds a terminal, and never when NO_COLOR is set (rich honours it).
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Optional

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from autodiff.errors import AutodiffError
from autodiff.results import DerivativeResult, PointReport

MAX_ROWS = 10  # vector points: rows shown before eliding the middle

_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


PIPED_WIDTH = 200  # columns when stdout is not a terminal and COLUMNS is unset


def stdout_console() -> Console:
    # Piped output is the answer: never fold it to rich's default 80 columns.
    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(highlight=False, width=PIPED_WIDTH if piped else None)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False)


def dumps(payload: dict) -> str:
    """Strict JSON: callers have already turned non-finite floats into strings."""
    return json.dumps(payload, ensure_ascii=False, allow_nan=False)


def format_number(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
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


def derivative_label(sequence: list[str]) -> str:
    """∂f/∂x, ∂²f/∂x², ∂²f/∂y∂x (the last variable differentiated first in the name)."""
    order = len(sequence)
    power = str(order).translate(_SUPERSCRIPTS) if order > 1 else ""
    parts, previous, run = [], None, 0
    for name in list(reversed(sequence)) + [None]:
        if name == previous:
            run += 1
            continue
        if previous is not None:
            parts.append(f"∂{previous}" + (str(run).translate(_SUPERSCRIPTS) if run > 1 else ""))
        previous, run = name, 1
    return f"∂{power}f/" + "".join(parts)


def mark(ok: Optional[bool]) -> Text:
    if ok is None:
        return Text("")
    return Text("✓", style="green") if ok else Text("✗", style="bold red")


def _point_text(at: dict) -> str:
    return ", ".join(f"{name} = {format_number(value)}" for name, value in at.items())


def _rows(derivative: DerivativeResult, index: Optional[int]):
    def pick(value):
        return value if index is None or value is None else value[index]

    return [
        format_number(pick(derivative.autograd)),
        format_number(pick(derivative.symbolic_value)),
        format_number(pick(derivative.numeric)),
    ]


def render_report(result: PointReport, console: Console) -> None:
    """grad and partial: the function, the point, f, then one row per derivative."""
    # Text, not markup: user text and SymPy output may contain '[...]'.
    arguments = f"({', '.join(result.variables)})" if result.variables else ""
    console.print(Text(f"f{arguments} = {result.expression}"), soft_wrap=True)
    if result.at is None:
        for derivative in result.derivatives():
            console.print(Text(f"{derivative_label(derivative.wrt)} = {derivative.symbolic}"), soft_wrap=True)
        return
    console.print(Text(f"at {_point_text(result.at)}"), soft_wrap=True)
    console.print(Text(f"f = {format_number(result.value)}"), soft_wrap=True)
    console.print(_derivative_table(result))
    for line in _verdicts(result):
        console.print(line)


def _derivative_table(result: PointReport) -> Table:
    size = next((len(v) for v in result.at.values() if isinstance(v, list)), None)
    has_expect = any(d.expected is not None for d in result.derivatives())
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    # Numbers never fold or truncate; a long symbolic derivative folds instead.
    number = {"justify": "right", "no_wrap": True, "min_width": 8}
    table.add_column("derivative", no_wrap=True)
    if size is not None:
        table.add_column("point", **number)
    table.add_column("autograd", **number)
    table.add_column("symbolic", overflow="fold", min_width=8)
    table.add_column("symbolic value", **number)
    table.add_column("finite diff.", **number)
    if has_expect:
        table.add_column("expected", **number)
    table.add_column("", no_wrap=True)
    for derivative in result.derivatives():
        ok = derivative.agree is not False and derivative.expect_met is not False
        label = derivative_label(derivative.wrt)
        indices = [None] if size is None else elide(list(range(size)))
        for row, index in enumerate(indices):
            first = row == 0
            if index == "…":
                table.add_row("", "…", "…", "", "…", "…", *(["…"] if has_expect else []), "")
                continue
            cells = [label if first else ""]
            if size is not None:
                cells.append(f"[{index}]")
            values = _rows(derivative, index)
            cells += [values[0], (derivative.symbolic or "—") if first else "", values[1], values[2]]
            if has_expect:
                expected = derivative.expected
                shown = expected[index] if isinstance(expected, list) and index is not None else expected
                cells.append(format_number(shown))
            table.add_row(*cells, mark(ok) if first else "")
    return table


def _verdicts(result: PointReport) -> list[Text]:
    lines = []
    names = [derivative_label(d.wrt) for d in result.derivatives() if d.agree is False]
    witness = "symbolic" if result.checked_by == "symbolic" else "finite differences"
    if result.agree is True:
        lines.append(Text(f"✓ autograd and {witness} agree", style="green"))
    elif result.agree is False:
        lines.append(Text(f"✗ autograd and {witness} disagree for {', '.join(names)}", style="bold red"))
    unmet = [derivative_label(d.wrt) for d in result.derivatives() if d.expect_met is False]
    if unmet:
        lines.append(Text(f"✗ --expect not met for {', '.join(unmet)}", style="bold red"))
    elif result.expect_met:
        lines.append(Text("✓ --expect met", style="green"))
    return lines


def render_warnings(warnings: list[str], console: Console) -> None:
    for warning in warnings:
        console.print(Text(f"warning: {warning}", style="yellow"), soft_wrap=True)


def render_error(error: AutodiffError, console: Console) -> None:
    console.print(Text(f"error: {error.message}", style="bold red"), soft_wrap=True)
    for line in error.caret_lines():
        console.print(Text(line), soft_wrap=True)
