"""Coverage-guided fuzzing with atheris (libFuzzer for Python), same oracle.

    pip install atheris
    python tests/fuzz/atheris_harness.py -atheris_runs=100000 [-max_len=512] [CORPUS_DIR ...]

autodiff's own modules are instrumented for coverage (torch and SymPy are
not: instrumenting them costs more than it finds). Each input's bytes choose a
target (the parser, one command of the Python API with a point and options
drawn from the same bytes, or, rarely, the CLI in process) and the text. The
oracle is tests/fuzz/oracle.py; a failure that is not a known bug (pinned by
an xfail test in tests/test_fuzz.py) raises, and libFuzzer stops and writes
the input to crash-<sha1> in the directory it started in (-artifact_prefix).

The harness runs in a temporary working directory, so give corpus
directories as absolute paths. Not collected by pytest; the test suite does
not need atheris.
"""

from __future__ import annotations

import atexit
import importlib
import os
import pkgutil
import sys
import tempfile
from pathlib import Path
from random import Random

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for `import fuzz`

import atheris  # noqa: E402

with atheris.instrument_imports(include=["autodiff"]):
    import autodiff

    for module in pkgutil.iter_modules(autodiff.__path__):  # all of them: most load lazily
        if module.name != "__main__":
            importlib.import_module(f"autodiff.{module.name}")

from fuzz import generators as gen  # noqa: E402
from fuzz.oracle import OracleFailure, known_bug, run_api, run_cli, run_parser, sandbox  # noqa: E402

TARGETS = ("parser",) * 4 + gen.COMMANDS + ("cli",)
STATE = {"box": None, "inputs": 0, "known": {}}


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    target = TARGETS[provider.ConsumeIntInRange(0, len(TARGETS) - 1)]
    rng = Random(provider.ConsumeInt(4))  # points and options
    if provider.ConsumeBool():
        text = provider.ConsumeUnicodeNoSurrogates(provider.ConsumeIntInRange(0, 200))
    else:  # a seed, mutated by the rest of the bytes: deeper into the language than raw bytes get
        text = gen.mutate(Random(provider.ConsumeInt(4)), gen.SEEDS[provider.ConsumeIntInRange(0, len(gen.SEEDS) - 1)])
    try:
        if target == "parser":
            run_parser(text)
        elif target == "cli":
            command = gen.CLI_COMMANDS[rng.randrange(len(gen.CLI_COMMANDS) - 1)]
            argv, stdin = gen.cli_args(rng, command, text)
            run_cli(argv, stdin)
        else:
            run_parser(text)
            run_api(gen.api_call(rng, target, text))
        STATE["box"].check(repr(text))
    except OracleFailure as failure:
        bug = known_bug(failure)
        if bug is None:
            raise
        STATE["known"][bug] = STATE["known"].get(bug, 0) + 1
    STATE["inputs"] += 1


def _summary() -> None:
    print(f"autodiff atheris harness: {STATE['inputs']} inputs passed the oracle, known bugs "
          f"{STATE['known'] or 'none'}", file=sys.stderr)


def main() -> None:
    argv = list(sys.argv)
    if not any(arg.startswith("-artifact_prefix=") for arg in argv):
        argv.append(f"-artifact_prefix={os.getcwd()}/")  # crash files where it started, not in the sandbox
    atheris.Setup(argv, one_input)
    atexit.register(_summary)  # libFuzzer ends the process with exit() after -atheris_runs
    tmp = tempfile.mkdtemp(prefix="autodiff-atheris-")
    with sandbox(Path(tmp) / "cwd") as box:
        STATE["box"] = box
        atheris.Fuzz()


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    main()
