"""Case files for `autodiff check`: TOML in the format of the project's seeds
(`[[case]]` tables with `expr`, `at` and expectations), validated before
anything runs, then run in one process and reported like a test runner —
as a summary, as JSON, and as JUnit XML for CI systems
(autodiff.presentation.junit). A case's kind is named by its keys: grad,
partial, hessian, jacobian and minimize run here; verify and taylor in
autodiff.commands.case_kinds.

A malformed file (bad TOML, an unknown key, a missing `expr`, a value of the
wrong type) is a usage error naming the file, the case and the key: nothing
runs. An expression that does not parse, or a point it cannot be evaluated
at, fails its case and the run goes on.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Optional, Sequence, Union

from autodiff.commands.case_files import (
    DERIVATIVE,
    POINT_KEYS,
    Case,
    CaseFileError,
    Failure,
    cases_in,
    expression_text,
    is_matrix,
    is_number,
    read_texts,
)
from autodiff.errors import (
    EXIT_CHECK_FAILED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_OUTPUT, AutodiffError, UsageError,
)
from autodiff.language.scope import EMPTY
from autodiff.results import DerivativeResult, as_tensor
from autodiff.text import derivative_label, exact_text, format_number, subscript, typed_point_text, value_text


@dataclass
class CaseResult:
    case: Case
    outcome: str  # "passed", "failed", "skipped" or "error" (a bug in autodiff)
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    reports: list = field(default_factory=list)  # the command results the case ran
    message: Optional[str] = None  # why it was skipped, or the internal error
    printed: Optional[str] = None  # the expression as the first command printed it (kept by `compact`)

    @property
    def expression(self) -> str:
        if self.printed is not None:
            return self.printed
        return self.reports[0].expression if self.reports else expression_text(self.case.data["expr"])

    def compact(self) -> "CaseResult":
        """This result without its command results (kept for the closing
        details of a failure: the messages, the expression and the point)."""
        return CaseResult(self.case, self.outcome, self.seconds, self.failures, [], self.message, self.expression)

    def junit_record(self) -> tuple:
        details = ""
        if self.outcome == "failed":
            point = typed_point_text(self.case.point)
            details = "\n".join([self.expression + (f" at {point}" if point else "")] + [f.message for f in self.failures])
        message = self.failures[0].message if self.outcome == "failed" else self.message
        reason = self.failures[0].reason if self.outcome == "failed" else None
        return (self.case.file, self.case.name, self.seconds, self.outcome, message, reason, details)

    def to_json(self) -> dict:
        result = {
            "file": self.case.file,
            "index": self.case.index,
            "name": self.case.name,
            "expression": self.expression,
            "outcome": self.outcome,
            "seconds": round(self.seconds, 6),
            "failures": [failure.to_json() for failure in self.failures],
            "results": [report.to_json() for report in self.reports],
        }
        if self.message is not None:
            result["message"] = self.message
        return result


@dataclass
class CheckReport:
    """`autodiff check`: the outcome of every selected case, in file order.

    `results` holds every CaseResult when the run keeps them (the Python
    API); the command line streams them instead and keeps only what its
    closing lines need: the tally, the failed cases, and a compact record
    of each case for a JUnit file (memory flat in the number of cases)."""

    files: list[str]
    results: list[CaseResult] = field(default_factory=list)
    deselected: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    output_error: Optional[str] = None  # the --junit file could not be written
    tally: Counter = field(default_factory=Counter)
    broken: list[CaseResult] = field(default_factory=list)  # failed or error, without their command results
    records: list[tuple] = field(default_factory=list)  # (file, name, seconds, outcome, message, details) for JUnit
    interrupted: bool = False  # Ctrl-C: the cases so far
    shard: Optional[tuple[int, int]] = None  # (k, n): this run is the k-th of n shares

    command = "check"

    def add(self, result: CaseResult, keep: bool, record: bool) -> None:
        self.tally[result.outcome] += 1
        if result.outcome in ("failed", "error"):
            self.broken.append(result.compact())
        if record:
            self.records.append(result.junit_record())
        if keep:
            self.results.append(result)

    def count(self, outcome: str) -> int:
        return self.tally[outcome]

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.output_error:
            return EXIT_OUTPUT
        if self.count("error"):
            return EXIT_INTERNAL
        return EXIT_CHECK_FAILED if self.count("failed") else EXIT_OK

    def summary(self) -> str:
        """`16 passed, 0 failed`, then skipped, errors and deselected where there are any."""
        parts = [f"{self.count('passed')} passed", f"{self.count('failed')} failed"]
        if self.count("skipped"):
            parts.append(f"{self.count('skipped')} skipped")
        if self.count("error"):
            parts.append(f"{self.count('error')} error{'s' if self.count('error') != 1 else ''}")
        if self.deselected:
            parts.append(f"{self.deselected} deselected")
        text = ", ".join(parts)
        if self.shard:
            text += f" (shard {self.shard[0]}/{self.shard[1]})"
        return f"{text} (interrupted)" if self.interrupted else text

    def closing_json(self) -> dict:
        """Every key but "cases" (which a stream writes first, a case at a time)."""
        return {
            "command": self.command,
            "files": list(self.files),
            "passed": self.count("passed"),
            "failed": self.count("failed"),
            "skipped": self.count("skipped"),
            "errors": self.count("error"),
            "deselected": self.deselected,
            "seconds": round(self.seconds, 6),
            "summary": self.summary(),
            **({"interrupted": True} if self.interrupted else {}),
            **({"shard": list(self.shard)} if self.shard else {}),
            **({"output_error": self.output_error} if self.output_error else {}),
        }

    def to_json(self) -> dict:
        closing = self.closing_json()
        cases = [result.to_json() for result in self.results]
        return {**closing, "cases": cases}


def definitions_scope(texts: tuple, limits):
    """The scope of parsed definitions, remembered: every case of a file shares its [define]."""
    from autodiff.commands.prepare import scope_of

    key = (texts, limits)
    if key not in _SCOPES:
        if len(_SCOPES) > 64:
            _SCOPES.clear()
        plain = [text for text in texts if not text.startswith(DERIVATIVE)]
        declared = [text[len(DERIVATIVE):] for text in texts if text.startswith(DERIVATIVE)]
        _SCOPES[key] = scope_of(plain, limits, declared)
    return _SCOPES[key]


_SCOPES: dict = {}
# --- running ------------------------------------------------------------------


def select(cases: list[Case], patterns: Optional[Sequence[str]]) -> list[Case]:
    """The cases whose name contains any of `patterns` (case-insensitive)."""
    return [case for case in cases if _selected(case, patterns)]


def check(
    paths: Union[str, Sequence[str]],
    *,
    select_names: Optional[Sequence[str]] = None,
    dtype: str = "float64",
    rtol: Optional[float] = None,
    atol: Optional[float] = None,
    symbolic_timeout: float = 5.0,
    exact: bool = True,
    read_stdin=None,
    limits=None,
    on_result: Optional[Callable[[CaseResult], None]] = None,
    keep_results: bool = True,
    junit_records: bool = True,
    shard: Optional[tuple[int, int]] = None,
    jobs: int = 1,
    define: Optional[Sequence[str]] = None,
    derivative: Optional[Sequence[str]] = None,
) -> CheckReport:
    """Run the case files `paths` (`-` is standard input) in this process.

    `select_names`: run only the cases whose name contains one of these
    (case-insensitive). `rtol`/`atol` apply to cases that set none;
    `exact=False` turns the exact witness off for cases that do not set it.
    `limits`: as for every command (a Limits, or {"points": 10**8}).
    `shard=(k, n)`: only the k-th of n deterministic shares of the selected
    cases (every n-th, from the k-th), so that n CI machines run a file
    together. `jobs`: worker processes running cases at once; results
    still come in case order. `define`: definitions ("f(t) = t^2") every
    case may use, beside each file's own [define] table (which wins).

    Every file is validated before any case runs (a bad file is an error,
    exit 2, with nothing run). Then the cases run one at a time:
    `on_result` sees each result as it finishes; `keep_results=False`
    keeps none of them in the report (memory flat in the number of cases).
    Ctrl-C stops the run; the report says so and holds the cases so far.
    """
    from autodiff.limits import as_limits

    limits = as_limits(limits)
    if shard is not None and not (1 <= shard[0] <= shard[1]):
        raise UsageError(f"--shard {shard[0]}/{shard[1]}: K/N needs 1 <= K <= N")
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {jobs}")
    started = time.perf_counter()
    paths = list(dict.fromkeys([paths] if isinstance(paths, str) else paths))  # a file named twice runs once
    texts = read_texts(paths, read_stdin)
    total = chosen = 0
    defines: dict[str, tuple] = {}  # each file's [define] texts, after --define's (later ones win)
    kept: Optional[list] = []  # the first pass's cases, while there are few (the second pass then reads none)
    for text, label in texts:  # the first pass validates and counts
        found: list[str] = []
        for case in cases_in(text, label, found=found):
            total += 1
            chosen += _selected(case, select_names)
            if kept is not None and total <= KEPT_CASES:
                kept.append(case)
            elif kept is not None:
                kept = None  # too many to keep: the run reads the files again
        defines[label] = tuple(define or ()) + tuple(DERIVATIVE + text for text in derivative or ()) + tuple(found)
    if not chosen:
        raise UsageError(f"no case name contains {' or '.join(repr(p) for p in select_names or ())}")
    import sympy  # noqa: F401  (torch and SymPy load here, not inside the first case's time)

    for label, texts_of_file in defines.items():  # a bad definition is the file's error, before any case runs
        try:
            definitions_scope(texts_of_file, limits)
        except AutodiffError as error:
            raise CaseFileError(f"{label}: [define]: {error.message}") from None

    import autodiff.witnesses.checks  # noqa: F401
    options = run_options(dtype=dtype, rtol=rtol, atol=atol, symbolic_timeout=symbolic_timeout, exact=exact,
                          limits=limits)
    files = list(dict.fromkeys(label for _, label in texts))
    mine = _share(texts, select_names, shard, defines, kept)
    report = CheckReport(files, deselected=total - chosen, shard=shard)
    report.deselected += chosen - (len(range(shard[0] - 1, chosen, shard[1])) if shard else chosen)
    try:
        for result in _results(mine, options, jobs):
            report.add(result, keep_results, junit_records)
            if on_result is not None:
                on_result(result)
    except KeyboardInterrupt:
        report.interrupted = True
    report.seconds = time.perf_counter() - started
    return report


def run_options(*, dtype: str = "float64", rtol: Optional[float] = None, atol: Optional[float] = None,
                symbolic_timeout: float = 5.0, exact: bool = True, limits=None) -> dict:
    """run_case's options, with check's defaults: each case's own keys override them."""
    from autodiff.limits import as_limits

    return {"dtype": dtype, "rtol": rtol, "atol": atol, "symbolic_timeout": symbolic_timeout, "exact": exact,
            "limits": as_limits(limits)}


