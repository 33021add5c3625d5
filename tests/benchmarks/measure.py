"""Timing and memory helpers shared by the runner and the worker scripts.

Two kinds of measurement:

- Whole processes (`run_process`, `compare_processes`): wall time from
  `perf_counter` around `Popen` … `os.wait4`, and the child's own peak RSS
  from the rusage that `wait4` returns (`ru_maxrss`, KiB on Linux). A command
  and its baseline run interleaved (A B A B …) after one unmeasured warm-up
  of each, so that a change in machine load touches both sides alike.
- Work inside a worker process (`PeakMemory`, `timed`): perf_counter around
  the work only, and the work's peak memory as the peak RSS during it minus
  the RSS just before it. The kernel's peak counter (VmHWM) is reset first by
  writing "5" to /proc/self/clear_refs.

This module imports only the standard library: the runner stays light, and
the workers import it before torch.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

KIB = 1024
MIB = 1024 * 1024


class BenchmarkError(RuntimeError):
    """A measurement that cannot be trusted: a command failed, timed out, or
    the two sides of a comparison did not compute the same thing."""


# ---------------------------------------------------------------- statistics


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no values")
    return float(statistics.median(values))


def pairwise_ratios(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """a[i] / b[i] for each interleaved pair (the pairs share machine conditions)."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} samples against {len(b)}: not pairs")
    return [x / y for x, y in zip(a, b)]


def median_ratio(a: Sequence[float], b: Sequence[float]) -> float:
    """The median of the pairwise ratios: steadier than a ratio of medians
    when the load on a shared machine drifts during the run."""
    return median(pairwise_ratios(a, b))


# ---------------------------------------------------------- whole processes


def cli_command() -> list[str]:
    """The `autodiff` console script beside this interpreter (what a user
    runs), or `python -m autodiff` where there is none."""
    script = Path(sys.executable).parent / "autodiff"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "autodiff"]


@dataclass
class ProcessRun:
    """One finished child process."""

    wall_s: float
    max_rss_kib: int  # the child's own peak RSS (ru_maxrss; KiB on Linux)
    user_s: float
    system_s: float
    returncode: int

    @property
    def max_rss_mib(self) -> float:
        return self.max_rss_kib * KIB / MIB


def run_process(
    command: Sequence[str],
    *,
    stdin_path: Optional[Path] = None,
    stdout_path: Optional[Path] = None,
    timeout: float = 300.0,
    ok_codes: Sequence[int] = (0,),
    env: Optional[dict] = None,
) -> ProcessRun:
    """Run `command` (never through a shell) and measure it as a whole.

    stdout goes to `stdout_path` or nowhere; stderr to a temporary file whose
    tail is quoted if the command fails. A command still running after
    `timeout` seconds is killed and raises BenchmarkError.
    """
    with tempfile.TemporaryFile() as stderr, _open_or_null(stdin_path, "rb") as stdin, _open_or_null(
        stdout_path, "wb"
    ) as stdout:
        start = time.perf_counter()
        process = subprocess.Popen(list(command), stdin=stdin, stdout=stdout, stderr=stderr, env=env)
        killed = threading.Event()

        def kill():
            killed.set()
            process.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait for it again
        if killed.is_set():
            raise BenchmarkError(f"timed out after {timeout:g} s: {shown(command)}")
        if process.returncode not in ok_codes:
            stderr.seek(0)
            tail = stderr.read().decode("utf-8", "replace").strip().splitlines()[-5:]
            raise BenchmarkError(
                f"exit {process.returncode} from {shown(command)}" + ("".join("\n    " + t for t in tail))
            )
    return ProcessRun(wall, usage.ru_maxrss, usage.ru_utime, usage.ru_stime, process.returncode)


def _open_or_null(path: Optional[Path], mode: str):
    return open(path, mode) if path is not None else open(os.devnull, mode)


def shown(command: Sequence[str]) -> str:
    """A command as a person would type it (for messages only; never run)."""
    import shlex

    return " ".join(shlex.quote(Path(part).name if i == 0 else part) for i, part in enumerate(command))


