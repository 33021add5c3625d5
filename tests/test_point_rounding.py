"""Every value of a point is the double nearest its exact value: one rounding.

The point parser once read a decimal as a 56-bit SymPy Float and rounded that
again to 53 bits: `--at x=1.106527255605534` became 1.1065272556055339. Here:
every double's shortest text reads back as itself (10^5 random doubles, all
exponents, both signs, subnormals); decimals exactly halfway between two
doubles round to even; long decimals, constant expressions (evaluated exactly,
then rounded once), the CLI, case files, the API and decimal literals inside
an expression (the torch lowering).
"""

from __future__ import annotations

import decimal
import math
import random
import struct
import time
from fractions import Fraction

import pytest
from helpers import invoke, invoke_json

import autodiff
from autodiff.errors import PointError
from autodiff.engine.values import parse_assignments, parse_range, parse_values

SEED = 20240611
COUNT = 100_000


def bits(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def from_bits(pattern: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", pattern))[0]


def random_doubles(count: int, seed: int = SEED) -> list[float]:
    """Finite doubles from random bit patterns: every exponent equally likely
    (both signs), and one in ten subnormal (a zero exponent field)."""
    rng = random.Random(seed)
    doubles = []
    while len(doubles) < count:
        pattern = rng.getrandbits(64)
        if len(doubles) % 10 == 0:
            pattern &= ~(0x7FF << 52)
        value = from_bits(pattern)
        if math.isfinite(value):
            doubles.append(value)
    return doubles


EDGES = [
    0.0, -0.0, 5e-324, -5e-324, 1e-323, 2.225073858507201e-308, 2.2250738585072014e-308,
    1.7976931348623157e308, -1.7976931348623157e308, 1.0, math.nextafter(1.0, 2), math.nextafter(1.0, 0),
    0.1, 0.3, 1 / 3, 2**53, 2**53 + 2, 9007199254740993.0, 1e22, 1e23, 1.106527255605534,
]


def read(text: str) -> float:
    return parse_assignments([f"x={text}"]).values["x"]


def nearest(exact: Fraction) -> float:
    """The double nearest `exact`, ties to even, decided by exact comparison
    (float() only proposes candidates)."""
    guess = float(exact)
    candidates = {guess, math.nextafter(guess, math.inf), math.nextafter(guess, -math.inf)}
    finite = [c for c in candidates if math.isfinite(c)]

    def key(c: float):
        return (abs(Fraction(c) - exact), bits(abs(c)) & 1)

    return min(finite, key=key)


def exact_decimal(value: Fraction) -> str:
    """A dyadic rational (every double, every midpoint of two) as its exact decimal."""
    with decimal.localcontext(decimal.Context(prec=2000, Emax=10**6, Emin=-(10**6))):
        text = str(decimal.Decimal(value.numerator) / decimal.Decimal(value.denominator))
    assert Fraction(text) == value
    return text


# --------------------------------------------------------------------------
# every double's shortest text reads back as itself


def test_every_double_reads_back_as_itself():
    doubles = EDGES + random_doubles(COUNT)
    assert sum(1 for d in doubles if d != 0 and abs(d) < 2.2250738585072014e-308) > COUNT // 20
    started = time.perf_counter()
    wrong = [d for d in doubles if bits(read(repr(d))) != bits(d)]
    seconds = time.perf_counter() - started
    assert not wrong, f"{len(wrong)} misread, e.g. {[repr(d) for d in wrong[:5]]}"
    assert seconds < 10, f"{len(doubles)} values took {seconds:.1f} s"


def test_the_issues_example_and_its_neighbours():
    assert read("1.106527255605534") == 1.106527255605534
    assert read("1.1065272556055339") == 1.1065272556055339 != 1.106527255605534
    assert read("-1.106527255605534") == -1.106527255605534


def test_a_vector_a_grid_and_a_range_read_the_same_doubles():
    doubles = random_doubles(200, seed=SEED + 1)
    point = parse_assignments(["x=[" + ",".join(map(repr, doubles)) + "]"])
    assert [bits(v) for v in point.values["x"]] == [bits(d) for d in doubles]
    grid = parse_assignments(["x=1.106527255605534:2.2250738585072014e-308:3"]).values["x"]
    assert (grid[0], grid[-1]) == (1.106527255605534, 2.2250738585072014e-308)
    assert parse_range("x=0.1+0.2:1.106527255605534") == ("x", 0.3, 1.106527255605534)
    assert parse_values("1.106527255605534,0.1+0.2", "--grad-output") == [1.106527255605534, 0.3]


# --------------------------------------------------------------------------
# decimals halfway between two doubles round to even


def halfway_cases(count: int) -> list[tuple[float, float]]:
    """(low, high): adjacent positive doubles, normal and subnormal, at every scale."""
    rng = random.Random(SEED + 2)
    pairs = []
    for low in [5e-324, 1e-323, 2.225073858507201e-308, 1.0, 2.0**52, 2.0**53, 1e23, 1.7976931348623155e308]:
        pairs.append((low, math.nextafter(low, math.inf)))
    while len(pairs) < count:
        low = abs(from_bits(rng.getrandbits(64) & ~(0x7FF << 52) if len(pairs) % 3 == 0 else rng.getrandbits(64)))
        high = math.nextafter(low, math.inf)
        if math.isfinite(high):
            pairs.append((low, high))
    return pairs


@pytest.mark.parametrize("low, high", halfway_cases(60))
def test_a_decimal_exactly_halfway_rounds_to_even(low, high):
    middle = (Fraction(low) + Fraction(high)) / 2
    text = exact_decimal(middle)
    even = low if bits(low) % 2 == 0 else high
    assert nearest(middle) == even
    assert read(text) == even
    assert read(f"-{text}") == -even
    # As an expression, (the decimal) is an exact rational rounded once: the same double.
    assert read(f"({text})") == even
    assert read(f"-({text})*1") == -even
    # A hair above or below the midpoint is no longer a tie.
    assert read(exact_decimal(middle + middle / 10**40)) == high
    assert read(exact_decimal(middle - middle / 10**40)) == low


def test_long_decimals_round_once():
    """40 significant digits, near doubles and near midpoints: each read as the
    double nearest its exact value, by the plain reader and as an expression."""
    rng = random.Random(SEED + 3)
    with decimal.localcontext(decimal.Context(prec=40, Emax=10**6, Emin=-(10**6))):
        texts = ["1.106527255605534000000000000000000000001", "0.1000000000000000055511151231257827021181"]
        for low, high in halfway_cases(200):
            middle = (Fraction(low) + Fraction(high)) / 2
            for value in (Fraction(low), middle, Fraction(high)):
                near = decimal.Decimal(value.numerator) / decimal.Decimal(value.denominator)  # rounded to 40 digits
                texts.append(str(near.next_plus() if rng.random() < 0.5 else near.next_minus()))
    for text in texts:
        assert len(decimal.Decimal(text).as_tuple().digits) == 40
        expected = nearest(Fraction(text))
        assert read(text) == expected, text
        assert read(f"1*({text})") == expected, text
    # 0.1 written to 40 digits is not the double 0.1 rounded twice
    assert read("0.1000000000000000055511151231257827021181") == nearest(Fraction("0.1000000000000000055511151231257827021181"))


# --------------------------------------------------------------------------
# constant expressions: evaluated exactly, rounded once


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0.1+0.2", 0.3),  # exact 3/10, not 0.1 + 0.2 in floats (0.30000000000000004)
        ("2*1.1", 2.2),
        ("1/3", 1 / 3),
        ("-1.5", -1.5),
        ("pi/4", math.pi / 4),
        ("4*atan(1)", math.pi),
        ("sqrt(2)", math.sqrt(2)),
        ("exp(1)", math.e),
        ("sin(1e22)", -0.8522008497671888),  # the exact 10^22, in ball arithmetic
        ("10^0.5*10^0.5", 10.0),
        ("5e-324", 5e-324),
        ("3e-324", 5e-324),  # nearer 5e-324 than 0
        ("2.2250738585072014e-308", 2.2250738585072014e-308),
        ("2.2250738585072014e-308/2", 1.1125369292536007e-308),
        ("1.7976931348623157e308", 1.7976931348623157e308),
        ("10^308*1.7976931348623158", 1.7976931348623157e308),
        ("-0.0", -0.0),
        ("1.106527255605534*1", 1.106527255605534),
    ],
)
def test_a_constant_expression_is_rounded_once_from_its_exact_value(text, expected):
    value = read(text)
    assert bits(value) == bits(expected)


