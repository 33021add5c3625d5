"""--jobs N: the lines of a stream (`grad -`, …) and the cases of `check`
answered in N worker processes forked from the command's own.

The oracle is the same command with --jobs 1 (one process, the code path of
before): stdout, stderr and the exit code must be byte for byte the same,
whatever the mix of lines, the time each takes, the output mode or the
terminal. Most tests run the installed command in a subprocess (the workers
are real forks of it); the ones that break a worker on purpose run in
process, where the worker inherits a monkeypatch.
"""

from __future__ import annotations

import math
import os
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autodiff import parallel
from helpers import invoke, strict_loads

pytestmark = pytest.mark.skipif(not parallel.AVAILABLE, reason="no fork here")

AUTODIFF = [sys.executable, "-m", "autodiff"]
ENV = {**{k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")},
       "AUTODIFF_SERVER": "off", "COLUMNS": "100", "NO_COLOR": "1"}
CASES = Path(__file__).parent / "cases"

SLOW = "+".join(f"sin({k}*x)*exp(x/{k})*atan({k}*x)" for k in range(1, 60))  # about 100 times a plain line
MIXED = [
    "sin(x)",
    "x^2 + 3*x",
    "x+",  # a parse error: exit 2
    "# a comment",
    "",
    "x" + "+x" * 6000,  # longer than the expression limit: an error for its line
    "cbrt(x^3)",  # autograd's nan disagrees with the exact value: the verdict fails, exit 1, a warning
    SLOW,
    "exp(2*x)*cos(x)",
    "abs(x)",  # a kink at the point: no derivative, with a note
    "   tanh(x)/(1+x^2)   ",
    "log(x)",  # not defined at 0
    "x*y",  # a variable without a value
    "1/(1+x^2)",
]


def run(args, stdin: bytes, env=None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(AUTODIFF + list(args), input=stdin, env=env or ENV, capture_output=True, timeout=300,
                          **kwargs)


def same(args, stdin: bytes, jobs=("2",), env=None) -> subprocess.CompletedProcess:
    """Run `args` with --jobs 1 and each of `jobs`; assert every output the
    same, byte for byte; return the --jobs 1 run."""
    alone = run([*args, "--jobs", "1"], stdin, env)
    for n in jobs:
        together = run([*args, "--jobs", n], stdin, env)
        assert together.stdout == alone.stdout, n
        assert together.stderr == alone.stderr, n
        assert together.returncode == alone.returncode, n
    return alone


def same_in_process(args, text: str, jobs: str = "2"):
    """As `same`, run in this process (faster: nothing to import): the
    workers are forks of the test process."""
    alone = invoke(*args, "--jobs", "1", input=text)
    together = invoke(*args, "--jobs", jobs, input=text)
    assert (together.stdout, together.stderr, together.exit_code) == (alone.stdout, alone.stderr, alone.exit_code)
    return alone


def lines(*texts: str) -> bytes:
    return ("\n".join(texts) + "\n").encode()


# --- the same answers as one process -------------------------------------------


@pytest.mark.parametrize("mode", [["--json"], [], ["-q"]], ids=["json", "tables", "quiet"])
def test_a_mixed_stream_is_answered_as_by_one_process(mode):
    alone = same(["grad", "-", "--at", "x=0", *mode], lines(*MIXED), jobs=("2", "3"))
    assert alone.returncode == 2
    if mode == ["--json"]:
        answers = [strict_loads(line) for line in alone.stdout.decode().splitlines()]
        assert [a["line"] for a in answers] == [1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14]
        by_line = {a["line"]: a for a in answers}
        assert by_line[3]["error"]["type"] == "parse_error"
        assert by_line[6]["error"]["type"] == "limit_exceeded"
        assert by_line[7]["agree"] is False
    elif not mode:
        err = alone.stderr.decode()
        assert "line 3: error:" in err and "line 6: error:" in err and "line 7: warning:" in err
        assert alone.stdout.count(b"\n\nf(x) = ") == 8  # nine tables, a blank line between each two


def test_the_exit_code_is_the_most_severe_over_the_lines():
    assert same_in_process(["grad", "-", "--at", "x=0", "--json"], "sin(x)\ncbrt(x^3)\nx^2\n").exit_code == 1
    assert same_in_process(["grad", "-", "--at", "x=3", "--json"], "x^2\nsin(x)\n").exit_code == 0


def test_the_order_is_kept_when_lines_take_very_different_times():
    text = [SLOW, *(f"{k}*x^2 + sin({k}*x)" for k in range(1, 25)), SLOW, "x^3", SLOW,
            *(f"exp({k}*x)" for k in range(1, 9))]
    alone = same(["grad", "-", "--at", "x=0.5", "--json"], lines(*text), jobs=("2", "4"))
    answers = [strict_loads(line) for line in alone.stdout.decode().splitlines()]
    assert [a["line"] for a in answers] == list(range(1, len(text) + 1))
    assert answers[1]["gradient"]["x"]["autograd"] == pytest.approx(2 * 0.5 + math.cos(0.5))  # x^2 + sin(x)


def test_more_lines_than_the_window_and_more_workers_than_lines():
    text = "".join(f"{k}*x^2 + {k}\n" for k in range(1, 60))
    alone = same_in_process(["grad", "-", "--at", "x=0.5", "--json"], text)
    values = [strict_loads(line)["value"] for line in alone.stdout.splitlines()]
    assert values == [1.25 * k for k in range(1, 60)]
    same_in_process(["grad", "-", "--at", "x=0.5", "--json"], "x^2\n", jobs="7")


@pytest.mark.parametrize("args, text", [
    (["partial", "-", "--at", "x=2,y=3", "--wrt", "x,y"], ["x*y", "x^2*y^3", "x+", "sin(x)*cos(y)"]),
    (["hessian", "-", "--at", "x=1,y=2"], ["x^2*y + y^3", "x*y", "x+"]),
    (["jacobian", "-", "--at", "x=1,y=2"], ["[x*y, x+y]", "[sin(x), y^2]", "[x+"]),
    (["graph", "-", "--at", "x=1,y=2"], ["x*y + sin(x)", "x^2", "x+"]),
    (["graph", "-", "--at", "x=1,y=2", "--format", "dot"], ["x*y + sin(x)", "x^2"]),
    (["grad", "-", "--at", "x=[1,2,3]", "--grad-output", "1,0,2"], ["x^2", "sin(x)"]),
    (["grad", "-", "--at", "x=0.5", "--order", "3", "--expect", "0"], ["x^3", "x^2"]),
], ids=["partial", "hessian", "jacobian", "graph", "graph-dot", "grad-output", "order-expect"])
def test_every_streaming_command_answers_as_one_process(args, text):
    for mode in (["--json"], []):
        if "--format" in args and mode:
            continue
        same_in_process([*args, *mode], "".join(line + "\n" for line in text))


def test_minimize_streams_in_workers():
    # Not byte for byte: each optimiser's time ("seconds") differs from run to run.
    args = ["minimize", "-", "--from", "x=3", "--optimizer", "gd", "--lr", "0.1", "--steps", "200", "--no-symbolic"]
    text = lines("(x-1)^2", "x+", "(x+2)^2 + 1")
    alone, together = run([*args, "--json"], text), run([*args, "--json", "-j", "2"], text)
    assert together.returncode == alone.returncode == 2 and together.stderr == alone.stderr == b""

    def ends(result):
        answers = [strict_loads(line) for line in result.stdout.decode().splitlines()]
        return [(a["line"], [(o["point"], o["steps"]) for o in a.get("optimizers", [])]) for a in answers]

    assert ends(together) == ends(alone)
    assert [line for line, _ in ends(together)] == [1, 2, 3]


def test_a_terminal_gets_the_same_colours_and_width():
    # stdout is a terminal of 90 columns: rich colours the tables and fits them to it, in the workers too.
    env = {k: v for k, v in ENV.items() if k not in ("COLUMNS", "NO_COLOR")}
    env["TERM"] = "xterm-256color"
    text = lines("sin(x)*exp(x)", "x+", "x^2 + 3*x")
    outputs = []
    import fcntl
    import pty
    import termios

    for jobs in ("1", "2"):
        controller, terminal = pty.openpty()
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 90, 0, 0))
        process = subprocess.Popen(AUTODIFF + ["grad", "-", "--at", "x=0.5", "--jobs", jobs], stdin=subprocess.PIPE,
                                   stdout=terminal, stderr=subprocess.PIPE, env=env)
        os.close(terminal)
        process.stdin.write(text)
        process.stdin.close()
        shown = _read_all(controller)
        outputs.append((shown, process.stderr.read(), process.wait(timeout=120)))
        process.stderr.close()
    assert outputs[0] == outputs[1]
    assert b"\x1b[" in outputs[0][0]  # colour: it was a terminal
    assert outputs[0][2] == 2


