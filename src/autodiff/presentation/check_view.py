"""`autodiff check` on screen: a line per case as it finishes, then the
details of each failure and the count.
"""

from __future__ import annotations

import re
from typing import Optional

from rich.console import Console
from rich.text import Text

from autodiff.presentation.lines import print_line
from autodiff.presentation.render import expression_text, nondifferentiable_somewhere
from autodiff.text import typed_point_text


def render_check_case(result, console: Console, several_files: bool, previous_file: Optional[str]) -> str:
    """One case's line, as it finishes (with its file's name first, where
    several files run and this is the file's first case); returns its file."""
    if several_files and result.case.file != previous_file:
        print_line(console, Text(_printable(result.case.file), style="bold"))
    print_line(console, _case_line(result))
    return result.case.file


def render_check_closing(report, console: Console) -> None:
    """After the case lines: the details of each failure, and the count."""
    broken = report.broken
    for result in broken:
        console.print()
        heading, *lines = failed_case_lines(result)
        print_line(console, Text(heading, style="bold red"))
        for line in lines:
            print_line(console, line)
    if broken:
        console.print()
    style = "bold red" if broken else "bold green"
    print_line(console, Text(report.summary(), style=style))


def failed_case_lines(result) -> list[str]:
    """A failed (or error) case's details, as check prints them after the
    case lines (and the pytest plugin as its failure report): the case and
    its place, the expression at the point, and each failure with its witnesses."""
    point = typed_point_text(result.case.point)
    expression = expression_text(result.expression)
    lines = [expression_text(f.message) for f in result.failures] if result.outcome == "failed" else [f"{result.message} (please report this)"]
    heading = [f"✗ {result.case.name} ({result.case.where})", f"  {expression}" + (f" at {point}" if point else "")]
    return [_printable(line) for line in heading + [f"  {line}" for line in lines]]


def _case_line(result) -> Text:
    name = _printable(result.case.name)
    if result.outcome == "passed":
        missing = any(nondifferentiable_somewhere(d) for report in result.reports for d in _derivatives(report))
        note = (" (a derivative does not exist at the point: not compared; --json has the warnings)", "yellow")
        return Text.assemble(("✓", "green"), f" {name}", *([note] if missing else []))
    if result.outcome == "skipped":
        reason = f" ({_printable(result.message)})" if result.message else ""
        return Text.assemble(("-", "yellow"), f" {name}", (f" skipped{reason}", "yellow"))
    label = " error" if result.outcome == "error" else ""
    return Text.assemble(("✗", "red"), f" {name}", (label, "red"))


def _derivatives(report) -> list:
    """A command result's derivatives at the case's point: none for a verify
    result (its points not compared are in its own report)."""
    derivatives = getattr(report, "derivatives", None)
    return derivatives() if derivatives is not None else []


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    """Text from a case file without control characters: an escape sequence
    in a case name must not rewrite the terminal or a CI log."""
    return _CONTROL.sub("\ufffd", text)
