"""The benchmarks of design §8, one function per `--only` name.

Every figure is a ratio against a baseline measured in the same run, on the
same machine, so that a slow or busy machine moves both sides:

  oneshot  `autodiff grad` as a whole process vs `python -c "import torch, sympy"`
  help     `autodiff --help` vs `python -c "import typer"`
  version  `autodiff --version` vs the same
  stream   expressions a second through `autodiff grad -` (import subtracted)
           vs a naive one-process loop (naive_stream.py)
  grid     api.grad on 10^7 grid points vs eager torch by hand: time and
           peak memory of the work (grid_worker.py)
  hessian  api.hessian of a 60-variable function vs torch.func.hessian
           (hessian_worker.py)
  exact    the exact witness: its cost per call (exact_worker.py), the
           import of python-flint, the streaming rate vs --no-exact
  memory   each command's whole-process peak RSS vs the import floor's
  repl     `autodiff repl`'s first prompt and per-answer latency through a
           pty (pexpect), beside qalc's interactive mode
  server   a one-shot `grad` answered by a warm resident server, beside
           qalc's one-shot `diff` and beside the call in its own process
  fresh, jobs, stages  the scalar path on families nothing was tuned on,
           its --jobs 2 scaling and its stages (scalar_figures.py)
  taylor   autodiff.taylor at order 20 vs order 2, and beside Maxima's
           taylor on the same expressions (taylor_figures.py)

Each function takes the Settings and returns table Rows; a measurement that
cannot be trusted raises measure.BenchmarkError.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional

import scalar_figures
import taylor_figures
import workloads
from measure import (
    MIB,
    KIB,
    BenchmarkError,
    Comparison,
    cli_command,
    compare_processes,
    median,
    pairwise_ratios,
    run_process,
    shown,
)
from report import Row, Target, error_row

HERE = Path(__file__).resolve().parent
IMPORT_FLOOR = [sys.executable, "-c", "import torch, sympy"]
TYPER_FLOOR = [sys.executable, "-c", "import typer"]


@dataclass(frozen=True)
class Settings:
    """Sizes and repetitions; `quick()` for the smoke test."""

    oneshot_pairs: int = 7
    startup_pairs: int = 15
    stream_count: int = 1000
    stream_runs: int = 3
    grid_points: int = 10**7
    grid_runs: int = 3
    grid_default_runs: int = 1  # the informational symbolic-on run
    grid_budget_s: float = 40.0  # stop a side's timed runs after this long (at least one run)
    hessian_variables: int = 60
    hessian_runs: int = 7
    exact_runs: int = 50
    memory_runs: int = 1
    check_cases: tuple[int, int] = (1_000, 100_000)
    gpu_grid_points: int = 10**8
    repl_answers: int = 50
    timeout_s: float = 300.0  # any one process

    @classmethod
    def quick(cls) -> "Settings":
        return cls(
            oneshot_pairs=1, startup_pairs=2, stream_count=200, stream_runs=1, grid_points=10**5, grid_runs=2,
            hessian_variables=6, hessian_runs=2, exact_runs=3, memory_runs=1, check_cases=(50, 500), gpu_grid_points=10**6, repl_answers=5, timeout_s=120.0,
        )

    def with_runs(self, runs: int) -> "Settings":
        """Every repetition count set to `runs` (--runs)."""
        return replace(
            self, oneshot_pairs=runs, startup_pairs=runs, stream_runs=runs, grid_runs=runs,
            grid_default_runs=runs, hessian_runs=runs, exact_runs=runs, memory_runs=runs,
        )


# ------------------------------------------------------------------ helpers


def _timed_command(command: list[str], settings: Settings, **kwargs) -> Callable:
    return lambda: run_process(command, timeout=settings.timeout_s, **kwargs)


def _time_row(name: str, label: str, comparison: Comparison, target: Optional[Target]) -> Row:
    """A row from interleaved whole-process runs: medians of each side, and the
    median of the pairwise ratios (ours / baseline)."""
    ratios = pairwise_ratios(comparison.a_times, comparison.b_times)
    return Row(
        name, label, "s",
        ours=median(comparison.a_times),
        baseline=median(comparison.b_times),
        ratio=comparison.ratio,
        target=target,
        notes=[_spread(ratios, "interleaved pairs")],
        samples=comparison.samples(),
    )


def _spread(ratios: list[float], what: str) -> str:
    return f"ratio = median over {len(ratios)} {what}; range {min(ratios):.2f} to {max(ratios):.2f}"


def run_worker(script: str, args: list[str], settings: Settings) -> dict:
    """Run a worker script with this interpreter; its last stdout line is its JSON."""
    with tempfile.TemporaryDirectory(prefix="autodiff-bench-") as folder:
        stdout = Path(folder) / "stdout"
        run_process([sys.executable, str(HERE / script), *args], stdout_path=stdout, timeout=settings.timeout_s)
        lines = stdout.read_text().splitlines()
    if not lines:
        raise BenchmarkError(f"{script} printed nothing")
    return json.loads(lines[-1])


def _json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _close(a: float, b: float, rtol: float = 1e-9) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + 1e-12


# ------------------------------------------------------------------ startup


def oneshot(settings: Settings) -> list[Row]:
    """One `grad` as a user runs it, against the cost of importing its two
    heavy dependencies: what the tool adds on top of the floor."""
    command = cli_command() + ["grad", "6*x^2+2*x+4", "--at", "x=3"]
    comparison = compare_processes(
        _timed_command(command, settings), _timed_command(IMPORT_FLOOR, settings), settings.oneshot_pairs
    )
    return [_time_row("oneshot", "oneshot: grad vs import torch, sympy", comparison, Target("<=", 1.10))]


def _startup(name: str, option: str, settings: Settings) -> list[Row]:
    """`--help`/`--version` must not import torch or SymPy: the floor is typer's import."""
    comparison = compare_processes(
        _timed_command(cli_command() + [option], settings),
        _timed_command(TYPER_FLOOR, settings),
        settings.startup_pairs,
    )
    return [_time_row(name, f"{name}: {option} vs import typer", comparison, Target("<=", 1.2))]


