"""Unit tests of the expression parser (design §2) and of --at points (§3).

Expected trees are built here with SymPy directly, never through the parser,
so a wrong tree cannot agree with itself. Variables are real symbols, as the
parser makes them.
"""

from __future__ import annotations

import math

import pytest
import sympy

from autodiff.errors import AutodiffError, LimitError, ParseError, PointError
from autodiff.language.functions import CONSTANTS, FUNCTIONS, FUNCTIONS_BY_NAME
from autodiff.limits import Limits
from autodiff.language.parsing import parse_expression, parse_list
from autodiff.engine.values import parse_assignments
from autodiff.points import Point, natural_order


def S(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, real=True)


x, y, z = S("x"), S("y"), S("z")


def same(parsed, expected) -> None:
    """Structurally the same tree (==), and the same type at the root."""
    assert parsed == expected, (sympy.srepr(parsed), sympy.srepr(expected))
    assert type(parsed) is type(expected), (sympy.srepr(parsed), sympy.srepr(expected))


def parse_error(text: str, **kwargs) -> AutodiffError:
    with pytest.raises(AutodiffError) as info:
        parse_expression(text, **kwargs)
    return info.value


# ---------------------------------------------------------------------------
# Symbols
# ---------------------------------------------------------------------------


def test_variables_are_real_symbols():
    parsed = parse_expression("x")
    assert parsed == S("x")
    assert parsed != sympy.Symbol("x"), "a plain (complex) symbol is a different symbol"
    assert parsed.is_real is True


@pytest.mark.parametrize("name", ["u", "theta", "x1", "lr_2", "xy", "alpha_beta", "X", "θ"])
def test_any_identifier_is_one_variable(name):
    parsed = parse_expression(name)
    same(parsed, S(name))
    assert parsed.free_symbols == {S(name)}


def test_xy_is_one_variable_never_a_product():
    parsed = parse_expression("xy")
    assert parsed.free_symbols == {S("xy")}
    assert parsed != x * y


def test_the_same_name_is_the_same_symbol():
    same(parse_expression("x + x"), 2 * x)
    same(parse_expression("x*x"), x**2)


# ---------------------------------------------------------------------------
# Precedence and associativity
# ---------------------------------------------------------------------------


def test_unary_minus_binds_looser_than_power():
    parsed = parse_expression("-x^2")
    same(parsed, -(x**2))
    assert parsed != (-x) ** 2
    assert parse_expression("-2^2") == -4
    assert parse_expression("(-2)^2") == 4


def test_power_is_right_associative():
    same(parse_expression("2^3^2"), sympy.Integer(512))
    assert parse_expression("2^3^2") != 64
    parsed = parse_expression("x^y^z")
    same(parsed, sympy.Pow(x, sympy.Pow(y, z)))
    assert parsed != sympy.Pow(sympy.Pow(x, y), z)


def test_negative_exponent():
    same(parse_expression("x^-2"), sympy.Pow(x, -2))
    same(parse_expression("2^-3^2"), sympy.Rational(1, 512))
    same(parse_expression("x**-y**2"), sympy.Pow(x, -(y**2)))


def test_unary_minus_after_an_operator():
    same(parse_expression("2*-x"), -2 * x)
    same(parse_expression("x/-y"), -x / y)
    same(parse_expression("--x"), x)
    same(parse_expression("-+-x"), x)
    same(parse_expression("+x"), x)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1 + 2*3", sympy.Integer(7)),
        ("(1 + 2)*3", sympy.Integer(9)),
        ("x - y - z", x - y - z),
        ("x / y / z", x / (y * z)),
        ("x / y * z", x * z / y),
        ("x - (y - z)", x - y + z),
        ("2*x^2", 2 * x**2),
        ("x*y^2", x * y**2),
        ("(x*y)^2", (x * y) ** 2),
        ("x^2^-1", x ** sympy.Rational(1, 2)),
        ("-x*y", -x * y),
        ("1/3", sympy.Rational(1, 3)),
    ],
)
def test_precedence_table(text, expected):
    same(parse_expression(text), expected)


