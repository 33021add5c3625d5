"""The real solutions of ∇f = 0 (`autodiff minimize`'s critical points).

Where every partial derivative of f is a polynomial with rational
coefficients (decimals are read as the decimals they print as: 0.5 = 1/2),
the solutions are found all, and certified so:

1. A lex Gröbner basis of the gradient's ideal (sympy.groebner): [1] means no
   solution at all; a basis that is not zero-dimensional means a curve or
   surface of solutions (a family); otherwise it holds a polynomial in the
   last variable alone.
2. Real-root isolation of that polynomial, factor by factor over Q: a
   linear or quadratic factor (or a binomial a·xᵏ + b) gives its real roots
   exactly (−3/4, 1/2 + sqrt(5)/2); any other factor goes to FLINT's
   arb_fmpz_poly_complex_roots, whose enclosures are disjoint and whose real
   roots are certified real (an imaginary part of exactly zero), at 256 bits.
3. Back-substitution. In shape position (x_i − h_i(x_n) for every other
   variable, as for Himmelblau's function), each other coordinate is h_i of
   the root, in ball arithmetic. Otherwise each variable's own eliminant (a
   lex basis with that variable last) gives the candidates of that
   coordinate, and a candidate tuple is kept when every basis polynomial's
   ball at it contains 0 (a true solution is never dropped: the balls are
   rigorous; a false one is dropped as soon as its ball excludes 0).

Each point is classified by the Hessian at it, evaluated in the same balls:
a determinant ball that contains 0 means a singular Hessian (degenerate,
unless its eigenvalues have both signs: a saddle); otherwise the signs of its
eigenvalues (mpmath, 60 digits) say local minimum, local maximum or saddle.

Where ∇f is not polynomial, SymPy's solve finds what it can; the set is
known complete only for one variable when solveset over the reals returns a
finite set (or the empty set). Periodic solution sets (cos x = 0) are
infinite: the ones nearest the start are listed.

Everything here runs under the caller's symbolic deadline; nothing here
evaluates user text (the expression is the parsed SymPy tree).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

PRECISION_BITS = 256  # the balls' working precision: about 77 digits
DIGITS = 30  # significant digits of `Solution.precise`
EXACT_WIDTH = 20  # an exact form longer than this is not shown (the number is)
MAX_DEGREE = 400  # a univariate eliminant of higher degree is not isolated (FLINT's work is not interruptible)
MAX_CANDIDATES = 200_000  # candidate tuples tried off shape position
PERIODIC_SPAN = 2  # periods either side of the start listed for a periodic solution set


class NotPolynomial(Exception):
    """∇f is not a polynomial with rational coefficients."""


@dataclass
class Solution:
    """One real solution of ∇f = 0, or a family of them (`exprs`, no numbers)."""

    names: list
    floats: list = field(default_factory=list)  # empty for a family
    precise: list = field(default_factory=list)  # DIGITS-digit texts
    exact: list = field(default_factory=list)  # SymPy values (short ones only) or None; a family's expressions
    balls: Optional[list] = None  # arb enclosures (the polynomial path)
    high: list = field(default_factory=list)  # 60-digit texts (the other path), for the Hessian
    family: bool = False
    value: Optional[float] = None  # f there
    value_exact: Optional[str] = None
    kind: Optional[str] = None  # local minimum, local maximum, saddle point, degenerate
    eigenvalues: Optional[list] = None

    def exact_texts(self) -> dict:
        from autodiff.language.notation import machine

        return {
            n: (None if e is None else e if isinstance(e, str) else machine(e)) for n, e in zip(self.names, self.exact)
        }


@dataclass
class Outcome:
    solutions: list
    complete: bool
    message: str
    method: str  # "groebner", "solveset", "solve", "constant"
    seconds: dict = field(default_factory=dict)  # the Gröbner step's time, and the others'


# --- entry points ---------------------------------------------------------------


def solve_gradient(expr, names, start: Optional[dict] = None) -> Outcome:
    """All real solutions of ∇f = 0 where ∇f is polynomial (complete), what
    SymPy's solve finds otherwise. Raises what SymPy raises when it cannot."""
    import sympy

    from autodiff.engine.symbolic import symbolic_derivative, symbols_of

    by_name = symbols_of([expr])
    symbols = [by_name.get(name) or sympy.Symbol(name, real=True) for name in names]
    rational = _rationalized(expr)
    source = rational if rational is not None else expr
    by_name = symbols_of([source]) or by_name
    gradient = [symbolic_derivative(source, [name], by_name) for name in names]
    if all(g == 0 for g in gradient):
        family = Solution(list(names), exact=list(symbols), family=True)
        return Outcome([family], True, "f is constant: every point is a critical point", "constant")
    free = [name for name, g in zip(names, gradient) if g == 0]
    if free:  # variables f does not depend on (a start that names more): solve in the others
        used = [name for name in names if name not in free]
        outcome = solve_gradient(expr, used, start)
        outcome.solutions = [_with_free(solution, names, by_name) for solution in outcome.solutions]
        it = "it" if len(free) == 1 else "them"
        outcome.message += f"; {', '.join(free)} free (f does not depend on {it}): each a family"
        return outcome
    if rational is not None:
        try:
            polys = _polynomials(gradient, symbols)
        except NotPolynomial:
            polys = None
        if polys is not None:
            return _polynomial_system(source, polys, symbols, names)
    return _by_sympy(source, gradient, symbols, names, start or {})