def parse_shard(text: str) -> tuple[int, int]:
    """`--shard 2/4` → (2, 4)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise UsageError(f"--shard {text!r}: give K/N with 1 <= K <= N, e.g. --shard 2/4")
    return int(match.group(1)), int(match.group(2))


def _share(texts, select_names, shard, defines: dict, kept: Optional[list] = None) -> Iterator[Case]:
    """The selected cases, in file order; with `shard` (k, n), every n-th
    from the k-th. `kept`: the first pass's cases, else the files are read again."""
    index = 0
    every = kept if kept is not None else (case for text, label in texts for case in cases_in(text, label))
    for case in every:
        if _selected(case, select_names):
            if shard is None or index % shard[1] == shard[0] - 1:
                yield replace(case, define=defines.get(case.file, ()))
            index += 1


# Up to this many cases, the first pass keeps the cases it validated (about
# a kilobyte each) and the run reads no file again; beyond, memory stays flat
# in the number of cases: each file is read again a [[case]] table at a time.
KEPT_CASES = 10_000


def _results(cases: Iterator[Case], options: dict, jobs: int) -> Iterator[CaseResult]:
    """Each case's result, in case order: in this process, or in `jobs`
    worker processes forked from this one (autodiff.parallel), with a
    bounded number of cases in flight."""
    from autodiff import parallel

    if jobs == 1 or not parallel.AVAILABLE:
        for case in cases:
            yield run_case(case, options)
        return
    import autodiff.commands
    import autodiff.engine
    import autodiff.language
    import autodiff.witnesses

    # Imported before the fork, so that every worker starts with them.
    parallel.import_packages(autodiff.language, autodiff.engine, autodiff.witnesses, autodiff.commands)

    def lost(case: Case, error: parallel.WorkerFailed) -> CaseResult:  # as run_case reports a bug
        return CaseResult(case, "error", message=f"internal error: {error}")

    yield from parallel.ordered_map(lambda case: run_case(case, options), cases, jobs, lost)


