"""The process of the console script (`autodiff`, `python -m autodiff`).

Its first step is the client of the resident server (frontends/client.py):
where a server of this installation runs, it answers the call in a child of
its own, with this process's streams; otherwise the call runs here.

`autodiff --version` is answered here, before the command line (typer) is
imported: it is the one call that needs nothing else.

Every other run ends with `os._exit` once its output is flushed. Python's
own teardown, which frees every object of every module one by one, takes
longer with torch and SymPy loaded (about 0.6 s here) than most answers take
to compute; nothing of ours needs it: files are closed where they are
written, and there are no exit handlers to run.
"""

import errno
import io
import os
import sys

from autodiff.errors import EXIT_OUTPUT


def main(resident: bool = True) -> None:
    """Run `autodiff` with the process's arguments and exit with its code.
    With `resident`, the resident server answers where it can
    (autodiff.frontends.client); the server's own child runs with False."""
    if resident and sys.argv[1:] != ["--version"]:
        from autodiff.frontends import client

        code = client.answer(sys.argv[1:])
        if code is not None:
            os._exit(code)
    if sys.stderr is None:  # started with stderr closed (2>&-): diagnostics have nowhere to go
        sys.stderr = open(os.devnull, "w")
    if sys.stdout is None:  # started with stdout closed (>&-): the answer has nowhere to go
        sys.stderr.write("error: standard output is closed; the answer cannot be written\n")
        leave(EXIT_OUTPUT)
    from autodiff.frontends import terminal

    terminal.sane_environment()
    sys.stdout = terminal.usable(_checked(sys.stdout))
    sys.stderr = terminal.usable(sys.stderr)
    if sys.argv[1:] == ["--version"]:
        from autodiff import __version__

        sys.stdout.write(f"autodiff {__version__}\n")
        return
    from autodiff.frontends.cli import main as command_line

    try:
        command_line()
        code = 0
    except SystemExit as leaving:
        code = leaving.code
    leave(code)


class _CheckedWrites(io.RawIOBase):
    """A file descriptor whose every write is checked to the last byte.

    Python's own stdout lets a short write pass unnoticed (a file-size limit
    left 1,024 bytes of an answer and exit 0): here a write that cannot
    finish raises OSError, which ends the run with exit 74."""

    def __init__(self, fd: int):
        super().__init__()
        self.fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return os.isatty(self.fd)

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            written = os.write(self.fd, view[done:])
            if not written:
                raise OSError(errno.EIO, "the output accepted no more bytes")
            done += written
        return done


def _checked(stream):
    """sys.stdout over _CheckedWrites, with the same encoding and buffering."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (an embedding application)
        return stream
    return io.TextIOWrapper(
        io.BufferedWriter(_CheckedWrites(fd)), encoding=stream.encoding, errors=stream.errors,
        line_buffering=stream.line_buffering,
    )


def leave(code) -> None:
    """Flush what was written and exit with `code`, skipping the teardown."""
    from autodiff.errors import EXIT_BROKEN_PIPE
    from autodiff.frontends.terminal import output_failed

    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("text"): as Python does, text to stderr and 1
        sys.stderr.write(f"{code}\n")
        code = 1
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:  # the reader left after our last write
        code = EXIT_BROKEN_PIPE
    except OSError as error:  # full disk, file size limit: never exit 0 with part of the answer
        if code != EXIT_OUTPUT:  # not said already
            code = output_failed(error)
    except ValueError:  # stdout closed under us: nothing more can be said there
        pass
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)
