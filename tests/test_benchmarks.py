"""The benchmark harness (tests/benchmarks/, not collected by pytest) works:
a real quick run of the start-up figures, and its pure helpers.

The full suite takes minutes and is run by hand: python tests/benchmarks/run.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # the harness is scripts beside each other, not a package

import measure  # noqa: E402
import report  # noqa: E402
import workloads  # noqa: E402


@pytest.fixture(scope="module")
def quick_run():
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--quick", "--only", "help,version", "--json", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    return completed


def test_a_quick_run_reports_both_startup_figures(quick_run):
    document = json.loads(quick_run.stdout)
    assert document["quick"] is True
    assert document["benchmarks"] == ["help", "version"]
    rows = {row["name"]: row for row in document["rows"]}
    assert set(rows) == {"help", "version"}
    for row in rows.values():
        samples = row["samples"]
        assert row["error"] is None
        assert len(samples["a_wall_s"]) == len(samples["b_wall_s"]) == document["settings"]["startup_pairs"]
        assert all(t > 0 for t in samples["a_wall_s"] + samples["b_wall_s"])
        assert row["ours"] == statistics.median(samples["a_wall_s"])
        assert row["baseline"] == statistics.median(samples["b_wall_s"])
        ratios = [a / b for a, b in zip(samples["a_wall_s"], samples["b_wall_s"])]
        assert samples["ratios"] == pytest.approx(ratios)
        assert row["ratio"] == pytest.approx(statistics.median(ratios))
        assert row["target"] == {"op": "<=", "value": 1.2, "on": "ratio"}
        assert row["met"] == (row["ratio"] <= 1.2)
        assert all(kib > 0 for kib in samples["a_max_rss_kib"])


def test_a_quick_run_prints_the_machine_and_the_table_on_stderr(quick_run):
    text = quick_run.stderr
    assert "logical CPUs" in text and "torch " in text and "autodiff " in text
    header = next(line for line in text.splitlines() if line.startswith("benchmark"))
    assert [cell.strip() for cell in header.split("|")] == ["benchmark", "ours", "baseline", "ratio", "target", "met"]
    assert "help: --help vs import typer" in text
    assert "total wall time:" in text


def test_an_unknown_benchmark_name_is_a_usage_error():
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--only", "nonesuch"], capture_output=True, text=True, timeout=30
    )
    assert completed.returncode == 2
    assert "unknown benchmark nonesuch" in completed.stderr


def test_the_median_of_pairwise_ratios_is_not_the_ratio_of_medians():
    a, b = [2.0, 3.0, 10.0], [1.0, 3.0, 2.0]
    assert measure.pairwise_ratios(a, b) == [2.0, 1.0, 5.0]
    assert measure.median_ratio(a, b) == 2.0
    assert measure.median(a) / measure.median(b) == 1.5
    with pytest.raises(ValueError):
        measure.pairwise_ratios([1.0], [1.0, 2.0])


STATUS = """Name:\tpython
VmPeak:\t  500000 kB
VmHWM:\t  123456 kB
VmRSS:\t  100000 kB
Threads:\t1
"""


def test_the_status_reader_takes_peak_and_current_rss_in_bytes():
    assert measure.read_status(STATUS) == {"VmHWM": 123456 * 1024, "VmRSS": 100000 * 1024}
    with pytest.raises(ValueError):
        measure.read_status("VmRSS:\t 1 kB\n")


def test_peak_memory_sees_an_allocation_made_inside_it():
    with measure.PeakMemory() as memory:
        block = bytearray(64 * 1024 * 1024)
        block[:: 4096] = b"x" * len(block[:: 4096])  # touch every page
        del block
    assert memory.method in ("clear_refs", "getrusage (peak counter could not be reset)")
    if memory.method == "clear_refs":
        assert 60 * 1024 * 1024 <= memory.peak_bytes < 200 * 1024 * 1024


def test_the_table_marks_a_missed_target_and_an_error():
    rows = [
        report.Row("oneshot", "oneshot: grad", "s", ours=4.6, baseline=4.0, ratio=1.15,
                   target=report.Target("<=", 1.15)),
        report.Row("grid", "grid: time", "s", ours=0.5, baseline=0.25, ratio=2.0, target=report.Target("<=", 1.2),
                   notes=["median of 3"]),
        report.Row("stream", "stream", "/s", ours=900.0, baseline=250.0, ratio=3.6,
                   target=report.Target(">=", 1000, on="ours")),
        report.Row("memory", "memory: grad", "MiB", ours=300.0, baseline=250.0, ratio=1.2),
        report.error_row("hessian", "hessian", "the two Hessians differ"),
    ]
    lines = report.format_table(rows).splitlines()
    cells = {line.split("|")[0].strip(): [cell.strip() for cell in line.split("|")] for line in lines if "|" in line}
    assert cells["oneshot: grad"] == ["oneshot: grad", "4.60 s", "4.00 s", "1.15", "<= 1.15", "yes"]
    assert cells["grid: time"] == ["grid: time", "500.0 ms", "250.0 ms", "2.00", "<= 1.2", "MISSED"]
    assert cells["stream"] == ["stream", "900 /s", "250 /s", "3.60", "ours >= 1000", "MISSED"]
    assert cells["memory: grad"] == ["memory: grad", "300 MiB", "250 MiB", "1.20", "", "info"]
    assert cells["hessian"][-1] == "ERROR"
    assert "!! hessian: FAILED: the two Hessians differ" in lines
    assert "  grid: median of 3" in lines
    assert all(len(line) <= report.WIDTH for line in lines)
    assert report.summary(rows).startswith("targets met: 1, missed: 2, errors: 1")


def test_the_stream_workload_is_distinct_and_deterministic():
    expressions = workloads.stream_expressions(1000)
    texts = [e.text for e in expressions]
    assert len(set(texts)) == 1000 and workloads.FIRST.text not in texts
    assert texts == [e.text for e in workloads.stream_expressions(1000)]
    assert workloads.stream_lines(expressions[:2]) == [workloads.FIRST.text, texts[0], texts[1]]


def test_the_hessian_workload_wraps_its_indices():
    assert workloads.hessian_expression(3) == (
        "x1^2*x2 + sin(x1)*x3 + x2^2*x3 + sin(x2)*x1 + x3^2*x1 + sin(x3)*x2"
    )
    assert workloads.hessian_point(3) == {"x1": 1 / 3, "x2": 2 / 3, "x3": 1.0}


def test_a_process_run_measures_the_child_and_refuses_failures(tmp_path):
    script = "import sys; block = bytearray(50 * 1024 * 1024); block[::4096] = b'x' * len(block[::4096]); print('ok')"
    out = tmp_path / "out.txt"
    run = measure.run_process([sys.executable, "-c", script], stdout_path=out)
    assert out.read_text() == "ok\n"
    assert run.returncode == 0 and run.wall_s > 0
    assert run.max_rss_mib > 50  # the child's own peak, not this process's

    with pytest.raises(measure.BenchmarkError, match="exit 3"):
        measure.run_process([sys.executable, "-c", "import sys; print('why', file=sys.stderr); sys.exit(3)"])
    assert measure.run_process([sys.executable, "-c", "raise SystemExit(1)"], ok_codes=(0, 1)).returncode == 1
    with pytest.raises(measure.BenchmarkError, match="timed out"):
        measure.run_process([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)


def test_interleaved_runs_alternate_after_a_warm_up_of_each():
    calls = []

    def side(name):
        def run():
            calls.append(name)
            return measure.ProcessRun(2.0 if name == "a" else 1.0, max_rss_kib=1, user_s=0, system_s=0, returncode=0)

        return run

    comparison = measure.compare_processes(side("a"), side("b"), pairs=3)
    assert calls == ["a", "b"] * 4
    assert comparison.a_times == [2.0] * 3 and comparison.ratio == 2.0
