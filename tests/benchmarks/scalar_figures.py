"""The figures of issue 27: the scalar path on expressions nothing was tuned on.

- `fresh`: `grad - --json` and `check FILE --json` on the fresh families
  (workloads.FRESH_FAMILIES: products, quotients, compositions at x = 0.5),
  rated as `stream` is, N / (T(N+1) - T(1)); target 2,000 a second each;
- `jobs`: the same stream and case file with `--jobs 2` against one job,
  in the same run (target 1.7 on two cores);
- `stages`: where a fresh expression's time goes, per stage of the scalar
  path, in one process (stages_worker.py): informational.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from statistics import median

import workloads
from measure import BenchmarkError, cli_command, compare_processes, run_process
from report import Row, Target

HERE = Path(__file__).resolve().parent
FRESH_COUNT = 3000  # the measure: 3,000 expressions


def _rate(command: list[str], many: Path, one: Path, out: Path, settings) -> tuple[float, float, float]:
    """(rate, T(N+1), T(1)) of a command reading `many` and `one` (stdin for a stream, a file for check)."""
    stdin = command[-1] == "-"

    def run(path: Path, stdout: Path = None):
        args = command if stdin else [*command, str(path)]
        extra = {"stdin_path": path} if stdin else {}
        return lambda: run_process(args, timeout=settings.timeout_s, stdout_path=stdout, **extra)

    run(one)()  # warms the caches for both
    comparison = compare_processes(run(many, out), run(one), settings.stream_runs, warmup=False)
    t_many, t_one = median(comparison.a_times), median(comparison.b_times)
    if t_many <= t_one:
        raise BenchmarkError(f"{FRESH_COUNT + 1} lines took no longer than 1: too few to measure a rate")
    return FRESH_COUNT / (t_many - t_one), t_many, t_one


def _inputs(folder: Path) -> dict[str, Path]:
    lines = workloads.fresh_expressions(FRESH_COUNT + 1)
    paths = {
        "stream_many": folder / "fresh.txt", "stream_one": folder / "first.txt",
        "check_many": folder / "fresh.toml", "check_one": folder / "one.toml",
    }
    paths["stream_many"].write_text("\n".join(lines) + "\n")
    paths["stream_one"].write_text(lines[0] + "\n")
    paths["check_many"].write_text(workloads.fresh_case_file(FRESH_COUNT + 1))
    paths["check_one"].write_text(workloads.fresh_case_file(1))
    return paths


def _stream_command(jobs: int) -> list[str]:
    return cli_command() + ["grad", "--at", f"x={workloads.FRESH_POINT}", "--json", "--jobs", str(jobs), "-"]


def _check_command(jobs: int) -> list[str]:
    return cli_command() + ["check", "--json", "--jobs", str(jobs)]


def _checked_stream(out: Path) -> int:
    """How many lines the exact witness judged; every line must be answered and agree."""
    answers = [json.loads(line) for line in out.read_text().splitlines()]
    if len(answers) != FRESH_COUNT + 1 or any("error" in a or a.get("agree") is not True for a in answers):
        raise BenchmarkError("the fresh stream: every line must be answered, and agree")
    return sum(1 for a in answers if a["checked_by"] == "exact")


def _checked_cases(out: Path) -> None:
    report = json.loads(out.read_text())
    if report.get("passed") != FRESH_COUNT + 1:
        raise BenchmarkError(f"the fresh case file: {report.get('summary')} (every case should pass)")


def fresh(settings) -> list[Row]:
    """The stream and the case file of the fresh families, one process each."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="autodiff-bench-") as folder:
        paths, out = _inputs(Path(folder)), Path(folder) / "out"
        rate, t_many, t_one = _rate(_stream_command(1), paths["stream_many"], paths["stream_one"], out, settings)
        exact = _checked_stream(out)
        rows.append(Row(
            "fresh", f"fresh: grad - --json, {FRESH_COUNT} expressions/s", "/s", ours=rate, target=Target(">=", 2000, on="ours"),
            notes=[f"ours = {FRESH_COUNT} / (T({FRESH_COUNT + 1} lines) {t_many:.2f} s - T(1) {t_one:.2f} s), medians of "
                   f"{settings.stream_runs}; every witness on, float64; {exact} of {FRESH_COUNT + 1} lines checked_by exact"],
        ))
        rate, t_many, t_one = _rate(_check_command(1), paths["check_many"], paths["check_one"], out, settings)
        _checked_cases(out)
        rows.append(Row(
            "fresh", f"fresh: check --json, {FRESH_COUNT} cases/s", "/s", ours=rate, target=Target(">=", 2000, on="ours"),
            notes=[f"ours = {FRESH_COUNT} / (T({FRESH_COUNT + 1} cases) {t_many:.2f} s - T(1) {t_one:.2f} s)"],
        ))
    return rows


def jobs(settings) -> list[Row]:
    """`--jobs 2` against one job, on the fresh stream and case file."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="autodiff-bench-") as folder:
        paths, out = _inputs(Path(folder)), Path(folder) / "out"
        for name, command, many, one, checked in (
            ("grad -", _stream_command, "stream_many", "stream_one", _checked_stream),
            ("check", _check_command, "check_many", "check_one", _checked_cases),
        ):
            single, *_ = _rate(command(1), paths[many], paths[one], out, settings)
            double, *_ = _rate(command(2), paths[many], paths[one], out, settings)
            checked(out)
            rows.append(Row(
                "jobs", f"jobs: {name} --jobs 2 vs one job", "/s", ours=double, baseline=single, ratio=double / single,
                target=Target(">=", 1.7), notes=[f"{FRESH_COUNT} fresh expressions; rates as for fresh"],
            ))
    return rows


def stages(settings) -> list[Row]:
    """Microseconds per fresh expression in each stage of the scalar path."""
    with tempfile.TemporaryDirectory(prefix="autodiff-bench-") as folder:
        out = Path(folder) / "stages.json"
        run_process([sys.executable, str(HERE / "stages_worker.py"), "--count", str(FRESH_COUNT)],
                    timeout=settings.timeout_s, stdout_path=out)
        figures = json.loads(out.read_text().strip().splitlines()[-1])
    total = figures.pop("total")
    return [
        Row("stages", f"stages: {stage}", "us", ours=micros, baseline=total, ratio=micros / total,
            notes=["µs per fresh expression in one process (perf_counter around each stage's functions); "
                   "baseline = the whole answer, ratio = the stage's share"] if index == 0 else [])
        for index, (stage, micros) in enumerate(figures.items())
    ]