def _read_all(fd: int) -> bytes:
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal's other end closed (Linux says EIO)
            break
        if not chunk:
            break
        data += chunk
    os.close(fd)
    return data


def test_an_ascii_terminal_encoding_is_spelled_as_in_one_process():
    env = {**ENV, "PYTHONIOENCODING": "ascii"}
    same(["grad", "-", "--at", "x=0.5"], lines("sin(x)", "x^2"), jobs=("2",), env=env)
    same(["grad", "-", "--at", "x=0.5", "-q"], lines("sin(x)", "x^2"), jobs=("2",), env=env)


# --- the option ----------------------------------------------------------------


@pytest.mark.parametrize("args", [["grad", "-", "--at", "x=1"], ["graph", "-", "--at", "x=1"], ["minimize", "-"]],
                         ids=["grad", "graph", "minimize"])
def test_jobs_0_is_a_usage_error(args, capsys):
    from autodiff.frontends import cli

    with pytest.raises(SystemExit) as leaving:
        cli.main([*args, "--jobs", "0"])
    assert leaving.value.code == 2
    assert "--jobs must be at least 1, not 0" in capsys.readouterr().err


def test_every_streaming_command_documents_jobs():
    for command in ("grad", "partial", "hessian", "jacobian", "graph", "minimize", "check"):
        result = invoke(command, "--help")
        assert "--jobs" in result.stdout and "-j" in result.stdout, command


