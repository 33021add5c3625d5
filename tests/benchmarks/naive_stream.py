"""The naive streaming loop: the baseline of the stream benchmark (design §8).

For each of the benchmark's expressions, in one process, what a person would
write with the same libraries: `sympy.diff`, `sympy.lambdify(x, f, "torch")`,
autograd at the point, the symbolic derivative's value, a central finite
difference, and one JSON line on stdout. Each SymPy expression is rebuilt
directly from its parameters (no text parsing), so none of our parser's
cost is charged to either side twice.

The loop is timed with perf_counter after the imports and one warm-up
expression; the last stdout line is the summary:
{"summary": {"expressions": N, "seconds": S, "rate": N/S}}.

    python naive_stream.py [--count 1000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import sympy
import torch

import workloads

X = sympy.Symbol("x")
STEP = 1e-6  # central difference step (relative to max(1, |x|))


def answer(expression: workloads.StreamExpression, line: int, at: float) -> str:
    """One expression's JSON line."""
    f = expression.sympy(sympy, X)
    derivative = sympy.diff(f, X)
    f_torch = sympy.lambdify(X, f, "torch")
    derivative_torch = sympy.lambdify(X, derivative, "torch")

    point = torch.tensor(at, dtype=torch.float64, requires_grad=True)
    value = f_torch(point)
    value.backward()
    autograd = point.grad.item()

    plain = torch.tensor(at, dtype=torch.float64)
    symbolic_value = float(derivative_torch(plain))
    h = STEP * max(1.0, abs(at))
    numeric = float((f_torch(plain + h) - f_torch(plain - h)) / (2 * h))
    return json.dumps(
        {
            "line": line,
            "expression": str(f),
            "value": value.item(),
            "autograd": autograd,
            "symbolic": str(derivative),
            "symbolic_value": symbolic_value,
            "numeric": numeric,
            "agree": abs(autograd - symbolic_value) <= 1e-7 * abs(symbolic_value) + 1e-9,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    expressions = workloads.stream_expressions(args.count)
    write = sys.stdout.write

    write(answer(workloads.FIRST, 1, workloads.STREAM_POINT) + "\n")  # warm-up: first lambdify, first backward
    start = time.perf_counter()
    for line, expression in enumerate(expressions, start=2):
        write(answer(expression, line, workloads.STREAM_POINT) + "\n")
    seconds = time.perf_counter() - start
    summary = {"expressions": len(expressions), "seconds": seconds, "rate": len(expressions) / seconds}
    write(json.dumps({"summary": summary}) + "\n")


if __name__ == "__main__":
    main()
