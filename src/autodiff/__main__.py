"""The console script and `python -m autodiff`.

`autodiff --version` is answered here, before the command line (typer) is
imported: it is the one call that needs nothing else.

Every other run ends with `os._exit` once its output is flushed. Python's
own teardown, which frees every object of every module one by one, takes
longer with torch and SymPy loaded (about 0.6 s here) than most answers take
to compute; nothing of ours needs it: files are closed where they are
written, and there are no exit handlers to run.
"""

import os
import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from autodiff import __version__

        sys.stdout.write(f"autodiff {__version__}\n")
        return
    from autodiff.cli import main as command_line

    try:
        command_line()
        code = 0
    except SystemExit as leaving:
        code = leaving.code
    _leave(code)


def _leave(code) -> None:
    """Flush what was written and exit with `code`, skipping the teardown."""
    from autodiff.errors import EXIT_BROKEN_PIPE

    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("text"): as Python does, text to stderr and 1
        sys.stderr.write(f"{code}\n")
        code = 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left after our last write
        code = EXIT_BROKEN_PIPE
    except (OSError, ValueError):  # stdout closed under us: nothing more can be said there
        pass
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)


if __name__ == "__main__":
    main()
