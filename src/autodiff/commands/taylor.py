"""`autodiff taylor`: the Taylor coefficients f⁽ᵅ⁾(a)/α! of an expression at a
point, up to total degree N, from Taylor mode, each judged exactly.

Taylor mode (autodiff.engine.series) answers: one run of the program on
truncated series gives every coefficient, in O(N²) per operation. Beside it:
- the exact witness: FLINT's ball series of the same program
  (autodiff.witnesses.coefficients), which judges every coefficient; where
  f is undefined at the point as written but has a limit (sin(x)/x at 0),
  the series of the limit, and where the ball series gives no value,
  SymPy's series (one variable);
- nested autograd (`create_graph`) where it is affordable: while its graph,
  which grows exponentially with the order, stays within the limit
  `taylor-autograd-nodes` (counted, the same on any machine); a witness
  that disagrees with the exact value fails the command as Taylor mode would;
- SymPy's exact coefficients (`1/120`, `sqrt(2)/4`) to degree
  SYMPY_MAX_ORDER: SymPy's derivative at the point as typed (`pi/4` stays
  pi/4), divided by α!.
The polynomial is printed with SymPy's coefficients where SymPy gave all of
them, else the exact ones where every ball is an exact number, else Taylor
mode's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from autodiff.commands.prepare import Options, prepare, scope_of
from autodiff.errors import LimitError, UsageError
from autodiff.limits import as_limits
from autodiff.results import PlotReport, PointReport, json_number
from autodiff.text import subscript

MAX_TERMS = 2_000  # coefficients in one expansion
SYMPY_MAX_ORDER = 10  # SymPy's exact coefficients to this degree (each is a SymPy derivative: they grow with the order)
ENGINE = "taylor mode"


def multi_indices(count: int, order: int) -> list[tuple[int, ...]]:
    """Every α with |α| ≤ order over `count` variables, by degree (autodiff.engine.series.multi_indices)."""
    from autodiff.engine.series import multi_indices as indices

    return indices(count, order)


@dataclass
class TaylorTerm:
    """One coefficient: the multi-index, Taylor mode's coefficient and its witnesses."""

    powers: dict[str, int]  # variable → power, in the point's variable order (zeros kept)
    coefficient: Optional[float]  # f⁽ᵅ⁾(a)/α!: Taylor mode's, or the exact limit's where f is undefined as written
    factorial: int = 1  # α! = Π αᵢ!
    autograd: Optional[float] = None  # nested autograd's derivative / α!, where it ran
    symbolic: Optional[str] = None  # SymPy's exact coefficient (machine form), None when SymPy gave none
    symbolic_value: Optional[float] = None  # its float value
    exact: Optional[str] = None  # the exact coefficient (17 digits)
    exact_digits: Optional[int] = None  # correct digits of Taylor mode's coefficient
    exact_source: Optional[str] = None  # "ball series", "SymPy series", or "limit" (f undefined as written)
    agree: Optional[bool] = None  # Taylor mode (and autograd, where it ran) within the tolerance of the judge
    checked_by: Optional[str] = None  # "exact", "symbolic" or "autograd"
    autograd_agree: Optional[bool] = None
    differentiable: Optional[bool] = None  # False: the coefficient does not exist at the point as written
    monomial: str = "1"  # Π (xᵢ - aᵢ)^αᵢ, machine form
    symbolic_expr: object = field(default=None, repr=False, compare=False)  # SymPy's coefficient itself
    exact_rational: object = field(default=None, repr=False, compare=False)  # the exact coefficient, where a ball is exact
    taylor_mode: Optional[float] = None  # Taylor mode's own value (nan where f is undefined as written)

    @property
    def degree(self) -> int:
        return sum(self.powers.values())

    def to_json(self) -> dict:
        return {
            "powers": dict(self.powers),
            "degree": self.degree,
            "monomial": self.monomial,
            "coefficient": json_number(self.coefficient),
            "taylor_mode": json_number(self.taylor_mode),
            "autograd": json_number(self.autograd),
            "symbolic": self.symbolic,
            "symbolic_value": json_number(self.symbolic_value),
            "exact": self.exact,
            "exact_digits": self.exact_digits,
            "exact_source": self.exact_source,
            "factorial": self.factorial,
            "agree": self.agree,
            "autograd_agree": self.autograd_agree,
            "checked_by": self.checked_by,
            "differentiable": self.differentiable,
        }


