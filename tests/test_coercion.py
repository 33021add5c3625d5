"""Our option converters (coercion.py) against typer's own, option by option.

typer converts option values through pydantic; we skip that import for
start-up time. Every option of every command must then convert, and refuse,
as typer would: the same value, or an error in both (ours in plain words,
"must be at least 1, not 0", never pydantic's "Input should be ...")."""

import pytest
import typer

from autodiff.frontends import cli
from autodiff.frontends.coercion import conversion, install

_coercion = pytest.importorskip("typer._coercion", reason="this typer has no lazy conversion hook")

SAMPLES = {
    str: ["x=3", "", " spaced ", "é"],
    int: ["3", "0", "-2", "+7", " 4 ", "1.5", "abc", "1e3", "", "10001", "99999999999999999999"],
    float: ["0", "1e-3", "-1", "nan", "inf", "-inf", "2.5", "abc", "", "1_0", " 3 ", "0x10"],
    bool: [True, False],
}


def _options():
    command = typer.main.get_command(cli.app)
    for name, sub in [("autodiff", command), *command.commands.items()]:
        for param in sub.params:
            if getattr(param, "type_descriptor", None) is not None:
                yield f"{name} {param.name}", param


OPTIONS = dict(_options())


def _outcome(runtime, param, value):
    try:
        return "ok", runtime.coerce(value, param=param, ctx=None)
    except typer.BadParameter as error:
        return "error", error.message


def _samples(annotation):
    import typing
    from enum import Enum

    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = args[0] if args and typing.get_origin(annotation) is not list else annotation
    if typing.get_origin(base) is list:
        (item,) = typing.get_args(base)
        return [[v] for v in _samples(item)] + [["a", "b"], []]
    if isinstance(base, type) and issubclass(base, Enum):
        return [member.value for member in base] + ["nope", "FLOAT64"]
    return SAMPLES.get(base, [])


@pytest.mark.parametrize("label", sorted(OPTIONS))
def test_each_option_converts_as_typer_does(label):
    param = OPTIONS[label]
    descriptor = param.type_descriptor
    ours = conversion(descriptor.annotation, descriptor.parameter_info)
    assert ours is not None, f"{label}: {descriptor.annotation} is left to typer (pydantic would be imported)"
    theirs = _coercion.build_runtime_param(descriptor)
    samples = _samples(descriptor.annotation)
    assert samples, f"no samples for {descriptor.annotation}"
    for value in [None, *samples]:
        expected, got = _outcome(theirs, param, value), _outcome(ours, param, value)
        if expected[0] == "ok" and isinstance(expected[1], float) and expected[1] != expected[1]:
            assert got[0] == "ok" and got[1] != got[1], (label, value)
        elif expected[0] == "error":
            assert got[0] == "error", (label, value, got)
            assert got[1].startswith("must ") and "Input should" not in got[1], (label, value, got)
        else:
            assert got == expected, (label, value)


def test_install_covers_every_option_and_the_help_flag():
    command = typer.main.get_command(cli.app)
    install(command)
    for sub in [command, *command.commands.values()]:
        for param in sub.params:
            assert param._runtime_param is not None, (sub.name, param.name)
        help_option = sub.get_help_option(typer.Context(sub))
        assert help_option._runtime_param is not None


def test_no_command_imports_pydantic(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from autodiff.frontends.cli import main\n"
        "for argv in (['grad', 'x^2', '--at', 'x=1', '--order', '2', '--rtol', '1e-6', '--dtype', 'float32'],"
        " ['plot', 'sin(x)', '--at', 'x=0:1:5', '--width', '40', '--height', '10'], ['grad', '--help'],"
        " ['grad', 'x', '--at', 'x=1', '--order', 'abc', '--json']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('PYDANTIC' if 'pydantic' in sys.modules else 'CLEAN')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "CLEAN", result.stdout[-2000:] + result.stderr[-2000:]
