"""The witnesses of Taylor mode's coefficients (design §15): the exact one,
FLINT's ball series of the same program (autodiff.engine.ball_series),
where it fails SymPy's own series, and the verdict on each coefficient.

A coefficient is judged as the derivative it stands for, α!·c_α, within the
command's tolerance: the answer's scale, not the coefficient's (the 30th
coefficient of exp(sin(x)) is 7.8e-13, its derivative 2.1e20).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from autodiff.engine.ball_series import BallSeriesProgram, evaluate
from autodiff.engine.balls import Ball, Budget
from autodiff.errors import UnsupportedError


@dataclass
class ExactCoefficient:
    """One coefficient's exact value: a Ball (from the ball series), or a
    SymPy number (from SymPy's series), and where it came from."""

    ball: Optional[Ball] = None
    sympy_value: object = None  # an exact SymPy number where the ball series gave no value
    source: Optional[str] = None  # "ball series" or "SymPy series"

    @property
    def known(self) -> bool:
        if self.ball is not None:
            return self.ball.tight
        return self.sympy_value is not None

    @property
    def undefined(self) -> bool:
        """The coefficient does not exist at the point (a kink, a pole), proven by the balls."""
        return self.ball is not None and self.ball.undefined and self.sympy_value is None

    def to_float(self) -> float:
        if self.ball is not None and self.ball.tight:
            return self.ball.to_float()
        return float(self.sympy_value)

    def text(self) -> Optional[str]:
        """17 significant digits, as the exact witness writes values (1.6666666666666667e-01)."""
        if self.ball is not None and (self.ball.tight or self.ball.undefined):
            return self.ball.text()
        if self.sympy_value is not None:
            value = float(self.sympy_value)
            return "0" if value == 0 else f"{value:.16e}"
        return None

    def digits(self, value: float) -> Optional[int]:
        """Correct significant digits of `value` (None without a ball)."""
        if self.ball is not None and self.ball.tight:
            return self.ball.correct_digits(value)
        return None

    def rational(self):
        """The exact value as a SymPy Rational where the ball is exact (a dyadic number), else None."""
        import sympy

        if self.ball is None or not self.ball.finite or not self.ball.value.is_exact():
            return None
        mantissa, exponent = self.ball.value.mid().man_exp()
        mantissa, exponent = int(mantissa), int(exponent)
        if abs(exponent) > 4096:
            return None
        return sympy.Integer(mantissa) * sympy.Integer(2) ** exponent


def ball_coefficients(exprs, point: dict[str, float], names: list[str], order: int, limits) -> tuple[list, Optional[str]]:
    """Each expression's coefficients as Balls (multi_indices order), and
    None; or ([], why) where the ball series cannot run this program."""
    try:
        program = BallSeriesProgram(list(exprs))
    except UnsupportedError as error:
        return [], error.message
    rows = evaluate(program, point, names, order, limits.max_exact_bits, Budget.of(limits))
    return rows, None


def sympy_series(expr, name: str, center, order: int) -> Optional[list]:
    """SymPy's series of one variable about `center` (exact): the coefficients
    0..order, or None where SymPy gives none (a pole, a branch point)."""
    import sympy

    symbol = next((s for s in expr.free_symbols if s.name == name), None)
    if symbol is None:
        return None
    t = sympy.Dummy("t")
    series = sympy.series(expr.subs(symbol, center + t), t, 0, order + 1).removeO()
    if series.has(sympy.O) or not series.is_polynomial(t):  # a pole (1/t), a branch point (sqrt(t), log(t))
        return None
    polynomial = sympy.Poly(sympy.expand(series), t) if series.has(t) else None
    coefficients = [polynomial.coeff_monomial(t**k) if polynomial is not None else (series if k == 0 else sympy.Integer(0))
                    for k in range(order + 1)]
    if any(c.free_symbols or c.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan, sympy.I) or c.is_real is False
           for c in coefficients):
        return None  # not a real number: outside the domain (log(-1) is iπ), or undefined
    return coefficients


def close(value: Optional[float], exact: float, factorial: int, tolerance, scale: float = 0.0) -> Optional[bool]:
    """Whether a coefficient is within the tolerance of the exact one, judged
    as the derivative α!·c_α; or within rtol of `scale`, the size of the
    exact coefficients of its degree and the neighbouring ones (a
    coefficient that is exactly 0 keeps a rounding remainder of their
    size). None where `value` is missing."""
    if value is None:
        return None
    if math.isnan(value) and math.isnan(exact):
        return None
    if math.isinf(exact):  # a true value beyond float64's range: inf is not it (an overflow)
        return False
    if tolerance.close_float(value * factorial, exact * factorial):
        return True
    return math.isfinite(value) and abs(value - exact) <= tolerance.rtol * scale


def derivative_balls(expr, name: str, order: int, columns: dict, count: int, limits, budget) -> list[Optional[Ball]]:
    """The exact N-th derivative along `name` at each of `count` elements
    (`columns`: each variable's doubles), N!·c_N from the ball series; None
    where the budget ran out or the ball series cannot run the expression."""
    from flint import arb, ctx

    try:
        program = BallSeriesProgram([expr])
    except UnsupportedError:
        return [None] * count
    factorial = math.factorial(order)
    balls: list[Optional[Ball]] = []
    for element in range(count):
        if not budget.affords(len(program.instructions) * (order + 1), 128):
            balls.append(None)
            continue
        env = {variable: values[element] for variable, values in columns.items()}
        coefficient = evaluate(program, env, [name], order, limits.max_exact_bits, budget)[0][order]
        with ctx.workprec(max(coefficient.bits, 128)):
            value = coefficient.value * arb(factorial)
        balls.append(Ball(value, coefficient.bits, coefficient.undefined, coefficient.capped, coefficient.zero_at_cap))
    return balls
