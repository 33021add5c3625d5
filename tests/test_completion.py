"""Shell completion: the committed scripts are what the CLI generates, and
the protocol they speak answers commands, options, choices and function
names, without loading torch or SymPy."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autodiff.frontends.completion import SCRIPT_FILES, Shell, expression_completions
from helpers import invoke

ROOT = Path(__file__).parent.parent
COMPLETIONS = ROOT / "completions"


@pytest.mark.parametrize("shell", list(Shell), ids=lambda s: s.value)
def test_committed_scripts_are_what_the_cli_generates(shell):
    result = invoke("completion", shell.value)
    assert result.exit_code == 0, result.stdout
    committed = (COMPLETIONS / SCRIPT_FILES[shell]).read_text()
    assert result.stdout == committed, (
        f"completions/{SCRIPT_FILES[shell]} is stale: regenerate it with "
        f"`autodiff completion {shell.value} > completions/{SCRIPT_FILES[shell]}`"
    )
    assert "_AUTODIFF_COMPLETE" in committed and "autodiff" in committed


def test_an_unknown_shell_is_a_usage_error():
    result = invoke("completion", "tcsh")
    assert result.exit_code == 2
    assert "tcsh" in result.stdout + result.stderr


def complete(shell: str, words: str, cword: int | None = None) -> tuple[str, str]:
    """Ask the CLI for completions as the shell's script does; (stdout, heavy modules loaded)."""
    env = {**os.environ, "_AUTODIFF_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        env.update(COMP_WORDS=words, COMP_CWORD=str(cword))
    else:
        env["_TYPER_COMPLETE_ARGS"] = words
        if shell == "fish":
            env["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    probe = (
        "import sys\nfrom autodiff.frontends.cli import main\n"
        "try:\n    main([])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sympy', 'mpmath'))\n"
        "sys.stderr.write('HEAVY ' + ','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    return done.stdout, done.stderr.rsplit("HEAVY ", 1)[-1]


def test_bash_completes_commands():
    out, heavy = complete("bash", "autodiff h", 1)
    assert out.split() == ["hessian"]
    assert heavy == ""


def test_bash_completes_options_and_dtype_values():
    out, _ = complete("bash", "autodiff grad x --dt", 3)
    assert out.split() == ["--dtype"]
    out, _ = complete("bash", "autodiff grad x --dtype ", 4)
    assert out.split() == ["float64", "float32"]


def test_bash_completes_function_names_inside_a_quoted_expression():
    out, heavy = complete("bash", 'autodiff grad "sin(x)+co', 2)
    assert out.split() == ["sin(x)+cos(", "sin(x)+cosh(", "sin(x)+cot(", "sin(x)+coth("]
    assert heavy == ""


def test_zsh_completes_graph_formats():
    out, heavy = complete("zsh", "autodiff graph x --format ")
    assert '"tree"' in out and '"dot"' in out and '"json"' in out
    assert heavy == ""


def test_fish_completes_function_names_with_their_description():
    out, _ = complete("fish", "autodiff hessian 'x*sigm")
    assert out.splitlines() == ["x*sigmoid(\tlogistic 1/(1+e^-x)"] or out.startswith("x*sigmoid(\t")


def test_powershell_completes_commands():
    env_words = "autodiff ja"
    env = {**os.environ, "_AUTODIFF_COMPLETE": "complete_powershell", "_TYPER_COMPLETE_ARGS": env_words,
           "_TYPER_COMPLETE_WORD_TO_COMPLETE": "ja"}
    done = subprocess.run([sys.executable, "-m", "autodiff"], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.split(":::")[0] == "jacobian"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("", None),  # every function and constant
        ("si", ["sigmoid(", "sign(", "sin(", "sinc(", "sinh("]),
        ("x+arc", ["x+arccos(", "x+arccosh(", "x+arcsin(", "x+arcsinh(", "x+arctan(", "x+arctanh("]),
        ("ro", ["root("]),
        ("sg", ["sgn("]),
        ("exp", ["exp(", "exp2(", "expm1("]),
        ("2*x+exp(x)*lo", ["2*x+exp(x)*log(", "2*x+exp(x)*log10(", "2*x+exp(x)*log1p(", "2*x+exp(x)*log2("]),
        ("x*p", ["x*pi", "x*pow("]),
        ("x+3", []),  # after a number, no name can follow
        ("sin(x)", []),
        ("zzz", []),
    ],
)
def test_expression_completions(typed, expected):
    found = [value for value, _ in expression_completions(typed)]
    if expected is None:
        assert "sin(" in found and "pi" in found and len(found) > 30
    else:
        assert found == expected


def test_every_function_of_the_table_completes_with_its_summary():
    from autodiff.language.functions import FUNCTIONS

    offered = dict(expression_completions(""))
    for spec in FUNCTIONS:  # the aliases too (arcsin, sgn): "inverse sine (same as asin)"
        assert offered.get(spec.name + "(") == spec.summary, spec.name


def test_bash_completes_a_new_function_inside_an_expression():
    out, heavy = complete("bash", 'autodiff grad "x*sec', 2)
    assert out.split() == ["x*sec(", "x*sech("]
    assert heavy == ""


@pytest.mark.skipif(shutil.which("bash") is None or sys.platform == "win32", reason="needs bash and a pty")
def test_a_real_bash_completes_a_command_name(tmp_path):
    """Source the committed script in an interactive bash and press TAB."""
    import pty

    script = COMPLETIONS / SCRIPT_FILES[Shell.bash]
    bin_dir = str(Path(sys.executable).parent)
    if not (Path(bin_dir) / "autodiff").exists():
        pytest.skip("the autodiff console script is not installed next to this Python")
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.environ.update(PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), PS1="$ ", HOME=str(tmp_path))
        os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
    output = b""

    def read(seconds: float, until: bytes = b"") -> None:
        nonlocal output
        deadline = time.time() + seconds
        while time.time() < deadline and not (until and until in output):
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    output += os.read(fd, 4096)
                except OSError:
                    return

    try:
        os.write(fd, f"source {script}\n".encode())
        read(5, b"$ ")
        os.write(fd, b"autodiff hes\t")
        read(30, b"autodiff hessian ")
        assert b"autodiff hessian " in output, output.decode(errors="replace")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