def help_(settings: Settings) -> list[Row]:
    return _startup("help", "--help", settings)


def version(settings: Settings) -> list[Row]:
    return _startup("version", "--version", settings)


# ------------------------------------------------------------------- stream


def stream(settings: Settings) -> list[Row]:
    """Expressions a second through `autodiff grad - --json`, one process.

    rate = N / (T(N+1 lines) - T(1 line)): both runs pay the same import and
    the same first line, so the difference is the N expressions alone. The
    baseline is the naive loop's own timing of the same N expressions. Both
    sides' derivatives are compared line by line, so that the rates are of
    the same work.
    """
    count = settings.stream_count
    rate, t_many, t_one, comparison, ours_lines = _stream_rate(settings)
    with tempfile.TemporaryDirectory(prefix="autodiff-bench-") as folder:
        folder = Path(folder)
        run_process(
            [sys.executable, str(HERE / "naive_stream.py"), "--count", str(count)],
            stdout_path=folder / "naive.jsonl",
            timeout=settings.timeout_s,
        )
        naive_lines = _json_lines(folder / "naive.jsonl")

    _same_stream_answers(ours_lines, naive_lines[:-1], count + 1)
    naive = naive_lines[-1]["summary"]
    samples = {
        "expressions": count, "t_all_lines_s": comparison.a_times, "t_1_line_s": comparison.b_times, "naive": naive,
    }
    label = f"stream: {count} expressions/s vs naive loop"
    return [
        Row(
            "stream", label, "/s",
            ours=rate,
            baseline=naive["rate"],
            ratio=rate / naive["rate"],
            target=Target(">=", 2000, on="ours"),
            notes=[
                f"ours = {count} / (T({count + 1} lines) {t_many:.2f} s - T(1 line) {t_one:.2f} s), "
                f"medians of {settings.stream_runs}; ratio = ours / naive (higher is better)"
            ],
            samples=samples,
        )
    ]


