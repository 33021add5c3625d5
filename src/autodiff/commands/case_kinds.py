"""The `verify` and `taylor` kinds of a case file (autodiff.commands.cases
runs the others): each runs its command, as `autodiff verify` and
`autodiff taylor` would, and turns the command's own verdict, and the
case's expectations, into the case's failures.

- verify: the case passes when the command's verdict does (the claimed
  derivative is right at every point compared, autograd's own derivative
  is confirmed, and SymPy did not disprove it); each way it can fail is a
  failure line, the largest error with where it is.
- taylor: every coefficient `expect` names must be Taylor mode's, within
  the case's rtol/atol (as a `grad` expectation), and every coefficient
  must be confirmed by its judge (the exact series), as the command
  requires.
"""

from __future__ import annotations

import math
from typing import Optional

from autodiff.commands.case_files import Failure, monomial_powers, taylor_order
from autodiff.errors import UsageError
from autodiff.language.scope import EMPTY
from autodiff.results import json_number
from autodiff.text import exact_text, format_number, prime, value_text


def verify_failures(table: dict, expr: str, at: Optional[dict], settings: dict, reports: list) -> list[Failure]:
    """Run a verify case: `autodiff verify EXPR -d D [--wrt] [--order] [--range --points] [--at]`."""
    from autodiff.commands import api
    from autodiff.engine.values import point_from_mapping

    scope = settings.get("scope", EMPTY)
    over = None
    wrt = table.get("wrt")
    if "range" in table:
        (name, (low, high)), = table["range"].items()
        over, wrt = f"{name}={value_text(low)}:{value_text(high)}", wrt or name
    point = None
    if at:
        point = point_from_mapping({name: value_text(value) for name, value in at.items()}, "at", settings["limits"], scope)
    options = {key: table[key] for key in ("order", "points") if key in table}
    result = api.verify(
        expr, table["derivative"], wrt=wrt, over=over, at=point, dtype=settings["dtype"],
        symbolic_timeout=settings["symbolic_timeout"], exact=settings["exact"], rtol=settings.get("rtol"),
        atol=settings.get("atol"), limits=settings["limits"], scope=scope, **options,
    )
    reports.append(result)
    return _verify_verdict(result)


def _verify_verdict(result) -> list[Failure]:
    """A failure for each way the result is not `right`; none when it is."""
    what = f"f{prime(result.order)}"
    failures = []
    if result.compared == 0:
        failures.append(Failure(what, "not compared", f"{what}: no point was compared: the derivative does not exist "
                                                      "(or is not finite) anywhere checked"))
    if result.wrong_count:
        failures.append(_wrong(result, what))
    if result.derivative.agree is False:
        why = "; ".join(result.warnings) or "see the warnings"
        failures.append(Failure(what, "disagree", f"{what}: autograd's own derivative disagrees with its witnesses ({why})"))
    if result.proof == "disproved":
        failures.append(Failure(what, "disproved", f"{what}: SymPy: D − {what} simplifies to {result.difference}, not 0",
                                fields={"difference": result.difference}))
    if not failures and not result.right:  # a verdict this list does not know yet: never a silent pass
        failures.append(Failure(what, "wrong", f"{what}: the claimed derivative {result.claimed} is not right"))
    return failures


def _wrong(result, what: str) -> Failure:
    """`f′: the claimed derivative 2*sin(x) is wrong at 6 of 7 points, x from -3 to 3; largest error …`."""
    values = result.at[result.variable]
    span = ""
    if result.points > 1 and hasattr(values, "start"):
        span = f", {result.variable} from {format_number(values.start)} to {format_number(values.stop)}"
    where = ", ".join(f"{n} = {format_number(v)}" for n, v in result.max_error_at.items() if n == result.variable)
    message = (
        f"{what}: the claimed derivative {result.claimed} is wrong at {result.wrong_count} of {result.compared} "
        f"points{span}; largest error |D − {what}| = {format_number(result.max_error)} at {where}"
    )
    # The worst point's values where verify listed it (the first MAX_LISTED wrong points), else the first wrong one's.
    worst = next((point for point in result.wrong if point.at == result.max_error_at), None)
    shown = worst or (result.wrong[0] if result.wrong else None)
    fields = {"derivative": result.claimed, "wrong_count": result.wrong_count, "compared": result.compared,
              "max_error": json_number(result.max_error),
              "max_error_at": {n: json_number(v) for n, v in result.max_error_at.items()}}
    expected = None
    if shown is not None:  # its values as verify's JSON lists a wrong point: at, claimed, autograd, exact, error
        place = "" if shown is worst else "the first wrong point, " + ", ".join(
            f"{n} = {format_number(v)}" for n, v in shown.at.items() if n == result.variable) + ": "
        message += f" ({place}claimed {format_number(shown.claimed)}, autograd {format_number(shown.autograd)}"
        message += f", exact {exact_text(shown.exact)})" if shown.exact is not None else ")"
        fields.update(shown.to_json())
        expected = shown.autograd
    return Failure(what, "wrong", message, expected, fields=fields)


