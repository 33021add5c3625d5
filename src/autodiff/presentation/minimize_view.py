"""`autodiff minimize` on screen and on paper: the table of the runs and the
critical points, a verdict line per optimiser, f against the step in the
terminal (plotext), and the paths over f in a figure file (matplotlib)."""

from __future__ import annotations

import math
from typing import Optional

from autodiff.commands.minimize import MinimizeResult
from autodiff.commands.optimizers import Run, quiet_numerics
from autodiff.text import seven_digits, ten_digits, three_digits
from autodiff.errors import UsageError
from autodiff.presentation.lines import print_line

MAX_POINT_COLUMNS = 4  # more variables than this: the point in one column


def render_minimize(result: MinimizeResult, console, notation: str = "plain") -> None:
    """The function and start, a row per optimiser, the critical points, and a verdict line per optimiser."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from autodiff.language.notation import show

    arguments = f"({', '.join(result.variables)})"
    print_line(console, f"f{arguments} = {show(result.expression, notation)}")
    start = ", ".join(f"{name} = {seven_digits(value)}" for name, value in result.start.items())
    goal = "maximize" if result.maximize else "minimize"
    print_line(console, f"{goal} from {start}: at most {result.steps} steps, until ‖∇f‖ ≤ {result.tol:g}")
    names = list(result.start)
    columns = names if len(names) <= MAX_POINT_COLUMNS else ["point"]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("optimizer", no_wrap=True)
    for header in ["lr", *columns, "f", "‖∇f‖", "steps"]:
        table.add_column(header, justify="right", no_wrap=True)
    for header in ("status", "time"):
        table.add_column(header, no_wrap=True)
    for run in result.runs:
        point = [run.point[n] for n in names]
        cells = [seven_digits(v) for v in point] if columns == names else [_point_cell(point)]
        table.add_row(
            run.optimizer, f"{run.lr:g}", *cells, seven_digits(run.value), three_digits(run.gradient_norm), str(run.steps),
            Text(run.status, style=_STATUS_STYLES[run.status]), _duration(run.seconds),
        )
    from rich.measure import Measurement

    if Measurement.get(console, console.options.update(width=10_000), table).maximum <= console.width:
        console.print(table)
    else:  # too narrow for the table: a line per optimiser
        for run in result.runs:
            where = ", ".join(f"{n} = {seven_digits(run.point[n])}" for n in names)
            print_line(console, Text.assemble(
                f"{run.optimizer} (lr {run.lr:g}): ", (run.status, _STATUS_STYLES[run.status]),
                f", {run.steps} steps, {_duration(run.seconds)}: {where}, f = {seven_digits(run.value)}, "
                f"‖∇f‖ = {three_digits(run.gradient_norm)}",
            ))
    _render_critical_points(result, console, names, columns, notation)
    for run in result.runs:
        print_line(console, _verdict(run, result, names, notation))
    unmet = [run.optimizer for run in result.runs if run.expect_met is False]
    if unmet:
        print_line(console, Text(f"✗ --expect not met by {', '.join(unmet)}", style="bold red"))
    elif result.expect_met:
        print_line(console, Text("✓ --expect met", style="green"))


_STATUS_STYLES = {"converged": "green", "stalled": "yellow", "diverged": "bold red"}


def _render_critical_points(result: MinimizeResult, console, names, columns, notation: str) -> None:
    from rich import box
    from rich.measure import Measurement
    from rich.table import Table
    from rich.text import Text

    from autodiff.language.notation import show

    if result.symbolic_status == "off":
        return
    print_line(console, f"critical points: {result.symbolic_message}")
    if not result.critical_points:
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header in [*columns, "f"]:
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("reached by", no_wrap=True)
    rows = []
    for point in result.critical_points:
        if point.family:
            texts = [show(point.exact[n], notation) for n in names]
            f, kind = "—", "a family of critical points"
        else:
            texts = [_exact_cell(point.exact.get(n), point.values[n], notation) for n in names]
            f, kind = _exact_cell(point.value_exact, point.value, notation), point.kind or "—"
        rows.append((texts, f, kind, ", ".join(point.reached_by) or "—"))
        cells = texts if columns == names else ["(" + ", ".join(texts) + ")"]
        table.add_row(*cells, f, kind, rows[-1][3])
    if Measurement.get(console, console.options.update(width=10_000), table).maximum <= console.width:
        console.print(table)
        return
    for texts, f, kind, reached in rows:  # too narrow for the table: a line per point, every number whole
        where = ", ".join(f"{n} = {t}" for n, t in zip(names, texts))
        print_line(console, f"{where}: f = {f}, {kind}, reached by {reached}")


def _verdict(run: Run, result: MinimizeResult, names, notation: str):
    from rich.text import Text

    from autodiff.language.notation import show

    if run.status == "converged":
        where = ", ".join(f"{n} = {seven_digits(run.point[n])}" for n in names)
        text = f"✓ {run.optimizer} converged in {run.steps} step{'s' if run.steps != 1 else ''} to {where}: "
        if run.critical_point is not None:
            point = result.critical_points[run.critical_point]
            where = ", ".join(f"{n} = {show(point.shown(n), notation)}" for n in names)
            if run.kind == "inconclusive":
                text += f"the critical point {where} (the Hessian is inconclusive)"
            elif run.kind == "degenerate":
                text += f"the critical point {where} (degenerate: the Hessian is singular there)"
            else:
                text += f"the {run.kind} {where}"
        else:
            text += f"a {run.kind}" if run.kind != "inconclusive" else "a critical point (the Hessian is inconclusive)"
        return Text(text, style="green")
    if run.status == "diverged":
        return Text(f"✗ {run.optimizer} {run.message}", style="bold red")
    near = ""
    if run.critical_point is not None:
        point = result.critical_points[run.critical_point]
        label = {None: "critical point", "degenerate": "degenerate critical point"}.get(point.kind, point.kind)
        near = f" (near the {label} " + ", ".join(f"{n} = {show(point.shown(n), notation)}" for n in names) + ")"
    return Text(f"✗ {run.optimizer} stalled{near}: {run.message}", style="yellow")


def _point_cell(values: list) -> str:
    shown = [seven_digits(v) for v in values[:MAX_POINT_COLUMNS]]
    return "(" + ", ".join(shown) + (", …" if len(values) > MAX_POINT_COLUMNS else "") + ")"


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _exact_cell(exact: Optional[str], value: Optional[float], notation: str) -> str:
    """"-3/4 = -0.75", "pi/2 ≈ 1.570796327", "3", or the number alone where there is no short exact form."""
    from autodiff.language.notation import show

    if value is None:
        return show(exact, notation) if exact is not None else "—"
    number = ten_digits(value)
    if exact is None or exact == number:
        return number
    return f"{show(exact, notation)} {'=' if _same_decimal(exact, number) else '≈'} {number}"


def _same_decimal(exact: str, number: str) -> bool:
    from fractions import Fraction

    try:
        return Fraction(exact) == Fraction(number)
    except (ValueError, ZeroDivisionError):
        return False



# --- pictures -----------------------------------------------------------------

PLOT_COLORS = ("blue", "red", "green", "magenta", "cyan", "yellow", "orange", "gray", "white", "black")
FILE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf")
_MARKERS = ("•", "×", "+", "o", "*", "#", "%", "@", "x", "=")


def terminal_chart(result: MinimizeResult, width: int, height: int, color: bool) -> str:
    """f against the step, one curve per optimiser (plotext), y over the bulk of the values."""
    import plotext as plt

    from autodiff.presentation.plotting import ANSI, axis_ticks, clipped_runs

    curves = [(run.optimizer, [f for _, f, _, _ in run.history or []]) for run in result.runs]
    low, high = steps_window(result)
    plt.clear_figure()
    try:
        plt.limitsize(False, False)
        plt.plotsize(width, height)
        plt.theme("pro" if color else "clear")
        longest = max((len(values) for _, values in curves), default=1)
        plt.xlim(0, max(1, longest - 1))
        plt.ylim(low, high)
        for index, (name, values) in enumerate(curves):
            marker = "braille" if color else _MARKERS[index % len(_MARKERS)]
            first = True
            for xs, ys in clipped_runs(list(range(len(values))), values, low, high):
                plt.plot(xs, ys, color=PLOT_COLORS[index % len(PLOT_COLORS)], marker=marker,
                         label=name if first else None)
                first = False
        rows = height - 5
        plt.yticks(*axis_ticks(low, high, rows // 3, lambda labels: 2 * len(labels) - 1 <= rows))
        last = max(1, longest - 1)
        plt.xticks(sorted({round(last * k / 4) for k in range(5)}))
        plt.title(f"f against the step ({'maximize' if result.maximize else 'minimize'})")
        plt.xlabel("step")
        chart = plt.build()
    except (ArithmeticError, ValueError, IndexError) as error:
        raise UsageError(
            f"the terminal chart cannot be drawn for these values ({type(error).__name__}); use --json or --trace"
        ) from None
    finally:
        plt.clear_figure()
    return chart if color else ANSI.sub("", chart)


def steps_window(result: MinimizeResult) -> tuple[float, float]:
    """The f range of the step charts: every value of the runs that did not
    diverge, and the start; a diverged run is drawn until it leaves it."""
    values = [f for run in result.runs for step, (_, f, _, _) in enumerate(run.history or [])
              if (step == 0 or run.status != "diverged") and math.isfinite(f)]
    if not values:
        return -1.0, 1.0
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or max(1.0, abs(low) / 10)
    return low - pad, high + pad


def write_figure(result: MinimizeResult, path: str, width: int = 900, height: int = 450, typed: Optional[str] = None) -> None:
    """The path of each optimiser over f (a curve for one variable, a contour
    for two) beside f against the step, into a .png, .svg or .pdf, whole or
    not at all."""
    from pathlib import Path

    from autodiff.presentation.plotting import FORMATS

    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"--output must end in {', '.join(FORMATS)}, not {suffix or 'no extension'!r}")
    try:
        import matplotlib
    except ImportError:
        raise UsageError("--output needs matplotlib: pip install 'autodiff[plot]' (or pip install matplotlib)") from None
    matplotlib.use("Agg")
    from matplotlib import pyplot

    from autodiff.files import write_atomically

    names = list(result.start)
    panels = 2 if len(names) <= 2 else 1
    dpi = 100
    figure, axes = pyplot.subplots(1, panels, figsize=(width / dpi, height / dpi), dpi=dpi, squeeze=False)
    try:
        if panels == 2:
            _draw_path(axes[0][0], result, names)
        steps_axes = axes[0][panels - 1]
        for index, run in enumerate(result.runs):
            values = [f for _, f, _, _ in run.history or []]
            steps_axes.plot(range(len(values)), values, label=run.optimizer, color=FILE_COLORS[index % len(FILE_COLORS)])
        steps_axes.set_ylim(*steps_window(result))
        steps_axes.set_xlabel("step")
        steps_axes.set_ylabel("f")
        steps_axes.grid(True, color="0.92")
        steps_axes.legend(loc="best")
        title = " ".join(typed.split()) if typed and typed.strip() else result.expression
        figure.suptitle(f"f({', '.join(result.variables)}) = {title}")
        figure.tight_layout()
        write_atomically(path, lambda file: figure.savefig(file, dpi=dpi, format=suffix[1:]))
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    except (ArithmeticError, ValueError) as error:
        raise UsageError(f"the figure cannot be drawn for these values ({type(error).__name__}); use --json") from None
    finally:
        pyplot.close(figure)


def path_box(result: MinimizeResult, names) -> list[tuple[float, float]]:
    """Per variable, the span the path figure shows: every point of the runs
    that did not diverge and the start, padded by a tenth of the span (1
    where it is a point); a diverged run is drawn until it leaves it."""
    shown = [p for run in result.runs for step, (p, _, _, _) in enumerate(run.history or [])
             if (step == 0 or run.status != "diverged") and all(math.isfinite(v) for v in p)]
    if not shown:
        shown = [[result.start[name] for name in names]]
    spans = []
    for index in range(len(names)):
        low, high = min(p[index] for p in shown), max(p[index] for p in shown)
        pad = (high - low) * 0.1 or 1.0
        spans.append((low - pad, high + pad))
    return spans


def _f_span(result: MinimizeResult, curve: tuple[float, float]) -> tuple[float, float]:
    """The f range of the one-variable path figure: f's over the box (`curve`)
    and the values along the runs that did not diverge."""
    values = [f for run in result.runs for step, (_, f, _, _) in enumerate(run.history or [])
              if (step == 0 or run.status != "diverged") and math.isfinite(f)]
    low, high = min([curve[0], *values]), max([curve[1], *values])
    return (low, high) if high > low else (low - 1.0, high + 1.0)


def _draw_path(axes, result: MinimizeResult, names) -> None:
    """f over the box of the paths (`path_box`): a curve (one variable) or a
    contour (two), each path on it from its start."""
    import torch

    from autodiff.presentation.plotting import data_window

    paths = [[p for p, _, _, _ in run.history or [] if all(math.isfinite(v) for v in p)] for run in result.runs]
    spans = path_box(result, names)
    program = result.program
    grid = [torch.linspace(low, high, 200 if len(names) == 1 else 120, dtype=torch.float64) for low, high in spans]
    with torch.no_grad(), quiet_numerics():
        if len(names) == 1:
            f = program({names[0]: grid[0]}).expand(grid[0].shape)
            axes.plot(grid[0].tolist(), f.tolist(), color="0.5", linewidth=1.2)
            axes.set_ylim(*_f_span(result, data_window([f])))
            axes.set_xlabel(names[0])
            axes.set_ylabel("f")
        else:
            xs, ys = torch.meshgrid(grid[0], grid[1], indexing="xy")
            f = program({names[0]: xs, names[1]: ys}).expand(xs.shape)
            finite = f[torch.isfinite(f)]
            if finite.numel():
                levels = torch.quantile(finite, torch.linspace(0, 1, 25, dtype=torch.float64)).unique().tolist()
                if len(levels) > 1:
                    axes.contour(xs.tolist(), ys.tolist(), f.tolist(), levels=levels, colors="0.7", linewidths=0.7)
            axes.set_xlabel(names[0])
            axes.set_ylabel(names[1])
    for index, (run, path) in enumerate(zip(result.runs, paths)):
        if not path:
            continue
        color = FILE_COLORS[index % len(FILE_COLORS)]
        if len(names) == 1:
            ys = [f for p, f, _, _ in run.history if all(math.isfinite(v) for v in p)]
            axes.plot([p[0] for p in path], ys, marker=".", markersize=3, color=color, label=run.optimizer)
            axes.plot([path[0][0]], [ys[0]], "o", markersize=7, markerfacecolor="none", color=color)  # the start
        else:
            axes.plot([p[0] for p in path], [p[1] for p in path], marker=".", markersize=3, color=color,
                      label=run.optimizer)
            axes.plot([path[0][0]], [path[0][1]], "o", markersize=7, markerfacecolor="none", color=color)
    for point in result.critical_points:
        if point.family:
            continue
        if len(names) == 1:
            axes.plot([point.values[names[0]]], [point.value], "k*", markersize=9)
        else:
            axes.plot([point.values[names[0]]], [point.values[names[1]]], "k*", markersize=9)
    axes.set_xlim(*spans[0])
    if len(names) == 2:
        axes.set_ylim(*spans[1])
    axes.grid(True, color="0.92")
    axes.legend(loc="best")
