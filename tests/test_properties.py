"""Property tests over generated expression trees.

A Hypothesis strategy writes random expression TEXT in autodiff's own
language (+ - * / ^ **, unary minus, parentheses, implicit multiplication,
constants, and the smooth functions of the table) over x and y, up to depth
4. Functions with a restricted real domain are only ever applied to
subtrees that keep them in it (log(1 + u^2), sqrt(2 + sin(u)),
asin(tanh(u)/2), denominators like 2 + cos(u), ...), so for most points the
value is real; what remains ill-conditioned (exp(exp(...)) overflowing, huge
values) is filtered out by magnitude, with the reason at the filter.

Properties:
  (a) three-way agreement: autograd, the symbolic derivative and the
      finite-difference witness agree, checked here on the numbers
      themselves, not only through the product's own `agree`;
  (b) parsing never raises anything but AutodiffError (generated text parses;
      token soup either parses or raises AutodiffError, never a traceback);
  (c) the JSON of any result is strict JSON (non-finite numbers as strings);
  (d) printing round-trips: parse(text) == parse(str(parse(text)) with ** as ^).
"""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import HealthCheck, assume, example, given, note, settings
from hypothesis import strategies as st

from autodiff.api import grad
from autodiff.errors import AutodiffError
from autodiff.functions import CONSTANTS_BY_NAME, FUNCTIONS_BY_NAME
from autodiff.parsing import parse_expression

SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), database=None)

# --------------------------------------------------------------------------
# the generator

VARIABLES = ["x", "y"]
NUMBERS = ["2", "3", "1", "0.5", ".5", "1.5", "1e-1", "2.5E+0", "0.25"]
LEAVES = st.one_of(
    st.sampled_from(VARIABLES),
    st.sampled_from(NUMBERS),
    st.sampled_from(["pi", "e", "E"]),
    # implicit multiplication of a number and a name: 2x, 3y, 2pi, 0.5x
    st.sampled_from(["2x", "3y", "2pi", "0.5x", "2 x", "4y"]),
)

# One subtree {0}. Every function with a restricted domain gets an argument
# that is in its domain for every real value of the subtree.
UNARY = [
    "sin({0})", "cos({0})", "tanh({0})", "sigmoid({0})", "softplus({0})", "atan({0})",
    "asinh({0})", "erf({0})", "erfc({0})", "sinh({0})", "cosh({0})", "exp({0})", "expm1({0})",
    "log(1 + ({0})^2)", "log(2 + sin({0}), 3)", "ln(exp({0}))", "log2(1 + ({0})**2)",
    "log10(2 + cos({0}))", "log1p(({0})^2)", "log1p(sigmoid({0}))",
    "sqrt(1 + ({0})^2)", "sqrt(2 + sin({0}))", "cbrt(1 + ({0})^2)", "cbrt(-2 - ({0})^2)",
    "tan(sin({0}))", "asin(tanh({0})/2)", "acos(sin({0})/2)", "atanh(tanh({0})/2)",
    "acosh(2 + ({0})^2)", "sec(sin({0}))", "lgamma(2 + ({0})^2)", "gamma(1 + sigmoid({0}))",
    "-{0}", "-({0})", "+({0})", "({0})^2", "({0})**3", "pow({0}, 2)", "(1 + ({0})^2)^-1",
    "(1 + ({0})^2)^0.5", "(2 + cos({0}))^(1/3)", "1/(2 + cos({0}))", "2({0})", "3 sin({0})",
    "2^sin({0})", "e^tanh({0})",
]
# Two subtrees {0}, {1}.
BINARY = [
    "{0} + {1}", "{0} - {1}", "{0} * {1}", "({0}) - ({1})", "({0})*({1})", "({0})({1})",
    "{0} / (1 + ({1})^2)", "({0}) / (2 + cos({1}))", "hypot({0}, 1 + ({1})^2)",
    "atan2({0}, 2 + sin({1}))", "atan2(1 + ({0})^2, {1})", "(1 + ({0})^2)^sigmoid({1})",
    "(2 + sin({0}))^tanh({1})", "detach({0}) * ({1})", "({0}) + detach({1})",
]


@st.composite
def expressions(draw, depth=4):
    """Expression text of nesting depth at most `depth`."""
    if depth == 0 or draw(st.integers(0, 9)) < 2:
        return draw(LEAVES)
    kind = draw(st.sampled_from(["unary", "binary", "binary"]))
    if kind == "unary":
        return draw(st.sampled_from(UNARY)).format(draw(expressions(depth - 1)))
    template = draw(st.sampled_from(BINARY))
    return template.format(draw(expressions(depth - 1)), draw(expressions(depth - 1)))


