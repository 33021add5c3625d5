"""The figures of issue 28: Taylor mode's cost by order, and beside Maxima.

- order 20 against order 2: `autodiff.taylor` on eight expressions
  (taylor_worker.EXPRESSIONS) in one process (taylor_worker.py), the
  median call of each; per expression and for the whole workload with
  every witness on (the default; target: order 20 at most 20× order 2),
  and for information with `symbolic=False` and with Taylor mode alone
  (`symbolic=False` and nested autograd's graph limited to one node, so
  that the witness is refused before it starts);
- beside Maxima: the same expressions' `taylor(EXPR, x, a, 20)` in one
  Maxima batch, seconds per expression after start-up (T(1 + N lines) -
  T(1 line)) / N, as the `peers` figure rates Maxima's derivatives, against
  ours per expression in one process. Maxima's 21 coefficients of each
  expansion (rationals exactly, the rest as floats) are compared with ours:
  a rational with the exact witness's where its ball is exact, and every
  coefficient with the exact witness's value and Taylor mode's to 1e-9.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import sys
import tempfile
from fractions import Fraction
from pathlib import Path
from statistics import median

from measure import BenchmarkError, compare_processes, run_process
from report import Row, Target
from taylor_worker import EXPRESSIONS

HERE = Path(__file__).resolve().parent
MAXIMA = ["maxima", "--very-quiet", "-b"]
MAXIMA_COPIES = 50  # copies of the workload in the timed batch: about 0.7 s of Maxima's work over its 0.12 s start-up
RTOL = 1e-9
SIDES = {  # the worker's sides: (their name in the table, in the notes)
    "every": ("every witness", "every witness on (the default)"),
    "no_symbolic": ("symbolic off", "symbolic=False (no SymPy, no exact witness: nested autograd where affordable)"),
    "engine": ("Taylor mode alone", "symbolic=False, nested autograd's graph limited to 1 node (refused at once)"),
}


def taylor(settings) -> list[Row]:
    """Order 20 over order 2 (the worker's medians), then beside Maxima."""
    with tempfile.TemporaryDirectory(prefix="autodiff-bench-") as folder:
        out = Path(folder) / "taylor.json"
        run_process([sys.executable, str(HERE / "taylor_worker.py"), "--runs", str(settings.exact_runs)],
                    timeout=settings.timeout_s, stdout_path=out)
        result = json.loads(out.read_text().strip().splitlines()[-1])
    _checked(result)
    rows = _order_rows(result)
    rows += _maxima_rows(result, settings)
    return rows


def _checked(result: dict) -> None:
    """Every coefficient of every expansion judged exactly and agreeing, at
    both orders, and Taylor mode's coefficients the same on every side."""
    for (text, point), answer in zip(EXPRESSIONS, result["answers"]):
        if answer["agree"] is not True or answer["agree_low"] is not True:
            raise BenchmarkError(f"taylor {text} at x={point:g}: the witnesses do not agree "
                                 f"(order {result['order']}: {answer['agree']}, order {result['low_order']}: "
                                 f"{answer['agree_low']}): not a measurement of right answers")
        judges = set(answer["checked_by"])
        if judges != {"exact"}:
            raise BenchmarkError(f"taylor {text}: coefficients judged by {sorted(map(str, judges))}, not all exactly")
    if not result["same_without_symbolic"]:
        raise BenchmarkError("Taylor mode gave other coefficients with symbolic=False or alone: not the same work")


def _medians(result: dict, side: str, order: int) -> list[float]:
    return [median(times) for times in result["times_s"][side][str(order)]]


def _label(text: str, point: float) -> str:
    return f"taylor: {text}" + (f" at {point:g}" if point else "")


def _order_rows(result: dict) -> list[Row]:
    """Per expression (every witness), then the workload on each side."""
    high, low = result["order"], result["low_order"]
    runs = len(result["times_s"]["every"][str(high)][0])
    rows = []
    slow, fast = _medians(result, "every", high), _medians(result, "every", low)
    for index, (text, point) in enumerate(EXPRESSIONS):
        rows.append(Row(
            "taylor", _label(text, point), "s", ours=slow[index], baseline=fast[index], ratio=slow[index] / fast[index],
            notes=[f"per expression: ours = the median autodiff.taylor call at order {high}, baseline = at order "
                   f"{low}, every witness on, {runs} interleaved calls each in one process; x = 0 where no point "
                   "is shown"] if index == 0 else [],
        ))
    for side, (name, described) in SIDES.items():
        slow, fast = _medians(result, side, high), _medians(result, side, low)
        ratios = [a / b for a, b in zip(slow, fast)]
        rows.append(Row(
            "taylor", f"taylor: order {high} vs {low}, {name}", "s", ours=sum(slow), baseline=sum(fast),
            ratio=sum(slow) / sum(fast), target=Target("<=", 20) if side == "every" else None,
            notes=[f"{name}: {described}; ours and baseline = the sums over the {len(EXPRESSIONS)} expressions "
                   f"of their median calls; per expression the ratio ranges {min(ratios):.1f} to {max(ratios):.1f}"],
            samples={"order_high_s": slow, "order_low_s": fast},
        ))
    return rows


# ------------------------------------------------------------------- maxima


def maxima_line(index: int, text: str, point: float, order: int) -> str:
    """A batch line: the expansion, its coefficients 0..order, printed on one
    line as rationals where they are, else as floats."""
    at = str(Fraction(point))
    return (
        f"c: block([p: ratdisrep(taylor({text}, x, {at}, {order}))], makelist(coeff(p, x - ({at}), k), k, 0, {order}))$ "
        f'print("coefficients", {index}, map(lambda([v], if ratnump(v) then v else float(v)), c))$'
    )


HEADER = "display2d: false$ linel: 1000000$"
PRINTED = re.compile(r"^coefficients (\d+) \[(.*)\]\s*$", re.M)


def _maxima_rows(result: dict, settings) -> list[Row]:
    """Maxima's seconds per expansion after start-up, beside ours (every
    witness, and Taylor mode alone), once its coefficients are checked."""
    if shutil.which(MAXIMA[0]) is None:
        return [Row("taylor", "taylor: vs Maxima: skipped", "s",
                    notes=["maxima is not installed (apt-get install maxima): no peer measured"])]
    order = result["order"]
    lines = [maxima_line(index, text, point, order) for index, (text, point) in enumerate(EXPRESSIONS)]
    count = MAXIMA_COPIES * len(lines)
    with tempfile.TemporaryDirectory(prefix="autodiff-bench-") as folder:
        folder = Path(folder)
        (folder / "many.mac").write_text("\n".join([HEADER, lines[0], *lines * MAXIMA_COPIES]) + "\n")
        (folder / "one.mac").write_text("\n".join([HEADER, lines[0]]) + "\n")

        def batch(name: str, out: Path = None):
            return lambda: run_process(MAXIMA + [str(folder / name)], stdout_path=out, timeout=settings.timeout_s)

        batch("one.mac")()  # warms the caches for both
        comparison = compare_processes(batch("many.mac", folder / "out.txt"), batch("one.mac"), settings.stream_runs,
                                       warmup=False)
        printed = (folder / "out.txt").read_text()
    t_many, t_one = median(comparison.a_times), median(comparison.b_times)
    if t_many <= t_one:
        raise BenchmarkError(f"Maxima's {count + 1} expansions took no longer than 1: too few to measure")
    theirs = (t_many - t_one) / count
    compared, unparsed = _same_coefficients(printed, result, count + 1)
    notes = [
        f"Maxima 5.46's taylor(EXPR, x, a, {order}) and its {order + 1} coefficients: seconds per expansion = "
        f"(T({count + 1} expansions) {t_many:.2f} s - T(1) {t_one:.2f} s) / {count}, medians of {settings.stream_runs} "
        f"(the workload {MAXIMA_COPIES} times in one batch); ours = the mean over the {len(EXPRESSIONS)} expressions "
        "of their median call in one process",
        f"coefficients compared: {compared}" + (f"; not parsed, so not compared: {', '.join(unparsed)}" if unparsed else ""),
    ]
    rows = []
    for side in ("every", "engine"):
        ours = sum(_medians(result, side, order)) / len(EXPRESSIONS)
        rows.append(Row(
            "taylor", f"taylor: {order} vs Maxima, {SIDES[side][0]}", "s", ours=ours, baseline=theirs,
            ratio=ours / theirs, notes=notes,
            samples={"maxima_t_all_s": comparison.a_times, "maxima_t_1_s": comparison.b_times, "expansions": count},
        ))
    return rows


def _parsed(text: str):
    """A printed coefficient: a Fraction (an integer or p/q), a float, or None (anything else)."""
    text = text.strip()
    if re.fullmatch(r"-?\d+(/\d+)?", text):
        return Fraction(text)
    try:
        return float(text)
    except ValueError:
        return None


def _same_coefficients(printed: str, result: dict, lines: int) -> tuple[str, list[str]]:
    """Every batch line printed once, each copy alike, and the first copy's
    coefficients ours: (what was compared, the expressions not parsed)."""
    found = PRINTED.findall(printed)
    if len(found) != lines:
        raise BenchmarkError(f"Maxima printed {len(found)} expansions of {lines}")
    first: dict[int, str] = {}
    for index, values in found:
        if first.setdefault(int(index), values) != values:
            raise BenchmarkError(f"Maxima printed two expansions of {EXPRESSIONS[int(index)][0]}")
    exact_rationals = rationals = floats = 0
    unparsed = []
    for index, ((text, _), answer) in enumerate(zip(EXPRESSIONS, result["answers"])):
        values = [_parsed(value) for value in first[index].split(",")]
        if len(values) != len(answer["taylor"]) or None in values:
            unparsed.append(text)
            continue
        for k, (theirs, mine, exact, rational) in enumerate(
                zip(values, answer["taylor"], answer["exact"], answer["rational"])):
            if isinstance(theirs, Fraction):
                rationals += 1
                if rational is not None:
                    exact_rationals += 1
                    if Fraction(rational) != theirs:
                        raise BenchmarkError(f"{text}: Maxima's coefficient {k} is {theirs}, ours exactly {rational}")
            else:
                floats += 1
            for name, value in (("Taylor mode's", mine), ("the exact witness's", exact)):
                if value is None or not _close(float(value), float(theirs)):
                    raise BenchmarkError(f"{text}: Maxima's coefficient {k} is {theirs}, {name} {value}: "
                                         "not the same expansion")
    return (f"{rationals + floats} ({rationals} rationals, {floats} floats from Maxima), each with Taylor mode's and "
            f"the exact witness's to {RTOL:g}; {exact_rationals} exact balls equal to Maxima's rational"), unparsed


def _close(ours: float, theirs: float) -> bool:
    return math.isfinite(ours) and abs(ours - theirs) <= RTOL * abs(theirs)
