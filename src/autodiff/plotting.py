"""Pictures of f beside its derivatives: a terminal chart (plotext) and image
files (matplotlib, imported only when a file is written).

Points where a curve is not finite are gaps: each curve is drawn as its
finite runs, never as a spike to ±1e308.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

from autodiff.errors import UsageError
from autodiff.results import PlotReport

COLORS = ("blue", "red", "green", "magenta")  # f, f′, f″, f‴: distinct in the terminal
FILE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
FORMATS = (".png", ".svg", ".pdf")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def series(report: PlotReport) -> list[tuple[str, list]]:
    """(label, values) for f and each derivative (autograd's)."""
    return [("f", report.f)] + [(curve["label"] + " (autograd)", curve["autograd"]) for curve in report.curves]


def finite_runs(xs: list, ys: list) -> list[tuple[list, list]]:
    """The stretches of (x, y) where y is finite: a gap at every other point."""
    runs: list[tuple[list, list]] = []
    current: tuple[list, list] = ([], [])
    for x, y in zip(xs, ys):
        if isinstance(y, float) and math.isfinite(y):
            current[0].append(x)
            current[1].append(y)
        elif current[0]:
            runs.append(current)
            current = ([], [])
    if current[0]:
        runs.append(current)
    return runs


def terminal_chart(report: PlotReport, width: int, height: int, color: bool) -> str:
    """The chart as text, `width` × `height` characters, in colour or not.

    Curves are thinned to a few samples per column (a million points draw
    no better than a few hundred), and the ticks are ours, in short
    scientific notation where needed, so large values cannot crowd the axes.
    """
    import plotext as plt

    stride = max(1, len(report.x) // (4 * width))
    xs_all = report.x[::stride]
    curves = [(label, values[::stride]) for label, values in series(report)]
    finite = [y for _, values in curves for y in values if isinstance(y, float) and math.isfinite(y)]
    plt.clear_figure()
    try:
        plt.plotsize(width, height)
        plt.theme("pro" if color else "clear")
        for (label, values), line_color in zip(curves, COLORS):
            for index, (xs, ys) in enumerate(finite_runs(xs_all, values)):
                # One legend entry per curve, however many gaps split it.
                plt.plot(xs, ys, label=label if index == 0 else None, color=line_color, marker="braille")
        plt.xticks(*_ticks(report.start, report.stop))
        if finite:
            plt.yticks(*_ticks(min(finite), max(finite)))
        plt.title(f"f({report.variable}) = {report.expression}")
        plt.xlabel(report.variable)
        chart = plt.build()
    except (ArithmeticError, ValueError, IndexError) as error:  # plotext's scales: spans it cannot lay out
        raise UsageError(
            f"the terminal chart cannot be drawn for these values ({type(error).__name__}); "
            "use --output for a file, or --json for the numbers"
        ) from None
    finally:
        plt.clear_figure()
    return chart if color else _ANSI.sub("", chart)


def _ticks(low: float, high: float, count: int = 5) -> tuple[list[float], list[str]]:
    if not (math.isfinite(low) and math.isfinite(high)) or not math.isfinite(high - low):
        raise ValueError("span")
    if high == low:
        return [low], [f"{low:.4g}"]
    step = (high - low) / (count - 1)
    ticks = [low + i * step for i in range(count - 1)] + [high]
    return ticks, [f"{tick:.4g}" if abs(tick) > abs(step) * 1e-9 else "0" for tick in ticks]


def write_file(report: PlotReport, path: str, width: int, height: int) -> None:
    """A figure with labelled axes, a legend and the expression typeset as its title."""
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

    dpi = 100
    warnings.filterwarnings("ignore", message="Tight layout not applied")  # a tiny figure: drawn as it is
    figure, axes = pyplot.subplots(figsize=(width / dpi, height / dpi), dpi=dpi)
    try:
        variable = report.variable
        primes = {1: "′", 2: "″", 3: "‴"}
        names = [f"f({variable})"] + [f"f{primes[curve['order']]}({variable})" for curve in report.curves]
        for (_, values), name, line_color in zip(series(report), names, FILE_COLORS):
            ys = [v if isinstance(v, float) and math.isfinite(v) else math.nan for v in values]
            axes.plot(report.x, ys, label=name, color=line_color, linewidth=1.6)  # nan: a gap
        axes.set_xlabel(variable)
        axes.set_ylabel("value")
        axes.axhline(0, color="0.8", linewidth=0.8, zorder=0)
        axes.grid(True, color="0.92")
        axes.legend(loc="best")
        axes.set_title(_title(report), pad=10)
        try:
            figure.tight_layout()
            figure.savefig(path, dpi=dpi)
        except ValueError:  # mathtext cannot typeset this title (a Piecewise): plain text instead
            axes.set_title(f"f({variable}) = {report.expression}", pad=10)
            figure.tight_layout()
            figure.savefig(path, dpi=dpi)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        pyplot.close(figure)


def _title(report: PlotReport) -> str:
    import sympy

    if report.tree is None:
        return f"f({report.variable}) = {report.expression}"
    return f"$f({report.variable}) = {sympy.latex(report.tree)}$"
