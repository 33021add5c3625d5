"""`autodiff repl` (issue 18): through a real terminal (pexpect in a pty) for
what only a terminal shows (the prompt, Up, Tab, Ctrl-C, Ctrl-D, the history
file), and in process for the lines' meaning (definitions, the point, the
words a command line is given)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pexpect
import pytest

from autodiff.frontends import cli, forked, repl
from autodiff import deadline
from autodiff.frontends.repl import Session, completions

# A fresh prompt: prompt_toolkit turns bracketed paste on, then draws it (the
# space after it as a cursor move). A bare "autodiff>" also appears where it
# redraws the line just accepted.
PROMPT = r"\x1b\[\?2004h[^>]*autodiff>"
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
UP = "\x1b[A"
# Nested autograd's 12th derivative of this records some 8 million graph nodes
# (minutes of work; past the default graph-nodes limit, so raised), and each
# backward pass is one call into C++ of seconds: Python could not stop it.
LONG = "grad exp(sin(x)*cos(x^2))/(1+x^2) --order 12 --engine autograd --limit graph-nodes=1e9 --at x=1"


def spawn(tmp_path, *args: str, **env: str) -> pexpect.spawn:
    environment = {**os.environ, "NO_COLOR": "1", "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1",
                   "XDG_STATE_HOME": str(tmp_path / "state"), **env}
    environment.pop("COLUMNS", None)
    child = pexpect.spawn(sys.executable, ["-m", "autodiff", "repl", *args], env=environment, encoding="utf-8",
                          timeout=60, dimensions=(50, 120))
    child.delaybeforesend = None
    child.expect(PROMPT)
    return child


def ask(child: pexpect.spawn, line: str) -> str:
    """Send a line; what it printed up to the next prompt, without the line's echo."""
    child.sendline(line)
    child.expect(PROMPT)
    return ESCAPES.sub("", child.before).split("\n", 1)[-1]


def leave(child: pexpect.spawn, how: str = "quit") -> int:
    child.sendline(how) if how != "\x04" else child.send(how)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


# ------------------------------------------------------------- in a terminal


def test_done_means_the_point_a_definition_and_up(tmp_path):
    child = spawn(tmp_path)
    assert ask(child, "at x=3").strip() == ""  # setting the point prints nothing
    table = ask(child, "6x^2+2x+4")
    assert re.search(r"f\(x\) = 6\*x\^2 \+ 2\*x \+ 4\s+at x = 3\s+f = 64", table)
    assert re.search(r"∂f/∂x\s+38\s+12\*x \+ 2\s+38\s+38\s+38\s+✓", table)
    assert "✓ autograd and the exact value agree" in table
    ask(child, "f(t) = t^3")
    table = ask(child, "grad f(x)+x")
    assert re.search(r"f\(x\) = x\^3 \+ x", table)
    assert re.search(r"∂f/∂x\s+28\s+3\*x\^2 \+ 1\s+28\s+28\s+28\s+✓", table)
    child.send(UP)  # the last line comes back, to be run again
    child.expect_exact("grad f(x)+x")
    child.sendline("")
    child.expect(r"∂f/∂x\s+28")
    child.expect(PROMPT)
    assert leave(child, "\x04") == 0  # Ctrl-D


def test_ctrl_c_cancels_a_long_computation_and_the_session_goes_on(tmp_path):
    child = spawn(tmp_path)
    ask(child, "at x=2")  # waits for torch: the long line below starts at once
    child.sendline(LONG)
    child.expect_exact(LONG)
    time.sleep(3.0)  # deep in the backward passes
    sent = time.monotonic()
    child.sendintr()
    child.expect_exact("interrupted")
    child.expect(PROMPT)
    assert time.monotonic() - sent < 5
    # Still alive, with its point; the symbolic side (under its SIGALRM deadline) still answers.
    assert re.search(r"∂f/∂x\s+12\s+3\*x\^2\s+12", ask(child, "x^3"))
    # Ctrl-C at the prompt drops the line typed so far.
    child.send("9*x+")
    child.sendintr()
    child.expect(PROMPT)
    assert re.search(r"∂f/∂x\s+4\s+2\*x\s+4", ask(child, "x^2"))
    assert leave(child) == 0


