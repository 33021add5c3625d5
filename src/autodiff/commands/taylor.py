"""`autodiff taylor`: the Taylor coefficients f⁽ᵅ⁾(a)/α! of an expression at a
point, up to total degree N, from autograd beside SymPy.

The expansion is prepared once (autodiff.commands.prepare) and every
coefficient of degree ≥ 1 is one differentiation sequence of a single call
of the derivative core (nested autograd along the multi-index, with
create_graph, from one forward pass), so each carries every witness:
SymPy's derivative evaluated in floats, finite differences and the exact
value in ball arithmetic, which judges autograd. Beside it, SymPy's
coefficient in exact form (`1/120`, `sqrt(2)/4`): SymPy's derivative
evaluated at the point as typed (`pi/4` stays pi/4), divided by α!, which
is the series' coefficient by definition. The polynomial is printed with
SymPy's coefficients where SymPy gave all of them, else with autograd's.
The graph nodes of all the coefficients count against one limit
graph-nodes, the command's (calculus.Budget).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from autodiff.commands.prepare import Options, prepare, scope_of
from autodiff.errors import LimitError, UsageError
from autodiff.limits import as_limits
from autodiff.results import DerivativeResult, PlotReport, PointReport, json_number
from autodiff.text import subscript
from autodiff.witnesses.exact import MAX_LIMITS

MAX_TERMS = 2_000  # coefficients in one expansion (each is a nested autograd derivative)


@dataclass
class TaylorTerm:
    """One coefficient: the multi-index, autograd's coefficient and SymPy's."""

    powers: dict[str, int]  # variable → power, in the point's variable order (zeros kept)
    coefficient: Optional[float]  # autograd's derivative / α!
    symbolic: Optional[str]  # SymPy's exact coefficient (machine form), None when SymPy gave none
    symbolic_value: Optional[float]  # its float value
    derivative: Optional[DerivativeResult]  # the derivative with every witness (None for the constant term)
    factorial: int = 1  # α! = Π αᵢ!
    exact: Optional[str] = None  # the exact value of the coefficient (17 digits), from the ball witness
    monomial: str = "1"  # Π (xᵢ - aᵢ)^αᵢ, machine form
    symbolic_expr: object = field(default=None, repr=False, compare=False)  # SymPy's coefficient itself

    @property
    def degree(self) -> int:
        return sum(self.powers.values())

    @property
    def agree(self) -> Optional[bool]:
        return None if self.derivative is None else self.derivative.agree

    def to_json(self) -> dict:
        result = {
            "powers": dict(self.powers),
            "degree": self.degree,
            "monomial": self.monomial,
            "coefficient": json_number(self.coefficient),
            "symbolic": self.symbolic,
            "symbolic_value": json_number(self.symbolic_value),
            "exact": self.exact,
            "factorial": self.factorial,
            "agree": self.agree,
        }
        if self.derivative is not None:
            result["derivative"] = {"wrt": list(self.derivative.wrt), **self.derivative.to_json()}
        return result


@dataclass
class TaylorResult(PointReport):
    """`autodiff taylor`: the coefficients up to total degree `order`."""

    order: int = 1
    terms: list[TaylorTerm] = field(default_factory=list)
    polynomial: Optional[str] = None  # machine form, in powers of (x - a)
    polynomial_source: Optional[str] = None  # "symbolic" (exact coefficients) or "autograd"
    plot: Optional[dict] = None  # --plot: the range and the curves drawn
    chart: object = field(default=None, repr=False, compare=False)  # --plot: the PlotReport the terminal chart draws

    command = "taylor"

    def derivatives(self) -> list[DerivativeResult]:
        return [term.derivative for term in self.terms if term.derivative is not None]

    def body(self) -> dict:
        body = {
            "order": self.order,
            "terms": [term.to_json() for term in self.terms],
            "polynomial": self.polynomial,
            "polynomial_source": self.polynomial_source,
        }
        if self.plot is not None:
            body["plot"] = {key: json_number(value) if key in ("x", "f") else value for key, value in self.plot.items()}
            body["plot"]["polynomials"] = [
                {"degree": p["degree"], "values": json_number(p["values"])} for p in self.plot["polynomials"]
            ]
        return body


def term_count(count: int, order: int) -> int:
    """How many α have |α| ≤ order over `count` variables: C(count + order, order)."""
    return math.comb(count + order, order)


def multi_indices(count: int, order: int) -> list[tuple[int, ...]]:
    """Every α with |α| ≤ order over `count` variables, by total degree, then
    lexicographically with the first variable's power highest (x², xy, y²).
    Built degree by degree (never the (order+1)^count grid)."""
    def of_degree(degree: int, slots: int):
        if slots == 1:
            yield (degree,)
            return
        for first in range(degree, -1, -1):
            for rest in of_degree(degree - first, slots - 1):
                yield (first, *rest)

    if count == 0:
        return [()]
    return [alpha for degree in range(order + 1) for alpha in of_degree(degree, count)]


def taylor(expression: str, at, *, order: int = 4, plot: bool = False, over: Optional[str] = None,
           **options) -> TaylorResult:
    """The Taylor coefficients of `expression` at the point `at` (every
    variable given one value) up to total degree `order`. `plot`: also f and
    its Taylor polynomials on a grid of `over` ("x=-1:1"; default the point
    ± 2), for one variable.

    Options: as for `api.partial` (dtype, symbolic, symbolic_timeout, exact,
    rtol, atol, limits, device, define, and budget: a calculus.Budget that
    counts the graph nodes of the coefficients, by default one of its own).
    """
    from autodiff.language import notation

    limits = as_limits(options.get("limits"))
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise UsageError(f"--order must be a whole number >= 0, not {order!r}")
    if order > limits.max_order:
        raise LimitError(f"--order {order} is more than the limit of {limits.max_order} (--limit order={order})")
    if at is None:
        raise UsageError("taylor needs the point to expand about: add --at, e.g. --at x=0")
    define = options.pop("define", None)
    if define:
        options["scope"] = scope_of(define, limits)
    settings = Options(**options)
    prepared = prepare(expression, at, None, None, settings, one_point=ONE_POINT)
    problem = prepared.problem
    exact_point = _exact_point(at, limits, settings.scope)
    names = [name for name in problem.point.values if name in prepared.variables and name not in problem.frozen]
    sequences = _sequences(names, order)
    # One count of graph nodes for every coefficient: the limit is the
    # command's, and each derivative still to come is predicted before it
    # runs (the coefficients of degree 2 to N repeat each other's first
    # orders), so a refusal comes as soon as the whole expansion passes it.
    from autodiff.engine.calculus import Budget

    if problem.budget is None:
        problem.budget = Budget(limits.max_graph_nodes, limits.max_autograd_seconds)
    problem.budget.plan(sequence for sequence in sequences.values() if len(sequence) > 1)
    # Each coefficient may need the limit of a removable singularity (sin(x)/x at 0): as many as one derivative has.
    problem.max_limits = MAX_LIMITS * len(sequences)
    warnings: list[str] = []
    value, derivatives, witnesses = problem.derivatives(sequences, warnings)
    fields = prepared.fields(value, list(derivatives.values()), warnings, witnesses)
    del fields["frozen"], fields["declared"]  # a taylor report has neither
    terms = _terms(names, value, fields.get("value_exact"), derivatives)
    _name_monomials(terms, names, exact_point)
    if settings.symbolic:
        _symbolic_coefficients(problem.expr, terms, names, exact_point, settings.symbolic_timeout, warnings)
    if plot and len(names) != 1:  # checked before any work is drawn
        raise UsageError(f"--plot draws f of one variable; this expression has {len(names) or 'no'} variables")
    polynomial, source = _polynomial(terms, names, exact_point)
    missing = [term for term in terms if term.derivative is not None and term.derivative.differentiable is False]
    if missing:
        polynomial = source = None
        warnings.append(
            f"no Taylor polynomial: the coefficient of {notation.show(missing[0].monomial)} does not exist at the "
            "point as written (see the warnings above)"
        )
    result = TaylorResult(**fields, order=order, terms=terms, polynomial=polynomial, polynomial_source=source)
    if plot:
        result.chart = plot_report(result, over, problem.program(), limits, settings.scope)
    return result


ONE_POINT = "taylor expands about one point: give each variable one value, not a vector or a grid"


def _sequences(names: list[str], order: int) -> dict:
    """Each coefficient of degree ≥ 1 by its multi-index α: its differentiation sequence."""
    if term_count(len(names), order) > MAX_TERMS:
        raise LimitError(
            f"{term_count(len(names), order)} coefficients ({len(names)} variables to degree {order}) are more "
            f"than the limit of {MAX_TERMS}; lower --order"
        )
    alphas = multi_indices(len(names), order)[1:]
    return {alpha: [name for name, power in zip(names, alpha) for _ in range(power)] for alpha in alphas}


def _terms(names: list[str], value, value_exact, derivatives: dict) -> list[TaylorTerm]:
    """The constant term f(a), then each derivative divided by α!."""
    terms = [TaylorTerm({name: 0 for name in names}, value, None, None, None, 1, value_exact)]
    for alpha, derivative in derivatives.items():
        factorial = math.prod(math.factorial(power) for power in alpha)
        terms.append(TaylorTerm(
            dict(zip(names, alpha)), _divided(derivative.autograd, factorial), None, None, derivative, factorial,
            _exact_divided(derivative.exact, factorial),
        ))
    return terms


def _divided(value, factorial: int):
    return None if value is None else value / factorial


def _exact_divided(exact: Optional[str], factorial: int) -> Optional[str]:
    """The exact decimal divided by α! (to the 17 digits it is shown with)."""
    if exact is None or not isinstance(exact, str):
        return None
    if factorial == 1 or exact in ("0", "nan", "inf", "-inf"):
        return exact
    from decimal import Context, Decimal

    mantissa, _, exponent = format(Context(prec=17).divide(Decimal(exact), Decimal(factorial)), ".16e").partition("e")
    return f"{mantissa}e{int(exponent):+03d}"  # as the exact witness writes it: 1.6666666666666667e-01


def _exact_point(at, limits, scope) -> dict:
    """The point as typed, in exact SymPy numbers (`pi/4` stays pi/4; a
    float given to the API is its exact binary value)."""
    import sympy

    from autodiff.language.parsing import parse_expression
    from autodiff.points import ASSIGNMENT, split_top_level

    values: dict = {}
    if isinstance(at, dict):
        items = at.items()
    elif hasattr(at, "values") and not isinstance(at, (list, tuple, str)):  # a Point
        items = at.values.items()
    else:
        texts = [at] if isinstance(at, str) else list(at)
        items = []
        for text in texts:
            for _, part in split_top_level(text):
                match = ASSIGNMENT.match(part)
                items.append((match.group(1), part[match.end():]) if match else (None, part))
    for name, value in items:
        symbol = sympy.Symbol(name, real=True) if name else None
        if isinstance(value, str):
            # A decimal as typed is that decimal exactly (0.1 is 1/10): the
            # shortest text of its double, read as a fraction.
            parsed = parse_expression(value.strip(), limits, scope=scope)
            values[symbol] = parsed.xreplace({f: sympy.Rational(repr(float(f))) for f in parsed.atoms(sympy.Float)})
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            values[symbol] = sympy.Integer(value)
        elif isinstance(value, float):
            values[symbol] = sympy.Rational(repr(value))  # as for text: 0.1 is 1/10
    return values


def _symbolic_coefficients(expr, terms, names, exact_point, timeout: float, warnings) -> None:
    """SymPy's exact coefficient of each term, under one deadline."""
    import sympy

    from autodiff.deadline import SymbolicTimeout, with_deadline
    from autodiff.engine.symbolic import symbolic_derivative
    from autodiff.language.notation import machine

    by_name = {symbol.name: symbol for symbol in expr.free_symbols}
    if None in exact_point:  # `--at 3`: the one variable (a new mapping: the caller's is read again)
        bare = exact_point[None]
        exact_point = {key: value for key, value in exact_point.items() if key is not None}
        exact_point[by_name.get(names[0], sympy.Symbol(names[0], real=True))] = bare

    def work():
        for term in terms:
            sequence = [name for name, power in term.powers.items() for _ in range(power)]
            derivative = symbolic_derivative(expr, sequence) if sequence else expr
            value = sympy.simplify(derivative.subs(exact_point)) / term.factorial
            if value.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo) or value.free_symbols:
                continue  # undefined there as written (a removable singularity, a kink): no exact coefficient
            try:
                number = float(value)
            except (TypeError, ValueError):  # DiracDelta(0) and the like: not a number
                continue
            if not math.isfinite(number):
                continue
            term.symbolic, term.symbolic_expr, term.symbolic_value = machine(value), value, number

    try:
        with_deadline(work, timeout)
    except SymbolicTimeout:
        warnings.append(
            f"SymPy took longer than {timeout:g} s for the exact coefficients; "
            "the polynomial is written with autograd's"
        )
    except (ArithmeticError, ValueError, TypeError, AttributeError, RecursionError) as error:
        warnings.append(f"SymPy could not give the exact coefficients ({type(error).__name__})")