@pytest.mark.parametrize(
    "caret, stars",
    [("x^2", "x**2"), ("x^y^z", "x**y**z"), ("-x^2", "-x**2"), ("2^3^2", "2**3**2"), ("x^-y", "x**-y"),
     ("(x+1)^(y-1)", "(x+1)**(y-1)"), ("e^x", "e**x")],
)
def test_caret_and_double_star_are_the_same_operator(caret, stars):
    same(parse_expression(caret), parse_expression(stars))


def test_mixed_power_operators_are_right_associative():
    same(parse_expression("x^y**z"), sympy.Pow(x, sympy.Pow(y, z)))
    same(parse_expression("x**y^z"), sympy.Pow(x, sympy.Pow(y, z)))


# ---------------------------------------------------------------------------
# Implicit multiplication
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2x", 2 * x),
        ("2(x+1)", 2 * (x + 1)),
        ("(x+1)(x-1)", (x + 1) * (x - 1)),
        ("2 sin(x)", 2 * sympy.sin(x)),
        ("2sin(x)", 2 * sympy.sin(x)),
        ("2x^2", 2 * x**2),
        ("3x y", 3 * x * y),
        ("2pi", 2 * sympy.pi),
        ("2(x)(y)", 2 * x * y),
        ("sin(x)(x+1)", sympy.sin(x) * (x + 1)),
        ("(y+1) x", (y + 1) * x),
    ],
)
def test_implicit_multiplication(text, expected):
    same(parse_expression(text), expected)


def test_implicit_multiplication_binds_like_explicit():
    # 2x^2 is 2*(x^2), not (2x)^2; 1/2x is (1/2)*x as with '*'
    assert parse_expression("2x^2") != (2 * x) ** 2
    same(parse_expression("1/2x"), parse_expression("1/2*x"))
    same(parse_expression("-2x"), -2 * x)


def test_name_followed_by_paren_is_a_call():
    error = parse_error("x(y)")
    assert isinstance(error, ParseError)
    assert error.position == 1
    assert "unknown function 'x'" in error.message


def test_number_after_a_factor_needs_an_operator():
    error = parse_error("x 2")
    assert error.position == 3
    assert "missing operator before the number 2" in error.message


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, value", [("3", 3), ("0", 0), ("007", 7), ("12345678901234567890", 12345678901234567890)])
def test_integers_stay_exact(text, value):
    parsed = parse_expression(text)
    assert isinstance(parsed, sympy.Integer)
    assert int(parsed) == value


@pytest.mark.parametrize(
    "text, value",
    [("3.5", 3.5), (".5", 0.5), ("1e-3", 0.001), ("2.5E+4", 25000.0), ("1.", 1.0), ("1.e3", 1000.0), ("0.25e1", 2.5),
     ("6E2", 600.0)],
)
def test_decimals_are_floats(text, value):
    parsed = parse_expression(text)
    assert isinstance(parsed, sympy.Float), sympy.srepr(parsed)
    assert float(parsed) == value


@pytest.mark.parametrize("text, value", [("1.", 1), ("2.0", 2), ("007.00", 7), ("0.0", 0), ("2e1", 20), ("-3.0", -3)])
def test_whole_decimal_exponents_are_integers(text, value):
    # x^2.0 is x^2: its derivative is 2*x, not 2.0*x**1.0 (design §10).
    same(parse_expression(f"x^{text}" if not text.startswith("-") else f"x^({text})"), x**value)


def test_whole_decimal_bases_stay_floats():
    parsed = parse_expression("2.0^x")
    assert isinstance(parsed.base, sympy.Float)


def test_exact_arithmetic_on_integers():
    same(parse_expression("10^20"), sympy.Integer(10**20))
    same(parse_expression("2/4"), sympy.Rational(1, 2))
    same(parse_expression("x/2"), x / 2)
    assert isinstance(parse_expression("x/2").args[0], sympy.Rational)


# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected", [("pi", sympy.pi), ("e", sympy.E), ("E", sympy.E), ("inf", sympy.oo)]
)
def test_constants(text, expected):
    parsed = parse_expression(text)
    assert parsed is expected or parsed == expected
    assert parsed.free_symbols == set()


def test_every_constant_in_the_table_parses_to_a_number():
    for spec in CONSTANTS:
        parsed = parse_expression(spec.name)
        assert parsed.free_symbols == set(), spec.name
        assert parsed == spec.symbolic(sympy)


def test_constants_in_expressions():
    same(parse_expression("e^x"), sympy.exp(x))
    same(parse_expression("2*pi*x"), 2 * sympy.pi * x)
    same(parse_expression("-inf"), -sympy.oo)


def test_names_that_only_start_like_constants_are_variables():
    for name in ["pi2", "e2", "infx", "Ex", "pie"]:
        assert parse_expression(name) == S(name)


# ---------------------------------------------------------------------------
# Functions: every entry of the one table, at its documented arity.
# ---------------------------------------------------------------------------

_ARG_NAMES = ["u1", "u2", "u3", "u4"]


def _arities(spec) -> list[int]:
    """Counts to try: the least, and the most (or one more, for n-ary)."""
    counts = {spec.min_args}
    counts.add(spec.min_args + 1 if spec.max_args is None else spec.max_args)
    return sorted(counts)


def _call(spec, count: int) -> tuple[str, list]:
    """Text of a call with `count` arguments, and the SymPy arguments."""
    names = _ARG_NAMES[:count]
    args = [S(name) for name in names]
    texts = list(names)
    if spec.name == "where" and count:
        texts[0] = "u1 > 0"
        args[0] = sympy.Gt(S("u1"), 0)
    return f"{spec.name}({', '.join(texts)})", args


_GOOD_CALLS = [(spec, n) for spec in FUNCTIONS for n in _arities(spec)]


@pytest.mark.parametrize("spec, count", _GOOD_CALLS, ids=[f"{s.name}-{n}" for s, n in _GOOD_CALLS])
def test_every_function_parses_at_its_arity(spec, count):
    text, args = _call(spec, count)
    parsed = parse_expression(text)
    expected = spec.symbolic(sympy)(*args)
    assert parsed == expected, (text, sympy.srepr(parsed), sympy.srepr(expected))
    # the arguments are all there: no variable was dropped or invented
    assert parsed.free_symbols == {S(name) for name in _ARG_NAMES[:count]}


def _bad_counts(spec) -> list[int]:
    counts = []
    if spec.min_args > 0:
        counts.append(spec.min_args - 1)
    if spec.max_args is not None:
        counts.append(spec.max_args + 1)
    return counts


_BAD_CALLS = [(spec, n) for spec in FUNCTIONS for n in _bad_counts(spec)]


@pytest.mark.parametrize("spec, count", _BAD_CALLS, ids=[f"{s.name}-{n}" for s, n in _BAD_CALLS])
def test_every_function_rejects_a_wrong_arity(spec, count):
    text, _ = _call(spec, count)
    error = parse_error(text)
    assert isinstance(error, ParseError)
    assert error.type == "parse_error"
    assert f"{spec.name}() takes" in error.message
    assert f"got {count}" in error.message
    assert spec.signature in error.message
    # no arguments: the caret is under '('; too many or too few: under ')'
    expected_column = len(spec.name) + 1 if count == 0 else len(text)
    assert error.position == expected_column, (text, error.message)
    assert f"at column {expected_column}" in error.message


@pytest.mark.parametrize("spec", FUNCTIONS, ids=[s.name for s in FUNCTIONS])
def test_every_function_name_is_not_a_variable(spec):
    error = parse_error(spec.name)
    assert f"{spec.name} is a function" in error.message
    assert error.position == 1
    error = parse_error(f"2*{spec.name} + 1")
    assert error.position == 3