def _with_free(solution: Solution, names, by_name) -> Solution:
    """A solution in some of the variables as a family in all: the others free."""
    import sympy

    known = dict(zip(solution.names, solution.exact))
    numbers = dict(zip(solution.names, solution.floats))
    exact = []
    for name in names:
        if name not in known:
            exact.append(by_name.get(name) or sympy.Symbol(name, real=True))
        elif known[name] is None:  # no short exact form: its ten digits
            exact.append(f"{numbers[name] + 0.0:.10g}")
        else:
            exact.append(known[name])
    return Solution(list(names), exact=exact, family=True)


def classify(solution: Solution, expr, names) -> None:
    """Kind, eigenvalues and f's value at a solution, at high precision.
    Leaves `kind` None where it cannot (the caller falls back to autograd)."""
    if solution.family:
        return
    import sympy

    rational = _rationalized(expr)
    source = rational if rational is not None else expr
    from autodiff.engine.symbolic import symbolic_derivative, symbols_of

    by_name = symbols_of([source])
    symbols = [by_name.get(name) or sympy.Symbol(name, real=True) for name in names]
    polys = None
    if rational is not None and solution.balls is not None:
        try:
            polys = _polynomials([source], symbols)
        except NotPolynomial:
            polys = None
    if polys is not None:
        _classify_polynomial(solution, polys[0], symbols)
    else:
        _classify_numeric(solution, source, symbols, names, symbolic_derivative, by_name)
    _exact_value(solution, source, symbols, polynomial=polys is not None)


# --- the polynomial path --------------------------------------------------------


def _rationalized(expr):
    """expr with every float as the decimal it prints as (0.5 → 1/2), or None
    where a float is not finite."""
    import sympy

    floats = expr.atoms(sympy.Float)
    if not floats:
        return expr
    swap = {}
    for number in floats:
        value = float(number)
        if not math.isfinite(value):
            return None
        # A 53-bit float: its shortest text, which is what was typed; a wider one: its own digits.
        text = repr(value) if number._prec <= 53 else str(number)
        swap[number] = sympy.Rational(text)
    return expr.xreplace(swap)


def _polynomials(exprs, symbols):
    import sympy

    polys = []
    for e in exprs:
        if not e.is_polynomial(*symbols):
            raise NotPolynomial()
        try:
            poly = sympy.Poly(e, *symbols)
        except sympy.PolynomialError as error:
            raise NotPolynomial() from error
        if poly.domain not in (sympy.ZZ, sympy.QQ):
            raise NotPolynomial()
        polys.append(poly.set_domain(sympy.QQ))
    return polys