def _stream_rate(settings: Settings, options: tuple[str, ...] = ()):
    """Expressions a second through `autodiff grad - --json OPTIONS`: (rate,
    T(N+1 lines), T(1 line), the comparison, the answers of the N+1 lines)."""
    count = settings.stream_count
    command = cli_command() + ["grad", "-", "--at", f"x={workloads.STREAM_POINT}", "--json", *options]
    with tempfile.TemporaryDirectory(prefix="autodiff-bench-") as folder:
        folder = Path(folder)
        lines = workloads.stream_lines(workloads.stream_expressions(count))
        (folder / "all.txt").write_text("\n".join(lines) + "\n")
        (folder / "first.txt").write_text(lines[0] + "\n")
        many = _timed_command(command, settings, stdin_path=folder / "all.txt", stdout_path=folder / "ours.jsonl")
        one = _timed_command(command, settings, stdin_path=folder / "first.txt")
        one()  # one unmeasured run warms the caches for both
        comparison = compare_processes(many, one, settings.stream_runs, warmup=False)
        answers = _json_lines(folder / "ours.jsonl")
    t_many, t_one = median(comparison.a_times), median(comparison.b_times)
    if t_many <= t_one:
        raise BenchmarkError(
            f"{count + 1} lines took no longer than 1 ({t_many:.3f} s vs {t_one:.3f} s): "
            "too few expressions to measure a rate"
        )
    return count / (t_many - t_one), t_many, t_one, comparison, answers


def _same_stream_answers(ours: list[dict], naive: list[dict], lines: int) -> None:
    """Every line answered, without error, with the naive loop's derivative."""
    if len(ours) != lines or len(naive) != lines:
        raise BenchmarkError(f"expected {lines} answers; autodiff gave {len(ours)}, the naive loop {len(naive)}")
    for mine, theirs in zip(ours, naive):
        if "error" in mine:
            raise BenchmarkError(f"autodiff failed on line {mine.get('line')}: {mine['error']}")
        autograd = mine["gradient"]["x"]["autograd"]
        if not (isinstance(autograd, float) and _close(autograd, theirs["autograd"])):
            raise BenchmarkError(
                f"line {theirs['line']} ({theirs['expression']}): autodiff gives {autograd}, "
                f"the naive loop {theirs['autograd']}: not the same work"
            )


# -------------------------------------------------------------------- peers


# Each peer, as it is run on the stream's expressions in one batch: its
# command, and the batch file's line for an expression (the derivative by
# x at the stream's point, as a float). Maxima prints each result, qalc one
# per line.
PEERS = {
    "maxima": (["maxima", "--very-quiet", "-b"], "float(subst({x}, x, diff({e}, x)));"),
    "qalc": (["qalc", "-t", "-nocurrencies", "-f"], "diff({e}, x, 1, {x})"),
}


def peers(settings: Settings) -> list[Row]:
    """Maxima's and qalc's rates on the stream's expressions, beside ours
    (expressions a second after start-up: N / (T(N+1) - T(1)), as for
    stream). A peer that is not installed is a row that says so."""
    count = settings.stream_count
    ours, *_ = _stream_rate(settings)
    rows = []
    lines = workloads.stream_lines(workloads.stream_expressions(count))
    for name, (command, template) in PEERS.items():
        if shutil.which(command[0]) is None:
            rows.append(Row("peers", f"peers: {name}: skipped", "/s",
                            notes=[f"{command[0]} is not installed (apt-get install {command[0]})"]))
            continue
        with tempfile.TemporaryDirectory(prefix="autodiff-bench-") as folder:
            folder = Path(folder)
            batch = [template.format(e=line, x=workloads.STREAM_POINT) for line in lines]
            (folder / "all.txt").write_text("\n".join(batch) + "\n")
            (folder / "first.txt").write_text(batch[0] + "\n")
            many = _timed_command(command + [str(folder / "all.txt")], settings, stdout_path=folder / "out.txt")
            one = _timed_command(command + [str(folder / "first.txt")], settings)
            one()
            comparison = compare_processes(many, one, settings.stream_runs, warmup=False)
            answered = _peer_answers(name, (folder / "out.txt").read_text())
        rate = count / max(median(comparison.a_times) - median(comparison.b_times), 1e-9)
        rows.append(Row(
            "peers", f"peers: {name} {count} expressions/s vs ours", "/s", ours=rate, baseline=ours, ratio=rate / ours,
            notes=[f"{name}: {answered} of {count + 1} lines answered with a number; rate as for stream, "
                   f"medians of {settings.stream_runs}; wall-clock time"],
            samples={"t_all_lines_s": comparison.a_times, "t_1_line_s": comparison.b_times},
        ))
    return rows


