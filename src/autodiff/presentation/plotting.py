"""Pictures of f beside its derivatives: a terminal chart (plotext) and image
files (matplotlib, imported only when a file is written).

Points where a curve is not finite are gaps: each curve is drawn as its
finite runs, never as a spike to ±1e308, and never joined across a pole or
a jump. The y range shows every curve whole (or --ylim), except a blow-up,
cut at the bulk of its curve so that a pole cannot flatten every curve:
what lies beyond is clipped at the edge, and counted in a note under the
chart.
"""

from __future__ import annotations

import math
import os
import re
import sys
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

from rich.console import Console
from rich.text import Text

from autodiff.errors import AutodiffError, UsageError
from autodiff.language.notation import show
from autodiff.presentation.render import mark
from autodiff.presentation.lines import print_line, wrap_units, wraps
from autodiff.text import format_number
from autodiff.results import PlotReport

COLORS = ("blue", "red", "green", "magenta")  # f, f′, f″, f‴: distinct in the terminal
# Without colour, the curves differ by their marks (the legend shows each).
MARKERS = ("braille", "•", "×", "+")
SAMPLES = ("⠒⠒", "••", "××", "++")
FILE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
FORMATS = (".png", ".svg", ".pdf")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# The y range shows every value whole, except where a curve blows up (a
# pole, an overflow): there it stops at the curve's far-out fences (Tukey's:
# quartiles ± 3 IQR), widened to its extremes where they are within REACH
# spans of them. A blow-up is told from steep but steady growth by its
# shape: |y| grows into a sample at least BLOW_UP-fold in one step, and
# log|y| by ACCELERATION times more than in the step before (exp's growth is
# steady, log-linear; a pole's is not: |y| ~ 1/δ), or the next sample is
# infinite. The samples it climbs through to get there are its flank.
FENCE = 3.0
REACH = 3.0
BLOW_UP = 2.0
ACCELERATION = 1.5
JUMP = 2.0  # a step across a switch this many times the steps beside it is a jump
MARGIN = 0.05  # of the y span, above and below the data
QUANTILE_SAMPLES = 5000  # the quartiles of a million points come from this many
PIPED_SIZE = (100, 30)  # columns × rows when stdout is not a terminal and COLUMNS/LINES are unset
MIN_SIZE = (30, 10)
_BIGGEST = sys.float_info.max


def series(report: PlotReport) -> list[tuple[str, list]]:
    """(name, values) for f and each derivative (autograd's): f, f′, f″…"""
    return [("f", report.f)] + [(curve["label"], curve["autograd"]) for curve in report.curves]


def _finite(value) -> bool:
    return isinstance(value, float) and math.isfinite(value)


@dataclass
class YWindow:
    """The y range a chart shows, and how many points of each curve lie beyond it."""

    low: float
    high: float
    chosen: bool = False  # by --ylim, not from the data
    clipped: list[tuple[str, int]] = field(default_factory=list)  # (curve, points beyond the range)

    def note(self) -> Optional[str]:
        """`clipped: f′ beyond the y range at 57 points (…)`, or None."""
        if not self.clipped:
            return None
        (name, count), *others = self.clipped
        counts = [f"{name} beyond the y range at {count} point{'s' if count != 1 else ''}"]
        counts += [f"{name} at {count}" for name, count in others]
        text = "clipped: " + ", ".join(counts)
        if not self.chosen:
            text += f" (y from {_short(self.low)} to {_short(self.high)}; set it with --ylim)"
        return text


def _short(value: float) -> str:
    return "0" if value == 0 else f"{value:.3g}"


def parse_ylim(text: str) -> tuple[float, float]:
    """--ylim LOW:HIGH, each a constant (-10, 1e3, pi/2); a usage error otherwise."""
    from autodiff.engine.values import parse_range
    from autodiff.points import split_top_level

    if "=" in text or len(split_top_level(text, ":")) != 2:
        raise UsageError(f"--ylim {text!r}: give the y range as LOW:HIGH, e.g. --ylim -10:10")
    try:
        _, low, high = parse_range(text, "--ylim")
    except AutodiffError as error:
        raise UsageError(error.message) from None  # one line: no caret under a short option value
    return low, high