COORDINATES = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
POINTS = st.fixed_dictionaries({"x": COORDINATES, "y": COORDINATES})


def _finite_numbers(*values) -> bool:
    return all(isinstance(v, float) and math.isfinite(v) for v in values)


# --------------------------------------------------------------------------
# (a) three-way agreement


def _check_three_way(text: str, at: dict, order: int = 1) -> None:
    note(f"text={text!r} at={at} order={order}")
    result = grad(text, at, order=order)
    # Ill-conditioned draws are filtered, not tested: a value that is not
    # finite or beyond 1e6 (exp(exp(exp(...))) and the like) makes the
    # finite-difference witness meaningless at a fixed relative step.
    assume(_finite_numbers(result.value) and abs(result.value) < 1e6)
    entries = list(result.gradient.values())
    for entry in entries:
        assume(_finite_numbers(entry.autograd) and abs(entry.autograd) < 1e6)
    assert result.checked_by == "symbolic", result.warnings
    for name, entry in result.gradient.items():
        note(f"d/d{name}: {entry}")
        # autograd and the symbolic derivative: the same number to ~float64 accuracy
        assert _finite_numbers(entry.symbolic_value), entry
        assert math.isclose(entry.autograd, entry.symbolic_value, rel_tol=1e-7, abs_tol=1e-9), entry
        # the finite-difference witness, in float64
        assert _finite_numbers(entry.numeric), entry
        rtol, atol = (1e-5, 1e-6) if order == 1 else (1e-3, 1e-4)
        assert math.isclose(entry.autograd, entry.numeric, rel_tol=rtol, abs_tol=atol), entry
        assert entry.agree is True and entry.numeric_agree is True, entry
    assert result.agree is True and result.exit_code == 0
    assert result.warnings == []


@settings(max_examples=150, **SETTINGS)
@given(text=expressions(), at=POINTS)
@example(text="sin(exp(x)) + log(1 + y^2)", at={"x": 0.7, "y": -1.3})
@example(text="2x*(y) + (x+1)(y-1)", at={"x": 0.5, "y": 2.0})
def test_autograd_symbolic_and_finite_differences_agree(text, at):
    _check_three_way(text, at)


@settings(max_examples=40, **SETTINGS)
@given(text=expressions(depth=3), at=POINTS)
def test_second_derivatives_agree(text, at):
    _check_three_way(text, at, order=2)


# --------------------------------------------------------------------------
# (b) parsing


@settings(max_examples=300, **SETTINGS)
@given(text=expressions())
def test_generated_text_parses(text):
    # The generator only writes valid text: it must parse, and only into
    # the variables it names.
    expr = parse_expression(text)
    assert {s.name for s in expr.free_symbols} <= {"x", "y"}


TOKENS = [
    "x", "y", "xy", "2", "0.5", ".5", "1e-3", "2.5E+4", "1e", "pi", "e", "E", "inf",
    "+", "-", "*", "/", "^", "**", "(", ")", "(", ")", ",", " ", "[", "]",
    "<", "<=", ">", ">=", "==", "!=", "=", ".", "!", "%", "'", "@", "\t",
    "sin", "log", "atan2", "hypot", "where", "clamp", "min", "max", "pow", "detach", "heaviside",
    "gamma", "sign", "floor", "abs", "sqrt", "cbrt", "lgamma", "relu", "__import__", "lambda",
    "9^9^9", "10^400", "1e400", "0^-1", "0/0",
]


@settings(max_examples=400, **SETTINGS)
@given(st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=14).map("".join),
    st.text(alphabet="xy0123456789.eE+-*/^()<>=!, ", max_size=20),
    st.text(max_size=12),
))
def test_any_text_parses_or_raises_autodiff_error(text):
    try:
        parse_expression(text)
    except AutodiffError as error:
        assert error.message and "\n" not in error.message


@settings(max_examples=150, **SETTINGS)
@given(st.lists(st.sampled_from([t for t in TOKENS if t not in ("heaviside",)]), max_size=10).map("".join),
       POINTS)
def test_grad_on_any_text_raises_only_autodiff_error(text, at):
    # heaviside is left out: it raises RuntimeError from torch (a known bug,
    # tests/test_oracle.py::test_bug_heaviside_minimal).
    try:
        result = grad(text, at, symbolic_timeout=2.0)
    except AutodiffError:
        return
    json.dumps(result.to_json(), allow_nan=False)


# --------------------------------------------------------------------------
# (c) strict JSON, also where the generated function leaves its domain