def test_ctrl_c_right_after_enter_cancels_the_line_and_lines_typed_ahead_are_kept(tmp_path):
    """A Ctrl-C that comes before the terminal has left the prompt's mode
    is a key, not SIGINT: it still cancels the line. A paste of three lines
    gives three answers."""
    child = spawn(tmp_path)
    ask(child, "at x=2")
    child.send(LONG + "\r\x03")
    child.expect_exact("interrupted")
    child.expect(PROMPT)
    child.send("x^2 -q\rx^3 -q\rx^4 -q\r")
    printed = ""
    for _ in range(3):
        child.expect(PROMPT)
        printed += ESCAPES.sub("", child.before)
    assert [line.strip() for line in printed.split("\n") if line.strip().isdigit()] == ["4", "12", "32"]
    assert leave(child) == 0


def test_history_is_kept_across_sessions_in_the_state_directory(tmp_path):
    child = spawn(tmp_path)
    ask(child, "at x=5")
    ask(child, "names")
    assert leave(child) == 0
    history = tmp_path / "state" / "autodiff" / "history"
    assert "+at x=5" in history.read_text() and "+names" in history.read_text()
    child = spawn(tmp_path)
    for line in ("quit", "names", "at x=5"):  # the newest first
        child.send(UP)
        child.expect_exact(line)
    child.sendline("")
    child.expect(PROMPT)
    assert re.search(r"∂f/∂x\s+10", ask(child, "x^2"))  # the recalled line set the point
    assert leave(child) == 0


def test_no_history_writes_no_file(tmp_path):
    child = spawn(tmp_path, "--no-history")
    ask(child, "at x=5")
    assert leave(child) == 0
    assert not (tmp_path / "state").exists()


def test_an_unwritable_history_is_one_note_and_the_session_runs(tmp_path):
    (tmp_path / "state").write_text("a file where the directory would go")
    child = spawn(tmp_path)
    assert "note: history is kept for this session only" in child.before
    assert re.search(r"∂f/∂x\s+2", ask(child, "grad x^2 --at x=1"))
    assert leave(child) == 0


def test_tab_completes_the_sessions_own_names(tmp_path):
    child = spawn(tmp_path, "--at", "x=3")
    ask(child, "foo(t) = t^2 + 1")
    ask(child, "bar = 2")
    child.send("grad fo\t")
    child.expect_exact("foo(")
    child.send("x)*ba\t")
    child.expect_exact("bar")  # the terminal shows what changed: the line is `grad foo(x)*bar`
    table = ask(child, "")
    assert "f(x) = 2*x^2 + 2" in table  # foo(x)*bar, written out
    assert re.search(r"f = 20\s", table)  # (3^2 + 1) * 2
    assert re.search(r"∂f/∂x\s+12\s", table)
    assert leave(child) == 0


def test_errors_leave_the_session_running(tmp_path):
    child = spawn(tmp_path, "--at", "x=3")
    assert "error: unexpected end of input" in ask(child, "x+")
    assert "error: sin is a built-in function" in ask(child, "sin = 3")
    assert "error: f is defined in terms of itself" in ask(child, "f(t) = f(t) + 1")
    assert "error: --order must be at least 1" in ask(child, "grad x --order 0")
    assert "error: no definition named g" in ask(child, "del g")
    assert "error" in ask(child, "check /nonexistent/cases.toml")
    assert "error: this is a session already" in ask(child, "repl")
    assert "error: cannot read the line" in ask(child, 'grad "x')
    assert "Traceback" not in child.before
    assert re.search(r"∂f/∂x\s+6", ask(child, "x^2"))
    assert leave(child) == 0


# ------------------------------------------------------------ not a terminal


def run_script(text: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autodiff", "repl", *args], input=text, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"})


def test_standard_input_that_is_no_terminal_runs_as_a_script():
    done = run_script("at x=3\n6x^2+2x+4\nf(t) = t^3\n\n# a comment\ngrad f(x)+x -q\njson on\nx^2\n")
    assert done.returncode == 0, done.stderr
    assert "autodiff>" not in done.stdout  # no prompt
    lines = done.stdout.splitlines()
    assert re.search(r"∂f/∂x\s+38\s", done.stdout)
    assert "28" in lines  # -q: the number alone
    assert json.loads(lines[-1])["gradient"]["x"]["autograd"] == 6.0


@pytest.mark.parametrize(("text", "code"), [
    ("x^2 --at x=1 --order 2\n", 0),  # a bare expression takes grad's options too
    ("grad x^2 --at x=1 --expect 3\nx^2\n", 1),  # a failed --expect
    ("x+\ngrad x^2 --at x=1 --expect 3\nat x=1\nx^2\n", 2),  # bad input outranks a failed check
    ("quit\nx+\n", 0),  # quit ends the script
])
def test_a_scripts_exit_status_is_the_most_severe_of_its_lines(text, code):
    assert run_script(text).returncode == code