def _polynomial_system(source, polys, symbols, names) -> Outcome:
    import time

    import sympy

    seconds = {}
    equations = [p for p in polys if not p.is_zero]
    started = time.perf_counter()
    basis = sympy.groebner([p.as_expr() for p in equations], *symbols, order="lex", domain=sympy.QQ)
    seconds["groebner"] = time.perf_counter() - started
    exprs = list(basis.exprs)
    if exprs == [1] or (len(exprs) == 1 and exprs[0].is_number and exprs[0] != 0):
        return Outcome([], True, "no critical point: ∇f = 0 has no solution, real or complex", "groebner", seconds)
    if not basis.is_zero_dimensional:
        return _positive_dimensional(basis, symbols, names, seconds)
    started = time.perf_counter()
    basis_polys = [sympy.Poly(g, *symbols, domain=sympy.QQ) for g in exprs]
    from flint import ctx

    with ctx.workprec(PRECISION_BITS):
        solutions = _shape_position(basis_polys, symbols, names)
        if solutions is None:
            solutions = _by_eliminants(basis_polys, equations, symbols, names, seconds)
        for solution in solutions:  # every gradient polynomial vanishes there (rigorous: its ball holds 0)
            if not all(0 in _arb_eval(p, solution.balls) for p in equations):
                raise ArithmeticError("a back-substituted point does not solve ∇f = 0")
            solution.floats = [_float(b) for b in solution.balls]
            solution.precise = [_digits(b) for b in solution.balls]
    seconds["roots"] = time.perf_counter() - started
    solutions.sort(key=lambda s: s.floats)
    count = len(solutions)
    if not count:
        message = "no real critical point: ∇f = 0 has only complex solutions"
    else:
        message = (
            f"{'the one real solution' if count == 1 else f'all {count} real solutions'} of ∇f = 0 "
            "(lex Gröbner basis, exact real-root isolation)"
        )
    return Outcome(solutions, True, message, "groebner", seconds)


def _shape_position(basis, symbols, names) -> Optional[list]:
    """[x_1 − h_1(x_n), …, g(x_n)]: every real root r of g gives (h_1(r), …, r).
    None where the basis is not of that shape."""
    import sympy

    n = len(symbols)
    last = symbols[-1]
    univariate = [p for p in basis if p.free_symbols <= {last}]
    if len(basis) != n or len(univariate) != 1:
        return None
    g = sympy.Poly(univariate[0].as_expr(), last, domain=sympy.QQ)
    solvers = []
    for symbol in symbols[:-1]:
        own = [p for p in basis if symbol in p.free_symbols]
        if len(own) != 1:
            return None
        poly = own[0]
        if not poly.free_symbols <= {symbol, last} or poly.degree(symbol) != 1:
            return None
        coefficient, rest = sympy.Poly(poly.as_expr(), symbol).all_coeffs()
        if not coefficient.is_number:
            return None
        h = sympy.Poly(-rest / coefficient, last, domain=sympy.QQ)
        solvers.append(h)
    solutions = []
    for root in _real_roots(g):
        balls, exact = [], []
        for h in solvers:
            balls.append(_arb_eval_univariate(h, root.ball))
            exact.append(_substituted(h, root))
        balls.append(root.ball)
        exact.append(root.exact)
        solutions.append(Solution(list(names), balls=balls, exact=[_short(e) for e in exact]))
    return solutions


