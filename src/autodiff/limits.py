"""Bounds on the work one input can ask for (design §7).

The defaults never bother an honest user; they stop inputs that would hang
the tool or exhaust memory (`9^9^9^9`, a 10^12-point grid) before any work is
done. Every limit has a name; `--limit NAME=VALUE` (or `limits={NAME:
VALUE}` in the Python API) sets it, and every message about a limit says so.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from dataclasses import dataclass, fields, replace
from typing import Mapping, Optional, Sequence, Union

from autodiff.errors import UsageError


@dataclass(frozen=True)
class Limits:
    max_length: int = 10_000  # characters of expression text
    max_depth: int = 100  # nesting of parentheses, calls and operators
    max_integer_digits: int = 1_000  # digits of an integer literal
    max_exact_digits: int = 4_000  # digits of an exact number like 9^9^9 (below Python's str limit)
    max_points: int = 10_000_000  # elements in a vector or grid point
    max_order: int = 100  # derivative order (nested autograd is bounded by graph-nodes; Taylor mode by series-work)
    max_matrix_entries: int = 40_000  # entries of a Hessian or Jacobian (200 variables' Hessian)
    max_matrix_values: int = 20_000_000  # entries × points of a Hessian or Jacobian
    # SymPy evaluates constants while it builds and prints a tree; a tower
    # like cos(exp(exp(exp(e)))) would take it forever.
    max_build_seconds: float = 5.0
    # Nodes autograd may record for the nested derivatives of one command
    # (each order can record several times the last: sin·exp·cos·tanh·log,
    # ×3.4 per order), counted as autograd numbers them and predicted from
    # their counted growth; and the graph nodes one optimiser's run of
    # minimize may evaluate. Counted, so the same on every machine (§16).
    max_graph_nodes: int = 1_000_000
    # A wall-clock timeout on the same work, off by default: where it stops
    # depends on the machine and its load, so it is the one limit a CI job
    # should not rely on for its exit code.
    max_autograd_seconds: Optional[float] = None
    # Taylor mode (design §15): coefficient products one command's series
    # may take, counted as instructions × 4 × the products of one series
    # multiplication (C(2d + N, N) in d variables to degree N) × points.
    max_series_work: int = 500_000_000
    # The graph nodes nested autograd may record as the witness beside
    # Taylor mode in `taylor` and `grad --order N`: past it, the witness is
    # not shown (Taylor mode and the exact series still answer).
    max_taylor_autograd_nodes: int = 50_000
    # Bytes the tensors of one command may take; None: half the memory
    # available when the command starts.
    max_memory: Optional[int] = None
    # The exact witness (ball arithmetic): the ball operations it may spend
    # in one command (counted, one per operation at up to 512 bits, more at
    # higher precision; about 2 s of work), and the working precision it may
    # raise to, in bits.
    max_exact_operations: int = 2_000_000
    max_exact_bits: int = 8192

    def memory(self) -> Optional[int]:
        """The memory limit in bytes (None when the available memory is unknown)."""
        if self.max_memory is not None:
            return self.max_memory
        available = available_memory()
        return None if available is None else available // 2


DEFAULT_LIMITS = Limits()

# The names of --limit, and the field each sets.
NAMES = {
    "length": "max_length",
    "depth": "max_depth",
    "integer-digits": "max_integer_digits",
    "exact-digits": "max_exact_digits",
    "points": "max_points",
    "order": "max_order",
    "matrix-entries": "max_matrix_entries",
    "matrix-values": "max_matrix_values",
    "build-seconds": "max_build_seconds",
    "graph-nodes": "max_graph_nodes",
    "autograd-seconds": "max_autograd_seconds",
    "series-work": "max_series_work",
    "taylor-autograd-nodes": "max_taylor_autograd_nodes",
    "memory": "max_memory",
    "exact-operations": "max_exact_operations",
    "exact-bits": "max_exact_bits",
}
# Names of limits that were decided by a clock, and what replaced them: a
# refusal is decided from counted work, the same on any machine.
RETIRED = {
    "exact-seconds": "exact-operations (the exact witness's work is counted in ball operations, not timed)",
}
_PYTHON_DIGITS = 4300  # sys.get_int_max_str_digits(): int ↔ str beyond it raises ValueError
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def raise_hint(name: str, needed: Optional[Union[int, float]] = None) -> str:
    """`raise it with --limit points=N` (with the value needed, where known)."""
    value = "N" if needed is None else (_bytes_text(needed) if name == "memory" else f"{needed:g}" if isinstance(needed, float) else str(needed))
    return f"raise it with --limit {name}={value}"


def as_limits(limits: Union[Limits, Mapping[str, object], Sequence[str], None]) -> Limits:
    """Limits from a Limits, a mapping {name: value} or texts ["points=1e8"]."""
    if limits is None:
        return DEFAULT_LIMITS
    if isinstance(limits, Limits):
        return limits
    if isinstance(limits, str):
        limits = [limits]
    if not isinstance(limits, Mapping):
        pairs = {}
        for text in limits:
            name, equals, value = str(text).partition("=")
            if not equals:
                raise UsageError(f"--limit takes NAME=VALUE, not {text!r}; names: {', '.join(NAMES)}")
            pairs[name.strip()] = value.strip()
        limits = pairs
    changes = {}
    for name, value in limits.items():
        field = NAMES.get(str(name).replace("_", "-"))
        if field is None and str(name).replace("_", "-") in RETIRED:
            raise UsageError(f"--limit {name} is retired; use {RETIRED[str(name).replace('_', '-')]}")
        if field is None:
            close = difflib.get_close_matches(str(name), NAMES, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise UsageError(f"--limit has no limit {name!r}; {hint}names: {', '.join(NAMES)}")
        changes[field] = _value(name, field, value)
    return replace(DEFAULT_LIMITS, **changes)


def _value(name: str, field: str, value: object):
    text = str(value).strip()
    sized = re.fullmatch(r"([0-9.eE+-]+)\s*([KMGT]?)(?:i?B)?", text, re.IGNORECASE) if field == "max_memory" else None
    try:
        number = float(sized.group(1)) * _UNITS[sized.group(2).upper()] if sized else float(text)
    except (ValueError, OverflowError):
        raise UsageError(f"--limit {name} must be a number{' (with K, M, G or T)' if field == 'max_memory' else ''}, not {text!r}") from None
    if not number > 0 or number == float("inf"):
        raise UsageError(f"--limit {name} must be a positive finite number, not {text!r}")
    kind = next(f.type for f in fields(Limits) if f.name == field)
    if "float" in str(kind):
        return number
    if field == "max_memory":
        return math.ceil(number)  # bytes: 25.3K is 25,908 bytes (rounded up)
    if field == "max_exact_digits" and number > _PYTHON_DIGITS:
        raise UsageError(
            f"--limit exact-digits can be at most {_PYTHON_DIGITS}: Python itself refuses to print longer integers"
        )
    if number != int(number):
        raise UsageError(f"--limit {name} must be a whole number, not {text!r}")
    return int(number)


def available_memory(proc: str = "/proc", cgroups: str = "/sys/fs/cgroup") -> Optional[int]:
    """Bytes of memory this process may still take (None if unknown): the
    smallest of the machine's MemAvailable, what its cgroups (v2
    memory.max, v1 memory.limit_in_bytes, at every level up to the root)
    leave beyond their current usage, and the address-space rlimit beyond
    what the process already maps. A container's limit is the cgroup's,
    not the host's /proc/meminfo."""
    figures = [_meminfo_available(proc), *_cgroup_headroom(proc, cgroups), _rlimit_headroom(proc)]
    known = [figure for figure in figures if figure is not None]
    if not known:
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    return max(0, min(known))