def _selected(case: Case, patterns: Optional[Sequence[str]]) -> bool:
    return not patterns or any(pattern.lower() in case.name.lower() for pattern in patterns)


def run_case(case: Case, options: dict) -> CaseResult:
    """One case: its commands, then every expectation and cross-check."""
    skip = case.data.get("skip", False)
    if skip is True or isinstance(skip, str):
        return CaseResult(case, "skipped", message=skip or None if isinstance(skip, str) else None)
    started = time.perf_counter()
    reports: list = []
    try:
        failures = _run(case, options, reports)
    except AutodiffError as error:  # the case's own input is bad: the case fails
        failures = [Failure("error", error.type, error.message)]
    except RecursionError:
        failures = [Failure("error", "limit_exceeded", "the expression is too deeply nested")]
    except Exception as error:  # a bug in autodiff: reported, and the run goes on
        message = f"internal error: {type(error).__name__}: {error}".splitlines()[0]
        return CaseResult(case, "error", time.perf_counter() - started, reports=reports, message=message)
    outcome = "failed" if failures else "passed"
    return CaseResult(case, outcome, time.perf_counter() - started, failures, reports)


def _run(case: Case, options: dict, reports: list) -> list[Failure]:
    data = case.data
    settings = {
        **options,
        "rtol": data.get("rtol", options.get("rtol")),
        "atol": data.get("atol", options.get("atol")),
        "exact": data.get("exact", options.get("exact", True)),
    }
    if case.define:
        settings["scope"] = definitions_scope(case.define, options["limits"])
    return _run_commands(case, settings, reports)