def _by_eliminants(basis, equations, symbols, names, seconds) -> list:
    """Off shape position: each coordinate is a real root of its own eliminant;
    tuples are built from the last variable on and kept while every basis
    polynomial in the variables placed so far has a ball containing 0."""
    import time

    import sympy

    n = len(symbols)
    roots_of = []
    for symbol in symbols:
        univariate = [p for p in basis if p.free_symbols <= {symbol}]
        if not univariate:
            order = [s for s in symbols if s != symbol] + [symbol]
            started = time.perf_counter()
            other = sympy.groebner([p.as_expr() for p in equations], *order, order="lex", domain=sympy.QQ)
            seconds["groebner"] = seconds.get("groebner", 0.0) + time.perf_counter() - started
            univariate = [sympy.Poly(g, *symbols, domain=sympy.QQ) for g in other.exprs if g.free_symbols <= {symbol}]
            if not univariate:
                raise ArithmeticError(f"no eliminant for {symbol} in a zero-dimensional basis")
        g = min(univariate, key=lambda p: p.total_degree())
        roots_of.append(_real_roots(sympy.Poly(g.as_expr(), symbol, domain=sympy.QQ)))
    checks = [(p, {symbols.index(s) for s in p.free_symbols}) for p in basis]
    partial = [{}]  # index → root
    tried = 0
    for index in reversed(range(n)):
        placed = set(range(index, n))
        due = [p for p, used in checks if index in used and used <= placed]
        extended = []
        for assignment in partial:
            for root in roots_of[index]:
                tried += 1
                if tried > MAX_CANDIDATES:
                    raise ArithmeticError(f"more than {MAX_CANDIDATES} candidate points")
                trial = dict(assignment)
                trial[index] = root
                balls = [trial[i].ball if i in trial else None for i in range(n)]
                if all(0 in _arb_eval(p, balls) for p in due):
                    extended.append(trial)
        partial = extended
    return [
        Solution(list(names), balls=[a[i].ball for i in range(n)], exact=[_short(a[i].exact) for i in range(n)])
        for a in partial
    ]


@dataclass
class _Root:
    ball: object  # arb
    exact: object = None  # a SymPy number, where the root's factor is linear, quadratic or a binomial
    factor: object = None  # its irreducible factor over Q (a Poly)


def _real_roots(g) -> list:
    """The real roots of a univariate Poly over Q, each once, ascending."""
    import sympy
    from flint import arb, fmpq, fmpz_poly

    roots = []
    if g.degree() > MAX_DEGREE:
        raise ArithmeticError(f"∇f = 0 reduces to a polynomial of degree {g.degree()}, more than {MAX_DEGREE}")
    for factor, _ in g.factor_list()[1]:
        degree = factor.degree()
        coeffs = factor.all_coeffs()
        symbol = factor.gen
        if degree < 1:
            continue
        if degree == 1:
            a, b = coeffs
            value = sympy.Rational(-b, a)
            roots.append(_Root(arb(fmpq(int(value.p), int(value.q))), value, factor))
            continue
        if degree == 2:
            a, b, c = (sympy.Rational(v) for v in coeffs)
            disc = b * b - 4 * a * c
            if disc < 0:
                continue
            for sign in (-1, 1):
                value = sympy.radsimp((-b + sign * sympy.sqrt(disc)) / (2 * a))
                ball = (_arb(-b) + sign * _arb(disc).sqrt()) / _arb(2 * a)
                roots.append(_Root(ball, value, factor))
            continue
        if all(v == 0 for v in coeffs[1:-1]):  # a·xᵏ + b: the real k-th roots of −b/a
            c = sympy.Rational(-coeffs[-1], coeffs[0])
            if degree % 2 == 1:
                magnitude = sympy.root(abs(c), degree)
                value = magnitude if c >= 0 else -magnitude
                ball = _arb(abs(c)).root(degree) * (1 if c >= 0 else -1)
                roots.append(_Root(ball, value, factor))
            elif c > 0:
                magnitude = sympy.root(c, degree)
                for sign in (-1, 1):
                    roots.append(_Root(sign * _arb(c).root(degree), sign * magnitude, factor))
            continue
        integral = sympy.Poly(factor.as_expr(), symbol).clear_denoms()[1]
        flint_poly = fmpz_poly([int(v) for v in reversed(integral.all_coeffs())])
        for z, _ in flint_poly.complex_roots():
            if z.imag == 0:  # certified real: FLINT sets a real root's imaginary part to exactly 0
                roots.append(_Root(z.real, None, factor))
    roots.sort(key=lambda r: float(r.ball.mid()))
    return roots