def _polynomial(terms: list[TaylorTerm], names: list[str], exact_point: dict) -> tuple[Optional[str], Optional[str]]:
    """Σ c_α Π (xᵢ - aᵢ)^αᵢ, lowest degree first, in machine form."""
    import sympy

    from autodiff.language.notation import machine

    exact = all(term.symbolic is not None for term in terms)
    if not exact and any(term.coefficient is None or not math.isfinite(term.coefficient) for term in terms):
        return None, None
    by_name = {symbol.name: value for symbol, value in exact_point.items() if symbol is not None}
    if None in exact_point and names:
        by_name[names[0]] = exact_point[None]
    pieces = []  # (negative, text of |c|·monomial), the product left unexpanded: 3*(x - 1), not 3*x - 3
    for term in terms:
        coefficient = _coefficient_expr(term, exact)
        if coefficient == 0:
            continue
        negative = bool(coefficient.could_extract_minus_sign())
        magnitude = -coefficient if negative else coefficient
        monomial = _monomial(term, by_name)
        if monomial == 1:
            text = machine(magnitude)
        elif magnitude == 1:
            text = machine(monomial)
        else:
            factors = monomial.args if monomial.is_Mul else (monomial,)
            text = machine(sympy.Mul(magnitude, *factors, evaluate=False))
        pieces.append((negative, text))
    if not pieces:
        return "0", "symbolic" if exact else "autograd"
    first_negative, text = pieces[0]
    text = ("-" if first_negative else "") + text
    for negative, piece in pieces[1:]:
        text += f" - {piece}" if negative else f" + {piece}"
    return text, "symbolic" if exact else "autograd"


