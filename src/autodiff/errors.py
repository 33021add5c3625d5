"""Errors a user can cause, each with its exit code and, where there is one,
the text and the column it points at."""

from __future__ import annotations

# No import here: the console script's first step (the server's client) reads EXIT_INTERNAL.

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_OUTPUT = 74  # the answer could not be written (full disk, file too large, closed output): sysexits' EX_IOERR
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_BROKEN_PIPE = 141  # the reader closed the output early (128 + SIGPIPE, as other Unix tools)


_SEVERITY = {EXIT_OK: 0, EXIT_CHECK_FAILED: 1, EXIT_USAGE: 2, EXIT_INTERNAL: 3, EXIT_OUTPUT: 4}


def most_severe(*codes: int) -> int:
    """Of several answers' exit codes, the one a run exits with: a bug (70),
    then bad input (2), then a failed check (1), then success (0)."""
    return max(codes, key=lambda code: _SEVERITY.get(code, 3))


class AutodiffError(Exception):
    """A user-facing error: one line of message, an exit code, a JSON type."""

    type = "error"
    exit_code = EXIT_USAGE

    def __init__(self, message: str, source: str | None = None, position: int | None = None):
        super().__init__(message)
        self.message = message
        self.source = source
        # 1-based column in `source`, as in the message ("at column 3").
        self.position = position

    def caret_lines(self, width: int = 76) -> list[str]:
        """The offending line with a caret under the column, windowed if long."""
        if self.source is None or self.position is None or "\n" in self.source:
            return []
        index = self.position - 1
        start = max(0, min(index - width // 2, len(self.source) - width))
        shown = self.source[start : start + width]
        prefix = "…" if start > 0 else ""
        suffix = "…" if start + width < len(self.source) else ""
        return [f"  {prefix}{shown}{suffix}", "  " + " " * (len(prefix) + index - start) + "^"]

    def to_json(self) -> dict:
        error = {"type": self.type, "message": self.message}
        if self.position is not None:
            error["position"] = self.position
        return {"error": error}


class ParseError(AutodiffError):
    type = "parse_error"


class PointError(AutodiffError):
    """A bad --at, --expect or --grad-output value."""

    type = "invalid_point"


class UsageError(AutodiffError):
    type = "usage_error"


class LimitError(AutodiffError):
    """An input beyond one of the limits that keep the tool responsive."""

    type = "limit_exceeded"


class UnsupportedError(AutodiffError):
    type = "unsupported"