def y_window(report: PlotReport, ylim: Optional[tuple[float, float]] = None) -> YWindow:
    """The y range of the chart: --ylim, or `data_window` of the curves."""
    curves = [(name, _samples(values)) for name, values in series(report)]
    low, high = ylim if ylim else data_window([values for _, values in curves])
    clipped = [(name, int(((values < low) | (values > high)).logical_and_(values.isfinite()).sum()))
               for name, values in curves]
    return YWindow(low, high, ylim is not None, [(name, count) for name, count in clipped if count])


def data_window(curves: list) -> tuple[float, float]:
    """A y range for curves sampled in x order (non-finite samples are gaps):
    every value whole, except on the flanks of a blow-up, which stop at the
    bulk of their curve, plus a margin. The first curve that blows up sets
    the height: a later one (the derivative of a pole has a stronger pole at
    the same place) reaches no further from 0 than it, above 0 or below.

    exp(x) on -1:50 is shown whole; tan(x) and 1/x stop at their bulk, as
    far below 0 as above it.
    """
    import torch

    low, high = math.inf, -math.inf
    height = None  # how far from 0 the first curve that blows up reaches
    for values in curves:
        y = _samples(values)
        finite = torch.isfinite(y)
        flank = blow_up_flanks(y) & finite
        steady = y[finite & ~flank]
        if steady.numel():
            low, high = min(low, steady.min().item()), max(high, steady.max().item())
        if bool(flank.any()):
            bottom, top = _bulk(y[finite])
            if height is None:
                height = max(abs(bottom), abs(top))
            low, high = min(low, max(bottom, -height)), max(high, min(top, height))
    if low > high:  # nothing finite
        return -1.0, 1.0
    if high == low:
        pad = max(1.0, abs(low) / 10)
        return low - pad, high + pad
    margin = MARGIN * high - MARGIN * low  # as written, it cannot overflow
    # The margin never crosses 0 (a curve that stays above it sits on the
    # zero line), nor the largest double.
    low = max(-_BIGGEST, low - margin) if low < 0 else max(0.0, low - margin)
    high = min(_BIGGEST, high + margin) if high > 0 else min(0.0, high + margin)
    return low, high


def _samples(values):
    """A curve's samples as a float64 tensor (a Values without a copy)."""
    import torch

    from autodiff.results import as_tensor

    return values if isinstance(values, torch.Tensor) else as_tensor(values, torch.float64)