def test_the_table_has_the_documented_functions():
    """Design §2 lists these; the table may grow, never lose one."""
    documented = (
        "sin cos tan sec csc cot asin acos atan atan2 sinh cosh tanh asinh acosh atanh exp expm1 log ln "
        "log2 log10 log1p sqrt cbrt abs sign floor ceil min max erf erfc gamma lgamma sigmoid relu softplus "
        "heaviside where clamp hypot pow detach"
    ).split()
    assert set(documented) <= set(FUNCTIONS_BY_NAME)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sin(x)", sympy.sin(x)),
        ("cos(x)", sympy.cos(x)),
        ("tan(x)", sympy.tan(x)),
        ("sec(x)", sympy.sec(x)),
        ("asin(x)", sympy.asin(x)),
        ("atan2(y, x)", sympy.atan2(y, x)),
        ("tanh(x)", sympy.tanh(x)),
        ("exp(x)", sympy.exp(x)),
        ("log(x)", sympy.log(x)),
        ("ln(x)", sympy.log(x)),
        ("sqrt(x)", sympy.sqrt(x)),
        ("abs(x)", sympy.Abs(x)),
        ("sign(x)", sympy.sign(x)),
        ("min(x, y)", sympy.Min(x, y)),
        ("max(x, y, z)", sympy.Max(x, y, z)),
        ("erf(x)", sympy.erf(x)),
        ("gamma(x)", sympy.gamma(x)),
        ("lgamma(x)", sympy.loggamma(x)),
        ("heaviside(x)", sympy.Heaviside(x)),
        ("clamp(x, 0, 1)", sympy.Min(sympy.Max(x, 0), 1)),
        ("pow(x, y)", x**y),
        ("pow(x, 2)", x**2),
    ],
)
def test_functions_build_the_sympy_nodes(text, expected):
    same(parse_expression(text), expected)


def test_functions_of_our_own_evaluate_as_documented():
    assert parse_expression("cbrt(-8)") == -2, "the real cube root"
    assert parse_expression("sigmoid(0)") == sympy.Rational(1, 2)
    assert parse_expression("relu(-3)") == 0
    assert parse_expression("relu(3)") == 3
    assert parse_expression("heaviside(0)") == sympy.Rational(1, 2)


def test_log_with_a_base():
    parsed = parse_expression("log(x, 2)")
    same(parsed, sympy.log(x) / sympy.log(2))
    assert parse_expression("log(8, 2)") == 3
    same(parse_expression("log(x, e)"), sympy.log(x))


def test_where_is_a_piecewise():
    parsed = parse_expression("where(x > 0, x, -x)")
    assert isinstance(parsed, sympy.Piecewise)
    same(parsed, sympy.Piecewise((x, sympy.Gt(x, 0)), (-x, True)))
    assert parsed.subs(x, 3) == 3
    assert parsed.subs(x, -3) == 3


@pytest.mark.parametrize(
    "op, relation",
    [("<", sympy.Lt), ("<=", sympy.Le), (">", sympy.Gt), (">=", sympy.Ge), ("==", sympy.Eq), ("!=", sympy.Ne)],
)
def test_where_accepts_every_comparison(op, relation):
    parsed = parse_expression(f"where(x {op} y, 1, 2)")
    same(parsed, sympy.Piecewise((1, relation(x, y)), (2, True)))


def test_where_condition_sides_are_full_expressions():
    parsed = parse_expression("where(x^2 + 1 >= 2y, sin(x), 0)")
    same(parsed, sympy.Piecewise((sympy.sin(x), sympy.Ge(x**2 + 1, 2 * y)), (0, True)))


def test_detach_has_no_derivative():
    parsed = parse_expression("detach(x^2)")
    assert parsed.free_symbols == {x}
    assert sympy.diff(parsed, x) == 0
    # only the detached part loses its derivative
    mixed = parse_expression("x * detach(x)")
    assert sympy.diff(mixed, x) == parse_expression("detach(x)")
    assert parse_expression("detach(3)") == 3


