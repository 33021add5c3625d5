"""Shared test helpers: run the CLI in process and read strict JSON."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from autodiff.frontends.cli import app


def reject_constant(name: str):
    raise ValueError(f"non-strict JSON constant {name}")


def strict_loads(text: str):
    """json.loads that refuses NaN and Infinity, as design §5 promises."""
    return json.loads(text, parse_constant=reject_constant)


def invoke(*args: str, env: dict | None = None, input=None):
    """Run `autodiff ARGS` in process; output is not a terminal, so no colour.
    `input`: standard input (text or bytes)."""
    return CliRunner().invoke(app, list(args), input=input, env={"COLUMNS": "100", "NO_COLOR": "1", **(env or {})})


def invoke_json(*args: str):
    result = invoke(*args, "--json")
    return result, strict_loads(result.stdout)


def wrong_symbolic(monkeypatch) -> None:
    """Make the symbolic side wrong by one (a bug in the symbolic engine):
    every derivative SymPy gives is `d + 1`, so autograd and symbolic
    disagree wherever the derivative exists."""
    import autodiff.commands.prepare
    import autodiff.commands.scalar

    right = autodiff.commands.prepare.symbolic_derivative
    monkeypatch.setattr(autodiff.commands.prepare, "symbolic_derivative", lambda *args: right(*args) + 1)
    scalar_right = autodiff.commands.scalar.symbolic_derivative  # the scalar path's (SymEngine's)
    monkeypatch.setattr(autodiff.commands.scalar, "symbolic_derivative", lambda *args: scalar_right(*args) + 1)
    autodiff.commands.scalar.forget()  # derivatives kept from earlier tests are not the wrong ones
