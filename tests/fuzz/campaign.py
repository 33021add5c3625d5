"""A long fuzz campaign, without Hypothesis' example limits.

    python tests/fuzz/campaign.py --inputs 100000 [--seed S] [--json]

Each input (random token soup, unicode, a mutated valid seed, or a hostile
string; tests/fuzz/generators.py) goes to the parser and to one command of
the Python API, cycling grad, partial, hessian, jacobian, graph, plot, with a
random point and options; every --cli-every-th input also runs through the
real CLI in process (cycling grad, partial, hessian, jacobian, plot, graph,
check), and every --check-every-th builds a random case file for `check`
(API). The oracle is tests/fuzz/oracle.py. Input i of seed S is replayable:
`--seed S --start i --inputs 1 --verbose`.

Exit status: 0 when no input failed the oracle (known bugs, pinned by xfail
tests in tests/test_fuzz.py, are counted apart), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for `import fuzz`

from fuzz import generators as gen  # noqa: E402
from fuzz.oracle import (  # noqa: E402
    DEFAULT_DEADLINE,
    OracleFailure,
    known_bug,
    run_api,
    run_check_api,
    run_cli,
    run_parser,
    sandbox,
    set_crash_log,
)


def one_input(i: int, seed: int, box, options, record) -> None:
    rng = random.Random(f"{seed}:{i}")
    kind, text = gen.expression(rng)
    record("parser", kind, text, lambda: run_parser(text, options.deadline))
    command = gen.COMMANDS[i % len(gen.COMMANDS)]
    call = gen.api_call(rng, command, text)
    record(command, kind, text, lambda: run_api(call, options.deadline))
    if options.cli_every and i % options.cli_every == 0:
        cli_command = gen.CLI_COMMANDS[(i // options.cli_every) % len(gen.CLI_COMMANDS)]
        if cli_command == "check":
            case_text = gen.case_file(rng)
            if rng.random() < 0.5:
                name = box.write("case.toml", case_text)
                argv, stdin = gen.check_args(rng, name), None
            else:
                argv, stdin = gen.check_args(rng, None), gen.stdin_bytes(case_text)
        else:
            argv, stdin, case_text = *gen.cli_args(rng, cli_command, text), ""
        record(f"cli:{cli_command}", kind, text, lambda: run_cli(argv, stdin, options.deadline))
    if options.check_every and i % options.check_every == options.check_every // 2:
        case_text = gen.case_file(rng)
        if rng.random() < 0.5:
            name = box.write("api_case.toml", case_text)
            run = lambda: run_check_api([name], None, options.deadline, symbolic_timeout=1.0)  # noqa: E731
        else:
            run = lambda: run_check_api(["-"], case_text, options.deadline, symbolic_timeout=1.0)  # noqa: E731
        record("check", kind, case_text, run)
    box.check(f"input {i} ({kind}) {text[:200]!r}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="number of inputs (default 100000)")
    parser.add_argument("--seed", type=int, default=None, help="campaign seed (default: from the clock)")
    parser.add_argument("--start", type=int, default=0, help="index of the first input (replay one with --inputs 1)")
    parser.add_argument("--cli-every", type=int, default=10, help="run every N-th input through the CLI too (0: never)")
    parser.add_argument("--check-every", type=int, default=25, help="a random case file for check every N inputs (0: never)")
    parser.add_argument("--deadline", type=float, default=DEFAULT_DEADLINE, help="seconds per input and target")
    parser.add_argument("--progress", type=float, default=60.0, help="seconds between progress lines on stderr (0: none)")
    parser.add_argument("--verbose", action="store_true", help="print every input and outcome")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    options = parser.parse_args(argv)
    seed = options.seed if options.seed is not None else int(time.time())

    outcomes: dict[str, Counter] = defaultdict(Counter)
    kinds: Counter = Counter()
    failures: list[dict] = []
    known: Counter = Counter()
    current = {"i": 0}

    def record(target: str, kind: str, text: str, run) -> None:
        try:
            outcome = run()
        except OracleFailure as failure:
            bug = known_bug(failure)
            if bug:
                known[bug] += 1
                outcome = f"known bug: {bug}"
            else:
                outcome = f"FAILURE: {failure.kind}"
                failures.append({"input": current["i"], "target": target, "kind": failure.kind,
                                 "where": failure.where, "detail": failure.detail, "replay":
                                 f"python tests/fuzz/campaign.py --seed {seed} --start {current['i']} --inputs 1 --verbose"})
        outcomes[target][outcome] += 1
        if options.verbose:
            print(f"[{current['i']}] {target} {kind} {text[:200]!r} -> {outcome}", file=sys.stderr)

    started = last = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="autodiff-fuzz-") as tmp, sandbox(Path(tmp) / "cwd") as box:
        set_crash_log(Path(tmp) / "current-input.txt")
        print(f"seed {seed}; if the process is killed (a hang in C code), {Path(tmp) / 'current-input.txt'} "
              "names the input", file=sys.stderr, flush=True)
        for i in range(options.start, options.start + options.inputs):
            current["i"] = i
            try:
                one_input(i, seed, box, options, record)
            except OracleFailure as failure:  # the sandbox check
                failures.append({"input": i, "target": "sandbox", "kind": failure.kind, "where": failure.where,
                                 "detail": failure.detail})
            kinds[gen.expression(random.Random(f"{seed}:{i}"))[0]] += 1
            now = time.perf_counter()
            if options.progress and now - last >= options.progress:
                last = now
                done = i - options.start + 1
                print(f"{done} inputs, {now - started:.0f} s, {done / (now - started):.1f}/s, "
                      f"{len(failures)} failures, known bugs {dict(known)}", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started

    summary = {
        "seed": seed,
        "inputs": options.inputs,
        "start": options.start,
        "elapsed_s": round(elapsed, 1),
        "inputs_per_s": round(options.inputs / elapsed, 2) if elapsed else None,
        "calls": sum(sum(c.values()) for c in outcomes.values()),
        "input_kinds": dict(kinds),
        "per_target": {t: sum(c.values()) for t, c in sorted(outcomes.items())},
        "outcomes": {t: dict(c.most_common()) for t, c in sorted(outcomes.items())},
        "known_bugs": dict(known),
        "failures": failures,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if options.json:
        print(json.dumps(summary, ensure_ascii=True, indent=1))
    else:
        print(f"seed {seed}: {options.inputs} inputs (from {options.start}) in {elapsed:.1f} s, "
              f"{summary['inputs_per_s']} inputs/s, {summary['calls']} calls, max RSS {summary['max_rss_mb']} MB")
        print("input kinds: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
        for target, counter in sorted(outcomes.items()):
            print(f"  {target:14} {sum(counter.values()):7}  " + ", ".join(f"{o} {n}" for o, n in counter.most_common()))
        print(f"known bugs: {dict(known) or 'none'}")
        print(f"failures: {len(failures)}")
        for failure in failures[:200]:
            print(f"  input {failure['input']} [{failure['target']}] {failure['kind']}: {failure['where']}\n"
                  f"      {failure['detail']}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