@dataclass
class TaylorResult(PointReport):
    """`autodiff taylor`: the coefficients up to total degree `order`."""

    order: int = 1
    terms: list[TaylorTerm] = field(default_factory=list)
    polynomial: Optional[str] = None  # machine form, in powers of (x - a)
    polynomial_source: Optional[str] = None  # "symbolic", "exact" or "taylor mode"
    engine: str = ENGINE
    autograd_order: Optional[int] = None  # the degree nested autograd witnessed to (None: not run)
    notes: list[str] = field(default_factory=list)  # which witnesses ran where, and why not
    plot: Optional[dict] = None  # --plot: the range and the curves drawn
    chart: object = field(default=None, repr=False, compare=False)  # --plot: the PlotReport the terminal chart draws

    command = "taylor"

    def derivatives(self) -> list:
        return []

    @property
    def agree(self) -> Optional[bool]:
        verdicts = [term.agree for term in self.terms if term.agree is not None]
        return all(verdicts) if verdicts else None

    def body(self) -> dict:
        body = {
            "order": self.order,
            "engine": self.engine,
            "autograd_order": self.autograd_order,
            "terms": [term.to_json() for term in self.terms],
            "polynomial": self.polynomial,
            "polynomial_source": self.polynomial_source,
            "notes": list(self.notes),
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


def taylor(expression: str, at, *, order: int = 4, plot: bool = False, over: Optional[str] = None,
           **options) -> TaylorResult:
    """The Taylor coefficients of `expression` at the point `at` (every
    variable given one value) up to total degree `order`. `plot`: also f and
    its Taylor polynomials on a grid of `over` ("x=-1:1"; default the point
    ± 2), for one variable.

    Options: as for `api.partial` (dtype, symbolic, symbolic_timeout, exact,
    rtol, atol, limits, device, define, and budget: a calculus.Budget that
    counts the graph nodes of nested autograd, the witness, by default one
    of `taylor-autograd-nodes`).
    """
    import torch

    from autodiff.engine.series import check_series_work
    from autodiff.engine.taylor_mode import SeriesProgram
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
    if plot and len(names) != 1:  # checked before any work is drawn
        raise UsageError(f"--plot draws f of one variable; this expression has {len(names) or 'no'} variables")
    alphas = _alphas(names, order)
    program = SeriesProgram(problem.autograd_exprs or problem.exprs)
    check_series_work(len(program.instructions), len(names), order, 1, limits)
    leaves = {name: tensor.to(problem.device) for name, tensor in problem.leaves(requires_grad=False).items()}
    series = program.coefficients(leaves, names, order, getattr(torch, problem.dtype))[0].cpu().tolist()
    warnings: list[str] = []
    notes: list[str] = []
    terms = [
        TaylorTerm(dict(zip(names, alpha)), value, math.prod(math.factorial(power) for power in alpha), taylor_mode=value)
        for alpha, value in zip(alphas, series)
    ]
    autograd_order = _autograd(problem, terms, alphas, names, order, limits, notes)
    _name_monomials(terms, names, exact_point)
    if settings.symbolic and order <= SYMPY_MAX_ORDER:
        _symbolic_coefficients(problem.expr, terms, names, exact_point, settings.symbolic_timeout, warnings)
    elif settings.symbolic:
        notes.append(f"SymPy's exact coefficients are not computed past degree {SYMPY_MAX_ORDER} "
                     f"(each is one more SymPy derivative); the exact column is the ball series'")
    value_fields = _judge(problem, terms, names, order, settings, limits, warnings, notes)
    polynomial, source = _polynomial(terms, names, exact_point)
    missing = [term for term in terms if term.differentiable is False]
    if missing and missing[0].degree == 0:
        polynomial = source = None
        warnings.append("no Taylor polynomial: f has no value at the point (outside its domain, or a pole)")
    elif missing:
        polynomial = source = None
        warnings.append(
            f"no Taylor polynomial: the coefficient of {notation.show(missing[0].monomial)} does not exist at the "
            "point (a kink, the boundary of a where(), or a branch point such as sqrt at 0)"
        )
    judges = {term.checked_by for term in terms if term.checked_by is not None}
    checked_by = next((judge for judge in ("autograd", "symbolic", "exact") if judge in judges), None)
    result = TaylorResult(
        expression=prepared.text, at=dict(problem.point.values), value=series[0], checked_by=checked_by,
        warnings=warnings, dtype=problem.dtype, variables=list(prepared.variables), **value_fields,
        order=order, terms=terms, polynomial=polynomial, polynomial_source=source, autograd_order=autograd_order,
        notes=notes,
    )
    if plot:
        result.chart = plot_report(result, over, problem, limits, settings.scope)
    return result


ONE_POINT = "taylor expands about one point: give each variable one value, not a vector or a grid"


def _alphas(names: list[str], order: int) -> list[tuple[int, ...]]:
    if term_count(len(names), order) > MAX_TERMS:
        raise LimitError(
            f"{term_count(len(names), order)} coefficients ({len(names)} variables to degree {order}) are more "
            f"than the limit of {MAX_TERMS}; lower --order"
        )
    return multi_indices(len(names), order)


def _autograd(problem, terms, alphas, names, order, limits, notes) -> Optional[int]:
    """Nested autograd's coefficients, the witness, while its graph is within
    the command's count of graph nodes; the degree it reached (None: not run)."""
    from autodiff.engine.calculus import Budget

    if order == 0:
        return None
    sequences = {alpha: [name for name, power in zip(names, alpha) for _ in range(power)] for alpha in alphas[1:]}
    budget = problem.budget
    if budget is None:
        budget = problem.budget = Budget(limits.max_taylor_autograd_nodes)
    problem.engine = "autograd"  # the witness is nested autograd itself, never Taylor mode again
    try:
        budget.plan(sequence for sequence in sequences.values() if len(sequence) > 1)
        _, derivatives = problem.autograd(problem.autograd_program(problem.program()), sequences)
    except LimitError:
        notes.append(
            f"nested autograd is not shown: to degree {order} its graph would pass the limit of "
            f"{budget.nodes:,} graph nodes (raise it with --limit taylor-autograd-nodes=N)"
        )
        return None
    for term in terms[1:]:
        alpha = tuple(term.powers.values())
        term.autograd = _divided(float(derivatives[alpha].reshape(-1)[0]), term.factorial)
    return order


def _divided(value, factorial: int):
    return None if value is None else value / factorial


def _judge(problem, terms, names, order, settings, limits, warnings, notes) -> dict:
    """Each term's exact value and verdict; f's exact value fields."""
    from autodiff.witnesses.coefficients import ExactCoefficient, ball_coefficients, close, sympy_series

    exact: list = [None] * len(terms)
    series = _sympy_series_of(problem, names[0], order, settings, sympy_series) if len(names) == 1 else None
    if settings.exact:  # the ball series of f needs no SymPy
        point = dict(problem.point.values)
        rows, unsupported = ball_coefficients(problem.exprs, point, names, order, limits)
        if unsupported:
            notes.append(f"no exact witness: {unsupported}")
        else:
            exact = [ExactCoefficient(ball, source="ball series") for ball in rows[0]]
        # Where the balls give no value (or none at all for f, undefined as written: x*cot(x) at 0), SymPy's series.
        unknown = any(e is None or not (e.known or e.undefined) for e in exact)
        if unknown and len(names) > 1:
            count = sum(1 for e in exact if e is None or not (e.known or e.undefined))
            warnings.append(f"{count} coefficient(s) have no exact value: the ball series gave none (SymPy's series "
                            "is asked for one variable only)")
        pole_or_limit = not math.isfinite(terms[0].coefficient) and exact and exact[0] is not None and exact[0].undefined
        if len(names) == 1 and (unknown or pole_or_limit):
            _sympy_fallback(series(), exact, warnings, pole_or_limit)
    tolerance = problem.tolerance
    scales = _scales(terms, exact)
    # f undefined at the point as written (sin(x)/x at 0) while the exact series has a value: its limit's.
    undefined_as_written = (not math.isfinite(terms[0].coefficient) and exact[0] is not None and exact[0].known
                            and not _defined_as_written(problem, limits))
    for term, known in zip(terms, exact):
        value = term.coefficient
        if known is not None and known.undefined:
            term.differentiable = False
            continue
        if known is not None and known.known:
            reference, term.checked_by = known.to_float(), "exact"
            term.exact, term.exact_source = known.text(), known.source
            term.exact_rational = known.rational()
            if undefined_as_written:  # the limit answers; Taylor mode's nan is not compared
                term.coefficient, term.exact_source, term.checked_by = reference, "limit", None
                continue
            term.exact_digits = known.digits(value)
        elif term.symbolic_value is not None:
            reference, term.checked_by = term.symbolic_value, "symbolic"
        elif term.autograd is not None:
            reference, term.checked_by = term.autograd, "autograd"
        else:
            continue
        scale = scales[term.degree]
        term.agree = close(value, reference, term.factorial, tolerance, scale)
        if term.autograd is not None and term.checked_by != "autograd":
            term.autograd_agree = close(term.autograd, reference, term.factorial, tolerance, scale)
            term.agree = term.agree and term.autograd_agree
    if undefined_as_written:
        warnings.append(
            "f is undefined at the point as written (a removable singularity): the coefficients are those of its "
            "limit there, from the exact series; Taylor mode's are nan and not compared"
        )
        if settings.symbolic and len(names) == 1:
            _limit_symbolic(terms, series())
    first = exact[0]
    if first is None or not first.known:
        return {}
    return {
        "value_exact": first.text(),
        "value_digits": first.digits(terms[0].coefficient) if math.isfinite(terms[0].coefficient) else 0,
        "value_exact_source": "limit" if undefined_as_written else "ball",
    }


def _defined_as_written(problem, limits) -> bool:
    """Whether f as written has a value at the point in ball arithmetic: a
    float overflow (exp(1000)) is defined, a removable singularity is not."""
    from autodiff.engine.balls import BallProgram, Budget
    from autodiff.errors import UnsupportedError

    try:
        ball = BallProgram([problem.expr]).evaluate(dict(problem.point.values), Budget.of(limits), limits.max_exact_bits)[0]
    except UnsupportedError:
        return False
    return ball.tight


def _scales(terms, exact) -> dict:
    """Per degree k, the largest exact coefficient of degrees k − 3 to k + 3:
    the scale of a coefficient that is exactly 0 among non-zero neighbours
    (cos(x)·cosh(x) to degree 40), where rounding leaves a tiny remainder."""
    largest: dict = {}
    for term, known in zip(terms, exact):
        if known is not None and known.known:
            value = abs(known.to_float())
            if math.isfinite(value):
                largest[term.degree] = max(largest.get(term.degree, 0.0), value)
    degrees = {term.degree for term in terms}
    return {k: max((largest.get(j, 0.0) for j in range(k - 3, k + 4)), default=0.0) for k in degrees}


def _sympy_series_of(problem, name, order, settings, sympy_series):
    """SymPy's series of f about the point (one variable), under
    --symbolic-timeout, asked at most once: a function that gives its
    coefficients, or None where SymPy gives none."""
    found: list = []

    def series():
        if not found:
            import sympy

            from autodiff.deadline import SymbolicTimeout, with_deadline

            center = sympy.Rational(repr(float(problem.point.values[name])))
            try:
                found.append(with_deadline(lambda: sympy_series(problem.expr, name, center, order),
                                           settings.symbolic_timeout))
            except (SymbolicTimeout, ArithmeticError, ValueError, TypeError, AttributeError, NotImplementedError,
                    RecursionError, sympy.PolynomialError):
                found.append(None)
        return found[0]

    return series


def _limit_symbolic(terms, coefficients) -> None:
    """SymPy's exact coefficients of the limit (`coefficients`, its series), for the polynomial."""
    from autodiff.language.notation import machine

    if coefficients is None:
        return
    for term, value in zip(terms, coefficients):
        if term.exact_source == "limit" and term.symbolic is None and math.isclose(float(value), term.coefficient,
                                                                                   rel_tol=1e-12, abs_tol=1e-300):
            term.symbolic, term.symbolic_expr, term.symbolic_value = machine(value), value, float(value)


def _sympy_fallback(coefficients, exact, warnings, replace_undefined=False) -> None:
    """SymPy's series (`coefficients`, or None) where the ball series gave no
    value (and, with `replace_undefined`, where it proved none: f as written
    has no value there, and SymPy's series is its limit's)."""
    from autodiff.witnesses.coefficients import ExactCoefficient

    unknown = 0
    for index, known in enumerate(exact):
        if known is not None and (known.known or (known.undefined and not replace_undefined)):
            continue
        if known is not None and known.undefined and coefficients is None:
            continue  # proven undefined, and SymPy has no series either: a pole, a kink
        if coefficients is not None:
            exact[index] = ExactCoefficient(sympy_value=coefficients[index], source="SymPy series")
        else:
            unknown += 1
    if unknown:
        warnings.append(f"{unknown} coefficient(s) have no exact value: neither the ball series nor SymPy's series gave one")


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
            "the polynomial is written with the exact or Taylor mode's"
        )
    except (ArithmeticError, ValueError, TypeError, AttributeError, RecursionError) as error:
        warnings.append(f"SymPy could not give the exact coefficients ({type(error).__name__})")