def test_a_bad_option_of_repl_is_an_error_before_the_session():
    done = run_script("x^2\n", "--define", "sin(t) = t")
    assert done.returncode == 2
    assert done.stderr.startswith("error: sin is a built-in function") and done.stdout == ""


def test_a_short_option_after_a_bare_expression_is_grads_option():
    done = run_script("at x=3\n6x^2+2x+4 -q\nx^2 -q\nx^3 -n 2 -q\nx^2 -q -a x=1\nx^2 -q -e 6\nx - 1 -q\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["38", "6", "18", "2", "6", "1"]


def test_an_unknown_long_option_is_one_line_and_the_session_goes_on():
    done = run_script("grad x --bogus\nx^2 --bogus=2\nat x=3\nx^2 -q\n")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [  # a script's errors name their lines, as a stream's do
        f"line {number}: error: no such option --bogus: help grad lists grad's options" for number in (1, 2)
    ]
    assert done.stdout.splitlines() == ["6"]


def test_verify_checks_its_range_and_minimize_starts_from_the_current_point():
    done = run_script("at x=3\njson on\nverify x^2 --derivative 2x\nverify x^2 -d 2x --at x=1\n"
                      "minimize x^2 --lr 0.5\nminimize x^2 --lr 0.5 --from x=1\ntaylor x^2 --order 1\n")
    assert done.returncode == 0, done.stderr
    ranged, pointed, started, given, taylor = map(json.loads, done.stdout.splitlines())
    assert ranged["points"] == ranged["compared"] == 401 and ranged["right"]
    assert pointed["compared"] == 1 and pointed["at"] == {"x": 1.0}  # a line's own --at still counts
    assert started["from"] == {"x": 3.0} and given["from"] == {"x": 1.0}
    assert taylor["at"] == {"x": 3.0}  # taylor still gets the point


# ----------------------------------------------------------------- in process


@pytest.fixture
def session():
    return Session(cli.command())


def test_a_definition_is_a_name_left_of_a_single_equals(session, capsys):
    for text in ["f(t) = t^3", "a = 2.5", "g(u, v)=u*v", "k=1"]:
        assert repl._is_definition(text)
    for text in ["x == 2", "x <= 2", "x >= 2", "x != 2", "x^2 --at x=3", "2x = 3", "x^2"]:
        assert not repl._is_definition(text)


def test_definitions_are_checked_as_a_set_and_given_to_every_command(session, capsys):
    assert session.run("g(t) = f(t) + a") == 2  # f and a are not defined yet
    assert "error:" in capsys.readouterr().err
    assert session.run("f(t) = t^3") == 0 and session.run("a = 2") == 0
    assert session.run("g(t) = f(t) + a") == 0
    assert session.run("f(t) = g(t)") == 2
    assert "circular definitions: f → g → f" in capsys.readouterr().err
    assert session.definitions["f"] == "f(t) = t^3"  # the refused one changed nothing
    assert session._with_session(["hessian", "g(x)"]) == [
        "hessian", "--define", "f(t) = t^3", "--define", "a = 2", "--define", "g(t) = f(t) + a", "g(x)"]
    assert session.run("f(t) = t^2") == 0  # a redefinition replaces it, in its place
    assert list(session.definitions) == ["f", "a", "g"] and session.definitions["f"] == "f(t) = t^2"
    assert session.run("at x=3") == session.run("json on") == 0
    assert session.run("g(x)") == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["value"] == 11.0 and answer["gradient"]["x"]["autograd"] == 6.0


def test_del_refuses_a_name_another_definition_uses(session, capsys):
    session.run("f(t) = t^3")
    session.run("g(t) = f(t) + 1")
    assert session.run("del f") == 2
    assert "g(t) uses f: del g first, or both at once (del f g)" in capsys.readouterr().err
    assert session.run("del f g") == 0 and session.definitions == {}
    assert session.run("names") == 0
    assert "no names defined" in capsys.readouterr().out


def test_names_lists_the_definitions_and_the_point(session, capsys):
    session.run("a = 2.5")
    session.run("f(t) = t^2 + a")
    session.run("at x=a, y=1")  # a point may use the session's constants
    session.run("names")
    assert capsys.readouterr().out == "a = 2.5\nf(t) = t^2 + a\nat x=a, y=1\n"
    assert session.run("at x=") == 2 and session.point == ["x=a, y=1"]  # a bad point changes nothing
    assert session.run("at none") == 0 and session.point == []


def test_a_command_line_gets_the_session_where_it_gives_nothing(session):
    session.run("at x=3")
    session.run("notation latex")
    assert session._command_words("grad 6x^2 + 2x + 4 --order 2") == [
        "grad", "--at", "x=3", "--notation", "latex", "--order", "2", "6x^2 + 2x + 4"]
    assert session._command_words("grad x - 1 -a x=1") == ["grad", "--notation", "latex", "-a", "x=1", "x - 1"]
    assert session._command_words("jacobian [x*y, x+y] --wrt x") == [
        "jacobian", "--at", "x=3", "--notation", "latex", "--wrt", "x", "[x*y, x+y]"]
    assert session._command_words("graph x^2 --format=dot") == ["graph", "--at", "x=3", "--format=dot", "x^2"]
    assert session._command_words("check a.toml b.toml") == ["check", "a.toml", "b.toml"]
    assert session._command_words("grad x - 1 -q -n 2") == ["grad", "--at", "x=3", "--notation", "latex", "-q", "-n", "2", "x - 1"]
    assert session._command_words("verify x^2 -d 2x") == ["verify", "--notation", "latex", "-d", "2x", "x^2"]
    assert session._command_words("minimize x^2") == ["minimize", "--from", "x=3", "--notation", "latex", "x^2"]
    with pytest.raises(Exception, match="no such option --bogus"):
        session._command_words("grad x --bogus")
    with pytest.raises(Exception, match="reads nothing from standard input"):
        session._command_words("grad - --at x=1")


def test_completion_offers_commands_functions_and_the_sessions_names(session):
    session.run("foo(t) = t^2")
    session.run("fob = 2")
    words = lambda text: [word for word, _ in completions(session, text)]  # noqa: E731
    assert words("gr") == ["grad", "graph"]
    assert words("fo") == ["fob", "foo("]
    assert words("grad sin(x)+fo") == ["fob", "foo("]
    assert "cos(" in words("sin(x)+co")  # a bare expression
    assert "floor(" in words("grad fl")
    assert words("grad x --ord") == ["--order"]
    assert words("notation l") == ["latex"]
    assert words("del f") == ["fob", "foo"]
    assert words("help he") == ["help", "hessian"]


def test_help_shows_the_commands_and_a_commands_options(session, capsys):
    assert session.run("help") == 0
    out = capsys.readouterr().out
    assert "grad" in out and "hessian" in out and "at x=3, y=2" in out and "repl " not in out
    assert session.run("help grad") == 0
    assert "--order" in capsys.readouterr().out
    assert session.run("help nosuch") == 2


def test_the_history_file_is_in_the_xdg_state_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert repl.history_path() == tmp_path / "autodiff" / "history"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert repl.history_path() == tmp_path / ".local" / "state" / "autodiff" / "history"


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="SIGALRM deadlines need setitimer")
def test_ctrl_c_inside_the_symbolic_deadline_leaves_no_alarm_behind():
    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        deadline.with_deadline(interrupted, 5.0)
    repl._disarm_alarm()
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is repl._ALARM_HANDLER

    def forever():
        while True:
            pass

    with pytest.raises(deadline.SymbolicTimeout):  # the deadline still works afterwards
        deadline.with_deadline(forever, 0.05)