def taylor_failures(table: dict, expr: str, at: dict, settings: dict, reports: list) -> list[Failure]:
    """Run a taylor case: `autodiff taylor EXPR --at POINT --order N`, then compare `expect`."""
    from autodiff.commands import api

    result = api.taylor(
        expr, {name: value_text(value) for name, value in at.items()}, order=taylor_order(table),
        dtype=settings["dtype"], symbolic_timeout=settings["symbolic_timeout"], exact=settings["exact"],
        rtol=settings.get("rtol"), atol=settings.get("atol"), limits=settings["limits"],
        scope=settings.get("scope", EMPTY),
    )
    reports.append(result)
    names = list(result.terms[0].powers)
    by_key = isinstance(table.get("expect"), dict) or len(names) > 1
    failures = []
    for term, wanted, key in _expected_terms(table.get("expect"), result.terms, names, settings):
        got = term.coefficient
        if _coefficient_met(got, wanted, settings):
            continue
        what = key if by_key else f"c{term.degree}"
        message = f"{_named(what, term)}: expected {format_number(wanted)}, got {format_number(got)}"
        if term.symbolic is not None and term.symbolic != format_number(got):
            message += f" (SymPy {term.symbolic})"
        elif term.symbolic is None and term.exact is not None:
            message += f" (exact {exact_text(term.exact)})"
        failures.append(Failure(what, "expected", message, wanted, fields=_term_fields(term)))
    for term in result.terms:
        if term.agree is False:
            what = _monomial_key(term.powers) if by_key else f"c{term.degree}"
            failures.append(Failure(what, "disagree", _disagreement(what, term), fields=_term_fields(term)))
    return failures


def _expected_terms(expect, terms, names: list, settings: dict):
    """(term, expected number, key) for each coefficient `expect` names: a
    list c0..cN (one variable), or a table keyed by monomial ("x^2*y")."""
    if expect is None:
        return []
    scope = settings.get("scope", EMPTY)
    if isinstance(expect, list):
        if len(names) > 1:
            example = "*".join(names[:2])
            raise UsageError(
                f"taylor.expect as a list gives the coefficients of one variable; this expansion is in "
                f"{', '.join(names)}: key them by monomial, e.g. expect = {{ \"1\" = …, \"{example}\" = … }}"
            )
        if len(expect) > len(terms):
            listed = "c0 only" if len(terms) == 1 else f"c0..c{len(terms) - 1}"
            raise UsageError(f"taylor.expect lists {len(expect)} coefficients; the expansion has {len(terms)} ({listed})")
        return [(term, _number(value, scope), f"c{index}") for index, (term, value) in enumerate(zip(terms, expect))]
    by_powers = {tuple(term.powers.values()): term for term in terms}
    found = []
    for key, value in expect.items():
        powers = monomial_powers(key)
        unknown = sorted(set(powers) - set(names))
        if unknown:
            raise UsageError(f"taylor.expect {key!r} names {', '.join(unknown)}, which is not a variable of the "
                             f"expansion ({', '.join(names) or 'none: f is constant'})")
        term = by_powers.get(tuple(powers.get(name, 0) for name in names))
        if term is None:
            raise UsageError(f"taylor.expect {key!r} is past the expansion's order ({max(t.degree for t in terms)})")
        found.append((term, _number(value, scope), key))
    return found


def _number(value, scope) -> float:
    """A number of `expect`: TOML's numbers (inf and nan too) as they are; a string is a constant expression ("1/6")."""
    from autodiff.engine.values import parse_values

    if isinstance(value, (int, float)):
        return float(value)
    return parse_values(value, "taylor.expect", scope=scope)[0]


def _coefficient_met(got: Optional[float], wanted: float, settings: dict) -> bool:
    """Within the case's tolerance, as a `grad` expectation (two nans agree: a coefficient expected not to exist)."""
    from autodiff.witnesses.checks import Tolerance

    if got is None:
        return False
    if math.isnan(got) and math.isnan(wanted):
        return True
    return Tolerance.for_dtype(settings["dtype"], settings.get("rtol"), settings.get("atol")).close_float(got, wanted)


def _named(what: str, term) -> str:
    """`c3, the coefficient of x**3`, `c0, the constant term`, or the monomial key itself."""
    if term.degree == 0:
        return f"{what}, the constant term" if what != "1" else "the constant term"
    return f"{what}, the coefficient of {term.monomial}"


def _disagreement(what: str, term) -> str:
    """A coefficient its judge does not confirm: every engine's value beside the judge's."""
    parts = [f"Taylor mode {format_number(term.taylor_mode)}"]
    if term.autograd is not None:
        parts.append(f"autograd {format_number(term.autograd)}")
    if term.symbolic is not None:
        parts.append(f"SymPy {term.symbolic}")
    if term.exact is not None:
        parts.append(f"exact {exact_text(term.exact)}")
    culprit = "nested autograd" if term.autograd_agree is False else "Taylor mode"
    return f"{_named(what, term)}: " + ", ".join(parts) + f" ({culprit} and the {term.checked_by} value disagree)"


def _monomial_key(powers: dict) -> str:
    """{"x": 2, "y": 1} → "x^2*y", as `expect` keys it; {} → "1"."""
    factors = [name if power == 1 else f"{name}^{power}" for name, power in powers.items() if power]
    return "*".join(factors) or "1"


def _term_fields(term) -> dict:
    """A coefficient's values for a JSON failure entry."""
    return {
        "powers": dict(term.powers), "monomial": term.monomial, "coefficient": json_number(term.coefficient),
        "autograd": json_number(term.autograd), "symbolic": term.symbolic, "exact": term.exact,
    }
