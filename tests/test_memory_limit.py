"""The default memory limit respects the machine: MemAvailable, the
container's cgroup (v2 and v1, every level up to the root) and RLIMIT_AS.

The kernel files are faked in a temporary directory (proc/ and
sys/fs/cgroup/ as Linux lays them out), so the figures are known exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from autodiff.limits import available_memory

GIB = 1 << 30


def fake(tmp_path, cgroup: str, files: dict[str, str], meminfo_gib: int = 64):
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "meminfo").write_text(f"MemTotal: {128 << 20} kB\nMemAvailable: {meminfo_gib << 20} kB\n")
    (proc / "self" / "cgroup").write_text(cgroup)
    root = tmp_path / "cgroup"
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return str(proc), str(root)


def test_meminfo_alone(tmp_path):
    proc, root = fake(tmp_path, "0::/\n", {})
    assert available_memory(proc, root) == 64 * GIB


def test_cgroup_v2_limit_minus_usage(tmp_path):
    proc, root = fake(tmp_path, "0::/box\n", {"box/memory.max": str(2 * GIB), "box/memory.current": str(GIB // 2)})
    assert available_memory(proc, root) == 2 * GIB - GIB // 2


def test_cgroup_v2_unlimited_is_no_figure(tmp_path):
    proc, root = fake(tmp_path, "0::/box\n", {"box/memory.max": "max\n", "box/memory.current": "123"})
    assert available_memory(proc, root) == 64 * GIB


def test_a_parent_cgroup_binds_its_children(tmp_path):
    proc, root = fake(tmp_path, "0::/outer/inner\n", {
        "outer/memory.max": str(GIB), "outer/memory.current": str(GIB // 4),
        "outer/inner/memory.max": "max", "outer/inner/memory.current": str(GIB // 8),
    })
    assert available_memory(proc, root) == GIB - GIB // 4


def test_cgroup_mounted_at_the_containers_own_group(tmp_path):
    # Inside a container /proc/self/cgroup names the host's path, which the
    # container's mount does not have: the mount's root is the group.
    proc, root = fake(tmp_path, "0::/docker/abc\n", {"memory.max": str(3 * GIB), "memory.current": str(GIB)})
    assert available_memory(proc, root) == 2 * GIB


def test_cgroup_v1(tmp_path):
    proc, root = fake(tmp_path, "5:cpu:/\n4:memory:/job\n", {
        "memory/job/memory.limit_in_bytes": str(GIB), "memory/job/memory.usage_in_bytes": str(GIB // 2),
        "memory/memory.limit_in_bytes": str(9223372036854771712),  # v1's "no limit"
    })
    assert available_memory(proc, root) == GIB // 2


def test_the_smallest_figure_wins(tmp_path):
    proc, root = fake(tmp_path, "0::/box\n", {"box/memory.max": str(8 * GIB), "box/memory.current": "0"}, meminfo_gib=3)
    assert available_memory(proc, root) == 3 * GIB


def test_rlimit_as_bounds_the_default_limit():
    code = textwrap.dedent("""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
        from autodiff.limits import available_memory, DEFAULT_LIMITS
        print(available_memory(), DEFAULT_LIMITS.memory())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    available, limit = int(out[0]), int(out[1])
    assert 0 < available < 4 * GIB
    assert limit == available // 2


def test_a_memory_error_is_a_named_limit_not_a_bug(monkeypatch, capsys):
    import json

    import pytest

    from autodiff.commands import api
    from autodiff.frontends import cli

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(api, "grad", exhausted)
    with pytest.raises(SystemExit) as leaving:
        cli.main(["grad", "x^2", "--at", "x=3", "--json"])
    assert leaving.value.code == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["type"] == "limit_exceeded"
    assert error["message"].startswith("out of memory") and "--limit memory" in error["message"]


# Runs `autodiff ARGS` in process and prints the peak of its anonymous memory
# (RssAnon, sampled): the heap and the tensors, not the shared libraries'
# file pages, whose residency depends on what ran before (ru_maxrss does).
_PEAK_ANON = """
import sys, threading, time
from autodiff.frontends import cli

def anon():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon:")) * 1024

peak = [anon()]
def sample():
    while True:
        peak[0] = max(peak[0], anon())
        time.sleep(0.002)

threading.Thread(target=sample, daemon=True).start()
out = sys.stdout
sys.stdout = open("/dev/null", "w")
try:
    cli.main(sys.argv[1:])
except SystemExit:
    pass
peak[0] = max(peak[0], anon())
out.write(str(peak[0]))
"""


def _peak(args: list[str]) -> int:
    done = subprocess.run([sys.executable, "-c", _PEAK_ANON, *args], capture_output=True, text=True, timeout=120)
    return int(done.stdout)


POINTS = 100_000


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="RssAnon is Linux's")
@pytest.mark.parametrize("command, expression, point, copies", [
    ("graph", "sin(x)*exp(x) + x^2", "x=0:1:{n}", 1),
    ("graph", "x^3 + 2x^2 - tanh(x) + exp(-x^2)", "x=0:1:{n}", 1),
    ("grad", "x^2*y + sin(x*y)", "x=0:1:{n},y=1:2:{n}", 1),
    ("hessian", "x^2*y + sin(x*y)", "x=0:1:{n},y=1:2:{n}", 4),
    ("jacobian", "[x*y, sin(x) + y]", "x=0:1:{n},y=1:2:{n}", 4),
])
def test_the_memory_estimate_holds_to_the_measured_peak(command, expression, point, copies):
    """Each command's memory estimate (with --json, as a pipeline runs it)
    against the peak of the process's anonymous memory beyond the same
    command's at 10 points: at least the measured figure, at most 1.5x
    (the issue: graph --json's was 4x too low)."""
    from autodiff.commands import api
    from autodiff.language.parsing import parse_list

    def peak(count: int) -> int:
        return _peak([command, expression, "--at", point.format(n=count), "--json"])

    measured = peak(POINTS) - peak(10)
    per = {"graph": api.GRAPH_BYTES, "hessian": api.HESSIAN_BYTES, "jacobian": api.JACOBIAN_BYTES}.get(command, {})
    estimate = api.estimated_bytes(parse_list(expression), POINTS, copies, **per)
    assert measured <= estimate <= measured * 1.5, (measured / 2**20, estimate / 2**20)