def test_a_bug_is_one_line_and_the_session_goes_on(session, monkeypatch, capsys):
    from autodiff.commands import api

    real = api.grad
    monkeypatch.setattr(api, "grad", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    assert session.run("x^2 --at x=1") == 70
    assert capsys.readouterr().err == "error: internal error: RuntimeError: boom (please report this)\n"
    monkeypatch.setattr(session, "_names", lambda rest: (_ for _ in ()).throw(deadline.SymbolicTimeout()))
    assert session.run("names") == 70  # even a deadline that got away from its command
    monkeypatch.setattr(api, "grad", real)
    assert session.run("x^2 --at x=1 -q") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2"


def test_a_mistyped_command_is_named_not_multiplied(session, capsys):
    assert session.run("hesian x^2*y") == 2
    assert capsys.readouterr().err.strip() == "error: no such command 'hesian'; did you mean hessian?"
    assert session.run("f(t) = t^2") == 0
    assert session.run("f x") == 2 and "did you mean" not in capsys.readouterr().err  # a name of the session
    assert session.run("at x=2") == 0 and session.run("x^2") == 0  # an expression is still one


def test_at_merges_into_the_point_and_a_command_gets_only_its_variables(session, capsys):
    assert session.run("at x=1, y=2") == 0 and session.run("at y=5") == 0
    assert session.point == ["x=1, y=5"]
    assert session._with_session(["hessian", "x^2"]) == ["hessian", "--at", "x=1", "x^2"]
    assert session._with_session(["grad", "x*y"]) == ["grad", "--at", "x=1, y=5", "x*y"]
    assert session._with_session(["minimize", "(x-3)^2"])[1:3] == ["--from", "x=1"]
    assert session.run("at 3") == 0 and session.point == ["3"]  # a bare value replaces the point
    assert session._with_session(["grad", "x^2"]) == ["grad", "--at", "3", "x^2"]


def test_a_scripts_errors_and_warnings_name_their_lines():
    done = run_script("x^2 --at x=1\nx+\nlog(x) --at x=-1\n")
    assert done.returncode == 2
    errors = done.stderr.splitlines()
    assert errors[0] == "line 2: error: unexpected end of input; expected a number, a name or '(' at column 3"
    assert errors[-1].startswith("line 3: warning: log(x) is nan at x=-1")


# ------------------------------------------------ the forked children (Ctrl-C)


def _interrupt_when_ready(ready: int, pids: list) -> threading.Thread:
    """Ctrl-C to this process once the child says (its pid, on `ready`) it is stuck."""

    def send() -> None:
        pids.append(int(os.read(ready, 16)))
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_ctrl_c_kills_a_child_that_no_signal_reaches():
    """A line inside one long call into C never sees KeyboardInterrupt (the
    child here holds SIGINT back, as such a call would for its whole length,
    and never ends): Ctrl-C still gives 130 back, the child killed."""
    ready_read, ready_write = os.pipe()

    def stuck(request) -> int:
        signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGINT,))
        os.write(ready_write, str(os.getpid()).encode())
        while True:
            time.sleep(1)

    children, pids = forked.Children(stuck, lambda: None), []
    _interrupt_when_ready(ready_read, pids)
    try:
        assert children.run({"line": 1}) == 130
        assert children.zygote is not None  # forked by the zygote, which says how it ended
        assert os.WTERMSIG(children.zygote.status(pids[0])) == signal.SIGKILL
    finally:
        children.close()


