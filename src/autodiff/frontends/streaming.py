"""Reading expressions from standard input, one per line (`autodiff grad -`),
and answering them in worker processes (`--jobs N`).

Lines are read one at a time, so answers flow while input is still coming
(a pipeline, a terminal), and no line is held in memory beyond the length
limit: an overlong line is skipped to its end and reported as an error for
that line, never read whole.

With --jobs N the lines go to N workers forked from this process
(autodiff.parallel). A worker answers a line as this process would, its
standard output and error recorded in the order written; this process
writes the recordings in input order. The recorded streams say of
themselves what the real ones say (a terminal or not, the encoding), so
rich and click choose the same colours, width and characters, and the
blank line between two tables is placed here, where the order is known.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from typing import TYPE_CHECKING, Callable, Iterator, Optional, TextIO, Union

from autodiff.errors import AutodiffError, LimitError, UsageError

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


# --- answering the lines in worker processes (--jobs N) -------------------------

_STDOUT, _STDERR, _BLANK, _TABLE = range(4)  # what a piece of a recorded answer is


def answer_in_workers(
    answer_line: Callable[[int, Union[str, AutodiffError], Callable], int],
    render: Callable[[object, object], None],
    limits: Optional[Limits],
    jobs: int,
    lost: Callable[[int, Exception], int],
    blank_lines: bool = True,
) -> int:
    """Answer each expression line of standard input in `jobs` forked worker
    processes; write the answers in input order, byte for byte what one
    process writes; return the most severe exit code.

    `answer_line(number, text, render)` answers one line in a worker and
    returns its exit code, writing to sys.stdout and sys.stderr as in one
    process; it draws a table with the `render` it is given, which separates
    two tables by a blank line (`blank_lines`) across workers.
    `lost(number, error)` reports a line whose worker died.
    """
    from autodiff.parallel import OrderedPool

    recorder = _Recorder()
    replay = _Replay()

    def table(result, console) -> None:
        if blank_lines:
            recorder.add(_BLANK, None)  # a blank line here if a table came before, in input order
        render(result, console)
        recorder.add(_TABLE, None)

    def work(item):
        return recorder.record(lambda: answer_line(item[0], item[1], table))

    def failed(item, error):
        return recorder.record(lambda: lost(item[0], error))

    with OrderedPool(work, jobs, replay, failed) as pool:
        source = _source(pool.wait_readable)
        for line in expression_lines(source.text, limits):
            pool.submit(line)
        if source.failure is not None:
            raise source.failure
        pool.finish()
    return replay.worst


class _Recorder:
    """In a worker: sys.stdout and sys.stderr, recorded in the order written
    while one line is answered, as (where, text or bytes) pieces."""

    def __init__(self):
        self.pieces: list = []
        self.streams: Optional[tuple] = None

    def add(self, where: int, data) -> None:
        self.pieces.append((where, data))

    def record(self, work: Callable[[], int]) -> tuple:
        """(pieces, exit code) of `work()`."""
        if self.streams is None:  # once per process: the streams say what the real ones say
            self.streams = (_Recording(sys.stdout, _STDOUT, self), _Recording(sys.stderr, _STDERR, self))
        real = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = self.streams
        try:
            code = work()
        finally:
            sys.stdout, sys.stderr = real
        pieces, self.pieces = self.pieces, []
        return _joined(pieces), code


def _joined(pieces: list) -> list:
    """Consecutive pieces of one stream and one type as one (joined once:
    a large answer arrives in many pieces)."""
    joined: list = []
    for where, data in pieces:
        if joined and data is not None and joined[-1][0] == where and type(joined[-1][1][0]) is type(data):
            joined[-1][1].append(data)
        else:
            joined.append((where, [data]))
    return [(where, data[0] if data[0] is None else type(data[0])().join(data)) for where, data in joined]


class _Recording(io.TextIOBase):
    """A standard stream, recorded. It answers isatty, encoding and errors as
    the real stream does, so rich and click decide colour, width and
    encoding as they would writing to it."""

    def __init__(self, real, where: int, recorder: _Recorder):
        super().__init__()
        self.real, self.where, self.recorder = real, where, recorder
        self.binary = _RecordingBytes(where, recorder)

    @property
    def encoding(self) -> str:
        return getattr(self.real, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:
        return getattr(self.real, "errors", None) or "strict"

    @property
    def buffer(self) -> io.RawIOBase:
        return self.binary

    def isatty(self) -> bool:
        try:
            return bool(self.real.isatty())
        except (AttributeError, OSError, ValueError):
            return False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click asks, writing b"", whether this is a binary stream
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if text:
            self.recorder.add(self.where, text)
        return len(text)


class _RecordingBytes(io.RawIOBase):
    """The binary side of a recorded stream (click writes bytes there when
    the text side's encoding is ASCII)."""

    def __init__(self, where: int, recorder: _Recorder):
        super().__init__()
        self.where, self.recorder = where, recorder

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        if data:
            self.recorder.add(self.where, data)
        return len(data)


class _Replay:
    """In the caller: each recorded answer written to the real streams, in
    input order; the blank line between two tables; the most severe code."""

    def __init__(self):
        self.tables = 0
        self.worst = 0
        self.last = None  # the stream written last

    def __call__(self, answer: tuple) -> None:
        from autodiff.errors import most_severe

        pieces, code = answer
        for where, data in pieces:
            if where == _BLANK:
                if self.tables:
                    self.write(sys.stdout, "\n")
            elif where == _TABLE:
                self.tables += 1
            else:
                self.write(sys.stdout if where == _STDOUT else sys.stderr, data)
        if self.last is not None:
            self.last.flush()
        self.worst = most_severe(self.worst, code)

    def write(self, stream, data) -> None:
        if self.last is not stream and self.last is not None:
            self.last.flush()  # stdout and stderr to one file (2>&1) keep their order
        self.last = stream
        if isinstance(data, bytes):
            stream.flush()
            stream.buffer.write(data)
        else:
            stream.write(data)


class _Source:
    """Standard input for the workers' caller: read only once it has
    something, and while it has nothing, `wait(fd)` writes the answers that
    are ready (a pipeline sees them before the input ends). A failure there
    (the reader of our output gone) ends the input and is kept in `failure`,
    for the caller to raise: it is no failure to read standard input."""

    def __init__(self, fd: Optional[int], wait: Callable[[int], None]):
        self.failure: Optional[Exception] = None
        if fd is None:
            self.text = text_stdin()
        else:
            raw = _WaitingReader(fd, wait, self)
            self.text = io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8-sig", errors="replace", newline=None)


def _source(wait: Callable[[int], None]) -> _Source:
    """Standard input's descriptor, waited on; without one (closed, a test
    harness's text), standard input as text_stdin gives it."""
    try:
        fd = sys.stdin.fileno() if sys.stdin is not None and hasattr(sys.stdin, "buffer") else None
    except (AttributeError, OSError, ValueError):
        fd = None
    return _Source(fd, wait)


class _WaitingReader(io.RawIOBase):
    def __init__(self, fd: int, wait: Callable[[int], None], source: _Source):
        super().__init__()
        self.fd, self.wait, self.source = fd, wait, source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.source.failure is not None:
            return 0
        try:
            self.wait(self.fd)
        except Exception as error:  # writing an answer failed: not a failure to read
            self.source.failure = error
            return 0
        data = os.read(self.fd, len(buffer))
        buffer[: len(data)] = data
        return len(data)
