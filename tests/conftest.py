"""Settings for the whole test run.

The suite runs every command in its own process as it always has: the
resident server (autodiff.frontends.server) is off here, so that a test of
the tool never answers from a server started by another test or by the
user. tests/test_server.py turns it on, each test with a private socket
directory.

Also the fixtures the case-file tests share: `write` (a case file) and
`ran` (the cases that ran).
"""

import os
import textwrap
from pathlib import Path

import pytest

os.environ["AUTODIFF_SERVER"] = "off"


# Case files (tests/test_check.py, tests/test_case_kinds.py).


@pytest.fixture
def write(tmp_path, monkeypatch):
    """write(name, toml) -> name: a case file in the working directory."""
    monkeypatch.chdir(tmp_path)

    def writer(name: str, text: str) -> str:
        Path(name).write_text(textwrap.dedent(text), encoding="utf-8")
        return name

    return writer


@pytest.fixture
def ran(monkeypatch):
    """The names of the cases that actually ran (run_case is spied on)."""
    calls: list[str] = []
    import autodiff.commands.cases as cases

    real = cases.run_case

    def spy(case, options):
        calls.append(case.name)
        return real(case, options)

    monkeypatch.setattr(cases, "run_case", spy)
    return calls