def _monomial(term: TaylorTerm, by_name: dict):
    import sympy

    monomial = sympy.Integer(1)
    for name, power in term.powers.items():
        if power:
            monomial *= (sympy.Symbol(name, real=True) - by_name.get(name, sympy.Integer(0))) ** power
    return monomial


def _name_monomials(terms: list[TaylorTerm], names: list[str], exact_point: dict) -> None:
    from autodiff.language.notation import machine

    by_name = {symbol.name: value for symbol, value in exact_point.items() if symbol is not None}
    if None in exact_point and names:
        by_name[names[0]] = exact_point[None]
    for term in terms:
        term.monomial = machine(_monomial(term, by_name))


def _coefficient_expr(term: TaylorTerm, exact: bool):
    import sympy

    if exact:
        return term.symbolic_expr
    return sympy.Float(repr(term.coefficient), 17) if term.coefficient % 1 else sympy.Integer(int(term.coefficient))


# --- --plot -------------------------------------------------------------------

PLOT_POINTS = 400
MAX_POLYNOMIALS = 3  # curves beside f: the chart's colours and markers tell four apart


def plot_degrees(order: int) -> list[int]:
    """The degrees drawn beside f: all up to 3, else 1, the middle one and N."""
    if order <= MAX_POLYNOMIALS:
        return list(range(1, order + 1)) or [0]
    return sorted({1, (order + 1) // 2, order})


def plot_report(result: TaylorResult, over: Optional[str], program, limits, scope) -> PlotReport:
    """f (`program`) and its Taylor polynomials (autograd's coefficients) on
    a grid of one variable: `over` (x=a:b), by default the point ± 2."""
    import torch

    from autodiff.engine.values import parse_range
    from autodiff.points import grid
    from autodiff.results import PlotReport

    names = list(result.terms[0].powers)
    if len(names) != 1:
        raise UsageError(f"--plot draws f of one variable; this expression has {len(names) or 'no'} variables")
    name = names[0]
    center = result.at[name]
    if over is not None:
        given, start, stop = parse_range(over, "--range", limits, scope)
        if given and given != name:
            raise UsageError(f"--range names {given}; the expansion's variable is {name}")
    else:
        start, stop = center - 2.0, center + 2.0
    xs = list(grid(start, stop, PLOT_POINTS))
    with torch.no_grad():
        tensor = torch.tensor(xs, dtype=torch.float64)
        f = program({name: tensor}).expand(tensor.shape).tolist()
    curves = []
    for degree in plot_degrees(result.order):
        values = [0.0] * len(xs)
        for term in result.terms:
            if term.degree > degree or term.coefficient is None:
                continue
            power = term.powers[name]
            for index, x in enumerate(xs):
                values[index] += term.coefficient * (x - center) ** power
        curves.append({"label": f"P{subscript(degree)}", "degree": degree, "autograd": values, "agree": None})
    result.plot = {"variable": name, "start": start, "stop": stop, "x": xs, "f": f,
                   "polynomials": [{"degree": c["degree"], "values": c["autograd"]} for c in curves]}
    return PlotReport(expression=result.expression, variable=name, start=start, stop=stop, at={}, x=xs, f=f,
                      curves=curves, warnings=[])