def test_nested_calls():
    same(parse_expression("sin(cos(x))"), sympy.sin(sympy.cos(x)))
    same(parse_expression("max(min(x, y), 0)"), sympy.Max(sympy.Min(x, y), 0))


# ---------------------------------------------------------------------------
# Lists (only where allowed)
# ---------------------------------------------------------------------------


def test_parse_list():
    assert parse_list("[x, y^2]") == [x, y**2]
    assert parse_list("x + 1") == [x + 1]
    error = parse_error("[x, y]")
    assert error.position == 1
    with pytest.raises(ParseError) as info:
        parse_list("[x, y")
    assert info.value.position == 6


# ---------------------------------------------------------------------------
# Error columns
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, column, words",
    [
        ("x+", 3, "unexpected end of input"),
        ("(x", 3, "expected ')'"),
        ("x)", 2, "unexpected ')'"),
        ("2 3", 3, "missing operator"),
        ("sin(x, y)", 9, "takes 1 argument"),
        ("x + $", 5, "unexpected character '$'"),
        ("foo(x)", 1, "unknown function 'foo'"),
        ("x + sin", 5, "sin is a function"),
        ("x * (y + )", 10, "unexpected ')'"),
        ("where(x, 1, 0)", 8, "a comparison"),
        ("1 + where(x > 0 > y, 1, 0)", 17, "chained comparisons"),
        ("  x = 1", 5, "'=' is not an operator"),
        ("x.y", 2, "attribute access"),
        ("if + 1", 1, "reserved word"),
        ("a + __b", 5, "reserved word"),
        ("x +* y", 4, "unexpected '*'"),
        ("", 1, "empty expression"),
    ],
)
def test_error_columns(text, column, words):
    error = parse_error(text)
    assert isinstance(error, ParseError)
    assert error.type == "parse_error"
    assert error.position == column, (text, error.message)
    assert words in error.message
    assert error.message.endswith(f"at column {column}")
    assert error.source == text
    assert error.to_json() == {"error": {"type": "parse_error", "message": error.message, "position": column}}


def test_misspelt_function_suggests_the_right_one():
    assert "did you mean 'sin'?" in parse_error("sine(x)").message
    assert "did you mean 'sqrt'?" in parse_error("sqr(x)").message
    assert "did you mean 'exp'?" in parse_error("epx(x)").message


# ---------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------


def test_limits_are_errors_of_their_own_type():
    error = parse_error("9^9^9^9")
    assert isinstance(error, LimitError)
    assert error.type == "limit_exceeded"
    assert error.position == 4
    assert error.exit_code == 2


def test_custom_limits():
    error = parse_error("x+x", limits=Limits(max_length=2))
    assert isinstance(error, LimitError)
    assert "the limit is 2" in error.message
    assert error.position is None
    assert parse_expression("x+x", limits=Limits(max_length=3)) == 2 * x

    assert parse_expression("((x))", limits=Limits(max_depth=3)) == x
    error = parse_error("((x))", limits=Limits(max_depth=2))
    assert isinstance(error, LimitError)
    assert "deeper than 2 levels" in error.message

    assert parse_expression("123", limits=Limits(max_integer_digits=3)) == 123
    error = parse_error("1234", limits=Limits(max_integer_digits=3))
    assert isinstance(error, LimitError)
    assert "integer literal of 4 digits" in error.message

    error = parse_error("10^6", limits=Limits(max_exact_digits=5))
    assert isinstance(error, LimitError)
    assert error.position == 3
    assert parse_expression("10^5", limits=Limits(max_exact_digits=5)) == 10**5


def test_honest_deep_nesting_is_fine():
    assert parse_expression("(" * 90 + "x" + ")" * 90) == x
    assert parse_expression("-" * 90 + "x") == x


def test_floats_and_symbols_in_powers_are_not_exact_powers():
    # only exact rational ** integer is bounded; these are cheap
    assert parse_expression("9.0^9^9") > 0
    same(parse_expression("x^(10^100)"), x ** sympy.Integer(10**100))
    assert parse_expression("1^(10^100)") == 1
    assert parse_expression("0^(10^100)") == 0