def _polynomial(terms: list[TaylorTerm], names: list[str], exact_point: dict) -> tuple[Optional[str], Optional[str]]:
    """Σ c_α Π (xᵢ - aᵢ)^αᵢ, lowest degree first, in machine form: SymPy's
    coefficients where it gave all, else the exact ones where every ball is
    an exact number, else Taylor mode's."""
    import sympy

    from autodiff.language.notation import machine

    if all(term.symbolic is not None for term in terms):
        source = "symbolic"
    elif all(term.exact_rational is not None for term in terms):
        source = "exact"
    elif any(term.coefficient is None or not math.isfinite(term.coefficient) for term in terms):
        return None, None
    else:
        source = ENGINE
    by_name = {symbol.name: value for symbol, value in exact_point.items() if symbol is not None}
    if None in exact_point and names:
        by_name[names[0]] = exact_point[None]
    pieces = []  # (negative, text of |c|·monomial), the product left unexpanded: 3*(x - 1), not 3*x - 3
    for term in terms:
        coefficient = _coefficient_expr(term, source)
        if coefficient == 0:
            continue
        negative = bool(coefficient.could_extract_minus_sign())
        magnitude = -coefficient if negative else coefficient
        monomial = _monomial(term, by_name)
        if monomial == 1:
            text = machine(magnitude)
        elif magnitude == 1:
            text = machine(monomial)
            if monomial.is_Add:  # x - 2 after a sign: -(x - 2), not -x - 2
                text = f"({text})"
        else:
            factors = monomial.args if monomial.is_Mul else (monomial,)
            text = machine(sympy.Mul(magnitude, *factors, evaluate=False))
        pieces.append((negative, text))
    if not pieces:
        return "0", source
    first_negative, text = pieces[0]
    text = ("-" if first_negative else "") + text
    for negative, piece in pieces[1:]:
        text += f" - {piece}" if negative else f" + {piece}"
    return text, source


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


