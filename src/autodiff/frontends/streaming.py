"""Reading expressions from standard input, one per line (`autodiff grad -`).

Lines are read one at a time, so answers flow while input is still coming
(a pipeline, a terminal), and no line is held in memory beyond the length
limit: an overlong line is skipped to its end and reported as an error for
that line, never read whole.
"""

from __future__ import annotations

import errno
import io
import sys
from typing import TYPE_CHECKING, Iterator, Optional, TextIO, Union

from autodiff.errors import LimitError, UsageError

if TYPE_CHECKING:  # limits are imported on use: the command line imports this module at start-up
    from autodiff.limits import Limits


def text_stdin() -> TextIO:
    """Standard input as UTF-8 text; undecodable bytes become U+FFFD, which
    the parser then rejects at its column (never a crash)."""
    if sys.stdin is None:  # started with standard input closed (<&-)
        return _ClosedInput()
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # already text (an embedding application, a test harness)
        return sys.stdin
    return io.TextIOWrapper(buffer, encoding="utf-8-sig", errors="replace", newline=None)


def expression_lines(
    stream: TextIO, limits: Optional[Limits] = None
) -> Iterator[tuple[int, Union[str, LimitError]]]:
    """(line number, expression text) for each line that holds an expression.

    Blank lines and lines whose first non-blank character is `#` are skipped
    (their numbers still count). A line longer than the expression limit
    yields a LimitError in place of its text.
    """
    from autodiff.limits import DEFAULT_LIMITS, raise_hint

    limits = DEFAULT_LIMITS if limits is None else limits
    number = 0
    while True:
        try:
            line = stream.readline(limits.max_length + 1)
        except (OSError, ValueError) as error:  # closed, a directory, a dead terminal
            yield number + 1, UsageError(f"cannot read standard input: {getattr(error, 'strerror', None) or error}")
            return
        if not line:
            return
        number += 1
        error: Optional[LimitError] = None
        if not line.endswith("\n") and len(line) > limits.max_length:
            comment, blank = line.lstrip().startswith("#"), not line.strip()
            while line and not line.endswith("\n"):  # read on to the end of the line, keeping none of it
                line = stream.readline(limits.max_length + 1)
                blank = blank and not line.strip()
            if not (comment or blank):
                error = LimitError(
                    f"line {number} is longer than the limit of {limits.max_length} characters ({raise_hint('length')})"
                )
            line = ""
        text = line.strip()
        if error is not None:
            yield number, error
        elif text and not text.startswith("#"):
            yield number, text


class _ClosedInput:
    """Standard input when the process started without one."""

    def readline(self, size: int = -1) -> str:
        raise OSError(errno.EBADF, "standard input is closed")

    def read(self, size: int = -1) -> str:
        return self.readline(size)
