"""autodiff.printing.sstr must print exactly what str() prints.

sstr mirrors SymPy's StrPrinter (term and factor order, parentheses, signs,
Float digits) for the common nodes and falls back to str() for the rest.
Checked here on the seed cases, every function of the table, hand-picked
corner cases of the ordering rules, Hypothesis-generated expression text
and Hypothesis-generated SymPy trees, each with its derivatives. Speed is
measured outside the tests; here it is only pinned that the common shapes
take the fast path.

AUTODIFF_PROPERTY_SCALE=50 runs fifty times the generated examples (a hunt
for mismatches, as in tests/test_properties.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, note, reject, settings
from hypothesis import strategies as st

from autodiff import symbolic_functions as ours
from autodiff.errors import AutodiffError
from autodiff.functions import FUNCTIONS
from autodiff.parsing import parse_expression, parse_list
from autodiff.printing import ENABLED, fast_sstr, sstr

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SEEDS = Path(__file__).parent / "cases" / "seeds.toml"  # a copy of the project's shared seeds
SCALE = float(os.environ.get("AUTODIFF_PROPERTY_SCALE", "1"))

x, y, z = sympy.symbols("x y z", real=True)


def assert_same(expr) -> None:
    """sstr(expr) == str(expr), or both raise the same kind of error (str()
    of a Float whose exponent has over 4300 digits, sinh(sinh(sinh(sinh(3.0)))),
    hits Python's limit on int-to-text conversion)."""
    try:
        expected = str(expr)
    except Exception as error:  # noqa: BLE001 - whatever str() raises, sstr must too
        with pytest.raises(type(error)):
            sstr(expr)
        return
    assert sstr(expr) == expected, sympy.srepr(expr)


def assert_same_with_derivatives(expr, order: int = 1, tolerant: bool = False) -> None:
    """expr and its derivatives up to `order` by each free symbol.
    `tolerant`: skip a derivative SymPy fails to build (min(x, -x + (-1)^pi)
    raises ValueError inside Heaviside): that is not a printing matter."""
    assert_same(expr)
    for symbol in sorted(expr.free_symbols, key=str):
        derivative = expr
        for _ in range(order):
            try:
                derivative = sympy.diff(derivative, symbol)
            except Exception:
                if not tolerant:
                    raise
                break
            assert_same(derivative)


# --------------------------------------------------------------------------
# the fast path


FAST = [
    "6*x**2 + 2*x + 4", "12*x + 2", "x*cos(x) + sin(x)", "-1/x**2", "3*x**2 + 2*sin(x) + 5",
    "exp(-x**2/2)", "sqrt(x + 1)", "x**y*log(x)",
]


@pytest.mark.skipif(not ENABLED, reason="printing.py mirrors SymPy 1.14; other versions always fall back")
@pytest.mark.parametrize("text", FAST)
def test_common_shapes_take_the_fast_path(text):
    expr = parse_expression(text)
    assert fast_sstr(expr) == str(expr) == text
    for symbol in expr.free_symbols:
        derivative = sympy.diff(expr, symbol)
        assert fast_sstr(derivative) == str(derivative)


# Functions that are not printed as name(args): Min, Max and Piecewise.
NOT_FAST = {"min", "max", "clamp", "where"}


@pytest.mark.skipif(not ENABLED, reason="printing.py mirrors SymPy 1.14; other versions always fall back")
def test_every_function_of_the_table_takes_the_fast_path():
    for spec in FUNCTIONS:
        if spec.name in NOT_FAST:
            continue
        expr = spec.symbolic(sympy)(*[x + k for k in range(spec.min_args)])
        assert fast_sstr(expr) == str(expr), spec.name


# --------------------------------------------------------------------------
# the seeds and the function table


def _seed_expressions() -> list[str]:
    texts = []
    for case in tomllib.loads(SEEDS.read_text(encoding="utf-8"))["case"]:
        expr = case["expr"]
        texts.extend(expr if isinstance(expr, list) else [expr])
    return texts


@pytest.mark.parametrize("text", _seed_expressions())
def test_seed_expressions_and_their_first_and_second_derivatives(text):
    for expr in parse_list(text):
        assert_same_with_derivatives(expr, order=2)


ARGUMENTS = ["x", "2*x+1", "x**2", "-x", "1/x"]


def _calls(spec) -> list[str]:
    if spec.name == "where":
        return [f"where({a} > 0, {a}, {b})" for a in ARGUMENTS for b in ARGUMENTS[:2]]
    if spec.min_args == 1:
        calls = [f"{spec.name}({a})" for a in ARGUMENTS]
        if spec.max_args == 2:  # log(x, b)
            calls += [f"{spec.name}({a}, 2)" for a in ARGUMENTS]
        return calls
    arity = spec.min_args
    return [f"{spec.name}({', '.join([a] + ARGUMENTS[1:arity])})" for a in ARGUMENTS] + [
        f"{spec.name}({', '.join(['y'] + [a] * (arity - 1))})" for a in ARGUMENTS
    ]


@pytest.mark.parametrize("spec", FUNCTIONS, ids=[spec.name for spec in FUNCTIONS])
def test_every_function_on_simple_arguments_and_derivatives(spec):
    for text in _calls(spec):
        try:
            expr = parse_expression(text)
        except AutodiffError:
            continue
        assert_same_with_derivatives(expr, order=2)


# --------------------------------------------------------------------------
# corner cases of the rules that sstr mirrors


CORNERS = [
    # as_ordered_terms' special case Add(positive number, Mul(negative number, expr))
    "1 - x", "pi - x", "pi - 2*x", "0.5 - x", "1 - x^2", "-1 - x", "1 - x*y", "2 - 3*x*y",
    # equal monomials: the complex coefficient decides (pi*x after 2*x)
    "x*pi + 2*x", "2*pi*x + x", "x*sqrt(2) + x*sqrt(3) + x", "x*log(2) + x*pi + x*exp(1)",
    "pi + 2", "pi + e + 1", "sin(1)*x + cos(1)*x",
    # generators of several kinds and the order of their sort keys
    "x + sqrt(x) + x^(3/2) + 1/sqrt(x) + 1/x", "x^y + x^(-y) + x^(2*y) + x^(y/2)",
    "exp(x) + exp(-x) + exp(2*x) + exp(x/2) + exp(-x^2/2)", "sin(x)^2 + cos(x)^2 + sin(x)*cos(x)",
    "x*y + y*z + x*z + x^2*y + z^3", "2^x + 3^x + x^2 + x^e + e^x", "(x+1)^2 + (x-1)^2 + (x+1)*(x-1)",
    "sin(x+1) + sin(x-1) + sin(2*x) + sin(x)", "log(x)^2 + log(x) + log(y) + log(x*y)",
    "relu(x) + sigmoid(x) + softplus(x) + detach(x) + cbrt(x) + hypot(x, y)", "gamma(x) + lgamma(x) + erf(x)",
    "floor(x) + ceil(x) + abs(x) + sign(x)", "heaviside(x) + heaviside(-x) + x*heaviside(x)",
    # products: signs, denominators, parentheses
    "x/2 + y/3", "-x/2", "-2*x/3", "3/(2*x)", "-1/(x*y)", "2/(x+1)", "-(x+1)/(x-1)^2", "x*(x+1)*(y-1)",
    "x^-2", "-x^-2", "x^(-1/2)", "2*x^(-1/2)", "x^(-3/2)*y", "(x+1)^(-1/2)", "y/(x^y)", "x^(-y)*y",
    "(-2)^x", "(1/2)^x", "2^(-x)", "(2/3)^x", "x^(2/3)", "x^(x+1)", "(x*y)^x", "x^(y*z)", "(x^y)^z",
    "-(x^2)", "(-x)^3", "-x*y*z", "-2*pi*x", "-sqrt(2)*x", "-2*sqrt(2)", "-3*2^(1/3)",
    # floats: precision, signs, zeros, exponents
    "0.5*x - 1.5", "-1.0*x", "x^0.5", "x^-0.5*y", "x^2.5 + x^1.5", "1e-3*x + 1e20", "2.5", "-2.5",
    "0.1 + 0.2*x", "x + 1e-320", "1.0*x", "x*1e308", "(x + 0.5)^(-1.5)", "exp(-0.5*x^2)",
    # rationals and integers
    "3/4*x + 5/6", "-3/4 - x/5", "(1/3)*x^2 - (2/7)*x + 1/11", "123456789012345678901234567890*x + 1",
    "x/123456789012345678901234567890 + 1/98765432109876543210", "10^30*x^2 + 10^-30",
    # constants as factors and terms
    "e*x + x^e + e^x", "pi*x^2 + pi", "2*pi", "-pi", "pi/2", "x/pi", "sqrt(pi)*x", "e^(-x)",
]


@pytest.mark.parametrize("text", CORNERS)
def test_corner_cases_and_their_derivatives(text):
    assert_same_with_derivatives(parse_expression(text), order=2)


def test_nodes_sstr_leaves_to_sympy():
    """Rare nodes fall back and still print exactly as str()."""
    f = sympy.Function("f")
    nc = sympy.Symbol("A", commutative=False)
    rare = [
        sympy.Piecewise((x, x > 0), (-x, True)), sympy.Max(x, y), sympy.Min(x, 1) + x, sympy.oo, -sympy.oo + x * 0,
        sympy.zoo, sympy.nan, x + sympy.oo, sympy.Derivative(f(x), x), f(x) + x, sympy.Subs(f(y), y, x),
        sympy.DiracDelta(x) * x, sympy.Eq(x, y), x + nc, nc * x * 2, sympy.Dummy("d") + x,
        sympy.Mul(1, x, evaluate=False), sympy.Mul(x, 2, evaluate=False), sympy.Add(x, x, evaluate=False),
        sympy.Pow(2, 3, evaluate=False) * x, sympy.Float("inf") * x, sympy.I * x + 1, sympy.exp(sympy.I * x),
        sympy.Symbol("x") + x,  # two generators with equal sort keys
        sympy.Integral(x, x) + x, sympy.O(x) + 1,
    ]
    for expr in rare:
        assert_same(expr)
    assert fast_sstr(sympy.Piecewise((x, x > 0), (-x, True))) is None
    assert fast_sstr(sympy.Symbol("x") + x) is None


def test_generators_that_sort_keys_cannot_order():
    """as_terms sorts its generators from a set, so where two sort keys are
    neither equal nor ordered (x**0.5 and x**(1/2) compare their exponents
    0.5 and 1/2 as neither == nor <), str() itself depends on hash order:
    sstr must not guess, it falls back."""
    expr = -8 * sympy.pi * x ** sympy.Float(0.5) / 9 + sympy.Float("0.433") * x ** sympy.Rational(3, 2) + sympy.pi
    assert fast_sstr(expr) is None
    assert_same(expr)


def test_a_float_prints_its_full_precision_only_at_the_top():
    for text in ["0.5", "2.5e10", "1e-3", "3.0", "1e-320", "123.456"]:
        value = parse_expression(text)
        assert_same(value)
        assert_same(value * x)
        assert_same(value + x)
    assert sstr(sympy.Float("0.5")) == "0.500000000000000"
    assert sstr(sympy.Float("0.5", 30) * x) == str(sympy.Float("0.5", 30) * x)
    assert sstr(sympy.Float(0.1, 3) + x) == str(sympy.Float(0.1, 3) + x)


def test_plain_sympy_trees_with_other_assumptions():
    a, b = sympy.symbols("a b")  # no assumptions, unlike the parser's real symbols
    p = sympy.Symbol("p", positive=True)
    for expr in [a**2 + b, sympy.sqrt(a**2), sympy.sqrt(p**2) + p, a * b - 1, (a - b) ** 3,
                 sympy.expand((a + b + 1) ** 4), sympy.exp(a) * sympy.log(b) / (a + 1), sympy.I * a, a + sympy.I,
                 sympy.sqrt(-a) + sympy.sqrt(a)]:
        assert_same_with_derivatives(expr)


# --------------------------------------------------------------------------
# generated expression text


VARIABLES = ["x", "y", "z"]
NUMBERS = st.one_of(
    st.integers(0, 12).map(str),
    st.sampled_from(["0", "0.5", "2.25", "1.5", "0.1", "3.0", "1e-3", "2.5e3", "100", "0.0"]),
    st.tuples(st.integers(1, 9), st.integers(2, 9)).map(lambda pq: f"({pq[0]}/{pq[1]})"),
)
LEAVES = st.one_of(
    st.sampled_from(VARIABLES),
    NUMBERS,
    NUMBERS.map(lambda n: f"(-{n})"),
    st.sampled_from(["pi", "e"]),
)
OPERATORS = ["+", "-", "*", "/", "^"]


def _call(spec, args: list[str]) -> str:
    if spec.name == "where":
        return f"where({args[0]} > {args[1]}, {args[1]}, {args[2]})"
    return f"{spec.name}({', '.join(args)})"


@st.composite
def expression_texts(draw, depth: int = 4) -> str:
    """Expression text of nesting depth at most `depth`."""
    if depth == 0 or draw(st.integers(0, 9)) < 2:
        return draw(LEAVES)
    kind = draw(st.sampled_from(["operator", "operator", "operator", "minus", "call", "call"]))
    if kind == "minus":
        return f"-{draw(expression_texts(depth - 1))}"
    if kind == "operator":
        op = draw(st.sampled_from(OPERATORS))
        left, right = draw(expression_texts(depth - 1)), draw(expression_texts(depth - 1))
        if draw(st.booleans()):
            return f"({left}){op}({right})"
        return f"{left} {op} {right}"
    spec = draw(st.sampled_from(FUNCTIONS))
    count = 3 if spec.name == "where" else draw(st.integers(spec.min_args, spec.max_args or spec.min_args + 1))
    return _call(spec, [draw(expression_texts(depth - 1)) for _ in range(count)])


def _astronomical(expr) -> bool:
    """A Float beyond 2**(10**12), as in cbrt(cbrt(expm1(2.5e3^2.5e3))): str()
    of it can take many minutes in mpmath, and sstr prints Floats with the
    same code."""
    return any(abs(f._mpf_[2] + f._mpf_[3]) > 10**12 for f in expr.atoms(sympy.Float))


@settings(max_examples=max(1, int(250 * SCALE)), derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(expression_texts())
def test_generated_expressions_and_their_derivatives(text):
    note(f"text={text!r}")
    try:
        expr = parse_expression(text)
    except AutodiffError:
        assume(False)
    assume(not _astronomical(expr))
    assert_same_with_derivatives(expr, tolerant=True)


# --------------------------------------------------------------------------
# generated SymPy trees: sums of products built directly, to press on term
# order (equal monomials, constant factors, several generators) and factor
# order (sort keys of powers, functions and sums) harder than text does


a = sympy.Symbol("a")  # no assumptions
ATOMS = [x, y, z, a, sympy.pi, sympy.E, sympy.I, sympy.sqrt(2), sympy.log(2), sympy.sin(1), sympy.Float("0.5"),
         sympy.Float("2.5", 30), sympy.Rational(3, 7), sympy.Integer(-2), sympy.Integer(3)]
EXPONENTS = [2, 3, -1, -2, sympy.S.Half, -sympy.S.Half, sympy.Rational(3, 2), sympy.Rational(-1, 3), y, -y, 2 * y,
             x + 1, sympy.Float("0.5"), sympy.Float("-1.5")]
COEFFICIENTS = st.one_of(
    st.integers(-7, 7).map(sympy.Integer),
    st.tuples(st.integers(-9, 9), st.integers(1, 9)).map(lambda pq: sympy.Rational(*pq)),
    st.sampled_from([sympy.Float("0.25"), sympy.Float("-1.5"), sympy.Float("3.0"), sympy.Float("1e-20"), sympy.pi]),
)
FUNCTIONS_OF_ONE = [sympy.sin, sympy.cos, sympy.exp, sympy.log, sympy.tanh, sympy.atan, sympy.erf, sympy.gamma,
                    sympy.Abs, sympy.sign, ours.sigmoid, ours.softplus, ours.relu, ours.cbrt, ours.floor]


@st.composite
def factors(draw, depth: int = 2):
    atom = draw(st.sampled_from(ATOMS))
    kind = draw(st.sampled_from(["atom", "power", "function", "sum"] if depth else ["atom", "power"]))
    if kind == "atom":
        return atom
    if kind == "power":
        return sympy.Pow(atom, draw(st.sampled_from(EXPONENTS)))
    if kind == "function":
        function, argument = draw(st.sampled_from(FUNCTIONS_OF_ONE)), draw(sums(depth - 1))
        try:
            return function(argument)
        except Exception:  # noqa: BLE001 - relu(nan) raises in Max
            reject()
    return draw(sums(depth - 1))


@st.composite
def sums(draw, depth: int = 2):
    terms = []
    for _ in range(draw(st.integers(1, 4))):
        term = draw(COEFFICIENTS)
        for _ in range(draw(st.integers(0, 3))):
            factor = draw(factors(depth))
            try:
                term = term * factor
            except Exception:  # noqa: BLE001 - SymPy refusing a product (relu(nan)*...) is no printing matter
                reject()
        terms.append(term)
    return sympy.Add(*terms)


@settings(max_examples=max(1, int(100 * SCALE)), derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(sums())
def test_generated_sympy_trees_and_their_derivatives(expr):
    note(f"expr={sympy.srepr(expr)}")
    assert_same_with_derivatives(expr, tolerant=True)
