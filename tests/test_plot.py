"""`autodiff plot`: sampled curves, the terminal chart and image files."""

from __future__ import annotations

import math
import re
import struct
import xml.etree.ElementTree as ET

import pytest
from helpers import invoke, invoke_json

from autodiff.commands import api


def test_json_arrays_are_f_and_its_derivatives():
    result, report = invoke_json("plot", "sin(x)", "--order", "2", "--points", "41")
    assert result.exit_code == 0
    assert report["variable"] == "x" and report["range"] == [-5.0, 5.0] and report["points"] == 41
    xs = report["x"]
    assert xs[0] == -5.0 and xs[-1] == 5.0 and len(xs) == 41
    assert report["f"] == pytest.approx([math.sin(x) for x in xs], abs=1e-15)
    first, second = report["derivatives"]
    assert first["order"] == 1 and first["label"] == "f′" and first["symbolic"] == "cos(x)"
    assert first["autograd"] == pytest.approx([math.cos(x) for x in xs], abs=1e-15)
    assert first["symbolic_values"] == pytest.approx(first["autograd"], abs=1e-15)
    assert second["symbolic"] == "-sin(x)"
    assert second["autograd"] == pytest.approx([-math.sin(x) for x in xs], abs=1e-15)
    assert first["max_abs_difference"] <= 1e-15 and first["agree"] is True
    assert report["agree"] is True and report["checked_by"] == "symbolic" and report["output"] is None


def test_range_and_other_variables():
    _, report = invoke_json("plot", "x*y^2", "--range", "y=0:2", "--at", "x=3", "--points", "3")
    assert report["variable"] == "y" and report["x"] == [0.0, 1.0, 2.0] and report["at"] == {"x": 3.0}
    assert report["f"] == [0.0, 3.0, 12.0]
    assert report["derivatives"][0]["autograd"] == [0.0, 6.0, 12.0]  # 2xy
    _, report = invoke_json("plot", "exp(t)", "--range", "0:1", "--points", "2")
    assert report["variable"] == "t" and report["f"] == pytest.approx([1.0, math.e])


def test_points_where_f_is_not_finite_are_gaps():
    result, report = invoke_json("plot", "1/x", "--points", "101")
    assert result.exit_code == 0
    assert report["f"][50] in ("inf", "-inf", "nan")  # x = 0 exactly
    assert report["derivatives"][0]["autograd"][50] in ("inf", "-inf", "nan")
    assert report["f"][49] == pytest.approx(-10.0) and report["f"][51] == pytest.approx(10.0)
    from autodiff.presentation.plotting import finite_runs

    runs = finite_runs(report["x"], [v if isinstance(v, float) else math.inf for v in report["f"]])
    assert [len(xs) for xs, _ in runs] == [50, 50]


def test_terminal_chart_has_labelled_curves_and_no_colour_when_piped():
    result = invoke("plot", "sin(x)", "--order", "2", "--width", "80", "--height", "20")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "\x1b[" not in result.stdout
    assert "f(x) = sin(x)" in lines[0]
    chart = "\n".join(lines[:20])
    assert "f′ (autograd)" in chart and "f″ (autograd)" in chart and " f " in chart
    assert max(len(line) for line in lines[:20]) <= 80
    assert any("┤" in line for line in lines) and any(line.strip().startswith("└") for line in lines)
    assert lines[-2] == "f′ = cos(x): max |autograd − symbolic| = 0 ✓"
    assert lines[-1] == "f″ = -sin(x): max |autograd − symbolic| = 0 ✓"


def test_png_file_has_the_requested_size(tmp_path):
    path = tmp_path / "s.png"
    result = invoke("plot", "sin(x)", "--order", "2", "--output", str(path), "--width", "640", "--height", "480")
    assert result.exit_code == 0, result.output
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (640, 480)
    assert result.stdout.startswith(f"wrote {path}\n")