def _run_commands(case: Case, settings: dict, reports: list) -> list[Failure]:
    from autodiff.commands import api
    from autodiff.engine.values import point_from_mapping

    data, options = case.data, settings
    failures = []
    if "minimize" in data:
        failures += _minimize_failures(data["minimize"], data["expr"], options, reports)
    if "verify" in data or "taylor" in data:
        from autodiff.commands import case_kinds

        if "verify" in data:
            failures += case_kinds.verify_failures(data["verify"], data["expr"], data.get("at"), options, reports)
        if "taylor" in data:
            failures += case_kinds.taylor_failures(data["taylor"], data["expr"], data["at"], options, reports)
        if not any(key in data for key in POINT_KEYS):  # its `at` is the command's: nothing else runs there
            return failures
    if "at" not in data:
        return failures
    first = len(reports)  # the commands run at `at` follow
    scope = settings.get("scope", EMPTY)
    at = point_from_mapping({name: value_text(value) for name, value in data["at"].items()}, "at", options["limits"], scope)
    grad_output = data.get("grad_output")
    if grad_output is not None:
        grad_output = [float(v) for v in (grad_output if isinstance(grad_output, list) else [grad_output])]
    expr = data["expr"]  # a list of functions stays a list: each is parsed on its own
    if "jacobian" in data:
        reports.append(api.jacobian(expr, at, expect=value_text(data["jacobian"]), **settings))
    if "hessian" in data:
        reports.append(api.hessian(expr, at, expect=value_text(data["hessian"]), **settings))
    if "partial" in data:
        partial = data["partial"]
        wrt = [partial["wrt"]] if isinstance(partial["wrt"], str) else list(partial["wrt"])
        expect = [value_text(partial["expect"])] if "expect" in partial else None
        reports.append(api.partial(expr, at, wrt=wrt, expect=expect, grad_output=grad_output, **settings))
    if "grad" in data or len(reports) == first:
        expect = None
        if "grad" in data:
            expect = point_from_mapping({name: value_text(value) for name, value in data["grad"].items()}, "grad",
                                        scope=scope)
        reports.append(
            api.grad(expr, at, order=data.get("order", 1), expect=expect, grad_output=grad_output, **settings)
        )
    derivative_reports = reports[first:]
    if "value" in data:
        failures.extend(_value_failures(derivative_reports[0], data["value"], settings))
    for report in derivative_reports:
        failures.extend(_report_failures(report))
    return failures


