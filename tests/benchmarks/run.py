"""The performance benchmarks of design §8: each figure a ratio against a
baseline measured in the same run, as a plain-text table (and JSON).

    python tests/benchmarks/run.py                  # everything (a few minutes)
    python tests/benchmarks/run.py --quick          # tiny sizes, 1-2 runs (smoke test)
    python tests/benchmarks/run.py --only grid,hessian --runs 5
    python tests/benchmarks/run.py --json out.json  # or --json - for JSON on stdout

Run it with the project's virtualenv python from the repository root. Exit
status: 0 when every figure was measured (missed targets are marked MISSED in
the table); 1 with --strict when a target was missed; 2 when a figure could
not be measured (a command failed or timed out, or the two sides of a
comparison did not compute the same thing).

The modules beside this one: figures (the benchmarks), measure (timing and
memory), workloads (the generated inputs), report (table and JSON), and the
worker scripts naive_stream, grid_worker and hessian_worker.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback

from figures import FIGURES, Settings
from report import Row, error_row, format_header, format_table, machine, summary


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="autodiff performance benchmarks (design §8)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and 1-2 runs: a smoke test of the harness")
    parser.add_argument("--only", metavar="NAME[,NAME]", help=f"run these only: {', '.join(FIGURES)}")
    parser.add_argument("--runs", type=int, metavar="N", help="repetitions (pairs, timed runs) for every figure")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH (- for stdout)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    args.names = _selected(parser, args.only)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def _selected(parser: argparse.ArgumentParser, only) -> list[str]:
    if not only:
        return list(FIGURES)
    names = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in names if name not in FIGURES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(FIGURES)}")
    return [name for name in FIGURES if name in names]  # in the suite's order


def run_figures(names: list[str], settings: Settings, log) -> list[Row]:
    """Each figure in turn; one that fails becomes an ERROR row and the rest still run."""
    rows: list[Row] = []
    for name in names:
        log(f"running {name} …")
        start = time.perf_counter()
        try:
            rows += FIGURES[name](settings)
        except Exception as error:  # a failed figure must not hide the others
            detail = str(error) if error.__class__.__name__ == "BenchmarkError" else traceback.format_exc(limit=3)
            rows.append(error_row(name, name, detail.strip()))
        log(f"  {name}: {time.perf_counter() - start:.1f} s")
    return rows


def _compile_autodiff() -> str:
    """Byte-compile the installed autodiff package first, as pip does when it
    installs one: an editable checkout under PYTHONDONTWRITEBYTECODE would
    otherwise recompile every module in every measured process."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("autodiff")
    folder = os.path.dirname(spec.origin) if spec and spec.origin else None
    if folder is None:
        return "autodiff not found"
    ok = compileall.compile_dir(folder, quiet=1)
    return f"autodiff byte-compiled in {folder}" if ok else f"could not byte-compile {folder}"


def main(argv=None) -> int:
    args = parse_args(argv)
    # Every figure but `server` measures a call in its own process: a resident
    # server (started by a user's call) must not answer them.
    os.environ["AUTODIFF_SERVER"] = "off"
    settings = Settings.quick() if args.quick else Settings()
    if args.runs is not None:
        settings = settings.with_runs(args.runs)
    # With JSON on stdout, the table goes to stderr so stdout stays parseable.
    text = sys.stderr if args.json == "-" else sys.stdout

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    start = time.perf_counter()
    info = machine()
    info["bytecode"] = _compile_autodiff()
    print(format_header(info), file=text, flush=True)
    rows = run_figures(args.names, settings, log)
    wall = time.perf_counter() - start
    print("", format_table(rows), "", summary(rows), f"total wall time: {wall:.1f} s", sep="\n", file=text)

    if args.json:
        document = {
            "machine": info,
            "settings": vars(settings),
            "quick": args.quick,
            "benchmarks": args.names,
            "rows": [row.to_json() for row in rows],
            "wall_s": wall,
        }
        if args.json == "-":
            json.dump(document, sys.stdout, indent=1)
            sys.stdout.write("\n")
        else:
            with open(args.json, "w") as out:
                json.dump(document, out, indent=1)
    if any(row.error for row in rows):
        return 2
    if args.strict and any(row.met is False for row in rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
