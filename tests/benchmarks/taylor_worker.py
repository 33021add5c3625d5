"""Taylor mode's cost by order (issue 28): `autodiff.taylor` at order 20
against order 2, in one process.

The workload (EXPRESSIONS, defined once here: taylor_figures gives Maxima
the same texts and points) is eight expressions of x, each analytic at its
point. After a warm-up of every call (imports, SymPy's caches), `--runs`
rounds, each calling, for every expression in turn, `autodiff.taylor` at
order 2 and at order 20, with every witness on (the default) and with
`symbolic=False`, and Taylor mode alone (also nested autograd's graph
limited to one node): perf_counter around each call.

Prints one JSON line: {"expressions": [[text, point], ...], "times_s":
{"every": {"2": [[s, ...] per expression], "20": ...}, "no_symbolic": ...,
"engine": ...},
"order": 20, "answers": [per expression: the order-20 coefficients of
Taylor mode ("taylor"), the exact ones as the witness writes them
("exact"), where a ball is exact its rational ("rational"), each
coefficient's judge ("checked_by"), and the verdicts ("agree" at order 20,
"agree_low" at order 2)], "same_without_symbolic": Taylor mode gave the
same coefficients on the other two sides}.

    python taylor_worker.py --runs 50
"""

from __future__ import annotations

import argparse
import json
import time

# (expression, point): the same text is Maxima's input. A mix of rational
# functions (exact integer coefficients), products and quotients of
# elementary functions, and a composition of five functions.
EXPRESSIONS = (
    ("1/(1-x)", 0.0),
    ("x/(1-x-x^2)", 0.0),
    ("exp(sin(x))", 0.0),
    ("sech(x)", 0.0),
    ("atan(x)/(1+x^2)", 0.0),
    ("log(1+x)*exp(x)", 0.5),
    ("sqrt(1+x)*cos(x)", 0.5),
    ("exp(sin(log(1+tanh(atan(x)))))", 0.0),
)
HIGH, LOW = 20, 2
# The options of each side: the default; without SymPy (and so without the
# exact witness); and Taylor mode alone, nested autograd refused before it
# runs (its graph limited to one node).
SIDES = {
    "every": {},
    "no_symbolic": {"symbolic": False},
    "engine": {"symbolic": False, "limits": {"taylor-autograd-nodes": 1}},
}


def answers(result) -> dict:
    """What the figure cross-checks: each coefficient, its exact value and verdict."""
    terms = result.terms
    return {
        "taylor": [term.coefficient for term in terms],
        "exact": [term.exact for term in terms],
        "rational": [None if term.exact_rational is None else str(term.exact_rational) for term in terms],
        "checked_by": [term.checked_by for term in terms],
        "agree": result.agree,
    }


def main() -> None:
    """Warm up, check the answers, time the interleaved calls, print the JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    runs = parser.parse_args().runs
    import autodiff

    def call(text: str, point: float, order: int, side: str):
        start = time.perf_counter()
        result = autodiff.taylor(text, {"x": point}, order=order, **SIDES[side])
        return time.perf_counter() - start, result

    times = {side: {str(order): [[] for _ in EXPRESSIONS] for order in (LOW, HIGH)} for side in SIDES}
    found = []
    same = True
    for text, point in EXPRESSIONS:  # warm-up: imports, first calls, and the answers checked
        high = answers(call(text, point, HIGH, "every")[1])
        high["agree_low"] = call(text, point, LOW, "every")[1].agree
        for side in ("no_symbolic", "engine"):
            without = call(text, point, HIGH, side)[1]
            call(text, point, LOW, side)
            same &= [term.coefficient for term in without.terms] == high["taylor"]
        found.append(high)
    for _ in range(runs):
        for index, (text, point) in enumerate(EXPRESSIONS):
            for side in SIDES:
                for order in (LOW, HIGH):
                    seconds, _ = call(text, point, order, side)
                    times[side][str(order)][index].append(seconds)
    print(json.dumps({
        "expressions": [list(pair) for pair in EXPRESSIONS], "order": HIGH, "low_order": LOW,
        "times_s": times, "answers": found, "same_without_symbolic": same,
    }))


if __name__ == "__main__":
    main()