def _minimize_failures(table: dict, expr, settings: dict, reports: list) -> list[Failure]:
    """Run a minimize case: every optimiser must converge, and reach `expect` (and `value`) when given."""
    from autodiff.commands import api

    options = {key: table[key] for key in ("optimizer", "lr", "steps", "tol", "maximize") if key in table}
    expect = {name: value_text(value) for name, value in table["expect"].items()} if "expect" in table else None
    start = {name: value_text(value) for name, value in table["from"].items()}
    report = api.minimize(
        expr, start, expect=expect, dtype=settings["dtype"], symbolic_timeout=settings["symbolic_timeout"],
        rtol=settings.get("rtol"), atol=settings.get("atol"), limits=settings["limits"], scope=settings.get("scope", EMPTY),
        **options,
    )
    reports.append(report)
    failures = []
    for run in report.runs:
        where = ", ".join(f"{name} = {value:.10g}" for name, value in run.point.items())
        if run.status != "converged":
            said = run.message if run.status == "diverged" else f"{run.status}: {run.message}"  # "diverged at step …"
            failures.append(Failure(run.optimizer, run.status, f"{run.optimizer} {said}"))
        if run.expect_met is False:
            wanted = ", ".join(f"{name} = {value:.10g}" for name, value in report.expected.items())
            failures.append(Failure(run.optimizer, "expected", f"{run.optimizer}: expected {wanted}, got {where}"))
        if "value" in table:
            failures.extend(_final_value_failures(run, table["value"], settings))
    return failures


def _final_value_failures(run, expected, settings) -> list[Failure]:
    from autodiff.witnesses.checks import Tolerance
    from autodiff.engine.values import parse_values

    wanted = float(expected) if is_number(expected) else parse_values(expected, "value", scope=settings.get("scope", EMPTY))[0]
    rtol, atol = settings.get("rtol"), settings.get("atol")
    tolerance = Tolerance.for_expectations(rtol, atol)
    if tolerance.close_float(run.value, wanted):
        return []
    return [Failure("f", "expected", f"{run.optimizer}: f expected {wanted:.10g}, got {run.value:.10g}", wanted)]