def test_svg_file_is_valid_with_legend_and_title(tmp_path):
    path = tmp_path / "s.svg"
    result, report = invoke_json("plot", "sin(x)", "--order", "2", "--output", str(path))
    assert result.exit_code == 0 and report["output"] == str(path)
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    assert root.get("width") == "576pt" and root.get("height") == "360pt"  # 800×500 px at 100 dpi
    text = path.read_text()
    assert text.count('id="line2d_') >= 3  # f, f′, f″ (plus axis ticks)


def test_pdf_file(tmp_path):
    path = tmp_path / "s.pdf"
    assert invoke("plot", "x^3", "--output", str(path)).exit_code == 0
    assert path.read_bytes()[:5] == b"%PDF-"


def test_a_title_mathtext_cannot_typeset_falls_back_to_plain_text(tmp_path):
    path = tmp_path / "w.png"
    result = invoke("plot", "where(x > 0, x^2, sigmoid(x))", "--output", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plot", "x*y"], "plot draws one variable; choose it with --range"),
        (["plot", "x*y", "--range", "x=0:1"], "no value for y"),
        (["plot", "x", "--range", "x=1:0"], "the range must go up"),
        (["plot", "x", "--range", "x=1"], "a range is name=start:stop"),
        (["plot", "x", "--output", "f.gif"], "--output must end in .png, .svg, .pdf"),
        (["plot", "x*y", "--at", "y=[1,2]"], "--at takes no vectors here"),
        (["plot", "x", "--order", "4"], "less than or equal to 3"),
    ],
)
def test_plot_errors(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stdout + result.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_symbolic_disagreement_fails(monkeypatch):
    from autodiff.engine import symbolic

    real = symbolic.symbolic_derivative
    monkeypatch.setattr(symbolic, "symbolic_derivative", lambda expr, seq, symbols=None: real(expr, seq, symbols) + 1)
    report = api.plot("sin(x)", points=5)
    assert report.curves[0]["agree"] is False and report.exit_code == 1
    assert report.curves[0]["max_abs_difference"] == pytest.approx(1.0)


def test_a_function_that_does_not_use_the_plotted_variable_is_flat():
    _, report = invoke_json("plot", "x", "--range", "y=0:1", "--at", "x=2", "--points", "3", "--order", "2")
    assert report["f"] == [2.0, 2.0, 2.0]
    assert [d["autograd"] for d in report["derivatives"]] == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert report["agree"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plot", "sin(x)", "-r", "x=-1e308:1e308"], "the range is too wide"),
        (["plot", "sin(x)", "-r", "x=-1e308:1e308", "-o", "h.png"], "the range is too wide"),
        (["plot", "pi", "-r", "pi=0:1"], "--range names pi, which is a constant"),
        (["plot", "sin(x)", "-o", "w.png", "--width", "100000"], "less than or equal to 10000"),
    ],
)
def test_plot_inputs_found_in_review(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2 and message in result.stdout + result.stderr
    assert not list(tmp_path.iterdir())


def test_large_values_get_short_ticks_and_a_chart():
    result = invoke("plot", "exp(100*x)", "--width", "80", "--height", "12")
    assert result.exit_code == 0
    labels = [label for label, _ in _y_ticks(result.stdout)]
    assert labels == ["2e111", "0"]  # round, short, in the range the bulk of the data sets
    assert "f′ (autograd)" in result.stdout


def test_a_chart_plotext_cannot_lay_out_is_exit_2_not_a_crash(monkeypatch):
    import plotext

    def broken(*args, **kwargs):
        raise OverflowError("cannot convert float infinity to integer")

    monkeypatch.setattr(plotext, "build", broken)
    result = invoke("plot", "sin(x)")
    assert result.exit_code == 2
    assert "the terminal chart cannot be drawn for these values (OverflowError)" in result.stderr


def test_many_points_are_thinned_for_the_terminal():
    from autodiff.presentation.plotting import terminal_chart

    report = api.plot("sin(x)", points=200_000, symbolic=False)
    chart = terminal_chart(report, 60, 12, color=False)
    assert len(chart.splitlines()) >= 12 and "f(x) = sin(x)" in chart


def test_one_sided_non_finite_points_are_counted():
    result = invoke("plot", "x^x", "--points", "5", "--range", "x=0:1", env={"COLUMNS": "300"})
    assert result.exit_code == 1  # at 0: autograd 0, symbolic -inf
    assert "where both are finite; 1 point(s) where only one is ✗" in result.stdout
    _, report = invoke_json("plot", "x^x", "--points", "5", "--range", "x=0:1")
    assert report["derivatives"][0]["nonfinite_mismatches"] == 1


# The chart for people: round ticks, a y range that survives poles, curves
# told apart without colour, a legend out of the way, the terminal's size.


def _canvas(chart: str) -> list[str]:
    """The rows inside the chart's frame, with the y tick labels and axis."""
    lines = chart.splitlines()
    top = next(index for index, line in enumerate(lines) if "┌" in line)
    bottom = next(index for index, line in enumerate(lines) if "└" in line)
    return lines[top + 1 : bottom]


def _y_ticks(chart: str) -> list[tuple[str, int]]:
    """(label, row) of each y tick, top to bottom."""
    matches = [(re.match(r" *([^\s┤├│]+)[┤├]", line), row) for row, line in enumerate(_canvas(chart))]
    return [(match.group(1), row) for match, row in matches if match]


def _round(value: float, step: float) -> bool:
    mantissa = step / 10 ** math.floor(math.log10(step))
    return any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5, 10)) and math.isclose(
        value / step, round(value / step), abs_tol=1e-9
    )