def _arb(value):
    from flint import arb, fmpq

    import sympy

    value = sympy.Rational(value)
    return arb(fmpq(int(value.p), int(value.q)))


def _arb_eval(poly, balls):
    """A Poly over Q at arb values (None for a variable the poly does not use)."""
    from flint import arb

    total = arb(0)
    for monomial, coefficient in poly.terms():
        term = _arb(coefficient)
        for exponent, ball in zip(monomial, balls):
            if exponent:
                term *= ball**exponent
        total += term
    return total


def _arb_eval_univariate(poly, ball):
    from flint import arb

    total = arb(0)
    for coefficient in poly.all_coeffs():  # Horner
        total = total * ball + _arb(coefficient)
    return total


def _substituted(h, root):
    """h(root) exactly, where the root is known exactly; None otherwise."""
    import sympy

    if root.exact is None:
        return None
    factor = sympy.Poly(root.factor.as_expr(), h.gen, domain=sympy.QQ)
    reduced = h.rem(factor)  # h mod the root's minimal polynomial: of degree < its degree
    return sympy.radsimp(sympy.expand(reduced.as_expr().subs(h.gen, root.exact)))


def _short(value):
    """The exact value where its text is short and real; None otherwise."""
    import sympy

    from autodiff.language.notation import machine

    if value is None:
        return None
    try:
        if value.has(sympy.I) or value.free_symbols or not value.is_real:
            return None
        text = machine(value)
    except (TypeError, ValueError, AttributeError):
        return None
    return value if len(text) <= EXACT_WIDTH and "I" not in text else None


def _float(ball) -> float:
    """The ball's value as a float: 0 where the ball holds 0 (its radius is far below a double's reach there)."""
    return 0.0 if 0 in ball else float(ball.mid()) + 0.0


def _digits(ball) -> str:
    return "0" if 0 in ball else ball.mid().str(DIGITS, radius=False)


def _positive_dimensional(basis, symbols, names, seconds) -> Outcome:
    """A curve or surface of solutions. Complete where the basis is one
    polynomial whose every factor over Q is of degree one in some variable
    with a constant coefficient (the factor is then exactly the graph of that
    variable over the others); otherwise what SymPy's solve finds."""
    import sympy

    exprs = list(basis.exprs)
    if len(exprs) == 1:
        families = []
        for factor, _ in sympy.factor_list(exprs[0], *symbols)[1]:
            family = None
            for symbol in symbols:
                poly = sympy.Poly(factor, symbol)
                if poly.degree() == 1 and poly.all_coeffs()[0].is_number:
                    a, b = poly.all_coeffs()
                    solved = sympy.expand(-b / a)
                    family = [solved if s == symbol else s for s in symbols]
                    break
            if family is None:
                families = None
                break
            families.append(Solution(list(names), exact=family, family=True))
        if families:
            count = len(families)
            message = (
                f"∇f = 0 on {'a family' if count == 1 else f'{count} families'} of critical points "
                "(a curve or surface, every real solution on it; lex Gröbner basis)"
            )
            return Outcome(families, True, message, "groebner", seconds)
    found = _sympy_solutions(exprs, symbols, names)
    message = (
        "∇f = 0 has infinitely many solutions (its Gröbner basis is not zero-dimensional); "
        + (f"SymPy's solve describes {len(found)}, maybe not all" if found else "SymPy's solve could not describe them")
    )
    return Outcome(found, False, message, "solve", seconds)


# --- the non-polynomial path --------------------------------------------------