def _value_failures(report, expected, settings) -> list[Failure]:
    import torch

    from autodiff.witnesses.checks import Tolerance
    from autodiff.engine.values import parse_values

    def number(value) -> float:
        # TOML's inf and nan are numbers here; strings are constant expressions ("pi^2/4").
        return float(value) if is_number(value) else parse_values(value, "value", scope=settings.get("scope", EMPTY))[0]

    if is_matrix(expected):
        wanted: Any = [[number(v) for v in row] for row in expected]
    elif isinstance(expected, list):
        wanted = [number(v) for v in expected]
    else:
        wanted = number(expected)
    tolerance = Tolerance.for_dtype(settings["dtype"], settings["rtol"], settings["atol"])
    actual = as_tensor(report.value, torch.float64)
    target = as_tensor(wanted, torch.float64)
    try:
        met = bool(tolerance.close(actual, target.expand_as(actual)).all())
    except RuntimeError:  # shapes that do not match: a list for a single point, say
        met = False
    if met:
        return []
    return [Failure("f", "expected", f"f: expected {format_number(wanted)}, got {format_number(report.value)}", wanted)]


def _report_failures(report) -> list[Failure]:
    from autodiff.results import MatrixReport

    failures = []
    if report.derivatives() and report.checked_by == "numeric":
        why = "; ".join(report.warnings) or "SymPy gave no derivative"
        failures.append(Failure("symbolic", "no symbolic", f"no symbolic derivative to compare with: {why}"))
    for label, derivative in _labelled(report, isinstance(report, MatrixReport)):
        if derivative.expect_met is False:
            failures.append(Failure(label, "expected", _detail(label, derivative, "expected"), derivative=derivative))
        elif derivative.agree is False:
            failures.append(Failure(label, "disagree", _detail(label, derivative, "disagree"), derivative=derivative))
        elif derivative.unchecked:
            failures.append(Failure(label, "unchecked", _detail(label, derivative, "unchecked"), derivative=derivative))
    for declared in getattr(report, "declared", ()):  # a declared derivative that its definition contradicts
        if declared["agree"] is False:
            failures.append(Failure(f"{declared['function']}'", "declared", declared["message"]))
    return failures


def _labelled(report, matrix: bool):
    if not matrix:
        return [(derivative_label(d.wrt), d) for d in report.derivatives()]
    labels = []
    for i, row in enumerate(report.entries):
        for j, entry in enumerate(row):
            if report.command == "hessian":
                labels.append((f"H[{report.rows[i]},{report.columns[j]}]", entry))
            else:
                labels.append((derivative_label(entry.wrt, f"f{subscript(i + 1)}"), entry))
    return labels


def _detail(label: str, derivative: DerivativeResult, reason: str) -> str:
    parts = []
    if reason == "expected":
        parts.append(f"expected {format_number(derivative.expected)}")
    parts.append(f"autograd {format_number(derivative.autograd)}")
    if derivative.symbolic is not None:
        parts.append(f"symbolic {derivative.symbolic} = {format_number(derivative.symbolic_value)}")
    parts.append(f"finite diff. {format_number(derivative.numeric)}")
    if derivative.exact is not None and _has_false(derivative.accurate):  # the exact value, where autograd misses it
        if isinstance(derivative.exact, str):
            parts.append(f"exact {exact_text(derivative.exact)}")
        else:
            parts.append("exact [" + ", ".join(map(exact_text, derivative.exact)) + "]")
    verdict = ""
    if reason == "unchecked":
        verdict = (
            " (not checked: no exact value, and autograd agrees only with SymPy's derivative in float64, which "
            "shares its rounding, while finite differences disagree)"
        )
    elif reason != "expected":
        # Floats lost the digits (the cause says where): inaccurate, not a disagreement with SymPy.
        lost = derivative.checked_by == "exact" and derivative.cause is not None
        verdict = f" (autograd is inaccurate: {derivative.cause})" if lost else " (autograd and symbolic disagree)"
    return f"{label}: " + ", ".join(parts) + verdict


def _has_false(flags) -> bool:
    return flags is False or (isinstance(flags, list) and False in flags)
