"""Text wrapped at the terminal's width between words, never inside a number.

A terminal folds a line that is too long at its last column, whatever
stands there (`x = 0⏎.9646844`); rich folds a word longer than its column
the same way. Here a line breaks at a space between two units, a unit being
a run of characters without spaces, `name = value` around a relation (`=`,
`≈`, `≤`, `→`, ...), or a duration (`96.2 ms`). A unit wider than the line
(a long product in an expression) breaks between its tokens, never inside
a number or a name (`-0.75`, `1e-08`, `sin` are tokens). Only a token wider than the terminal
is left whole to overflow, by `print_line`; in a table cell, where nothing
may overflow, rich folds it. The lines of a layout (verdicts under a table)
fit the console's width as the tables do; other lines (the function, the
point, warnings, errors) are wrapped only on a terminal (or where
TTY_COMPATIBLE=1 says the output is one): nothing else folds a long line,
and a program reading a pipe or a file gets each of those lines whole.
"""

from __future__ import annotations

import re
from typing import Optional, Union

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.measure import Measurement
from rich.text import Lines, Text

RELATIONS = frozenset({"=", "≈", "≤", "≥", "<", ">", "≠", "→", "==", "<=", ">=", "!="})
UNITS = frozenset({"s", "ms", "µs", "s,", "ms,", "µs,", "s:", "ms:", "µs:"})  # `96.2 ms` is one unit too
_WORD = re.compile(r"\S+")
# A signed number, a name (with the bracket a call opens: `exp(` is never split), or any other
# character, with the brackets opened before it and the brackets, operators and commas after it:
# a unit wider than its line breaks between these.
_TOKEN = re.compile(r"[(\[{]*(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|\w+\(*|\S)[)\]}*/^,;:]*")


def wraps(console: Console) -> bool:
    """Whether lines are wrapped to the console's width (COLUMNS, where it is
    set): where a terminal would otherwise fold them."""
    return console.is_terminal


def print_line(console: Console, text: Union[Text, str], style: str = "", layout: bool = False) -> None:
    """`text` (which may hold several lines) on the console, wrapped at its
    width by `wrap_units` where it `wraps`, or always for a `layout` line
    (a verdict under a table, which fits the width as the table does); a
    token wider than the console is printed whole."""
    line = text if isinstance(text, Text) else Text(text, style=style)
    console.print(wrap_units(line, console.width) if layout or wraps(console) else line, soft_wrap=True)


def wrap_units(text: Text, width: int) -> Text:
    """`text` with a line break wherever the next unit (or token of a unit
    wider than the line) would pass `width` cells; a continued line keeps
    the indentation of the line it continues. Styles are kept."""
    pieces = []
    for line in text.split("\n", allow_blank=True):
        plain = line.plain
        indent = len(plain) - len(plain.lstrip(" "))
        cuts = _cuts(plain, width, indent)
        # One division at every cut (the spaces at a cut are the odd parts): a slice each would copy the line each time.
        parts = line.divide([offset for cut in cuts for offset in cut])
        for index, part in enumerate(parts):
            if index % 2 == 0:
                pieces += [part, Text("\n" + " " * indent)]
        pieces[-1] = Text("\n")
    return Text("", style=text.style, end=text.end).join(pieces[:-1])


def least_width(text: str) -> int:
    """The narrowest column that shows `text` with no number or name split: its widest token."""
    return max((cell_len(token) for token in _TOKEN.findall(text)), default=0)


class Wrapped(Text):
    """Text that wraps as `wrap_units` does wherever rich lays it out (a
    table cell, a block, a group), and says so when a table measures it:
    at least its widest token, so that a fitting column splits no number."""

    def wrap(self, console: Console, width: int, *, justify=None, overflow=None, tab_size: int = 8,
             no_wrap: Optional[bool] = None) -> Lines:
        """The lines rich lays out (Text.wrap's contract), broken by `wrap_units`."""
        if no_wrap or (no_wrap is None and self.no_wrap) or overflow == "ignore":
            return super().wrap(console, width, justify=justify, overflow=overflow, tab_size=tab_size, no_wrap=no_wrap)
        lines = Lines()
        for line in wrap_units(self, width).split("\n", allow_blank=True):
            # Only a token wider than the column is still too wide: folded rather than cropped.
            lines.extend(line.wrap(console, width, justify=justify or self.justify, overflow="fold", tab_size=tab_size))
        return lines

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        """From the widest token to the longest line."""
        lines = self.plain.splitlines() or [""]
        return Measurement(least_width(self.plain), max(cell_len(line) for line in lines))


def _cuts(line: str, width: int, indent: int) -> list[tuple[int, int]]:
    """(end of a line, start of the next) for each break of `line`: greedy,
    the most pieces a line holds."""
    cuts: list[tuple[int, int]] = []
    start, previous = 0, None
    for piece_start, piece_end in _pieces(line, width - indent):
        if previous is not None and (indent if cuts else 0) + cell_len(line[start:piece_end]) > width:
            cuts.append((previous, piece_start))
            start = piece_start
        previous = piece_end
    return cuts


def _pieces(line: str, room: int) -> list[tuple[int, int]]:
    """(start, end) of the pieces a line may break between: its units, and
    the tokens of a unit wider than `room`."""
    pieces = []
    for start, end in _units(line):
        if cell_len(line[start:end]) <= room:
            pieces.append((start, end))
        else:
            pieces += [(start + token.start(), start + token.end()) for token in _TOKEN.finditer(line[start:end])]
    return pieces


def _units(line: str) -> list[tuple[int, int]]:
    """(start, end) of each unit: words, those on either side of a relation
    joined, and a duration's number and unit."""
    units: list[list[int]] = []
    previous = None
    for word in _WORD.finditer(line):
        if previous is not None and (previous in RELATIONS or word.group() in RELATIONS or word.group() in UNITS):
            units[-1][1] = word.end()
        else:
            units.append([word.start(), word.end()])
        previous = word.group()
    return [(start, end) for start, end in units]