def _peer_answers(name: str, output: str) -> int:
    """How many numbers the peer printed (one per expression it answered)."""
    # Maxima writes "- 4.09" for a negative number, qalc "−4.09" (U+2212).
    numbers = re.findall(r"^\s*(?:[-−]\s?)?[0-9.]+(?:[eE][-+]?[0-9]+)?\s*$", output, re.M)
    return len(numbers)


# --------------------------------------------------------------------- repl


# The pause before each line typed at a prompt: a person reads an answer and
# types the next line in longer (a REPL may use the time: ours warms the
# process that answers the next line).
REPL_PAUSE_S = 0.5


def repl(settings: Settings) -> list[Row]:
    """`autodiff repl` through a pty (pexpect): seconds to the first prompt,
    and each answer's latency (the line sent to the next prompt, after one
    line that waits for torch), beside qalc's interactive mode answering the
    same derivatives (a row saying so when qalc is not installed)."""
    try:
        import pexpect
    except ImportError:
        return [Row("repl", "repl: skipped", "s", notes=["pexpect is not installed (pip install pexpect)"])]
    count = settings.repl_answers
    # The derivative of k*x^2 + 2*x + 4 at x = 3 is 6k + 2: each answer is checked.
    ours = _pty_answers(
        pexpect, [*cli_command(), "repl", "--no-history"], "autodiff>", ["at x=3"],
        [f"{k}*x^2 + 2*x + 4" for k in range(2, count + 3)], r"∂f/∂x\s+(\S+)", settings,
    )
    qalc = None
    if shutil.which("qalc") is not None:
        qalc = _pty_answers(
            pexpect, ["qalc", "-nocurrencies"], "> ", [],
            [f"diff({k}*x^2 + 2*x + 4, x, 1, 3)" for k in range(2, count + 3)], r"=\s*(\S+)\r", settings,
        )
    peer = [] if qalc else ["qalc is not installed (apt-get install qalc): no peer measured"]
    first = Row(
        "repl", "repl: first prompt" + (" vs qalc" if qalc else ""), "s", ours=ours["first_prompt_s"],
        baseline=qalc and qalc["first_prompt_s"], ratio=qalc and ours["first_prompt_s"] / qalc["first_prompt_s"],
        notes=[*peer, "torch and SymPy load behind our prompt; the first line waits for them "
               f"({ours['first_answer_s']:.2f} s to its answer)"],
        samples={"ours_s": ours["first_prompt_s"], "ours_first_answer_s": ours["first_answer_s"],
                 **({"qalc_s": qalc["first_prompt_s"]} if qalc else {})},
    )
    mine = median(ours["answers_s"])
    answers = Row(
        "repl", f"repl: per answer, {count} lines" + (" vs qalc" if qalc else ""), "s", ours=mine,
        baseline=qalc and median(qalc["answers_s"]), ratio=qalc and mine / median(qalc["answers_s"]),
        target=Target("<=", 0.020, on="ours"),
        notes=[*peer, "medians, wall-clock from the line sent to the next prompt, through a pty, "
               f"each line sent {REPL_PAUSE_S} s after the last answer; ours: grad's table with every witness"],
        samples={"ours_s": ours["answers_s"], **({"qalc_s": qalc["answers_s"]} if qalc else {})},
    )
    return [first, answers]