# ---------------------------------------------------------------------------
# Caret lines
# ---------------------------------------------------------------------------


def test_caret_lines_short():
    assert ParseError("m", "x+", 3).caret_lines() == ["  x+", "    ^"]
    assert ParseError("m", "sin(x, y)", 9).caret_lines() == ["  sin(x, y)", "          ^"]
    assert ParseError("m", "", 1).caret_lines() == ["  ", "  ^"]


def test_caret_lines_from_a_real_error():
    with pytest.raises(ParseError) as info:
        parse_expression("1 + 2 * $ + 3")
    shown, caret = info.value.caret_lines()
    assert shown == "  1 + 2 * $ + 3"
    assert caret == "          ^"
    assert shown[caret.index("^")] == "$"


def test_caret_lines_without_a_place():
    assert ParseError("m").caret_lines() == []
    assert ParseError("m", "x+", None).caret_lines() == []
    assert ParseError("m", "x\n+", 3).caret_lines() == [], "no caret under a multi-line text"


@pytest.mark.parametrize("position", [1, 30, 51, 120, 151])
def test_caret_lines_are_windowed_for_long_text(position):
    source = "".join(chr(ord("a") + i % 26) for i in range(150))
    shown, caret = ParseError("m", source, position).caret_lines()
    index = caret.index("^")
    assert caret == " " * index + "^"
    assert len(shown) <= 2 + 1 + 76 + 1
    if position <= len(source):
        assert shown[index] == source[position - 1]
    else:  # end of input: just past the last character shown
        assert index == len(shown)
    assert shown.startswith("  …") == (position > 39)
    assert shown.endswith("…") == (position < 114)


def test_caret_lines_width():
    source = "x" * 40 + "$" + "y" * 40
    shown, caret = ParseError("m", source, 41).caret_lines(width=20)
    assert shown[caret.index("^")] == "$"
    assert shown.startswith("  …") and shown.endswith("…")
    assert len(shown) == 2 + 1 + 20 + 1


# ---------------------------------------------------------------------------
# Points: parse_assignments and natural_order
# ---------------------------------------------------------------------------


def test_scalar():
    point = parse_assignments(["x=3"])
    assert isinstance(point, Point)
    assert point.values == {"x": 3.0}
    assert isinstance(point.values["x"], float)
    assert point.size is None
    assert bool(point)


@pytest.mark.parametrize(
    "text, value",
    [("x=pi/4", math.pi / 4), ("x=sqrt(2)", math.sqrt(2)), ("x=1e-3", 0.001), ("x=-2", -2.0), ("x=2^10", 1024.0),
     ("x=e", math.e), ("x = 3", 3.0), ("x=log(8, 2)", 3.0), ("x=max(1, 2)", 2.0)],
)
def test_values_are_constant_expressions(text, value):
    assert parse_assignments([text]).values["x"] == pytest.approx(value, rel=1e-15)


def test_vector():
    point = parse_assignments(["x=[1,2,3]"])
    assert point.values == {"x": [1.0, 2.0, 3.0]}
    assert point.size == 3
    assert parse_assignments(["x=[pi, 2pi]"]).values["x"] == pytest.approx([math.pi, 2 * math.pi])
    assert parse_assignments(["x = [ 1 , 2 ]"]).values["x"] == [1.0, 2.0]
    assert parse_assignments(["x=[max(1, 2), 3]"]).values["x"] == [2.0, 3.0]


def test_grid_includes_both_ends():
    values = parse_assignments(["x=-5:5:101"]).values["x"]
    assert len(values) == 101
    assert values[0] == -5.0 and values[-1] == 5.0
    assert values[50] == pytest.approx(0.0, abs=1e-12)
    assert all(b - a == pytest.approx(0.1) for a, b in zip(values, values[1:]))
    assert parse_assignments(["x=0:1:3"]).values["x"] == [0.0, 0.5, 1.0]
    assert parse_assignments(["x=0:1:2"]).values["x"] == [0.0, 1.0]
    assert parse_assignments(["x=0:1:1"]).values["x"] == [0.0]
    assert parse_assignments(["x=1:0:3"]).values["x"] == [1.0, 0.5, 0.0], "a descending grid"
    assert parse_assignments(["x=0:pi:3"]).values["x"] == pytest.approx([0.0, math.pi / 2, math.pi])
    assert parse_assignments(["x= 0 : 1 : 3 "]).values["x"] == [0.0, 0.5, 1.0]