# Templates that deliberately leave the real domain or hit poles.
WILD_UNARY = UNARY + ["log({0})", "sqrt({0})", "1/({0})", "asin({0})", "acosh({0})", "atanh({0})",
                      "gamma({0})", "lgamma({0})", "cot({0})", "csc({0})", "({0})^-2", "({0})^0.5",
                      "cbrt({0})", "abs({0})", "relu({0})", "sign({0})", "floor({0})", "ceil({0})"]
WILD_BINARY = BINARY + ["({0}) / ({1})", "({0})^({1})", "pow({0}, {1})", "atan2({0}, {1})", "hypot({0}, {1})",
                        "log({0}, {1})", "max({0}, {1}, 0)", "min({0}, {1})", "where({0} > {1}, {0}, {1})",
                        "clamp({0}, -1, {1})"]


@st.composite
def wild_expressions(draw, depth=3):
    if depth == 0 or draw(st.integers(0, 9)) < 2:
        return draw(st.one_of(LEAVES, st.sampled_from(["0", "inf", "-inf", "1e308"])))
    if draw(st.booleans()):
        return draw(st.sampled_from(WILD_UNARY)).format(draw(wild_expressions(depth - 1)))
    template = draw(st.sampled_from(WILD_BINARY))
    return template.format(draw(wild_expressions(depth - 1)), draw(wild_expressions(depth - 1)))


WILD_POINTS = st.fixed_dictionaries({
    "x": st.one_of(COORDINATES, st.sampled_from([0.0, -1.0, 1.0, 1e-300, 1e300, -2.0])),
    "y": st.one_of(COORDINATES, st.sampled_from([0.0, -1.0, 1.0])),
})


def _reject_constant(name):
    raise ValueError(f"non-strict JSON constant {name}")


def _only_strings_for_nonfinite(value):
    if isinstance(value, float):
        assert math.isfinite(value)
    elif isinstance(value, str):
        return
    elif isinstance(value, list):
        for item in value:
            _only_strings_for_nonfinite(item)


@settings(max_examples=100, **SETTINGS)
@given(text=wild_expressions(), at=WILD_POINTS, vector=st.booleans())
@example(text="log(x)", at={"x": -1.0, "y": 0.0}, vector=False)
@example(text="1/x", at={"x": 0.0, "y": 0.0}, vector=True)
def test_json_is_always_strict(text, at, vector):
    note(f"text={text!r} at={at}")
    if vector:
        at = {"x": [at["x"], 0.5, -at["x"]], "y": at["y"]}
    result = grad(text, at, symbolic_timeout=2.0)
    data = result.to_json()
    encoded = json.dumps(data, allow_nan=False)
    decoded = json.loads(encoded, parse_constant=_reject_constant)
    assert decoded == data
    for key in ("value",):
        _only_strings_for_nonfinite(decoded[key])
    for entry in decoded["gradient"].values():
        for column in ("autograd", "symbolic_value", "numeric"):
            _only_strings_for_nonfinite(entry[column])
            if isinstance(entry[column], str):
                assert entry[column] in ("nan", "inf", "-inf")


# --------------------------------------------------------------------------
# (d) printing round-trips through the parser

_NAME_CALL = re.compile(r"([^\W\d]\w*)(\s*\()?")


def _in_language(printed: str) -> bool:
    """Whether SymPy's printed text uses only names of autodiff's language."""
    for match in _NAME_CALL.finditer(printed):
        name, call = match.group(1), match.group(2)
        if call:
            if name not in FUNCTIONS_BY_NAME:
                return False  # Piecewise, loggamma, polygamma, Heaviside, Abs, ...
        elif name not in CONSTANTS_BY_NAME and name not in ("x", "y"):
            return False  # I, oo, zoo, nan, ...
    return True


@settings(max_examples=300, **SETTINGS)
@given(text=expressions())
@example(text="-x^2 + 2x*(1)")
@example(text="2^x^2")
@example(text="x - (y - 1.5)")
def test_printing_round_trips(text):
    first = parse_expression(text)
    printed = str(first).replace("**", "^")
    assume(_in_language(printed))
    note(f"printed={printed!r}")
    second = parse_expression(printed)
    assert second == first, (printed, second)


def test_generator_covers_the_language():
    # The templates must name every smooth function the brief lists.
    templates = " ".join(UNARY + BINARY)
    for name in ["sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sigmoid", "softplus", "atan", "asinh",
                 "erf", "sinh", "cosh", "cbrt", "log1p", "expm1", "hypot", "atan2", "log2", "log10", "ln",
                 "asin", "acos", "atanh", "acosh", "pow", "erfc", "gamma", "lgamma", "sec", "detach"]:
        assert f"{name}(" in templates, name
    for token in ["^", "**", "/", "-{0}", "({0})({1})", "2({0})"]:
        assert token in templates, token