def _pty_answers(pexpect, command: list[str], prompt: str, setup: list[str], lines: list[str], answer: str,
                 settings: Settings) -> dict:
    """Run an interactive calculator in a pty: the time to its first prompt,
    the first line's answer (a warm-up, untimed in the answers) and each
    other line's, checked to be 6k + 2 for the k-th line (k from 2)."""
    environment = {**os.environ, "NO_COLOR": "1", "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
    started = time.perf_counter()
    child = pexpect.spawn(command[0], command[1:], env=environment, encoding="utf-8",
                          timeout=settings.timeout_s, dimensions=(50, 120))
    child.delaybeforesend = None
    try:
        child.expect_exact(prompt)
        first_prompt = time.perf_counter() - started
        for line in setup:
            child.sendline(line)
            child.expect_exact(prompt)
        times = []
        for k, line in enumerate(lines, start=2):
            time.sleep(REPL_PAUSE_S)  # as a person reads the answer and types the next line
            sent = time.perf_counter()
            child.sendline(line)
            child.expect(answer)
            value = re.sub(r"\x1b\[[0-9;]*m", "", child.match.group(1))
            child.expect_exact(prompt)
            times.append(time.perf_counter() - sent)
            if not _close(float(value.replace("−", "-")), 6 * k + 2):
                raise BenchmarkError(f"{command[0]} answered {value} to {line}; expected {6 * k + 2}")
    except pexpect.ExceptionPexpect as error:
        raise BenchmarkError(f"{' '.join(command)}: {type(error).__name__}: {str(error).splitlines()[0]}") from None
    finally:
        child.close(force=True)
    return {"first_prompt_s": first_prompt, "first_answer_s": times[0], "answers_s": times[1:]}


# -------------------------------------------------------------------- exact


def exact(settings: Settings) -> list[Row]:
    """The exact witness's cost: per call in one process (on minus off, for
    small expressions; target 20 ms), python-flint's import (once per
    process, informational), and the streaming rate with it against
    --no-exact (target: at most 10% slower)."""
    result = run_worker("exact_worker.py", ["--runs", str(settings.exact_runs)], settings)
    if not result["same"]:
        raise BenchmarkError("api.grad gave other autograd values with the exact witness on: not the same work")
    on, off = median(result["on_s"]), median(result["off_s"])
    calls = f"{len(result['on_s'])} interleaved calls each on {', '.join(result['expressions'])} at x = 0.7"
    rows = [
        Row("exact", "exact: witness per call (on − off)", "s", on - off, off, on / off, Target("<=", 0.020, on="ours"),
            notes=[f"ours = median(on) - median(off), baseline = median(off); {calls}"], samples=result),
        Row("exact", "exact: import python-flint, once", "s", result["import_s"], None, None, None,
            notes=["cumulative -X importtime of flint after torch and sympy, a fresh interpreter"]),
    ]
    with_exact, *_, answers = _stream_rate(settings)
    without, *_ = _stream_rate(settings, ("--no-exact",))
    judged = sum(1 for line in answers if line.get("checked_by") == "exact")
    rows.append(Row(
        "exact", f"exact: stream {settings.stream_count}/s vs --no-exact", "/s", with_exact, without,
        with_exact / without, Target(">=", 0.9),
        notes=[f"rates as for stream, medians of {settings.stream_runs}; {judged} of {len(answers)} lines checked_by exact"],
    ))
    return rows


# --------------------------------------------------------------------- grid


def grid(settings: Settings) -> list[Row]:
    """api.grad on a 10^7-point grid vs the function by hand in eager torch:
    the median time and the peak memory of the work, each side in its own
    worker process. Ours with the default options (symbolic on) is shown
    beside them for information."""
    points = settings.grid_points

    def side(name: str, runs: int) -> dict:
        args = ["--side", name, "--points", str(points), "--runs", str(runs), "--budget", str(settings.grid_budget_s)]
        return run_worker("grid_worker.py", args, settings)

    size = f"10^{len(str(points)) - 1}" if str(points).strip("0") == "1" else f"{points:,}"
    hand = side("hand", settings.grid_runs)
    ours = side("ours", settings.grid_runs)
    _same_sums("ours", ours, hand)
    rows = _grid_rows("grid", f"grid {size}: {{what}} vs eager torch", "symbolic off", ours, hand, Target("<=", 1.2))
    try:
        default = side("ours-default", settings.grid_default_runs)
        _same_sums("ours-default", default, hand)
        rows += _grid_rows("grid", f"grid {size}: {{what}}, symbolic on", "symbolic on", default, hand, None)
    except BenchmarkError as error:
        rows.append(error_row("grid", f"grid {size}: symbolic on", str(error)))
    return rows


def grid_gpu(settings: Settings) -> list[Row]:
    """api.grad with --device cuda on a 10^8-point grid vs the same function
    by hand in eager torch on the GPU; a row that says so where torch sees
    no CUDA device."""
    points = settings.gpu_grid_points
    probe = run_worker_text([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"], settings)
    if probe.strip() != "True":
        return [Row("grid_gpu", "grid on the GPU: skipped", "s", notes=["torch sees no CUDA device here"])]

    def side(name: str) -> dict:
        args = ["--side", name, "--points", str(points), "--runs", str(settings.grid_runs), "--budget",
                str(settings.grid_budget_s)]
        return run_worker("grid_worker.py", args, settings)

    hand = side("hand-cuda")
    ours = side("ours-cuda")
    _same_sums("ours-cuda", ours, hand)
    size = f"10^{len(str(points)) - 1}" if str(points).strip("0") == "1" else f"{points:,}"
    return _grid_rows("grid_gpu", f"grid {size} on CUDA: {{what}} vs eager torch", "symbolic off", ours, hand,
                      Target("<=", 1.2))


def run_worker_text(command: list[str], settings: Settings) -> str:
    import subprocess

    return subprocess.run(command, capture_output=True, text=True, timeout=settings.timeout_s).stdout


def _grid_rows(name: str, label: str, side: str, ours: dict, hand: dict, target: Optional[Target]) -> list[Row]:
    """Time and memory rows of one of our sides against the hand-written one.
    `label` has a {what} for "time" or "memory"; `side` names ours in the notes."""
    samples = {"ours": ours, "hand": hand}
    ours_time, hand_time = median(ours["times_s"]), median(hand["times_s"])
    ours_mib, hand_mib = ours["peak_bytes"] / MIB, hand["peak_bytes"] / MIB
    runs = f"time, {side}: median of timed runs (ours {len(ours['times_s'])}, eager torch {len(hand['times_s'])})"
    memory = f"memory: peak RSS of the work minus RSS before it, first timed run, via {ours['memory_method']}"
    return [
        Row(name, label.format(what="time"), "s", ours_time, hand_time, ours_time / hand_time, target,
            notes=[runs], samples=samples),
        Row(name, label.format(what="memory"), "MiB", ours_mib, hand_mib,
            ours_mib / hand_mib if hand_mib else float("nan"), target, notes=[memory]),
    ]


def _same_sums(side: str, ours: dict, hand: dict) -> None:
    if len(ours["checksum"]) != 2 or not all(_close(a, b) for a, b in zip(ours["checksum"], hand["checksum"])):
        raise BenchmarkError(
            f"{side} and hand give different sums of f and f' on the grid ({ours['checksum']} vs "
            f"{hand['checksum']}): not the same work"
        )


# ------------------------------------------------------------------ hessian


def hessian(settings: Settings) -> list[Row]:
    """Our autograd Hessian (the expression parsed and lowered once) vs
    torch.func.hessian of the same function written by hand term by term
    (the target); for information, vs a hand-vectorised rewrite, and the
    whole api.hessian call (symbolic off, with its finite-difference
    witness). Interleaved in one worker process, which first checks that
    all the matrices agree."""
    n = settings.hessian_variables
    result = run_worker("hessian_worker.py", ["--variables", str(n), "--runs", str(settings.hessian_runs)], settings)
    if not result["agree"]:
        raise BenchmarkError(
            f"the two Hessians differ by up to {result['max_abs_difference']:g}: not the same work"
        )
    rows = []
    for key, baseline, label, target in (
        ("engine_s", "hand_s", f"hessian n={n}: autograd vs torch.func", Target("<=", 1.5)),
        ("engine_s", "vector_s", f"hessian n={n}: vs torch.func, vectorised", None),
        ("ours_s", "hand_s", f"hessian n={n}: whole call vs torch.func", None),
    ):
        ratios = pairwise_ratios(result[key], result[baseline])
        rows.append(
            Row(
                "hessian", label, "s",
                ours=median(result[key]),
                baseline=median(result[baseline]),
                ratio=median(ratios),
                target=target,
                notes=[_spread(ratios, "interleaved runs in one process")
                       + f"; matrices agree (max |difference| {result['max_abs_difference']:.1e})"],
                samples=result,
            )
        )
    return rows


# ------------------------------------------------------------------- memory


def memory(settings: Settings) -> list[Row]:
    """Each command's whole-process peak RSS with a small realistic input,
    beside the import floor's (informational: no target). A command may exit
    1 (a check that failed) and still be measured; the note says so."""
    runs = settings.memory_runs

    def peaks(command: list[str]) -> tuple[list[int], set[int]]:
        done = [run_process(command, timeout=settings.timeout_s, ok_codes=(0, 1)) for _ in range(runs)]
        return [run.max_rss_kib for run in done], {run.returncode for run in done}

    floor, _ = peaks(IMPORT_FLOOR)
    floor_mib = median(floor) * KIB / MIB
    rows = []
    for name, args in workloads.command_lines(workloads.SEEDS).items():
        command = cli_command() + args
        try:
            kib, codes = peaks(command)
        except BenchmarkError as error:
            rows.append(error_row("memory", f"memory: {name}", str(error)))
            continue
        mib = median(kib) * KIB / MIB
        notes = [f"{shown(command)} exited {sorted(codes)}"] if codes != {0} else []
        rows.append(
            Row("memory", f"memory: {name} vs import floor", "MiB", mib, floor_mib, mib / floor_mib, None,
                notes=notes, samples={"max_rss_kib": kib, "floor_max_rss_kib": floor, "command": args})
        )
    return rows


def check(settings: Settings) -> list[Row]:
    """Cases a second through `autodiff check FILE --json`, every witness on:
    N / (T(N+1 cases) - T(1 case)), as `stream` is rated; then with
    `--jobs 2` (informational: it depends on the machine's cores)."""
    count = settings.stream_count
    rows = []
    with tempfile.TemporaryDirectory(prefix="autodiff-bench-") as folder:
        folder = Path(folder)
        (folder / "many.toml").write_text(workloads.case_file(count + 1))
        (folder / "one.toml").write_text(workloads.case_file(1))
        for options, target in (((), Target(">=", 2000, on="ours")), (("--jobs", "2"), None)):
            def command(name):
                return cli_command() + ["check", str(folder / name), "--json", *options]

            many = _timed_command(command("many.toml"), settings, stdout_path=folder / "many.json")
            one = _timed_command(command("one.toml"), settings)
            one()
            comparison = compare_processes(many, one, settings.stream_runs, warmup=False)
            answer = json.loads((folder / "many.json").read_text())
            if answer.get("passed") != count + 1:
                raise BenchmarkError(f"check {' '.join(options)}: {answer.get('summary')} (every case should pass)")
            t_many, t_one = median(comparison.a_times), median(comparison.b_times)
            rate = count / (t_many - t_one)
            label = f"check: {count} cases/s" + (f" {' '.join(options)}" if options else "")
            rows.append(Row(
                "check", label, "/s", ours=rate, baseline=None, ratio=None, target=target,
                notes=[f"ours = {count} / (T({count + 1} cases) {t_many:.2f} s - T(1 case) {t_one:.2f} s)"],
                samples={"t_all_cases_s": comparison.a_times, "t_1_case_s": comparison.b_times},
            ))
    return rows


def check_memory(settings: Settings) -> list[Row]:
    """`autodiff check` streams its cases: whole-process peak RSS with many
    cases against few (target: flat, at most 1.25x for 100x the cases)."""
    small, large = settings.check_cases
    peaks = {}
    with tempfile.TemporaryDirectory() as directory:
        for count in (small, large):
            path = Path(directory) / f"cases-{count}.toml"
            path.write_text(workloads.case_file(count))
            command = cli_command() + ["check", str(path), "--json"]
            run = run_process(command, stdout_path=Path(directory) / "out.json", timeout=max(settings.timeout_s, count / 50))
            peaks[count] = run.max_rss_kib * KIB / MIB
    return [
        Row("check_memory", f"check: peak RSS, {large:,} cases vs {small:,}", "MiB", peaks[large], peaks[small],
            peaks[large] / peaks[small], Target("<=", 1.25), samples={"cases": [small, large]})
    ]


# ------------------------------------------------------------------- server


QALC_HEADLINE = ["qalc", "-t", "diff(6x^2+2x+4,x)"]


def server(settings: Settings) -> list[Row]:
    """One-shot `grad` answered by a warm resident server (after one warm-up
    call), beside qalc's one-shot derivative and beside the same call run in
    its own process (AUTODIFF_SERVER=off): the server's answer must be byte
    for byte the in-process one. The server has a private socket directory
    and is stopped at the end."""
    command = cli_command() + ["grad", "6*x^2+2*x+4", "--at", "x=3"]
    with tempfile.TemporaryDirectory() as directory:
        place = Path(directory) / "run"
        place.mkdir(mode=0o700)
        on = {**{k: v for k, v in os.environ.items() if k != "CI"}, "AUTODIFF_SERVER": "on", "XDG_RUNTIME_DIR": str(place)}
        off = {**on, "AUTODIFF_SERVER": "off"}
        try:
            run_process(cli_command() + ["server", "start"], env=on, timeout=settings.timeout_s)
            answers = {}
            for name, env in (("server", on), ("in-process", off)):
                out = Path(directory) / f"{name}.txt"
                run_process(command, stdout_path=out, env=env, timeout=settings.timeout_s)
                answers[name] = out.read_bytes()
            if answers["server"] != answers["in-process"]:
                raise BenchmarkError("the server's answer differs from the in-process one")
            rows = []
            if shutil.which("qalc") is not None:
                comparison = compare_processes(
                    _timed_command(command, settings, env=on), _timed_command(QALC_HEADLINE, settings),
                    settings.startup_pairs,
                )
                rows.append(_time_row("server", "server: warm grad vs qalc one-shot", comparison, Target("<=", 1.0)))
            else:
                rows.append(Row("server", "server: vs qalc: skipped", "s",
                                notes=["qalc is not installed (apt-get install qalc): no peer measured"]))
            comparison = compare_processes(
                _timed_command(command, settings, env=on), _timed_command(command, settings, env=off),
                settings.oneshot_pairs,
            )
            rows.append(_time_row("server", "server: warm grad vs in-process grad", comparison, None))
            return rows
        finally:
            run_process(cli_command() + ["server", "stop"], env=on, timeout=settings.timeout_s, ok_codes=(0, 1))


FIGURES: dict[str, Callable[[Settings], list[Row]]] = {
    "oneshot": oneshot,
    "help": help_,
    "version": version,
    "stream": stream,
    "grid": grid,
    "hessian": hessian,
    "exact": exact,
    "memory": memory,
    "check": check,
    "check_memory": check_memory,
    "peers": peers,
    "grid_gpu": grid_gpu,
    "repl": repl,
    "server": server,
    "fresh": scalar_figures.fresh,
    "jobs": scalar_figures.jobs,
    "stages": scalar_figures.stages,
    "taylor": taylor_figures.taylor,
}