def _coefficient_expr(term: TaylorTerm, source: str):
    import sympy

    if source == "symbolic":
        return term.symbolic_expr
    if source == "exact":
        return term.exact_rational
    return sympy.Float(repr(term.coefficient), 17) if term.coefficient % 1 else sympy.Integer(int(term.coefficient))


# --- --plot -------------------------------------------------------------------

PLOT_POINTS = 400
MAX_POLYNOMIALS = 3  # curves beside f: the chart's colours and markers tell four apart


def plot_degrees(order: int) -> list[int]:
    """The degrees drawn beside f: all up to 3, else 1, the middle one and N."""
    if order <= MAX_POLYNOMIALS:
        return list(range(1, order + 1)) or [0]
    return sorted({1, (order + 1) // 2, order})


def plot_report(result: TaylorResult, over: Optional[str], problem, limits, scope) -> PlotReport:
    """f (`problem`'s) and its Taylor polynomials (autograd's coefficients) on
    a grid of one variable: `over` (x=a:b), by default the point ± 2; f's
    line breaks where a switch of f changes branch."""
    import torch

    from autodiff.engine.values import parse_range
    from autodiff.points import grid
    from autodiff.results import PlotReport
    from autodiff.witnesses.kinks import branch_changes

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
        f = problem.program()({name: tensor}).expand(tensor.shape).tolist()
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
    report = PlotReport(expression=result.expression, variable=name, start=start, stop=stop, at={}, x=xs, f=f,
                        curves=curves, warnings=[], switches=branch_changes([problem.expr], {name: tensor}, len(xs)))
    report.legend = ["f"] + [f"{curve['label']} (Taylor mode)" for curve in curves]
    return report
