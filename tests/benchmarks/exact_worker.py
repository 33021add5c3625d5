"""The exact witness's cost (issue 14: at most 20 ms of a one-shot call on a
small expression).

In one process, after a warm-up: `api.grad(EXPRESSION, at=POINT)` with the
exact witness on and off, interleaved, `--runs` pairs; the difference of
the pairs' medians is what the witness adds to the call. The first import
of python-flint, which a one-shot process pays once, is measured here too,
in a fresh interpreter (`-X importtime` of `import flint` after torch and
SymPy are loaded, as in a real run).

Prints one JSON line: {"expression", "on_s": [...], "off_s": [...],
"import_s", "same"} (`same`: both calls gave the same autograd value).

    python exact_worker.py --runs 50
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time

EXPRESSIONS = ("6*x^2+2*x+4", "sin(x)*exp(-x^2) + log(1+x^2)", "(1-cos(x))/x^2")
POINT = {"x": 0.7}


def flint_import_seconds() -> float:
    """Cumulative import time of python-flint, after torch and SymPy."""
    code = "import torch, sympy, importlib; importlib.import_module('flint')"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True)
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*flint$", line)
        if match:
            return int(match.group(1)) / 1e6
    raise SystemExit("no import time for flint")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    from autodiff.commands import api

    result = {"expressions": list(EXPRESSIONS), "on_s": [], "off_s": [], "same": True}
    for text in EXPRESSIONS:  # warm-up: imports and first calls
        api.grad(text, at=POINT)
        api.grad(text, at=POINT, exact=False)
    for _ in range(args.runs):
        for text in EXPRESSIONS:
            start = time.perf_counter()
            on = api.grad(text, at=POINT)
            middle = time.perf_counter()
            off = api.grad(text, at=POINT, exact=False)
            result["on_s"].append(middle - start)
            result["off_s"].append(time.perf_counter() - middle)
            result["same"] &= on.gradient["x"].autograd == off.gradient["x"].autograd
    result["import_s"] = flint_import_seconds()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
