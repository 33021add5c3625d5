"""The Hessian benchmark (design §8: the Hessian of an n-variable expression,
n = 60, within 1.5x of torch.func.hessian written by hand).

Engine: autodiff's autograd Hessian (calculus.hessian: reverse over
        reverse, the second pass batched) on the expression, parsed and
        lowered once beforehand: the autograd side the target is about.
Whole:  api.hessian(text, at=point, **OURS_OPTIONS), symbolic off: parse,
        lower, the engine, and the finite-difference Hessian witness
        (1,830 second differences), informational.
Hand:   the same function written by hand, term by term as the expression
        is (x[i]**2 * x[i+1] + sin(x[i]) * x[i+2] for each i), and
        torch.func.hessian(f)(x): the target's baseline.
Vector: the same function rewritten with whole-vector operations,
        sum(x**2 * roll(x, -1) + sin(x) * roll(x, -2)), and
        torch.func.hessian: informational, a rewrite autodiff cannot make
        of an arbitrary expression.

All run in this one process, interleaved (engine, hand, whole, …) after
one warm-up each. Before timing, the Hessians are compared: if they differ
by more than TOLERANCE the benchmark would compare different work, so the
worker says so (the runner fails loudly). Prints one JSON line:
{"variables", "engine_s", "ours_s", "hand_s", "vector_s", "max_abs_difference", "agree"}.

    python hessian_worker.py --variables 60 --runs 7
"""

from __future__ import annotations

import argparse
import json
import warnings

import measure
import workloads

OURS_OPTIONS = {"symbolic": False}
TOLERANCE = 1e-9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variables", type=int, default=60)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

    import torch

    from autodiff.commands import api
    from autodiff.engine.calculus import hessian as engine_hessian
    from autodiff.engine.lowering import compile_expressions
    from autodiff.language.parsing import parse_expression
    from autodiff.engine.values import point_from_mapping

    n = args.variables
    text, point = workloads.hessian_expression(n), workloads.hessian_point(n)
    first, second = workloads.HESSIAN_SHIFTS
    x = torch.tensor(list(point.values()), dtype=torch.float64)

    def f(v):
        return (v**2 * torch.roll(v, -first) + torch.sin(v) * torch.roll(v, -second)).sum()

    def f_terms(v):
        xs = v.unbind(0)
        return sum(xs[i] ** 2 * xs[(i + first) % n] + torch.sin(xs[i]) * xs[(i + second) % n] for i in range(n))

    def ours():
        return api.hessian(text, at=point, **OURS_OPTIONS)

    program = compile_expressions([parse_expression(text)])
    names = list(point)
    at = point_from_mapping({name: repr(value) for name, value in point.items()})

    def engine():
        return engine_hessian(program, at, names, names, torch.float64)[2]

    def hand():
        return torch.func.hessian(f_terms)(x)

    def vector():
        return torch.func.hessian(f)(x)

    result, expected = ours(), hand()  # the warm-ups, and the agreement check
    ours_matrix = torch.tensor([[entry.autograd for entry in row] for row in result.entries], dtype=torch.float64)
    if result.rows != list(point):
        raise SystemExit(f"unexpected variable order in the Hessian: {result.rows[:5]}…")
    difference = max(
        float((ours_matrix - expected).abs().max()),
        float((engine() - expected).abs().max()),
        float((vector() - expected).abs().max()),
    )

    engine_s, ours_s, hand_s, vector_s = [], [], [], []
    for _ in range(args.runs):
        vector_s.append(measure.timed(vector)[0])
        engine_s.append(measure.timed(engine)[0])
        hand_s.append(measure.timed(hand)[0])
        ours_s.append(measure.timed(ours)[0])
    print(
        json.dumps(
            {
                "variables": n,
                "engine_s": engine_s,
                "ours_s": ours_s,
                "hand_s": hand_s,
                "vector_s": vector_s,
                "max_abs_difference": difference,
                "agree": difference <= TOLERANCE * max(1.0, float(expected.abs().max())),
            }
        )
    )


if __name__ == "__main__":
    main()
