"""Fuzz inputs from a `random.Random`: token soup, arbitrary unicode, mutated
valid seeds, hostile strings, and the points, options and case files that go
with them.

Shared by tests/test_fuzz.py (which seeds the `random.Random` from an integer
Hypothesis draws, so that a failure names the seed that replays it) and by
campaign.py and atheris_harness.py (which draw without Hypothesis' example
limits). Nothing here imports torch or SymPy.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from autodiff.language.functions import CONSTANTS, FUNCTIONS

REPO = Path(__file__).resolve().parents[2]
SENTINEL = "AUTODIFF_FUZZ_PWNED"  # the file a hostile input would create if it ran

# --------------------------------------------------------------------------
# the language's tokens

FUNCTION_NAMES = [spec.name for spec in FUNCTIONS]
CONSTANT_NAMES = [spec.name for spec in CONSTANTS]
VARIABLES = ["x", "y", "z"]
OPERATORS = ["+", "-", "*", "/", "^", "**", ",", "(", ")", "[", "]", "=", ":", "!", "<", ">", ".",
             "<=", ">=", "==", "!="]
NUMBERS = ["0", "1", "2", "3", "9", "10", "0.5", ".5", "1.", "1e-3", "2.5E+4", "1e", "1e+", "007", "1e308",
           "1e-320", "4.9e-324"]
WHITESPACE = [" ", " ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\u00a0", "\u3000"]
TOKENS = (
    list("0123456789") + VARIABLES * 3 + OPERATORS * 2 + NUMBERS + FUNCTION_NAMES + CONSTANT_NAMES
    + WHITESPACE + ["(", ")", "(", ")"]
)
# Characters for per-character soup (Hypothesis' st.text alphabet).
ALPHABET = "0123456789xyz+-*/^,()[]=:!<>. \teE"

# --------------------------------------------------------------------------
# seeds: valid expressions from the case files, the README and the function table


def _case_expressions(path: Path) -> list[str]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return []
    out = []
    for case in document.get("case", []):
        expr = case.get("expr")
        if isinstance(expr, str):
            out.append(expr)
        elif isinstance(expr, list) and all(isinstance(e, str) for e in expr):
            out.append("[" + ", ".join(expr) + "]")
    return out


_README_COMMAND = re.compile(r"autodiff (?:grad|partial|hessian|jacobian|plot|graph) \"([^\"\n]+)\"")


def _readme_expressions(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    return [m.group(1) for m in _README_COMMAND.finditer(text) if m.group(1) != "-"]


def _function_calls() -> list[str]:
    calls = []
    for spec in FUNCTIONS:
        if spec.name == "where":
            calls.append("where(x > 0, x^2, -x)")
            continue
        count = spec.min_args if spec.max_args is not None else 3
        args = ["x", "y", "z"][:count] if count <= 3 else ["x"] * count
        calls.append(f"{spec.name}({', '.join(args)})")
    return calls


EXTRA_SEEDS = [
    "6*x^2+2*x+4", "x^3 + 2*x^2 + 3*x + 4", "2x(y+1)", "(x+1)(x-1)", "-x^2", "x^-2", "2^3^2", "1/2x",
    "x^x", "sqrt(x)", "log(x, 2)", "where(x > 0, sqrt(x), 0)", "relu(x) + abs(y)", "detach(x)*y",
    "max(x, y, z)", "clamp(x, -1, 1)", "atan2(y, x)", "hypot(x, y)", "[x*y, x+y, sin(x)]",
    "sin(x^2) + x^2", "0.5*x^2", "θ^2", "lr_2*x10", "x2 + x10", "e^x", "pi*x", "inf*x", "x",
]


def load_seeds() -> list[str]:
    seeds = []
    for path in sorted((REPO / "tests" / "cases").glob("*.toml")):
        seeds.extend(_case_expressions(path))
    seeds.extend(_readme_expressions(REPO / "README.md"))
    seeds.extend(_function_calls())
    seeds.extend(EXTRA_SEEDS)
    return list(dict.fromkeys(seeds))


SEEDS = load_seeds()

# --------------------------------------------------------------------------
# hostile strings

HUGE_NUMBERS = [
    "9^9^9^9", "9^9^9", "1e999", "-1e999", "1e308*10", "10^4000*10^4000", "1.5^1e4001", "9^9^92.5e42",
    "2^2^2^2^2^2", "10^400", "0^-1", "0/0", "(-8)^(1/3)", "1e-400", "1" * 1000, "1" * 1001, "9" * 5000,
    "0." + "0" * 5000 + "1", "1e" + "9" * 50, "4.9e-324", "1.7976931348623157e308", "gamma(200)",
    "exp(exp(exp(e)))", "cos(exp(exp(exp(e))))", "factorial(10^10)", "10^10^10",
]

_RUN = f"__import__('os').system('touch {SENTINEL}')"
HOSTILE = [
    _RUN,
    "__import__('os').system('touch PWNED')",
    f"eval(\"{_RUN}\")",
    f"exec('import os; os.system(\"touch {SENTINEL}\")')",
    f"open('{SENTINEL}', 'w').write('x')",
    f"x + {_RUN}",
    f"sin({_RUN})",
    "lambda: 0", "lambda x: x", "(lambda: 0)()",
    "x.__class__", "x.__class__.__mro__", "().__class__.__bases__[0].__subclasses__()", "__builtins__",
    "__class__", "_x + __x", "x.__dict__", "getattr(x, '__class__')", "globals()", "locals()", "vars()",
    "compile('1', 'f', 'exec')", "import os", "from os import system", "exec", "eval", "eval(x)",
    "breakpoint()", "input()", "help()", "exit()", "quit()", "print(x)",
    # sympify-isms
    "Symbol('x')", "S(1)/2", "Integer(2)*x", "Rational(1, 2)*x", "x.diff(x)", "sympify('x')", "Function('f')(x)",
    "Lambda(x, x)", "oo", "zoo", "nan", "I", "I*x", "E**x", "Piecewise((x, x > 0))", "Heaviside(x)", "Abs(x)",
    "Eq(x, 1)", "Matrix([[x]])", "N(pi, 10^9)", "pi.evalf(10^9)", "evalf(pi, 1000000000)", "Derivative(x, x)",
    "Integral(x, x)", "factorial(x)", "x!", "x % 2", "x // 2", "x if x else 0", "[x for x in range(10)]",
    "{x: 1}", "{x}", "x @ y", "x & y", "x | y", "~x", "x << 2", "x >> 2", "1j", "1j*x", "0x1F", "0b101", "0o7",
    "1_000", "2.", "..5", "1..2", "x...", "Ellipsis", "...", "x; y", "x := 1", "x = 1", "x == 1", "x < y < z",
    "not x", "x and y", "x or y", "x is y", "x in y", "yield x", "await x", "True", "False", "None", "del x",
    "global x", "x[0]", "x[0:1]", "x()", "x(x+1)", "sin", "sin()", "sin(x,)", "sin(,)", "sin((x)", "log(x, 2, 3)",
    "where(x, 1, 2)", "where(x > y > z, 1, 2)", "where(x = 1, 1, 2)",
    # strings and f-strings
    f"f\"{{{_RUN}}}\"", "f'{x}'", "'x'", "\"x\"", "r'x'", "b'x'", "'''x'''", "u'x'",
    # backslashes, control and odd characters
    "x\\", "\\x", "\\u0041", "\\N{GREEK SMALL LETTER ALPHA}", "x\\ny", "x\ny", "x\r\ny", "x\ry", "x\ty",
    "x\x0by", "x\x0cy", "\x1b[31mx\x1b[0m", "\u202ex+1", "x\u200by", "\ufeffx", "x\u0301", "\ud800", "x\udfff",
    "１２x", "x²", "x\u00b2 + 1", "٣x", "𝑥 + 1", "ｓｉｎ(x)", "ﬁ + 1", "ℯ^x", "π*x", "∞", "√x", "x·y", "x×y",
    "x−y", "x ÷ y", "½x", "Ⅻ", "x\u2028y", "x\u2029y", "x\u0085y",
    # NUL bytes
    "x\x00", "\x00", "sin(x)\x00; touch PWNED", "\x00" * 100, "x\x00+1",
    # shell-isms (never reach a shell: arguments are not parsed by one)
    f"$(touch {SENTINEL})", f"`touch {SENTINEL}`", f"; touch {SENTINEL}", f"| touch {SENTINEL}", f"&& touch {SENTINEL}",
    "--help", "-", "--", "-x", "--json", "--at=x=1",
    # size and depth
    "(" * 5000 + "x" + ")" * 5000, "(" * 101 + "x" + ")" * 101, "(" * 100 + "x" + ")" * 100, "-" * 5000 + "x",
    "x^" * 3000 + "x", "sin(" * 5000 + "x" + ")" * 5000, "[" * 5000 + "x" + "]" * 5000, "+" * 10000,
    "x" * 10001, "x" * 10000, "x+" * 5000 + "x", "1" * 10000, "a" * 9999, "(" * 10001, ")" * 10001,
    "x" + " " * 10000, " " * 10001, "\x00" * 10001, "é" * 10001, "𝑥" * 5001, "x*" * 4999 + "x",
    "sin(x)+" * 1428 + "x", "[" + ", ".join(["x"] * 3000) + "]", "max(" + ", ".join(["x"] * 3000) + ")",
    "+".join(f"x{i}" for i in range(1200)), "*".join(["x"] * 3000), "-(" * 60 + "x" + ")" * 60,
    "where(" * 40 + "x > 0, 1, 0" + ")" * 40,
    "",
] + HUGE_NUMBERS

# --------------------------------------------------------------------------
# generators


def token_soup(rng: Random, max_tokens: int = 20) -> str:
    return "".join(rng.choice(TOKENS) for _ in range(rng.randint(0, max_tokens)))


def char_soup(rng: Random, max_size: int = 24) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, max_size)))


# Code points worth hitting more often than a uniform draw would.
_ODD_CODEPOINTS = [0, 0x0B, 0x0C, 0x1B, 0x7F, 0x85, 0xA0, 0xB2, 0xBD, 0x200B, 0x202E, 0x2028, 0x3000, 0xFEFF,
                   0x1D465, 0xFF11, 0x0663, 0x2212, 0x221E, 0x3C0, 0xD800, 0xDFFF, 0x10FFFF, 0xFFFD]


def unicode_text(rng: Random, max_size: int = 16) -> str:
    chars = []
    for _ in range(rng.randint(0, max_size)):
        roll = rng.random()
        if roll < 0.3:
            chars.append(rng.choice(ALPHABET))
        elif roll < 0.45:
            chars.append(chr(rng.choice(_ODD_CODEPOINTS)))
        elif roll < 0.8:
            chars.append(chr(rng.randint(0x80, 0x2FFF)))
        else:
            chars.append(chr(rng.randint(0, 0x10FFFF)))
    return "".join(chars)


_SPLIT = re.compile(r"\s+|[0-9.]+(?:[eE][+-]?[0-9]+)?|\w+|\*\*|<=|>=|==|!=|.", re.S)


def _tokens_of(text: str) -> list[str]:
    return _SPLIT.findall(text) or [text]


def _slice(rng: Random, text: str) -> tuple[int, int]:
    if not text:
        return 0, 0
    start = rng.randrange(len(text) + 1)
    end = min(len(text), start + rng.choice([1, 1, 2, 3, rng.randint(0, max(1, len(text)))]))
    return start, end


def _piece(rng: Random) -> str:
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(TOKENS)
    if roll < 0.65:
        return rng.choice(HUGE_NUMBERS)
    if roll < 0.8:
        return rng.choice(SEEDS)
    if roll < 0.9:
        return unicode_text(rng, 3)
    return rng.choice(HOSTILE[:40])


def _insert(rng, text):
    i = rng.randrange(len(text) + 1)
    return text[:i] + _piece(rng) + text[i:]


def _delete(rng, text):
    a, b = _slice(rng, text)
    return text[:a] + text[b:]


def _replace(rng, text):
    a, b = _slice(rng, text)
    return text[:a] + _piece(rng) + text[b:]


def _duplicate(rng, text):
    a, b = _slice(rng, text)
    return text[:b] + text[a:b] * rng.choice([1, 2, 3, 50]) + text[b:]


def _swap_tokens(rng, text):
    tokens = _tokens_of(text)
    if len(tokens) >= 2:
        i, j = rng.randrange(len(tokens)), rng.randrange(len(tokens))
        tokens[i], tokens[j] = tokens[j], tokens[i]
    return "".join(tokens)


def _drop_token(rng, text):
    tokens = _tokens_of(text)
    if tokens:
        del tokens[rng.randrange(len(tokens))]
    return "".join(tokens)


def _rename(rng, text):
    tokens = _tokens_of(text)
    names = [i for i, t in enumerate(tokens) if t[:1].isalpha()]
    if names:
        tokens[rng.choice(names)] = rng.choice(FUNCTION_NAMES + CONSTANT_NAMES + VARIABLES + ["sine", "xy", "__x"])
    return "".join(tokens)


def _renumber(rng, text):
    tokens = _tokens_of(text)
    numbers = [i for i, t in enumerate(tokens) if t[:1].isdigit()]
    if numbers:
        tokens[rng.choice(numbers)] = rng.choice(HUGE_NUMBERS + NUMBERS)
    else:
        tokens.append("*" + rng.choice(HUGE_NUMBERS))
    return "".join(tokens)


def _wrap(rng, text):
    depth = rng.choice([1, 2, 5, 50, 99, 100, 101, 500, 5000])
    opener = rng.choice(["(", "(", "-(", "sin(", "[", "abs(", "+("])
    closer = "]" if opener == "[" else ")"
    return opener * depth + text + closer * depth


def _splice(rng, text):
    other = rng.choice(SEEDS)
    return text[: rng.randrange(len(text) + 1)] + other[rng.randrange(len(other) + 1) :]


def _join(rng, text):
    return rng.choice(["+", "*", "^", ", ", "(", ")(", " ", ""]).join([text] * rng.choice([2, 3, 10, 200]))


def _exponentiate(rng, text):
    return f"({text})^{rng.choice(HUGE_NUMBERS + ['x', '-1', '0.5', '1e999', '(1/3)'])}"


def _case(rng, text):
    return text.upper() if rng.random() < 0.5 else text.swapcase()


MUTATIONS = [_insert, _delete, _replace, _duplicate, _swap_tokens, _drop_token, _rename, _renumber, _wrap,
             _splice, _join, _exponentiate, _case]


def mutate(rng: Random, text: str, rounds: int | None = None) -> str:
    """1 to 4 random mutations of `text` (kept below 60,000 characters)."""
    for _ in range(rounds if rounds is not None else rng.choice([1, 1, 1, 2, 2, 3, 4])):
        text = rng.choice(MUTATIONS)(rng, text)
        if len(text) > 60_000:
            text = text[:60_000]
    return text


def mutated_seed(rng: Random) -> str:
    return mutate(rng, rng.choice(SEEDS))


def hostile(rng: Random) -> str:
    text = rng.choice(HOSTILE)
    return mutate(rng, text, 1) if rng.random() < 0.2 else text


_LEAVES = VARIABLES * 4 + ["0", "1", "2", "0.5", "1e-3", "1e308", "1e-320", "10", "pi", "e", "E", "inf", "2x", "3y",
                           "0.5z", "2pi"]
_BINARY = ["{0} + {1}", "{0} - {1}", "{0} * {1}", "{0} / {1}", "{0}^{1}", "{0}**{1}", "({0})({1})", "{0} {1}"]
_COMPARE = ["<", "<=", ">", ">=", "==", "!="]


def tree(rng: Random, depth: int = 4) -> str:
    """A random expression in the language: every function of the table, with
    any arguments (domains, poles and kinks included), usually the right arity."""
    if depth == 0 or rng.random() < 0.25:
        return rng.choice(_LEAVES)
    roll = rng.random()
    if roll < 0.45:
        spec = rng.choice(FUNCTIONS)
        count = rng.randint(spec.min_args, spec.max_args or spec.min_args + 2)
        if rng.random() < 0.05:
            count = rng.choice([0, count + 1])  # the wrong arity
        args = [tree(rng, depth - 1) for _ in range(count)]
        if spec.name == "where" and args:
            args[0] = f"{tree(rng, depth - 1)} {rng.choice(_COMPARE)} {tree(rng, depth - 1)}"
        return f"{spec.name}({', '.join(args)})"
    if roll < 0.85:
        return rng.choice(_BINARY).format(tree(rng, depth - 1), tree(rng, depth - 1))
    if roll < 0.95:
        return f"({tree(rng, depth - 1)})"
    return f"-{tree(rng, depth - 1)}"


KINDS = ("tokens", "chars", "unicode", "mutated", "hostile", "seed", "tree")
WEIGHTS = (16, 6, 6, 30, 8, 8, 26)


def expression(rng: Random, kind: str | None = None) -> tuple[str, str]:
    """(kind, text): one fuzz input of the given or a random kind."""
    kind = kind or rng.choices(KINDS, weights=WEIGHTS)[0]
    if kind == "tree":
        text = tree(rng, rng.choice([1, 2, 3, 4]))
        return kind, (mutate(rng, text, 1) if rng.random() < 0.1 else text)
    if kind == "tokens":
        return kind, token_soup(rng)
    if kind == "chars":
        return kind, char_soup(rng)
    if kind == "unicode":
        return kind, unicode_text(rng)
    if kind == "mutated":
        return kind, mutated_seed(rng)
    if kind == "hostile":
        return kind, hostile(rng)
    return kind, rng.choice(SEEDS)


# --------------------------------------------------------------------------
# points and options


SCALARS = ["0", "1", "-1", "2", "3", "0.5", "-0.0", "pi/4", "sqrt(2)", "e", "1e-3", "1e-320", "1e308", "-1e308",
           "1e999", "nan", "inf", "-inf", "0/0", "1/0", "sqrt(-1)", "9^9^9", "10^400", "x", "", " ", "1 2", "[1]",
           "1e", "__import__('os')", "exp(710)", "2^1023*2", "4.9e-324", "(" * 200 + "1" + ")" * 200]
SANE_SCALARS = ["0", "1", "-1", "2", "0.5", "-0.0", "pi/4", "sqrt(2)", "e", "1e-3", "1e-320", "1e308", "-1e308",
                "4.9e-324", "-pi", "2^10", "1/3"]
PYTHON_SCALARS = [0, 1, -1, 2, 0.5, -0.0, 1e-320, 1e308, -1e308, float("nan"), float("inf"), float("-inf"),
                  10**400, 3, 1e-3, 2**53 + 1]
SANE_PYTHON_SCALARS = [0, 1, -1, 2, 0.5, -0.0, 1e-320, 1e308, -1e308, 3, 1e-3, 2**53 + 1, 5e-324]

# Points and options come in two moods: `wild` (about one call in four) draws
# from everything, junk included; otherwise values are valid, so that the
# call gets past validation into the computation.


def scalar_text(rng: Random, wild: bool = True) -> str:
    roll = rng.random()
    if roll < 0.45:
        return repr(round(rng.uniform(-3, 3), rng.choice([0, 1, 3, 17])))
    if not wild:
        return rng.choice(SANE_SCALARS) if roll < 0.9 else repr(rng.choice(SANE_PYTHON_SCALARS))
    if roll < 0.85:
        return rng.choice(SCALARS)
    if roll < 0.9:
        return repr(rng.choice(PYTHON_SCALARS))
    return mutate(rng, rng.choice(SCALARS), 1)


def value_text(rng: Random, size: int | None = None, wild: bool = True) -> str:
    """A --at value: a scalar, a vector of `size` elements, or a grid."""
    roll = rng.random()
    if size is None and roll < 0.75:
        return scalar_text(rng, wild)
    if size is None:
        size = rng.choice([1, 2, 3, 5])
    if roll < 0.9:
        items = (scalar_text(rng, wild) if rng.random() < 0.3 else repr(rng.uniform(-2, 2)) for _ in range(size))
        return "[" + ",".join(items) + "]"
    odd = wild and rng.random() < 0.3
    count = rng.choice(["0", "-1", "2.5", "1e9", "10000001", "99999999999999999999", "x", ""]) if odd else str(size)
    stop = rng.choice(["1", "5", "inf", "nan", "0"] if wild else ["1", "5", "0", "1e308"])
    return f"{scalar_text(rng, wild) if odd else rng.choice(['0', '-1', '-5'])}:{stop}:{count}"


def point_names(rng: Random, names: list[str], wild: bool = True) -> list[str]:
    names = list(names) or list(VARIABLES[: rng.randint(0, 2)])
    if wild and rng.random() < 0.2 and names:
        names.pop(rng.randrange(len(names)))  # a missing variable
    if rng.random() < (0.2 if wild else 0.05):
        names.append(rng.choice(["t", "w", "x1", "θ"] + (["pi", "sin", "__class__", "1x", "", "x y", "x=1"] if wild else [])))
    return names


def point_text(rng: Random, names: list[str], wild: bool = True) -> str:
    """An --at text: `x=1,y=[1,2]`, `x=0:1:5`, or (wild) junk."""
    if wild and rng.random() < 0.15:
        return rng.choice(["", "x", "=1", "x==1", "x=1,", ",", "x=1,x=2", "x=[1,2],y=[1,2,3]",
                           "x=1;y=2", "x=(1", "x=[1,2", f"x={_RUN}", "x=eval('1')", "x=" + "[" * 5000,
                           "x=0:1:10000001", "x=0:1:1e100", "x=-1e308:1e308:3"])
    size = rng.choice([None, None, None, 1, 2, 3]) if rng.random() < 0.5 else None
    parts = [f"{name}={value_text(rng, size, wild)}" for name in point_names(rng, names, wild)]
    return ",".join(parts)


def point_mapping(rng: Random, names: list[str], wild: bool = True) -> dict:
    """An API point: {name: number, text or list}."""
    size = rng.choice([None, None, 2, 3])
    numbers = PYTHON_SCALARS if wild else SANE_PYTHON_SCALARS
    out = {}
    for name in point_names(rng, names, wild):
        roll = rng.random()
        if size is not None and roll < 0.6:
            out[name] = [rng.choice(numbers) if rng.random() < 0.3 else rng.uniform(-2, 2) for _ in range(size)]
        elif roll < 0.5:
            out[name] = rng.choice(numbers) if rng.random() < 0.4 else rng.uniform(-3, 3)
        else:
            out[name] = value_text(rng, size, wild)
    return out


def api_point(rng: Random, names: list[str], wild: bool = True):
    """Any PointLike the API takes: None, a text, a list of texts or a mapping."""
    roll = rng.random()
    if roll < (0.08 if wild else 0.02):
        return None
    if roll < 0.4:
        return point_text(rng, names, wild)
    if roll < 0.5:
        return [point_text(rng, [n], wild) for n in names] or [point_text(rng, names, wild)]
    return point_mapping(rng, names, wild)


def wrt_names(rng: Random, names: list[str], wild: bool = True) -> list[str] | None:
    roll = rng.random()
    if roll < 0.5 or not names:
        return None if roll < 0.5 or not wild else [rng.choice(VARIABLES + ["pi", "sin", "", "x,y", "1"])]
    if rng.random() < 0.8:  # distinct names, as hessian, jacobian and grad need
        return rng.sample(names, rng.randint(1, len(names)))
    return [rng.choice(names) for _ in range(rng.choice([2, 3, 21] if wild else [2, 3]))]  # partial's sequence


def range_text(rng: Random, names: list[str], wild: bool = True) -> str:
    if names and rng.random() < (0.7 if wild else 1.0):
        name = names[0]
    else:
        name = rng.choice(names + ["x", "", "pi", "t"]) if names else rng.choice(["x", "", "t"])
    sane = [("-5", "5"), ("0", "1"), ("-1e308", "1e308"), ("1e-300", "2e-300"), ("-pi", "pi"), ("0.5", "0.75")]
    odd = [("1", "0"), ("0", "0"), ("-inf", "0"), ("0", "nan"), ("-1", "1e999"), ("0", "9^9^9"),
           (scalar_text(rng), scalar_text(rng))]
    start, stop = rng.choice(sane + odd if wild else sane)
    text = f"{name}={start}:{stop}" if name else f"{start}:{stop}"
    return mutate(rng, text, 1) if wild and rng.random() < 0.1 else text


def names_in(text: str) -> list[str]:
    """Likely variable names in `text` (identifiers that are not functions or constants)."""
    found = re.findall(r"[^\W\d]\w*", text)
    reserved = set(FUNCTION_NAMES) | set(CONSTANT_NAMES)
    return list(dict.fromkeys(n for n in found if n not in reserved))[:6]


# --------------------------------------------------------------------------
# case files for `check`


def _toml_string(text: str) -> str:
    """A TOML basic string (every character escaped that must be)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(rng: Random) -> str:
    return rng.choice(["1", "2.5", "-3", "inf", "nan", "-inf", "1e308", '"pi/4"', '"x"', "[1, 2]", "[[1, 0], [0, 1]]",
                       "true", '"2,y=3"', "{}", "[]", '"' + "9" * 2000 + '"', "9" * 30, "1e999"])