def test_jobs_with_one_expression_answers_it_in_process():
    alone = run(["grad", "x^2", "--at", "x=3", "--json"], b"")
    assert run(["grad", "x^2", "--at", "x=3", "--json", "-j", "2"], b"").stdout == alone.stdout


# --- a pipeline, a reader that leaves, signals -----------------------------------


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] == "Z"
    except OSError:
        return True


def _readline(stream, seconds: float = 120) -> bytes:
    ready, _, _ = select.select([stream], [], [], seconds)
    assert ready, "no answer came"
    return stream.readline()


def _started(json_flag=True) -> subprocess.Popen:
    return subprocess.Popen(AUTODIFF + ["grad", "-", "--at", "x=2", "--jobs", "2", *(["--json"] if json_flag else [])],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)


def test_a_slow_producer_gets_each_answer_before_the_input_ends():
    process = _started()
    try:
        for k in (1, 2, 3):
            process.stdin.write(f"{k}*x^2\n".encode())
            process.stdin.flush()
            answer = strict_loads(_readline(process.stdout))
            assert (answer["line"], answer["gradient"]["x"]["autograd"]) == (k, 4.0 * k)
        process.stdin.close()
        assert process.stdout.read() == b""
        assert process.wait(timeout=120) == 0
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("number, code", [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGINT, 130)], ids=["term", "int"])
def test_a_signal_ends_the_command_and_its_workers(number, code):
    process = _started()
    try:
        process.stdin.write(b"x^2\n")
        process.stdin.flush()
        _readline(process.stdout)
        workers = _children(process.pid)
        assert len(workers) == 2
        process.send_signal(number)
        assert process.wait(timeout=60) == code
        assert process.stderr.read() == b""  # no traceback
        deadline = time.monotonic() + 10
        while not all(_gone(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_gone(pid) for pid in workers), "a worker outlived its command"
    finally:
        process.kill()
        process.wait()


def test_a_signal_that_comes_just_before_the_pool_waits_is_not_lost():
    # The cause of a rare hang of `grad - --jobs 2` on SIGINT: the signal came
    # after the last bytecode that runs Python's handlers and before the
    # pool's poll blocked, so it interrupted nothing, and KeyboardInterrupt
    # waited for a line that never came. Made certain here: the signal goes to
    # another thread while this one is in the poll (that thread's C handler
    # flags it, as in the race); the pool's wakeup descriptor must end the poll.
    import threading

    stdin, feed = os.pipe()  # standard input that never has a line, unless rescued
    main, done, rescued = threading.main_thread().native_id, threading.Event(), threading.Event()

    def interrupt():
        _until_in_poll(main)
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)
        if not done.wait(20):  # the poll did not end: end it, so that the test fails instead of hanging
            rescued.set()
            os.write(feed, b"\n")

    helper = threading.Thread(target=interrupt)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    interrupted = False
    try:
        with parallel.OrderedPool(_slow_square, 2, lambda result: None, lambda item, error: error) as pool:
            helper.start()
            pool.wait_readable(stdin)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        done.set()
        if helper.ident is not None:
            helper.join()
        signal.signal(signal.SIGINT, previous)
        os.close(stdin)
        os.close(feed)
    assert (interrupted, rescued.is_set()) == (True, False)
    assert signal.set_wakeup_fd(-1) == -1  # the pool gave the wakeup descriptor back
    assert signal.pthread_sigmask(signal.SIG_BLOCK, ()) == mask  # and left no signal blocked


