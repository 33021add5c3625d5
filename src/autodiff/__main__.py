"""The console script and `python -m autodiff`.

`autodiff --version` is answered here, before the command line (typer) is
imported: it is the one call that needs nothing else.
"""

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from autodiff import __version__

        sys.stdout.write(f"autodiff {__version__}\n")
        return
    from autodiff.cli import main as command_line

    command_line()


if __name__ == "__main__":
    main()