def test_grid_end_is_exact():
    values = parse_assignments(["x=0:0.7:8"]).values["x"]
    assert values[-1] == 0.7


def test_comma_separated_and_repeated():
    assert parse_assignments(["x=3,y=4"]).values == {"x": 3.0, "y": 4.0}
    assert parse_assignments(["x=3", "y=4"]).values == {"x": 3.0, "y": 4.0}
    point = parse_assignments(["x=3,y=[1,2]", "z=0:1:2"])
    assert point.values == {"x": 3.0, "y": [1.0, 2.0], "z": [0.0, 1.0]}
    assert point.size == 2
    assert list(point.values) == ["x", "y", "z"], "the order given is kept"


def test_commas_inside_brackets_do_not_split():
    point = parse_assignments(["x=max(1,2),y=[1,2]"])
    assert point.values == {"x": 2.0, "y": [1.0, 2.0]}


def test_positional_values_take_names_in_order():
    point = parse_assignments(["38,4"], "--expect", names=["x", "y"])
    assert point.values == {"x": 38.0, "y": 4.0}
    with pytest.raises(PointError) as info:
        parse_assignments(["1,2,3"], "--expect", names=["x", "y"])
    assert "more values than the 2 expected" in info.value.message


def test_empty_point_is_false():
    assert not Point()
    assert Point().size is None


@pytest.mark.parametrize(
    "texts, kind, position, words",
    [
        (["x"], PointError, 1, "expected name=value"),
        (["x="], PointError, 3, "expected a number"),
        (["x=y"], PointError, 3, "cannot contain variables (y)"),
        (["x=1:2"], PointError, 3, "start:stop:count"),
        (["x=0:1:0"], PointError, 7, "at least 1"),
        (["x=0:1:1000000000000"], LimitError, 7, "more than the limit"),
        (["x=sqrt(-1)"], PointError, 3, "not a finite real number"),
        (["x=1,x=2"], PointError, 5, "x is given twice"),
        (["x=1", "x=2"], PointError, 1, "x is given twice"),
        (["x=1+"], ParseError, 5, "unexpected end of input"),
        (["y=2,x=foo(1)"], ParseError, 7, "unknown function 'foo'"),
    ],
)
def test_point_errors(texts, kind, position, words):
    with pytest.raises(AutodiffError) as info:
        parse_assignments(texts)
    error = info.value
    assert type(error) is kind
    assert error.position == position, error.message
    assert words in error.message
    assert error.message.endswith(f"(column {position})")
    assert error.source == texts[-1]


def test_vectors_of_different_lengths():
    with pytest.raises(PointError) as info:
        parse_assignments(["x=[1,2],y=[1,2,3]"])
    assert info.value.message == "--at: vectors must have the same length (x has 2, y has 3)"


def test_option_name_in_messages():
    with pytest.raises(PointError) as info:
        parse_assignments(["x"], "--expect")
    assert info.value.message.startswith("--expect 'x': ")


def test_point_limit_is_configurable():
    with pytest.raises(LimitError):
        parse_assignments(["x=0:1:11"], limits=Limits(max_points=10))
    with pytest.raises(LimitError):
        parse_assignments(["x=[1,2,3]"], limits=Limits(max_points=2))
    assert len(parse_assignments(["x=0:1:10"], limits=Limits(max_points=10)).values["x"]) == 10