def test_a_constant_expression_with_a_definition_reads_the_definitions_decimal():
    point = autodiff.grad("x", at={"x": "a*1"}, define={"a": "1.106527255605534"})
    assert point.to_json()["at"] == {"x": 1.106527255605534}


@pytest.mark.parametrize("text", ["1e-400", "-1e-400", "2e-324", "exp(-1000)", "0." + "0" * 400 + "1"])
def test_a_nonzero_value_that_underflows_is_refused(text):
    with pytest.raises(PointError, match="not 0, but nearer 0 than float64's smallest positive number"):
        read(text)


@pytest.mark.parametrize("text", ["1e400", "10^308*1.7976931348623159", "sqrt(2)^1e300", "1/0"])
def test_a_value_beyond_float64_is_refused(text):
    with pytest.raises(PointError, match="is not a finite real number"):
        read(text)


@pytest.mark.parametrize("text", ["0", "-0", "0.000", "0e-400", "sin(pi)", "log(2)-log(2)"])
def test_zero_is_zero(text):
    assert read(text) == 0


# --------------------------------------------------------------------------
# the CLI, case files, the API, the REPL


def test_the_cli_reports_the_double_the_user_typed():
    result, data = invoke_json("grad", "x", "--at", "x=1.106527255605534")
    assert result.exit_code == 0, result.output
    assert data["at"] == {"x": 1.106527255605534}
    assert data["value"] == 1.106527255605534