def _read_number(path: str) -> Optional[int]:
    """The number a kernel file holds; None for "max", absent or unreadable."""
    try:
        with open(path) as file:
            text = file.read().strip()
        return int(text) if text.isdigit() else None
    except (OSError, ValueError):
        return None


def _meminfo_available(proc: str) -> Optional[int]:
    try:
        with open(os.path.join(proc, "meminfo")) as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


# cgroup v1 reports "no limit" as a huge number (2^63 rounded to pages).
_NO_V1_LIMIT = 1 << 60


def _cgroup_headroom(proc: str, cgroups: str) -> list[int]:
    """limit − usage of each memory cgroup this process is in, from its own
    up to the root (a parent's limit binds its children too)."""
    try:
        with open(os.path.join(proc, "self", "cgroup")) as file:
            lines = file.read().splitlines()
    except OSError:
        return []
    headroom = []
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if controllers == "" and hierarchy == "0":  # v2: memory.max and memory.current
            base, limit_file, usage_file = cgroups, "memory.max", "memory.current"
        elif "memory" in controllers.split(","):  # v1
            base, limit_file, usage_file = os.path.join(cgroups, "memory"), "memory.limit_in_bytes", "memory.usage_in_bytes"
        else:
            continue
        for directory in _ancestors(base, path):
            limit = _read_number(os.path.join(directory, limit_file))
            if limit is not None and limit < _NO_V1_LIMIT:
                headroom.append(limit - (_read_number(os.path.join(directory, usage_file)) or 0))
    return headroom


def _ancestors(base: str, path: str) -> list[str]:
    """The cgroup directories from `path` up to the mount (inside a container
    the mount is often the process's own cgroup: `path` is then not there)."""
    parts = [part for part in path.split("/") if part]
    return [os.path.join(base, *parts[:depth]) for depth in range(len(parts), -1, -1)]


def _rlimit_headroom(proc: str) -> Optional[int]:
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        return None
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open(os.path.join(proc, "self", "statm")) as file:
            mapped = int(file.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        mapped = 0
    return soft - mapped


def _bytes_text(size: float) -> str:
    """`22K`, `3.2G`: rounded up, so that a suggested limit is enough."""
    for unit in ("T", "G", "M", "K"):
        if size >= _UNITS[unit]:
            tenths = math.ceil(size * 10 / _UNITS[unit])  # exact integers: never rounded down
            return f"{tenths // 10}{unit}" if tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}{unit}"
    return f"{math.ceil(size)}"


def bytes_text(size: float) -> str:
    """A size for a message: 1.5 GiB, 300 MiB."""
    text = _bytes_text(size)
    return text[:-1] + f" {text[-1]}iB" if text[-1] in "KMGT" else f"{text} bytes"