def _bulk(values) -> tuple[float, float]:
    """The far-out fences of finite `values` (within their extremes), widened
    to an extreme that lies within REACH spans of them; the extremes
    themselves where most values are one value."""
    bottom, top = values.min().item(), values.max().item()
    stride = max(1, values.numel() // QUANTILE_SAMPLES)
    ordered = sorted(values[::stride].tolist())
    first, third = _quantile(ordered, 0.25), _quantile(ordered, 0.75)
    spread = third - first
    low, high = max(bottom, first - FENCE * spread), min(top, third + FENCE * spread)
    span = high - low
    if not span > 0:
        return bottom, top
    if top <= high + REACH * span:
        high = top
    if bottom >= low - REACH * span:
        low = bottom
    return low, high


def blow_up_flanks(values):
    """Per sample (a bool tensor), whether it is on the flank of a blow-up:
    on a run along which |y| never falls, into a sample it blows up into
    (from either side; see BLOW_UP)."""
    import torch

    y = _samples(values)
    count = y.numel()
    from_left, from_right = _blow_ups(y)
    if not bool(from_left.any() | from_right.any()):
        return torch.zeros(count, dtype=torch.bool)
    m = y.abs()
    climbs = torch.zeros(count, dtype=torch.bool)  # |y| did not fall from the sample before (false at a gap)
    climbs[1:] = m[:-1] <= m[1:]
    falls = torch.zeros(count, dtype=torch.bool)  # |y| does not rise to the sample after
    falls[:-1] = m[:-1] >= m[1:]
    index = torch.arange(count)
    # Where the climb into each sample began, and where the fall from it ends.
    began = torch.where(climbs, torch.zeros_like(index), index).cummax(0).values
    ends = count - 1 - torch.where(falls, torch.zeros_like(index), count - 1 - index).flip(0).cummax(0).values.flip(0)
    marks = torch.zeros(count + 1, dtype=torch.int64)
    for peaks, first, last in ((from_left, began, index), (from_right, index, ends)):
        peaks = peaks.nonzero().flatten()
        marks.index_add_(0, first[peaks], torch.ones_like(peaks))
        marks.index_add_(0, last[peaks] + 1, -torch.ones_like(peaks))
    return marks.cumsum(0)[:count] > 0


def _blow_ups(y):
    """The samples |y| blows up into, from the left and from the right (two
    bool tensors): it grows BLOW_UP-fold or more into them, and log|y|
    ACCELERATION times faster than in the step before, with y of one sign;
    or the next sample is infinite (and |y| rose into this one)."""
    import torch

    count = y.numel()
    from_left = torch.zeros(count, dtype=torch.bool)
    from_right = torch.zeros(count, dtype=torch.bool)
    if count < 2:
        return from_left, from_right
    m = y.abs()
    growth = m.log().diff()  # of log|y| per step; not finite at a zero or a gap
    # On one side of a pole y keeps its sign; across a zero |y| may jump without blowing up.
    steady = torch.isfinite(growth) & (torch.sign(y[1:]) == torch.sign(y[:-1]))
    rises, falls = steady & (growth > 0), steady & (growth < 0)
    jump, accelerated = math.log(BLOW_UP), ACCELERATION
    from_left[2:] = rises[:-1] & rises[1:] & (growth[1:] >= jump) & (growth[1:] >= accelerated * growth[:-1])
    from_right[:-2] = falls[:-1] & falls[1:] & (-growth[:-1] >= jump) & (growth[:-1] <= accelerated * growth[1:])
    finite, infinite = torch.isfinite(y), torch.isinf(y)
    rose = torch.ones(count, dtype=torch.bool)  # into each sample from the one before
    rose[1:] = m[:-1] < m[1:]
    fell = torch.ones(count, dtype=torch.bool)  # from each sample to the one after
    fell[:-1] = m[:-1] > m[1:]
    from_left[:-1] |= infinite[1:] & finite[:-1] & rose[:-1]
    from_right[1:] |= infinite[:-1] & finite[1:] & fell[1:]
    return from_left, from_right


def line_breaks(values, switches=None):
    """Per interval between neighbouring samples (a bool tensor, one fewer
    than the samples), whether the line must not join them: a pole between
    them (|y| blows up into both), or a jump across a switch (`switches`,
    where a switch of the expression changes branch, as `PlotReport.switches`):
    the step there JUMP times the larger of the steps beside it that cross
    none (a kink's step is never larger than those beside it)."""
    import torch

    y = _samples(values)
    if y.numel() < 2:
        return torch.zeros(0, dtype=torch.bool)
    from_left, from_right = _blow_ups(y)
    breaks = from_left[:-1] & from_right[1:]
    if switches is not None and switches.numel() == y.numel() - 1 and bool(switches.any()):
        step = y.diff().abs()
        calm = torch.where(switches, torch.zeros_like(step), step).nan_to_num(0.0, posinf=0.0)
        beside = torch.zeros_like(step)
        beside[1:] = calm[:-1]
        beside[:-1] = torch.maximum(beside[:-1], calm[1:])
        breaks |= switches & torch.isfinite(step) & (step > JUMP * beside)
    return breaks


def _quantile(ordered: list[float], fraction: float) -> float:
    position = fraction * (len(ordered) - 1)
    index = int(position)
    if index + 1 >= len(ordered):
        return ordered[-1]
    return ordered[index] + (ordered[index + 1] - ordered[index]) * (position - index)


def finite_runs(xs: list, ys: list) -> list[tuple[list, list]]:
    """The stretches of (x, y) where y is finite: a gap at every other point."""
    return clipped_runs(xs, ys, -math.inf, math.inf)


def clipped_runs(
    xs: list, ys: list, low: float, high: float, breaks: Optional[set[int]] = None
) -> list[tuple[list, list]]:
    """The stretches of (x, y) where y is finite and in [low, high]: a gap at
    every other point, and between points i and i + 1 for each i in `breaks`
    (a jump or a pole: see `line_breaks`). A stretch that leaves the range (or
    enters it) goes on to the edge, where the line to the next point crosses
    it; a line between two points beyond the range is never drawn (it would
    cross a pole)."""
    runs: list[tuple[list, list]] = []
    current: tuple[list, list] = ([], [])
    beyond = None  # the last point, when it was finite and out of range
    for index, (x, y) in enumerate(zip(xs, ys)):
        if breaks and index - 1 in breaks:
            if current[0]:
                runs.append(current)
                current = ([], [])
            beyond = None
        inside = _finite(y) and low <= y <= high
        if inside:
            if beyond is not None:
                _append(current, _crossing((x, y), beyond, low, high))
            _append(current, (x, y))
        elif current[0]:
            if _finite(y):
                _append(current, _crossing((current[0][-1], current[1][-1]), (x, y), low, high))
            runs.append(current)
            current = ([], [])
        beyond = (x, y) if _finite(y) and not inside else None
    if current[0]:
        runs.append(current)
    return runs


def breaks(report: PlotReport, values, stride: int = 1) -> set[int]:
    """The intervals a curve of `report` must not be drawn across (`line_breaks`),
    among its samples thinned to every `stride`-th (as the terminal draws them)."""
    y = _samples(values)[::stride]
    switches = getattr(report, "switches", None)
    if switches is not None and stride > 1:  # a switch anywhere between two thinned samples is between them
        switches = switches[: (y.numel() - 1) * stride].reshape(-1, stride).any(dim=1)
    return set(line_breaks(y, switches).nonzero().flatten().tolist())


def _append(run: tuple[list, list], point: tuple[float, float]) -> None:
    run[0].append(point[0])
    run[1].append(point[1])


def _crossing(inside: tuple, outside: tuple, low: float, high: float) -> tuple[float, float]:
    """Where the line from a point in range to one beyond it meets the edge."""
    (x0, y0), (x1, y1) = inside, outside
    edge = high if y1 > high else low
    return x0 + (edge - y0) / (y1 - y0) * (x1 - x0), edge


def terminal_chart(
    report: PlotReport, width: int, height: int, color: bool, window: Optional[YWindow] = None,
    typed: Optional[str] = None,
) -> str:
    """The chart as text, `width` × `height` characters, in colour or not;
    y over `window` (by default the robust range of the data).

    Curves are thinned to a few samples per column (a million points draw
    no better than a few hundred). Ticks are round numbers, a zero line is
    drawn where 0 is in range, and the legend goes in the corner where it
    hides the least of the curves.
    """
    import plotext as plt

    window = window or y_window(report)
    stride = max(1, len(report.x) // (4 * width))
    xs = report.x[::stride]
    curves = [(name, values[::stride]) for name, values in series(report)]
    marks, samples = (("braille",) * 4, (SAMPLES[0],) * 4) if color else (MARKERS, SAMPLES)
    # plotext's scales overflow near the float limit (exp(x) at 709): such an axis is drawn over a power
    # of ten and labelled with the values themselves.
    x_scale, y_scale = _scale(report.start, report.stop), _scale(window.low, window.high)
    drawn = replace(window, low=window.low / y_scale, high=window.high / y_scale)
    x_span = (report.start / x_scale, report.stop / x_scale)
    plt.clear_figure()
    try:
        plt.limitsize(False, False)  # our size, not plotext's guess at the terminal's (80×24 when piped)
        plt.plotsize(width, height)
        plt.theme("pro" if color else "clear")
        plt.xlim(*x_span)
        plt.ylim(drawn.low, drawn.high)
        if window.low <= 0 <= window.high:
            plt.hline(0, color="gray")  # first: the curves are drawn over it
        for (_, values), (_, whole), line_color, marker in zip(curves, series(report), COLORS, marks):
            for run_xs, run_ys in clipped_runs(xs, values, window.low, window.high, breaks(report, whole, stride)):
                plt.plot([x / x_scale for x in run_xs], [y / y_scale for y in run_ys], color=line_color, marker=marker)
        columns, rows = width - 12, height - 5  # about the plotting area, inside the axes
        # x labels apart by two spaces at the least; y labels by a row.
        x_fits = lambda labels: sum(len(label) + 2 for label in labels) <= columns  # noqa: E731
        x_ticks, x_labels = axis_ticks(report.start, report.stop, columns // 10, x_fits)
        plt.xticks([tick / x_scale for tick in x_ticks], x_labels)
        y_ticks, y_labels = axis_ticks(window.low, window.high, rows // 3, lambda labels: 2 * len(labels) - 1 <= rows)
        plt.yticks([tick / y_scale for tick in y_ticks], y_labels)
        plt.title(heading(report, typed))
        plt.xlabel(report.variable)
        # A report may name its curves itself (verify: "f′ (autograd)", "D (claimed)").
        names = getattr(report, "legend", None) or [
            name + (" (autograd)" if index else "") for index, (name, _) in enumerate(curves)
        ]
        legend = [(f"{sample} {name}", line_color) for name, sample, line_color in zip(names, samples, COLORS)]
        placed = _place_legend(plt, ANSI.sub("", plt.build()), legend, x_span, drawn)
        chart = plt.build()
    except (ArithmeticError, ValueError, IndexError) as error:  # plotext's scales: spans it cannot lay out
        raise UsageError(
            f"the terminal chart cannot be drawn for these values ({type(error).__name__}); "
            "use --output for a file, or --json for the numbers"
        ) from None
    finally:
        plt.clear_figure()
    if not placed:  # no room inside the axes: under them
        chart = chart.rstrip("\n") + "\n" + "   ".join(entry for entry, _ in legend) + "\n"
    return chart if color else ANSI.sub("", chart)


def _scale(low: float, high: float) -> float:
    """1, or the power of ten that brings a range beyond 1e150 to a size plotext's scales can take."""
    largest = max(abs(low), abs(high))
    return 10.0 ** math.floor(math.log10(largest)) if largest > 1e150 else 1.0


def heading(report: PlotReport, typed: Optional[str] = None) -> str:
    """`f(x) = tan(x)`: the expression as the user typed it (else in plain
    notation), and the values the other variables are held at
    (`f(x) = x^2*y at y = 3`)."""
    from autodiff.text import point_text

    text = " ".join(typed.split()) if typed and typed.strip() else show(report.expression, "plain")
    held = f" at {point_text(report.at)}" if report.at else ""
    return f"f({report.variable}) = {text}{held}"


def _place_legend(
    plt, drawn: str, entries: list[tuple[str, str]], x_span: tuple[float, float], window: YWindow
) -> bool:
    """Write the legend into the chart, in the corner of the plotting area
    (read from `drawn`, the chart without it) where it covers the fewest
    cells of the curves; False when it does not fit."""
    lines = drawn.splitlines()
    top = next(index for index, line in enumerate(lines) if "┌" in line)
    bottom = next(index for index in range(top + 1, len(lines)) if "└" in lines[index])
    left, right = lines[top].index("┌"), lines[top].index("┐")
    rows, columns = bottom - top - 1, right - left - 1
    cells = [lines[top + 1 + row][left + 1 : right].ljust(columns) for row in range(rows)]
    width, height = max(len(entry) for entry, _ in entries) + 2, len(entries)
    if width > columns or height > rows or rows < 2:
        return False

    def covered(corner: tuple[int, int]) -> int:
        row, column = corner
        return sum(char not in " ─" for line in cells[row : row + height] for char in line[column : column + width])

    # In matplotlib's order of preference: upper right, upper left, lower left, lower right.
    corners = [(0, columns - width), (0, 0), (rows - height, 0), (rows - height, columns - width)]
    row, column = min(corners, key=covered)
    for offset, (entry, line_color) in enumerate(entries):
        x = x_span[0] + column / (columns - 1) * (x_span[1] - x_span[0])
        y = window.high - (row + offset) / (rows - 1) * (window.high - window.low)
        plt.text(f" {entry.ljust(width - 2)} ", x, y, color=line_color, alignment="left")
    return True


def axis_ticks(low: float, high: float, count: int, fits: Callable[[list[str]], bool]) -> tuple[list[float], list[str]]:
    """Round ticks in [low, high], about `count` of them, with their labels;
    fewer until the labels `fit` the axis (two at the least)."""
    count = max(2, count)
    while True:
        ticks, step = nice_ticks(low, high, count)
        labels = tick_labels(ticks, step)
        if count <= 2 or fits(labels):
            return ticks, labels
        count -= 1


def nice_ticks(low: float, high: float, count: int) -> tuple[list[float], float]:
    """About `count` round values in [low, high], and their step: multiples of
    1, 2, 2.5 or 5 × 10^k, so 0 is a tick whenever it is in range."""
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        raise ValueError("span")
    if high == low:
        return [low], 0.0
    power = math.floor(math.log10(high / count - low / count))  # (high - low) / count may overflow
    best = None
    for exponent in (power - 1, power, power + 1):
        for preference, mantissa in enumerate((1, 5, 2, 2.5)):  # the roundest first, on a tie
            step = mantissa * 10.0**exponent
            if not step > 0:
                continue
            first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
            score = (abs(last - first + 1 - count), preference)
            if last > first and (best is None or score < best[0]):
                best = (score, step, first, last)
    if best is None:
        return [low, high], high - low
    _, step, first, last = best
    # k × step to 12 significant digits: 0.3, not 0.30000000000000004 (and 2.5e-305 stays 2.5e-305)
    return [float(f"{k * step:.12g}") for k in range(first, last + 1)], step


def tick_labels(ticks: list[float], step: float) -> list[str]:
    """Short labels: 0, 2.5, -7.5; 1e5 and beyond (or steps below 1e-4) as 2.5e5."""
    biggest = max(abs(tick) for tick in ticks)
    if step == 0 or (biggest < 1e5 and step >= 1e-4):
        decimals = next((d for d in range(16) if abs(round(step, d) - step) <= step * 1e-9), 15) if step else 4
        return [_trimmed(f"{tick:.{decimals}f}") if tick else "0" for tick in ticks]
    digits = next(
        (p for p in range(16) if all(abs(float(f"{tick:.{p}e}") - tick) <= step * 1e-3 for tick in ticks)), 15
    )
    labels = []
    for tick in ticks:
        mantissa, exponent = f"{tick:.{digits}e}".split("e")
        labels.append(f"{_trimmed(mantissa)}e{int(exponent)}" if tick else "0")
    return labels


def _trimmed(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


def write_file(
    report: PlotReport, path: str, width: int, height: int, window: Optional[YWindow] = None,
    typed: Optional[str] = None,
) -> None:
    """A figure with labelled axes, a legend and the expression as its title,
    all in the notation people type (f'(x), x^2); y over `window`, as in the terminal."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"--output must end in {', '.join(FORMATS)}, not {suffix or 'no extension'!r}")
    try:
        import matplotlib
    except ImportError:
        raise UsageError(
            "--output needs matplotlib: pip install 'autodiff[plot]' (or pip install matplotlib)"
        ) from None
    matplotlib.use("Agg")
    from matplotlib import pyplot

    from autodiff.files import write_atomically

    window = window or y_window(report)
    dpi = 100
    warnings.filterwarnings("ignore", message="Tight layout not applied")  # a tiny figure: drawn as it is
    # Overflow near the largest double: drawn as well as it can be, or refused below.
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="matplotlib")
    figure, axes = pyplot.subplots(figsize=(width / dpi, height / dpi), dpi=dpi)
    try:
        variable = report.variable
        names = [f"f({variable})"] + [f"f{chr(39) * curve['order']}({variable})" for curve in report.curves]
        for (_, values), name, line_color in zip(series(report), names, FILE_COLORS):
            xs: list = []
            ys: list = []
            for run_xs, run_ys in clipped_runs(report.x, values, window.low, window.high, breaks(report, values)):
                xs += run_xs + [math.nan]  # nan: a gap between runs
                ys += run_ys + [math.nan]
            axes.plot(xs, ys, label=name, color=line_color, linewidth=1.6)
        axes.set_ylim(window.low, window.high)
        axes.set_xlabel(variable)
        axes.set_ylabel(", ".join(names))
        axes.axhline(0, color="0.8", linewidth=0.8, zorder=0)
        axes.grid(True, color="0.92")
        axes.legend(loc="best")
        axes.set_title(heading(report, typed), pad=10)
        figure.tight_layout()
        # Whole or not at all: an interrupt or a full disk leaves the old file as it was.
        write_atomically(path, lambda file: figure.savefig(file, dpi=dpi, format=suffix[1:]))
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    except (ArithmeticError, ValueError) as error:  # matplotlib's transforms: values near the largest double
        raise UsageError(
            f"the figure cannot be drawn for these values ({type(error).__name__}); "
            "use --ylim, or --json for the numbers"
        ) from None
    finally:
        pyplot.close(figure)


def chart_size(console: Console, width: Optional[int], height: Optional[int], lines_below: int) -> tuple[int, int]:
    """--width/--height, else the terminal's size (COLUMNS and LINES where set)
    less the lines printed under the chart and the prompt's; PIPED_SIZE when
    stdout is not a terminal."""
    sized = console.is_terminal
    columns = console.width if sized or "COLUMNS" in os.environ else PIPED_SIZE[0]
    rows = console.height - lines_below - 1 if sized or "LINES" in os.environ else PIPED_SIZE[1]
    return width or max(MIN_SIZE[0], columns), height or max(MIN_SIZE[1], rows)


def render_plot(
    result: PlotReport, console: Console, width: Optional[int] = None, height: Optional[int] = None,
    ylim: Optional[tuple[float, float]] = None, typed: Optional[str] = None,
) -> None:
    """The chart filling the terminal (or --width/--height), a note on what it
    clipped, then one line per derivative: the largest |autograd − symbolic|
    on the grid."""
    window = y_window(result, ylim)
    note = window.note()
    after = ([Text(note)] if note else []) + _comparisons(result)
    if result.output is None:
        color = console.is_terminal and not console.no_color
        # The lines printed under the chart, as they are wrapped (warnings too, on stderr).
        below = sum(_rows(text, console) for text in after)
        below += sum(_rows(Text(f"warning: {warning}"), console) for warning in result.warnings)
        chart = terminal_chart(result, *chart_size(console, width, height, below), color, window, typed)
        console.file.write(chart.rstrip("\n") + "\n")
        console.file.flush()
    else:
        print_line(console, Text(f"wrote {result.output}"))
    for text in after:
        print_line(console, text)


def _rows(text: Text, console: Console) -> int:
    """The terminal rows `text` takes: wrapped by print_line, or folded by the terminal."""
    if wraps(console):
        return len(wrap_units(text, console.width).plain.split("\n"))
    return -(-max(1, text.cell_len) // console.width)


def _comparisons(result: PlotReport) -> list[Text]:
    """For each derivative, autograd against symbolic on the grid (and where autograd is inaccurate)."""
    lines = []
    for curve in result.curves:
        if curve["agree"] is None:
            lines.append(Text(f"{curve['label']}: not compared (no symbolic derivative)"))
            continue
        difference = curve["max_abs_difference"]
        shown = "no point where both are finite" if difference is None else format_number(difference)
        mismatches = curve.get("nonfinite_mismatches") or 0
        if mismatches:
            shown += f" where both are finite; {mismatches} point(s) where only one is"
        symbolic = show(curve["symbolic"], "plain") if isinstance(curve["symbolic"], str) else curve["symbolic"]
        lines.append(Text.assemble(
            f"{curve['label']} = {symbolic}: max |autograd − symbolic| = {shown} ", mark(curve["agree"])
        ))
        worst = curve.get("worst")
        if worst is not None:
            lines.append(Text(
                f"  autograd is inaccurate at {curve['inaccurate_points']} of {curve['exact_points']} points with an exact "
                f"value; the worst at {result.variable} = {format_number(worst['x'])}: {format_number(worst['autograd'])}, "
                f"exactly {worst['exact']}", style="bold red"
            ))
    return lines