CASE_KEYS = ["expr", "at", "name", "value", "grad", "order", "partial", "hessian", "jacobian", "grad_output",
             "rtol", "atol", "skip", "grd", "bogus"]


def case_file(rng: Random) -> str:
    """A TOML case file: random cases built from fuzz expressions, sometimes mutated as text."""
    lines = []
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        _, text = expression(rng)
        if len(text) > 2000:
            text = text[:2000]
        names = names_in(text)[:3] or ["x"]
        lines.append("[[case]]")
        if rng.random() < 0.95:
            lines.append(f"expr = {_toml_string(text)}")
        if rng.random() < 0.95:
            at = ", ".join(f"{n} = {rng.choice(['1', '0.5', '-2', '[1, 2]', _toml_string(scalar_text(rng)), _toml_value(rng)])}"
                           for n in point_names(rng, names) if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n))
            lines.append(f"at = {{ {at} }}")
        for key in rng.sample(CASE_KEYS[2:], rng.choice([0, 1, 1, 2, 3])):
            if key == "grad":
                value = "{ " + ", ".join(f"{n} = {_toml_value(rng)}" for n in names[:2]) + " }"
            elif key == "partial":
                value = "{ wrt = [" + ", ".join(_toml_string(rng.choice(names)) for _ in range(rng.randint(0, 3))) + "]" + (
                    f", expect = {_toml_value(rng)}" if rng.random() < 0.5 else "") + " }"
            elif key == "order":
                value = rng.choice(["1", "2", "0", "21", "-1", "1.5", '"2"'])
            elif key == "name":
                value = _toml_string(token_soup(rng, 5))
            else:
                value = _toml_value(rng)
            lines.append(f"{key} = {value}")
        lines.append("")
    text = "\n".join(lines)
    if rng.random() < 0.15:
        text = mutate(rng, text, 1)
    return text


