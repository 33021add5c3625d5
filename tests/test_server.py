"""The resident server (autodiff.frontends.server and .client).

The oracle is the same call run in its own process (AUTODIFF_SERVER=off):
through the server, stdout, stderr and the exit code must be byte for byte
the same. Each server here has a private socket directory, and every test
ends with no server and no child left behind.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "win32", reason="no fork here")

AUTODIFF = [sys.executable, "-m", "autodiff"]


def environment(run_dir: Path, **more) -> dict:
    env = {name: value for name, value in os.environ.items() if name != "CI"}
    env.update(AUTODIFF_SERVER="on", XDG_RUNTIME_DIR=str(run_dir), **more)
    return env


def autodiff(args, env, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(AUTODIFF + list(args), env=env, capture_output=True, timeout=120, **kwargs)


def status(env) -> dict | None:
    import json

    done = autodiff(["server", "status", "--json"], env)
    answer = json.loads(done.stdout)
    return answer if answer["running"] else None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not alive: the server is its own session leader, reaped by init.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.fixture
def run_dir(tmp_path):
    place = tmp_path / "run"
    place.mkdir(mode=0o700)
    yield place
    env = environment(place)
    running = status(env)
    autodiff(["server", "stop"], env)
    if running:
        deadline = time.monotonic() + 10
        while alive(running["pid"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(running["pid"]), "a server outlived its test"


@pytest.fixture
def server(run_dir):
    env = environment(run_dir)
    started = autodiff(["server", "start"], env)
    assert started.returncode == 0, started.stderr
    return env


def answered(env) -> int:
    return status(env)["requests"]


CALLS = [
    (["grad", "6*x^2+2*x+4", "--at", "x=3"], None, {}),
    (["grad", "6*x^2+2*x+4", "--at", "x=3", "--json"], None, {}),
    (["hessian", "x^2*y + y^3", "--at", "x=1,y=2"], None, {"COLUMNS": "40"}),
    (["grad", "-", "--at", "x=2", "-q"], b"x^2\nsin(x)\nx+\n", {}),
    (["grad", "x+", "--at", "x=1"], None, {}),  # exit 2
    (["grad", "x^2", "--at", "x=3", "--expect", "7"], None, {}),  # exit 1
    (["check", str(Path(__file__).parent / "cases" / "seeds.toml")], None, {"NO_COLOR": "1"}),
]


@pytest.mark.parametrize("args, stdin, extra", CALLS, ids=[" ".join(c[0][:2]) for c in CALLS])
def test_an_answer_through_the_server_is_the_answer_in_process(server, args, stdin, extra):
    before = answered(server)
    through = autodiff(args, {**server, **extra}, input=stdin)
    alone = autodiff(args, {**server, **extra, "AUTODIFF_SERVER": "off"}, input=stdin)
    assert (through.returncode, through.stdout, through.stderr) == (alone.returncode, alone.stdout, alone.stderr)
    assert answered(server) == before + 1  # the server did answer it


def test_an_output_that_cannot_be_written_is_exit_74_as_in_process(server):
    with open("/dev/full", "w") as full:
        through = subprocess.run(AUTODIFF + ["grad", "x^2", "--at", "x=1"], env=server, stdout=full,
                                 stderr=subprocess.PIPE, timeout=60)
        alone = subprocess.run(AUTODIFF + ["grad", "x^2", "--at", "x=1"], env={**server, "AUTODIFF_SERVER": "off"},
                               stdout=full, stderr=subprocess.PIPE, timeout=60)
    assert through.returncode == alone.returncode == 74
    assert through.stderr == alone.stderr


def test_a_closed_stdout_is_said_as_in_process(server):
    through = subprocess.run(AUTODIFF + ["grad", "x^2", "--at", "x=1"], env=server, stdout=None, stderr=subprocess.PIPE,
                             timeout=60, pass_fds=(), close_fds=True, preexec_fn=lambda: os.close(1))
    assert through.returncode == 74
    assert b"standard output is closed" in through.stderr


LONG = ["minimize", "(1-x)^2+100*(y-x^2)^2", "--from", "x=-1.2,y=1", "--steps", "1000000", "--lr", "1e-7"]


def wait_until(done, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.02)
    return done()


def long_call(server, **streams):
    """A call that runs for minutes, once the server's child for it runs
    (beside the spare, the child the server forks ahead for the next call)."""
    server_pid = status(server)["pid"]
    call = subprocess.Popen(AUTODIFF + LONG, env=server, **streams)
    assert wait_until(lambda: len(children(server_pid)) >= 2, 30)
    return call, server_pid


def no_call_left(server, server_pid: int) -> bool:
    """The server's only child is its spare: no call's child is left."""
    now = status(server)
    return not now["calls"] and set(children(server_pid)) <= {now["spare"]}


def test_ctrl_c_ends_the_call_with_130_and_leaves_no_child(server):
    call, server_pid = long_call(server, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    sent = time.monotonic()
    call.send_signal(signal.SIGINT)
    call.communicate(timeout=10)
    assert call.returncode == 130
    assert time.monotonic() - sent < 1.0
    assert wait_until(lambda: no_call_left(server, server_pid), 5)


def test_a_client_that_dies_takes_its_child_with_it(server):
    call, server_pid = long_call(server, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    call.kill()
    call.wait()
    assert wait_until(lambda: no_call_left(server, server_pid), 5)


def test_concurrent_calls_each_get_their_own_answer(server):
    calls = [subprocess.Popen(AUTODIFF + ["grad", f"x^{k}", "--at", "x=2", "-q"], env=server,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for k in range(2, 8)]
    outputs = [call.communicate(timeout=60) for call in calls]
    assert [call.returncode for call in calls] == [0] * 6
    assert [out.decode().strip() for out, _ in outputs] == [str(k * 2 ** (k - 1)) for k in range(2, 8)]


def test_the_socket_directory_is_private(server, run_dir):
    place = run_dir / "autodiff"
    assert stat.S_IMODE(place.stat().st_mode) == 0o700
    assert stat.S_ISSOCK((place / "server.sock").stat().st_mode)


def test_another_installation_key_is_answered_in_process_and_replaces_the_server(server):
    old = status(server)["pid"]
    other = {**server, "AUTODIFF_KEY_TEST": "1"}  # a variable read at import time: another key
    through = autodiff(["grad", "x^2", "--at", "x=3", "-q"], other)
    assert (through.returncode, through.stdout) == (0, b"6\n")
    deadline = time.monotonic() + 60
    while (status(other) or {}).get("pid") in (None, old) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status(other)["pid"] != old
    assert not alive(old)


def test_a_killed_server_is_replaced_and_the_call_still_answered(server):
    old = status(server)["pid"]
    os.kill(old, signal.SIGKILL)
    while alive(old):
        time.sleep(0.02)
    through = autodiff(["grad", "x^2", "--at", "x=3", "-q"], server)
    assert (through.returncode, through.stdout) == (0, b"6\n")
    deadline = time.monotonic() + 60
    while status(server) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status(server)["pid"] != old


def test_stop_leaves_no_process(server):
    running = status(server)
    pid, spare = running["pid"], running["spare"]
    stopped = autodiff(["server", "stop"], server)
    assert stopped.returncode == 0 and f"pid {pid}".encode() in stopped.stdout
    assert not alive(pid)
    assert spare is not None and wait_until(lambda: not alive(spare), 5)
    assert status(server) is None


def test_off_and_ci_keep_every_call_in_process(run_dir):
    from autodiff.frontends import client

    assert not client.enabled({"AUTODIFF_SERVER": "off"})
    assert not client.enabled({"CI": "true"})
    assert client.enabled({"CI": "true", "AUTODIFF_SERVER": "on"}) == hasattr(os, "fork")
    env = {**environment(run_dir), "AUTODIFF_SERVER": "off"}
    done = autodiff(["grad", "x^2", "--at", "x=3", "-q"], env)
    assert done.stdout == b"6\n"
    time.sleep(0.5)
    assert not (run_dir / "autodiff").exists()  # no server was started


def test_an_edited_source_file_is_another_installation():
    from autodiff.frontends import client

    source = Path(client.__file__).parent / "hints.py"
    before = client.key()
    times = source.stat()
    try:
        os.utime(source, ns=(times.st_atime_ns, times.st_mtime_ns + 1_000_000_000))
        assert client.key() != before
    finally:
        os.utime(source, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert client.key() == before


def test_sigterm_kills_the_child_and_the_caller_as_in_process(server):
    # In its own process a SIGTERM kills the call (returncode -15): through the
    # server the child gets it, and the caller mirrors how the child ended.
    call, server_pid = long_call(server, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    call.send_signal(signal.SIGTERM)
    call.wait(timeout=10)
    assert call.returncode == -signal.SIGTERM
    assert wait_until(lambda: no_call_left(server, server_pid), 5)