@dataclass
class Comparison:
    """Interleaved whole-process runs of a command (A) and its baseline (B)."""

    a: list[ProcessRun] = field(default_factory=list)
    b: list[ProcessRun] = field(default_factory=list)

    @property
    def a_times(self) -> list[float]:
        return [run.wall_s for run in self.a]

    @property
    def b_times(self) -> list[float]:
        return [run.wall_s for run in self.b]

    @property
    def ratio(self) -> float:
        return median_ratio(self.a_times, self.b_times)

    def samples(self) -> dict:
        return {
            "a_wall_s": self.a_times,
            "b_wall_s": self.b_times,
            "ratios": pairwise_ratios(self.a_times, self.b_times),
            "a_max_rss_kib": [run.max_rss_kib for run in self.a],
            "b_max_rss_kib": [run.max_rss_kib for run in self.b],
        }


def compare_processes(
    a: Callable[[], ProcessRun], b: Callable[[], ProcessRun], pairs: int, warmup: bool = True
) -> Comparison:
    """Run `a` and `b` (each a call of run_process) as A B A B …, `pairs`
    times, after one unmeasured run of each (it fills the page cache and
    Python's bytecode caches, which a user's second run also finds warm)."""
    if warmup:
        a()
        b()
    comparison = Comparison()
    for _ in range(pairs):
        comparison.a.append(a())
        comparison.b.append(b())
    return comparison


# ------------------------------------------------------ work inside a worker


def read_status(text: Optional[str] = None) -> dict[str, int]:
    """VmHWM (peak RSS) and VmRSS from /proc/self/status (or `text`), in bytes."""
    if text is None:
        text = Path("/proc/self/status").read_text()
    found = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            number, unit = value.split()
            if unit.lower() != "kb":
                raise ValueError(f"unexpected unit {unit!r} for {key} in /proc/self/status")
            found[key] = int(number) * KIB
    if set(found) != {"VmHWM", "VmRSS"}:
        raise ValueError("VmHWM or VmRSS missing from /proc/self/status")
    return found


class PeakMemory:
    """The peak memory of a piece of work: peak RSS during it minus RSS
    before it.

        with PeakMemory() as memory:
            work()
        memory.peak_bytes

    The peak counter is reset at the start, so an earlier, larger peak (an
    import, a previous run) does not hide this one. Where /proc/self/clear_refs
    cannot be written, the lifetime peak (getrusage) is used instead, which
    overstates nothing only if the work is the largest thing the process did;
    `method` says which was used.
    """

    def __init__(self):
        self.method = ""
        self.before_bytes = 0
        self.peak_bytes = 0

    def __enter__(self) -> "PeakMemory":
        self.method = "clear_refs" if _reset_peak() else "getrusage (peak counter could not be reset)"
        self.before_bytes = _current_rss()
        return self

    def __exit__(self, *exc) -> None:
        peak = read_status()["VmHWM"] if self.method == "clear_refs" else _lifetime_peak()
        self.peak_bytes = max(0, peak - self.before_bytes)


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def _current_rss() -> int:
    try:
        return read_status()["VmRSS"]
    except (OSError, ValueError):
        return 0


def _lifetime_peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KIB


def timed(work: Callable[[], object]) -> tuple[float, object]:
    """(seconds, result) of one call of `work`, by perf_counter."""
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def timed_runs(
    work: Callable[[], object],
    runs: int,
    budget_s: float = float("inf"),
    inspect_first: Optional[Callable[[object], None]] = None,
) -> dict:
    """Time `runs` calls of `work` (the caller warms it up first); the first
    also measures peak memory. Stops early, after at least one run, once
    `budget_s` seconds have gone: a slow build must not blow the suite's
    time limit. `inspect_first(result)` sees the first result (a checksum,
    outside the timing). Each result is dropped between runs, outside the
    timing, so that no run pays for freeing the last one."""
    import gc

    times, memory = [], None
    start = time.perf_counter()
    for index in range(runs):
        gc.collect()
        if index == 0:
            with PeakMemory() as memory:
                seconds, result = timed(work)
        else:
            seconds, result = timed(work)
        times.append(seconds)
        if index == 0 and inspect_first is not None:
            inspect_first(result)
        del result
        if time.perf_counter() - start > budget_s:
            break
    return {"times_s": times, "peak_bytes": memory.peak_bytes, "memory_method": memory.method}