def test_a_child_in_python_code_stops_by_itself_on_ctrl_c():
    ready_read, ready_write = os.pipe()

    def busy(request) -> int:
        os.write(ready_write, str(os.getpid()).encode())
        while True:
            sum(range(1000))

    children, pids = forked.Children(busy, lambda: None), []
    _interrupt_when_ready(ready_read, pids)
    try:
        assert children.run({}) == 130
        status = children.zygote.status(pids[0])
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 130  # within the grace: no SIGKILL
    finally:
        children.close()


def test_a_child_answers_with_its_exit_code_output_and_the_machines_threads(capfd):
    import torch

    threads = torch.get_num_threads()

    def serve(request) -> int:
        print(f"{request['text']} with {torch.get_num_threads()} threads")
        return request["code"]

    children = forked.Children(serve, lambda: None)
    try:
        children.keep_the_pool_for_children()
        assert torch.get_num_threads() == 1  # no OpenMP pool starts in the parent
        assert children.run({"text": "first", "code": 0}) == 0
        assert children.run({"text": "second", "code": 2}) == 2  # answered by the spare forked ahead
    finally:
        children.close()
        torch.set_num_threads(threads)
    assert capfd.readouterr().out.splitlines() == [f"first with {threads} threads", f"second with {threads} threads"]


def test_a_killed_child_is_one_line_and_70(capfd):
    """A child that ends without its code (the kernel's OOM killer, a crash)."""
    children = forked.Children(lambda request: os.kill(os.getpid(), signal.SIGKILL), lambda: None)
    try:
        assert children.run({}) == 70
        assert children.run({}) == 70  # the next line's child, forked while the first answer was read
    finally:
        children.close()
    assert capfd.readouterr().err.count("error: internal error: the computation was killed by SIGKILL (out of memory, or a crash; please report a crash)") == 2


def test_without_its_zygote_the_session_forks_its_children_itself(capfd):
    children = forked.Children(lambda request: print(request["text"]) or 0, lambda: None)
    try:
        assert children.run({"text": "from the zygote"}) == 0
        zygote = children.zygote.pid
        os.kill(zygote, signal.SIGKILL)  # and with it the spare it forked (PR_SET_PDEATHSIG)
        assert children.run({"text": "still answered"}) == 0
        assert children.zygote is None
        assert children.run({"text": "and again"}) == 0
    finally:
        children.close()
    assert capfd.readouterr().out.splitlines() == ["from the zygote", "still answered", "and again"]