def _until_in_poll(thread: int) -> None:
    """Until the thread `thread` (a native id) sleeps in poll, where Linux
    says so; elsewhere a moment."""
    wchan = Path(f"/proc/self/task/{thread}/wchan")
    for _ in range(500):
        try:
            if "poll" in wchan.read_text():
                return
        except OSError:
            break
        time.sleep(0.01)
    time.sleep(0.2)


@pytest.mark.parametrize("json_flag", [["--json"], []], ids=["json", "tables"])
def test_a_closed_pipe_ends_quietly_with_exit_141(tmp_path, json_flag):
    source = tmp_path / "lines.txt"
    source.write_text("x^2\n" * 3000)
    with source.open("rb") as stdin:
        process = subprocess.Popen(AUTODIFF + ["grad", "-", "--at", "x=1", "-j", "2", *json_flag], stdin=stdin,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
        try:
            first = process.stdout.readline()
            workers = _children(process.pid)
            process.stdout.close()  # the reader leaves
            stderr = process.stderr.read()
            code = process.wait(timeout=120)
        finally:
            process.kill()
            process.wait()
    assert first.startswith(b'{"line": 1,' if json_flag else b"f(x) = x^2")
    assert (code, stderr) == (141, b"")
    assert all(_gone(pid) for pid in workers)


# --- a worker that dies ---------------------------------------------------------


@pytest.fixture
def deadly_grad(monkeypatch):
    """api.grad kills its own process for the expression `die` (a crash, the
    OOM killer): in a worker, only that worker dies."""
    from autodiff.commands import api

    real = api.grad

    def grad(text, **arguments):
        if text == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(text, **arguments)

    monkeypatch.setattr(api, "grad", grad)


def test_a_worker_that_dies_costs_only_its_line(deadly_grad):
    result = invoke("grad", "-", "--at", "x=3", "--json", "-j", "2", input="x^2\ndie\nx^3\ndie\nx+\nx\n")
    assert result.exit_code == 70
    answers = [strict_loads(line) for line in result.stdout.splitlines()]
    assert [a["line"] for a in answers] == [1, 2, 3, 4, 5, 6]
    assert answers[1] == {"line": 2, "error": {"type": "internal_error", "message":
                          "internal error: WorkerFailed: the worker process ended (killed by SIGKILL)"}}
    assert answers[3]["error"]["type"] == "internal_error"
    assert [answers[k]["gradient"]["x"]["autograd"] for k in (0, 2, 5)] == [6.0, 27.0, 1.0]
    assert answers[4]["error"]["type"] == "parse_error"


def test_a_worker_that_dies_in_human_mode_names_its_line(deadly_grad):
    result = invoke("grad", "-", "--at", "x=3", "-j", "2", input="x^2\ndie\nx^3\n")
    assert result.exit_code == 70
    assert result.stderr == ("line 2: error: internal error: WorkerFailed: the worker process ended "
                             "(killed by SIGKILL) (please report this)\n")
    assert result.stdout.count("f(x) = ") == 2 and result.stdout.count("\n\nf(x) = ") == 1


def test_a_check_worker_that_dies_is_an_error_case_and_the_run_goes_on(monkeypatch):
    from autodiff.commands import cases

    real = cases.run_case

    def run_case(case, options):
        if "mixed partial" in case.name:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(case, options)

    monkeypatch.setattr(cases, "run_case", run_case)
    result = invoke("check", str(CASES / "seeds.toml"), "--jobs", "2", "--json")
    data = strict_loads(result.stdout)
    errors = [case for case in data["cases"] if case["outcome"] == "error"]
    assert [case["name"] for case in errors] == ["mixed partial of u^3 + v^2 + 4uv"]
    assert data["errors"] == 1 and data["passed"] == len(data["cases"]) - 1
    assert result.exit_code == 70


# --- check --jobs ----------------------------------------------------------------


def test_check_with_jobs_prints_what_one_process_prints():
    files = [str(CASES / "seeds.toml"), str(CASES / "tutorial_mistakes.toml")]
    alone = same(["check", *files], b"", jobs=("2",))
    assert alone.returncode == 1 and alone.stdout.endswith(b"16 passed, 3 failed\n")


# --- the pool itself --------------------------------------------------------------


def _slow_square(n: int) -> int:
    time.sleep(0.002 * (n % 5))
    return n * n


def test_ordered_map_keeps_the_order_and_reports_lost_items():
    def work(n):
        if n == 7:
            os.kill(os.getpid(), signal.SIGKILL)
        if n == 11:
            raise RuntimeError("eleven")
        return _slow_square(n)

    got = list(parallel.ordered_map(work, range(40), 3, lambda item, error: ("lost", item, str(error)), window=5))
    expected = [n * n for n in range(40)]
    expected[7] = ("lost", 7, "the worker process ended (killed by SIGKILL)")
    expected[11] = ("lost", 11, "RuntimeError: eleven")
    assert got == expected


def test_workers_compute_with_torch_after_the_parent_started_its_thread_pool():
    # The parent uses torch's intra-op pool (OpenMP threads) before the fork; a
    # worker that used it too would wait forever on threads it does not have.
    import torch

    assert float(torch.ones(1_000_000, dtype=torch.float64).sum()) == 1e6  # large enough to go parallel

    def work(n):
        return float((torch.arange(1_000_000, dtype=torch.float64) * n).sum()), torch.get_num_threads()

    got = list(parallel.ordered_map(work, range(4), 2, lambda item, error: error))
    assert got == [(n * 499999500000.0, 1) for n in range(4)]


# --- inside a call answered by the resident server ---------------------------------


def test_jobs_in_a_call_that_the_resident_server_answers(tmp_path):
    import json

    run_dir = tmp_path / "run"
    run_dir.mkdir(mode=0o700)
    env = {**{k: v for k, v in ENV.items() if k != "CI"}, "AUTODIFF_SERVER": "on", "XDG_RUNTIME_DIR": str(run_dir)}
    assert run(["server", "start"], b"", env).returncode == 0
    try:
        text = lines("sin(x)", "x+", "cbrt(x^3)", "x^2 + 3*x")
        through = run(["grad", "-", "--at", "x=0", "-j", "2"], text, env)  # the server's child forks the workers
        alone = run(["grad", "-", "--at", "x=0"], text, {**env, "AUTODIFF_SERVER": "off"})
        assert (through.stdout, through.stderr, through.returncode) == (alone.stdout, alone.stderr, alone.returncode)
        status = json.loads(run(["server", "status", "--json"], b"", env).stdout)
        assert status["requests"] == 1  # the server did answer it
    finally:
        run(["server", "stop"], b"", env)
    deadline = time.monotonic() + 10
    while not _gone(status["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(status["pid"])
