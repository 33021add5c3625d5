"""The inputs of the benchmarks, generated deterministically.

Each workload is defined once here and read by both sides of its comparison,
so that `autodiff` and its baseline do the same work:

- the streaming expressions: text for `autodiff grad -`, and the parameters
  from which the naive baseline rebuilds the same SymPy expression directly
  (it never parses text);
- the grid function and range;
- the 60-variable Hessian function, as text and as its index structure;
- the small realistic command lines of the memory figure.

Standard library only (SymPy is imported inside the builders, by the workers).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# ------------------------------------------------------------------ stream

STREAM_SEED = 20240611
STREAM_POINT = 1.5


def _signed(number: int) -> str:
    """`+3` or `-3`: a term added to what precedes it."""
    return f"+{number}" if number >= 0 else f"-{-number}"


@dataclass(frozen=True)
class Family:
    """A shape of simple expression in x with small integer parameters."""

    text: Callable[..., str]  # parameters -> autodiff expression text
    build: Callable[..., object]  # (sympy module, x, *parameters) -> SymPy expression
    ranges: tuple[tuple[int, ...], ...]  # allowed values of each parameter


_NONZERO = tuple(v for v in range(-9, 10) if v)

FAMILIES: dict[str, Family] = {
    "quadratic": Family(
        lambda a, b, c: f"{a}*x^2{_signed(b)}*x{_signed(c)}",
        lambda sp, x, a, b, c: a * x**2 + b * x + c,
        (tuple(range(1, 10)), _NONZERO, tuple(range(-9, 10))),
    ),
    "quadratic_sin": Family(
        lambda a, b, c: f"{a}*x^2{_signed(b)}*sin(x){_signed(c)}",
        lambda sp, x, a, b, c: a * x**2 + b * sp.sin(x) + c,
        (tuple(range(1, 10)), _NONZERO, tuple(range(-9, 10))),
    ),
    "exp": Family(
        lambda a, b: f"{a}*exp({b}*x)",
        lambda sp, x, a, b: a * sp.exp(b * x),
        (tuple(range(1, 10)), (-3, -2, -1, 1, 2, 3)),
    ),
    "log": Family(
        lambda a, b: f"{b}*log({a}+x^2)",
        lambda sp, x, a, b: b * sp.log(a + x**2),
        (tuple(range(1, 10)), tuple(range(1, 10))),
    ),
    "power_cos": Family(
        lambda a, b: f"x^{a}*cos({b}*x)",
        lambda sp, x, a, b: x**a * sp.cos(b * x),
        (tuple(range(1, 7)), tuple(range(1, 10))),
    ),
    "tanh": Family(
        lambda a, b: f"tanh({a}*x){_signed(b)}",
        lambda sp, x, a, b: sp.tanh(a * x) + b,
        (tuple(range(1, 10)), tuple(range(-9, 10))),
    ),
    "sqrt": Family(
        lambda a, b: f"{b}*sqrt({a}+x)",
        lambda sp, x, a, b: b * sp.sqrt(a + x),
        (tuple(range(1, 10)), tuple(range(1, 10))),
    ),
    "rational": Family(
        lambda a, b, c: f"({a}*x{_signed(b)})/(x^2+{c})",
        lambda sp, x, a, b, c: (a * x + b) / (x**2 + c),
        (tuple(range(1, 10)), tuple(range(-9, 10)), tuple(range(1, 10))),
    ),
}


@dataclass(frozen=True)
class StreamExpression:
    family: str
    params: tuple[int, ...]

    @property
    def text(self) -> str:
        return FAMILIES[self.family].text(*self.params)

    def sympy(self, sympy_module, x):
        return FAMILIES[self.family].build(sympy_module, x, *self.params)


# Line 1 of every stream run, and the naive loop's warm-up: T(1 line) is a
# run with this line alone, so subtracting it removes the import and the
# first-call costs. The generated expressions never repeat it.
FIRST = StreamExpression("quadratic", (6, 2, 4))


def stream_expressions(count: int, seed: int = STREAM_SEED) -> list[StreamExpression]:
    """`count` distinct expressions (distinct texts), the same for a given seed."""
    rng = random.Random(seed)
    names = sorted(FAMILIES)
    found: dict[str, StreamExpression] = {}
    capacity = sum(_product(len(r) for r in family.ranges) for family in FAMILIES.values()) - 1  # less FIRST
    if count > capacity:
        raise ValueError(f"only {capacity} distinct stream expressions exist, not {count}")
    while len(found) < count:
        name = rng.choice(names)
        expression = StreamExpression(name, tuple(rng.choice(r) for r in FAMILIES[name].ranges))
        if expression != FIRST:
            found.setdefault(expression.text, expression)
    return list(found.values())


# Families the stream above does not contain (issue 27: products, quotients
# and compositions, at x = 0.5): the rate on expressions nothing was tuned on.
FRESH_POINT = 0.5
FRESH_SEED = 20261206
_FUNCTIONS = ("sin", "cos", "exp", "tanh", "atan")
FRESH_FAMILIES: dict[str, Family] = {
    "power_product": Family(
        lambda a, k, f, b: f"{a}*x^{k}*{_FUNCTIONS[f]}({b}*x)",
        lambda sp, x, a, k, f, b: a * x**k * getattr(sp, _FUNCTIONS[f])(b * x),
        (tuple(range(1, 10)), (2, 3, 4), tuple(range(len(_FUNCTIONS))), tuple(range(1, 10))),
    ),
    "exp_trig": Family(
        lambda a, b: f"exp({a}*x)*sin({b}*x)",
        lambda sp, x, a, b: sp.exp(a * x) * sp.sin(b * x),
        (tuple(range(1, 10)), tuple(range(1, 10))),
    ),
    "function_quotient": Family(
        lambda f, a, b: f"{_FUNCTIONS[f]}({a}*x)/({b}+x^2)",
        lambda sp, x, f, a, b: getattr(sp, _FUNCTIONS[f])(a * x) / (b + x**2),
        (tuple(range(len(_FUNCTIONS))), tuple(range(1, 10)), tuple(range(1, 10))),
    ),
    "rational_linear": Family(
        lambda a, b, c, d: f"({a}*x^2+{b})/({c}*x+{d})",
        lambda sp, x, a, b, c, d: (a * x**2 + b) / (c * x + d),
        (tuple(range(1, 10)),) * 4,
    ),
    "composed_square": Family(
        lambda f, a, b: f"{('sin', 'cos', 'exp')[f]}({a}*x^2+{b})",
        lambda sp, x, f, a, b: getattr(sp, ("sin", "cos", "exp")[f])(a * x**2 + b),
        ((0, 1, 2), tuple(range(1, 10)), tuple(range(1, 10))),
    ),
    "log_of_trig": Family(
        lambda a, b: f"log({a}+cos({b}*x)^2)",
        lambda sp, x, a, b: sp.log(a + sp.cos(b * x) ** 2),
        (tuple(range(1, 10)), tuple(range(1, 10))),
    ),
    "sqrt_of_power": Family(
        lambda a, k: f"sqrt({a}+x^{k})",
        lambda sp, x, a, k: sp.sqrt(a + x**k),
        (tuple(range(1, 10)), (2, 3, 4)),
    ),
}


def fresh_expressions(count: int, seed: int = FRESH_SEED) -> list[str]:
    """`count` distinct texts of the fresh families, the same for a given seed."""
    rng = random.Random(seed)
    names = sorted(FRESH_FAMILIES)
    found: dict[str, None] = {}
    while len(found) < count:
        family = FRESH_FAMILIES[rng.choice(names)]
        found.setdefault(family.text(*(rng.choice(r) for r in family.ranges)))
    return list(found)


def stream_lines(expressions: list[StreamExpression]) -> list[str]:
    """The input lines of a stream run: the first line, then the expressions."""
    return [FIRST.text] + [expression.text for expression in expressions]


def _product(values) -> int:
    result = 1
    for value in values:
        result *= value
    return result


# -------------------------------------------------------------------- grid

GRID_EXPRESSION = "sin(x)*x^2 + exp(-x^2/2)"
GRID_START, GRID_STOP = -5, 5


def grid_text(points: int) -> str:
    return f"{GRID_START}:{GRID_STOP}:{points}"


# ----------------------------------------------------------------- hessian

# f = sum_i x_i^2 * x_{i+1} + sin(x_i) * x_{i+2}, indices wrapping around.
HESSIAN_SHIFTS = (1, 2)


def hessian_expression(n: int) -> str:
    """The function as text over variables x1..xn."""
    first, second = HESSIAN_SHIFTS

    def name(i: int) -> str:
        return f"x{i % n + 1}"

    return " + ".join(f"{name(i)}^2*{name(i + first)} + sin({name(i)})*{name(i + second)}" for i in range(n))


def hessian_point(n: int) -> dict[str, float]:
    """x_i = i/n."""
    return {f"x{i}": i / n for i in range(1, n + 1)}


# ------------------------------------------------------------------ memory

# The acceptance seeds in this repository (the same cases as the project's shared seeds).
SEEDS = Path(__file__).resolve().parent.parent / "cases" / "seeds.toml"


def command_lines(cases: Path) -> dict[str, list[str]]:
    """A small realistic invocation of each command (arguments after `autodiff`)."""
    return {
        "grad": ["grad", "6*x^2+2*x+4", "--at", "x=3"],
        "partial": ["partial", "x^3*y^2 + 4*x*y", "--wrt", "x,y", "--at", "x=3,y=4"],
        "hessian": ["hessian", "x^2*y + sin(x*y)", "--at", "x=1,y=2"],
        "jacobian": ["jacobian", "[x*y, x+y, sin(x)]", "--at", "x=1,y=2"],
        "plot": ["plot", "sin(x)*x^2", "--width", "80", "--height", "20"],
        "graph": ["graph", "x^2*sin(x)", "--at", "x=1.5"],
        "check": ["check", str(cases)],
        "functions": ["functions"],
        "--help": ["--help"],
        "--version": ["--version"],
    }


def fresh_case_file(count: int) -> str:
    """A case file of `count` grad cases of the fresh families, each at
    FRESH_POINT, expecting autograd's own agreement only (no expected value:
    the witnesses decide)."""
    return "".join(
        f'[[case]]\nname = "fresh {i}"\nexpr = "{text}"\nat = {{ x = {FRESH_POINT} }}\n'
        for i, text in enumerate(fresh_expressions(count))
    )


def case_file(count: int) -> str:
    """A case file of `count` small grad cases (a polynomial at a point each)."""
    return "".join(
        f'[[case]]\nname = "case {i}"\nexpr = "x^2 + {i % 7}*x"\nat = {{ x = {i % 13} }}\ngrad = {{ x = {2 * (i % 13) + i % 7} }}\n'
        for i in range(count)
    )
