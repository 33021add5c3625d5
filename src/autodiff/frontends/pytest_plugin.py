"""A pytest plugin: `pytest cases.toml` runs each `[[case]]` of an autodiff
case file (the format `autodiff check` reads) as a test item named by the
case, so that `-k`, `-x` and `--junitxml` work as for any test.

pytest loads it (entry point `pytest11`) in every project where autodiff is
installed: this module imports neither torch, SymPy nor the engine; they
load when a case file is collected or run. It reads only the .toml files
named on the command line and those whose name matches the ini option
`autodiff_case_files` (default `*.autodiff.toml`): a directory's
pyproject.toml or other TOML is never collected.
"""

from __future__ import annotations

import fnmatch
import re
from types import SimpleNamespace
from typing import Optional

import pytest

PATTERNS = ["*.autodiff.toml"]
# A [[case]] header: where each case starts, for the report's file:line.
_CASE_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*case[ \t]*\]\]", re.M)


def pytest_addoption(parser) -> None:
    """`--autodiff-rtol`, `--autodiff-atol` and the `autodiff_case_files` ini option."""
    group = parser.getgroup("autodiff", "autodiff case files")
    for name, what in (("rtol", "Relative"), ("atol", "Absolute")):
        group.addoption(
            f"--autodiff-{name}", type=float, default=None, metavar="TOL",
            help=f"{what} tolerance for autodiff cases that set none (as `autodiff check --{name}`).",
        )
    parser.addini(
        "autodiff_case_files", type="args", default=PATTERNS,
        help="Name patterns of the autodiff case files collected from directories (default *.autodiff.toml); "
        "a .toml file named on the command line is always collected.",
    )


def pytest_collect_file(file_path, parent) -> Optional["CaseFile"]:
    """A case file: a .toml file named on the command line, or one matching `autodiff_case_files`."""
    if file_path.suffix != ".toml":
        return None
    patterns = parent.config.getini("autodiff_case_files")
    if parent.session.isinitpath(file_path) or any(fnmatch.fnmatch(file_path.name, p) for p in patterns):
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFile(pytest.File):
    """A case file, validated as `autodiff check` validates it: a malformed
    file (or a bad [define]) is a collection error with check's one line."""

    def collect(self):
        from dataclasses import replace

        from autodiff.commands.case_files import CaseFileError

        try:
            cases, definitions, lines = self._read()
        except CaseFileError as error:
            raise self.CollectError(error.message) from None
        seen: set[str] = set()
        for case in cases:
            # A name used twice gets its place in the file, so that node ids stay unique.
            name = case.name if case.name not in seen else f"{case.name} (case {case.index})"
            seen.add(case.name)
            line = lines[case.index - 1] if case.index <= len(lines) else 0
            item = CaseItem.from_parent(self, name=name, case=replace(case, define=definitions), line=line)
            skip = case.data.get("skip", False)
            if skip is True or isinstance(skip, str):  # skipped at the case's own place in the report
                item.add_marker(pytest.mark.skip(reason=skip if isinstance(skip, str) else "skip = true"))
            yield item

    def _read(self) -> tuple[list, tuple, list]:
        """The file's cases, its definition texts ([define], [derivative]),
        checked, and the line (0-based) of each [[case]] header."""
        from autodiff.commands.case_files import CaseFileError, cases_in, read_texts

        found: list[str] = []
        text = read_texts([str(self.path)])[0][0]
        cases = list(cases_in(text, self.nodeid, found=found))  # a [define] after the cases counts too
        if found:
            from autodiff.commands.cases import definitions_scope
            from autodiff.errors import AutodiffError

            try:
                definitions_scope(tuple(found), case_options(self.config)["limits"])
            except AutodiffError as error:
                raise CaseFileError(f"{self.nodeid}: [define]: {error.message}") from None
        lines = [text.count("\n", 0, match.start()) for match in _CASE_HEADER.finditer(text)]
        return cases, tuple(found), lines


class CaseItem(pytest.Item):
    """One `[[case]]`: run by `run_case`, as `autodiff check` runs it."""

    def __init__(self, *, case, line: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.case, self.line = case, line

    def runtest(self) -> None:
        from autodiff.commands.cases import run_case

        result = run_case(self.case, case_options(self.config))
        if result.outcome == "skipped":
            pytest.skip(result.message or "skip = true")
        if result.outcome != "passed":
            raise CaseFailed(result)

    def repr_failure(self, excinfo, style=None):
        """check's own lines for a failed case: the expectation beside every witness, no traceback."""
        if isinstance(excinfo.value, CaseFailed):
            from autodiff.presentation.check_view import failed_case_lines

            return CaseReport(failed_case_lines(excinfo.value.result))
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, self.line, self.name


class CaseFailed(Exception):
    """A case that failed (or met an internal error): its CaseResult, for the report."""

    def __init__(self, result) -> None:
        super().__init__(result.case.name)
        self.result = result


class CaseReport:
    """A failed case's report: check's lines on the terminal and in JUnit
    (`str`); its first failure, the line with the witnesses, is the message
    of the short summary and of JUnit's <failure> (pytest reads `reprcrash.message`)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.reprcrash = SimpleNamespace(message=lines[2].strip())

    def toterminal(self, writer) -> None:
        for line in self.lines:
            writer.line(line)

    def __str__(self) -> str:
        return "\n".join(self.lines)


def case_options(config) -> dict:
    """run_case's options: `autodiff check`'s defaults, with the command line's tolerances."""
    from autodiff.commands.cases import run_options

    return run_options(rtol=config.getoption("autodiff_rtol"), atol=config.getoption("autodiff_atol"))


# pytest before 7 names the hooks' arguments otherwise (`path`, not `file_path`)
# and would refuse this plugin, and with it every test run where autodiff is
# installed: there, the plugin does nothing.
if int(pytest.__version__.split(".")[0]) < 7:  # pragma: no cover - the test extra needs pytest 7
    del pytest_addoption, pytest_collect_file
