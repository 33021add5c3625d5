"""Where a fresh expression's time goes in the scalar path (issue 27).

Answers the fresh families' expressions (workloads.fresh_expressions) with
`api.grad` in this process, as `grad - --json` does for each line, with a
perf_counter around the functions of each stage (their inclusive time,
measured once per call; nothing else changes). The last stdout line is a
JSON object: stage → µs per expression, and "total", the whole answer
(api.grad and its JSON line).

    python stages_worker.py [--count 3000]
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import sys
import time

import workloads

SPENT: dict[str, float] = {}


def timed(stage: str, function):
    """`function`, its time added to `stage` (an inner call of the same stage is not counted twice)."""
    depth = [0]

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        depth[0] += 1
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            depth[0] -= 1
            if not depth[0]:
                SPENT[stage] = SPENT.get(stage, 0.0) + time.perf_counter() - start

    return wrapper


def instrument() -> None:
    import torch

    import autodiff.language.scalar_parsing as parsing
    from autodiff.commands import scalar
    from autodiff.engine.balls import Ball, BallProgram
    from autodiff.engine.floats import FloatProgram
    from autodiff.engine.lowering import Program

    parsing.parse_scalar = timed("parse (our parser, SymEngine nodes)", parsing.parse_scalar)
    scalar.symbolic_derivative = timed("differentiate (SymEngine)", scalar.symbolic_derivative)
    scalar.printed = timed("print (our printer)", scalar.printed)
    scalar.Differentiated.__init__ = timed("compile (one walk, three targets)", scalar.Differentiated.__init__)
    Program.__call__ = timed("autograd: forward (torch)", Program.__call__)
    torch.autograd.grad = timed("autograd: backward (torch)", torch.autograd.grad)
    FloatProgram.trace = timed("floats: finite differences, symbolic values", FloatProgram.trace)
    BallProgram.evaluate = timed("balls: the exact witness", BallProgram.evaluate)
    for name in ("text", "radius_text", "correct_digits", "within"):
        setattr(Ball, name, timed("balls: digits and texts", getattr(Ball, name)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=3000)
    count = parser.parse_args().count
    from autodiff.commands import api
    from autodiff.presentation.render import write_json

    lines = workloads.fresh_expressions(count + 1)
    at = f"x={workloads.FRESH_POINT}"
    sink = open("/dev/null", "w")
    real_stdout, sys.stdout = sys.stdout, sink
    api.grad(lines[0], at)  # the first line's imports and caches
    instrument()
    gc.freeze()  # as the stream does after its first line
    SPENT.clear()
    start = time.perf_counter()
    for text in lines[1:]:
        result = api.grad(text, at)
        begin = time.perf_counter()
        write_json(result.to_json())
        SPENT["JSON line"] = SPENT.get("JSON line", 0.0) + time.perf_counter() - begin
    total = time.perf_counter() - start
    sys.stdout = real_stdout
    figures = {stage: seconds / count * 1e6 for stage, seconds in SPENT.items()}
    figures["the rest (verdict, results, glue)"] = total / count * 1e6 - sum(figures.values())
    figures["total"] = total / count * 1e6
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