@pytest.mark.parametrize(
    ("low", "high"),
    [(-1.1, 1.1), (-9.93, 39.2), (0.0067, 155.0), (-5.0, 5.0), (0.64, 0.66), (-3e7, 4e7), (1e-5, 5e-5), (2.0, 3.0)],
)
def test_ticks_are_round_and_include_zero_when_in_range(low, high):
    from autodiff.presentation.plotting import nice_ticks, tick_labels

    ticks, step = nice_ticks(low, high, 5)
    assert 3 <= len(ticks) <= 8
    assert all(low <= tick <= high for tick in ticks)
    assert all(_round(tick, step) for tick in ticks)
    assert (0.0 in ticks) == (low <= 0 <= high)
    labels = tick_labels(ticks, step)
    assert all(len(label) <= 6 for label in labels)
    assert [float(label) for label in labels] == pytest.approx(ticks)


def test_chart_ticks_are_round_with_a_zero_line():
    result = invoke("plot", "sin(x)", "--width", "80", "--height", "24")
    ticks = _y_ticks(result.stdout)
    assert [label for label, _ in ticks] == ["1", "0.5", "0", "-0.5", "-1"]
    zero_row = _canvas(result.stdout)[dict(ticks)["0"]]
    assert zero_row.lstrip().startswith("0├") and zero_row.count("─") > 20  # the zero line
    x_labels = result.stdout.splitlines()[-3].split()
    assert x_labels == ["-4", "-2", "0", "2", "4"]
    result = invoke("plot", "x + 10", "--range", "x=0:1", "--width", "80", "--height", "24")
    assert [label for label, _ in _y_ticks(result.stdout)] == ["10", "8", "6", "4", "2"]
    assert "├" not in result.stdout  # no zero line: 0 is not in range


def test_the_y_range_of_tan_is_the_bulk_of_the_data_not_its_poles():
    from autodiff.presentation.plotting import y_window

    report = api.plot("tan(x)", symbolic=False)
    window = y_window(report)
    assert max(report.curves[0]["autograd"]) > 1e4  # the spikes next to the poles
    assert -15 < window.low < -7 and 30 < window.high < 50  # tan's bulk, and that of its derivative 1 + tan²
    inside = sum(window.low <= y <= window.high for y in report.f)
    assert inside / len(report.f) > 0.9


