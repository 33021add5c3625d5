"""Option values from their text, for the few types our options have.

typer (from 0.2x on) converts every option value through a pydantic
TypeAdapter, and importing pydantic costs a one-shot `autodiff grad` about
150 ms, some 5% of the whole run. Our options are text, whole numbers and
decimals with bounds, lists of text and choices: `install` gives each such
option a converter of its own before the command runs. An option of any
other type, or a typer without this lazy conversion hook, keeps typer's own.
The messages are plain words ("must be at least 1, not 0"); the CLI puts
the option's name in front of them.
"""

import re
import typing
from enum import Enum
from typing import Any, Callable, Optional

_WHOLE = re.compile(r"\s*[+-]?[0-9]+\s*\Z")


def _bounded(number, info) -> None:
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    if low is not None and not number >= low:  # `not >=`: nan is out of bounds too
        raise ValueError(f"must be at least {low:g}, not {number:g}")
    if high is not None and not number <= high:
        raise ValueError(f"must be at most {high:g}, not {number:g}")


def _whole(text: Any, info) -> int:
    if isinstance(text, bool) or not isinstance(text, (int, str)):
        raise ValueError(f"must be a whole number, not {text!r}")
    if isinstance(text, str) and not _WHOLE.match(text):
        raise ValueError(f"must be a whole number, not {text!r}")
    number = int(text)
    _bounded(number, info)
    return number


def _decimal(text: Any, info) -> float:
    try:
        number = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"must be a number, not {text!r}") from None
    _bounded(number, info)
    return number


def _choice(kind: type) -> Callable[[Any, Any], Enum]:
    def convert(text: Any, info) -> Enum:
        if isinstance(text, kind):
            return text
        for member in kind:
            if member.value == text:
                return member
        allowed = ", ".join(member.value for member in kind)
        raise ValueError(f"must be one of {allowed}, not {text!r}")

    return convert


def _flag(value: Any, info) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be a flag without a value")
    return value


def _text(text: Any, info) -> str:
    if not isinstance(text, str):
        raise ValueError("must be text")
    return text


def _converter(annotation: Any) -> Optional[Callable[[Any, Any], Any]]:
    """The converter of one value of `annotation`, or None to keep typer's."""
    if annotation is str:
        return _text
    if annotation is bool:
        return _flag
    if annotation is int:
        return _whole
    if annotation is float:
        return _decimal
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _choice(annotation)
    return None


class _Conversion:
    """What typer's lazy runtime parameter does (`coerce`), for one option."""

    def __init__(self, convert: Callable[[Any, Any], Any], is_list: bool, info: Any):
        self.convert, self.is_list, self.info = convert, is_list, info

    def coerce(self, value: Any, param: Any = None, ctx: Any = None) -> Any:
        import typer

        several = getattr(param, "multiple", False) or getattr(param, "nargs", 1) == -1
        if value is None:
            return () if several else None
        try:
            if several and isinstance(value, str):
                raise ValueError("Value must be an iterable.")
            if self.is_list:
                items = value if isinstance(value, (list, tuple)) else [value]
                return [self.convert(item, self.info) for item in items]
            return self.convert(value, self.info)
        except ValueError as error:
            raise typer.BadParameter(str(error), ctx=ctx, param=param) from None


def conversion(annotation: Any, info: Any) -> Optional[_Conversion]:
    """A converter for an option declared as `annotation`, or None."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union and len(args) == 2 and type(None) in args:  # Optional[X]
        annotation = args[0] if args[1] is type(None) else args[1]
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and len(args) == 1:
        convert = _converter(args[0])
        return None if convert is None else _Conversion(convert, True, info)
    if origin is not None:
        return None
    convert = _converter(annotation)
    return None if convert is None else _Conversion(convert, False, info)


def install(command: Any) -> None:
    """Give every option of `command` (a click group or command from typer)
    that typer would convert through pydantic a converter of its own."""
    for sub in getattr(command, "commands", {}).values():
        install(sub)
    for param in getattr(command, "params", ()):
        _give(param)
        _name(param)
    help_option = getattr(command, "get_help_option", None)
    if help_option is not None:  # made on demand for each run, so given its converter then

        def get_help_option(ctx, made=help_option):
            return _give(made(ctx))

        command.get_help_option = get_help_option


# What --help calls a value, where the declaration names none (typer would
# show the Python type: `--at <list[str]>`, `--order <int range>`, `{expression}`).
METAVARS = {
    "at": "POINT", "start": "POINT", "wrt": "X[,Y…]", "expect": "VALUES", "order": "N", "jobs": "N",
    "width": "COLUMNS", "height": "ROWS", "rtol": "R", "atol": "A", "symbolic_timeout": "SECONDS",
    "grad_output": "W[,W…]", "expression": "EXPR", "expressions": "EXPR", "points": "N", "steps": "N",
    "lr": "RATE", "tol": "T", "shell": "SHELL", "idle": "SECONDS", "output": "FILE", "over": "X=A:B",
}


def _name(param: Any) -> None:
    """Give `param` a metavar from METAVARS, or its name in capitals, where
    it has none and is not a choice (`<float64|float32>` says what it takes)."""
    if getattr(param, "param_type_name", None) == "argument" and hasattr(param, "display_type_rich"):
        param.display_type_rich = _no_type  # its name says what it takes: `EXPR`, never `EXPR <str>`
    if getattr(param, "metavar", None) is not None or getattr(param, "is_flag", False):
        return
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, Enum):  # `<float64|float32>` says what it takes
        return
    name = getattr(param, "name", None)
    if name:
        param.metavar = METAVARS.get(name, name.upper())


def _no_type(ctx: Any) -> None:
    """An argument's type label in --help: none (typer would show `<str>`, `<list[str]>`)."""
    return None


def _give(param: Any) -> Any:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(param, "_runtime_param", False) is not None:
        return param  # not typer's lazy hook (another typer version), or already set
    if getattr(descriptor, "file_annotation", None) is None:
        own = conversion(descriptor.annotation, descriptor.parameter_info)
        if own is not None:
            param._runtime_param = own
    return param