def test_natural_order():
    assert natural_order(["x10", "x2", "x1"]) == ["x1", "x2", "x10"]
    assert natural_order(["b", "a10", "a9", "a"]) == ["a", "a9", "a10", "b"]
    assert natural_order(["x1y10", "x1y2"]) == ["x1y2", "x1y10"]
    assert natural_order({"y", "x"}) == ["x", "y"]
    assert natural_order([]) == []


def test_sympy_work_on_a_constant_tower_is_bounded():
    # SymPy evaluates cos(exp(exp(exp(e)))) to ever more digits while building
    # log10(2 + ...): without the build limit this never returns.
    error = parse_error("log10(2 + cos(exp(exp(exp(e))))) + x", limits=Limits(max_build_seconds=0.3))
    assert isinstance(error, LimitError)
    assert error.message.startswith("SymPy took longer than 0.3 s to build this expression")


def test_cbrt_of_a_negative_constant_evaluates_to_a_real_number():
    # SymPy's numeric evaluation (used by its assumptions and printing) must
    # see the real cube root, not the complex principal one.
    expr = parse_expression("cbrt(-2 - pi^2)")
    assert complex(expr.evalf(30)).imag == 0
    assert float(expr.evalf(30)) == pytest.approx(-((2 + math.pi**2) ** (1 / 3)), rel=1e-15)
    nested = parse_expression("sin(hypot(2, 1 + (sin(cbrt(-2 - (pi)^2)))^2))")
    c = -((2 + math.pi**2) ** (1 / 3))
    assert float(nested.evalf(30)) == pytest.approx(math.sin(math.hypot(2, 1 + math.sin(c) ** 2)), rel=1e-14)


# ---------------------------------------------------------------------------
# What people type: Unicode (design §2, §10)
# ---------------------------------------------------------------------------

theta = S("θ")


@pytest.mark.parametrize("text, expected", [
    ("x²", x**2),
    ("x³ + y²", x**3 + y**2),
    ("x⁻¹", 1 / x),
    ("x¹⁰", x**10),
    ("2x²y", 2 * x**2 * y),
    ("e^x²", sympy.exp(x**2)),
    ("sin(π x)", sympy.sin(sympy.pi * x)),
    ("2πx", 2 * sympy.pi * x),
    ("π/4 + θ", sympy.pi / 4 + theta),
    ("x×y", x * y),
    ("x·y", x * y),
    ("x⋅y", x * y),
    ("x÷y", x / y),
    ("−x", -x),
    ("x − 1", x - 1),
    ("√x", sympy.sqrt(x)),
    ("√(x + 1)", sympy.sqrt(x + 1)),
    ("2√x", 2 * sympy.sqrt(x)),
    ("√x^2", sympy.sqrt(x**2)),
    ("∛x", None),  # cbrt, checked by value below
    ("|x|", sympy.Abs(x)),
    ("2|x - 1|", 2 * sympy.Abs(x - 1)),
    ("||x| - 1|", sympy.Abs(sympy.Abs(x) - 1)),
    ("|x|·|y|", sympy.Abs(x) * sympy.Abs(y)),
    ("|x||y|", sympy.Abs(x) * sympy.Abs(y)),
    ("ｘ＋１", x + 1),  # full-width forms (NFKC)
    ("min(x, ∞)", sympy.Min(x, sympy.oo)),
])
def test_unicode_that_people_type(text, expected):
    parsed = parse_expression(text)
    if expected is None:
        assert float(parsed.subs(x, -8)) == -2.0
    else:
        same(parsed, expected)


@pytest.mark.parametrize("text, column, words", [
    ("x ≤ 1", 3, ["'≤'", "write <="]),
    ("x + ∫y", 5, ["'∫'", "ASCII"]),
    ("x² + ½", 6, ["'½'", "write 1/2"]),
    ("|x + 1", 7, ["'|' at column 1 is not closed"]),
    ("π(x)", 1, ["pi is a constant", "pi*(...)"]),
])
def test_unicode_errors_point_at_the_users_column(text, column, words):
    error = parse_error(text)
    assert error.position == column
    for word in words:
        assert word in error.message