def seed_case_file() -> str:
    return (REPO / "tests" / "cases" / "seeds.toml").read_text(encoding="utf-8")


# --------------------------------------------------------------------------
# one API call, described


COMMANDS = ("grad", "partial", "hessian", "jacobian", "graph", "plot")


@dataclass
class Call:
    """A call of one autodiff.commands.api function, replayable from its repr."""

    command: str
    expression: object
    kwargs: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"autodiff.commands.api.{self.command}({self.expression!r}, **{self.kwargs!r})"


def api_call(rng: Random, command: str, text: str) -> Call:
    names = names_in(text)
    wild = rng.random() < 0.25

    def pick(good: list, wrong: list):
        return rng.choice(wrong if wild and rng.random() < 0.3 else good)

    options: dict = {}
    if rng.random() < 0.3:
        options["symbolic"] = False
    options["symbolic_timeout"] = rng.choice([0.0, 0.5, 1.0, 2.0, 2.0])
    if rng.random() < 0.15:
        options["dtype"] = pick(["float32", "float64"], ["float16", "int64", ""])
    if rng.random() < 0.1:
        options["rtol"] = pick([0.0, 1e-3, 1.0, 1e-300, float("inf")], [float("nan"), -1.0])
    if rng.random() < 0.1:
        options["atol"] = pick([0.0, 1e-3, 1e300, float("inf")], [float("nan"), -1.0])
    if command == "plot":
        points = pick([2, 3, 5, 17, 40], [1, 0, -1, 10**7 + 1])
        order = pick([1, 2, 3, 3], [0, 4, -1])
        kwargs = dict(points=points, order=order, **options)
        if rng.random() < 0.6:
            kwargs["over"] = range_text(rng, names, wild)
        if rng.random() < 0.85 and len(names) > 1:
            others = names[1:]
            if wild:
                kwargs["at"] = point_text(rng, others) if rng.random() < 0.5 else point_mapping(rng, others)
            elif rng.random() < 0.5:  # plot takes single values
                kwargs["at"] = ",".join(f"{n}={scalar_text(rng, False)}" for n in others)
            else:
                kwargs["at"] = {n: rng.choice([rng.uniform(-3, 3), scalar_text(rng, False)]) for n in others}
        return Call(command, text, kwargs)
    if command == "graph":
        return Call(command, text, {"at": api_point(rng, names, wild)})
    kwargs = dict(at=api_point(rng, names, wild), **options)
    wrt = wrt_names(rng, names, wild)
    if wrt is not None:
        kwargs["wrt"] = ",".join(wrt) if rng.random() < 0.2 else wrt
    if command == "grad" and rng.random() < 0.25:
        kwargs["order"] = pick([1, 2, 3], [0, 21, -1])
    if command in ("grad", "partial") and rng.random() < 0.15:
        kwargs["grad_output"] = pick(["1,2", "[1, 2, 3]", "1", [1.0, 2.0], 2.0], ["nan", [float("inf")], "x", ""])
    if rng.random() < 0.1:
        texts = ["1", "x=1", "1,2", "[[1,0],[0,1]]", "nan", "inf", "x=[1,2]", "junk(", "[1,2]"]
        if command in ("hessian", "jacobian"):  # a matrix: text, rows as texts, or nested numbers
            kwargs["expect"] = rng.choice(texts + [["[1,0]", "[0,1]"], [[1.0]], [[1.0, 0.0], [0.0, 1.0]], [[float("nan")]]])
        else:  # a text, a number or a mapping (README, Python API)
            kwargs["expect"] = rng.choice(texts + [38, 1.5, float("nan"), {"x": 1}, {"x": "pi"}, {"x": [1, 2]}])
    expression_arg: object = text
    if command == "jacobian" and rng.random() < 0.3:
        expression_arg = [text, rng.choice(SEEDS)] if rng.random() < 0.7 else [text]
    return Call(command, expression_arg, kwargs)


