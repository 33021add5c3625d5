"""Rows of figures, the machine header, the plain-text table and the JSON.

A Row is one line of the table: ours, the baseline measured in the same run,
their ratio, and the design target (on the ratio or on ours) if there is one.
Standard library only.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import platform
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

WIDTH = 100


@dataclass(frozen=True)
class Target:
    """A design target: `on` ("ratio" or "ours") compared by `op` with `value`."""

    op: str  # "<=" or ">="
    value: float
    on: str = "ratio"

    def met(self, row: "Row") -> Optional[bool]:
        measured = row.ratio if self.on == "ratio" else row.ours
        if measured is None or math.isnan(measured):
            return None
        return measured <= self.value if self.op == "<=" else measured >= self.value

    def text(self) -> str:
        return f"{'' if self.on == 'ratio' else 'ours '}{self.op} {self.value:g}"


@dataclass
class Row:
    """One figure. `unit` formats ours and baseline: "s", "MiB", "/s" or "us"."""

    name: str  # the --only name it belongs to
    label: str
    unit: str
    ours: Optional[float] = None
    baseline: Optional[float] = None
    ratio: Optional[float] = None
    target: Optional[Target] = None
    notes: list[str] = field(default_factory=list)
    samples: dict = field(default_factory=dict)
    error: Optional[str] = None

    @property
    def met(self) -> Optional[bool]:
        if self.error is not None or self.target is None:
            return None
        return self.target.met(self)

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return "ERROR"
        if self.target is None:
            return "info"
        return {True: "yes", False: "MISSED", None: "n/a"}[self.met]

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "unit": self.unit,
            "ours": _finite(self.ours),
            "baseline": _finite(self.baseline),
            "ratio": _finite(self.ratio),
            "target": None if self.target is None else vars(self.target),
            "met": self.met,
            "verdict": self.verdict,
            "notes": self.notes,
            "error": self.error,
            "samples": self.samples,
        }


def _finite(value: Optional[float]) -> Optional[float]:
    """A number for strict JSON: NaN and infinities become null."""
    return value if value is None or math.isfinite(value) else None


def error_row(name: str, label: str, message: str) -> Row:
    """A figure that could not be measured: shown as ERROR, never as a number."""
    return Row(name, label, "", error=message)


# ----------------------------------------------------------------- numbers


def quantity(value: Optional[float], unit: str) -> str:
    """A value with its unit, short enough for a table cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "MiB":
        return f"{value / 1024:.2f} GiB" if value >= 10240 else f"{value:.0f} MiB"
    if unit == "/s":
        return f"{value:,.0f} /s"
    if unit == "us":
        return f"{value:,.0f} µs"
    return f"{value:.3g}"


def ratio_text(value: Optional[float]) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.2f}"


# ------------------------------------------------------------------- table

# (title, width, alignment): 99 columns with the separators.
COLUMNS = (
    ("benchmark", 40, "<"), ("ours", 10, ">"), ("baseline", 10, ">"), ("ratio", 6, ">"), ("target", 12, ">"),
    ("met", 6, "<"),
)


def format_table(rows: list[Row]) -> str:
    """The aligned table, then a note per row that has one (errors first, loud)."""
    lines = [_cells([title for title, _, _ in COLUMNS]), _cells(["-" * width for _, width, _ in COLUMNS])]
    for row in rows:
        cells = [
            row.label,
            quantity(row.ours, row.unit),
            quantity(row.baseline, row.unit),
            ratio_text(row.ratio),
            row.target.text() if row.target else "",
            row.verdict,
        ]
        lines.append(_cells(cells))
    errors = [f"!! {row.label}: FAILED: {row.error}" for row in rows if row.error]
    if errors:
        lines += ["", *errors]
    notes = _notes(rows)
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def _notes(rows: list[Row]) -> list[str]:
    """Each row's notes under its benchmark's name, once each, wrapped to WIDTH."""
    seen: dict[tuple[str, str], None] = {}
    for row in rows:
        for note in row.notes:
            seen.setdefault((row.name, note), None)
    return [
        textwrap.fill(f"{name}: {note}", WIDTH, initial_indent="  ", subsequent_indent="      ")
        for name, note in seen
    ]


def _cells(values: list[str]) -> str:
    parts = []
    for value, (_, width, align) in zip(values, COLUMNS):
        text = value if len(value) <= width else value[: width - 1] + "…"
        parts.append(f"{text:{align}{width}}")
    return " | ".join(parts).rstrip()


def summary(rows: list[Row]) -> str:
    met = [row.label for row in rows if row.met is True]
    missed = [row.label for row in rows if row.met is False]
    errors = [row.label for row in rows if row.error]
    text = f"targets met: {len(met)}, missed: {len(missed)}, errors: {len(errors)}" + (
        f" (missed: {'; '.join(missed)})" if missed else ""
    )
    return textwrap.fill(text, WIDTH, subsequent_indent="    ")


# ----------------------------------------------------------------- machine


def machine() -> dict:
    """What the figures were measured on."""
    return {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": _memory_gib(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "executable": sys.executable,
        "versions": {**{name: _version(name) for name in ("torch", "sympy", "typer")}, "autodiff": _autodiff_version()},
    }


def format_header(info: dict) -> str:
    versions = ", ".join(f"{name} {version}" for name, version in info["versions"].items())
    load = info["load_average"]
    return "\n".join(
        [
            f"machine: {info['cpu']}; {info['logical_cpus']} logical CPUs ({info['usable_cpus']} usable); "
            f"{info['memory_gib']:.1f} GiB memory",
            f"os: {info['os']}; python {info['python']}",
            f"versions: {versions}",
            f"load average at start: {' '.join(f'{x:.2f}' for x in load)}" if load else "load average: unknown",
            *([f"bytecode: {info['bytecode']}"] if info.get("bytecode") else []),
        ]
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return float("nan")


def _autodiff_version() -> str:
    """The version the package itself reports (importing it is cheap: no torch, no SymPy)."""
    try:
        import autodiff

        return autodiff.__version__
    except (ImportError, AttributeError):
        return _version("autodiff")


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"