def _by_sympy(source, gradient, symbols, names, start) -> Outcome:
    import sympy

    equations = [g for g in gradient if g != 0]
    found = _sympy_solutions(equations, symbols, names)  # raises where SymPy cannot solve
    if len(symbols) == 1:
        symbol = symbols[0]
        try:
            solutions = sympy.solveset(equations[0], symbol, sympy.S.Reals)
        except (NotImplementedError, ValueError, TypeError, AttributeError):
            solutions = None
        if isinstance(solutions, sympy.FiniteSet) or solutions == sympy.S.EmptySet:
            listed = [_numeric_solution([value], names) for value in solutions]
            listed = [s for s in listed if s is not None]
            if len(listed) == len(solutions):
                listed.sort(key=lambda s: s.floats)
                count = len(listed)
                if not count:
                    return Outcome([], True, "no real critical point: ∇f = 0 has no real solution", "solveset")
                what = "the one real solution" if count == 1 else f"all {count} real solutions"
                return Outcome(listed, True, f"{what} of ∇f = 0 (SymPy's solveset over the reals)", "solveset")
        periodic = _periodic(solutions, names, start.get(names[0], 0.0))
        if periodic is not None:
            return Outcome(
                periodic, False,
                f"∇f = 0 has infinitely many real solutions (periodic); the {len(periodic)} nearest the start are listed",
                "solveset",
            )
    found.sort(key=lambda s: (s.family, s.floats))
    if not found:
        return Outcome([], False, "SymPy's solve finds no real solution of ∇f = 0, which may still have some", "solve")
    return Outcome(
        found, False,
        f"SymPy's solve finds {len(found)}; f is not polynomial, so there may be more", "solve",
    )


def _sympy_solutions(equations, symbols, names) -> list:
    import sympy

    found = []
    for solution in sympy.solve(equations, symbols, dict=True):
        values = [solution.get(symbol, symbol) for symbol in symbols]
        family = any(getattr(value, "free_symbols", None) for value in values)
        if family:
            if any(value.has(sympy.I) for value in values):
                continue
            found.append(Solution(list(names), exact=values, family=True))
            continue
        numeric = _numeric_solution(values, names)
        if numeric is not None:
            found.append(numeric)
    return found


def _numeric_solution(values, names) -> Optional[Solution]:
    """A solution from SymPy's exact values, where every one is real and finite."""
    floats, precise, high = [], [], []
    for value in values:
        try:
            number = complex(value.evalf(DIGITS + 5))
        except (TypeError, ValueError, AttributeError):
            return None
        if abs(number.imag) > 1e-25 * (1 + abs(number.real)) or not math.isfinite(number.real):
            return None
        floats.append(number.real + 0.0)
        precise.append(_sympy_digits(value, DIGITS))
        high.append(_sympy_digits(value, 60))
    return Solution(list(names), floats=floats, precise=precise, high=high, exact=[_short(v) for v in values])


def _sympy_digits(value, digits: int) -> str:
    import sympy

    real = sympy.re(value.evalf(digits + 10))
    return str(sympy.Float(real, digits)) if real != 0 else "0"


def _periodic(solutions, names, start: float) -> Optional[list]:
    """A union of ImageSets {a + b·n | n ∈ ℤ} (linear in n): the solutions within
    PERIODIC_SPAN periods of the start. None for anything else."""
    import sympy

    if solutions is None:
        return None
    parts = solutions.args if isinstance(solutions, sympy.Union) else (solutions,)
    listed = []
    for part in parts:
        if isinstance(part, sympy.FiniteSet):
            listed += [part_value for part_value in part]
            continue
        if not isinstance(part, sympy.ImageSet) or part.base_sets != (sympy.S.Integers,):
            return None
        (n,) = part.lamda.variables
        body = part.lamda.expr
        poly = sympy.Poly(body, n) if body.is_polynomial(n) else None
        if poly is None or poly.degree() != 1:
            return None
        b, a = poly.all_coeffs()
        slope, offset = float(b), float(a)
        if not (math.isfinite(slope) and slope != 0 and math.isfinite(offset)):
            return None
        middle = round((start - offset) / slope)
        listed += [body.subs(n, k) for k in range(middle - PERIODIC_SPAN, middle + PERIODIC_SPAN + 1)]
    solutions_listed = [_numeric_solution([value], names) for value in listed]
    solutions_listed = [s for s in solutions_listed if s is not None]
    solutions_listed.sort(key=lambda s: abs(s.floats[0] - start))
    kept = solutions_listed[: 2 * PERIODIC_SPAN + 1]
    kept.sort(key=lambda s: s.floats)
    return kept