def test_expect_reads_the_same_doubles():
    result, data = invoke_json("grad", "x*y", "--at", "x=1.106527255605534,y=0.1+0.2", "--expect", "y=1.106527255605534,x=0.3")
    assert result.exit_code == 0, result.output
    assert data["at"] == {"x": 1.106527255605534, "y": 0.3}
    assert data["gradient"]["y"]["expected"] == 1.106527255605534
    assert data["gradient"]["x"]["expected"] == 0.3


def test_a_case_files_point_is_read_exactly(tmp_path):
    path = tmp_path / "points.toml"
    path.write_text(
        '[[case]]\nname = "p"\nexpr = "x + y + z"\n'
        'at = { x = 1.106527255605534, y = "0.1+0.2", z = 12345678901234567890123 }\n'
        "grad = { x = 1, y = 1, z = 1 }\n"
    )
    result = invoke("check", str(path), "--json")
    assert result.exit_code == 0, result.output
    import json

    at = json.loads(result.stdout)["cases"][0]["results"][0]["at"]
    assert at == {"x": 1.106527255605534, "y": 0.3, "z": 1.2345678901234568e22}


def test_the_api_reads_strings_and_numbers_exactly():
    assert autodiff.grad("x", at={"x": "1.106527255605534"}).to_json()["at"] == {"x": 1.106527255605534}
    assert autodiff.grad("x", at={"x": 1.106527255605534}).to_json()["at"] == {"x": 1.106527255605534}
    assert autodiff.grad("x", at={"x": Fraction(1, 10)}).to_json()["at"] == {"x": 0.1}
    assert autodiff.grad("x", at="x=1.106527255605534").to_json()["at"] == {"x": 1.106527255605534}
    assert autodiff.grad("x", at={"x": [1.106527255605534, "0.1+0.2"]}).to_json()["at"] == {
        "x": [1.106527255605534, 0.3]
    }


def test_the_api_reads_numpy_numbers_as_the_numbers_they_are():
    numpy = pytest.importorskip("numpy")
    at = autodiff.grad("x", at={"x": numpy.float64(1.106527255605534)}).to_json()["at"]
    assert at == {"x": 1.106527255605534}
    # A float32 is the double it equals, not its own shortest text read as a double.
    assert autodiff.grad("x", at={"x": numpy.float32(0.1)}).to_json()["at"] == {"x": float(numpy.float32(0.1))}
    assert autodiff.grad("x", at={"x": numpy.array([0.5, 1.106527255605534])}).to_json()["at"] == {
        "x": [0.5, 1.106527255605534]
    }


def test_the_repls_point_is_read_exactly():
    result = invoke("repl", input="at x=1.106527255605534\ngrad x --json\n")
    assert result.exit_code == 0, result.output
    assert '"at": {"x": 1.106527255605534}' in result.stdout


# --------------------------------------------------------------------------
# decimal literals inside an expression: torch gets the nearest double


def test_a_decimal_literal_in_an_expression_is_the_nearest_double():
    result, data = invoke_json("grad", "1.106527255605534*x", "--at", "x=1")
    assert result.exit_code == 0, result.output
    assert data["expression"] == "1.106527255605534*x"
    assert data["value"] == 1.106527255605534
    assert data["gradient"]["x"]["autograd"] == 1.106527255605534
    assert data["gradient"]["x"]["symbolic"] == "1.106527255605534"


def test_long_decimal_literals_in_an_expression_are_rounded_once():
    from autodiff.engine.lowering import compile_expression
    from autodiff.language.parsing import parse_expression

    for text in ["1.106527255605534", "0.1", "3.5", "1.1065272556055339", "2.2250738585072014e-308", "4.9e-324",
                 "1.106527255605534000000000000000000000001", "0.1000000000000000055511151231257827021181"]:
        value = compile_expression(parse_expression(text))({}).item()
        assert value == nearest(Fraction(text)), text


def test_decimals_in_expressions_print_as_typed():
    result, data = invoke_json("grad", "3.5*x", "--at", "x=1")
    assert result.exit_code == 0, result.output
    assert data["expression"] == "3.5*x" and data["gradient"]["x"]["symbolic"] == "3.5"
