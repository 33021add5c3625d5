"""Files the tool reads and writes: `-` for standard input, and files written
(`plot --output`, `check --junit`) whole or not at all.

A file is written to a temporary file in the target's directory, flushed and
fsync'ed, then renamed over the target. An interrupt, a full disk or an error
leaves either the old file or the complete new one, never a partial one. A
target that is not a regular file (/dev/stdout, a named pipe) is written in
place: renaming over it would replace the device.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

from autodiff.errors import UsageError

STDIN = "-"  # the file (or expression argument) that means "read from standard input"


def write_atomically(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Call `write` on a temporary file beside `path`, then put it in place.
    Raises OSError when any step fails (the target is then untouched)."""
    target = Path(path)
    if target.exists() and not target.is_file():  # a device or a pipe (/dev/stdout): written in place, never replaced
        with open(target, "wb") as file:
            write(file)
            file.flush()
        return
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        if target.exists():  # keep the old file's permissions
            os.chmod(temporary, target.stat().st_mode & 0o7777)
        else:
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:  # an interrupt too: the temporary file goes, the target stays as it was
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def refuse_overwriting_inputs(option: str, path: str, inputs: Iterable[str]) -> None:
    """Exit 2 before any work when an output path is one of the inputs
    (`check cases.toml --junit cases.toml` would replace the cases with XML)."""
    output = Path(path)
    for name in inputs:
        if name == "-":
            continue
        try:
            same = output.exists() and Path(name).exists() and os.path.samefile(output, name)
        except OSError:
            same = False
        if same or output.resolve() == Path(name).resolve():
            raise UsageError(f"{option} {path} is one of the input files; name another file for the report")