# --- classification -------------------------------------------------------------


def _classify_polynomial(solution: Solution, f_poly, symbols) -> None:
    from flint import arb_mat, ctx

    with ctx.workprec(PRECISION_BITS):
        n = len(symbols)
        gradient = [f_poly.diff(s) for s in symbols]
        entries = [[_arb_eval(gradient[i].diff(symbols[j]), solution.balls) for j in range(n)] for i in range(n)]
        determinant = arb_mat(n, n, [e for row in entries for e in row]).det()
        singular = 0 in determinant
        matrix = [[e.mid().str(70, radius=False) for e in row] for row in entries]
        solution.value = _float(_arb_eval(f_poly, solution.balls))
    _kind_from(solution, matrix, singular)


def _classify_numeric(solution: Solution, source, symbols, names, derivative, by_name) -> None:
    """The Hessian of SymPy's derivatives at the point, evaluated at 60 digits."""
    import sympy

    high = solution.high or solution.precise
    at = {s: (e if e is not None else sympy.Float(p, 60)) for s, e, p in zip(symbols, solution.exact, high)}
    try:
        value = complex(source.evalf(40, subs=at))
        if math.isfinite(value.real) and abs(value.imag) <= 1e-20 * (1 + abs(value.real)):
            solution.value = value.real + 0.0
    except (TypeError, ValueError, AttributeError, ZeroDivisionError):
        pass
    n = len(symbols)
    matrix = []
    try:
        gradient = [derivative(source, [name], by_name) for name in names]
        for i in range(n):
            row = []
            for j in range(n):
                entry = derivative(gradient[i], [names[j]], by_name) if gradient[i] != 0 else sympy.Integer(0)
                number = complex(entry.evalf(60, subs=at))
                if not (math.isfinite(number.real) and abs(number.imag) <= 1e-30 * (1 + abs(number.real))):
                    return
                row.append(sympy.re(entry.evalf(60, subs=at)).__str__() if number.real != 0 else "0")
            matrix.append(row)
    except (TypeError, ValueError, AttributeError, ZeroDivisionError):
        return
    _kind_from(solution, matrix, None)


def _kind_from(solution: Solution, matrix, singular: Optional[bool]) -> None:
    import mpmath

    with mpmath.workdps(60):
        entries = mpmath.matrix([[mpmath.mpf(v) for v in row] for row in matrix])
        symmetric = (entries + entries.T) / 2
        eigenvalues = sorted(mpmath.eigsy(symmetric, eigvals_only=True))
        largest = max((abs(v) for v in eigenvalues), default=mpmath.mpf(0))
        zero = mpmath.mpf(10) ** -40 * (1 + largest)
        if singular is None:
            singular = any(abs(v) <= zero for v in eigenvalues)
        positive = any(v > zero for v in eigenvalues)
        negative = any(v < -zero for v in eigenvalues)
        solution.eigenvalues = [float(v) + 0.0 for v in eigenvalues]
    if positive and negative:
        solution.kind = "saddle point"
    elif singular:
        solution.kind = "degenerate"
    elif positive:
        solution.kind = "local minimum"
    elif negative:
        solution.kind = "local maximum"
    else:
        solution.kind = "degenerate"


def _exact_value(solution: Solution, source, symbols, polynomial: bool) -> None:
    """f's exact value, where every coordinate is exact and the result is short."""
    import sympy

    if any(e is None for e in solution.exact):
        return
    value = source.xreplace(dict(zip(symbols, solution.exact)))
    value = sympy.radsimp(sympy.expand(value)) if polynomial else sympy.simplify(value)
    short = _short(value) if value.is_finite else None
    if short is not None:
        from autodiff.language.notation import machine

        solution.value_exact = machine(short)