# --------------------------------------------------------------------------
# one CLI run, described


CLI_COMMANDS = ("grad", "partial", "hessian", "jacobian", "plot", "graph", "check")


def cli_text(text: str) -> str:
    """`text` as a command-line argument can hold it: Python decodes argv with
    surrogateescape, so the only lone surrogates there are U+DC80..U+DCFF
    (undecodable bytes); any other becomes U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF and not 0xDC80 <= ord(ch) <= 0xDCFF else ch for ch in text)


def stdin_bytes(text: str) -> bytes:
    """`text` as bytes on standard input; lone surrogates become invalid UTF-8."""
    return text.encode("utf-8", "surrogatepass")


def _cli_point(rng: Random, names: list[str], wild: bool) -> list[str]:
    if rng.random() < (0.1 if wild else 0.03):
        return []
    if rng.random() < 0.2 and names:
        return [arg for n in names for arg in ("--at", point_text(rng, [n], wild))]
    return ["--at", point_text(rng, names, wild)]


def cli_args(rng: Random, command: str, text: str) -> tuple[list[str], bytes | None]:
    """(argv, stdin) for `autodiff COMMAND ...` on the fuzz expression `text`.
    Options are valid but for about one run in eight. `check` is built by
    check_args (it needs a case file)."""
    names = names_in(text)
    bad = rng.random() < 0.2  # wild: junk options and points

    def pick(good: list[str], wrong: list[str]) -> str:
        return rng.choice(wrong if bad and rng.random() < 0.5 else good)

    stdin = None
    if command in ("grad", "partial", "hessian", "jacobian", "graph") and rng.random() < 0.2:
        # streaming: several fuzz lines on stdin
        stdin = stdin_bytes("\n".join([text] + [expression(rng)[1] for _ in range(rng.randint(0, 3))]))
        text = "-"
    args = [command, text]
    if command == "plot":
        if rng.random() < 0.6:
            args += ["--range", range_text(rng, names, bad)]
        args += ["--points", pick(["2", "5", "17"], ["1", "0", "-3", "x"])]
        if rng.random() < 0.5:
            args += ["--order", pick(["1", "2", "3"], ["0", "4"])]
        if len(names) > 1 and rng.random() < 0.8:
            others = names[1:]
            args += ["--at", point_text(rng, others, bad) if bad else ",".join(f"{n}={scalar_text(rng, False)}" for n in others)]
        if rng.random() < 0.3:
            args += ["--width", pick(["20", "40", "100"], ["19", "10001", "x"]), "--height", pick(["8", "12"], ["7"])]
        if bad and rng.random() < 0.3:
            args += ["--output", rng.choice(["out.txt", "no/such/dir/out.png", "", "out"])]
    elif command == "graph":
        args += _cli_point(rng, names, bad)
        if rng.random() < 0.5:
            args += ["--format", pick(["tree", "dot", "json"], ["xml"])]
    else:
        args += _cli_point(rng, names, bad)
        if rng.random() < 0.4 and names:
            args += ["--wrt", ",".join(wrt_names(rng, names, bad) or names)]
        elif command == "partial" and rng.random() < 0.5:
            args += ["--wrt", pick(["x", "x,x", "x,y"], ["", ",", "pi", "1"])]
        if command == "grad" and rng.random() < 0.2:
            args += ["--order", pick(["1", "2", "3"], ["0", "21", "-1", "99999999999999999999", "x"])]
        if command in ("grad", "partial") and rng.random() < 0.1:
            args += ["--grad-output", pick(["1,2", "[1,2,3]", "1", "2"], ["nan", "x", "", "inf"])]
        if rng.random() < 0.1:
            args += ["--expect", pick(["1", "x=1", "1,2", "[[1,0],[0,1]]", "inf", "1,0,0,1"], ["nan", "x=[1,2]", "junk("])]
    if command != "graph":
        if rng.random() < 0.3:
            args += ["--no-symbolic"]
        args += ["--symbolic-timeout", pick(["0", "0.5", "1", "2", "2"], ["-1", "nan", "x"])]
        if rng.random() < 0.1:
            args += ["--dtype", pick(["float32", "float64"], ["float16"])]
        if rng.random() < 0.1:
            args += [rng.choice(["--rtol", "--atol"]), pick(["0", "1e-3", "inf", "1e-300"], ["-1", "nan", "x"])]
    if rng.random() < 0.6:
        args.append("--json")
    if bad and rng.random() < 0.2:
        args.append(rng.choice(["--bogus", "-z", "--at"]))
    return [cli_text(arg) for arg in args], stdin


def check_args(rng: Random, path: str | None) -> list[str]:
    """argv for `autodiff check` on a case file (`-` when path is None)."""
    args = ["check", path or "-"]
    if rng.random() < 0.2:
        args += ["-k", rng.choice(["x", "partial", "zzz", ""])]
    if rng.random() < 0.1:
        args += ["--junit", "no/such/dir/junit.xml"]
    if rng.random() < 0.1:
        args += ["--dtype", "float32"]
    args += ["--symbolic-timeout", rng.choice(["0.5", "1", "2"])]
    if rng.random() < 0.6:
        args.append("--json")
    return args