@pytest.mark.parametrize("expression", ["exp(x)", "x^3", "sin(x)", "sign(x)", "where(x > 4, 100, 0)", "3"])
def test_smooth_curves_are_never_clipped(expression):
    from autodiff.presentation.plotting import y_window

    report = api.plot(expression, order=2, symbolic=False)
    window = y_window(report)
    assert window.clipped == []
    values = list(report.f) + [y for curve in report.curves for y in curve["autograd"]]
    assert window.low <= min(values) and max(values) <= window.high


def test_tan_is_drawn_with_its_shape_at_80_by_24():
    result = invoke("plot", "tan(x)", env={"COLUMNS": "80", "LINES": "24"})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert sum(-(-len(line) // 80) for line in lines) == 23  # the terminal's rows as it wraps them, less the prompt's
    assert [label for label, _ in _y_ticks(result.stdout)] == ["30", "20", "10", "0"]
    assert "clipped: f beyond the y range at 20 points, f′ at 50 (y from -9.93 to 39.2; set it with --ylim)" in lines
    rows_with_f = [row for row in _canvas(result.stdout) if any("⠁" <= char <= "⣿" for char in row)]
    assert len(rows_with_f) >= 15  # f climbs through the chart, not a flat line


def test_clipping_is_counted_per_curve():
    from autodiff.presentation.plotting import y_window

    _, report = invoke_json("plot", "1/x", "--points", "101")
    f = [y for y in report["f"] if isinstance(y, float)]
    window = y_window(api.plot("1/x", points=101, symbolic=False))
    beyond = sum(not window.low <= y <= window.high for y in f)
    assert beyond > 0 and window.clipped[0] == ("f", beyond)
    assert invoke("plot", "sin(x)").stdout.count("clipped") == 0


def test_ylim_is_honoured_in_the_chart_and_the_count():
    _, report = invoke_json("plot", "tan(x)")
    beyond_f = sum(abs(y) > 2 for y in report["f"])
    beyond_derivative = sum(abs(y) > 2 for y in report["derivatives"][0]["autograd"])
    result = invoke("plot", "tan(x)", "--ylim", "-2:2", "--width", "80", "--height", "22")
    assert result.exit_code == 0
    ticks = _y_ticks(result.stdout)
    rows = len(_canvas(result.stdout))
    assert ticks[0] == ("2", 0) and ticks[-1] == ("-2", rows - 1)  # exactly the range asked for
    assert f"clipped: f beyond the y range at {beyond_f} points, f′ at {beyond_derivative}" in result.stdout
    assert "(y from" not in result.stdout  # the user chose it
    assert invoke("plot", "tan(x)", "--ylim=-pi:pi").exit_code == 0


def test_ylim_is_honoured_in_a_file(tmp_path, monkeypatch):
    from autodiff.presentation import plotting

    seen = []
    real = plotting.write_file
    monkeypatch.setattr(plotting, "write_file", lambda *args: seen.append(args[4]) or real(*args))
    result = invoke("plot", "tan(x)", "--ylim", "-3:5", "--output", str(tmp_path / "t.png"))
    assert result.exit_code == 0, result.output
    assert (seen[0].low, seen[0].high, seen[0].chosen) == (-3.0, 5.0, True)
    assert "clipped: f beyond the y range at" in result.stdout


@pytest.mark.parametrize(
    ("ylim", "message"),
    [
        ("5", "--ylim '5': give the y range as LOW:HIGH, e.g. --ylim -10:10"),
        ("x=1:2", "give the y range as LOW:HIGH"),
        ("3:1", "the range must go up: 3 is not below 1"),
        ("a:b", "a value cannot contain variables (a)"),
        ("1:inf", "inf is not a finite real number"),
        ("", "give the y range as LOW:HIGH"),
    ],
)
def test_a_bad_ylim_is_exit_2_in_one_line(ylim, message):
    result = invoke("plot", "tan(x)", "--ylim", ylim)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: --ylim") and message in result.stderr


def test_without_colour_the_curves_and_the_legend_have_distinct_marks():
    result = invoke("plot", "sin(x)", "--order", "3", "--width", "100", "--height", "30")
    chart = "\n".join(_canvas(result.stdout))
    legend = ["⠒⠒ f ", "•• f′ (autograd)", "×× f″ (autograd)", "++ f‴ (autograd)"]
    assert all(entry in chart for entry in legend)
    for mark in "•×+":
        assert chart.count(mark) > 20  # the curve itself, not only its legend entry
    assert "\x1b[" not in result.stdout


def test_no_color_on_a_terminal_uses_marks_and_colour_uses_braille():
    import io

    from rich.console import Console

    from autodiff.presentation.plotting import render_plot, terminal_chart

    report = api.plot("sin(x)", order=2, symbolic=False)
    out = io.StringIO()
    render_plot(report, Console(file=out, force_terminal=True, no_color=True, width=90, height=30))
    assert "\x1b[" not in out.getvalue() and "×× f″ (autograd)" in out.getvalue()
    coloured = terminal_chart(report, 90, 30, color=True)
    assert "\x1b[38;5;" in coloured
    assert "×" not in coloured and "•" not in coloured  # in colour, every curve is a fine braille line


@pytest.mark.parametrize(
    ("expression", "corner"),
    # f and f′ on 0..1: the legend takes a free corner (the zero line may be
    # covered); of two, the first of upper right, upper left, lower left, lower right.
    [("x", "bottom right"), ("-x", "top right"), ("x^2", "top left"), ("sin(6*x)", "bottom left"), ("-x^2", "top right")],
)
def test_the_legend_goes_where_it_covers_the_least(expression, corner):
    result = invoke("plot", "--range", "x=0:1", "--width", "80", "--height", "24", "--no-symbolic", "--", expression)
    rows = _canvas(result.stdout)
    row = next(index for index, line in enumerate(rows) if "⠒⠒ f " in line)
    vertical = "top" if row == 0 else "bottom" if row == len(rows) - 2 else "middle"
    horizontal = "left" if rows[row].index("⠒⠒ f ") < 40 else "right"
    assert f"{vertical} {horizontal}" == corner


@pytest.mark.parametrize("columns", [60, 80, 120, 160])
def test_the_chart_fills_the_terminal(columns):
    result = invoke("plot", "sin(x)", env={"COLUMNS": str(columns), "LINES": str(columns // 3)})
    lines = result.stdout.splitlines()
    frame = next(line for line in lines if "┌" in line)
    assert len(frame) == columns and max(len(line) for line in lines) <= columns
    assert len(lines) == columns // 3 - 1  # every row but the prompt's


def test_piped_output_has_a_sensible_size():
    result = invoke("plot", "sin(x)", env={"COLUMNS": None, "LINES": None})
    lines = result.stdout.splitlines()
    assert len(next(line for line in lines if "┌" in line)) == 100 and len(lines) == 31


def test_image_title_and_labels_are_in_the_users_notation(tmp_path):
    path = tmp_path / "t.svg"
    result = invoke("plot", "6x^2 + tan(x)", "--order", "2", "--output", str(path))
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert "<!-- f(x) = 6x^2 + tan(x) -->" in text
    assert "<!-- f(x), f'(x), f''(x) -->" in text  # the y label
    assert "<!-- f'(x) -->" in text and "<!-- f''(x) -->" in text  # the legend


def test_plot_help_is_truthful_about_stdin_and_has_examples():
    result = invoke("plot", "--help")
    assert "reads one per line from stdin" not in result.stdout and "plot does not read stdin" in result.stdout
    assert "Examples:\n    autodiff plot \"sin(x)\" --range x=-5:5\n" in result.stdout
    result = invoke("plot", "-", input="sin(x)\n")
    assert result.exit_code == 2
    assert result.stderr == 'error: plot draws one expression, given as its argument; it does not read "-" (stdin)\n'
